//! Registry credentials: where they come from and how they are kept out of sight.
//!
//! This module owns [`Secret`] (a string whose `Debug` prints `***` and that has no `Display`),
//! [`Credentials`], and the lookup order: per-host environment variables, then the global
//! `SHIPLANE_REGISTRY_USERNAME`/`SHIPLANE_REGISTRY_PASSWORD`, then Docker's `config.json`
//! (`auths`, then `credHelpers`/`credsStore` through `docker-credential-<helper> get`, run only
//! when that helper is on `PATH`). The parsing is pure over [`CredentialSources`], so tests
//! inject the environment instead of mutating the process's. It must not know about HTTP: the
//! client decides whether credentials go out as Basic auth or in a token request.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use crate::error::{RegistryError, Result};
use crate::reference::{DOCKER_HUB, DOCKER_HUB_API};

pub use shiplane_http::Secret;

/// A username and password for one registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// The user name (not secret; it may appear in error messages).
    pub username: String,
    /// The password or access token.
    pub password: Secret,
}

impl Credentials {
    /// Credentials from a username and password.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: Secret::new(password),
        }
    }

    /// The value of an `Authorization: Basic …` header.
    pub(crate) fn basic_header(&self) -> Secret {
        Secret::new(format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", self.username, self.password.expose()))
        ))
    }
}

/// Where credentials are looked up: the environment, Docker's config file and `PATH`.
///
/// [`CredentialSources::from_process`] reads the real ones; tests build one by hand.
#[derive(Clone, Debug, Default)]
pub struct CredentialSources {
    /// Environment variables (only the `SHIPLANE_REGISTRY_*` ones are read).
    pub env: BTreeMap<String, String>,
    /// The Docker `config.json` to read, if any.
    pub docker_config: Option<PathBuf>,
    /// The `PATH` used to find `docker-credential-*` helpers.
    pub path: Option<OsString>,
}

impl CredentialSources {
    /// The sources of this process: its `SHIPLANE_REGISTRY_*` variables,
    /// `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`, and `PATH`.
    pub fn from_process() -> Self {
        let env = std::env::vars()
            .filter(|(key, _)| key.starts_with("SHIPLANE_REGISTRY_"))
            .collect();
        let docker_config = std::env::var_os("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".docker")))
            .map(|dir| dir.join("config.json"));
        Self {
            env,
            docker_config,
            path: std::env::var_os("PATH"),
        }
    }

    /// Finds credentials for `host` (as in a reference: `ghcr.io`, `127.0.0.1:5000`,
    /// `docker.io`). `Ok(None)` means anonymous access.
    pub fn lookup(&self, host: &str) -> Result<Option<Credentials>> {
        if let Some(credentials) = self.env_credentials(host) {
            return Ok(Some(credentials));
        }
        let Some(path) = &self.docker_config else {
            return Ok(None);
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(RegistryError::io("reading", path, e)),
        };
        let config = DockerConfig::parse(&text).map_err(|detail| RegistryError::Credentials {
            registry: host.to_owned(),
            detail: format!("{}: {detail}", path.display()),
        })?;
        match config
            .lookup(host)
            .map_err(|detail| RegistryError::Credentials {
                registry: host.to_owned(),
                detail: format!("{}: {detail}", path.display()),
            })? {
            DockerLookup::Found(credentials) => Ok(Some(credentials)),
            DockerLookup::Helper(helper) => self.run_helper(&helper, host),
            DockerLookup::None => Ok(None),
        }
    }

    fn env_credentials(&self, host: &str) -> Option<Credentials> {
        let key = env_host_key(host);
        let pair = |user: String, pass: String| {
            Some(Credentials::new(
                self.env.get(&user)?.clone(),
                self.env.get(&pass)?.clone(),
            ))
        };
        pair(
            format!("SHIPLANE_REGISTRY_{key}_USERNAME"),
            format!("SHIPLANE_REGISTRY_{key}_PASSWORD"),
        )
        .or_else(|| {
            pair(
                "SHIPLANE_REGISTRY_USERNAME".to_owned(),
                "SHIPLANE_REGISTRY_PASSWORD".to_owned(),
            )
        })
    }

    fn run_helper(&self, helper: &str, host: &str) -> Result<Option<Credentials>> {
        #[derive(Deserialize)]
        struct HelperOutput {
            #[serde(rename = "Username")]
            username: String,
            #[serde(rename = "Secret")]
            secret: String,
        }
        let program = format!("docker-credential-{helper}");
        let Some(executable) = self.find_on_path(&program) else {
            // The config names a helper that is not installed here (common when a config is
            // copied between machines): fall back to anonymous rather than failing.
            return Ok(None);
        };
        let failed = |detail: String| RegistryError::Credentials {
            registry: host.to_owned(),
            detail: format!("{program}: {detail}"),
        };
        let mut child = Command::new(&executable)
            .arg("get")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| failed(e.to_string()))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(helper_server_url(host).as_bytes())
                .map_err(|e| failed(e.to_string()))?;
        }
        let output = child
            .wait_with_output()
            .map_err(|e| failed(e.to_string()))?;
        if !output.status.success() {
            let stdout = String::from_utf8_lossy(&output.stdout);
            // "credentials not found in native keychain" is the helpers' way to say "none".
            if stdout.contains("credentials not found") {
                return Ok(None);
            }
            return Err(failed(format!("exited with {}", output.status)));
        }
        let parsed: HelperOutput = serde_json::from_slice(&output.stdout)
            .map_err(|e| failed(format!("unreadable answer: {e}")))?;
        Ok(Some(Credentials::new(parsed.username, parsed.secret)))
    }

    fn find_on_path(&self, program: &str) -> Option<PathBuf> {
        let path = self.path.as_ref()?;
        std::env::split_paths(path)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    }
}

