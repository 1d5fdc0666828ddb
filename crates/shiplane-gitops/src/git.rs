//! Spawning `git` on the local mirror, safely, and reading its failures.
//!
//! Owns the environment every git child gets: no terminal prompts, an askpass helper that
//! reads the token from the child's environment (never argv, never the URL), no repository
//! hooks, `LC_ALL=C` so failures can be classified, no inherited `GIT_DIR`-style variables, and
//! ssh in batch mode. Owns the mapping from git's stderr and `push --porcelain` output to
//! [`GitopsError`] variants (terminal vs retryable). Knows nothing about trees or commits.
//!
//! # Every network operation ends
//!
//! git has no inactivity timeout of its own for `git://` (a daemon that accepts and never
//! answers hangs fetch and push forever), and its https and ssh limits are opt-in. So every
//! git that talks to the remote runs under a watchdog ([`GitRunner::network`]): with
//! `--progress` git writes to stderr while a transfer moves, and a child that writes nothing
//! for [`NetworkTimeouts::inactivity`], or runs past [`NetworkTimeouts::total`], is killed
//! together with its helpers (ssh, `git-remote-https`, `pack-objects`) as one process group.
//! The transports' own limits are set too, so they fail first and with a better message:
//! `GIT_HTTP_LOW_SPEED_*` for https, `ConnectTimeout`/`ServerAliveInterval` for ssh.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use shiplane_http::NetworkTimeouts;

use crate::GitopsError;
use crate::remote::{Remote, RemoteKind};

/// Environment variable the askpass helper prints as the password (the token) for https.
pub const TOKEN_ENV: &str = "SHIPLANE_GIT_TOKEN";
/// Environment variable the askpass helper prints as the user name for https
/// (default `x-access-token`, which GitHub and Gitea accept with any token; GitLab accepts
/// any user name with a personal access token).
pub const USERNAME_ENV: &str = "SHIPLANE_GIT_USERNAME";

/// The askpass helper. It contains no secret: it prints what the environment of the git
/// child holds, and git calls it with the prompt as its only argument.
const ASKPASS_SCRIPT: &str = "#!/bin/sh\n\
# Written by Shiplane. Prints credentials from the environment; holds none itself.\n\
case \"$1\" in\n\
  Username*|username*) printf '%s\\n' \"${SHIPLANE_GIT_USERNAME:-x-access-token}\" ;;\n\
  *) printf '%s\\n' \"${SHIPLANE_GIT_TOKEN:-}\" ;;\n\
esac\n";

/// Variables that would point git at another repository, index or object store; a Shiplane
/// run inside a git hook or a CI step inherits them and must not let them leak into the mirror.
const SCRUBBED_ENV: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_COMMON_DIR",
    "GIT_CEILING_DIRECTORIES",
    "GIT_QUARANTINE_PATH",
    "GIT_PREFIX",
];

/// Secrets Shiplane holds for other systems. git never needs them, and a git child (its
/// credential helpers, ssh, a `core.sshCommand`, a `GIT_TRACE` log) must not be able to read or
/// print them, so they are removed from its environment. The git token (`SHIPLANE_GIT_TOKEN`) is
/// not here: askpass reads it.
const SECRETS_GIT_DOES_NOT_NEED: &[&str] = &[
    "SHIPLANE_REGISTRY_USERNAME",
    "SHIPLANE_REGISTRY_PASSWORD",
    "DOCKER_AUTH_CONFIG",
    "REGISTRY_AUTH_FILE",
];

/// Whether `name` is one of Shiplane's registry variables (`SHIPLANE_REGISTRY_<HOST>_PASSWORD`
/// and the like): registry credentials and settings, none of which a git child needs.
fn is_registry_variable(name: &str) -> bool {
    name.starts_with("SHIPLANE_REGISTRY_")
}

/// Writes the askpass helper into `dir` (atomically, mode 0700) and returns its path.
pub(crate) fn install_askpass(dir: &Path) -> Result<PathBuf, GitopsError> {
    let path = dir.join("shiplane-askpass.sh");
    if std::fs::read_to_string(&path).is_ok_and(|s| s == ASKPASS_SCRIPT) {
        return Ok(path);
    }
    let cache_error = |source| GitopsError::Cache {
        path: path.clone(),
        source,
    };
    let tmp = dir.join(format!(".shiplane-askpass.{}.tmp", std::process::id()));
    {
        let mut file = std::fs::File::create(&tmp).map_err(cache_error)?;
        file.write_all(ASKPASS_SCRIPT.as_bytes())
            .map_err(cache_error)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            file.set_permissions(std::fs::Permissions::from_mode(0o700))
                .map_err(cache_error)?;
        }
    }
    std::fs::rename(&tmp, &path).map_err(cache_error)?;
    Ok(path)
}

