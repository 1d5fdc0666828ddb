//! Test support: builders for real git repositories, made with the `git` CLI in a temporary
//! directory.
//!
//! This crate owns fixture building only and is a dev-dependency: production code must never
//! depend on it. Spawning `git` here is fine, because fixtures must be built the way users
//! build repositories, and the code under test reads them in-process. Every command runs with
//! fixed identities and dates and without the user's or system's git config, so fixtures are
//! the same on every machine. Failures panic with the command and its output: this is test code.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// A git repository in a temporary directory, deleted on drop.
#[derive(Debug)]
pub struct GitRepo {
    _dir: TempDir,
    root: PathBuf,
    ticks: std::cell::Cell<u32>,
}

/// Runs `git args` in `dir` with a clean, deterministic environment; returns trimmed stdout.
///
/// # Panics
/// When git cannot start or exits non-zero.
pub fn git(dir: &Path, args: &[&str]) -> String {
    git_at(dir, args, 0)
}

fn git_at(dir: &Path, args: &[&str], tick: u32) -> String {
    let date = format!("{} +0000", 1_700_000_000 + u64::from(tick) * 60);
    let output = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args([
            "-c",
            "protocol.file.allow=always",
            "-c",
            "core.autocrlf=false",
        ])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "Fixture")
        .env("GIT_AUTHOR_EMAIL", "fixture@example.invalid")
        .env("GIT_COMMITTER_NAME", "Fixture")
        .env("GIT_COMMITTER_EMAIL", "fixture@example.invalid")
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date)
        .output()
        .unwrap_or_else(|e| panic!("cannot run git {args:?}: {e}"));
    assert!(
        output.status.success(),
        "git {args:?} failed in {}:\n{}{}",
        dir.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

impl GitRepo {
    /// `git init` on branch `main` in a new temporary directory.
    pub fn new() -> GitRepo {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("cannot create a tempdir: {e}"));
        git(dir.path(), &["init", "--quiet"]);
        GitRepo {
            root: dir.path().to_owned(),
            _dir: dir,
            ticks: std::cell::Cell::new(0),
        }
    }

    /// `git clone --depth <depth> file://<self>` into a new temporary directory.
    #[must_use]
    pub fn clone_shallow(&self, depth: u32) -> GitRepo {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("cannot create a tempdir: {e}"));
        let url = format!("file://{}", self.path().display());
        git(
            dir.path(),
            &[
                "clone",
                "--quiet",
                "--depth",
                &depth.to_string(),
                &url,
                "clone",
            ],
        );
        GitRepo {
            root: dir.path().join("clone"),
            _dir: dir,
            ticks: std::cell::Cell::new(self.ticks.get()),
        }
    }

    /// The work tree.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Runs git in the work tree.
    pub fn git(&self, args: &[&str]) -> String {
        git_at(self.path(), args, self.ticks.get())
    }

    /// Writes a file (creating directories).
    pub fn write(&self, path: &str, content: &str) -> &GitRepo {
        let full = self.path().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("mkdir {}: {e}", parent.display()));
        }
        std::fs::write(&full, content).unwrap_or_else(|e| panic!("write {}: {e}", full.display()));
        self
    }

    /// Writes several files.
    pub fn write_all(&self, files: &[(&str, &str)]) -> &GitRepo {
        for (p, c) in files {
            self.write(p, c);
        }
        self
    }

    /// Deletes a file.
    pub fn remove(&self, path: &str) -> &GitRepo {
        let full = self.path().join(path);
        std::fs::remove_file(&full).unwrap_or_else(|e| panic!("rm {}: {e}", full.display()));
        self
    }

    /// Makes `path` executable on disk (so the next commit records mode `100755`).
    pub fn make_executable(&self, path: &str) -> &GitRepo {
        use std::os::unix::fs::PermissionsExt as _;
        let full = self.path().join(path);
        std::fs::set_permissions(&full, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("chmod {}: {e}", full.display()));
        self
    }

    /// Creates (or replaces) a symbolic link `path` → `target`.
    pub fn symlink(&self, path: &str, target: &str) -> &GitRepo {
        let full = self.path().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("mkdir {}: {e}", parent.display()));
        }
        let _ = std::fs::remove_file(&full);
        std::os::unix::fs::symlink(target, &full)
            .unwrap_or_else(|e| panic!("symlink {}: {e}", full.display()));
        self
    }

    /// Adds a submodule entry (mode 160000) pinned to `commit` without cloning anything. The
    /// empty directory left in the work tree is what an unpopulated submodule looks like, so
    /// `git add --all` keeps the entry.
    pub fn submodule_entry(&self, path: &str, commit: &str) -> &GitRepo {
        let full = self.path().join(path);
        std::fs::create_dir_all(&full).unwrap_or_else(|e| panic!("mkdir {}: {e}", full.display()));
        self.git(&[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{commit},{path}"),
        ]);
        self
    }

    /// Stages everything and commits; returns the new commit id. Each commit is one minute
    /// after the previous one, so ids are the same on every run.
    pub fn commit(&self, message: &str) -> String {
        self.ticks.set(self.ticks.get() + 1);
        self.git(&["add", "--all"]);
        self.git(&["commit", "--quiet", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// `git ls-tree -r` of `rev`, as `(mode, id, path)` triples, for comparing with the adapter.
    pub fn ls_tree(&self, rev: &str) -> Vec<(String, String, String)> {
        self.git(&["ls-tree", "-r", "--full-tree", "-z", rev])
            .split('\0')
            .filter(|l| !l.is_empty())
            .map(|line| {
                let (meta, path) = line.split_once('\t').unwrap_or((line, ""));
                let mut parts = meta.split(' ');
                let mode = parts.next().unwrap_or_default().to_owned();
                let _kind = parts.next();
                let id = parts.next().unwrap_or_default().to_owned();
                (mode, id, path.to_owned())
            })
            .collect()
    }
}

impl Default for GitRepo {
    fn default() -> Self {
        GitRepo::new()
    }
}

pub mod registry;
