//! The `GitOps` writer against real git remotes: plain paths, `file://` and `git daemon`.

mod common;

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Barrier, Mutex, mpsc};
use std::time::{Duration, Instant};

use common::{
    GitDaemon, assert_linear_and_sound, bare_repo, git, git_cmd, human_commit, rev, served_repo,
    show,
};
use shiplane_gitops::{
    ChangeSet, CommitMessage, EntryKind, GitopsError, GitopsRepo, NetworkTimeouts, Outcome,
    RetryPolicy, TreeView,
};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn message(subject: &str) -> CommitMessage {
    CommitMessage::new(subject)
        .with_body("Written by the shiplane-gitops tests.")
        .with_trailer("Shiplane-Lane", "dev")
        .with_trailer("Shiplane-Release", "r1")
}

fn write(
    path: &'static str,
    content: &'static str,
) -> impl Fn(&TreeView<'_>) -> Result<ChangeSet, BoxError> {
    move |_| Ok(ChangeSet::new().with_write(path, content))
}

fn committed(outcome: &Outcome) -> (String, u32) {
    match outcome {
        Outcome::Committed { commit, attempts } => (commit.clone(), *attempts),
        Outcome::NoChange => panic!("expected a commit, got NoChange"),
    }
}

/// A fresh bare repository reached as a plain path, and a writer on it with its own cache.
fn local_remote() -> (tempfile::TempDir, PathBuf, GitopsRepo) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let remote = bare_repo(tmp.path(), "gitops.git");
    let repo = GitopsRepo::open(&remote.to_string_lossy(), "main", &tmp.path().join("cache"))
        .expect("opens");
    (tmp, remote, repo)
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        total_timeout: Duration::from_secs(5),
    }
}

#[test]
fn first_commit_on_an_empty_remote_creates_the_branch() {
    let (tmp, remote, mut repo) = local_remote();
    assert_eq!(repo.head(), None);
    assert_eq!(repo.read_file("lanes/dev/release.json").unwrap(), None);
    assert!(repo.list_dir("").unwrap().is_empty());
    assert!(repo.history("lanes").unwrap().is_empty());

    let started = Instant::now();
    let outcome = repo
        .apply(
            &|view: &TreeView<'_>| -> Result<ChangeSet, BoxError> {
                assert_eq!(view.head(), None);
                Ok(ChangeSet::new()
                    .with_write("lanes/dev/release.json", "{\"version\":\"1\"}\n")
                    .with_write("lanes/dev/catalog.json", "{}\n"))
            },
            &message("Release 1 to dev"),
        )
        .unwrap();
    eprintln!(
        "first commit + push to a local path: {:?}",
        started.elapsed()
    );
    let (commit, attempts) = committed(&outcome);
    assert_eq!(attempts, 1);
    assert_eq!(
        rev(&remote, "refs/heads/main").as_deref(),
        Some(commit.as_str())
    );
    assert_eq!(repo.head().as_deref(), Some(commit.as_str()));
    assert_eq!(
        show(&remote, "lanes/dev/release.json").as_deref(),
        Some("{\"version\":\"1\"}\n")
    );
    assert_eq!(
        repo.read_file("lanes/dev/release.json").unwrap().as_deref(),
        Some(&b"{\"version\":\"1\"}\n"[..])
    );
    let listing = repo.list_dir("lanes/dev/").unwrap();
    let names: Vec<_> = listing.iter().map(|e| (e.name.as_str(), e.kind)).collect();
    assert_eq!(
        names,
        [
            ("catalog.json", EntryKind::File),
            ("release.json", EntryKind::File)
        ]
    );
    assert_eq!(repo.list_dir("lanes").unwrap()[0].kind, EntryKind::Dir);
    assert!(
        repo.read_file("lanes").is_err(),
        "a directory is not a file"
    );
    assert!(repo.read_file("../etc/passwd").is_err());
    // The author is the default identity unless the environment says otherwise.
    let author = git(&remote, &["log", "-1", "--format=%an <%ae>", "main"]);
    if std::env::var_os(shiplane_gitops::AUTHOR_NAME_ENV).is_none() {
        assert_eq!(author, "Shiplane <shiplane@localhost>");
    }
    assert_linear_and_sound(&remote);

    // A second instance on a fresh cache sees the same head.
    let other = GitopsRepo::open(
        &remote.to_string_lossy(),
        "main",
        &tmp.path().join("cache2"),
    )
    .unwrap();
    assert_eq!(other.head().as_deref(), Some(commit.as_str()));
}

