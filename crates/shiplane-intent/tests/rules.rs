#![allow(
    clippy::unwrap_used,
    clippy::format_push_string,
    clippy::type_complexity,
    reason = "tests: a panic is the failure report"
)]
//! Every validation rule of SPEC §4, each with a valid and an invalid case. A case states the
//! exact diagnostics expected (code and line), so an extra or missing one fails the test.

use shiplane_intent::{Severity, load_str};

/// A small valid intent; `{svc}`, `{lane}` and `{top}` are where cases splice their lines.
const BASE: &str = r#"version: 1
project: shop
defaults:
  registry: registry.example.com/shop
  gitops: { repo: "file:///srv/gitops.git" }
libraries:
  common: { paths: ["libs/common/**"] }
services:
  api:
    paths: ["services/api/**"]
    depends_on: [common]
    run:
      port: 8080
      health: { path: /healthz }
{svc}
lanes:
  dev:
    namespace: shop-dev
{lane}
{top}
"#;

fn build(svc: &str, lane: &str, top: &str) -> String {
    BASE.replace("{svc}", svc)
        .replace("{lane}", lane)
        .replace("{top}", top)
}

/// The errors of `src` as (code, line), in order.
fn errors(src: &str) -> Vec<(&'static str, u32)> {
    load_str(src)
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| (d.code, d.span.map_or(0, |s| s.start.line)))
        .collect()
}

/// Asserts the errors of `src` are exactly `expected` (code, line), in order.
fn check(src: &str, expected: &[(&str, u32)]) {
    let loaded = load_str(src);
    assert_eq!(
        errors(src),
        expected,
        "diagnostics: {:#?}\nsource:\n{src}",
        loaded.diagnostics
    );
    assert_eq!(loaded.is_valid(), expected.is_empty());
}

// Lines: {svc} is line 15, {lane} line 19, {top} line 20 of BASE.
const SVC: u32 = 15;
const LANE: u32 = 19;
const TOP: u32 = 20;

#[test]
fn base_is_valid() {
    check(&build("", "", ""), &[]);
}

