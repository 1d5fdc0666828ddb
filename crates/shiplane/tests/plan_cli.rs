#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]
//! `shiplane plan` on real git repositories, as a user (or CI) runs it.

mod common;

use shiplane_testkit::GitRepo;

const INTENT: &str = r#"version: 1
project: shop
defaults:
  registry: registry.example.com/shop
  gitops: { repo: "file:///srv/gitops.git" }
inputs:
  shared: ["package-lock.json", "tooling/**"]
  ignore: ["**/*.md"]
libraries:
  core: { paths: ["libs/core/**"] }
  ui: { paths: ["libs/ui/**"] }
services:
  api:
    paths: ["services/api/**"]
    depends_on: [core]
    build: { context: services/api }
  worker:
    paths: ["services/worker/**"]
    depends_on: [api]
    build: { context: services/worker }
  web:
    paths: ["apps/web/**"]
    depends_on: [ui]
    build: { context: apps/web }
lanes:
  dev: {}
"#;

fn repo() -> GitRepo {
    let r = GitRepo::new();
    r.write_all(&[
        ("shiplane.yaml", INTENT),
        ("package-lock.json", "{}"),
        ("libs/core/lib.py", "core = 1\n"),
        ("libs/ui/index.js", "export const ui = 1;\n"),
        ("services/api/main.py", "print('api')\n"),
        ("services/worker/main.py", "print('worker')\n"),
        ("apps/web/index.js", "console.log('web');\n"),
        ("README.md", "hello\n"),
    ]);
    r.commit("initial");
    r
}

