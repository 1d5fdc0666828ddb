#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]
//! The CI setup the docs tell people to copy must be valid for the engine it targets.

use std::path::Path;

#[test]
fn the_documented_github_workflow_validates_against_the_official_schema() {
    // A copy kept in the repository (provenance and licence in testdata/schemas/README.md), so
    // a fresh clone needs nothing beside it.
    let schema_path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/schemas/github/github-workflow.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&schema_path).unwrap()).unwrap();
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/ci/github-actions.yml"),
    )
    .unwrap();
    let doc = shiplane_intent::node::read(&text, shiplane_intent::node::Limits::default())
        .unwrap()
        .to_json();
    // The README's copy is the same workflow, so what users paste is what is validated.
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    assert!(
        readme.contains(&format!("```yaml\n{text}```")),
        "README.md's workflow differs from docs/ci/github-actions.yml"
    );
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // And a broken one does not pass: the check can fail.
    let mut broken = doc.clone();
    broken["jobs"]["build"]["runs-on"] = serde_json::json!(42);
    broken["jobs"]["build"]["strategy"] = serde_json::json!("matrix");
    assert!(!validator.is_valid(&broken));
}
