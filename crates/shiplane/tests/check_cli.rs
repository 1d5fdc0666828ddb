#![allow(
    clippy::unwrap_used,
    clippy::format_push_string,
    clippy::type_complexity,
    reason = "tests: a panic is the failure report"
)]
//! `shiplane check` as a user runs it: the real binary, real files, exact output.

mod common;

use std::path::{Path, PathBuf};

use common::shiplane;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

/// Runs `check --json` and returns (exit code, [(severity, code, line)]).
fn check_json(path: &Path) -> (i32, Vec<(String, String, u64)>) {
    let out = shiplane()
        .arg("check")
        .arg("--intent")
        .arg(path)
        .arg("--json")
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let diags = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["severity"].as_str().unwrap().to_owned(),
                d["code"].as_str().unwrap().to_owned(),
                d["line"].as_u64().unwrap(),
            )
        })
        .collect();
    (out.status.code().unwrap(), diags)
}

#[test]
fn examples_pass() {
    for name in ["miker.yaml", "agentrun.json"] {
        let out = shiplane()
            .arg("check")
            .arg("--intent")
            .arg(example(name))
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(stdout.contains(": valid"), "{stdout}");
    }
}

/// The newcomer's tour of SPEC §4: each broken file reports exactly its one problem, at its line.
#[test]
fn each_problem_is_named_at_its_own_line() {
    let cases = [
        ("valid.yaml", None),
        ("misspelt-key.yaml", Some(("unknown-key", 13))),
        ("literal-password.yaml", Some(("literal-secret", 11))),
        ("dependency-cycle.yaml", Some(("dependency-cycle", 9))),
        ("uppercase-namespace.yaml", Some(("invalid-name", 16))),
        ("port-out-of-range.yaml", Some(("invalid-port", 10))),
        ("health-path.yaml", Some(("invalid-health-path", 11))),
        ("image-digest.yaml", Some(("forbidden-key", 12))),
    ];
    for (file, expected) in cases {
        let (code, diags) = check_json(&fixture(file));
        match expected {
            None => {
                assert_eq!(code, 0, "{file}: {diags:?}");
                assert!(diags.is_empty(), "{file}: {diags:?}");
            }
            Some((rule, line)) => {
                assert_eq!(code, 2, "{file}");
                assert_eq!(
                    diags,
                    vec![("error".to_owned(), rule.to_owned(), line)],
                    "{file}"
                );
            }
        }
    }
}

#[test]
fn all_problems_in_one_run_plain() {
    let out = shiplane()
        .current_dir(fixture(""))
        .args(["check", "--intent", "all-problems.yaml", "--color", "never"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    insta::assert_snapshot!("all_problems_plain", String::from_utf8(out.stderr).unwrap());
}

#[test]
fn all_problems_in_one_run_coloured() {
    let out = shiplane()
        .current_dir(fixture(""))
        .args([
            "check",
            "--intent",
            "all-problems.yaml",
            "--color",
            "always",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("\u{1b}["), "colour was asked for");
    insta::assert_snapshot!("all_problems_coloured", stderr.replace('\u{1b}', "<ESC>"));
}

#[test]
fn no_colour_when_not_a_terminal() {
    let out = shiplane()
        .current_dir(fixture(""))
        .args(["check", "--intent", "all-problems.yaml"])
        .output()
        .unwrap();
    assert!(!String::from_utf8(out.stderr).unwrap().contains('\u{1b}'));
}

#[test]
fn json_diagnostics_have_every_field() {
    let out = shiplane()
        .current_dir(fixture(""))
        .args(["check", "--intent", "misspelt-key.yaml", "--json"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    insta::assert_json_snapshot!("misspelt_key_json", doc);
}

#[test]
fn show_effective_prints_the_resolved_model() {
    let out = shiplane()
        .arg("check")
        .arg("--intent")
        .arg(example("miker.yaml"))
        .args(["--show-effective", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["effective"]["lanes"]["prod"]["gitops"]["path"],
        "lanes/prod"
    );
    assert_eq!(
        doc["effective"]["lanes"]["staging"]["gitops"]["repo"],
        "https://github.com/example/ops-bootstrap.git"
    );
    assert_eq!(
        doc["effective"]["services"]["backend-app"]["run"]["resources"]["memory"],
        "512Mi"
    );
}

#[test]
fn finds_the_intent_from_the_repository_root() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".git")).unwrap();
    std::fs::create_dir_all(dir.path().join("deploy")).unwrap();
    std::fs::create_dir_all(dir.path().join("services/api")).unwrap();
    std::fs::copy(
        fixture("valid.yaml"),
        dir.path().join("deploy/shiplane.yaml"),
    )
    .unwrap();
    let out = shiplane()
        .current_dir(dir.path().join("services/api"))
        .arg("check")
        .output()
        .unwrap();
    common::assert_exit(&out, 0);
}

#[test]
fn missing_intent_says_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".git")).unwrap();
    let out = shiplane()
        .current_dir(dir.path())
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("no intent file found"), "{err}");
    assert!(err.contains("shiplane init"), "{err}");
}