#[test]
fn a_change_that_changes_nothing_makes_no_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let remote = bare_repo(tmp.path(), "gitops.git");
    let cache = tmp.path().join("cache");
    let mut repo = GitopsRepo::open(&remote.to_string_lossy(), "main", &cache).unwrap();

    // Nothing to write on an empty branch: no commit, and the branch is still not there.
    let empty = repo
        .apply(
            &|_: &TreeView<'_>| Ok::<_, BoxError>(ChangeSet::new()),
            &message("Nothing"),
        )
        .unwrap();
    assert_eq!(empty, Outcome::NoChange);
    assert_eq!(rev(&remote, "refs/heads/main"), None);

    let (first, _) = committed(
        &repo
            .apply(&write("lanes/dev/release.json", "v1\n"), &message("v1"))
            .unwrap(),
    );
    // Same bytes again, deleting something that is not there: the tree is unchanged.
    let again = repo
        .apply(
            &|_: &TreeView<'_>| {
                Ok::<_, BoxError>(
                    ChangeSet::new()
                        .with_write("lanes/dev/release.json", "v1\n")
                        .with_delete("lanes/prod"),
                )
            },
            &message("v1 again"),
        )
        .unwrap();
    assert_eq!(again, Outcome::NoChange);
    assert_eq!(
        rev(&remote, "refs/heads/main").as_deref(),
        Some(first.as_str())
    );
    assert_eq!(git(&remote, &["rev-list", "--count", "main"]), "1");
}

#[test]
fn two_racing_writers_both_land_and_the_second_recomputes_on_the_new_head() {
    let tmp = tempfile::tempdir().unwrap();
    let remote = bare_repo(tmp.path(), "gitops.git");
    let url = format!("file://{}", remote.display());
    let mut a = GitopsRepo::open(&url, "main", &tmp.path().join("cache-a")).unwrap();
    let (base, _) = committed(
        &a.apply(&write("README", "gitops\n"), &message("init"))
            .unwrap(),
    );
    let mut b = GitopsRepo::open(&url, "main", &tmp.path().join("cache-b")).unwrap();
    assert_eq!(b.head().as_deref(), Some(base.as_str()));

    // A lands first; B still believes the head is `base`.
    let (a_commit, _) = committed(
        &a.apply(&write("lanes/a/release.json", "a\n"), &message("A"))
            .unwrap(),
    );

    let seen = Mutex::new(Vec::new());
    let b_change = |view: &TreeView<'_>| -> Result<ChangeSet, BoxError> {
        seen.lock().unwrap().push(view.head());
        // Recomputed from what is there: the index lists every lane file present.
        let mut index = String::new();
        for entry in view.list_dir("lanes")? {
            index.push_str(&entry.name);
            index.push('\n');
        }
        index.push_str("b\n");
        Ok(ChangeSet::new()
            .with_write("lanes/b/release.json", "b\n")
            .with_write("index.txt", index))
    };
    let (b_commit, attempts) = committed(&b.apply(&b_change, &message("B")).unwrap());
    assert_eq!(attempts, 2, "the first push must have been rejected");
    assert_eq!(
        *seen.lock().unwrap(),
        [Some(base.clone()), Some(a_commit.clone())],
        "the closure ran again on A's commit"
    );
    assert_eq!(show(&remote, "index.txt").as_deref(), Some("a\nb\n"));
    assert_eq!(
        show(&remote, "lanes/a/release.json").as_deref(),
        Some("a\n")
    );
    assert_eq!(
        show(&remote, "lanes/b/release.json").as_deref(),
        Some("b\n")
    );
    assert_eq!(rev(&remote, "main^").as_deref(), Some(a_commit.as_str()));
    assert_eq!(rev(&remote, "main").as_deref(), Some(b_commit.as_str()));
    assert_eq!(git(&remote, &["rev-list", "--count", "main"]), "3");
    assert_linear_and_sound(&remote);
}

