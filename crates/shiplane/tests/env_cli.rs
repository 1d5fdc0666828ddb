#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]
//! Ephemeral environments end to end: `env up`, `down`, `gc` and `list` against a real
//! `docker-registry` (images pushed by `shiplane image pack`, recorded by `shiplane publish`)
//! and a bare GitOps repository over `file://`.

mod common;

use common::world::World;
use serde_json::Value;

const SERVICES: [&str; 2] = ["api", "web"];

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
lanes:
  dev:
    promote: auto
  preview:
    template: true
    namespace: "shop-{{name}}"
    gitops: {{ path: "lanes/preview/{{name}}" }}
    ttl: 24h
"#
    )
}

fn world() -> Option<World> {
    World::start(
        |host, gitops| intent(host, &format!("file://{}", gitops.display())),
        &[
            ("services/api/main.py", "print('api v1')\n"),
            ("apps/web/index.html", "<h1>web</h1>\n"),
        ],
    )
}

impl World {
    fn file(&self, path: &str) -> Option<String> {
        let out = self.git(&["show", &format!("main:{path}")]);
        out.status
            .success()
            .then(|| String::from_utf8(out.stdout).unwrap())
    }

    fn commits(&self) -> usize {
        let out = self.git(&["rev-list", "--count", "main"]);
        String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

#[test]
fn env_up_gc_and_down() {
    let Some(w) = world() else {
        return;
    };
    for s in SERVICES {
        w.publish(s, &format!("{s} v1"));
    }
    let head = w.source.git(&["rev-parse", "HEAD"]);
    let head = head.trim();

    // Refusals: a lane that is not a template, a bad name, an unknown lane.
    let text = w.status(
        &["env", "up", "pr-1", "--template", "dev", "--commit", "HEAD"],
        2,
    );
    assert!(text.contains("not a template lane"), "{text}");
    let text = w.status(
        &[
            "env",
            "up",
            "PR_1",
            "--template",
            "preview",
            "--commit",
            "HEAD",
        ],
        2,
    );
    assert!(text.contains("DNS-1123"), "{text}");
    w.status(
        &[
            "env",
            "up",
            "pr-1",
            "--template",
            "nope",
            "--commit",
            "HEAD",
        ],
        2,
    );

    // Up: one commit with the instance's files.
    let before = w.commits();
    let up = w.ok(&[
        "env",
        "up",
        "pr-123",
        "--template",
        "preview",
        "--commit",
        "HEAD",
    ]);
    assert_eq!(up["committed"], true, "{up}");
    assert_eq!(up["namespace"], "shop-pr-123");
    assert_eq!(up["path"], "lanes/preview/pr-123");
    assert_eq!(w.commits(), before + 1);
    let log = String::from_utf8(w.git(&["log", "-1", "--format=%B", "main"]).stdout).unwrap();
    assert!(
        log.starts_with("Create environment pr-123 from preview"),
        "{log}"
    );
    assert!(log.contains("Shiplane-Lane: preview"), "{log}");
    assert!(log.contains("Shiplane-Environment: pr-123"), "{log}");
    assert!(log.contains(&format!("Source-Commit: {head}")), "{log}");

    let release: Value =
        serde_json::from_str(&w.file("lanes/preview/pr-123/release.json").unwrap()).unwrap();
    assert_eq!(release["instance"], "pr-123");
    assert_eq!(release["lane"], "preview");
    assert_eq!(release["source_commit"], head);
    let expires = release["expires_at"].as_str().unwrap().to_owned();
    let expires_ts: jiff::Timestamp = expires.parse().unwrap();
    let promoted: jiff::Timestamp = release["promoted_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires_ts.as_second() - promoted.as_second(), 24 * 3600);
    assert_eq!(up["expires_at"], expires.as_str());
    let catalog: Value =
        serde_json::from_str(&w.file("lanes/preview/pr-123/catalog.json").unwrap()).unwrap();
    assert!(
        catalog["services"]["api"]["digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let ns = w
        .file("lanes/preview/pr-123/manifests/namespace.yaml")
        .unwrap();
    assert!(ns.contains("shop-pr-123"), "{ns}");
    let kustomization = w
        .file("lanes/preview/pr-123/manifests/kustomization.yaml")
        .unwrap();
    assert!(kustomization.contains("shop-pr-123"), "{kustomization}");
    let appset = w.file("lanes/preview/argocd/applicationset.yaml").unwrap();
    assert!(appset.contains("lanes/preview/*/manifests"), "{appset}");
    assert!(w.file("lanes/preview/argocd/appproject.yaml").is_some());

    // The same again: no commit.
    let again = w.ok(&[
        "env",
        "up",
        "pr-123",
        "--template",
        "preview",
        "--commit",
        "HEAD",
    ]);
    assert_eq!(again["committed"], false, "{again}");
    assert_eq!(w.commits(), before + 1);

    // A second environment, then list.
    w.ok(&[
        "env",
        "up",
        "pr-7",
        "--template",
        "preview",
        "--commit",
        "HEAD",
    ]);
    let list = w.ok(&["env", "list"]);
    let names: Vec<&str> = list["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["environment"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["pr-123", "pr-7"], "{list}");

    // gc before expiry removes nothing; after expiry removes both, in one commit.
    let count = w.commits();
    let gc = w.ok(&["env", "gc", "--now", &promoted.to_string()]);
    assert_eq!(gc["removed"].as_array().unwrap().len(), 0, "{gc}");
    assert_eq!(w.commits(), count);
    let later = jiff::Timestamp::from_second(expires_ts.as_second() + 3600).unwrap();
    let gc = w.ok(&["env", "gc", "--now", &later.to_string()]);
    let removed: Vec<&str> = gc["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["environment"].as_str().unwrap())
        .collect();
    assert_eq!(removed.len(), 2, "{gc}");
    assert_eq!(w.commits(), count + 1);
    assert!(w.file("lanes/preview/pr-123/release.json").is_none());
    assert!(w.file("lanes/preview/pr-7/release.json").is_none());
    // The template's ApplicationSet stays for the next environment.
    assert!(w.file("lanes/preview/argocd/applicationset.yaml").is_some());

    // Down: removes; absent is not an error and makes no commit.
    w.ok(&[
        "env",
        "up",
        "pr-9",
        "--template",
        "preview",
        "--commit",
        "HEAD",
    ]);
    assert!(w.file("lanes/preview/pr-9/release.json").is_some());
    let count = w.commits();
    let down = w.ok(&["env", "down", "pr-9"]);
    assert_eq!(down["committed"], true, "{down}");
    assert_eq!(w.commits(), count + 1);
    assert!(
        w.file("lanes/preview/pr-9/manifests/namespace.yaml")
            .is_none()
    );
    let text = w.status(&["env", "down", "pr-9", "--template", "preview"], 0);
    assert!(text.contains("does not exist"), "{text}");
    assert_eq!(w.commits(), count + 1);
    w.status(&["env", "down", "Bad_Name"], 2);
}

#[test]
fn env_up_without_published_images_says_what_to_publish() {
    let Some(w) = world() else {
        return;
    };
    w.publish("api", "api v1");
    let text = w.status(
        &[
            "env",
            "up",
            "pr-1",
            "--template",
            "preview",
            "--commit",
            "HEAD",
        ],
        1,
    );
    assert!(text.contains("shiplane publish web"), "{text}");
}
