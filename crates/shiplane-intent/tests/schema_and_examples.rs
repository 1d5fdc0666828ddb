#![allow(
    clippy::unwrap_used,
    clippy::format_push_string,
    clippy::type_complexity,
    reason = "tests: a panic is the failure report"
)]
//! The shipped examples, the generated JSON Schema, and robustness against arbitrary input.

use std::path::PathBuf;

use proptest::prelude::*;
use shiplane_intent::{intent_schema, load_str};

fn example(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn examples_are_valid_without_warnings() {
    for name in ["miker.yaml", "agentrun.json"] {
        let loaded = load_str(&example(name));
        assert!(loaded.is_valid(), "{name}: {:#?}", loaded.diagnostics);
        assert!(
            loaded.diagnostics.is_empty(),
            "{name}: {:#?}",
            loaded.diagnostics
        );
    }
}

#[test]
fn effective_model_resolves_inheritance() {
    let loaded = load_str(&example("miker.yaml"));
    let eff = loaded.effective.unwrap();
    let staging = &eff.lanes["staging"];
    assert_eq!(
        staging.gitops.repo.as_deref(),
        Some("https://github.com/example/ops-bootstrap.git")
    );
    assert_eq!(staging.gitops.branch, "main");
    assert_eq!(staging.gitops.path, "lanes/staging");
    assert_eq!(
        staging.registry.as_deref(),
        Some("registry.example.com/dev")
    );
    assert_eq!(
        eff.lanes["prod"].registry.as_deref(),
        Some("registry.example.com/prod")
    );
    assert_eq!(eff.lanes["preview"].namespace, "miker-{name}");
    let saas = &eff.services["backend-saas"];
    assert_eq!(
        saas.run.security.writable.as_deref(),
        Some(&["/tmp".to_owned(), "/logs".to_owned()][..])
    );
    assert_eq!(saas.run.replicas, 1);
    assert_eq!(saas.build.dockerfile, "services/backend-saas/Dockerfile");
    assert_eq!(saas.libraries, vec!["proto".to_owned()]);
    let agentrun = load_str(&example("agentrun.json")).effective.unwrap();
    let lane = &agentrun.lanes["v0.1"];
    assert_eq!(lane.argocd.application, "agentrun-g14-v01");
    assert_eq!(agentrun.artifact_index.unwrap().branch, "v0.1-gitops");
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&intent_schema())
        .expect("the generated schema is a valid JSON Schema")
}

fn yaml_to_json(src: &str) -> serde_json::Value {
    shiplane_intent::node::read(src, shiplane_intent::node::Limits::default())
        .unwrap()
        .to_json()
}

#[test]
fn examples_validate_against_the_schema() {
    let v = validator();
    for name in ["miker.yaml", "agentrun.json"] {
        let doc = yaml_to_json(&example(name));
        let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
    }
}

#[test]
fn a_wrong_file_does_not_validate_against_the_schema() {
    let v = validator();
    let doc = yaml_to_json(
        "version: 1\nproject: p\nservices:\n  a:\n    paths: x\n    colour: red\n    run: { port: 70000 }\n",
    );
    let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.len() >= 3, "{errors:#?}");
}

#[test]
fn alias_bomb_is_refused_quickly() {
    let mut s = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let p = i - 1;
        s.push_str(&format!(
            "a{i}: &a{i} [*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p}]\n"
        ));
    }
    let loaded = load_str(&s);
    assert_eq!(loaded.diagnostics.len(), 1);
    assert_eq!(loaded.diagnostics[0].code, "document-too-large");
}

fn mutate(src: &str, ops: &[(usize, u8)]) -> String {
    let mut bytes = src.as_bytes().to_vec();
    for &(pos, b) in ops {
        if bytes.is_empty() {
            break;
        }
        let i = pos % bytes.len();
        match b % 4 {
            0 => bytes[i] = b" :-[]{}&*!|>'\"#\n\tab1"[usize::from(b) % 20],
            1 => {
                bytes.remove(i);
            }
            2 => bytes.insert(i, b"{[:- \n"[usize::from(b) % 6]),
            _ => {
                let end = (i + usize::from(b)).min(bytes.len());
                let chunk = bytes[i..end].to_vec();
                bytes.splice(i..i, chunk);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, timeout: 10_000, ..ProptestConfig::default() })]

    /// Mutated examples never panic, always finish, and an invalid result always says why.
    #[test]
    fn mutated_examples_never_panic(ops in prop::collection::vec((any::<usize>(), any::<u8>()), 1..12), which in 0..2usize) {
        let base = example(if which == 0 { "miker.yaml" } else { "agentrun.json" });
        let src = mutate(&base, &ops);
        let loaded = load_str(&src);
        prop_assert!(loaded.is_valid() || !loaded.diagnostics.is_empty());
        for d in &loaded.diagnostics {
            if let Some(span) = d.span {
                prop_assert!(span.start.line >= 1 || span.start.line == 0);
            }
        }
    }

    /// Arbitrary text never panics.
    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,400}") {
        let loaded = load_str(&src);
        prop_assert!(loaded.is_valid() || !loaded.diagnostics.is_empty());
    }
}

#[test]
fn deep_nesting_is_refused_quickly() {
    let s = format!("a: {}{}", "[".repeat(10_000), "]".repeat(10_000));
    let loaded = load_str(&s);
    assert_eq!(loaded.diagnostics[0].code, "nesting-too-deep");
}
