#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]
//! `shiplane init` as a user runs it, on a real directory.

mod common;

use common::shiplane;

fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join(".git")).unwrap();
    for (path, text) in [
        (
            "services/api/Dockerfile",
            "FROM python:3.11\nEXPOSE 8000\nCMD [\"gunicorn\"]\n",
        ),
        ("services/api/pyproject.toml", "[project]\nname = \"api\"\n"),
        ("apps/web/Dockerfile", "FROM node:20\nEXPOSE 3000\n"),
        (
            "apps/web/package.json",
            "{\"name\": \"web\", \"dependencies\": {\"ui\": \"*\"}}\n",
        ),
        ("packages/ui/package.json", "{\"name\": \"ui\"}\n"),
        (
            "package.json",
            "{\"private\": true, \"workspaces\": [\"apps/*\", \"packages/*\"]}\n",
        ),
        ("package-lock.json", "{}\n"),
    ] {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

#[test]
fn proposes_prints_and_writes_only_when_asked() {
    let dir = repo();
    let out = shiplane()
        .current_dir(dir.path())
        .arg("init")
        .output()
        .unwrap();
    common::assert_exit(&out, 0);
    let yaml = String::from_utf8(out.stdout).unwrap();
    assert!(
        yaml.contains("  api:") && yaml.contains("port: 8000"),
        "{yaml}"
    );
    assert!(
        yaml.contains("  web:") && yaml.contains("port: 3000"),
        "{yaml}"
    );
    assert!(yaml.contains("depends_on: [ui]"), "{yaml}");
    assert!(
        !dir.path().join("shiplane.yaml").exists(),
        "printing must not write"
    );

    let out = shiplane()
        .current_dir(dir.path())
        .args(["init", "--write"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("shiplane.yaml")).unwrap(),
        yaml
    );

    // The written proposal passes check.
    let out = shiplane()
        .current_dir(dir.path())
        .arg("check")
        .output()
        .unwrap();
    common::assert_exit(&out, 0);
}

#[test]
fn never_overwrites_without_force() {
    let dir = repo();
    std::fs::write(dir.path().join("shiplane.yaml"), "# mine\n").unwrap();
    let out = shiplane()
        .current_dir(dir.path())
        .args(["init", "--write"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr).unwrap().contains("--force"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("shiplane.yaml")).unwrap(),
        "# mine\n"
    );

    let out = shiplane()
        .current_dir(dir.path())
        .args(["init", "--write", "--force"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        std::fs::read_to_string(dir.path().join("shiplane.yaml"))
            .unwrap()
            .contains("version: 1")
    );
}

#[test]
fn force_requires_write() {
    let dir = repo();
    let out = shiplane()
        .current_dir(dir.path())
        .args(["init", "--force"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