#[test]
fn ten_parallel_writers_over_git_daemon_all_land() {
    let tmp = tempfile::tempdir().unwrap();
    let (remote, daemon) = served_repo(tmp.path());
    let url = daemon.url("gitops.git");

    let writers = 10;
    let barrier = Arc::new(Barrier::new(writers));
    let calls = Arc::new(AtomicU32::new(0));
    let started = Instant::now();
    let handles: Vec<_> = (0..writers)
        .map(|i| {
            let (url, barrier, calls) = (url.clone(), barrier.clone(), calls.clone());
            let cache = tmp.path().join(format!("cache-{i}"));
            std::thread::spawn(move || {
                let mut repo = GitopsRepo::open(&url, "main", &cache)
                    .unwrap()
                    .with_retry_policy(RetryPolicy {
                        max_attempts: 60,
                        base_delay: Duration::from_millis(20),
                        max_delay: Duration::from_millis(500),
                        total_timeout: Duration::from_mins(2),
                    });
                barrier.wait();
                let change = move |view: &TreeView<'_>| -> Result<ChangeSet, BoxError> {
                    calls.fetch_add(1, Ordering::Relaxed);
                    // A read-modify-write of a shared file: only correct if recomputed.
                    let mut log = view
                        .read_file("log.txt")?
                        .map(String::from_utf8)
                        .transpose()?
                        .unwrap_or_default();
                    writeln!(log, "writer {i}")?;
                    Ok(ChangeSet::new()
                        .with_write(format!("writers/{i}.txt"), format!("{i}\n"))
                        .with_write("log.txt", log))
                };
                let outcome = repo
                    .apply(&change, &message(&format!("Writer {i}")))
                    .unwrap();
                committed(&outcome).1
            })
        })
        .collect();
    let attempts: Vec<u32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    eprintln!(
        "10 parallel writers over git daemon: {:?}, attempts {attempts:?}, closure calls {}",
        started.elapsed(),
        calls.load(Ordering::Relaxed)
    );

    assert_eq!(git(&remote, &["rev-list", "--count", "main"]), "10");
    assert_linear_and_sound(&remote);
    let log = show(&remote, "log.txt").unwrap();
    let mut lines: Vec<&str> = log.lines().collect();
    lines.sort_unstable();
    let mut expected: Vec<String> = (0..writers).map(|i| format!("writer {i}")).collect();
    expected.sort_unstable();
    assert_eq!(lines, expected, "every writer's line exactly once");
    for i in 0..writers {
        assert_eq!(
            show(&remote, &format!("writers/{i}.txt")),
            Some(format!("{i}\n"))
        );
    }
}

#[test]
fn a_terminal_error_from_the_change_leaves_the_remote_untouched() {
    let (tmp, remote, mut repo) = local_remote();
    committed(
        &repo
            .apply(
                &write("lanes/prod/release.json", "version: 1\n"),
                &message("v1"),
            )
            .unwrap(),
    );
    // A human edits the same file in a way the change cannot reconcile.
    let human = human_commit(
        &remote,
        tmp.path(),
        "lanes/prod/release.json",
        "version: 7 (hotfix)\n",
    );

    let calls = AtomicU32::new(0);
    let change = |view: &TreeView<'_>| -> Result<ChangeSet, BoxError> {
        calls.fetch_add(1, Ordering::Relaxed);
        let current = view
            .read_file("lanes/prod/release.json")?
            .unwrap_or_default();
        if current != b"version: 1\n" {
            return Err(format!(
                "lanes/prod/release.json was edited by hand ({:?}); refusing to overwrite",
                String::from_utf8_lossy(&current).trim()
            )
            .into());
        }
        Ok(ChangeSet::new().with_write("lanes/prod/release.json", "version: 2\n"))
    };
    let err = repo.apply(&change, &message("v2")).unwrap_err();
    assert!(matches!(err, GitopsError::Change { .. }), "{err:?}");
    assert!(!err.is_retryable());
    let text = err.to_string();
    assert!(text.contains("edited by hand"), "{text}");
    assert!(
        text.contains(&human),
        "names the head it was computed on: {text}"
    );
    assert_eq!(
        calls.load(Ordering::Relaxed),
        2,
        "stale head rejected, then recomputed"
    );
    assert_eq!(rev(&remote, "main").as_deref(), Some(human.as_str()));
    assert_eq!(
        show(&remote, "lanes/prod/release.json").as_deref(),
        Some("version: 7 (hotfix)\n")
    );
    assert_linear_and_sound(&remote);
}

#[test]
fn a_gitops_error_from_the_change_keeps_its_kind() {
    let (_tmp, remote, mut repo) = local_remote();
    let err = repo
        .apply(
            &|view: &TreeView<'_>| -> Result<ChangeSet, GitopsError> {
                view.read_file("/absolute")?;
                Ok(ChangeSet::new())
            },
            &message("bad read"),
        )
        .unwrap_err();
    assert!(matches!(err, GitopsError::InvalidPath { .. }), "{err:?}");
    let err = repo
        .apply(&write(".git/config", "x"), &message("bad path"))
        .unwrap_err();
    assert!(matches!(err, GitopsError::InvalidPath { .. }), "{err:?}");
    assert_eq!(rev(&remote, "refs/heads/main"), None);
}

