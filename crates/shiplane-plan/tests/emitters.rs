//! The pipeline emitters' output validated against the CI engines' published schemas
//! (copies in the repository's `testdata/schemas/`, see its README for provenance): Buildkite's pipeline JSON Schema and Tekton's
//! `PipelineRun` and `Pipeline` CRDs.

#![expect(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};
use shiplane_plan::{
    Base, BuildSpec, EmitOptions, EntryMode, Oid, PlanSpec, REPO_URL_UNSET, ServiceSpec,
    TreeListing, build_jobs, buildkite, github_matrix, plan, tekton,
};

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// The copies of the engines' schemas kept with these tests (provenance and licences in
/// `testdata/schemas/README.md`), so a fresh clone needs nothing beside the repository.
fn schema_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/schemas")
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
            ..BuildSpec::default()
        },
        ..ServiceSpec::default()
    };
    let mut api = service("api", Some("registry.example.com/x/api"));
    // A target and build arguments change the fingerprint, so every emitter must pass them on;
    // the values carry what a shell or an interpolating CI would otherwise mangle.
    api.build.target = Some("runtime".to_owned());
    api.build.args = BTreeMap::from([
        ("PYTHON_VERSION".to_owned(), "3.13".to_owned()),
        ("GREETING".to_owned(), "hello $USER \"world\"".to_owned()),
    ]);
    PlanSpec {
        services: BTreeMap::from([
            ("api".to_owned(), api),
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
            "target": "runtime",
            "build_args": "GREETING=hello $USER \"world\"\nPYTHON_VERSION=3.13",
            "image": "registry.example.com/x/api",
            "tag": "sha-0123456",
            "fingerprint": some[0].fingerprint.to_hex(),
        })
    );
    // No registry configured: the image is the bare service name.
    assert_eq!(m["include"][1]["image"], "web");
    // No target and no arguments: empty values, which docker/build-push-action treats as unset.
    assert_eq!(m["include"][1]["target"], "");
    assert_eq!(m["include"][1]["build_args"], "");
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
        &std::fs::read_to_string(schema_path("buildkite/pipeline-schema.json")).unwrap(),
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
    options.promote_lane = Some("dev".to_owned());
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
    assert_eq!(steps[2]["key"], "shiplane-promote");
    assert_eq!(
        steps[2]["command"],
        format!("shiplane promote dev --commit {COMMIT}")
    );
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
    let crd = yaml(&std::fs::read_to_string(schema_path(&format!("tekton/{file}"))).unwrap());
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
    options.repo_url = Some("https://git.example.com/shop/monorepo.git".to_owned());
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

/// What the shell of a Buildkite step sees once `pipeline upload` has interpolated: `$$`
/// becomes `$`, and the step's `env` values are set verbatim after that.
fn after_upload(text: &str) -> String {
    text.replace("$$", "$")
}

#[test]
fn every_build_argument_and_the_target_reach_every_emitted_build() {
    let (some, _) = jobs();
    let api = &some[0];
    assert_eq!(api.service, "api");
    assert_eq!(api.args.len(), 2);
    let options = EmitOptions::new(COMMIT);

    // GitHub: the matrix row has them in build-push-action's shapes.
    let row = &github_matrix(&some)["include"][0];
    let lines: Vec<&str> = row["build_args"].as_str().unwrap().lines().collect();
    for (name, value) in &api.args {
        assert!(
            lines.contains(&format!("{name}={value}").as_str()),
            "{name}"
        );
    }
    assert_eq!(row["target"], "runtime");

    // Buildkite: each argument is a `--build-arg "$VAR"` whose variable holds NAME=VALUE.
    let doc = yaml(&buildkite(&some, &options));
    let step = &doc["steps"][0];
    let build = after_upload(step["command"][0].as_str().unwrap());
    assert!(build.contains("--target \"$SHIPLANE_TARGET\""), "{build}");
    assert_eq!(
        after_upload(step["env"]["SHIPLANE_TARGET"].as_str().unwrap()),
        "runtime"
    );
    for (name, value) in &api.args {
        let (var, _) = step["env"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(_, v)| after_upload(v.as_str().unwrap()) == format!("{name}={value}"))
            .unwrap_or_else(|| panic!("no variable carries {name}"));
        assert!(
            build.contains(&format!("--build-arg \"${var}\"")),
            "{build}"
        );
    }
    // A service without them gets neither flag.
    let web = doc["steps"][1]["command"][0].as_str().unwrap();
    assert!(
        !web.contains("--target") && !web.contains("--build-arg"),
        "{web}"
    );

    // Tekton: Kaniko gets one argument per build argument, and the target.
    let doc = yaml(&tekton(&some, &options));
    let kaniko = &doc["spec"]["pipelineSpec"]["tasks"][1]["taskSpec"]["steps"][0]["args"];
    let kaniko: Vec<&str> = kaniko
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(kaniko.contains(&"--target=runtime"), "{kaniko:?}");
    for (name, value) in &api.args {
        assert!(
            kaniko.contains(&format!("--build-arg={name}={value}").as_str()),
            "{kaniko:?}"
        );
    }
}

