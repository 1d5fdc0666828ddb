#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]
//! Regression tests for the policy holes of the "Trust" issue, each named after what broke,
//! end to end against a real `docker-registry` and a bare GitOps repository over `file://`.

mod common;

use std::path::Path;

use common::world::World;
use serde_json::Value;

const SOURCES: [(&str, &str); 3] = [
    ("services/api/main.py", "print('api v1')\n"),
    ("apps/web/index.html", "<h1>web</h1>\n"),
    ("services/worker/main.py", "print('worker')\n"),
];
const SERVICES: [&str; 3] = ["api", "web", "worker"];

fn intent(host: &str, gitops: &Path, lanes: &str) -> String {
    format!(
        "{}lanes:\n{lanes}",
        common::world::shop_intent_head(host, &format!("file://{}", gitops.display()))
    )
}

fn world(lanes: &'static str) -> Option<World> {
    World::start(|host, g| intent(host, g, lanes), &SOURCES)
}

fn publish_all(w: &World, text: &str) {
    for s in SERVICES {
        w.publish(s, &format!("{s} {text}"));
    }
}

fn gitops_json(w: &World, path: &str) -> Value {
    let out = w.git(&["show", &format!("main:{path}")]);
    assert!(out.status.success(), "{path} missing");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn commit_count(w: &World) -> usize {
    String::from_utf8(w.git(&["rev-list", "--count", "main"]).stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn last_message(w: &World) -> String {
    String::from_utf8(w.git(&["log", "-1", "--format=%B", "main"]).stdout).unwrap()
}

/// Runs shiplane as `who`, whose name comes from `var` (`SHIPLANE_ACTOR` or a CI's variable).
fn as_person(w: &World, var: &str, who: &str, args: &[&str]) -> std::process::Output {
    let mut cmd = assert_cmd::Command::cargo_bin("shiplane").unwrap();
    cmd.current_dir(w.source.path())
        .env("SHIPLANE_CACHE_DIR", w.cache.path())
        .env_remove("SHIPLANE_ACTOR")
        .env_remove("GITHUB_ACTOR")
        .env_remove("BUILDKITE_BUILD_CREATOR")
        .env_remove("SHIPLANE_INTENT")
        .env(var, who)
        .args(args);
    cmd.output().unwrap()
}

fn edit_intent(w: &World, from: &str, to: &str) {
    let path = w.source.path().join("shiplane.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.matches(from).count(), 1, "`{from}` in:\n{text}");
    std::fs::write(&path, text.replace(from, to)).unwrap();
}

#[test]
fn an_intent_change_re_promoted_without_approvals_is_refused_and_names_its_approvers() {
    let Some(w) = world("  dev: {}\n  prod: { from: dev, approvals: 2 }\n") else {
        return;
    };
    publish_all(&w, "v1");
    w.ok(&["promote", "dev", "--commit", "HEAD"]);
    w.status(&["promote", "prod", "--from", "dev", "--approve"], 3);
    let first = as_person(
        &w,
        "SHIPLANE_ACTOR",
        "bob",
        &["promote", "prod", "--from", "dev", "--approve"],
    );
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let before = gitops_json(&w, "lanes/prod/release.json");

    // The same release with an intent that changes prod's manifests (a port) is a change like
    // any other: without approvals it is refused, and nothing is committed.
    edit_intent(&w, "port: 8000", "port: 8080");
    let count = commit_count(&w);
    let refused = w.status(&["promote", "prod", "--from", "dev"], 3);
    assert!(refused.contains("[approvals]"), "{refused}");
    assert!(refused.contains("needs 2 approval(s)"), "{refused}");
    assert_eq!(commit_count(&w), count, "nothing committed");
    assert_eq!(gitops_json(&w, "lanes/prod/release.json"), before);

    // The approvals given for the earlier intent do not carry over: carol approves (recorded,
    // still refused), then dave, from GitHub Actions, completes it.
    let carol = as_person(
        &w,
        "SHIPLANE_ACTOR",
        "carol",
        &["promote", "prod", "--from", "dev", "--approve"],
    );
    assert_eq!(
        carol.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&carol.stderr)
    );
    assert!(String::from_utf8_lossy(&carol.stderr).contains("approval was recorded"));
    let dave = as_person(
        &w,
        "GITHUB_ACTOR",
        "dave",
        &["promote", "prod", "--from", "dev", "--approve", "--json"],
    );
    assert_eq!(
        dave.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&dave.stderr)
    );
    let out: Value = serde_json::from_slice(&dave.stdout).unwrap();
    assert_eq!(out["committed"], true, "{out}");

    let release = gitops_json(&w, "lanes/prod/release.json");
    assert_eq!(release["id"], before["id"], "same release");
    assert_ne!(release["intent_hash"], before["intent_hash"]);
    let approvals: Vec<(String, String)> = release["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["by"].as_str().unwrap().to_owned(),
                a["source"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        approvals,
        [
            ("carol".to_owned(), "env".to_owned()),
            ("dave".to_owned(), "ci:github".to_owned())
        ],
        "the approvals of this change, with where each name came from"
    );
    assert_eq!(
        release["promoted_by"], "dave",
        "the actor who made the change, not the earlier approver"
    );
    assert_eq!(release["promoted_by_source"], "ci:github");
    assert_eq!(
        out["release"]["approvals"][1]["source"], "ci:github",
        "the output says it too"
    );
    let msg = last_message(&w);
    assert!(msg.contains("Promoted-By: dave"), "{msg}");
    assert!(
        msg.contains("Approved-By: carol (env)") && msg.contains("Approved-By: dave (ci:github)"),
        "{msg}"
    );
    assert!(
        !msg.contains("alice") && !msg.contains("bob"),
        "earlier approvers are not credited: {msg}"
    );
}

#[test]
fn an_intent_change_is_refused_by_a_hold_like_any_promotion() {
    let Some(w) = world("  dev: {}\n") else {
        return;
    };
    publish_all(&w, "v1");
    w.ok(&["promote", "dev", "--commit", "HEAD"]);
    w.ok(&["hold", "dev", "--reason", "incident"]);
    edit_intent(&w, "port: 8000", "port: 8080");
    let refused = w.status(&["promote", "dev", "--commit", "HEAD"], 3);
    assert!(refused.contains("[hold]"), "{refused}");
    // A re-run that changes nothing is not a promotion and is not refused.
    edit_intent(&w, "port: 8080", "port: 8000");
    w.ok(&["promote", "dev", "--commit", "HEAD"]);
}

#[test]
fn promote_from_a_lane_that_is_not_upstream_is_refused_even_when_nothing_would_change() {
    let Some(w) = world("  dev: {}\n  qa: {}\n  staging: { from: dev }\n") else {
        return;
    };
    publish_all(&w, "v1");
    for lane in ["dev", "qa"] {
        w.ok(&["promote", lane, "--commit", "HEAD"]);
    }
    w.ok(&["promote", "staging", "--from", "dev"]);
    // Staging already runs that release (dev and qa have the same one), so nothing would change.
    let refused = w.status(&["promote", "staging", "--from", "qa"], 3);
    assert!(
        refused.contains("[order]") && refused.contains("not from `qa`"),
        "{refused}"
    );
    // A lane without `from` takes no release from another lane.
    let refused = w.status(&["promote", "qa", "--from", "dev"], 3);
    assert!(
        refused.contains("[order]") && refused.contains("no upstream lane"),
        "{refused}"
    );
    let json = w.shiplane(&["promote", "qa", "--from", "dev", "--json"]);
    assert_eq!(json.status.code(), Some(3));
    let doc: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["refusals"][0]["rule"], "order", "{doc}");
}

#[test]
fn a_rollback_landing_while_a_promotion_is_in_flight_wins() {
    let Some(w) = world("  dev: {}\n") else {
        return;
    };
    publish_all(&w, "v1");
    let a = w.ok(&["promote", "dev", "--commit", "HEAD"])["release"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    w.source.write("services/api/main.py", "print('api v2')\n");
    w.source.commit("api v2");
    w.publish("api", "api v2");
    let b = w.ok(&["promote", "dev", "--commit", "HEAD"])["release"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    w.source.write("services/api/main.py", "print('api v3')\n");
    w.source.commit("api v3");
    w.publish("api", "api v3");

    // While the next promotion's push is being received, an on-call engineer's rollback lands
    // (a pre-receive hook runs it once, with its own cache): the promotion's ref update then
    // fails, it fetches, decides again on the new head, finds the lane held and is refused.
    let marker = w.cache.path().join("hook-ran");
    let other_cache = tempfile::tempdir().unwrap();
    let hook = format!(
        "#!/bin/sh\n[ -e '{m}' ] && exit 0\ntouch '{m}'\ncd '{src}' && env -i PATH=\"$PATH\" HOME=\"$HOME\" SHIPLANE_CACHE_DIR='{cache}' SHIPLANE_ACTOR=oncall '{bin}' rollback dev --reason 'pager' >'{m}.out' 2>&1\nexit 0\n",
        m = marker.display(),
        src = w.source.path().display(),
        cache = other_cache.path().display(),
        bin = assert_cmd::cargo::cargo_bin("shiplane").display(),
    );
    let hooks = w.gitops_path.join("hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let hook_path = hooks.join("pre-receive");
    std::fs::write(&hook_path, hook).unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&hook_path)
        .status()
        .unwrap();

    let refused = w.status(&["promote", "dev", "--commit", "HEAD"], 3);
    let hook_out = std::fs::read_to_string(marker.with_extension("out")).unwrap_or_default();
    assert!(marker.exists(), "the hook ran: {hook_out}");
    assert!(refused.contains("[hold]"), "{refused}\nhook: {hook_out}");
    let release = gitops_json(&w, "lanes/dev/release.json");
    assert_eq!(
        release["id"],
        a.as_str(),
        "the lane stays on the rolled-back release (not {b})"
    );
    let state = gitops_json(&w, "lanes/dev/state.json");
    assert_eq!(state["held"], true);
}

#[test]
fn a_release_whose_image_was_deleted_is_never_committed() {
    let Some(w) = world("  dev: {}\n") else {
        return;
    };
    let digests: Vec<String> = SERVICES
        .iter()
        .map(|s| w.publish(s, &format!("{s} v1")))
        .collect();
    // Somebody's cleanup deletes the api image after it was published.
    let url = format!(
        "http://{}/v2/shop/api/manifests/{}",
        w.registry.host(),
        digests[0]
    );
    let deleted = std::process::Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-X",
            "DELETE",
            &url,
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&deleted.stdout),
        "202",
        "the registry deleted it"
    );
    let count = commit_count(&w);
    let refused = w.status(&["promote", "dev", "--commit", "HEAD"], 1);
    assert!(
        refused.contains("missing from their registry") && refused.contains("api: "),
        "{refused}"
    );
    assert!(refused.contains(&digests[0]), "names the digest: {refused}");
    assert_eq!(commit_count(&w), count, "nothing committed");
    assert!(
        !w.git(&["cat-file", "-e", "main:lanes/dev/release.json"])
            .status
            .success()
    );
}

#[test]
fn promoting_an_older_commit_than_the_lane_runs_is_refused_unless_allowed() {
    let Some(w) = world("  dev: {}\n") else {
        return;
    };
    publish_all(&w, "v1");
    let old = w.source.git(&["rev-parse", "HEAD"]).trim().to_owned();
    w.source.write("services/api/main.py", "print('api v2')\n");
    w.source.commit("api v2");
    w.publish("api", "api v2");
    w.ok(&["promote", "dev", "--commit", "HEAD"]);
    let newer = gitops_json(&w, "lanes/dev/release.json");

    // A CI job for the older commit finishing late must not move the lane back.
    let refused = w.status(&["promote", "dev", "--commit", &old], 3);
    assert!(refused.contains("[downgrade]"), "{refused}");
    assert_eq!(gitops_json(&w, "lanes/dev/release.json"), newer);

    // On purpose, it lands and the release records it.
    let moved = w.ok(&["promote", "dev", "--commit", &old, "--allow-downgrade"]);
    assert_eq!(moved["committed"], true);
    let release = gitops_json(&w, "lanes/dev/release.json");
    assert_eq!(release["overrides"][0]["what"], "downgrade", "{release}");
    assert_eq!(release["source_commit"], old.as_str());
}