/// A one-request-at-a-time HTTP server that refuses every request with 401 and records the
/// `Authorization` headers it was sent.
fn refusing_http_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                if line == "\r\n" {
                    break;
                }
                if line.to_ascii_lowercase().starts_with("authorization:") {
                    record.lock().expect("lock").push(line.trim().to_owned());
                }
                line.clear();
            }
            let _ = stream.write_all(
                b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"gitops\"\r\n\
                  Content-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    (port, seen)
}

fn base64(input: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn credentials_in_an_https_url_never_appear_in_errors() {
    let secret = "sup3r-s3cret-t0ken";
    let tmp = tempfile::tempdir().unwrap();

    // Nobody listens: unreachable, retryable, redacted.
    let closed = common::free_port();
    let url = format!("https://deploy:{secret}@127.0.0.1:{closed}/org/gitops.git");
    let err = GitopsRepo::open(&url, "main", &tmp.path().join("cache")).unwrap_err();
    assert!(matches!(err, GitopsError::Unreachable { .. }), "{err:?}");
    assert!(err.is_retryable());
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(secret), "secret leaked: {text}");
        assert!(
            text.contains(&format!("127.0.0.1:{closed}/org/gitops.git")),
            "{text}"
        );
    }
    // The cache path is keyed by a hash, not by the address.
    for entry in std::fs::read_dir(tmp.path().join("cache")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            !name.contains(secret) && !name.contains("127.0.0.1"),
            "{name}"
        );
    }

    // A server that refuses: the token reaches it through askpass (not the URL), the
    // refusal is terminal, and the error does not carry the token.
    let (port, seen) = refusing_http_server();
    let url = format!("http://deploy:{secret}@127.0.0.1:{port}/org/gitops.git");
    let err = GitopsRepo::open(&url, "main", &tmp.path().join("cache")).unwrap_err();
    assert!(matches!(err, GitopsError::AuthRefused { .. }), "{err:?}");
    assert!(!err.is_retryable());
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(secret), "secret leaked: {text}");
    }
    let expected = format!("Basic {}", base64(format!("deploy:{secret}").as_bytes()));
    assert!(
        seen.lock().unwrap().iter().any(|h| h.ends_with(&expected)),
        "askpass gave git the token: {:?}",
        seen.lock().unwrap()
    );
}