/// Runs git on one mirror for one remote.
pub(crate) struct GitRunner<'a> {
    pub(crate) mirror: &'a Path,
    pub(crate) remote: &'a Remote,
    pub(crate) askpass: &'a Path,
    pub(crate) timeouts: NetworkTimeouts,
}

impl GitRunner<'_> {
    /// A `git` command on the mirror with the safe environment (see the module docs).
    pub(crate) fn command(&self) -> Command {
        let mut cmd = Command::new("git");
        for var in SCRUBBED_ENV.iter().chain(SECRETS_GIT_DOES_NOT_NEED) {
            cmd.env_remove(var);
        }
        for (name, _) in std::env::vars_os() {
            if name.to_str().is_some_and(is_registry_variable) {
                cmd.env_remove(name);
            }
        }
        cmd.env("LC_ALL", "C")
            .env("LANGUAGE", "C")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_ASKPASS", self.askpass)
            .env("SSH_ASKPASS", self.askpass)
            .env("GIT_SSH_VARIANT", "ssh")
            .stdin(Stdio::null());
        if self.remote.kind == RemoteKind::Ssh
            && std::env::var_os("GIT_SSH_COMMAND").is_none()
            && std::env::var_os("GIT_SSH").is_none()
        {
            // BatchMode: fail instead of asking for a password or a host key decision. The
            // keepalives end a session whose server went silent after about the inactivity
            // limit (three unanswered probes), before the watchdog has to.
            let connect = self.timeouts.connect.as_secs().max(1);
            let alive = (self.timeouts.inactivity.as_secs() / 3).max(1);
            cmd.env(
                "GIT_SSH_COMMAND",
                format!(
                    "ssh -o BatchMode=yes -o ConnectTimeout={connect} \
                     -o ServerAliveInterval={alive} -o ServerAliveCountMax=3"
                ),
            );
        }
        if self.remote.kind == RemoteKind::Http {
            if let Some(token) = &self.remote.token {
                cmd.env(TOKEN_ENV, token);
            }
            if let Some(user) = &self.remote.username {
                cmd.env(USERNAME_ENV, user);
            }
            // Abort a stalled transfer instead of hanging a release forever: under one byte a
            // second for the inactivity limit is curl's way of saying "no progress".
            if std::env::var_os("GIT_HTTP_LOW_SPEED_LIMIT").is_none() {
                cmd.env("GIT_HTTP_LOW_SPEED_LIMIT", "1").env(
                    "GIT_HTTP_LOW_SPEED_TIME",
                    self.timeouts.inactivity.as_secs().max(1).to_string(),
                );
            }
        }
        cmd.arg("--git-dir").arg(self.mirror);
        if self.remote.kind == RemoteKind::Http
            && (self.remote.token.is_some() || std::env::var_os(TOKEN_ENV).is_some())
        {
            // With a Shiplane token, askpass is the only credential source: an empty
            // `credential.helper` resets the list, so a user's keychain helper neither answers
            // instead of the token nor stores the token after a successful push.
            cmd.args(["-c", "credential.helper="]);
        }
        cmd.args([
            "-c",
            "core.hooksPath=/dev/null",
            "-c",
            "gc.autoDetach=false",
            "-c",
            "maintenance.autoDetach=false",
            "-c",
            "log.showSignature=false",
        ]);
        cmd
    }

    /// Runs `cmd` to completion, feeding it `stdin` if given.
    pub(crate) fn output(mut cmd: Command, stdin: Option<&[u8]>) -> Result<Output, GitopsError> {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        if stdin.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd
            .spawn()
            .map_err(|source| GitopsError::GitUnavailable { source })?;
        if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // A broken pipe means git exited early; its status and stderr say why.
            let _ = pipe.write_all(bytes);
        }
        child
            .wait_with_output()
            .map_err(|source| GitopsError::GitUnavailable { source })
    }

    /// Runs `cmd`, a git that talks to the remote (`fetch`, `push`), under the watchdog: it is
    /// killed with its process group when it writes nothing for the inactivity limit or runs
    /// past the total limit, and that is a [`GitopsError::TimedOut`] naming `operation`.
    ///
    /// The caller passes `--progress` so that a transfer that moves also writes.
    pub(crate) fn network(&self, mut cmd: Command, operation: &str) -> Result<Output, GitopsError> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Its own process group, so that the watchdog can kill git and every helper it
        // started in one call; killing only git would leave a `pack-objects` or ssh blocked
        // on the silent connection.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd
            .spawn()
            .map_err(|source| GitopsError::GitUnavailable { source })?;
        let (events, progress) = mpsc::channel();
        let stdout = Pipe::start(child.stdout.take(), events.clone());
        let stderr = Pipe::start(child.stderr.take(), events);
        let started = Instant::now();
        let mut last_progress = started;
        let mut open_pipes = 2;
        let mut expired = None;
        while open_pipes > 0 {
            let idle_left = self
                .timeouts
                .inactivity
                .saturating_sub(last_progress.elapsed());
            let total_left = self.timeouts.total.saturating_sub(started.elapsed());
            match progress.recv_timeout(idle_left.min(total_left)) {
                Ok(Event::Data) => last_progress = Instant::now(),
                Ok(Event::Closed) => open_pipes -= 1,
                Err(RecvTimeoutError::Timeout) => {
                    expired = Some(if total_left <= idle_left {
                        format!(
                            "did not finish within its deadline of {}",
                            shiplane_http::seconds(self.timeouts.total)
                        )
                    } else {
                        format!(
                            "made no progress for {}",
                            shiplane_http::seconds(self.timeouts.inactivity)
                        )
                    });
                    break;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        if let Some(reason) = expired {
            kill_group(&mut child);
            let _ = child.wait();
            return Err(GitopsError::TimedOut {
                remote: self.remote.display().to_owned(),
                operation: operation.to_owned(),
                reason,
                inactivity: self.timeouts.inactivity,
            });
        }
        // Both pipes are closed, so git has exited or is about to; a git that closed its
        // output and kept running would be new behaviour, and is bounded all the same.
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if last_progress.elapsed() < self.timeouts.inactivity => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Ok(None) => {
                    kill_group(&mut child);
                    break child
                        .wait()
                        .map_err(|source| GitopsError::GitUnavailable { source })?;
                }
                Err(source) => return Err(GitopsError::GitUnavailable { source }),
            }
        };
        Ok(Output {
            status,
            stdout: stdout.take(),
            stderr: stderr.take(),
        })
    }

    /// Runs a local command on the mirror and returns its stdout, or a [`GitopsError::Git`].
    pub(crate) fn local(
        &self,
        args: &[&str],
        stdin: Option<&[u8]>,
    ) -> Result<Vec<u8>, GitopsError> {
        let mut cmd = self.command();
        cmd.args(args);
        let out = Self::output(cmd, stdin)?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(GitopsError::Git {
                operation: args.first().copied().unwrap_or_default().to_owned(),
                detail: self.detail(&out.stderr),
            })
        }
    }

    /// git's stderr, trimmed, scrubbed of credentials and bounded in length.
    pub(crate) fn detail(&self, stderr: &[u8]) -> String {
        let text = String::from_utf8_lossy(stderr);
        let lines: Vec<&str> = text
            .lines()
            // A progress meter redraws its line with `\r`; its last state is what counts.
            .map(|l| l.rsplit('\r').next().unwrap_or(l).trim())
            .filter(|l| !l.is_empty() && !l.starts_with("hint:") && !is_progress(l))
            .collect();
        let mut joined = lines.join("; ");
        if joined.is_empty() {
            "git gave no reason".clone_into(&mut joined);
        }
        if joined.len() > 1500 {
            let mut cut = 1500;
            while !joined.is_char_boundary(cut) {
                cut -= 1;
            }
            joined.truncate(cut);
            joined.push('…');
        }
        self.remote.scrub(&joined)
    }

    /// Classifies a failed fetch, ls-remote or push that reached no ref update.
    pub(crate) fn network_error(&self, stderr: &[u8]) -> GitopsError {
        let detail = self.detail(stderr);
        let remote = self.remote.display().to_owned();
        match classify(&detail) {
            Failure::NotFound => GitopsError::RemoteNotFound { remote, detail },
            Failure::Auth => GitopsError::AuthRefused { remote, detail },
            Failure::Network => GitopsError::Unreachable { remote, detail },
            Failure::Other => GitopsError::Git {
                operation: format!("talking to {remote}"),
                detail,
            },
        }
    }
}

