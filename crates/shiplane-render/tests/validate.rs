//! Every rendered object checked by a real validator:
//! * `kubectl kustomize` builds every lane directory as written to disk;
//! * `kubernetes-validate --strict` (the Kubernetes 1.30 OpenAPI schemas) accepts every core
//!   Kubernetes object;
//! * the Argo CD `Application` / `AppProject` / `ApplicationSet` and the Argo Rollouts `Rollout`
//!   match the `openAPIV3Schema` of the official CRDs, made strict (unknown fields fail);
//! * `kustomization.yaml` matches the `SchemaStore` kustomization schema.
//!
//! A missing tool is a loud skip on a laptop and a failure when `CI` is set.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const KUBE_VERSION: &str = "1.30.0";

fn kubectl_available() -> bool {
    common::tool_available(
        "kubectl",
        &["version", "--client"],
        "the machine image ships kubectl (kustomize 5.5 inside)",
    )
}

fn kubernetes_validate_available() -> bool {
    common::tool_available(
        "kubernetes-validate",
        &["--version"],
        "pip install kubernetes-validate",
    )
}

/// Runs `kubernetes-validate --strict --quiet` on files; `--quiet` prints only warnings and
/// failures, so any output (like "couldn't find schema") counts as a failure too.
fn kubernetes_validate(files: &[&Path]) -> Result<(), String> {
    let out = Command::new("kubernetes-validate")
        .args(["-k", KUBE_VERSION, "--strict", "--quiet"])
        .args(files)
        .output()
        .expect("run kubernetes-validate");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() && text.trim().is_empty() {
        Ok(())
    } else {
        Err(text)
    }
}

fn yaml_to_json(bytes: &[u8]) -> Value {
    serde_saphyr::from_slice(bytes).expect("YAML parses")
}

fn kind_of(bytes: &[u8]) -> (String, String) {
    let v = yaml_to_json(bytes);
    (
        v["apiVersion"].as_str().unwrap_or_default().to_owned(),
        v["kind"].as_str().unwrap_or_default().to_owned(),
    )
}

fn is_argo(api_version: &str) -> bool {
    api_version.starts_with("argoproj.io/")
}

