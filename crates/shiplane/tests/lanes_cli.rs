#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]
//! Lanes end to end: `promote`, `rollback`, `hold`, `history`, `status`, `diff`, `render`
//! against a real `docker-registry` (images pushed by `shiplane image pack`, recorded by
//! `shiplane publish`) and a bare GitOps repository over `file://` (and one over `git daemon`).

mod common;

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use common::world::World;
use serde_json::Value;
use shiplane_notify::testing::{Receiver, Reply};
use shiplane_testkit::registry::have;

const SERVICES: [&str; 3] = ["api", "web", "worker"];

fn intent(host: &str, gitops_url: &str) -> String {
    format!(
        r#"version: 1
project: shop
defaults:
  registry: {host}/shop
  gitops: {{ repo: "{gitops_url}", branch: main }}
services:
  api:
    paths: ["services/api/**"]
    build: {{ context: services/api }}
    run: {{ port: 8000, health: {{ path: /healthz }} }}
  web:
    paths: ["apps/web/**"]
    build: {{ context: apps/web }}
    run: {{ port: 3000 }}
  worker:
    paths: ["services/worker/**"]
    build: {{ context: services/worker }}
lanes:
  dev:
    promote: auto
  staging:
    from: dev
    approvals: 1
  prod:
    from: staging
    version: minor
    approvals: 2
    require_tag_on: main
notify:
  - feishu: {{ webhook_env: SHIPLANE_TEST_FEISHU_WEBHOOK, secret_env: SHIPLANE_TEST_FEISHU_SECRET }}
    on: [promotion]
"#
    )
}

fn world_with(gitops_url: impl Fn(&Path) -> String) -> Option<World> {
    World::start(
        |host, gitops| intent(host, &gitops_url(gitops)),
        &[
            ("services/api/main.py", "print('api v1')\n"),
            ("apps/web/index.html", "<h1>web</h1>\n"),
            ("services/worker/main.py", "print('worker')\n"),
        ],
    )
}