#[test]
fn missing_and_unreachable_remotes_fail_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let err = GitopsRepo::open(
        &tmp.path().join("nope.git").to_string_lossy(),
        "main",
        &cache,
    )
    .unwrap_err();
    assert!(matches!(err, GitopsError::RemoteNotFound { .. }), "{err:?}");
    assert!(!err.is_retryable());

    let base = tmp.path().join("srv");
    std::fs::create_dir(&base).unwrap();
    let daemon = GitDaemon::start(&base);
    let err = GitopsRepo::open(&daemon.url("missing.git"), "main", &cache).unwrap_err();
    assert!(matches!(err, GitopsError::RemoteNotFound { .. }), "{err:?}");

    let err = GitopsRepo::open(
        &format!("git://127.0.0.1:{}/x.git", common::free_port()),
        "main",
        &cache,
    )
    .unwrap_err();
    assert!(matches!(err, GitopsError::Unreachable { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert!(err.to_string().contains("unreachable"), "{err}");

    let err = GitopsRepo::open("ftp://h/r", "main", &cache).unwrap_err();
    assert!(matches!(err, GitopsError::InvalidRemote { .. }), "{err:?}");
    let err = GitopsRepo::open(&tmp.path().to_string_lossy(), "-evil", &cache).unwrap_err();
    assert!(matches!(err, GitopsError::InvalidBranch { .. }), "{err:?}");
}

#[test]
fn a_remote_that_goes_away_exhausts_retries_and_then_converges() {
    let tmp = tempfile::tempdir().unwrap();
    let (remote, daemon) = served_repo(tmp.path());
    let url = daemon.url("gitops.git");
    let cache = tmp.path().join("cache");
    let mut repo = GitopsRepo::open(&url, "main", &cache)
        .unwrap()
        .with_retry_policy(fast_retries());
    drop(daemon);

    let err = repo
        .apply(&write("a.txt", "a\n"), &message("while down"))
        .unwrap_err();
    assert!(
        matches!(&err, GitopsError::RetriesExhausted { attempts: 3, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(
        rev(&remote, "refs/heads/main"),
        None,
        "nothing partial was pushed"
    );

    // The same remote back (new port, so a new address): the change lands once.
    let daemon = GitDaemon::start(remote.parent().unwrap());
    let mut repo = GitopsRepo::open(&daemon.url("gitops.git"), "main", &cache).unwrap();
    let (commit, _) = committed(&repo.apply(&write("a.txt", "a\n"), &message("up")).unwrap());
    assert_eq!(rev(&remote, "main").as_deref(), Some(commit.as_str()));
    assert_eq!(
        repo.apply(&write("a.txt", "a\n"), &message("again"))
            .unwrap(),
        Outcome::NoChange
    );
    assert_linear_and_sound(&remote);
}

#[test]
fn trailers_parse_with_git_interpret_trailers_and_history_reads_them() {
    let (_tmp, remote, mut repo) = local_remote();
    let msg = CommitMessage::new("Promote web 1.4.2 to prod")
        .with_body("Release r42 of lane prod.\n\nTwo services changed.")
        .with_trailer("Shiplane-Lane", "prod")
        .with_trailer("Shiplane-Release", "r42")
        .with_trailer("Shiplane-Version", "1.4.2")
        .with_trailer("Source-Commit", "0123456789abcdef0123456789abcdef01234567")
        .with_trailer("Approved-By", "Ada Lovelace <ada@example.com>");
    let (first, _) = committed(
        &repo
            .apply(&write("lanes/prod/release.json", "r42\n"), &msg)
            .unwrap(),
    );
    committed(
        &repo
            .apply(
                &write("lanes/dev/release.json", "r43\n"),
                &message("dev only"),
            )
            .unwrap(),
    );

    let body = git(&remote, &["log", "-1", "--format=%B", &first]);
    assert_eq!(format!("{body}\n"), msg.render().unwrap());
    let mut parse = git_cmd(&remote);
    parse
        .args(["interpret-trailers", "--parse"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = parse.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let parsed = child.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8(parsed.stdout).unwrap(),
        "Shiplane-Lane: prod\nShiplane-Release: r42\nShiplane-Version: 1.4.2\n\
         Source-Commit: 0123456789abcdef0123456789abcdef01234567\n\
         Approved-By: Ada Lovelace <ada@example.com>\n"
    );

    let history = repo.history("lanes/prod/release.json").unwrap();
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0].id, first);
    assert_eq!(history[0].subject, "Promote web 1.4.2 to prod");
    assert_eq!(history[0].trailer("Shiplane-Release"), Some("r42"));
    assert_eq!(
        history[0].trailer("Approved-By"),
        Some("Ada Lovelace <ada@example.com>")
    );
    assert_eq!(history[0].trailers.len(), 5);
    assert!(history[0].time > 1_600_000_000);
    assert_eq!(repo.history("lanes").unwrap().len(), 2);
}

#[test]
fn deletes_remove_files_and_whole_directories() {
    let (_tmp, remote, mut repo) = local_remote();
    committed(
        &repo
            .apply(
                &|_: &TreeView<'_>| {
                    Ok::<_, BoxError>(
                        ChangeSet::new()
                            .with_write("lanes/pr-1/manifests/a.yaml", "a")
                            .with_write("lanes/pr-1/manifests/b.yaml", "b")
                            .with_write("lanes/pr-1/release.json", "r")
                            .with_write("lanes/dev/release.json", "d"),
                    )
                },
                &message("two lanes"),
            )
            .unwrap(),
    );
    committed(
        &repo
            .apply(
                &|_: &TreeView<'_>| {
                    Ok::<_, BoxError>(
                        ChangeSet::new()
                            .with_delete("lanes/pr-1")
                            .with_delete("lanes/dev/release.json")
                            .with_write("lanes/dev/catalog.json", "c"),
                    )
                },
                &message("drop pr-1"),
            )
            .unwrap(),
    );
    assert_eq!(
        git(&remote, &["ls-tree", "-r", "--name-only", "main"]),
        "lanes/dev/catalog.json"
    );
    assert_linear_and_sound(&remote);
}

#[test]
fn hooks_in_the_mirror_do_not_run_but_the_servers_refusal_is_terminal() {
    let (tmp, remote, mut repo) = local_remote();
    let marker = tmp.path().join("hook-ran");
    let local_hook = repo.mirror_path().join("hooks/pre-push");
    write_hook(
        &local_hook,
        &format!("touch '{}'; exit 1", marker.display()),
    );
    committed(&repo.apply(&write("a", "a"), &message("a")).unwrap());
    assert!(!marker.exists(), "a hook in the mirror ran");

    write_hook(
        &remote.join("hooks/pre-receive"),
        "echo 'branch is frozen for the release window' >&2; exit 1",
    );
    let mut repo = repo.with_retry_policy(fast_retries());
    let err = repo.apply(&write("b", "b"), &message("b")).unwrap_err();
    assert!(matches!(err, GitopsError::PushRejected { .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert!(git(&remote, &["ls-tree", "--name-only", "main"]) == "a");
}

fn write_hook(path: &Path, body: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).expect("write hook");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
}

#[test]
fn no_force_push_anywhere_in_the_source() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for needle in [
            "--force",
            "\"-f\"",
            "+refs/",
            "\"+{",
            "force-with-lease",
            "--mirror",
        ] {
            assert!(
                !text.contains(needle),
                "{} contains `{needle}`: pushes must never be forced",
                path.display()
            );
        }
    }
}

#[test]
fn the_askpass_helper_prints_the_token_from_its_environment_only() {
    let tmp = tempfile::tempdir().unwrap();
    let remote = bare_repo(tmp.path(), "gitops.git");
    let cache = tmp.path().join("cache");
    GitopsRepo::open(&remote.to_string_lossy(), "main", &cache).unwrap();
    let script = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("askpass"))
        .expect("askpass helper installed");
    let ask = |prompt: &str, env: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new(&script);
        cmd.arg(prompt)
            .env_remove(shiplane_gitops::TOKEN_ENV)
            .env_remove(shiplane_gitops::USERNAME_ENV);
        for (k, v) in env {
            cmd.env(k, v);
        }
        String::from_utf8(cmd.output().unwrap().stdout).unwrap()
    };
    let token = [(shiplane_gitops::TOKEN_ENV, "tok-from-env")];
    assert_eq!(ask("Password for 'https://h': ", &token), "tok-from-env\n");
    assert_eq!(
        ask("Username for 'https://h': ", &token),
        "x-access-token\n"
    );
    assert_eq!(
        ask(
            "Username for 'https://h': ",
            &[(shiplane_gitops::USERNAME_ENV, "deploy")]
        ),
        "deploy\n"
    );
    assert_eq!(ask("Password for 'https://h': ", &[]), "\n");
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(!text.contains("tok-"), "the helper holds no secret");
}