fn plan_json(r: &GitRepo, args: &[&str]) -> serde_json::Value {
    let out = common::shiplane()
        .current_dir(r.path())
        .arg("plan")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    common::assert_exit(&out, 0);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn affected(doc: &serde_json::Value) -> Vec<String> {
    doc["affected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["service"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_library_change_affects_its_transitive_dependents_only() {
    let r = repo();
    r.write("libs/core/lib.py", "core = 2\n");
    r.commit("core");
    let doc = plan_json(&r, &["--base", "HEAD~1"]);
    // api depends on core; worker depends on api's inputs; web does not.
    assert_eq!(affected(&doc), vec!["api", "worker"]);
    assert_eq!(doc["affected"][0]["reasons"][0], "library `core` changed");
    // worker reaches `core` through `api`: its libraries are transitive.
    assert_eq!(doc["affected"][1]["reasons"][0], "library `core` changed");
    assert_eq!(doc["unchanged"][0]["service"], "web");
    assert_eq!(doc["affected"][0]["image"], "registry.example.com/shop/api");
    assert!(
        doc["affected"][0]["tag"]
            .as_str()
            .unwrap()
            .starts_with("sha-")
    );
    assert_eq!(doc["base"]["is_ancestor"], true);
}

#[test]
fn a_shared_file_change_affects_every_service() {
    let r = repo();
    r.write("package-lock.json", "{\"v\": 2}");
    r.commit("lock");
    assert_eq!(
        affected(&plan_json(&r, &["--base", "HEAD~1"])),
        vec!["api", "web", "worker"]
    );
}

#[test]
fn an_ignored_change_affects_nothing() {
    let r = repo();
    r.write("README.md", "changed\n");
    r.write("services/api/NOTES.md", "notes\n");
    r.commit("docs");
    let doc = plan_json(&r, &["--base", "HEAD~1"]);
    assert!(affected(&doc).is_empty());
    assert_eq!(doc["unchanged"].as_array().unwrap().len(), 3);
}

#[test]
fn a_build_section_change_affects_only_that_service() {
    let r = repo();
    r.write(
        "shiplane.yaml",
        &INTENT.replace(
            "build: { context: apps/web }",
            "build: { context: apps/web, target: prod }",
        ),
    );
    r.commit("web target");
    let doc = plan_json(&r, &["--base", "HEAD~1"]);
    assert_eq!(affected(&doc), vec!["web"]);
    assert_eq!(doc["affected"][0]["reasons"][0], "intent changed");
}

#[test]
fn explain_lists_the_files_by_rule() {
    let r = repo();
    r.write("libs/core/lib.py", "core = 3\n");
    r.write("services/api/extra.py", "x = 1\n");
    r.commit("two");
    let doc = plan_json(&r, &["--base", "HEAD~1", "--explain", "worker"]);
    assert_eq!(doc["changed"], true);
    let groups = doc["groups"].as_array().unwrap();
    let dep = groups.iter().find(|g| g["rule"] == "dependency").unwrap();
    assert_eq!(dep["name"], "api");
    let files: Vec<&str> = dep["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(files, vec!["services/api/extra.py"]);
    let lib = groups.iter().find(|g| g["rule"] == "library").unwrap();
    assert_eq!(lib["name"], "core");
    assert_eq!(lib["files"][0]["path"], "libs/core/lib.py");
    assert_eq!(lib["files"][0]["change"], "modified");
}

#[test]
fn a_shallow_clone_is_refused_then_deepened() {
    let r = repo();
    r.write("libs/ui/index.js", "export const ui = 2;\n");
    r.commit("ui");
    let shallow = r.clone_shallow(1);
    let out = common::shiplane()
        .current_dir(shallow.path())
        .args(["plan", "--base", "HEAD~1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("shallow"), "{err}");
    assert!(err.contains("--deepen"), "{err}");
    let doc = plan_json(&shallow, &["--base", "HEAD~1", "--deepen", "5"]);
    assert_eq!(affected(&doc), vec!["web"]);
}

#[test]
fn no_base_and_an_unreachable_index_says_what_to_do() {
    let r = repo();
    let out = common::shiplane()
        .current_dir(r.path())
        .arg("plan")
        .output()
        .unwrap();
    common::assert_exit(&out, 1);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("artifact index"), "{err}");
    assert!(err.contains("--base"), "{err}");
}

#[test]
fn no_base_and_no_index_location_says_what_to_provide() {
    let r = GitRepo::new();
    r.write_all(&[
        (
            "shiplane.yaml",
            "version: 1\nproject: p\nservices:\n  a: { paths: [\"a/**\"] }\n",
        ),
        ("a/x", "1\n"),
    ]);
    r.commit("initial");
    let out = common::shiplane()
        .current_dir(r.path())
        .arg("plan")
        .output()
        .unwrap();
    common::assert_exit(&out, 2);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("--base") && err.contains("defaults.gitops.repo"),
        "{err}"
    );
}

#[test]
fn github_matrix_lists_affected_services() {
    let r = repo();
    r.write("apps/web/index.js", "console.log('web 2');\n");
    let head = r.commit("web");
    let out = common::shiplane()
        .current_dir(r.path())
        .args(["plan", "--base", "HEAD~1", "--format", "github-matrix"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let include = m["include"].as_array().unwrap();
    assert_eq!(include.len(), 1);
    assert_eq!(include[0]["service"], "web");
    assert_eq!(include[0]["context"], "apps/web");
    assert_eq!(include[0]["dockerfile"], "apps/web/Dockerfile");
    assert_eq!(include[0]["tag"], format!("sha-{}", &head[..7]));
}

#[test]
fn the_same_inputs_give_the_same_bytes() {
    let r = repo();
    r.write("libs/core/lib.py", "core = 9\n");
    r.commit("core");
    let run = || {
        common::shiplane()
            .current_dir(r.path())
            .args(["plan", "--base", "HEAD~1", "--format", "tekton"])
            .output()
            .unwrap()
            .stdout
    };
    assert_eq!(run(), run());
}

fn services_of(doc: &serde_json::Value) -> Vec<String> {
    let mut all: Vec<String> = ["affected", "reused", "unchanged"]
        .iter()
        .flat_map(|k| doc[*k].as_array().unwrap().iter())
        .map(|s| s["service"].as_str().unwrap().to_owned())
        .collect();
    all.sort();
    all
}

/// The intent with one more service, `admin`.
fn intent_with_admin() -> String {
    INTENT.replace(
        "lanes:\n",
        "  admin:\n    paths: [\"apps/admin/**\"]\n    build: { context: apps/admin }\nlanes:\n",
    )
}

#[test]
fn plan_with_head_reads_the_intent_of_that_commit_not_the_working_tree() {
    let r = repo();
    r.write("libs/core/lib.py", "core = 2\n");
    r.commit("core");
    // An uncommitted edit: a new service, and `api` built from elsewhere. Neither is in HEAD.
    r.write(
        "shiplane.yaml",
        &intent_with_admin().replace("context: services/api", "context: services/api2"),
    );
    let doc = plan_json(&r, &["--base", "HEAD~1", "--head", "HEAD"]);
    assert_eq!(services_of(&doc), ["api", "web", "worker"]);
    assert_eq!(doc["affected"][0]["context"], "services/api");
    // Without --head (HEAD is the default) it is the same: the commit, not the working tree.
    assert_eq!(
        services_of(&plan_json(&r, &["--base", "HEAD~1"])),
        ["api", "web", "worker"]
    );
}

#[test]
fn plan_with_an_older_head_uses_the_services_of_that_commit() {
    let r = repo();
    r.write("shiplane.yaml", &intent_with_admin());
    r.write("apps/admin/main.py", "print('admin')\n");
    r.commit("admin");
    r.write("libs/ui/index.js", "export const ui = 2;\n");
    r.commit("ui");
    // HEAD~1 has admin; HEAD~2 does not.
    let doc = plan_json(&r, &["--base", "HEAD~2", "--head", "HEAD~2"]);
    assert_eq!(services_of(&doc), ["api", "web", "worker"]);
    let doc = plan_json(&r, &["--base", "HEAD~2", "--head", "HEAD~1"]);
    assert_eq!(affected(&doc), ["admin"]);
    assert_eq!(doc["affected"][0]["reasons"][0], "new service");
}

#[test]
fn an_invalid_working_tree_intent_does_not_stop_a_plan_of_a_valid_commit() {
    let r = repo();
    r.write("apps/web/index.js", "console.log('web 2');\n");
    r.commit("web");
    r.write("shiplane.yaml", "version: 1\nproject: [not, a, name]\n");
    let out = common::shiplane()
        .current_dir(r.path())
        .args(["plan", "--base", "HEAD~1"])
        .output()
        .unwrap();
    common::assert_exit(&out, 0);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("web"), "{stdout}");
}

#[test]
fn a_working_tree_intent_that_differs_from_head_is_reported_in_one_line() {
    let r = repo();
    r.write("apps/web/index.js", "console.log('web 2');\n");
    r.commit("web");
    let run = |args: &[&str]| {
        common::shiplane()
            .current_dir(r.path())
            .arg("plan")
            .args(args)
            .output()
            .unwrap()
    };
    // Clean: nothing said.
    let out = run(&["--base", "HEAD~1"]);
    common::assert_exit(&out, 0);
    assert_eq!(String::from_utf8(out.stderr).unwrap(), "");

    r.write("shiplane.yaml", &intent_with_admin());
    // Text output: one line on stderr.
    let out = run(&["--base", "HEAD~1"]);
    common::assert_exit(&out, 0);
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(
            "warning: shiplane.yaml in the working tree differs from HEAD:shiplane.yaml"
        ),
        "{err}"
    );
    // A pipeline on stdout stays a pipeline; the line goes to stderr.
    let out = run(&["--base", "HEAD~1", "--format", "github-matrix"]);
    common::assert_exit(&out, 0);
    serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap();
    assert_eq!(String::from_utf8(out.stderr).unwrap().lines().count(), 1);
    // JSON: stdout is one document that carries the warning; stderr stays empty.
    let out = run(&["--base", "HEAD~1", "--json"]);
    common::assert_exit(&out, 0);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let warnings = doc["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].as_str().unwrap().contains("differs"),
        "{warnings:?}"
    );
    assert_eq!(String::from_utf8(out.stderr).unwrap(), "");
}

#[test]
fn a_head_without_an_intent_is_refused_with_what_to_do() {
    let r = repo();
    r.remove("shiplane.yaml");
    r.commit("no intent");
    r.write("shiplane.yaml", INTENT);
    let out = common::shiplane()
        .current_dir(r.path())
        .args(["plan", "--base", "HEAD~1"])
        .output()
        .unwrap();
    common::assert_exit(&out, 2);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("no intent file in commit HEAD"), "{err}");
    assert!(err.contains("shiplane.yaml"), "{err}");
}

#[test]
fn pipelines_build_with_the_target_and_build_args_of_the_intent() {
    let r = repo();
    r.write(
        "shiplane.yaml",
        &INTENT.replace(
            "build: { context: apps/web }",
            "build: { context: apps/web, target: prod, args: { NODE_ENV: production, API: \"https://api\" } }",
        ),
    );
    r.commit("web build settings");
    let run = |format: &str| {
        let out = common::shiplane()
            .current_dir(r.path())
            .args(["plan", "--base", "HEAD~1", "--format", format])
            .output()
            .unwrap();
        common::assert_exit(&out, 0);
        String::from_utf8(out.stdout).unwrap()
    };
    let matrix: serde_json::Value = serde_json::from_str(&run("github-matrix")).unwrap();
    assert_eq!(matrix["include"][0]["target"], "prod");
    assert_eq!(
        matrix["include"][0]["build_args"],
        "API=https://api\nNODE_ENV=production"
    );
    let bk = run("buildkite");
    assert!(
        bk.contains("--target") && bk.contains("NODE_ENV=production"),
        "{bk}"
    );
    let tk = run("tekton");
    assert!(
        tk.contains("--target=prod") && tk.contains("--build-arg=NODE_ENV=production"),
        "{tk}"
    );
    let doc = plan_json(&r, &["--base", "HEAD~1"]);
    assert_eq!(doc["affected"][0]["target"], "prod");
    assert_eq!(doc["affected"][0]["args"]["API"], "https://api");
}

#[test]
fn the_tekton_run_clones_from_origin_without_its_credentials() {
    let r = repo();
    r.git(&[
        "remote",
        "add",
        "origin",
        "https://ci-bot:s3cret@git.example.com/shop/mono.git",
    ]);
    r.write("apps/web/index.js", "console.log('web 2');\n");
    r.commit("web");
    let run = |extra: &[&str]| {
        let out = common::shiplane()
            .current_dir(r.path())
            .args(["plan", "--base", "HEAD~1", "--format", "tekton"])
            .args(extra)
            .output()
            .unwrap();
        common::assert_exit(&out, 0);
        String::from_utf8(out.stdout).unwrap()
    };
    let text = run(&[]);
    assert!(
        text.contains("value: https://git.example.com/shop/mono.git"),
        "{text}"
    );
    assert!(
        !text.contains("s3cret") && !text.contains("ci-bot"),
        "{text}"
    );
    let text = run(&["--repo-url", "https://mirror.example.com/mono.git"]);
    assert!(
        text.contains("value: https://mirror.example.com/mono.git"),
        "{text}"
    );
}

#[test]
fn a_tekton_run_without_a_clone_url_says_how_to_give_one() {
    let r = repo();
    r.write("apps/web/index.js", "console.log('web 2');\n");
    r.commit("web");
    let out = common::shiplane()
        .current_dir(r.path())
        .args(["plan", "--base", "HEAD~1", "--format", "tekton"])
        .output()
        .unwrap();
    common::assert_exit(&out, 0);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("--repo-url"), "{err}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(shiplane_plan::REPO_URL_UNSET), "{text}");
}