#[test]
fn huge_file_is_refused_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shiplane.yaml");
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(100 * 1024 * 1024).unwrap(); // sparse: 100 MB
    let out = shiplane()
        .arg("check")
        .arg("--intent")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("limited to")
    );
}

#[test]
fn alias_bomb_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shiplane.yaml");
    let s = common::alias_bomb();
    std::fs::write(&path, s).unwrap();
    let out = shiplane()
        .arg("check")
        .arg("--intent")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("alias bomb")
    );
}

#[test]
fn schema_is_a_valid_json_schema_that_accepts_the_examples() {
    let out = shiplane().arg("schema").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let v = jsonschema::validator_for(&schema).unwrap();
    let agentrun: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(example("agentrun.json")).unwrap()).unwrap();
    assert!(v.is_valid(&agentrun));
    assert!(!v.is_valid(
        &serde_json::json!({"version": 1, "project": "p", "services": {"a": {"paths": "x"}}})
    ));
}

/// Writes `text` as `shiplane.yaml` in a fresh directory and runs `check` on it (text output).
fn check_text(text: &str, extra: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shiplane.yaml");
    std::fs::write(&path, text).unwrap();
    shiplane()
        .arg("check")
        .arg("--intent")
        .arg(&path)
        .args(extra)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

const TOKEN_IN_GITOPS_ADDRESS: &str = "version: 1
project: shop
defaults:
  registry: registry.example.com/shop
  gitops:
    repo: \"https://deploy:glpat-s3cr3tvalue@git.example.com/ops.git\"
services:
  api: { paths: [\"services/api/**\"] }
lanes:
  dev: {}
";

#[test]
fn a_token_in_the_gitops_address_is_refused_at_its_line_and_never_printed() {
    let out = check_text(TOKEN_IN_GITOPS_ADDRESS, &[]);
    common::assert_exit(&out, 2);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("error[credential-in-address]"), "{stderr}");
    assert!(stderr.contains("shiplane.yaml:6:11"), "{stderr}");
    assert!(stderr.contains("SHIPLANE_GIT_TOKEN"), "{stderr}");
    assert!(stderr.contains("git credential helper"), "{stderr}");
    assert!(
        !stderr.contains("s3cr3t"),
        "the token was printed:\n{stderr}"
    );
    assert!(!String::from_utf8(out.stdout).unwrap().contains("s3cr3t"));

    // --show-effective prints the model even of an invalid intent: without the credential.
    for extra in [&["--show-effective"][..], &["--show-effective", "--json"]] {
        let out = check_text(TOKEN_IN_GITOPS_ADDRESS, extra);
        common::assert_exit(&out, 2);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains("s3cr3t"), "the token was printed:\n{all}");
        assert!(all.contains("https://git.example.com/ops.git"), "{all}");
    }
}

#[test]
fn a_gitops_path_onto_another_lane_or_shiplane_data_is_refused_at_its_line() {
    let text = "version: 1
project: shop
defaults:
  gitops: { repo: /srv/gitops.git }
services:
  api: { paths: [\"services/api/**\"] }
lanes:
  dev:
    gitops: { path: lanes/staging }
  staging:
    approvals: 2
  qa:
    gitops: { path: artifacts/api.json }
  hooks:
    gitops: { path: .git/hooks }
";
    let out = check_text(text, &["--json"]);
    common::assert_exit(&out, 2);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let got: Vec<(String, u64)> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_owned(),
                d["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("gitops-path-overlap".to_owned(), 9),
            ("gitops-path-overlap".to_owned(), 13),
            ("invalid-gitops-path".to_owned(), 15),
        ]
    );
}