/// The per-host part of an environment variable name: `ghcr.io` → `GHCR_IO`,
/// `127.0.0.1:5000` → `127_0_0_1_5000`.
pub fn env_host_key(host: &str) -> String {
    host.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// What Docker credential helpers expect on stdin for Docker Hub.
fn helper_server_url(host: &str) -> String {
    if is_docker_hub(host) {
        "https://index.docker.io/v1/".to_owned()
    } else {
        host.to_owned()
    }
}

fn is_docker_hub(host: &str) -> bool {
    matches!(
        host,
        DOCKER_HUB | DOCKER_HUB_API | "index.docker.io" | "registry.hub.docker.com"
    )
}

/// The parts of Docker's `config.json` that hold credentials.
#[derive(Debug, Default, Deserialize)]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, DockerAuth>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

#[derive(Default, Deserialize)]
struct DockerAuth {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

impl fmt::Debug for DockerAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DockerAuth")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// What the Docker config says about one host.
#[derive(Debug, PartialEq, Eq)]
enum DockerLookup {
    Found(Credentials),
    Helper(String),
    None,
}

impl DockerConfig {
    fn parse(text: &str) -> std::result::Result<Self, String> {
        serde_json::from_str(text).map_err(|e| format!("not a Docker config file: {e}"))
    }

    /// `credHelpers` for the host wins, then an `auths` entry, then `credsStore`.
    fn lookup(&self, host: &str) -> std::result::Result<DockerLookup, String> {
        if let Some(helper) = self
            .cred_helpers
            .iter()
            .find(|(key, _)| same_host(key, host))
            .map(|(_, helper)| helper)
        {
            return Ok(DockerLookup::Helper(helper.clone()));
        }
        if let Some(entry) = self
            .auths
            .iter()
            .find(|(key, _)| same_host(key, host))
            .map(|(_, entry)| entry)
        {
            if let Some(encoded) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
                let decoded = STANDARD
                    .decode(encoded.trim())
                    .map_err(|_| "an `auth` entry is not valid base64".to_owned())?;
                let decoded = String::from_utf8(decoded)
                    .map_err(|_| "an `auth` entry is not UTF-8".to_owned())?;
                let Some((username, password)) = decoded.split_once(':') else {
                    return Err("an `auth` entry is not `user:password`".to_owned());
                };
                return Ok(DockerLookup::Found(Credentials::new(username, password)));
            }
            if let (Some(username), Some(password)) = (&entry.username, &entry.password) {
                return Ok(DockerLookup::Found(Credentials::new(
                    username.clone(),
                    password.clone(),
                )));
            }
        }
        Ok(match &self.creds_store {
            Some(store) if !store.is_empty() => DockerLookup::Helper(store.clone()),
            _ => DockerLookup::None,
        })
    }
}

/// Whether a `config.json` key (`https://index.docker.io/v1/`, `ghcr.io`, `http://h:5000`)
/// names `host`.
fn same_host(key: &str, host: &str) -> bool {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let key = key.split('/').next().unwrap_or(key);
    key == host || (is_docker_hub(key) && is_docker_hub(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_is_redacted() {
        let credentials = Credentials::new("alice", "hunter2");
        let debug = format!("{credentials:?}");
        assert!(debug.contains("alice"));
        assert!(debug.contains("***"));
        assert!(!debug.contains("hunter2"));
        assert!(!format!("{:?}", credentials.basic_header()).contains("hunter2"));
        assert_eq!(credentials.password.expose(), "hunter2");
    }

    #[test]
    fn docker_config_auths_and_helpers() {
        let config = DockerConfig::parse(
            r#"{
              "auths": {
                "https://index.docker.io/v1/": {"auth": "aHViOnNlY3JldA=="},
                "ghcr.io": {"username": "bob", "password": "pw"},
                "http://127.0.0.1:5000": {"auth": "dTpw"}
              },
              "credHelpers": {"123.dkr.ecr.example": "ecr-login"},
              "credsStore": "desktop"
            }"#,
        )
        .unwrap();
        assert_eq!(
            config.lookup("docker.io").unwrap(),
            DockerLookup::Found(Credentials::new("hub", "secret"))
        );
        assert_eq!(
            config.lookup("registry-1.docker.io").unwrap(),
            DockerLookup::Found(Credentials::new("hub", "secret"))
        );
        assert_eq!(
            config.lookup("ghcr.io").unwrap(),
            DockerLookup::Found(Credentials::new("bob", "pw"))
        );
        assert_eq!(
            config.lookup("127.0.0.1:5000").unwrap(),
            DockerLookup::Found(Credentials::new("u", "p"))
        );
        assert_eq!(
            config.lookup("123.dkr.ecr.example").unwrap(),
            DockerLookup::Helper("ecr-login".into())
        );
        assert_eq!(
            config.lookup("quay.io").unwrap(),
            DockerLookup::Helper("desktop".into())
        );
        let empty = DockerConfig::parse("{}").unwrap();
        assert_eq!(empty.lookup("quay.io").unwrap(), DockerLookup::None);
        let broken = DockerConfig::parse(r#"{"auths":{"h.io":{"auth":"%%%"}}}"#).unwrap();
        let err = broken.lookup("h.io").unwrap_err();
        assert!(!err.contains("%%%"));
    }

    #[test]
    fn env_wins_per_host_then_global() {
        let mut sources = CredentialSources::default();
        sources
            .env
            .insert("SHIPLANE_REGISTRY_USERNAME".into(), "global".into());
        sources
            .env
            .insert("SHIPLANE_REGISTRY_PASSWORD".into(), "g-pass".into());
        sources.env.insert(
            "SHIPLANE_REGISTRY_127_0_0_1_5000_USERNAME".into(),
            "local".into(),
        );
        sources.env.insert(
            "SHIPLANE_REGISTRY_127_0_0_1_5000_PASSWORD".into(),
            "l-pass".into(),
        );
        assert_eq!(
            sources.lookup("127.0.0.1:5000").unwrap(),
            Some(Credentials::new("local", "l-pass"))
        );
        assert_eq!(
            sources.lookup("ghcr.io").unwrap(),
            Some(Credentials::new("global", "g-pass"))
        );
        assert_eq!(
            CredentialSources::default().lookup("ghcr.io").unwrap(),
            None
        );
    }

    #[test]
    fn docker_config_file_and_missing_helper() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"auths":{"h.io":{"auth":"dTpw"}},"credsStore":"nope-xyz"}"#,
        )
        .unwrap();
        let sources = CredentialSources {
            docker_config: Some(path),
            path: Some(dir.path().as_os_str().to_owned()),
            ..CredentialSources::default()
        };
        assert_eq!(
            sources.lookup("h.io").unwrap(),
            Some(Credentials::new("u", "p"))
        );
        // The store's helper is not on PATH: anonymous, not an error.
        assert_eq!(sources.lookup("other.io").unwrap(), None);
    }

    #[cfg(unix)]
    #[test]
    fn credential_helper_is_run_when_on_path() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let helper = dir.path().join("docker-credential-fake");
        std::fs::write(
            &helper,
            "#!/bin/sh\nread host\nprintf '{\"ServerURL\":\"%s\",\"Username\":\"helper-user\",\"Secret\":\"s3\"}' \"$host\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let config = dir.path().join("config.json");
        std::fs::write(&config, r#"{"credHelpers":{"h.io":"fake"}}"#).unwrap();
        let sources = CredentialSources {
            docker_config: Some(config),
            path: Some(dir.path().as_os_str().to_owned()),
            ..CredentialSources::default()
        };
        assert_eq!(
            sources.lookup("h.io").unwrap(),
            Some(Credentials::new("helper-user", "s3"))
        );
    }

    #[test]
    fn env_host_keys() {
        assert_eq!(env_host_key("ghcr.io"), "GHCR_IO");
        assert_eq!(env_host_key("127.0.0.1:5000"), "127_0_0_1_5000");
    }
}