impl World {
    fn file(&self, path: &str) -> String {
        let out = self.git(&["show", &format!("main:{path}")]);
        assert!(
            out.status.success(),
            "{path} missing in the GitOps repository"
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, path: &str) -> Value {
        serde_json::from_str(&self.file(path)).unwrap()
    }

    fn commits(&self) -> Vec<String> {
        let out = self.git(&["log", "--format=%H", "main"]);
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn digests(&self, lane: &str) -> Vec<(String, String)> {
        let catalog = self.json(&format!("lanes/{lane}/catalog.json"));
        SERVICES
            .iter()
            .map(|s| {
                (
                    (*s).to_owned(),
                    catalog["services"][s]["digest"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                )
            })
            .collect()
    }
}

fn change(w: &World, path: &str, text: &str) {
    w.source.write(path, text);
    w.source.commit(&format!("change {path}"));
}

#[test]
fn promote_through_lanes_roll_back_and_hold() {
    let Some(w) = world_with(|p| format!("file://{}", p.display())) else {
        return;
    };
    let first: Vec<String> = SERVICES
        .iter()
        .map(|s| w.publish(s, &format!("{s} v1")))
        .collect();

    // Staging may not take a commit directly: it would skip dev.
    let refused = w.status(&["promote", "staging", "--commit", "HEAD"], 3);
    assert!(refused.contains("[order]"), "{refused}");

    // Dry run: the release and the files, no commit.
    let before = w.commits().len();
    let dry = w.ok(&["promote", "dev", "--commit", "HEAD", "--dry-run"]);
    assert_eq!(dry["dry_run"], true);
    assert!(
        dry["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["path"] == "lanes/dev/manifests/api/deployment.yaml")
    );
    assert_eq!(w.commits().len(), before);

    // Dev pins every digest, in the catalog and the manifests; the intent's Feishu bot (a
    // local receiver) gets a signed card once the commit has landed.
    let feishu = Receiver::start(vec![]).unwrap();
    let hook = feishu.url("/open-apis/bot/v2/hook/t0ken-in-the-url");
    let notify_env = [
        ("SHIPLANE_TEST_FEISHU_WEBHOOK", hook.as_str()),
        ("SHIPLANE_TEST_FEISHU_SECRET", "feishu-s3cret"),
        ("SHIPLANE_NOTIFY_ALLOW_PRIVATE", "1"),
    ];
    let dev1 = w.ok_with(&["promote", "dev", "--commit", "HEAD"], &notify_env);
    assert_eq!(dev1["committed"], true);
    let release1 = dev1["release"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        dev1["notifications"][0]["outcome"], "sent",
        "{}",
        dev1["notifications"]
    );
    let received = feishu.received();
    assert_eq!(received.len(), 1);
    let card: Value = serde_json::from_slice(&received[0].body).unwrap();
    let ts: u64 = card["timestamp"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        card["sign"],
        shiplane_notify::message::feishu_sign(ts, "feishu-s3cret")
    );
    assert_eq!(card["msg_type"], "interactive");
    assert_eq!(
        card["card"]["header"]["title"]["content"],
        format!("shop: promoted dev to {release1}")
    );
    let text = card.to_string();
    assert!(
        text.contains(&dev1["gitops_commit"].as_str().unwrap()[..12]),
        "{text}"
    );
    for digest in &first {
        assert!(text.contains(digest.as_str()), "{text}");
    }
    for (i, (s, d)) in w.digests("dev").iter().enumerate() {
        assert_eq!(d, &first[i], "{s}");
    }
    let deployment = w.file("lanes/dev/manifests/api/deployment.yaml");
    assert!(
        deployment.contains(&format!("{}/shop/api@{}", w.registry.host(), first[0])),
        "{deployment}"
    );
    let release = w.json("lanes/dev/release.json");
    assert_eq!(release["services"]["api"]["status"], "published");
    assert_eq!(release["version"], Value::Null);
    let msg = String::from_utf8(w.git(&["log", "-1", "--format=%B", "main"]).stdout).unwrap();
    assert!(msg.starts_with("Promote dev to "), "{msg}");
    assert!(
        msg.contains(&format!("Shiplane-Release: {release1}")),
        "{msg}"
    );
    assert!(
        msg.contains("Shiplane-Lane: dev") && msg.contains("Source-Commit: "),
        "{msg}"
    );

    // Prod refuses a release that skipped staging, and without approvals.
    let refused = w.status(&["promote", "prod", "--from", "dev"], 3);
    assert!(
        refused.contains("[order]") && refused.contains("[approvals]"),
        "{refused}"
    );
    let refused = w.status(&["promote", "prod", "--release", &release1, "--approve"], 3);
    assert!(
        refused.contains("never a release of lane `staging`"),
        "{refused}"
    );

    // Staging needs one approval.
    let refused = w.status(&["promote", "staging", "--from", "dev"], 3);
    assert!(refused.contains("[approvals]"), "{refused}");
    // Without the allow flag a loopback receiver is refused, and the promotion still succeeds.
    let staging = w.ok_with(
        &["promote", "staging", "--from", "dev", "--approve"],
        &notify_env[..2],
    );
    assert_eq!(staging["notifications"][0]["outcome"], "failed");
    assert!(
        staging["notifications"][0]["error"]
            .as_str()
            .unwrap()
            .starts_with("refused: "),
        "{}",
        staging["notifications"]
    );
    assert!(!staging.to_string().contains("t0ken") && !staging.to_string().contains("s3cret"));
    assert_eq!(feishu.received().len(), 1);
    assert_eq!(
        staging["release"]["id"],
        release1.as_str(),
        "the release keeps its id across lanes"
    );
    assert_eq!(staging["release"]["approvals"][0]["by"], "alice");

    // Prod needs two people: alice's approval is recorded and refused; bob's completes it.
    let refused = w.status(&["promote", "prod", "--release", &release1, "--approve"], 3);
    assert!(refused.contains("approval was recorded"), "{refused}");
    let again = w.status(&["promote", "prod", "--release", &release1, "--approve"], 3);
    assert!(
        again.contains("it has 1"),
        "one person approving twice counts once: {again}"
    );
    let out = Command::cargo_bin("shiplane")
        .unwrap()
        .current_dir(w.source.path())
        .env("SHIPLANE_CACHE_DIR", w.cache.path())
        .env("SHIPLANE_ACTOR", "bob")
        .args([
            "promote",
            "prod",
            "--release",
            &release1,
            "--approve",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let prod = w.json("lanes/prod/release.json");
    assert_eq!(prod["version"], "0.1.0");
    let approvers: Vec<&str> = prod["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["by"].as_str().unwrap())
        .collect();
    assert_eq!(approvers, ["alice", "bob"]);
    let msg = String::from_utf8(w.git(&["log", "-1", "--format=%B", "main"]).stdout).unwrap();
    assert!(msg.starts_with("Promote prod to 0.1.0"), "{msg}");
    assert!(
        msg.contains("Approved-By: alice")
            && msg.contains("Approved-By: bob")
            && msg.contains("Shiplane-Version: 0.1.0"),
        "{msg}"
    );

    // A version that is not semver is a usage error; an unversioned lane takes none.
    w.status(
        &[
            "promote",
            "prod",
            "--from",
            "staging",
            "--version",
            "banana",
        ],
        2,
    );
    w.status(
        &["promote", "dev", "--commit", "HEAD", "--version", "1.0.0"],
        2,
    );

    // A change to one service: promote refuses until it is published, naming the command.
    change(&w, "services/api/main.py", "print('api v2')\n");
    let missing = w.status(&["promote", "dev", "--commit", "HEAD"], 1);
    assert!(
        missing.contains("shiplane publish api --image"),
        "{missing}"
    );
    assert!(!missing.contains("shiplane publish web"), "{missing}");
    let api2 = w.publish("api", "api v2");
    // A receiver that never answers costs the promotion at most the notification deadline.
    let silent = Receiver::start(vec![Reply::Hang; 8]).unwrap();
    let silent_url = silent.url("/hook");
    let started = Instant::now();
    let dev2 = w.ok_with(
        &["promote", "dev", "--commit", "HEAD"],
        &[
            ("SHIPLANE_TEST_FEISHU_WEBHOOK", silent_url.as_str()),
            ("SHIPLANE_TEST_FEISHU_SECRET", "feishu-s3cret"),
            ("SHIPLANE_NOTIFY_ALLOW_PRIVATE", "1"),
            ("SHIPLANE_NOTIFY_TIMEOUT_MS", "1000"),
        ],
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(dev2["committed"], true);
    assert_eq!(dev2["notifications"][0]["outcome"], "failed");
    assert!(!silent.received().is_empty());
    let release2 = dev2["release"]["id"].as_str().unwrap().to_owned();
    let d = w.digests("dev");
    assert_eq!(d[0].1, api2);
    assert_eq!(
        (d[1].1.as_str(), d[2].1.as_str()),
        (first[1].as_str(), first[2].as_str()),
        "the others keep their digests"
    );
    let release = w.json("lanes/dev/release.json");
    assert_eq!(release["services"]["web"]["status"], "reused");
    assert_eq!(release["services"]["api"]["status"], "published");

    // diff and status see it.
    let diff = w.ok(&["diff", "dev", "staging"]);
    let differ: Vec<&str> = diff["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    assert_eq!(differ, ["api"]);
    let status = w.ok(&["status"]);
    assert_eq!(status["lanes"][0]["lane"], "dev");
    assert_eq!(
        status["lanes"][0]["services"]["api"]["digest"],
        api2.as_str()
    );
    assert_eq!(status["lanes"][1]["version"], "0.1.0");

    // Rollback restores the earlier digests and holds the lane.
    let rb = w.ok(&["rollback", "dev"]);
    assert_eq!(rb["to"]["release"], release1.as_str());
    assert_eq!(
        w.digests("dev")
            .iter()
            .map(|x| x.1.clone())
            .collect::<Vec<_>>(),
        first
    );
    assert!(
        w.file("lanes/dev/manifests/api/deployment.yaml")
            .contains(&first[0])
    );
    assert_eq!(w.json("lanes/dev/state.json")["held"], true);
    let history = w.ok(&["history", "dev"]);
    let ids: Vec<&str> = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["release"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [release1.as_str(), release2.as_str(), release1.as_str()]
    );

    // A rollback sticks: the automatic promotion is refused until the hold is released.
    let refused = w.status(&["promote", "dev", "--commit", "HEAD"], 3);
    assert!(
        refused.contains("[hold]") && refused.contains("release-hold dev"),
        "{refused}"
    );
    w.ok(&["release-hold", "dev"]);
    assert_eq!(w.json("lanes/dev/state.json")["held"], false);
    let dev3 = w.ok(&["promote", "dev", "--commit", "HEAD"]);
    assert_eq!(dev3["release"]["id"], release2.as_str());
    assert_eq!(dev3["committed"], true);

    // Re-promoting the same release makes no commit.
    let n = w.commits().len();
    let same = w.ok(&["promote", "dev", "--commit", "HEAD"]);
    assert_eq!(same["committed"], false);
    assert_eq!(w.commits().len(), n);

    // Hold and release-hold by hand.
    w.ok(&["hold", "staging", "--reason", "load test"]);
    let refused = w.status(&["promote", "staging", "--from", "dev", "--approve"], 3);
    assert!(refused.contains("load test"), "{refused}");
    let overridden = w.ok(&[
        "promote",
        "staging",
        "--from",
        "dev",
        "--approve",
        "--override-hold",
        "--reason",
        "hotfix",
    ]);
    assert_eq!(overridden["release"]["overrides"][0]["what"], "hold");

    // Every commit of a lane touches only that lane's path.
    for c in w.commits() {
        let body = String::from_utf8(w.git(&["show", "-s", "--format=%B", &c]).stdout).unwrap();
        let Some(lane) = body.lines().find_map(|l| l.strip_prefix("Shiplane-Lane: ")) else {
            continue;
        };
        let files =
            String::from_utf8(w.git(&["show", "--name-only", "--format=", &c]).stdout).unwrap();
        for f in files.lines().filter(|l| !l.is_empty()) {
            assert!(
                f.starts_with(&format!("lanes/{lane}/")),
                "commit {c} of lane {lane} touched {f}"
            );
        }
    }

    // render writes the lane's desired state without committing; kustomize builds the lane.
    let out = tempfile::tempdir().unwrap();
    let n = w.commits().len();
    let rendered = w.ok(&["render", "dev", "--out", &out.path().display().to_string()]);
    assert_eq!(rendered["release"], release2.as_str());
    assert_eq!(
        std::fs::read(out.path().join("catalog.json")).unwrap(),
        w.file("lanes/dev/catalog.json").into_bytes()
    );
    assert_eq!(w.commits().len(), n);
    kustomize_checkout(&w, "lanes/dev/manifests");
}

/// Checks out `dir` from the GitOps repository and runs `kubectl kustomize` on it.
fn kustomize_checkout(w: &World, dir: &str) {
    if !have("kubectl") {
        assert!(std::env::var_os("CI").is_none(), "CI must have kubectl");
        eprintln!("SKIPPED: kubectl not found; the kustomize build of {dir} was not checked");
        return;
    }
    let tree = tempfile::tempdir().unwrap();
    let archive = w.git(&["archive", "--format=tar", "main", dir]);
    assert!(archive.status.success());
    let mut tar = StdCommand::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(tree.path())
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(tar.stdin.as_mut().unwrap(), &archive.stdout).unwrap();
    drop(tar.stdin.take());
    assert!(tar.wait().unwrap().success());
    let out = StdCommand::new("kubectl")
        .arg("kustomize")
        .arg(tree.path().join(dir))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kubectl kustomize: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("kind: Deployment") && text.contains("@sha256:"),
        "{text}"
    );
}

// A git daemon serving the GitOps repository, as in shiplane-gitops' tests.
struct GitDaemon {
    child: Child,
    port: u16,
}

impl GitDaemon {
    fn start(base: &Path) -> GitDaemon {
        let exec = StdCommand::new("git").arg("--exec-path").output().unwrap();
        let daemon = Path::new(String::from_utf8(exec.stdout).unwrap().trim()).join("git-daemon");
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut child = StdCommand::new(&daemon)
                .args([
                    "--enable=receive-pack",
                    "--export-all",
                    "--reuseaddr",
                    "--informative-errors",
                ])
                .arg(format!("--base-path={}", base.display()))
                .arg(format!("--port={port}"))
                .arg("--listen=127.0.0.1")
                .arg(base)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return GitDaemon { child, port };
                }
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("git daemon did not start");
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn promote_and_roll_back_over_git_daemon() {
    // The daemon's port must be known before the intent is written: reserve the base first.
    let base = tempfile::tempdir().unwrap();
    let daemon = GitDaemon::start(base.path());
    let port = daemon.port;
    let Some(w) = world_with(|_| format!("git://127.0.0.1:{port}/gitops.git")) else {
        return;
    };
    // The world made its bare repository elsewhere; serve that one under the daemon's base.
    std::os::unix::fs::symlink(&w.gitops_path, base.path().join("gitops.git")).unwrap();
    let v1: Vec<String> = SERVICES
        .iter()
        .map(|s| w.publish(s, &format!("{s} one")))
        .collect();
    w.ok(&["promote", "dev", "--commit", "HEAD"]);
    change(&w, "apps/web/index.html", "<h1>web 2</h1>\n");
    w.publish("web", "web two");
    w.ok(&["promote", "dev", "--commit", "HEAD"]);
    assert_ne!(w.digests("dev")[1].1, v1[1]);
    w.ok(&["rollback", "dev"]);
    assert_eq!(
        w.digests("dev")
            .iter()
            .map(|x| x.1.clone())
            .collect::<Vec<_>>(),
        v1
    );
    w.ok(&["hibernate", "dev"]);
    assert!(
        w.file("lanes/dev/manifests/api/deployment.yaml")
            .contains("replicas: 0")
    );
    assert_eq!(w.json("lanes/dev/state.json")["hibernated"], true);
    w.ok(&["wake", "dev"]);
    assert!(
        !w.file("lanes/dev/manifests/api/deployment.yaml")
            .contains("replicas: 0")
    );
}
