//! Spawning `git` on the local mirror, safely, and reading its failures.
//!
//! Owns the environment every git child gets: no terminal prompts, an askpass helper that
//! reads the token from the child's environment (never argv, never the URL), no repository
//! hooks, `LC_ALL=C` so failures can be classified, no inherited `GIT_DIR`-style variables, and
//! ssh in batch mode. Owns the mapping from git's stderr and `push --porcelain` output to
//! [`GitopsError`] variants (terminal vs retryable). Knows nothing about trees or commits.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

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
            // BatchMode: fail instead of asking for a password or a host key decision.
            cmd.env(
                "GIT_SSH_COMMAND",
                "ssh -o BatchMode=yes -o ConnectTimeout=30",
            );
        }
        if self.remote.kind == RemoteKind::Http {
            if let Some(token) = &self.remote.token {
                cmd.env(TOKEN_ENV, token);
            }
            if let Some(user) = &self.remote.username {
                cmd.env(USERNAME_ENV, user);
            }
            // Abort a stalled transfer instead of hanging a release forever.
            if std::env::var_os("GIT_HTTP_LOW_SPEED_LIMIT").is_none() {
                cmd.env("GIT_HTTP_LOW_SPEED_LIMIT", "1000")
                    .env("GIT_HTTP_LOW_SPEED_TIME", "60");
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
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("hint:"))
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
            ("fatal: something odd", Failure::Other),
        ] {
            assert_eq!(classify(text), expected, "{text}");
        }
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
