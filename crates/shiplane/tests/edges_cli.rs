#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]
//! Robust at the edges: no panic on a closed pipe, one JSON document on stdout with `--json`
//! for every outcome, and exit codes that mean the same thing everywhere.

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};

use shiplane_testkit::GitRepo;

fn shiplane() -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("shiplane"));
    cmd.env_remove("SHIPLANE_INTENT").env("NO_COLOR", "1");
    cmd
}

const VALID: &str = "version: 1\nproject: p\ndefaults: { gitops: { repo: /nonexistent/gitops.git } }\nservices:\n  api: { paths: [\"api/**\"] }\nlanes:\n  dev: {}\n";

#[test]
fn a_closed_pipe_does_not_panic() {
    // `shiplane schema | true`: the reader is gone before the (long) schema is written.
    let mut child = shiplane()
        .arg("schema")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn check_show_effective_keeps_stdout_to_one_json_document() {
    let repo = GitRepo::new();
    repo.write("shiplane.yaml", VALID);
    repo.commit("intent");
    for args in [
        &["check", "--show-effective"][..],
        &["check", "--show-effective", "--json"],
    ] {
        let out = shiplane()
            .current_dir(repo.path())
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}\n{}", String::from_utf8_lossy(&out.stdout)));
        assert!(doc.is_object());
    }
}

#[test]
fn an_invalid_intent_with_json_gives_its_diagnostics_in_the_one_error_document() {
    let repo = GitRepo::new();
    repo.write("shiplane.yaml", &VALID.replace("paths:", "pathz:"));
    repo.commit("intent");
    let out = shiplane()
        .current_dir(repo.path())
        .args(["promote", "dev", "--commit", "HEAD", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["error"]["exit_code"], 2);
    let diagnostics = doc["error"]["details"]["diagnostics"].as_array().unwrap();
    assert!(
        diagnostics
            .iter()
            .any(|d| d["code"] == "unknown-key" && d["line"] == 5),
        "{doc}"
    );
}

#[test]
fn the_binary_prints_only_through_the_pipe_safe_writer() {
    // `println!` panics on a closed pipe; commands print through `outln!` (output.rs).
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offenders = Vec::new();
    let mut todo = vec![src];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else if path.file_name().is_some_and(|n| n != "output.rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (i, line) in text.lines().enumerate() {
                    let code = line.replace("eprintln!", "").replace("eprint!", "");
                    if code.contains("println!(") || code.contains("print!(") {
                        offenders.push(format!("{}:{}", path.display(), i + 1));
                    }
                }
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
}
