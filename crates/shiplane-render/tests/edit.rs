//! The `helm-values` and `kustomize-images` write modes: exact text in, exact text out, with
//! comment-heavy fixtures; every refusal tested.

use shiplane_render::{EditError, helm_values_edit, kustomize_images_edit};

const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

const VALUES: &str = r#"# Values for the miker chart.
# Owned by the platform team; Shiplane only touches image keys.

global:
  imagePullSecrets: [regcred]   # flow list, untouched

frontend:
  replicas: 2 # keep two for the demo
  image:
    # where the image lives
    repository: "registry.example.com/dev/frontend"   # double-quoted on purpose
    tag: 'sha-abc1234'  # single-quoted
    digest:
    pullPolicy: IfNotPresent

api:
  image: { repository: registry.example.com/dev/api, tag: v1 }
  env:
    - name: A
      value: "1"

# trailing comment
"#;

#[test]
fn helm_sets_existing_values_keeping_everything_else() {
    let out = helm_values_edit(
        VALUES,
        &[
            (
                "frontend.image.repository",
                "registry.example.com/prod/frontend",
            ),
            ("frontend.image.tag", "1.4"),
            ("frontend.image.digest", D1),
            ("api.image.tag", "sha-def5678"),
        ],
    )
    .unwrap();
    let expected = VALUES
        .replace(
            r#"repository: "registry.example.com/dev/frontend""#,
            r#"repository: "registry.example.com/prod/frontend""#,
        )
        .replace("tag: 'sha-abc1234'", "tag: '1.4'")
        .replace("    digest:\n", &format!("    digest: {D1}\n"))
        .replace("tag: v1 }", "tag: sha-def5678 }");
    assert_eq!(out, expected);
}

#[test]
fn helm_quotes_values_a_reader_would_retype() {
    let src = "image:\n  repository: r\n  tag: v1 # plain\n";
    for (value, written) in [
        ("1.0", "\"1.0\""),
        ("true", "\"true\""),
        ("0x1F", "\"0x1F\""),
        ("null", "\"null\""),
        ("v2", "v2"),
        ("", "\"\""),
        ("a: b", "\"a: b\""),
        ("# no", "\"# no\""),
    ] {
        let out = helm_values_edit(src, &[("image.tag", value)]).unwrap();
        assert_eq!(
            out,
            format!("image:\n  repository: r\n  tag: {written} # plain\n"),
            "{value}"
        );
    }
}

#[test]
fn helm_creates_a_missing_last_key_at_the_end_of_its_mapping() {
    let out = helm_values_edit(
        VALUES,
        &[("frontend.image.sha", D1), ("frontend.image.tag2", "x")],
    )
    .unwrap();
    let expected = VALUES.replace(
        "    pullPolicy: IfNotPresent\n",
        &format!("    pullPolicy: IfNotPresent\n    sha: {D1}\n    tag2: x\n"),
    );
    assert_eq!(out, expected);
    // At the very end of a file without a final newline.
    let out = helm_values_edit("a:\n  b: 1", &[("a.c", "2")]).unwrap();
    assert_eq!(out, "a:\n  b: 1\n  c: \"2\"\n");
    // Nested mapping after the last key.
    let src = "svc:\n  image:\n    repository: r\n  other:\n    x: 1 # end\nnext: 2\n";
    let out = helm_values_edit(src, &[("svc.image.digest", D2)]).unwrap();
    assert_eq!(
        out,
        format!(
            "svc:\n  image:\n    repository: r\n    digest: {D2}\n  other:\n    x: 1 # end\nnext: 2\n"
        )
    );
}

#[test]
fn helm_keeps_crlf_line_endings() {
    let src = "a:\r\n  b: 1\r\n";
    assert_eq!(
        helm_values_edit(src, &[("a.b", "x"), ("a.c", "y")]).unwrap(),
        "a:\r\n  b: x\r\n  c: y\r\n"
    );
}