/// What a pipe reader tells the watchdog.
enum Event {
    /// Bytes arrived: the child is making progress.
    Data,
    /// The pipe reached its end.
    Closed,
}

/// One of the child's output pipes, drained by a thread into a shared buffer.
///
/// The buffer is shared rather than returned by `join` so that after a kill the watchdog
/// never waits on a reader: a helper that escaped the process group could hold the pipe open.
struct Pipe {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl Pipe {
    fn start(
        pipe: Option<impl std::io::Read + Send + 'static>,
        events: mpsc::Sender<Event>,
    ) -> Pipe {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let Some(mut pipe) = pipe else {
            let _ = events.send(Event::Closed);
            return Pipe { buffer };
        };
        let sink = buffer.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            loop {
                match pipe.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        sink.lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .extend_from_slice(&chunk[..n]);
                        let _ = events.send(Event::Data);
                    }
                }
            }
            let _ = events.send(Event::Closed);
        });
        Pipe { buffer }
    }

    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.buffer.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Kills `child` and everything in its process group (see [`GitRunner::network`]).
fn kill_group(child: &mut Child) {
    #[cfg(unix)]
    {
        let group = rustix::process::Pid::from_child(child);
        if rustix::process::kill_process_group(group, rustix::process::Signal::KILL).is_ok() {
            return;
        }
    }
    // The group is gone already, or this is not unix: at least git itself.
    let _ = child.kill();
}