#[test]
fn kubectl_kustomize_builds_every_lane() {
    if !kubectl_available() {
        return;
    }
    for (label, eff, lane, release) in common::cases() {
        let rendered = common::render(&eff, lane, &release);
        let dir = tempfile::tempdir().unwrap();
        let manifests = dir.path().join("manifests");
        common::write(&manifests, &rendered);
        let out = Command::new("kubectl")
            .arg("kustomize")
            .arg(&manifests)
            .output()
            .expect("run kubectl kustomize");
        assert!(
            out.status.success(),
            "{label}: kubectl kustomize failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let built = String::from_utf8(out.stdout).unwrap();
        let documents = built.split("\n---\n").count();
        let objects = rendered.manifests().count() - 1; // all but kustomization.yaml
        assert_eq!(documents, objects, "{label}: every listed object is built");
        // kustomize put everything namespaced into the lane's namespace.
        let namespace = &eff.lanes[lane].namespace;
        let expected = release
            .instance
            .as_deref()
            .map_or_else(|| namespace.clone(), |i| namespace.replace("{name}", i));
        assert_eq!(
            built.matches(&format!("  namespace: {expected}\n")).count(),
            objects - 1,
            "{label}: all but the Namespace are namespaced into {expected}"
        );
    }
}

#[test]
fn kubernetes_validate_accepts_every_core_object() {
    if !kubernetes_validate_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    let mut kinds = std::collections::BTreeSet::new();
    for (label, eff, lane, release) in common::cases() {
        let rendered = common::render(&eff, lane, &release);
        let root = dir.path().join(label);
        common::write(&root, &rendered);
        for (path, bytes) in rendered.manifests() {
            let (api, kind) = kind_of(bytes);
            if path == "kustomization.yaml" || is_argo(&api) {
                continue;
            }
            kinds.insert(kind);
            files.push(root.join(path));
        }
    }
    // The cases cover every core kind the renderer makes (PDB and HPA are covered below).
    for kind in [
        "Namespace",
        "ServiceAccount",
        "Deployment",
        "Job",
        "Service",
        "Ingress",
        "ConfigMap",
        "NetworkPolicy",
    ] {
        assert!(kinds.contains(kind), "no {kind} rendered: {kinds:?}");
    }
    let refs: Vec<&Path> = files.iter().map(std::path::PathBuf::as_path).collect();
    if let Err(e) = kubernetes_validate(&refs) {
        panic!("kubernetes-validate refused rendered objects:\n{e}");
    }
}

#[test]
fn kubernetes_validate_accepts_autoscaler_pdb_and_cronjob() {
    if !kubernetes_validate_available() {
        return;
    }
    let text = r#"
version: 1
project: shop
services:
  web:
    paths: ["web/**"]
    run:
      replicas: 3
      port: 8080
      health: { path: /healthz, port: 8081 }
      autoscale: { min: 2, max: 6 }
      security: { run_as_user: 10001 }
  report:
    kind: cronjob
    schedule: "*/5 * * * *"
    paths: ["report/**"]
    run: { command: ["/report"], args: ["--all"], env: { LEVEL: "3" } }
lanes:
  dev: { gitops: { repo: "https://git.example.com/ops.git" } }
"#;
    let eff = common::effective_from(text);
    let release = common::release_for(&eff, "dev", None, false, None);
    let rendered = common::render(&eff, "dev", &release);
    let dir = tempfile::tempdir().unwrap();
    common::write(dir.path(), &rendered);
    let files: Vec<std::path::PathBuf> = [
        "web/hpa.yaml",
        "web/pdb.yaml",
        "web/deployment.yaml",
        "report/cronjob.yaml",
        "report/configmap.yaml",
    ]
    .iter()
    .map(|p| {
        assert!(rendered.files.contains_key(*p), "{p} rendered");
        dir.path().join(p)
    })
    .collect();
    let refs: Vec<&Path> = files.iter().map(std::path::PathBuf::as_path).collect();
    if let Err(e) = kubernetes_validate(&refs) {
        panic!("kubernetes-validate refused:\n{e}");
    }
}

#[test]
fn kubernetes_validate_refuses_a_broken_object() {
    // Proves the validator is strict here, so a pass above means something.
    if !kubernetes_validate_available() {
        return;
    }
    let (_, eff, lane, release) = common::cases().remove(0);
    let rendered = common::render(&eff, lane, &release);
    let dir = tempfile::tempdir().unwrap();
    let good = std::str::from_utf8(&rendered.files["backend-app/deployment.yaml"]).unwrap();
    for (name, broken) in [
        (
            "misspelt.yaml",
            good.replace("readinessProbe:", "readynessProbe:"),
        ),
        (
            "port-name.yaml",
            good.replace("containerPort: 8000", "containerPort: http"),
        ),
    ] {
        assert_ne!(broken, good);
        let p = dir.path().join(name);
        std::fs::write(&p, broken).unwrap();
        assert!(
            kubernetes_validate(&[&p]).is_err(),
            "{name} should be refused"
        );
    }
}

/// The strict JSON Schema of a CRD's served version: `additionalProperties: false` wherever
/// the CRD lists `properties` and does not preserve unknown fields.
fn crd_schema(file: &str) -> Value {
    let path = common::testdata_dir().join("schemas").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let crd: Value = serde_saphyr::from_str(&text).expect("CRD parses");
    let versions = crd["spec"]["versions"].as_array().expect("versions");
    let version = versions
        .iter()
        .find(|v| v["name"] == "v1alpha1")
        .expect("v1alpha1");
    let mut schema = version["schema"]["openAPIV3Schema"].clone();
    make_strict(&mut schema);
    schema
}

fn make_strict(schema: &mut Value) {
    let Value::Object(m) = schema else { return };
    let preserve = m.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if m.contains_key("properties") && !preserve && !m.contains_key("additionalProperties") {
        m.insert("additionalProperties".into(), Value::Bool(false));
    }
    if m.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) && !m.contains_key("anyOf") {
        m.remove("type");
        m.insert(
            "anyOf".into(),
            serde_json::json!([{ "type": "integer" }, { "type": "string" }]),
        );
    }
    if let Some(Value::Object(props)) = m.get_mut("properties") {
        props.values_mut().for_each(make_strict);
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(v @ Value::Object(_)) = m.get_mut(key) {
            make_strict(v);
        }
    }
    for key in ["anyOf", "allOf", "oneOf"] {
        if let Some(Value::Array(list)) = m.get_mut(key) {
            list.iter_mut().for_each(make_strict);
        }
    }
}

