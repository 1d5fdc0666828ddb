#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]
//! A fresh clone passes its own tests: nothing in the repository may reach for the folder some
//! developers keep beside it (`../shared`), which a user's clone does not have. The schemas the
//! tests validate against live in `testdata/` with their licence notes.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "target" || name == "node_modules" {
            continue;
        }
        if path.is_dir() {
            walk(&path, out);
        } else if ["rs", "md", "sh", "py", "toml", "yml", "yaml"]
            .iter()
            .any(|e| name.ends_with(&format!(".{e}")))
        {
            out.push(path);
        }
    }
}

#[test]
fn no_test_help_or_doc_reads_the_shared_folder_beside_the_repository() {
    let mut files = Vec::new();
    for dir in ["crates", "docs", "scripts", "bench", "examples"] {
        walk(&root().join(dir), &mut files);
    }
    walk_top(&mut files);
    let me = Path::new(file!()).file_name().unwrap().to_owned();
    // Spelled in pieces so this file does not match itself.
    let needles = [
        format!("../{}/", "shared"),
        format!("SHIPLANE_{}_DIR", "SHARED"),
    ];
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| f.file_name() != Some(me.as_os_str()))
        .filter_map(|f| {
            let text = std::fs::read_to_string(f).ok()?;
            needles
                .iter()
                .any(|n| text.contains(n.as_str()))
                .then(|| f.display().to_string())
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "these reach outside the repository: {offenders:#?}"
    );
}

fn walk_top(out: &mut Vec<PathBuf>) {
    for name in [
        "README.md",
        "ARCHITECTURE.md",
        "CONTRIBUTING.md",
        "Cargo.toml",
    ] {
        out.push(root().join(name));
    }
}

#[test]
fn the_schemas_the_tests_validate_against_are_in_the_repository_with_their_licence_notes() {
    let schemas = root().join("testdata/schemas");
    let readme = std::fs::read_to_string(schemas.join("README.md")).unwrap();
    for file in [
        "argo-cd/application-crd.yaml",
        "argo-cd/appproject-crd.yaml",
        "argo-cd/applicationset-crd.yaml",
        "argo-rollouts/rollout-crd.yaml",
        "buildkite/pipeline-schema.json",
        "github/github-workflow.json",
        "kustomize/kustomization.json",
        "tekton/300-pipeline.yaml",
        "tekton/300-pipelinerun.yaml",
    ] {
        assert!(schemas.join(file).is_file(), "{file} missing");
        assert!(
            readme.contains(&format!("`{file}`")),
            "{file} has no provenance line"
        );
    }
    assert!(readme.contains("Apache-2.0") && readme.contains("MIT"));
}
