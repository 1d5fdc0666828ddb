//! Real git remotes for the integration tests: bare repositories in temporary directories,
//! reached as a plain path, as `file://`, or through a `git daemon` this helper starts on a
//! free loopback port and kills on drop. Commands that commit as a "human" pass their own
//! identity with `-c user.name/-c user.email`, so no global git configuration is needed.

#![allow(dead_code)] // Each test binary uses a different subset.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Runs git with an explicit identity and returns trimmed stdout; panics with stderr on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_cmd(dir).args(args).output().expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} in {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A git command in `dir` with a fixed identity and no prompts.
pub fn git_cmd(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .args([
            "-c",
            "user.name=Human Tester",
            "-c",
            "user.email=human@example.com",
            "-c",
            "init.defaultBranch=main",
        ]);
    cmd
}

/// Creates a bare repository `name` under `dir` with `HEAD` on `main`.
pub fn bare_repo(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    git(
        dir,
        &[
            "init",
            "--quiet",
            "--bare",
            "-b",
            "main",
            &path.to_string_lossy(),
        ],
    );
    path
}

/// The full id of `rev` in the bare repository, or `None` if it does not resolve.
pub fn rev(repo: &Path, rev: &str) -> Option<String> {
    let out = git_cmd(repo)
        .args(["rev-parse", "--verify", "--quiet", rev])
        .output()
        .expect("git runs");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The content of `path` at `main` in the bare repository.
pub fn show(repo: &Path, path: &str) -> Option<String> {
    let out = git_cmd(repo)
        .args(["show", &format!("main:{path}")])
        .output()
        .expect("git runs");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Commits `path` = `content` to `main` of `remote` as a human would: clone, edit, push.
pub fn human_commit(remote: &Path, scratch: &Path, path: &str, content: &str) -> String {
    let work = scratch.join(format!("human-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    git(
        scratch,
        &[
            "clone",
            "--quiet",
            &remote.to_string_lossy(),
            &work.to_string_lossy(),
        ],
    );
    let file = work.join(path);
    std::fs::create_dir_all(file.parent().expect("has a parent")).expect("mkdir");
    std::fs::write(&file, content).expect("write");
    git(&work, &["add", "--all"]);
    git(
        &work,
        &["commit", "--quiet", "-m", &format!("Human edit of {path}")],
    );
    git(
        &work,
        &["push", "--quiet", "origin", "HEAD:refs/heads/main"],
    );
    let head = git(&work, &["rev-parse", "HEAD"]);
    std::fs::remove_dir_all(&work).expect("cleanup");
    head
}

/// Asserts the bare repository is consistent and its `main` has no merge commits.
pub fn assert_linear_and_sound(repo: &Path) {
    git(repo, &["fsck", "--strict", "--no-progress"]);
    let merges = git(repo, &["rev-list", "--merges", "main"]);
    assert!(merges.is_empty(), "merge commits on main: {merges}");
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A `git daemon` serving every repository under a base path, with push enabled.
pub struct GitDaemon {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
}

impl GitDaemon {
    /// Starts the daemon and waits until the port accepts connections.
    ///
    /// Runs `git-daemon` from `git --exec-path` directly: `git daemon` would run it as a
    /// child of the `git` wrapper, and killing the wrapper would leave the daemon serving.
    pub fn start(base: &Path) -> GitDaemon {
        let exec_path = git(base, &["--exec-path"]);
        let daemon = Path::new(&exec_path).join("git-daemon");
        for _ in 0..5 {
            let port = free_port();
            let mut child = Command::new(&daemon)
                .args([
                    "--enable=receive-pack",
                    "--export-all",
                    "--reuseaddr",
                    "--informative-errors",
                    &format!("--base-path={}", base.display()),
                    &format!("--port={port}"),
                    "--listen=127.0.0.1",
                ])
                .arg(base)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("git daemon starts");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return GitDaemon { child, port };
                }
                if child.try_wait().expect("poll").is_some() {
                    break; // Lost the port to someone else; try another.
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("git daemon did not start");
    }

    /// The `git://` address of repository `name` under the base path.
    pub fn url(&self, name: &str) -> String {
        format!("git://127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A bare `gitops.git` under `dir/srv`, served by a fresh daemon (`daemon.url("gitops.git")`).
pub fn served_repo(dir: &Path) -> (PathBuf, GitDaemon) {
    let base = dir.join("srv");
    std::fs::create_dir_all(&base).expect("mkdir srv");
    let remote = bare_repo(&base, "gitops.git");
    let daemon = GitDaemon::start(&base);
    (remote, daemon)
}