const CHILD_REMOTE: &str = "SHIPLANE_GITOPS_TEST_CHILD_REMOTE";
const CHILD_CACHE: &str = "SHIPLANE_GITOPS_TEST_CHILD_CACHE";

/// Each commit increments `counter.txt` and adds `data/<n>.txt`, so on every commit of a
/// sound history `counter.txt` equals the number of commits.
fn counter_change(view: &TreeView<'_>) -> Result<ChangeSet, BoxError> {
    let current = match view.read_file("counter.txt")? {
        Some(bytes) => String::from_utf8(bytes)?.trim().parse::<u64>()?,
        None => 0,
    };
    let n = current + 1;
    Ok(ChangeSet::new()
        .with_write("counter.txt", format!("{n}\n"))
        .with_write(format!("data/{n}.txt"), format!("{n}\n")))
}

fn assert_counter_invariant(remote: &Path) -> u64 {
    git(remote, &["fsck", "--strict", "--no-progress"]);
    // One snapshot of `main`: a push orphaned by killing only the writer may still land while
    // this runs, so every read below names the same commit instead of re-reading `main`.
    let Some(head) = rev(remote, "refs/heads/main") else {
        return 0;
    };
    assert_linear_and_sound(remote);
    let at = |path: &str| -> Option<String> {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(remote)
            .args(["show", &format!("{head}:{path}")])
            .output()
            .expect("git runs");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let count: u64 = git(remote, &["rev-list", "--count", &head])
        .parse()
        .expect("a count");
    let counter: u64 = at("counter.txt")
        .expect("counter.txt on main")
        .trim()
        .parse()
        .expect("a number in counter.txt");
    assert_eq!(counter, count, "a commit on main is whole and counted once");
    assert_eq!(at(&format!("data/{count}.txt")), Some(format!("{count}\n")));
    count
}

/// Not a test by itself: the writer process that
/// `killing_a_writer_at_any_moment_leaves_only_whole_commits` starts and kills.
#[test]
#[ignore = "started as a child process by killing_a_writer_at_any_moment_leaves_only_whole_commits"]
fn child_writer_loop() {
    let (Ok(remote), Ok(cache)) = (std::env::var(CHILD_REMOTE), std::env::var(CHILD_CACHE)) else {
        return;
    };
    let mut repo = GitopsRepo::open(&remote, "main", Path::new(&cache)).unwrap();
    loop {
        repo.apply(&counter_change, &message("count")).unwrap();
    }
}

#[test]
fn killing_a_writer_at_any_moment_leaves_only_whole_commits() {
    let tmp = tempfile::tempdir().unwrap();
    // Served by a daemon, as a real remote is: killing the writer's process group must not
    // also kill the server's receive-pack (with a file:// remote it would, and a receive-pack
    // killed while holding `refs/heads/main.lock` leaves a stale lock in the remote itself).
    let (remote, daemon) = served_repo(tmp.path());
    let url = daemon.url("gitops.git");
    let cache = tmp.path().join("cache");
    let exe = std::env::current_exe().unwrap();
    for round in 0u64..12 {
        let mut cmd = std::process::Command::new(&exe);
        cmd.args(["--exact", "child_writer_loop", "--ignored", "--quiet"])
            .env(CHILD_REMOTE, &url)
            .env(CHILD_CACHE, &cache)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd.spawn().unwrap();
        // Spread the kill over opening, computing, writing objects and pushing.
        std::thread::sleep(Duration::from_millis(30 + (round * 37) % 170));
        if round % 2 == 0 {
            // Only the writer: a git child in flight finishes or fails on its own.
            child.kill().unwrap();
        } else {
            // The whole process group, as a cancelled CI job is killed.
            let status = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status()
                .unwrap();
            assert!(status.success());
        }
        child.wait().unwrap();
        assert_counter_invariant(&remote);
    }
    // Let orphaned git children settle, then re-run from the same (possibly dirty) cache.
    std::thread::sleep(Duration::from_millis(300));
    let before = assert_counter_invariant(&remote);
    let mut repo = GitopsRepo::open(&url, "main", &cache).unwrap();
    let outcome = repo
        .apply(&counter_change, &message("after kills"))
        .unwrap_or_else(|e| panic!("re-running after the kills failed: {e}"));
    let (commit, _) = committed(&outcome);
    assert_eq!(rev(&remote, "main").as_deref(), Some(commit.as_str()));
    assert_eq!(assert_counter_invariant(&remote), before + 1);
    eprintln!("killed 12 writers; {before} whole commits landed before the final one");
}

/// Only a guard against a hang taking the whole test run with it: far above any timeout the
/// tests set, and never what a test asserts on.
const HANG_GUARD: Duration = Duration::from_mins(3);

/// Runs `f` on its own thread and returns its result, panicking if it never ends.
fn hang_guarded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(HANG_GUARD)
        .expect("the operation never ended: the network timeout did not fire")
}

