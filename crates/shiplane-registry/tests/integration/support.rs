//! Test support: a real `docker-registry` (distribution 2.8) per test, started on a free
//! loopback port in a temporary directory and killed on drop, plus small helpers.
//!
//! When `docker-registry` (or `skopeo`, `htpasswd`) is missing the test says so loudly and
//! returns early, except under CI (`CI` set), where a missing component is a failure:
//! `scripts/install-test-deps.sh` installs them there.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use shiplane_registry::{
    ClientOptions, Credentials, PackOptions, PackedImage, RegistryClient, RetryPolicy, pack_dir,
};

pub use shiplane_testkit::registry::{RegistryConfig, TestRegistry, free_port, have};

/// Clients for a [`TestRegistry`].
pub trait TestRegistryClients {
    /// An anonymous client.
    fn client(&self) -> RegistryClient;
    /// A client with credentials.
    fn client_with(&self, credentials: Option<Credentials>) -> RegistryClient;
}

impl TestRegistryClients for TestRegistry {
    /// An anonymous client.
    fn client(&self) -> RegistryClient {
        self.client_with(None)
    }

    /// A client with credentials.
    fn client_with(&self, credentials: Option<Credentials>) -> RegistryClient {
        RegistryClient::new(
            &self.host(),
            ClientOptions {
                credentials,
                retry: fast_retry(),
                ..ClientOptions::default()
            },
        )
        .expect("client")
    }
}

/// Retries quick enough for tests.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 5,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
    }
}

/// Writes a small application tree and returns its root.
pub fn app_tree(root: &Path, message: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let app = root.join("app");
    std::fs::create_dir_all(app.join("bin")).expect("mkdir");
    std::fs::write(
        app.join("bin/serve"),
        format!("#!/bin/sh\necho {message}\n"),
    )
    .expect("write");
    std::fs::set_permissions(
        app.join("bin/serve"),
        std::fs::Permissions::from_mode(0o755),
    )
    .expect("chmod");
    std::fs::write(app.join("message.txt"), message).expect("write");
    std::os::unix::fs::symlink("bin/serve", app.join("start")).expect("symlink");
    app
}

/// Packs a small application whose content depends on `message`.
pub fn packed(message: &str) -> PackedImage {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = app_tree(dir.path(), message);
    pack_dir(
        &app,
        &PackOptions {
            entrypoint: Some(vec!["/bin/serve".into()]),
            workdir: Some("/".into()),
            ..PackOptions::default()
        },
    )
    .expect("pack")
}

/// Runs skopeo and returns stdout; panics with stderr on failure.
pub fn skopeo(args: &[&str]) -> String {
    let output = Command::new("skopeo")
        .args(args)
        .env("HOME", std::env::temp_dir())
        .output()
        .expect("run skopeo");
    assert!(
        output.status.success(),
        "skopeo {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}
