//! The pipeline emitters' output validated against the CI engines' published schemas
//! (copies in `tests/schemas/`, see its README for provenance): Buildkite's pipeline JSON Schema and Tekton's
//! `PipelineRun` and `Pipeline` CRDs.

#![expect(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};
use shiplane_plan::{
    Base, BuildSpec, EmitOptions, EntryMode, Oid, PlanSpec, ServiceSpec, TreeListing, build_jobs,
    buildkite, github_matrix, plan, tekton,
};

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// The copies of the engines' schemas kept with these tests (provenance and licences in
/// `tests/schemas/README.md`), so a fresh clone needs nothing beside the repository.
fn schema_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/schemas")
        .join(relative)
}

fn yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("invalid YAML: {e}\n{text}"))
}

fn spec() -> PlanSpec {
    let service = |name: &str, image: Option<&str>| ServiceSpec {
        paths: vec![format!("services/{name}/**")],
        intent_hash: "h".to_owned(),
        build: BuildSpec {
            context: format!("services/{name}"),
            dockerfile: format!("services/{name}/Dockerfile"),
            image: image.map(str::to_owned),
            tag: "sha-{commit.short}".to_owned(),
        },
        ..ServiceSpec::default()
    };
    PlanSpec {
        services: BTreeMap::from([
            (
                "api".to_owned(),
                service("api", Some("registry.example.com/x/api")),
            ),
            ("web".to_owned(), service("web", None)),
            (
                "worker".to_owned(),
                service("worker", Some("registry.example.com/x/worker")),
            ),
        ]),
        ..PlanSpec::default()
    }
}

fn listing(files: &[(&str, u8)]) -> TreeListing {
    files
        .iter()
        .map(|(p, n)| (*p, Oid([*n; 20]), EntryMode::File))
        .collect()
}

/// (jobs for two affected services, jobs for an empty plan)
fn jobs() -> (Vec<shiplane_plan::BuildJob>, Vec<shiplane_plan::BuildJob>) {
    let spec = spec();
    let base = listing(&[
        ("services/api/a", 1),
        ("services/web/w", 1),
        ("services/worker/k", 1),
    ]);
    let head = listing(&[
        ("services/api/a", 2),
        ("services/web/w", 2),
        ("services/worker/k", 1),
    ]);
    let some = plan(
        &spec,
        &head,
        Some(Base {
            listing: &base,
            spec: None,
        }),
        None,
    )
    .unwrap();
    let none = plan(
        &spec,
        &base,
        Some(Base {
            listing: &base,
            spec: None,
        }),
        None,
    )
    .unwrap();
    (
        build_jobs(&some, &spec, COMMIT).unwrap(),
        build_jobs(&none, &spec, COMMIT).unwrap(),
    )
}

#[test]
fn github_matrix_shape() {
    let (some, none) = jobs();
    let m = github_matrix(&some);
    assert_eq!(m["include"].as_array().unwrap().len(), 2);
    assert_eq!(
        m["include"][0],
        json!({
            "service": "api",
            "context": "services/api",
            "dockerfile": "services/api/Dockerfile",
            "image": "registry.example.com/x/api",
            "tag": "sha-0123456",
            "fingerprint": some[0].fingerprint.to_hex(),
        })
    );
    // No registry configured: the image is the bare service name.
    assert_eq!(m["include"][1]["image"], "web");
    assert_eq!(github_matrix(&none), json!({ "include": [] }));
    // Keys in a fixed order, so the output bytes are stable.
    assert!(
        serde_json::to_string(&m)
            .unwrap()
            .starts_with(r#"{"include":[{"service":"api","context""#)
    );
}

#[test]
fn buildkite_pipeline_is_valid() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(schema_path("buildkite/pipeline-schema.json"))
            .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let (some, none) = jobs();
    let mut options = EmitOptions::new(COMMIT);
    for (jobs, lane) in [(&some, None), (&some, Some("dev")), (&none, None)] {
        options.promote_lane = lane.map(str::to_owned);
        let text = buildkite(jobs, &options);
        let doc = yaml(&text);
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}\n{text}");
        assert_eq!(text, buildkite(jobs, &options), "deterministic");
    }
    let doc = yaml(&buildkite(&some, &options));
    let steps = doc["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3);
    assert_eq!(steps[0]["key"], "build-api");
    assert_eq!(steps[0]["env"]["SHIPLANE_TAG"], "sha-0123456");
    // `$$` survives upload-time interpolation as a runtime `$`.
    assert!(
        steps[0]["command"][0]
            .as_str()
            .unwrap()
            .contains("$$SHIPLANE_IMAGE")
    );
    assert_eq!(steps[2]["depends_on"], json!(["build-api", "build-web"]));
    let empty = yaml(&buildkite(&none, &options));
    assert_eq!(empty["steps"].as_array().unwrap().len(), 1);
}