/// A server on 127.0.0.1:`port` (0: any free port) that accepts every connection and never
/// writes or closes it — a black-holed remote, as a stuck load balancer or a wedged daemon
/// looks to a client. Returns the port.
fn black_hole(port: u16) -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the black hole");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

fn timed_out_in(err: &GitopsError, expected: &str) {
    let GitopsError::TimedOut { operation, .. } = err else {
        panic!("expected a timeout of `git {expected}`, got {err:?}");
    };
    assert_eq!(operation, expected, "{err}");
    assert!(err.is_retryable(), "a timeout is transient: {err}");
    let text = err.to_string();
    for needle in [
        "timed out",
        "no progress for 700 ms",
        "SHIPLANE_NETWORK_TIMEOUT",
    ] {
        assert!(text.contains(needle), "`{needle}` missing from: {text}");
    }
}

/// Regression: a `git://` remote that accepted the connection and never answered hung fetch
/// and push without limit (a push waited 99 s). Open (its fetch), apply (its push) and fetch
/// must each end with a timeout error naming the operation and the setting.
#[test]
fn a_git_remote_that_accepts_and_never_answers_fails_within_the_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let timeouts = NetworkTimeouts::from_inactivity(Duration::from_millis(700));

    let url = format!("git://127.0.0.1:{}/x.git", black_hole(0));
    let cache = tmp.path().join("cache");
    let err = hang_guarded(move || {
        GitopsRepo::open_with_timeouts(&url, "main", &cache, timeouts).unwrap_err()
    });
    timed_out_in(&err, "fetch");

    // A remote that answered when opened and went silent afterwards: the daemon is replaced
    // by a black hole on the same port.
    let (remote, daemon) = served_repo(tmp.path());
    let url = daemon.url("gitops.git");
    let mut repo =
        GitopsRepo::open_with_timeouts(&url, "main", &tmp.path().join("cache2"), timeouts).unwrap();
    let (first, _) = committed(&repo.apply(&write("a", "a\n"), &message("a")).unwrap());
    let port = daemon.port;
    drop(daemon);
    black_hole(port);

    let (mut repo, result) = hang_guarded(move || {
        let result = repo.apply(&write("b", "b\n"), &message("b"));
        (repo, result)
    });
    // The first attempt pushes without fetching, and a timed-out push is not retried.
    timed_out_in(&result.unwrap_err(), "push");
    let err = hang_guarded(move || repo.fetch().unwrap_err());
    timed_out_in(&err, "fetch");
    assert_eq!(rev(&remote, "main").as_deref(), Some(first.as_str()));
}