/// Whether `line` is one of git's progress meters, which `--progress` asks for so that the
/// watchdog sees a transfer move, but which say nothing about why it failed.
fn is_progress(line: &str) -> bool {
    let line = line.strip_prefix("remote: ").unwrap_or(line).trim_start();
    [
        "Enumerating objects",
        "Counting objects",
        "Compressing objects",
        "Writing objects",
        "Receiving objects",
        "Resolving deltas",
        "Unpacking objects",
        "Delta compression",
        "Total ",
    ]
    .iter()
    .any(|p| line.starts_with(p))
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    NotFound,
    Auth,
    Network,
    Other,
}

/// Classifies git's (C-locale) error text. Order matters: a git daemon answers a missing
/// repository with "access denied or repository not exported", which is not an auth problem.
pub(crate) fn classify(detail: &str) -> Failure {
    let d = detail.to_ascii_lowercase();
    let any = |needles: &[&str]| needles.iter().any(|n| d.contains(n));
    if any(&[
        "does not appear to be a git repository",
        "repository not exported",
        "repository not found",
        "not a git repository",
        "no such repository",
        "returned error: 404",
        "' not found",
    ]) {
        Failure::NotFound
    } else if any(&[
        "authentication failed",
        "could not read username",
        "could not read password",
        "unable to get password",
        "terminal prompts disabled",
        "permission denied",
        "access denied",
        "returned error: 401",
        "returned error: 403",
        "invalid username or password",
        "host key verification failed",
        "invalid credentials",
    ]) {
        Failure::Auth
    } else if any(&[
        "could not resolve host",
        "could not resolve hostname",
        "connection refused",
        "connection timed out",
        "connection reset",
        "broken pipe",
        "connection aborted",
        "operation timed out",
        "timed out",
        "network is unreachable",
        "no route to host",
        "unable to connect",
        "failed to connect",
        "the remote end hung up",
        "early eof",
        "unable to access",
        "could not read from remote repository",
        "rpc failed",
        "returned error: 5",
        "temporary failure",
    ]) {
        Failure::Network
    } else {
        Failure::Other
    }
}

/// What `git push --porcelain` said about our one ref.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PushStatus {
    /// The ref was updated or created.
    Accepted,
    /// The branch moved (or a concurrent push held the ref's lock): fetch and recompute.
    Moved(String),
    /// The server refused for another reason (hook, protection).
    Refused(String),
    /// No status line: the push never got as far as the ref (network, auth).
    Unknown,
}

