//! Times the `GitOps` writer against a bare repository reached as a plain path and through a
//! `git daemon` on loopback: opening (init + fetch), a no-op fetch, one commit + push, and a
//! change that changes nothing.
//!
//! `cargo run --release -p shiplane-gitops --example apply_timing [ROUNDS]`

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use shiplane_gitops::{ChangeSet, CommitMessage, GitopsRepo, TreeView};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    let rounds: u32 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(20);
    let tmp = tempfile::tempdir()?;
    let srv = tmp.path().join("srv");
    std::fs::create_dir(&srv)?;
    for name in ["path.git", "daemon.git"] {
        let status = Command::new("git")
            .args(["init", "--quiet", "--bare", "-b", "main"])
            .arg(srv.join(name))
            .status()?;
        assert!(status.success(), "git init");
    }

    let exec_path = String::from_utf8(Command::new("git").arg("--exec-path").output()?.stdout)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut daemon = Command::new(Path::new(exec_path.trim()).join("git-daemon"))
        .args([
            "--enable=receive-pack",
            "--export-all",
            "--reuseaddr",
            &format!("--base-path={}", srv.display()),
            &format!("--port={port}"),
            "--listen=127.0.0.1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(10));
    }

    let remotes = [
        (
            "plain path",
            srv.join("path.git").to_string_lossy().into_owned(),
        ),
        ("git daemon", format!("git://127.0.0.1:{port}/daemon.git")),
    ];
    for (label, remote) in remotes {
        let cache = tmp
            .path()
            .join(format!("cache-{}", label.replace(' ', "-")));
        let started = Instant::now();
        let mut repo = GitopsRepo::open(&remote, "main", &cache)?;
        let open = started.elapsed();

        let mut commits = Vec::new();
        for round in 0..rounds {
            let change = move |_: &TreeView<'_>| -> Result<ChangeSet, BoxError> {
                Ok(ChangeSet::new()
                    .with_write("lanes/dev/release.json", format!("{{\"round\":{round}}}\n")))
            };
            let message =
                CommitMessage::new(format!("Round {round}")).with_trailer("Shiplane-Lane", "dev");
            let started = Instant::now();
            repo.apply(&change, &message)?;
            commits.push(started.elapsed());
        }
        let started = Instant::now();
        repo.fetch()?;
        let fetch = started.elapsed();
        let same = |_: &TreeView<'_>| -> Result<ChangeSet, BoxError> {
            Ok(ChangeSet::new().with_write(
                "lanes/dev/release.json",
                format!("{{\"round\":{}}}\n", rounds - 1),
            ))
        };
        let started = Instant::now();
        repo.apply(&same, &CommitMessage::new("same"))?;
        let no_change = started.elapsed();

        commits.sort();
        let median = commits[commits.len() / 2];
        let total: Duration = commits.iter().sum();
        println!(
            "{label}: open (init+fetch, empty remote) {open:?}; commit+push median {median:?}, \
             mean {:?} over {rounds}; no-op fetch {fetch:?}; unchanged apply {no_change:?}",
            total / rounds.max(1)
        );
    }
    let _ = daemon.kill();
    let _ = daemon.wait();
    Ok(())
}