/// Regression: 20 concurrent promotions to different lanes of one repository lost 1–3 per
/// run to "gave up after 8 attempts in 3.6 s" although nothing conflicted. With the default
/// retry policy every writer must land, each exactly once.
fn twenty_writers_to_their_own_paths_all_land_once(url: &str, remote: &Path, caches: &Path) {
    let mut seed = GitopsRepo::open(url, "main", &caches.join("seed")).expect("opens");
    committed(
        &seed
            .apply(&write("README", "gitops\n"), &message("init"))
            .expect("the first commit lands"),
    );
    let writers = 20;
    let barrier = Arc::new(Barrier::new(writers));
    let handles: Vec<_> = (1..=writers)
        .map(|i| {
            let (url, barrier) = (url.to_owned(), barrier.clone());
            let cache = caches.join(format!("cache-{i}"));
            std::thread::spawn(move || {
                let mut repo = GitopsRepo::open(&url, "main", &cache)?;
                barrier.wait();
                let lane = format!("l{i:02}");
                let change = |_: &TreeView<'_>| -> Result<ChangeSet, BoxError> {
                    Ok(ChangeSet::new()
                        .with_write(format!("lanes/{lane}/release.json"), format!("{lane}\n")))
                };
                repo.apply(&change, &message(&format!("Promote to {lane}")))
            })
        })
        .collect();
    let mut attempts = Vec::new();
    for handle in handles {
        let outcome = handle
            .join()
            .expect("writer thread")
            .unwrap_or_else(|e| panic!("a writer gave up although nothing conflicted: {e}"));
        attempts.push(committed(&outcome).1);
    }
    eprintln!("20 writers to {url}: attempts {attempts:?}");

    assert_eq!(git(remote, &["rev-list", "--count", "main"]), "21");
    assert_linear_and_sound(remote);
    let log = git(remote, &["log", "--format=%s", "main"]);
    let mut subjects: Vec<&str> = log.lines().filter(|s| *s != "init").collect();
    subjects.sort_unstable();
    let expected: Vec<String> = (1..=writers)
        .map(|i| format!("Promote to l{i:02}"))
        .collect();
    assert_eq!(subjects, expected, "every writer's commit exactly once");
    for i in 1..=writers {
        let lane = format!("l{i:02}");
        assert_eq!(
            show(remote, &format!("lanes/{lane}/release.json")),
            Some(format!("{lane}\n"))
        );
    }
}

#[test]
fn twenty_concurrent_writers_to_their_own_lanes_all_land_once_over_file_urls() {
    let tmp = tempfile::tempdir().unwrap();
    let remote = bare_repo(tmp.path(), "gitops.git");
    let url = format!("file://{}", remote.display());
    twenty_writers_to_their_own_paths_all_land_once(&url, &remote, tmp.path());
}

#[test]
fn twenty_concurrent_writers_to_their_own_lanes_all_land_once_over_git_daemon() {
    let tmp = tempfile::tempdir().unwrap();
    let (remote, daemon) = served_repo(tmp.path());
    twenty_writers_to_their_own_paths_all_land_once(&daemon.url("gitops.git"), &remote, tmp.path());
}