fn crd_file(kind: &str) -> &'static str {
    match kind {
        "Application" => "argo-cd/application-crd.yaml",
        "ApplicationSet" => "argo-cd/applicationset-crd.yaml",
        "AppProject" => "argo-cd/appproject-crd.yaml",
        "Rollout" => "argo-rollouts/rollout-crd.yaml",
        other => panic!("no CRD for {other}"),
    }
}

fn errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn argo_objects_match_the_official_crds() {
    let mut validators = std::collections::BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    for (label, eff, lane, release) in common::cases() {
        let rendered = common::render(&eff, lane, &release);
        for (path, bytes) in &rendered.files {
            let (api, kind) = kind_of(bytes);
            if !is_argo(&api) {
                continue;
            }
            let validator = validators.entry(kind.clone()).or_insert_with(|| {
                jsonschema::validator_for(&crd_schema(crd_file(&kind))).expect("schema compiles")
            });
            let object = yaml_to_json(bytes);
            let errs = errors(validator, &object);
            assert!(errs.is_empty(), "{label} {path}: {errs:#?}");
            seen.insert(kind);
        }
    }
    let all: Vec<&str> = seen.iter().map(String::as_str).collect();
    assert_eq!(
        all,
        ["AppProject", "Application", "ApplicationSet", "Rollout"]
    );
}

/// (file, kind, how to break it).
type Breakage = (&'static str, &'static str, fn(&mut Value));

#[test]
fn the_strict_crd_schemas_refuse_broken_objects() {
    let (_, eff, lane, release) = common::cases().remove(2); // prod: Rollout
    let rendered = common::render(&eff, lane, &release);
    let cases: [Breakage; 4] = [
        ("argocd/application.yaml", "Application", |v| {
            v["spec"]["source"]["repoUrl"] = Value::from("typo");
        }),
        ("argocd/appproject.yaml", "AppProject", |v| {
            v["spec"]["destinations"][0]["namespaces"] = Value::from("typo");
        }),
        ("backend-app/rollout.yaml", "Rollout", |v| {
            v["spec"]["strategy"]["canary"]["steps"][0]["setWeigth"] = Value::from(10);
        }),
        ("backend-app/rollout.yaml", "Rollout", |v| {
            v["spec"]["strategy"]["canary"]["steps"][0]["setWeight"] = Value::from("ten");
        }),
    ];
    for (path, kind, breakage) in cases {
        let validator = jsonschema::validator_for(&crd_schema(crd_file(kind))).unwrap();
        let mut object = yaml_to_json(&rendered.files[path]);
        assert!(
            errors(&validator, &object).is_empty(),
            "{path} is valid first"
        );
        breakage(&mut object);
        assert!(
            !errors(&validator, &object).is_empty(),
            "broken {path} must fail"
        );
    }
    let preview = common::cases().remove(3);
    let rendered = common::render(&preview.1, preview.2, &preview.3);
    let validator = jsonschema::validator_for(&crd_schema(crd_file("ApplicationSet"))).unwrap();
    let mut object = yaml_to_json(&rendered.files["argocd/applicationset.yaml"]);
    object["spec"]["generators"][0]["git"]["directory"] = Value::from("typo");
    assert!(!errors(&validator, &object).is_empty());
}

#[test]
fn kustomizations_match_the_kustomization_schema() {
    let path = common::testdata_dir().join("schemas/kustomize/kustomization.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    for (label, eff, lane, release) in common::cases() {
        let rendered = common::render(&eff, lane, &release);
        let k = yaml_to_json(&rendered.files["kustomization.yaml"]);
        let errs = errors(&validator, &k);
        assert!(errs.is_empty(), "{label}: {errs:#?}");
    }
}
