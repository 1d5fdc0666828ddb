//! Snapshots of rendered lanes, determinism, and the refusals of `render_lane`.

mod common;

use common::{cases, effective_from, example, release_for, render};
use shiplane_render::{RenderError, RenderedLane, render_lane};

/// All files of a render as one text: `### path` headers, then the file.
fn listing(lane: &RenderedLane) -> String {
    let mut out = String::new();
    for (path, bytes) in &lane.files {
        out.push_str("### ");
        out.push_str(path);
        out.push('\n');
        out.push_str(std::str::from_utf8(bytes).expect("utf-8"));
    }
    out
}

#[test]
fn snapshots_of_the_example_lanes() {
    for (label, eff, lane, release) in cases() {
        let rendered = render(&eff, lane, &release);
        insta::assert_snapshot!(label, listing(&rendered));
    }
}

#[test]
fn rendering_twice_gives_identical_bytes() {
    for (label, eff, lane, release) in cases() {
        let a = render(&eff, lane, &release);
        let b = render(&eff, lane, &release);
        assert_eq!(a, b, "{label}");
    }
}

#[test]
fn service_order_in_the_file_does_not_matter() {
    let text = std::fs::read_to_string(common::examples_dir().join("agentrun.json")).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    // Rebuild `services` with its entries in reverse order (serde_json keeps insertion order).
    let services = json["services"].as_object().unwrap().clone();
    let reversed: serde_json::Map<String, serde_json::Value> = services
        .iter()
        .rev()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_ne!(
        services.keys().collect::<Vec<_>>(),
        reversed.keys().collect::<Vec<_>>()
    );
    json["services"] = serde_json::Value::Object(reversed);
    let eff_a = example("agentrun.json");
    let eff_b = effective_from(&serde_json::to_string_pretty(&json).unwrap());
    let release = release_for(&eff_a, "v0.1", Some("0.1.3"), false, None);
    assert_eq!(
        render(&eff_a, "v0.1", &release),
        render(&eff_b, "v0.1", &release)
    );
}