#[test]
fn rule_table() {
    // (name, svc lines, lane lines, top lines, expected errors)
    let cases: &[(&str, &str, &str, &str, &[(&str, u32)])] = &[
        (
            "unknown key",
            "    depnds_on: [common]",
            "",
            "",
            &[("unknown-key", SVC)],
        ),
        (
            "unknown top-level key",
            "",
            "",
            "servics: {}",
            &[("unknown-key", TOP)],
        ),
        (
            "forbidden image",
            "    image: reg/x@sha256:abc",
            "",
            "",
            &[("forbidden-key", SVC)],
        ),
        (
            "forbidden digest",
            "    digest: sha256:abc",
            "",
            "",
            &[("forbidden-key", SVC)],
        ),
        (
            "forbidden tag",
            "    tag: v1",
            "",
            "",
            &[("forbidden-key", SVC)],
        ),
        (
            "wrong type",
            "    checks: yes",
            "",
            "",
            &[("wrong-type", SVC)],
        ),
        (
            "bad enum",
            "    kind: deploy",
            "",
            "",
            &[("invalid-value", SVC)],
        ),
        ("valid enum", "    kind: job", "", "", &[]),
        (
            "upper-case lane namespace",
            "",
            "    source_branch: dev\n  qa:\n    namespace: Shop-QA",
            "",
            &[("invalid-name", LANE + 2)],
        ),
        (
            "valid version lane name",
            "",
            "  v0.1:\n    namespace: shop-v01",
            "",
            &[],
        ),
        (
            "invalid lane name",
            "",
            "  V_1:\n    namespace: shop-v1",
            "",
            &[("invalid-name", LANE)],
        ),
        (
            "invalid service name",
            "  Bad_Name:\n    paths: [\"b/**\"]",
            "",
            "",
            &[("invalid-name", SVC)],
        ),
        (
            "invalid glob",
            "  b:\n    paths: [\"b/[x\"]",
            "",
            "",
            &[("invalid-glob", SVC + 1)],
        ),
        (
            "absolute glob",
            "  b:\n    paths: [\"/b/**\"]",
            "",
            "",
            &[("invalid-glob", SVC + 1)],
        ),
        (
            "unknown dependency",
            "  b:\n    paths: [\"b/**\"]\n    depends_on: [comon]",
            "",
            "",
            &[("unknown-dependency", SVC + 2)],
        ),
        (
            "dependency cycle",
            "  b:\n    paths: [\"b/**\"]\n    depends_on: [c]\n  c:\n    paths: [\"c/**\"]\n    depends_on: [b]",
            "",
            "",
            &[("dependency-cycle", SVC + 2)],
        ),
        (
            "self dependency",
            "  b:\n    paths: [\"b/**\"]\n    depends_on: [b]",
            "",
            "",
            &[("dependency-cycle", SVC + 2)],
        ),
        (
            "lane cycle",
            "",
            "    from: qa\n  qa:\n    from: dev",
            "",
            &[("lane-cycle", LANE)],
        ),
        (
            "unknown upstream lane",
            "",
            "  qa:\n    from: stagin",
            "",
            &[("unknown-lane", LANE + 1)],
        ),
        (
            "port too large",
            "  b:\n    paths: [\"b/**\"]\n    run: { port: 70000 }",
            "",
            "",
            &[("invalid-port", SVC + 2)],
        ),
        (
            "port zero",
            "  b:\n    paths: [\"b/**\"]\n    run: { port: 0 }",
            "",
            "",
            &[("invalid-port", SVC + 2)],
        ),
        (
            "health path without slash",
            "  b:\n    paths: [\"b/**\"]\n    run: { port: 1, health: { path: healthz } }",
            "",
            "",
            &[("invalid-health-path", SVC + 2)],
        ),
        (
            "bad quantity",
            "  b:\n    paths: [\"b/**\"]\n    run: { resources: { memory: 512MB } }",
            "",
            "",
            &[("invalid-quantity", SVC + 2)],
        ),
        (
            "good quantities",
            "  b:\n    paths: [\"b/**\"]\n    run: { resources: { memory: 512Mi, cpu: 0.5 } }",
            "",
            "",
            &[],
        ),
        (
            "literal secret",
            "  b:\n    paths: [\"b/**\"]\n    run:\n      env: { API_TOKEN: abc }",
            "",
            "",
            &[("literal-secret", SVC + 3)],
        ),
        (
            "secret reference",
            "  b:\n    paths: [\"b/**\"]\n    run:\n      env: { API_TOKEN: { secret: b-env, key: token } }",
            "",
            "",
            &[],
        ),
        (
            "credential-looking value",
            "  b:\n    paths: [\"b/**\"]\n    run:\n      env: { DATABASE_URL: \"postgres://u:pw@db/x\" }",
            "",
            "",
            &[("literal-secret", SVC + 3)],
        ),
        (
            "unknown template variable",
            "    expose: { host: \"x{lane.suffix}.example.com\" }",
            "",
            "",
            &[("unknown-template-variable", SVC)],
        ),
        (
            "defined template variable",
            "    expose: { host: \"x{lane.suffix}.example.com\" }",
            "    vars: { suffix: -dev }",
            "",
            &[],
        ),
        (
            "unknown tag variable",
            "",
            "",
            "notify: []\nretention: { grace: 7d }\n",
            &[],
        ),
        (
            "bad tag variable",
            "",
            "    tags: [\"{commit.shrt}\"]",
            "",
            &[("unknown-template-variable", LANE)],
        ),
        (
            "version tag without version",
            "",
            "    tags: [\"{version}\"]",
            "",
            &[("unknown-template-variable", LANE)],
        ),
        (
            "unclosed template",
            "",
            "    tags: [\"{commit\"]",
            "",
            &[("invalid-template", LANE)],
        ),
        ("missing gitops", "", "", "", &[]),
        (
            "cronjob without schedule",
            "  b:\n    kind: cronjob\n    paths: [\"b/**\"]",
            "",
            "",
            &[("missing-schedule", SVC + 1)],
        ),
        (
            "cronjob bad schedule",
            "  b:\n    kind: cronjob\n    schedule: \"61 * * * *\"\n    paths: [\"b/**\"]",
            "",
            "",
            &[("invalid-schedule", SVC + 2)],
        ),
        (
            "schedule without cronjob",
            "  b:\n    schedule: \"0 * * * *\"\n    paths: [\"b/**\"]",
            "",
            "",
            &[("unexpected-schedule", SVC + 1)],
        ),
        (
            "bad freeze",
            "",
            "    freeze: [\"Friday 18:00 - Mon 08:00 UTC\"]",
            "",
            &[("invalid-freeze", LANE)],
        ),
        (
            "good freeze",
            "",
            "    freeze: [\"Fri 18:00 - Mon 08:00 Asia/Shanghai\"]",
            "",
            &[],
        ),
        (
            "bad rollout",
            "",
            "    rollout: { strategy: canary, steps: [50, 10] }",
            "",
            &[("invalid-rollout", LANE)],
        ),
        (
            "bad duration",
            "",
            "",
            "retention: { grace: 7 }",
            &[("wrong-type", TOP)],
        ),
        (
            "bad duration text",
            "",
            "",
            "retention: { grace: 7days }",
            &[("invalid-duration", TOP)],
        ),
        (
            "template lane path",
            "",
            "  pr:\n    template: true\n    namespace: \"shop-{name}\"\n    gitops: { path: lanes/pr }",
            "",
            &[("template-path", LANE + 3)],
        ),
        (
            "template lane ok",
            "",
            "  pr:\n    template: true\n    namespace: \"shop-{name}\"\n    gitops: { path: \"lanes/pr/{name}\" }",
            "",
            &[],
        ),
        (
            "name outside template",
            "",
            "  qa:\n    namespace: \"shop-{name}\"",
            "",
            &[("template-variable", LANE + 1)],
        ),
        (
            "notify two targets",
            "",
            "",
            "notify:\n  - { slack: { webhook_env: A }, feishu: { webhook_env: B } }",
            &[("invalid-notify", TOP + 1)],
        ),
        (
            "notify url literal",
            "",
            "",
            "notify:\n  - { slack: { webhook_env: \"https://hooks.slack.com/x\" } }",
            &[("invalid-env-name", TOP + 1)],
        ),
        (
            "expose without port",
            "  b:\n    paths: [\"b/**\"]\n    expose: { host: b.example.com }",
            "",
            "",
            &[("expose-without-port", SVC + 2)],
        ),
        (
            "bad check status",
            "    checks: [{ url: \"https://x/\", expect: [999] }]",
            "",
            "",
            &[("invalid-status", SVC)],
        ),
        (
            "bad branch",
            "",
            "    source_branch: \"a b\"",
            "",
            &[("invalid-branch", LANE)],
        ),
        (
            "missing required paths",
            "  b:\n    run: { port: 1 }",
            "",
            "",
            &[("missing-key", SVC)],
        ),
        (
            "writable not absolute",
            "  b:\n    paths: [\"b/**\"]\n    run: { security: { writable: [tmp] } }",
            "",
            "",
            &[("invalid-path", SVC + 2)],
        ),
        (
            "retention override unknown service",
            "",
            "",
            "retention: { services: { apii: { keep_newest: 3 } } }",
            &[("unknown-service", TOP)],
        ),
        (
            "lane deploys unknown service",
            "",
            "    services: [api, nope]",
            "",
            &[("unknown-service", LANE)],
        ),
        // Trust, part 2: no credential is ever written.
        (
            "token in gitops repo userinfo",
            "",
            "    gitops: { repo: \"https://u:TOKEN@git.example.com/ops.git\" }",
            "",
            &[("credential-in-address", LANE)],
        ),
        (
            "bare token as gitops repo user",
            "",
            "    gitops: { repo: \"https://TOKEN@git.example.com/ops.git\" }",
            "",
            &[("credential-in-address", LANE)],
        ),
        (
            "ssh user in gitops repo is not a credential",
            "",
            "    gitops: { repo: \"git@github.com:example/ops.git\" }",
            "",
            &[],
        ),
        (
            "password in lane registry",
            "",
            "    registry: \"robot:pw@registry.example.com/shop\"",
            "",
            &[("credential-in-address", LANE)],
        ),
        (
            "password in check url",
            "    checks: [{ url: \"https://u:p@api.example.com/healthz\" }]",
            "",
            "",
            &[("credential-in-address", SVC)],
        ),
        (
            "password in lane variable",
            "",
            "    vars: { api: \"https://u:p@api.example.com\" }",
            "",
            &[("credential-in-address", LANE)],
        ),
        // Trust, part 2: paths that cannot hurt.
        (
            "gitops path leaves the repository",
            "",
            "    gitops: { path: ../../x }",
            "",
            &[("invalid-gitops-path", LANE)],
        ),
        (
            "absolute gitops path",
            "",
            "    gitops: { path: /srv/x }",
            "",
            &[("invalid-gitops-path", LANE)],
        ),
        (
            "gitops path with NUL",
            "",
            "    gitops: { path: \"lanes/\\0dev\" }",
            "",
            &[("invalid-gitops-path", LANE)],
        ),
        (
            "gitops path with newline",
            "",
            "    gitops: { path: \"lanes/a\\nb\" }",
            "",
            &[("invalid-gitops-path", LANE)],
        ),
        (
            "gitops path into git hooks",
            "",
            "    gitops: { path: .git/hooks }",
            "",
            &[("invalid-gitops-path", LANE)],
        ),
        (
            "empty gitops path",
            "",
            "    gitops: { path: \"\" }",
            "",
            &[("invalid-gitops-path", LANE)],
        ),
        (
            "gitops path with empty segment",
            "",
            "    gitops: { path: lanes//dev }",
            "",
            &[("invalid-gitops-path", LANE)],
        ),
        (
            "gitops path with backslash",
            "",
            "    gitops: { path: 'lanes\\dev' }",
            "",
            &[("invalid-gitops-path", LANE)],
        ),
        (
            "dev path overwrites staging",
            "",
            "  staging:\n    namespace: shop-staging\n  qa:\n    gitops: { path: lanes/staging }",
            "",
            &[("gitops-path-overlap", LANE + 3)],
        ),
        (
            "lane path replaces the artifact index",
            "",
            "    gitops: { path: artifacts/api.json }",
            "",
            &[("gitops-path-overlap", LANE)],
        ),
        (
            "lane path holds the registry audit log",
            "",
            "    gitops: { path: registry }",
            "",
            &[("gitops-path-overlap", LANE)],
        ),
        (
            "lane path beside the registry audit log",
            "",
            "    gitops: { path: registry/dev }",
            "",
            &[],
        ),
        (
            "lane path above another lane",
            "",
            "  qa:\n    gitops: { path: lanes }",
            "",
            &[("gitops-path-overlap", LANE + 1)],
        ),
        (
            "template instances over a lane",
            "",
            "  pr:\n    template: true\n    namespace: \"shop-{name}\"\n    gitops: { path: \"lanes/{name}\" }",
            "",
            &[("gitops-path-overlap", LANE + 3)],
        ),
        (
            "template instances beside a lane",
            "",
            "  pr:\n    template: true\n    namespace: \"shop-{name}\"\n    gitops: { path: \"lanes/pr-{name}\" }",
            "",
            &[],
        ),
        (
            "template instance could be named like a lane",
            "",
            "  pr:\n    template: true\n    namespace: \"shop-{name}\"\n    gitops: { path: \"lanes/d{name}\" }",
            "",
            &[("gitops-path-overlap", LANE + 3)],
        ),
        (
            "two templates whose instances could meet",
            "",
            "  pr:\n    template: true\n    namespace: \"shop-{name}\"\n    gitops: { path: \"previews/{name}\" }\n  mr:\n    template: true\n    namespace: \"shop-mr-{name}\"\n    gitops: { path: \"previews/mr-{name}\" }",
            "",
            &[("gitops-path-overlap", LANE + 3)],
        ),
        (
            "same path on another branch",
            "",
            "  qa:\n    gitops: { branch: qa, path: lanes/dev }",
            "",
            &[],
        ),
        (
            "same repository spelt without .git",
            "",
            "  qa:\n    gitops: { repo: \"file:///srv/gitops\", path: lanes/dev }",
            "",
            &[("gitops-path-overlap", LANE + 1)],
        ),
        (
            "write file leaves the lane",
            "",
            "    write: { helm-values: { file: ../prod/values.yaml } }",
            "",
            &[("invalid-gitops-path", LANE)],
        ),
        (
            "write file is the release",
            "",
            "    write: { kustomize-images: { file: release.json } }",
            "",
            &[("invalid-gitops-path", LANE)],
        ),
        (
            "branch component starts with a dot",
            "",
            "    gitops: { branch: deploy/.hidden }",
            "",
            &[("invalid-branch", LANE)],
        ),
    ];
    for (name, svc, lane, top, expected) in cases {
        let src = build(svc, lane, top);
        assert_eq!(
            &errors(&src),
            expected,
            "case `{name}`: {:#?}\nsource:\n{src}",
            load_str(&src).diagnostics
        );
    }
}

