//! Shared fixtures for the render tests: the example intents, deterministic releases, writing a
//! rendered lane to disk, and finding the real validators.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use shiplane_intent::EffectiveIntent;
use shiplane_render::{PinnedImage, RenderRelease, RenderedLane, render_lane};

/// The workspace's `examples/` directory.
pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// The repository's `testdata/` directory: the official schemas and CRDs the rendered objects
/// are validated against, copied with their licence notes (`testdata/schemas/README.md`), so a
/// fresh clone needs nothing beside it.
pub fn testdata_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

/// Loads an intent text that must be valid.
pub fn effective_from(text: &str) -> EffectiveIntent {
    let loaded = shiplane_intent::load_str(text);
    assert!(
        loaded.is_valid(),
        "invalid intent: {:#?}",
        loaded.diagnostics
    );
    loaded.effective.expect("effective intent")
}

/// Loads an example by file name.
pub fn example(name: &str) -> EffectiveIntent {
    let text = std::fs::read_to_string(examples_dir().join(name)).expect("read example");
    effective_from(&text)
}

/// A fake but well-formed digest derived from a service name, so snapshots are stable.
pub fn digest_for(service: &str) -> String {
    use std::fmt::Write as _;
    let mut hex = String::new();
    let mut x: u64 = 0xcbf2_9ce4_8422_2325;
    while hex.len() < 64 {
        for b in service.bytes() {
            x ^= u64::from(b);
            x = x.wrapping_mul(0x0100_0000_01b3);
        }
        let _ = write!(hex, "{x:016x}");
    }
    format!("sha256:{}", &hex[..64])
}

/// A release for every service the lane deploys.
pub fn release_for(
    eff: &EffectiveIntent,
    lane: &str,
    version: Option<&str>,
    hibernated: bool,
    instance: Option<&str>,
) -> RenderRelease {
    let l = &eff.lanes[lane];
    let registry = l
        .registry
        .clone()
        .unwrap_or_else(|| "registry.example.com/x".to_owned());
    let images: BTreeMap<String, PinnedImage> = l
        .services
        .iter()
        .map(|s| {
            (
                s.clone(),
                PinnedImage {
                    repository: format!("{registry}/{s}"),
                    digest: digest_for(s),
                },
            )
        })
        .collect();
    RenderRelease {
        version: version.map(str::to_owned),
        release_id: format!("{lane}-0001"),
        source_commit: "0123456789abcdef0123456789abcdef01234567".to_owned(),
        images,
        hibernated,
        instance: instance.map(str::to_owned),
    }
}

/// The five renders the issue asks for: (label, effective intent, lane, release).
pub fn cases() -> Vec<(&'static str, EffectiveIntent, &'static str, RenderRelease)> {
    let miker = example("miker.yaml");
    let agentrun = example("agentrun.json");
    vec![
        (
            "miker_dev",
            miker.clone(),
            "dev",
            release_for(&miker, "dev", None, false, None),
        ),
        (
            "miker_staging_hibernated",
            miker.clone(),
            "staging",
            release_for(&miker, "staging", None, true, None),
        ),
        (
            "miker_prod_canary",
            miker.clone(),
            "prod",
            release_for(&miker, "prod", Some("1.4.0"), false, None),
        ),
        (
            "miker_preview_pr_123",
            miker.clone(),
            "preview",
            release_for(&miker, "preview", None, false, Some("pr-123")),
        ),
        (
            "agentrun_v01",
            agentrun.clone(),
            "v0.1",
            release_for(&agentrun, "v0.1", Some("0.1.3"), false, None),
        ),
    ]
}

/// Renders and panics on error.
pub fn render(eff: &EffectiveIntent, lane: &str, release: &RenderRelease) -> RenderedLane {
    render_lane(eff, lane, release).unwrap_or_else(|e| panic!("render {lane}: {e}"))
}

/// Writes a rendered lane under `dir` (the lane's `manifests/` directory).
pub fn write(dir: &Path, lane: &RenderedLane) {
    for (path, bytes) in &lane.files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, bytes).expect("write");
    }
}

/// Whether a validator tool can run. Missing: a loud skip locally, a failure when `CI` is set.
pub fn tool_available(name: &str, probe: &[&str], install_hint: &str) -> bool {
    let ok = std::process::Command::new(name)
        .args(probe)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        let msg = format!(
            "`{name}` is not available, so this validation cannot run; install it with: {install_hint} (scripts/install-test-deps.sh does)"
        );
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("\n!!!!!!!!!! SKIPPED: {msg} !!!!!!!!!!\n");
    }
    ok
}
