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
        r"{}lanes:
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
",
        head(host, gitops_url)
    )
}

/// The intent up to `lanes:`: the project, defaults and the three services.
fn head(host: &str, gitops_url: &str) -> String {
    common::world::shop_intent_head(host, gitops_url)
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

// ---------------------------------------------------------------------------------------------
// Write modes, policy end to end, concurrent promotions.

/// The three services' source files every world below starts with.
const SOURCES: [(&str, &str); 3] = [
    ("services/api/main.py", "print('api v1')\n"),
    ("apps/web/index.html", "<h1>web</h1>\n"),
    ("services/worker/main.py", "print('worker')\n"),
];

/// An intent with the three services and the given `lanes:` block (indented by four).
fn intent_with_lanes(host: &str, gitops: &Path, lanes: &str) -> String {
    format!(
        "{}lanes:\n{lanes}",
        head(host, &format!("file://{}", gitops.display()))
    )
}

/// Commits `files` to the GitOps repository's `main` by hand, as a team member would (a clone,
/// a commit, a push), on top of whatever Shiplane wrote.
fn commit_by_hand(w: &World, files: &[(&str, &str)], message: &str) {
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let out = StdCommand::new("git")
            .current_dir(dir.path())
            .args(["-c", "user.name=Team", "-c", "user.email=team@example.com"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["clone", "-q", &w.gitops_url(), "."]);
    for (path, text) in files {
        let target = dir.path().join(path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, text).unwrap();
    }
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", message]);
    git(&["push", "-q", "origin", "HEAD:refs/heads/main"]);
}

/// `text` with `from` replaced by `to`, asserting `from` occurs exactly once.
fn swap(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "`{from}` in:\n{text}");
    text.replace(from, to)
}

/// (repository, tag, digest) of `service` in a lane's `release.json`.
fn image_of(release: &Value, service: &str) -> (String, String, String) {
    let i = &release["services"][service];
    let s = |k: &str| i[k].as_str().unwrap().to_owned();
    (s("repository"), s("tag"), s("digest"))
}

const TEAM_VALUES: &str = r#"# Values for the shop chart, kept by the platform team.
# Shiplane only sets image keys.

global:
  imagePullSecrets: [regcred]   # flow list, untouched

api:
  replicas: 2 # two for the demo
  image:
    # where the image lives
    repository: "registry.example.com/old/api"   # double-quoted on purpose
    tag: 'old'  # single-quoted
    digest:
    pullPolicy: IfNotPresent

web:
  image: { repository: registry.example.com/old/web, tag: v1, digest: "" }
  env:
    - name: A
      value: "1"

worker:
  image:
    repository: registry.example.com/old/worker
    tag: v1
# trailing comment
"#;

const TEAM_KUSTOMIZATION: &str = r#"# Staging overlay: the team's base plus a patch.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base   # the team's base
namespace: shop-staging
images:
  # api keeps the tag the team pinned; Shiplane adds the digest
  - name: api
    newName: registry.example.com/old/api
    newTag: "1.0"
  - name: web   # web's entry
    newName: registry.example.com/old/web
    digest: sha256:0000000000000000000000000000000000000000000000000000000000000000
# end of the team's images
"#;

/// The team's values file with `api`, `web` and `worker` set to the images of `release`.
fn values_for(release: &Value) -> String {
    let (ar, at, ad) = image_of(release, "api");
    let (wr, wt, wd) = image_of(release, "web");
    let (kr, kt, kd) = image_of(release, "worker");
    let v = swap(
        TEAM_VALUES,
        r#"repository: "registry.example.com/old/api""#,
        &format!(r#"repository: "{ar}""#),
    );
    let v = swap(&v, "tag: 'old'", &format!("tag: '{at}'"));
    let v = swap(
        &v,
        "    digest:\n    pullPolicy",
        &format!("    digest: {ad}\n    pullPolicy"),
    );
    let v = swap(
        &v,
        r#"{ repository: registry.example.com/old/web, tag: v1, digest: "" }"#,
        &format!(r#"{{ repository: {wr}, tag: {wt}, digest: "{wd}" }}"#),
    );
    swap(
        &v,
        "    repository: registry.example.com/old/worker\n    tag: v1\n",
        &format!("    repository: {kr}\n    tag: {kt}\n    digest: {kd}\n"),
    )
}

#[test]
fn write_modes_set_only_the_image_values_in_the_teams_files() {
    let lanes = r#"  dev:
    write: { helm-values: { file: values.yaml } }
  staging:
    write: { kustomize-images: { file: kustomization.yaml } }
  prod:
    write:
      helm-values:
        file: "charts/{service}/values.yaml"
        repository: image.repository
        tag: image.tag
        digest: image.digest
"#;
    let Some(w) = World::start(|host, g| intent_with_lanes(host, g, lanes), &SOURCES) else {
        return;
    };
    commit_by_hand(
        &w,
        &[
            ("lanes/dev/values.yaml", TEAM_VALUES),
            ("lanes/staging/kustomization.yaml", TEAM_KUSTOMIZATION),
        ],
        "the team's values and overlay",
    );
    let first: Vec<String> = SERVICES
        .iter()
        .map(|s| w.publish(s, &format!("{s} v1")))
        .collect();

    // helm-values: the values file is the team's file with exactly the image values set (the
    // comments, quoting, flow mappings and unrelated keys byte for byte); no manifests.
    let dev = w.ok(&["promote", "dev", "--commit", "HEAD"]);
    assert_eq!(dev["committed"], true);
    let release = w.json("lanes/dev/release.json");
    assert_eq!(image_of(&release, "api").2, first[0]);
    assert_eq!(w.file("lanes/dev/values.yaml"), values_for(&release));
    assert_eq!(
        w.json("lanes/dev/catalog.json")["services"]["web"]["digest"],
        first[1].as_str()
    );
    let tree = String::from_utf8(
        w.git(&["ls-tree", "-r", "--name-only", "main", "lanes/dev"])
            .stdout,
    )
    .unwrap();
    assert_eq!(
        tree.lines().collect::<Vec<_>>(),
        [
            "lanes/dev/catalog.json",
            "lanes/dev/release.json",
            "lanes/dev/values.yaml"
        ],
        "no rendered manifests in a helm-values lane"
    );
    // Nothing new: no commit.
    let count = w.commits().len();
    assert_eq!(
        w.ok(&["promote", "dev", "--commit", "HEAD"])["committed"],
        false
    );
    assert_eq!(w.commits().len(), count);

    // kustomize-images: entries found by the service's name get `newName` and `digest`; a
    // missing entry is appended; everything else stays.
    w.ok(&["promote", "staging", "--commit", "HEAD"]);
    let release = w.json("lanes/staging/release.json");
    let (ar, _, ad) = image_of(&release, "api");
    let (wr, _, wd) = image_of(&release, "web");
    let (kr, _, kd) = image_of(&release, "worker");
    let overlay = swap(
        TEAM_KUSTOMIZATION,
        "    newName: registry.example.com/old/api\n    newTag: \"1.0\"\n",
        &format!("    newName: {ar}\n    newTag: \"1.0\"\n    digest: {ad}\n"),
    );
    let overlay = swap(
        &overlay,
        "    newName: registry.example.com/old/web\n    digest: sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
        &format!(
            "    newName: {wr}\n    digest: {wd}\n  - name: worker\n    newName: {kr}\n    digest: {kd}\n"
        ),
    );
    assert_eq!(w.file("lanes/staging/kustomization.yaml"), overlay);

    // A team member edits the values file; the next promotion keeps the edit, and so does a
    // rollback (which sets the earlier release's images, it does not restore the old file).
    let edited = swap(
        &w.file("lanes/dev/values.yaml"),
        "replicas: 2 # two for the demo",
        "replicas: 3 # three since the load test",
    );
    commit_by_hand(&w, &[("lanes/dev/values.yaml", &edited)], "three replicas");
    change(&w, "services/api/main.py", "print('api v2')\n");
    let api2 = w.publish("api", "api v2");
    w.ok(&["promote", "dev", "--commit", "HEAD"]);
    let release2 = w.json("lanes/dev/release.json");
    assert_eq!(image_of(&release2, "api").2, api2);
    let values2 = w.file("lanes/dev/values.yaml");
    assert_eq!(
        values2,
        swap(
            &values_for(&release2),
            "replicas: 2 # two for the demo",
            "replicas: 3 # three since the load test"
        )
    );
    w.ok(&["rollback", "dev"]);
    let back = w.json("lanes/dev/release.json");
    assert_eq!(image_of(&back, "api").2, first[0]);
    assert_eq!(
        w.file("lanes/dev/values.yaml"),
        swap(
            &values_for(&back),
            "replicas: 2 # two for the demo",
            "replicas: 3 # three since the load test"
        )
    );
    assert_eq!(w.json("lanes/dev/state.json")["held"], true);
    // `render` writes the lane's files as a promotion would, the team's file edited.
    let out = tempfile::tempdir().unwrap();
    w.ok(&["render", "dev", "--out", &out.path().display().to_string()]);
    assert_eq!(
        std::fs::read_to_string(out.path().join("values.yaml")).unwrap(),
        w.file("lanes/dev/values.yaml")
    );
    assert!(!out.path().join("manifests").exists());
    // Shiplane does not own the replica counts of a write-mode lane.
    let refused = w.status(&["hibernate", "dev"], 2);
    assert!(refused.contains("helm-values"), "{refused}");

    // A missing file: exit 1, naming the file to create; nothing is written.
    let count = w.commits().len();
    let missing = w.status(&["promote", "prod", "--commit", "HEAD"], 1);
    assert!(
        missing.contains("lanes/prod/charts/api/values.yaml") && missing.contains("create"),
        "{missing}"
    );
    assert_eq!(w.commits().len(), count);

    // A value the splice cannot change safely (an anchor): refused, the remote untouched.
    let chart_values = |tag: &str| {
        format!(
            "# chart values\nimage:\n  repository: registry.example.com/old\n  tag: {tag}  # pinned\n  digest: \"\"\nreplicas: 1\n"
        )
    };
    let plain = chart_values("v1");
    let anchored = chart_values("&t v1");
    commit_by_hand(
        &w,
        &[
            ("lanes/prod/charts/api/values.yaml", &plain),
            ("lanes/prod/charts/web/values.yaml", &plain),
            ("lanes/prod/charts/worker/values.yaml", &anchored),
        ],
        "prod charts",
    );
    let count = w.commits().len();
    let refused = w.status(&["promote", "prod", "--commit", "HEAD"], 1);
    assert!(
        refused.contains("lanes/prod/charts/worker/values.yaml") && refused.contains("anchor"),
        "{refused}"
    );
    assert_eq!(w.commits().len(), count);
    assert_eq!(w.file("lanes/prod/charts/api/values.yaml"), plain);
    assert!(
        !w.git(&["cat-file", "-e", "main:lanes/prod/release.json"])
            .status
            .success()
    );

    // Fixed by hand: every service's own file gets its image, under the lane's key paths.
    commit_by_hand(
        &w,
        &[("lanes/prod/charts/worker/values.yaml", &plain)],
        "no anchor",
    );
    w.ok(&["promote", "prod", "--commit", "HEAD"]);
    let release = w.json("lanes/prod/release.json");
    for s in SERVICES {
        let (repository, tag, digest) = image_of(&release, s);
        let want = swap(
            &swap(
                &swap(
                    &plain,
                    "repository: registry.example.com/old",
                    &format!("repository: {repository}"),
                ),
                "tag: v1  # pinned",
                &format!("tag: {tag}  # pinned"),
            ),
            "digest: \"\"",
            &format!("digest: \"{digest}\""),
        );
        assert_eq!(
            w.file(&format!("lanes/prod/charts/{s}/values.yaml")),
            want,
            "{s}"
        );
    }
}

/// Two weekly windows that together cover every minute of the week: the first is everything
/// but Monday 00:00 UTC, the second covers that minute.
const ALWAYS_FROZEN: [&str; 2] = ["Mon 00:01 - Mon 00:00 UTC", "Sun 23:59 - Mon 00:02 UTC"];

#[test]
fn freeze_window_refuses_and_an_override_with_a_reason_is_recorded() {
    let lanes = format!(
        "  prod:\n    freeze: [\"{}\", \"{}\"]\n",
        ALWAYS_FROZEN[0], ALWAYS_FROZEN[1]
    );
    let Some(w) = World::start(|host, g| intent_with_lanes(host, g, &lanes), &SOURCES) else {
        return;
    };
    for s in SERVICES {
        w.publish(s, &format!("{s} v1"));
    }
    let n = w.commits().len();
    let refused = w.status(&["promote", "prod", "--commit", "HEAD"], 3);
    assert!(refused.contains("[freeze]"), "{refused}");
    assert!(
        ALWAYS_FROZEN
            .iter()
            .any(|win| refused.contains(&format!("inside the freeze window `{win}`"))),
        "the refusal names the window: {refused}"
    );
    assert!(refused.contains("--override-freeze"), "{refused}");
    assert_eq!(w.commits().len(), n, "a refusal writes nothing");
    assert!(
        !w.git(&["cat-file", "-e", "main:lanes/prod/release.json"])
            .status
            .success()
    );

    // An override needs a reason (a usage error without one, still nothing written).
    w.status(
        &["promote", "prod", "--commit", "HEAD", "--override-freeze"],
        2,
    );
    assert_eq!(w.commits().len(), n);

    let out = w.ok(&[
        "promote",
        "prod",
        "--commit",
        "HEAD",
        "--override-freeze",
        "--reason",
        "hotfix for INC-42",
    ]);
    assert_eq!(out["committed"], true);
    assert_eq!(w.commits().len(), n + 1);
    let release = w.json("lanes/prod/release.json");
    assert_eq!(
        release["overrides"],
        serde_json::json!([{ "what": "freeze", "reason": "hotfix for INC-42", "by": "alice" }])
    );
    assert_eq!(
        release["source_commit"],
        w.source.git(&["rev-parse", "HEAD"]).trim()
    );
}

#[test]
fn require_tag_on_refuses_a_commit_off_the_branch_and_takes_one_on_it() {
    let lanes = "  prod:\n    require_tag_on: main\n";
    let Some(w) = World::start(|host, g| intent_with_lanes(host, g, lanes), &SOURCES) else {
        return;
    };
    for s in SERVICES {
        w.publish(s, &format!("{s} v1"));
    }
    let on_main = w.source.git(&["rev-parse", "HEAD"]).trim().to_owned();

    // A commit on a feature branch, its image published: refused, nothing written.
    w.source.git(&["checkout", "-q", "-b", "feature"]);
    change(&w, "services/api/main.py", "print('api from a branch')\n");
    w.publish("api", "api from a branch");
    let off_main = w.source.git(&["rev-parse", "HEAD"]).trim().to_owned();
    let n = w.commits().len();
    let refused = w.status(&["promote", "prod", "--commit", &off_main], 3);
    assert!(
        refused.contains("[require_tag_on]") && refused.contains("`main`"),
        "{refused}"
    );
    assert_eq!(w.commits().len(), n);
    assert!(
        !w.git(&["cat-file", "-e", "main:lanes/prod/release.json"])
            .status
            .success()
    );

    // The commit on main goes in.
    let out = w.ok(&["promote", "prod", "--commit", &on_main]);
    assert_eq!(out["committed"], true);
    let release = w.json("lanes/prod/release.json");
    assert_eq!(release["source_commit"], on_main.as_str());
    assert_eq!(w.commits().len(), n + 1);

    // Once the branch is merged, its commit is on main and is accepted.
    w.source.git(&["checkout", "-q", "main"]);
    w.source.git(&["merge", "-q", "--ff-only", "feature"]);
    w.ok(&["promote", "prod", "--commit", &off_main]);
    assert_eq!(
        w.json("lanes/prod/release.json")["source_commit"],
        off_main.as_str()
    );
}

#[test]
fn two_processes_promoting_two_lanes_of_one_repository_both_land() {
    let lanes = "  dev: {}\n  qa: {}\n";
    let Some(w) = World::start(|host, g| intent_with_lanes(host, g, lanes), &SOURCES) else {
        return;
    };
    let digests: Vec<String> = SERVICES
        .iter()
        .map(|s| w.publish(s, &format!("{s} v1")))
        .collect();
    let before = w.commits().len();

    // Started together, sharing the GitOps mirror cache like two jobs on one runner: one of
    // the pushes loses the race, fetches, recomputes its change on the new head and retries.
    let spawn = |lane: &str| {
        StdCommand::new(assert_cmd::cargo::cargo_bin("shiplane"))
            .current_dir(w.source.path())
            .env("SHIPLANE_CACHE_DIR", w.cache.path())
            .env("SHIPLANE_ACTOR", "alice")
            .env_remove("SHIPLANE_INTENT")
            .args(["promote", lane, "--commit", "HEAD", "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let children = [spawn("dev"), spawn("qa")];
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc["committed"], true, "{doc}");
    }

    let commits = w.commits();
    assert_eq!(commits.len(), before + 2, "one promotion commit per lane");
    let subjects = String::from_utf8(
        w.git(&["log", "--format=%s", &format!("-{}", 2), "main"])
            .stdout,
    )
    .unwrap();
    let mut subjects: Vec<&str> = subjects
        .lines()
        .map(|s| s.split(" to ").next().unwrap())
        .collect();
    subjects.sort_unstable();
    assert_eq!(subjects, ["Promote dev", "Promote qa"]);
    for lane in ["dev", "qa"] {
        for (i, (s, d)) in w.digests(lane).iter().enumerate() {
            assert_eq!(d, &digests[i], "{lane} {s}");
        }
        let deployment = w.file(&format!("lanes/{lane}/manifests/api/deployment.yaml"));
        assert!(deployment.contains(&digests[0]), "{deployment}");
    }
    // Each commit touches only its own lane.
    for c in &commits[..2] {
        let body = String::from_utf8(w.git(&["show", "-s", "--format=%B", c]).stdout).unwrap();
        let lane = body
            .lines()
            .find_map(|l| l.strip_prefix("Shiplane-Lane: "))
            .unwrap();
        let files =
            String::from_utf8(w.git(&["show", "--name-only", "--format=", c]).stdout).unwrap();
        assert!(
            files
                .lines()
                .filter(|l| !l.is_empty())
                .all(|f| f.starts_with(&format!("lanes/{lane}/"))),
            "{c}: {files}"
        );
    }
}

#[test]
fn the_same_release_is_rendered_again_only_when_the_intent_changed() {
    let lanes = "  dev: {}\n";
    let Some(w) = World::start(|host, g| intent_with_lanes(host, g, lanes), &SOURCES) else {
        return;
    };
    for s in SERVICES {
        w.publish(s, &format!("{s} v1"));
    }
    let c1 = w.source.git(&["rev-parse", "HEAD"]).trim().to_owned();
    let first = w.ok(&["promote", "dev", "--commit", &c1]);
    let id = first["release"]["id"].as_str().unwrap().to_owned();
    let hash1 = w.json("lanes/dev/release.json")["intent_hash"].clone();

    // Same release, same intent: nothing rendered, nothing committed, same answer.
    let count = w.commits().len();
    let again = w.shiplane(&["promote", "dev", "--commit", &c1]);
    assert!(again.status.success());
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        format!("lane dev already runs release {id}: nothing changed, no commit\n")
    );
    assert_eq!(w.commits().len(), count);

    // The intent changes the lane's manifests (a port; not part of any fingerprint, so the
    // release is the same): re-rendered in one commit that records the new intent hash.
    let intent = std::fs::read_to_string(w.source.path().join("shiplane.yaml")).unwrap();
    let ported = swap(&intent, "port: 8000", "port: 8080");
    std::fs::write(w.source.path().join("shiplane.yaml"), &ported).unwrap();
    let rerendered = w.ok(&["promote", "dev", "--commit", &c1]);
    assert_eq!(rerendered["committed"], true);
    assert_eq!(rerendered["release"]["id"], id.as_str());
    assert!(
        w.file("lanes/dev/manifests/api/deployment.yaml")
            .contains("8080")
    );
    let hash2 = w.json("lanes/dev/release.json")["intent_hash"].clone();
    assert_ne!(hash2, hash1);
    assert_eq!(w.commits().len(), count + 1);
    let count = count + 1;
    assert_eq!(
        w.ok(&["promote", "dev", "--commit", &c1])["committed"],
        false
    );
    assert_eq!(w.commits().len(), count);

    // An intent change that does not touch the lane's files (another lane): no commit, and the
    // record keeps the intent its files were rendered from.
    std::fs::write(
        w.source.path().join("shiplane.yaml"),
        format!("{ported}  qa: {{}}\n"),
    )
    .unwrap();
    assert_eq!(
        w.ok(&["promote", "dev", "--commit", &c1])["committed"],
        false
    );
    assert_eq!(w.commits().len(), count);
    assert_eq!(w.json("lanes/dev/release.json")["intent_hash"], hash2);
}
