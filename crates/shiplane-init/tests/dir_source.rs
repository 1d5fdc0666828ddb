//! The filesystem source end to end: a real directory scanned, proposed, rendered and written.

use std::fs;
use std::path::Path;

use shiplane_init::{DirSource, FileSource, InitError, propose, render_yaml, write_intent};

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    let folder = path.parent().expect("a file path has a parent");
    fs::create_dir_all(folder).expect("create the fixture folder");
    fs::write(path, text).expect("write the fixture file");
}

#[test]
fn scans_a_real_directory_and_writes_the_intent() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "package.json",
        r#"{"workspaces":["apps/*","packages/*"]}"#,
    );
    write(root, "pnpm-lock.yaml", "");
    write(
        root,
        "apps/web/package.json",
        r#"{"name":"web","dependencies":{"ui":"*"}}"#,
    );
    write(root, "apps/web/Dockerfile", "FROM node\nEXPOSE 3000\n");
    write(root, "packages/ui/package.json", r#"{"name":"ui"}"#);
    // Never entered: dependencies, VCS data, build output, hidden folders.
    write(root, "node_modules/x/Dockerfile", "FROM x\n");
    write(root, ".git/Dockerfile", "FROM x\n");
    write(root, "apps/web/dist/Dockerfile", "FROM x\n");
    write(root, ".devcontainer/Dockerfile", "FROM x\n");
    // Listed but never read: too large.
    write(root, "big.txt", &"x".repeat(1024 * 1024 + 1));

    let source = DirSource::new(root).unwrap();
    assert!(!source.truncated());
    assert_eq!(
        source.list(),
        [
            "apps/web/Dockerfile",
            "apps/web/package.json",
            "big.txt",
            "package.json",
            "packages/ui/package.json",
            "pnpm-lock.yaml",
        ]
    );
    assert_eq!(source.read("big.txt"), None);
    assert_eq!(source.read("../etc/passwd"), None);
    assert_eq!(
        source.read("apps/web/Dockerfile").as_deref(),
        Some("FROM node\nEXPOSE 3000\n")
    );

    let name = "demo";
    let proposal = propose(&source, name);
    assert_eq!(proposal.services.len(), 1);
    assert_eq!(proposal.services[0].name, "web");
    assert_eq!(proposal.services[0].depends_on, ["ui"]);
    let yaml = render_yaml(&proposal);
    let loaded = shiplane_intent::load_str(&yaml);
    assert!(loaded.is_valid(), "{yaml}\n{:#?}", loaded.diagnostics);

    let written = write_intent(root, &yaml, false).unwrap();
    assert_eq!(fs::read_to_string(&written).unwrap(), yaml);
    assert!(matches!(
        write_intent(root, &yaml, false),
        Err(InitError::AlreadyExists { .. })
    ));

    // The written intent is not itself mistaken for anything on a second scan.
    let again = render_yaml(&propose(&DirSource::new(root).unwrap(), name));
    assert_eq!(again, yaml);
}

#[test]
fn missing_directory_is_an_error() {
    assert!(DirSource::new("/nonexistent/shiplane-init-test").is_err());
}