#[test]
fn helm_refusals() {
    let err = |src: &str, path: &str| helm_values_edit(src, &[(path, "v")]).unwrap_err();
    assert!(
        matches!(err(VALUES, "frontend.missing.tag"), EditError::MissingParent { missing, .. } if missing == "frontend.missing")
    );
    assert!(matches!(
        err(VALUES, "frontend.image"),
        EditError::NotAScalar { .. }
    ));
    assert!(matches!(
        err(VALUES, "frontend.replicas.x"),
        EditError::NotAMapping { .. }
    ));
    assert!(matches!(
        err(VALUES, "frontend..tag"),
        EditError::InvalidPath { .. }
    ));
    // New keys only next to existing block entries.
    assert!(
        matches!(err(VALUES, "api.image.digest"), EditError::Unsupported { reason, .. } if reason.contains("flow"))
    );
    assert!(matches!(
        err("a: {}\n", "a.b"),
        EditError::Unsupported { .. }
    ));
    // Block scalars, anchors and aliases are not spliced.
    assert!(matches!(
        err("a:\n  b: |\n    text\n", "a.b"),
        EditError::Unsupported { .. }
    ));
    assert!(matches!(
        err("x: &t v1\na:\n  b: 1\n", "x"),
        EditError::Unsupported { .. }
    ));
    assert!(matches!(err("- a\n", "a"), EditError::NotAMapping { .. }));
    assert!(matches!(err("a: [\n", "a"), EditError::Parse { .. }));
    assert!(matches!(
        helm_values_edit(VALUES, &[("api.image.tag", "a"), ("api.image.tag", "b")]),
        Err(EditError::Duplicate { .. })
    ));
}

#[test]
fn an_edit_that_would_change_anything_else_is_refused() {
    // `svc.image` is an alias of `base`: splicing its tag would change `base.tag` too. The
    // read-back comparison sees the second change and refuses.
    let aliased = "base: &img\n  tag: v1\nsvc:\n  image: *img\n";
    let e = helm_values_edit(aliased, &[("svc.image.tag", "v2")]).unwrap_err();
    assert!(matches!(e, EditError::Verification { .. }), "{e}");
    assert!(e.to_string().contains("base.tag"), "{e}");
}

#[test]
fn a_quoted_key_with_a_dot_is_not_a_path() {
    let src = "\"a.b\": 1\na:\n  b: 2\n";
    let out = helm_values_edit(src, &[("a.b", "3")]).unwrap();
    assert_eq!(out, "\"a.b\": 1\na:\n  b: \"3\"\n");
}

const KUSTOMIZATION: &str = r#"# Base for the api, maintained by hand.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base   # shared base
images:
  # the api image
  - name: api
    newName: registry.example.com/dev/api   # dev registry
    newTag: sha-abc1234
  - name: worker
    newName: 'registry.example.com/dev/worker'
    digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000"
# end of file
"#;

#[test]
fn kustomize_updates_existing_entries_and_appends_new_ones() {
    let out = kustomize_images_edit(
        KUSTOMIZATION,
        &[
            ("api", "registry.example.com/prod/api", D1),
            ("worker", "registry.example.com/prod/worker", D2),
            ("cron", "registry.example.com/prod/cron", D1),
        ],
    )
    .unwrap();
    let expected = KUSTOMIZATION
        .replace(
            "newName: registry.example.com/dev/api   # dev registry\n    newTag: sha-abc1234\n",
            &format!("newName: registry.example.com/prod/api   # dev registry\n    newTag: sha-abc1234\n    digest: {D1}\n"),
        )
        .replace(
            "newName: 'registry.example.com/dev/worker'",
            "newName: 'registry.example.com/prod/worker'",
        )
        .replace(
            "digest: \"sha256:0000000000000000000000000000000000000000000000000000000000000000\"\n",
            &format!("digest: \"{D2}\"\n  - name: cron\n    newName: registry.example.com/prod/cron\n    digest: {D1}\n"),
        );
    assert_eq!(out, expected);
    // Idempotent: the same edit again changes nothing.
    let again = kustomize_images_edit(
        &out,
        &[
            ("api", "registry.example.com/prod/api", D1),
            ("worker", "registry.example.com/prod/worker", D2),
            ("cron", "registry.example.com/prod/cron", D1),
        ],
    )
    .unwrap();
    assert_eq!(again, out);
}

