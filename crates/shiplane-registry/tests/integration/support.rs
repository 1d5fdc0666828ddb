//! Test support: a real `docker-registry` (distribution 2.8) per test, started on a free
//! loopback port in a temporary directory and killed on drop, plus small helpers.
//!
//! When `docker-registry` (or `skopeo`, `htpasswd`) is missing the test says so loudly and
//! returns early, except under CI (`CI` set), where a missing component is a failure:
//! `scripts/install-test-deps.sh` installs them there.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use shiplane_registry::{
    ClientOptions, Credentials, PackOptions, PackedImage, RegistryClient, RetryPolicy, pack_dir,
};

/// Whether `program` is on PATH; if not, a loud message (and a panic under CI).
pub fn have(program: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()));
    if !found {
        let message = format!(
            "\n\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             !!! SKIPPED: `{program}` is not installed; run scripts/install-test-deps.sh\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        );
        assert!(std::env::var_os("CI").is_none(), "{message}");
        eprintln!("{message}");
    }
    found
}

/// A free loopback port (bound then released; the race with other processes is negligible).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// Options for [`TestRegistry::start`].
#[derive(Default)]
pub struct RegistryConfig<'a> {
    /// Basic auth user and password (htpasswd with bcrypt).
    pub auth: Option<(&'a str, &'a str)>,
    /// Disable manifest deletion.
    pub no_delete: bool,
}

/// A running `docker-registry`, killed on drop.
pub struct TestRegistry {
    child: Child,
    /// The port on 127.0.0.1.
    pub port: u16,
    /// The temporary directory with config and storage.
    pub dir: tempfile::TempDir,
}

impl TestRegistry {
    /// Starts a registry; `None` (after a loud message) when `docker-registry` is missing.
    pub fn start(config: &RegistryConfig<'_>) -> Option<Self> {
        if !have("docker-registry") {
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let auth = match config.auth {
            Some((user, password)) => {
                if !have("htpasswd") {
                    return None;
                }
                let output = Command::new("htpasswd")
                    .args(["-Bbn", user, password])
                    .output()
                    .expect("run htpasswd");
                assert!(output.status.success(), "htpasswd failed");
                let path = dir.path().join("htpasswd");
                std::fs::write(&path, output.stdout).expect("write htpasswd");
                format!(
                    "auth:\n  htpasswd:\n    realm: shiplane-test\n    path: {}\n",
                    path.display()
                )
            }
            None => String::new(),
        };
        let port = free_port();
        let yaml = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  \
             filesystem:\n    rootdirectory: {root}\n  delete:\n    enabled: {delete}\n  \
             maintenance:\n    uploadpurging:\n      enabled: false\nhttp:\n  addr: \
             127.0.0.1:{port}\n  secret: shiplane-test-secret\n{auth}",
            root = dir.path().join("storage").display(),
            delete = !config.no_delete,
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, yaml).expect("write config");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("log file");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("spawn docker-registry");
        let mut registry = Self { child, port, dir };
        registry.wait_ready();
        Some(registry)
    }

    fn wait_ready(&mut self) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(15) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("docker-registry exited with {status}: {}", self.log());
            }
            if let Some(status) = http_status(self.port, "/v2/")
                && (status == 200 || status == 401)
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "docker-registry did not answer on port {}: {}",
            self.port,
            self.log()
        );
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// An anonymous client.
    pub fn client(&self) -> RegistryClient {
        self.client_with(None)
    }

    /// A client with credentials.
    pub fn client_with(&self, credentials: Option<Credentials>) -> RegistryClient {
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

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

/// The status of a plain `GET path` on 127.0.0.1:port, if anything answers.
fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
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
