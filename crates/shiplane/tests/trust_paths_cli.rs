#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]
//! Regression tests for "Trust, part 2" that need a promoted lane, each named after what broke,
//! end to end against a real `docker-registry` and a bare GitOps repository over `file://`:
//! `render --out` wrote through symbolic links inside the output directory.

mod common;

use std::path::Path;

use common::world::World;

fn intent(host: &str, gitops: &Path) -> String {
    format!(
        r#"version: 1
project: shop
defaults:
  registry: {host}/shop
  gitops: {{ repo: "file://{}", branch: main }}
services:
  api:
    paths: ["services/api/**"]
    build: {{ context: services/api }}
    run: {{ port: 8000, health: {{ path: /healthz }} }}
lanes:
  dev: {{}}
"#,
        gitops.display()
    )
}

/// A world with lane `dev` promoted once.
fn promoted() -> Option<World> {
    let w = World::start(intent, &[("services/api/main.py", "print('api')\n")])?;
    w.publish("api", "api v1");
    w.ok(&["promote", "dev", "--commit", "HEAD"]);
    Some(w)
}

/// Every file under `dir`, recursively, not following links.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(entry.path());
            } else {
                out.push(entry.path().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[cfg(unix)]
#[test]
fn render_wrote_through_a_symlinked_manifests_directory() {
    let Some(w) = promoted() else { return };
    let out = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let link = out.path().join("manifests");
    std::os::unix::fs::symlink(elsewhere.path(), &link).unwrap();

    let stderr = w.status(
        &["render", "dev", "--out", &out.path().display().to_string()],
        1,
    );
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert!(stderr.contains(&link.display().to_string()), "{stderr}");
    assert!(
        files_under(elsewhere.path()).is_empty(),
        "render wrote through the link: {:?}",
        files_under(elsewhere.path())
    );
    // Refused before anything was written: the directory holds only the link.
    assert!(files_under(out.path()) == [link.display().to_string()]);

    // Without the link, the same command renders.
    std::fs::remove_file(&link).unwrap();
    w.ok(&["render", "dev", "--out", &out.path().display().to_string()]);
    assert!(out.path().join("manifests/kustomization.yaml").is_file());
}

#[cfg(unix)]
#[test]
fn render_overwrote_the_target_of_a_symlinked_release_json() {
    let Some(w) = promoted() else { return };
    let out = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let victim = elsewhere.path().join("precious.txt");
    std::fs::write(&victim, "do not touch\n").unwrap();
    let link = out.path().join("release.json");
    std::os::unix::fs::symlink(&victim, &link).unwrap();

    let stderr = w.status(
        &["render", "dev", "--out", &out.path().display().to_string()],
        1,
    );
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert!(stderr.contains(&link.display().to_string()), "{stderr}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "do not touch\n");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
}