#[test]
fn missing_gitops_is_an_error_without_defaults() {
    let src = "version: 1\nproject: p\nservices:\n  a: { paths: [\"a/**\"] }\nlanes:\n  dev: {}\n";
    check(src, &[("missing-gitops", 6)]);
}

#[test]
fn gitops_inherits_from_upstream_lane() {
    let src = "version: 1\nproject: p\nservices:\n  a: { paths: [\"a/**\"] }\nlanes:\n  dev: { gitops: { repo: /srv/g.git, branch: deploy } }\n  prod: { from: dev }\n";
    let loaded = load_str(src);
    assert!(loaded.is_valid(), "{:#?}", loaded.diagnostics);
    let prod = &loaded.effective.unwrap().lanes["prod"];
    assert_eq!(prod.gitops.repo.as_deref(), Some("/srv/g.git"));
    assert_eq!(prod.gitops.branch, "deploy");
    assert_eq!(prod.gitops.path, "lanes/prod");
    assert_eq!(prod.namespace, "p-prod");
}

#[test]
fn warnings_do_not_invalidate() {
    let src = "version: 1\nproject: p\nlibraries:\n  unused: { paths: [\"u/**\"] }\nservices:\n  a: { paths: [\"a/**\"] }\nlanes:\n  dev: { gitops: { repo: /g }, services: [] }\n";
    let loaded = load_str(src);
    assert!(loaded.is_valid());
    let codes: Vec<_> = loaded
        .diagnostics
        .iter()
        .map(|d| (d.severity, d.code))
        .collect();
    assert_eq!(
        codes,
        vec![
            (Severity::Warning, "unused-library"),
            (Severity::Warning, "undeployed-service")
        ]
    );
}