/// Parses the porcelain status line of the pushed ref (`<flag>\t<from>:<to>\t<summary>`).
pub(crate) fn parse_push(stdout: &str, dst: &str) -> PushStatus {
    for line in stdout.lines() {
        let mut parts = line.splitn(3, '\t');
        let (Some(flag), Some(refs), summary) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if !refs.ends_with(&format!(":{dst}")) {
            continue;
        }
        let summary = summary.unwrap_or_default().trim().to_owned();
        return match flag {
            " " | "*" | "=" => PushStatus::Accepted,
            "!" => {
                let s = summary.to_ascii_lowercase();
                let moved = [
                    "non-fast-forward",
                    "fetch first",
                    "stale info",
                    "cannot lock ref",
                    "failed to update ref",
                    "incorrect old value",
                    "failed to lock",
                ];
                if moved.iter().any(|m| s.contains(m)) {
                    PushStatus::Moved(summary)
                } else {
                    PushStatus::Refused(summary)
                }
            }
            _ => PushStatus::Refused(summary),
        };
    }
    PushStatus::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_password_is_not_passed_to_git() {
        let remote = Remote::parse("https://u:tok3n@git.example.com/ops.git").expect("parses");
        let runner = GitRunner {
            mirror: Path::new("/nonexistent/mirror"),
            remote: &remote,
            askpass: Path::new("/nonexistent/askpass"),
            timeouts: NetworkTimeouts::default(),
        };
        let cmd = runner.command();
        let envs: Vec<_> = cmd.get_envs().collect();
        for secret in [
            "SHIPLANE_REGISTRY_PASSWORD",
            "SHIPLANE_REGISTRY_USERNAME",
            "DOCKER_AUTH_CONFIG",
        ] {
            assert!(
                envs.contains(&(std::ffi::OsStr::new(secret), None)),
                "{secret} must be removed from git's environment: {envs:?}"
            );
        }
        // The git token still reaches askpass through the child's environment, never argv.
        assert!(envs.contains(&(
            std::ffi::OsStr::new(TOKEN_ENV),
            Some(std::ffi::OsStr::new("tok3n"))
        )));
        assert!(
            !cmd.get_args()
                .any(|a| a.to_string_lossy().contains("tok3n"))
        );
        assert!(is_registry_variable("SHIPLANE_REGISTRY_GHCR_IO_PASSWORD"));
        assert!(!is_registry_variable("SHIPLANE_GIT_TOKEN"));
    }

    #[test]
    fn classifies_common_failures() {
        for (text, expected) in [
            (
                "fatal: '/x' does not appear to be a git repository; fatal: Could not read from remote repository.",
                Failure::NotFound,
            ),
            (
                "fatal: remote error: access denied or repository not exported: /x.git",
                Failure::NotFound,
            ),
            (
                "remote: Invalid username or password.; fatal: Authentication failed for 'https://h/r/'",
                Failure::Auth,
            ),
            (
                "fatal: could not read Username for 'https://h': terminal prompts disabled",
                Failure::Auth,
            ),
            (
                "git@h: Permission denied (publickey).; fatal: Could not read from remote repository.",
                Failure::Auth,
            ),
            (
                "fatal: unable to connect to 127.0.0.1:1:; 127.0.0.1[0: 127.0.0.1]: errno=Connection refused",
                Failure::Network,
            ),
            (
                "fatal: unable to access 'https://h/r/': Could not resolve host: h",
                Failure::Network,
            ),
            (
                "fatal: sha1 file '<stdout>' write error: Broken pipe; fatal: the remote end hung up unexpectedly",
                Failure::Network,
            ),
            (
                "fatal: read error: Connection reset by peer",
                Failure::Network,
            ),
            (
                "ssh: connect to host h port 22: Connection timed out",
                Failure::Network,
            ),
            ("fatal: something odd", Failure::Other),
        ] {
            assert_eq!(classify(text), expected, "{text}");
        }
    }

    #[test]
    fn progress_meters_are_not_reasons() {
        for line in [
            "remote: Enumerating objects: 5, done.",
            "Receiving objects: 100% (3/3), done.",
            "Writing objects: 100% (3/3), 250 bytes | 250.00 KiB/s, done.",
            "Total 3 (delta 0), reused 0 (delta 0), pack-reused 0",
        ] {
            assert!(is_progress(line), "{line}");
        }
        assert!(!is_progress("fatal: the remote end hung up unexpectedly"));
    }

    #[test]
    fn parses_push_porcelain() {
        let dst = "refs/heads/main";
        for (stdout, expected) in [
            (
                "To /r\n*\tabc:refs/heads/main\t[new branch]\nDone\n",
                PushStatus::Accepted,
            ),
            (
                "To /r\n \tabc:refs/heads/main\t1..2\nDone\n",
                PushStatus::Accepted,
            ),
            (
                "To /r\n!\tabc:refs/heads/main\t[rejected] (fetch first)\nDone\n",
                PushStatus::Moved("[rejected] (fetch first)".into()),
            ),
            (
                "To /r\n!\tabc:refs/heads/main\t[rejected] (non-fast-forward)\nDone\n",
                PushStatus::Moved("[rejected] (non-fast-forward)".into()),
            ),
            (
                "To /r\n!\tabc:refs/heads/main\t[remote rejected] (cannot lock ref 'refs/heads/main': is at 1 but expected 2)\n",
                PushStatus::Moved(
                    "[remote rejected] (cannot lock ref 'refs/heads/main': is at 1 but expected 2)"
                        .into(),
                ),
            ),
            (
                "To /r\n!\tabc:refs/heads/main\t[remote rejected] (pre-receive hook declined)\n",
                PushStatus::Refused("[remote rejected] (pre-receive hook declined)".into()),
            ),
            ("", PushStatus::Unknown),
        ] {
            assert_eq!(parse_push(stdout, dst), expected, "{stdout}");
        }
    }
}