#[test]
fn kustomize_creates_the_images_list() {
    let src = "# c\nresources:\n- a.yaml\n";
    let out = kustomize_images_edit(src, &[("api", "r/api", D1)]).unwrap();
    assert_eq!(
        out,
        format!(
            "# c\nresources:\n- a.yaml\nimages:\n- name: api\n  newName: r/api\n  digest: {D1}\n"
        )
    );
    let out = kustomize_images_edit(
        "resources: [a.yaml]\nimages: []   # none yet\nnamespace: x\n",
        &[("api", "r/api", D1)],
    )
    .unwrap();
    assert_eq!(
        out,
        format!(
            "resources: [a.yaml]\nimages:\n- name: api\n  newName: r/api\n  digest: {D1}\n   # none yet\nnamespace: x\n"
        )
    );
    let out = kustomize_images_edit("images:\nnamespace: x\n", &[("api", "r/api", D1)]).unwrap();
    assert_eq!(
        out,
        format!("images:\n- name: api\n  newName: r/api\n  digest: {D1}\nnamespace: x\n")
    );
}

#[test]
fn kustomize_refusals() {
    let bad_digest = kustomize_images_edit(KUSTOMIZATION, &[("api", "r", "sha256:abc")]);
    assert!(matches!(bad_digest, Err(EditError::InvalidImage { .. })));
    let twice = kustomize_images_edit(KUSTOMIZATION, &[("api", "r", D1), ("api", "s", D2)]);
    assert!(matches!(twice, Err(EditError::Duplicate { .. })));
    let dup_entries = "images:\n- name: a\n  newName: x\n- name: a\n  newName: y\n";
    assert!(matches!(
        kustomize_images_edit(dup_entries, &[("a", "r", D1)]),
        Err(EditError::Unsupported { .. })
    ));
    let flow = "images: [{name: a, newName: x}]\n";
    assert!(matches!(
        kustomize_images_edit(flow, &[("b", "r", D1)]),
        Err(EditError::Unsupported { .. })
    ));
    // Editing a value inside a flow entry works; adding a key to it does not.
    assert!(matches!(
        kustomize_images_edit(flow, &[("a", "r", D1)]),
        Err(EditError::Unsupported { .. })
    ));
    assert!(matches!(
        kustomize_images_edit("- a\n", &[("a", "r", D1)]),
        Err(EditError::NotAMapping { .. })
    ));
}

#[test]
fn edited_kustomization_still_builds_with_kubectl() {
    if std::process::Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_err()
    {
        assert!(std::env::var_os("CI").is_none(), "kubectl missing in CI");
        eprintln!("\n!!!!!!!!!! SKIPPED: kubectl is not available !!!!!!!!!!\n");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("deploy.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: api }\nspec:\n  selector: { matchLabels: { app: api } }\n  template:\n    metadata: { labels: { app: api } }\n    spec:\n      containers:\n      - name: api\n        image: api:old\n",
    )
    .unwrap();
    let src = "# hand-written\nresources:\n- deploy.yaml # the app\n";
    let out = kustomize_images_edit(src, &[("api", "registry.example.com/prod/api", D1)]).unwrap();
    std::fs::write(dir.path().join("kustomization.yaml"), out).unwrap();
    let built = std::process::Command::new("kubectl")
        .arg("kustomize")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let text = String::from_utf8(built.stdout).unwrap();
    assert!(
        text.contains(&format!("image: registry.example.com/prod/api@{D1}")),
        "{text}"
    );
}