#[test]
fn suggestions_name_the_closest_key() {
    let loaded = load_str(&build("    depnds_on: [common]", "", ""));
    assert_eq!(
        loaded.diagnostics[0].help.as_deref(),
        Some("did you mean `depends_on`?")
    );
    let loaded = load_str(&build("    port: 80", "", ""));
    assert!(
        loaded.diagnostics[0]
            .help
            .as_deref()
            .unwrap()
            .contains("belongs under `run`")
    );
}

#[test]
fn credential_in_defaults_gitops_repo_is_refused_at_its_line() {
    let src = "version: 1\nproject: p\ndefaults:\n  gitops:\n    repo: \"https://u:s3cr3t@git.example.com/ops.git\"\nservices:\n  a: { paths: [\"a/**\"] }\nlanes:\n  dev: {}\n";
    check(src, &[("credential-in-address", 5)]);
    let loaded = load_str(src);
    let d = &loaded.diagnostics[0];
    assert!(!d.message.contains("s3cr3t"), "{}", d.message);
    let help = d.help.as_deref().unwrap();
    assert!(help.contains("SHIPLANE_GIT_TOKEN"), "{help}");
    assert!(help.contains("https://git.example.com/ops.git"), "{help}");
    assert!(!help.contains("s3cr3t"), "{help}");
    // The source line echoed under the message is masked, column for column.
    let text = shiplane_intent::diagnostic::render_human(&loaded.diagnostics, "f", src, false);
    assert!(!text.contains("s3cr3t"), "{text}");
    assert!(text.contains("https://********@git.example.com"), "{text}");
    // And the effective model printed beside it carries no credential.
    let json = loaded
        .effective
        .unwrap()
        .to_json_without_credentials()
        .to_string();
    assert!(!json.contains("s3cr3t"), "{json}");
    assert!(json.contains("https://git.example.com/ops.git"), "{json}");
}