#[test]
fn every_lane_file_is_in_the_kustomization_and_argo_objects_are_not() {
    for (label, eff, lane, release) in cases() {
        let rendered = render(&eff, lane, &release);
        let k: serde_json::Value = serde_saphyr::from_slice(&rendered.files["kustomization.yaml"])
            .expect("kustomization parses");
        let listed: Vec<&str> = k["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let mut sorted = listed.clone();
        sorted.sort_unstable();
        assert_eq!(listed, sorted, "{label}: resources sorted");
        let lane_files: Vec<&str> = rendered
            .manifests()
            .map(|(p, _)| p)
            .filter(|p| *p != "kustomization.yaml")
            .collect();
        assert_eq!(listed, lane_files, "{label}");
        assert!(rendered.argocd().count() >= 2, "{label}");
        assert!(listed.iter().all(|p| !p.starts_with("argocd/")), "{label}");
    }
}

#[test]
fn images_are_pinned_by_digest_never_by_tag() {
    for (label, eff, lane, release) in cases() {
        let rendered = render(&eff, lane, &release);
        for (path, bytes) in rendered.manifests() {
            let text = std::str::from_utf8(bytes).unwrap();
            for line in text
                .lines()
                .filter(|l| l.trim_start().starts_with("image:"))
            {
                assert!(line.contains("@sha256:"), "{label} {path}: {line}");
            }
        }
    }
}

#[test]
fn hibernated_lanes_have_zero_replicas_and_no_autoscaler() {
    let (_, eff, lane, release) = cases().remove(1);
    assert!(release.hibernated);
    let rendered = render(&eff, lane, &release);
    for (path, bytes) in rendered.manifests() {
        if path.ends_with("deployment.yaml") {
            let text = std::str::from_utf8(bytes).unwrap();
            assert!(text.contains("\n  replicas: 0\n"), "{path}");
        }
        assert!(!path.ends_with("hpa.yaml"), "{path}");
    }
}

#[test]
fn autoscaled_services_leave_replicas_to_the_autoscaler() {
    let text = r#"
version: 1
project: shop
services:
  web:
    paths: ["web/**"]
    run:
      replicas: 3
      port: 8080
      health: { path: /healthz }
      autoscale: { min: 2, max: 6, cpu_percent: 70 }
lanes:
  prod:
    gitops: { repo: "https://git.example.com/ops.git" }
    rollout: { strategy: canary, steps: [20, 100] }
"#;
    let eff = effective_from(text);
    let release = release_for(&eff, "prod", Some("2.0.0"), false, None);
    let rendered = render(&eff, "prod", &release);
    let rollout = std::str::from_utf8(&rendered.files["web/rollout.yaml"]).unwrap();
    assert!(!rollout.contains("replicas:"), "{rollout}");
    // No pause configured: weights only.
    assert!(!rollout.contains("pause"), "{rollout}");
    let hpa = std::str::from_utf8(&rendered.files["web/hpa.yaml"]).unwrap();
    assert!(
        hpa.contains("kind: Rollout") && hpa.contains("averageUtilization: 70"),
        "{hpa}"
    );
    assert!(rendered.files.contains_key("web/pdb.yaml"));
}

#[test]
fn refusals_name_what_is_wrong() {
    let miker = example("miker.yaml");
    let dev = release_for(&miker, "dev", None, false, None);
    let check = |lane: &str, release: &shiplane_render::RenderRelease, want: &str| {
        let err = render_lane(&miker, lane, release).unwrap_err();
        assert!(err.to_string().contains(want), "{err}");
        err
    };
    assert!(matches!(
        check("nope", &dev, "not in the intent"),
        RenderError::UnknownLane { .. }
    ));
    let preview = release_for(&miker, "preview", None, false, None);
    assert!(matches!(
        check("preview", &preview, "template"),
        RenderError::InstanceRequired { .. }
    ));
    let mut with_instance = dev.clone();
    with_instance.instance = Some("pr-1".into());
    check("dev", &with_instance, "not a template");
    let bad_instance = release_for(&miker, "preview", None, false, Some("PR_1"));
    check("preview", &bad_instance, "DNS-1123");

    let mut missing = dev.clone();
    missing.images.remove("backend-app");
    check("dev", &missing, "no image for service `backend-app`");
    let mut extra = dev.clone();
    extra
        .images
        .insert("ghost".into(), dev.images["backend-app"].clone());
    check("dev", &extra, "`ghost`");
    let mut tagged = dev.clone();
    tagged.images.get_mut("backend-app").unwrap().repository =
        "registry.example.com/a:latest".into();
    check("dev", &tagged, "without tag or digest");
    let mut short = dev.clone();
    short.images.get_mut("backend-app").unwrap().digest = "sha256:abc".into();
    check("dev", &short, "64 lowercase hex");
}

#[test]
fn a_service_named_like_the_argocd_directory_is_refused() {
    let text = r#"
version: 1
project: p
services:
  argocd: { paths: ["a/**"], run: { port: 80 } }
lanes:
  dev: { gitops: { repo: "https://git.example.com/ops.git" } }
"#;
    let eff = effective_from(text);
    let release = release_for(&eff, "dev", None, false, None);
    assert!(matches!(
        render_lane(&eff, "dev", &release),
        Err(RenderError::ReservedServiceName { .. })
    ));
}

#[test]
fn cronjobs_render_with_their_schedule_and_jobs_get_a_content_name() {
    let text = r#"
version: 1
project: p
services:
  report:
    kind: cronjob
    schedule: "0 3 * * *"
    paths: ["report/**"]
  seed:
    kind: job
    paths: ["seed/**"]
    run: { env: { MODE: full } }
lanes:
  dev: { gitops: { repo: "https://git.example.com/ops.git" } }
"#;
    let eff = effective_from(text);
    let release = release_for(&eff, "dev", None, false, None);
    let a = render(&eff, "dev", &release);
    let cron = std::str::from_utf8(&a.files["report/cronjob.yaml"]).unwrap();
    assert!(
        cron.contains("schedule: 0 3 * * *") || cron.contains("schedule: \"0 3 * * *\""),
        "{cron}"
    );
    let job = std::str::from_utf8(&a.files["seed/job.yaml"]).unwrap();
    assert!(job.contains("name: seed-"), "{job}");
    // A different image is a different Job (Job templates are immutable).
    let mut next = release.clone();
    next.images.get_mut("seed").unwrap().digest = common::digest_for("other");
    next.release_id = "dev-0002".into();
    let b = render(&eff, "dev", &next);
    let name = |r: &RenderedLane| {
        let text = std::str::from_utf8(&r.files["seed/job.yaml"])
            .unwrap()
            .to_owned();
        text.lines()
            .find(|l| l.starts_with("  name: "))
            .unwrap()
            .to_owned()
    };
    assert_ne!(name(&a), name(&b));
    // Only the release changed for `report`: its pod template is identical.
    let spec = |r: &RenderedLane| {
        let text = std::str::from_utf8(&r.files["report/cronjob.yaml"])
            .unwrap()
            .to_owned();
        text[text.find("\nspec:").unwrap()..].to_owned()
    };
    assert_eq!(spec(&a), spec(&b));
}

#[test]
fn template_instances_need_name_as_a_whole_path_segment() {
    let text = r#"
version: 1
project: p
services:
  web: { paths: ["web/**"], run: { port: 80 } }
lanes:
  dev: { gitops: { repo: "https://git.example.com/ops.git" } }
  preview:
    template: true
    from: dev
    namespace: "p-{name}"
    gitops: { path: "lanes/pr-{name}" }
"#;
    let eff = effective_from(text);
    let release = release_for(&eff, "preview", None, false, Some("pr-7"));
    let err = render_lane(&eff, "preview", &release).unwrap_err();
    assert!(matches!(err, RenderError::TemplatePath { .. }), "{err}");
}

#[test]
fn template_instances_fill_name_everywhere() {
    let (_, eff, lane, release) = cases().remove(3);
    let rendered = render(&eff, lane, &release);
    for (path, bytes) in rendered.manifests() {
        let text = std::str::from_utf8(bytes).unwrap();
        assert!(!text.contains("{name}"), "{path}");
        assert!(!text.contains("{lane."), "{path}");
    }
    let k = std::str::from_utf8(&rendered.files["kustomization.yaml"]).unwrap();
    assert!(k.contains("namespace: miker-pr-123"), "{k}");
    let ingress = std::str::from_utf8(&rendered.files["frontend-miker/ingress.yaml"]).unwrap();
    assert!(
        ingress.contains("host: miker-pr-123.example.com"),
        "{ingress}"
    );
    assert!(
        ingress.contains("secretName: miker-pr-123-example-com-tls"),
        "{ingress}"
    );
    let set = std::str::from_utf8(&rendered.files["argocd/applicationset.yaml"]).unwrap();
    assert!(set.contains("path: lanes/preview/*/manifests"), "{set}");
    assert!(!rendered.files.contains_key("argocd/application.yaml"));
}

/// Trust, part 2: a token in the GitOps address was copied verbatim into the committed Argo CD
/// `Application` and `AppProject`. `check` refuses such an intent; a caller that renders
/// without checking still gets objects without it.
#[test]
fn a_token_in_the_gitops_address_never_reaches_the_argocd_objects() {
    let text = r#"version: 1
project: shop
defaults:
  registry: registry.example.com/shop
  gitops: { repo: "https://deploy:glpat-s3cr3tvalue@git.example.com/ops.git" }
services:
  api: { paths: ["services/api/**"], run: { port: 8080 } }
lanes:
  dev: {}
  pr:
    template: true
    namespace: "shop-pr-{name}"
    gitops: { repo: "https://s3cr3ttoken@git.example.com/ops.git", path: "previews/{name}" }
"#;
    let loaded = shiplane_intent::load_str(text);
    assert!(!loaded.is_valid(), "check must refuse it");
    let eff = loaded.effective.expect("effective intent");
    for (lane, instance) in [("dev", None), ("pr", Some("pr-7"))] {
        let release = release_for(&eff, lane, None, false, instance);
        let rendered = render_lane(&eff, lane, &release).expect("renders");
        let all = listing(&rendered);
        assert!(
            !all.contains("s3cr3t"),
            "{lane}: a credential was rendered:\n{all}"
        );
        assert!(
            all.contains("https://git.example.com/ops.git"),
            "{lane}: the clean address is used:\n{all}"
        );
        assert!(
            rendered.argocd().count() >= 2,
            "{lane}: AppProject and Application(Set) rendered"
        );
    }
}
