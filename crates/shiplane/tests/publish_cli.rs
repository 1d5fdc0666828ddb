#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]
//! `shiplane publish` and the artifact index end to end: a real `docker-registry`, images pushed
//! by `skopeo` and by `shiplane image pack`, and a GitOps repository reached over `file://`.

mod common;

use std::path::Path;
use std::process::{Command as StdCommand, Stdio};
use std::time::Duration;

use assert_cmd::Command;
use common::world::World;
use shiplane_testkit::registry::have;

fn world() -> Option<World> {
    if !have("skopeo") {
        return None;
    }
    World::start(
        |host, gitops| {
            format!(
                "version: 1\nproject: shop\ndefaults:\n  registry: {host}/shop\n  gitops: {{ repo: \"file://{gitops}\", branch: main }}\nservices:\n  api:\n    paths: [\"services/api/**\"]\n    build: {{ context: services/api }}\n  web:\n    paths: [\"apps/web/**\"]\n    build: {{ context: apps/web }}\nlanes:\n  dev: {{}}\n",
                gitops = gitops.display()
            )
        },
        &[
            ("services/api/main.py", "print('api')\n"),
            ("apps/web/index.html", "<h1>web</h1>\n"),
        ],
    )
}

impl World {
    fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("shiplane").unwrap();
        c.current_dir(self.source.path())
            .env("SHIPLANE_CACHE_DIR", self.cache.path())
            .env_remove("SHIPLANE_INTENT");
        c
    }

    fn std_shiplane(&self) -> StdCommand {
        let mut c = StdCommand::new(assert_cmd::cargo::cargo_bin("shiplane"));
        c.current_dir(self.source.path())
            .env("SHIPLANE_CACHE_DIR", self.cache.path())
            .env_remove("SHIPLANE_INTENT");
        c
    }

    fn gitops_log(&self) -> Vec<String> {
        let out = StdCommand::new("git")
            .arg("-C")
            .arg(&self.gitops_path)
            .args(["log", "--format=%s", "main"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn gitops_file(&self, path: &str) -> String {
        let out = StdCommand::new("git")
            .arg("-C")
            .arg(&self.gitops_path)
            .args(["show", &format!("main:{path}")])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{path} missing in the GitOps repository"
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

/// The digest skopeo (an independent client) reads for `reference`.
fn skopeo_digest(reference: &str) -> String {
    common::registry_digest(reference).unwrap_or_else(|| panic!("{reference} does not exist"))
}

fn site(dir: &Path, text: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("index.html"), text).unwrap();
}

/// The seeds' outage: CD ran before CI pushed. Publish starts first, waits, and records exactly
/// the digest the registry serves once skopeo pushes the image.
#[test]
fn publish_waits_for_the_image_and_records_the_verified_digest() {
    let Some(w) = world() else { return };
    let reference = format!("{}/shop/api:sha-test1", w.registry.host());
    let child = w
        .std_shiplane()
        .args([
            "publish", "api", "--image", &reference, "--wait", "60s", "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));

    // An independent client pushes the image: skopeo, from an OCI layout.
    let layout = tempfile::tempdir().unwrap();
    site(&layout.path().join("site"), "api v1");
    w.cmd()
        .args(["image", "pack"])
        .arg(layout.path().join("site"))
        .arg("--to")
        .arg(format!(
            "oci-layout:{}:api:v1",
            layout.path().join("oci").display()
        ))
        .assert()
        .success();
    let out = StdCommand::new("skopeo")
        .args(["copy", "--dest-tls-verify=false"])
        .arg(format!(
            "oci:{}:api:v1",
            layout.path().join("oci").display()
        ))
        .arg(format!("docker://{reference}"))
        .env("HOME", std::env::temp_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo copy: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let expected = skopeo_digest(&reference);
    assert_eq!(doc["digest"], expected.as_str());
    assert_eq!(doc["recorded"], true);

    // The index holds it under the service's fingerprint, in one commit.
    let index: serde_json::Value =
        serde_json::from_str(&w.gitops_file("artifacts/api.json")).unwrap();
    let fp = doc["fingerprint"].as_str().unwrap();
    assert_eq!(index["fingerprints"][fp][0]["digest"], expected.as_str());
    assert_eq!(w.gitops_log().len(), 1);

    // Without --base, plan compares against the index: api is reused with exactly this image,
    // web (never published) must be built.
    let plan = w.cmd().args(["plan", "--json"]).output().unwrap();
    common::assert_exit(&plan, 0);
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(plan["reused"][0]["service"], "api");
    assert_eq!(plan["reused"][0]["digest"], expected.as_str());
    assert_eq!(plan["reused"][0]["fingerprint"], fp);
    assert_eq!(plan["affected"][0]["service"], "web");
    assert_eq!(
        plan["affected"][0]["reasons"][0],
        "no artifact for this fingerprint"
    );

    // Publishing the same image again makes no commit.
    let again = w
        .cmd()
        .args(["publish", "api", "--image", &reference, "--json"])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(0));
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["recorded"], false);
    assert_eq!(w.gitops_log().len(), 1);
}

#[test]
fn a_missing_image_times_out_naming_the_reference() {
    let Some(w) = world() else { return };
    let reference = format!("{}/shop/api:never-pushed", w.registry.host());
    let out = w
        .cmd()
        .args(["publish", "api", "--image", &reference, "--wait", "2s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains(&reference), "{err}");
    assert!(err.contains("--wait"), "{err}");
    assert!(w.gitops_log().is_empty(), "nothing may be recorded");
}

#[test]
fn a_moved_tag_is_recorded_as_the_newest_artifact() {
    let Some(w) = world() else { return };
    let reference = format!("{}/shop/web:rebuild", w.registry.host());
    let dir = tempfile::tempdir().unwrap();
    let mut digests = Vec::new();
    for text in ["first build", "second build"] {
        site(&dir.path().join("site"), text);
        w.cmd()
            .args(["image", "pack"])
            .arg(dir.path().join("site"))
            .args(["--to", &reference])
            .assert()
            .success();
        let out = w
            .cmd()
            .args(["publish", "web", "--image", &reference, "--json"])
            .output()
            .unwrap();
        common::assert_exit(&out, 0);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        digests.push((
            doc["fingerprint"].as_str().unwrap().to_owned(),
            doc["digest"].as_str().unwrap().to_owned(),
        ));
    }
    assert_ne!(digests[0].1, digests[1].1);
    assert_eq!(digests[0].0, digests[1].0, "same source, same fingerprint");
    let index: serde_json::Value =
        serde_json::from_str(&w.gitops_file("artifacts/web.json")).unwrap();
    let list = index["fingerprints"][&digests[0].0].as_array().unwrap();
    assert_eq!(list.last().unwrap()["digest"], digests[1].1.as_str());
    assert_eq!(w.gitops_log().len(), 2);
}

#[test]
fn ten_parallel_publishes_all_land() {
    let Some(w) = world() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut references = Vec::new();
    for i in 0..10 {
        let reference = format!(
            "{}/shop/{}:p{i}",
            w.registry.host(),
            if i % 2 == 0 { "api" } else { "web" }
        );
        site(&dir.path().join(format!("s{i}")), &format!("build {i}"));
        w.cmd()
            .args(["image", "pack"])
            .arg(dir.path().join(format!("s{i}")))
            .args(["--to", &reference])
            .assert()
            .success();
        references.push(reference);
    }
    let children: Vec<_> = references
        .iter()
        .enumerate()
        .map(|(i, r)| {
            // Separate caches: separate processes share nothing but the remote.
            let cache = dir.path().join(format!("cache{i}"));
            let service = if i % 2 == 0 { "api" } else { "web" };
            w.std_shiplane()
                .env("SHIPLANE_CACHE_DIR", &cache)
                .args(["publish", service, "--image", r, "--json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        common::assert_exit(&out, 0);
    }
    // Every publish is one commit and every digest is in the index.
    assert_eq!(w.gitops_log().len(), 10);
    let api = w.gitops_file("artifacts/api.json");
    let web = w.gitops_file("artifacts/web.json");
    for r in &references {
        let digest = skopeo_digest(r);
        assert!(
            api.contains(&digest) || web.contains(&digest),
            "{r} ({digest}) not recorded"
        );
    }
}