/// Kubernetes pruning and `nullable` expressed in JSON Schema; see [`crd_schema`].
fn convert(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.get("nullable") == Some(&Value::Bool(true))
                && let Some(Value::String(t)) = map.get("type").cloned()
            {
                map.insert("type".to_owned(), json!([t, "null"]));
            }
            let preserves =
                map.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
            if map.contains_key("properties")
                && !preserves
                && !map.contains_key("additionalProperties")
            {
                map.insert("additionalProperties".to_owned(), Value::Bool(false));
            }
            map.values_mut().for_each(convert);
        }
        Value::Array(items) => items.iter_mut().for_each(convert),
        _ => {}
    }
}

/// Extracts `spec.versions[name=v1].schema.openAPIV3Schema` from a CRD and makes it a JSON
/// Schema that rejects what Kubernetes would prune: every object schema that lists
/// `properties` and does not preserve unknown fields gets `additionalProperties: false`.
/// `nullable: true` becomes a `null` alternative of the type.
fn crd_schema(file: &str) -> Value {
    let crd =
        yaml(&std::fs::read_to_string(schema_path(&format!("tekton/{file}"))).unwrap());
    let version = crd["spec"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "v1")
        .expect("CRD has a v1 version");
    let mut schema = version["schema"]["openAPIV3Schema"].clone();
    convert(&mut schema);
    schema
}

#[test]
fn tekton_pipelinerun_is_valid() {
    let run_schema = crd_schema("300-pipelinerun.yaml");
    let pipeline_schema = crd_schema("300-pipeline.yaml");
    let run_validator = jsonschema::validator_for(&run_schema).unwrap();
    let spec_validator = jsonschema::validator_for(&pipeline_schema["properties"]["spec"]).unwrap();
    let (some, none) = jobs();
    let mut options = EmitOptions::new(COMMIT);
    options.promote_lane = Some("dev".to_owned());
    for jobs in [&some, &none] {
        let text = tekton(jobs, &options);
        let doc = yaml(&text);
        let errors: Vec<String> = run_validator
            .iter_errors(&doc)
            .chain(spec_validator.iter_errors(&doc["spec"]["pipelineSpec"]))
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}\n{text}");
        assert_eq!(doc["apiVersion"], "tekton.dev/v1");
        assert_eq!(doc["kind"], "PipelineRun");
    }
    let doc = yaml(&tekton(&some, &options));
    let tasks = doc["spec"]["pipelineSpec"]["tasks"].as_array().unwrap();
    let names: Vec<&str> = tasks.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["checkout", "build-api", "build-web", "promote"]);
    assert_eq!(tasks[3]["runAfter"], json!(["build-api", "build-web"]));
    assert_eq!(
        tasks[3]["taskSpec"]["steps"][0]["args"],
        json!(["promote", "dev", "--commit", COMMIT])
    );
}

#[test]
fn schema_check_catches_a_typo() {
    // Guards the conversion above: a misspelled field must fail, or the Tekton test proves nothing.
    let validator = jsonschema::validator_for(&crd_schema("300-pipelinerun.yaml")).unwrap();
    let (some, _) = jobs();
    let mut doc = yaml(&tekton(&some, &EmitOptions::new(COMMIT)));
    doc["spec"]["pipelineSpec"]["tasks"][1]["runafter"] = json!(["checkout"]);
    let spec_validator =
        jsonschema::validator_for(&crd_schema("300-pipeline.yaml")["properties"]["spec"]).unwrap();
    assert!(validator.is_valid(&doc));
    assert!(!spec_validator.is_valid(&doc["spec"]["pipelineSpec"]));
}

#[test]
#[ignore = "prints the documents for eyeballing: cargo test -- --ignored --nocapture"]
fn print_documents() {
    let (some, _) = jobs();
    let options = EmitOptions::new(COMMIT);
    println!(
        "{}\n---\n{}",
        buildkite(&some, &options),
        tekton(&some, &options)
    );
}