#[test]
fn credential_in_defaults_registry_names_the_registry_fix() {
    let src = "version: 1\nproject: p\ndefaults:\n  registry: \"robot:pw@reg.example.com/p\"\n  gitops: { repo: /g }\nservices:\n  a: { paths: [\"a/**\"] }\nlanes:\n  dev: {}\n";
    check(src, &[("credential-in-address", 4)]);
    let help = load_str(src).diagnostics[0].help.clone().unwrap();
    assert!(help.contains("SHIPLANE_REGISTRY_USERNAME"), "{help}");
}

#[test]
fn invalid_defaults_gitops_branch_is_refused() {
    let src = "version: 1\nproject: p\ndefaults:\n  gitops: { repo: /g, branch: \"main.lock\" }\nservices:\n  a: { paths: [\"a/**\"] }\nlanes:\n  dev: {}\n";
    check(src, &[("invalid-branch", 4)]);
}

#[test]
fn paths_in_other_repositories_do_not_overlap() {
    let src = "version: 1\nproject: p\ndefaults:\n  gitops: { repo: /g }\nservices:\n  a: { paths: [\"a/**\"] }\nlanes:\n  dev: {}\n  prod: { gitops: { repo: /other, path: lanes/dev } }\n  ops: { gitops: { repo: /other, path: artifacts } }\n";
    check(src, &[]);
}