#[test]
fn the_tekton_run_gives_every_pipeline_parameter_without_a_default_a_value() {
    let (some, none) = jobs();
    let mut with_url = EmitOptions::new(COMMIT);
    with_url.repo_url = Some("https://git.example.com/shop/monorepo.git".to_owned());
    for (jobs, options) in [
        (&some, &with_url),
        (&some, &EmitOptions::new(COMMIT)),
        (&none, &EmitOptions::new(COMMIT)),
    ] {
        let doc = yaml(&tekton(jobs, options));
        let given: BTreeMap<&str, &Value> = doc["spec"]["params"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["name"].as_str().unwrap(), &p["value"]))
            .collect();
        let pipeline = &doc["spec"]["pipelineSpec"];
        for param in pipeline["params"].as_array().unwrap() {
            let name = param["name"].as_str().unwrap();
            if param.get("default").is_none() {
                let value = given
                    .get(name)
                    .unwrap_or_else(|| panic!("no value for `{name}`"));
                assert!(
                    value.as_str().is_some_and(|v| !v.is_empty()),
                    "`{name}` is empty"
                );
            }
        }
        // And every parameter a task uses is one the pipeline declares.
        let declared: Vec<&str> = pipeline["params"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        for task in pipeline["tasks"].as_array().unwrap() {
            for p in task["params"].as_array().into_iter().flatten() {
                let value = p["value"].as_str().unwrap();
                if let Some(name) = value
                    .strip_prefix("$(params.")
                    .and_then(|v| v.strip_suffix(')'))
                {
                    assert!(declared.contains(&name), "task uses undeclared `{name}`");
                }
            }
        }
    }
    let doc = yaml(&tekton(&some, &with_url));
    assert_eq!(
        doc["spec"]["params"][0]["value"],
        "https://git.example.com/shop/monorepo.git"
    );
    assert_eq!(doc["spec"]["params"][1]["value"], COMMIT);
    // Without a URL the value is the placeholder, and the checkout refuses it by name.
    let doc = yaml(&tekton(&some, &EmitOptions::new(COMMIT)));
    assert_eq!(doc["spec"]["params"][0]["value"], REPO_URL_UNSET);
    let script = doc["spec"]["pipelineSpec"]["tasks"][0]["taskSpec"]["steps"][0]["script"]
        .as_str()
        .unwrap();
    assert!(
        script.contains(REPO_URL_UNSET) && script.contains("--repo-url"),
        "{script}"
    );
}

#[test]
fn the_final_step_is_named_for_what_it_does() {
    let (some, _) = jobs();
    let mut options = EmitOptions::new(COMMIT);
    // Without a lane nothing is promoted: the step reports status and is not called "promote".
    let bk = yaml(&buildkite(&some, &options));
    let last = &bk["steps"][2];
    assert_eq!(last["key"], "shiplane-status");
    assert_eq!(last["command"], "shiplane status");
    assert!(!last["label"].as_str().unwrap().contains("promote"));
    let tk = yaml(&tekton(&some, &options));
    let last = &tk["spec"]["pipelineSpec"]["tasks"][3];
    assert_eq!(last["name"], "status");
    assert_eq!(last["taskSpec"]["steps"][0]["args"], json!(["status"]));
    // With a lane it promotes, and says where.
    options.promote_lane = Some("staging".to_owned());
    let bk = yaml(&buildkite(&some, &options));
    assert_eq!(bk["steps"][2]["key"], "shiplane-promote");
    assert_eq!(bk["steps"][2]["label"], ":rocket: promote to staging");
    assert_eq!(
        bk["steps"][2]["command"],
        format!("shiplane promote staging --commit {COMMIT}")
    );
    let tk = yaml(&tekton(&some, &options));
    assert_eq!(tk["spec"]["pipelineSpec"]["tasks"][3]["name"], "promote");
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
