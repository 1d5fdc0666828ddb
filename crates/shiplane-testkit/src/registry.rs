//! A real `docker-registry` (Debian's distribution 2.8) per test, on a free loopback port in a
//! temporary directory, killed on drop. Shared by every crate whose tests need a registry.
//!
//! When `docker-registry` (or `htpasswd`) is missing the test says so loudly and returns early,
//! except under CI (`CI` set), where a missing component is a failure:
//! `scripts/install-test-deps.sh` installs them there.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The status of a plain `GET path` on 127.0.0.1:port, if anything answers.
pub fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}
