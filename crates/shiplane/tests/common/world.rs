//! The world every end-to-end test starts from: a source repository with an intent, a bare
//! GitOps repository and a real `docker-registry`, each in its own temporary directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use shiplane_testkit::GitRepo;
use shiplane_testkit::registry::{RegistryConfig, TestRegistry};

/// A source repository, a bare GitOps repository (`<tmp>/srv/gitops.git`, so a `git daemon`
/// can serve `<tmp>/srv`) and a registry. Dropping it stops the registry and removes the files.
pub struct World {
    pub source: GitRepo,
    pub tmp: tempfile::TempDir,
    pub gitops_path: PathBuf,
    pub cache: tempfile::TempDir,
    pub registry: TestRegistry,
}

impl World {
    /// Starts the registry, creates the bare GitOps repository and commits `files` plus
    /// `shiplane.yaml` (made by `intent` from the registry's `host:port` and the GitOps
    /// repository's path) to the source repository's `main`. `None` when `docker-registry` is
    /// missing (a loud skip; a failure under CI).
    pub fn start(intent: impl Fn(&str, &Path) -> String, files: &[(&str, &str)]) -> Option<World> {
        Self::start_with(&RegistryConfig::default(), intent, files)
    }

    /// [`World::start`] with a registry configured by `config` (auth, deletion disabled).
    pub fn start_with(
        config: &RegistryConfig<'_>,
        intent: impl Fn(&str, &Path) -> String,
        files: &[(&str, &str)],
    ) -> Option<World> {
        let registry = TestRegistry::start(config)?;
        let tmp = tempfile::tempdir().expect("temp dir");
        let srv = tmp.path().join("srv");
        std::fs::create_dir_all(&srv).expect("mkdir");
        let gitops_path = srv.join("gitops.git");
        let ok = Command::new("git")
            .args(["init", "-q", "--bare", "-b", "main"])
            .arg(&gitops_path)
            .status()
            .expect("git runs");
        assert!(ok.success(), "git init --bare failed");
        let source = GitRepo::new();
        let intent = intent(&registry.host(), &gitops_path);
        let mut all: Vec<(&str, &str)> = vec![("shiplane.yaml", intent.as_str())];
        all.extend_from_slice(files);
        source.write_all(&all);
        source.commit("initial");
        source.git(&["branch", "-M", "main"]);
        Some(World {
            source,
            tmp,
            gitops_path,
            cache: tempfile::tempdir().expect("temp dir"),
            registry,
        })
    }

    /// The GitOps repository as a `file://` URL.
    pub fn gitops_url(&self) -> String {
        format!("file://{}", self.gitops_path.display())
    }

    /// Runs `shiplane` in the source repository with this world's cache, as `alice`, without
    /// settings leaking in from the environment.
    pub fn shiplane(&self, args: &[&str]) -> Output {
        self.shiplane_with(args, &[])
    }

    /// [`World::shiplane`] with extra environment variables.
    pub fn shiplane_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd =
            assert_cmd::Command::cargo_bin("shiplane").expect("the shiplane binary is built");
        cmd.current_dir(self.source.path())
            .env("SHIPLANE_CACHE_DIR", self.cache.path())
            .env("SHIPLANE_ACTOR", "alice")
            .env_remove("SHIPLANE_INTENT")
            .env_remove("GITHUB_ACTOR")
            .env_remove("SHIPLANE_TEST_FEISHU_WEBHOOK")
            .env_remove("SHIPLANE_TEST_FEISHU_SECRET")
            .env_remove("SHIPLANE_NOTIFY_ALLOW_PRIVATE")
            .env_remove("SHIPLANE_NOTIFY_TIMEOUT_MS");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.args(args).output().expect("shiplane runs")
    }

    /// Runs with `--json`, expects success, returns the document.
    pub fn ok(&self, args: &[&str]) -> Value {
        self.ok_with(args, &[])
    }

    /// [`World::ok`] with extra environment variables.
    pub fn ok_with(&self, args: &[&str], env: &[(&str, &str)]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.shiplane_with(&all, env);
        assert_eq!(
            out.status.code(),
            Some(0),
            "shiplane {args:?}:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON on stdout")
    }

    /// Runs and expects exit status `code`; returns stdout + stderr.
    pub fn status(&self, args: &[&str], code: i32) -> String {
        let out = self.shiplane(args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(code), "shiplane {args:?}:\n{text}");
        text
    }

    /// Packs a small site for `service` with `text`, pushes it, publishes it; returns the digest.
    pub fn publish(&self, service: &str, text: &str) -> String {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("index.html"), text).expect("write");
        let head = self.source.git(&["rev-parse", "--short=7", "HEAD"]);
        let reference = format!("{}/shop/{service}:sha-{head}", self.registry.host());
        let pack = self.shiplane(&[
            "image",
            "pack",
            &dir.path().to_string_lossy(),
            "--to",
            &reference,
        ]);
        assert!(
            pack.status.success(),
            "{}",
            String::from_utf8_lossy(&pack.stderr)
        );
        self.ok(&["publish", service, "--image", &reference])["digest"]
            .as_str()
            .expect("a digest")
            .to_owned()
    }

    /// Runs git on the bare GitOps repository.
    pub fn git(&self, args: &[&str]) -> Output {
        Command::new("git")
            .arg("--git-dir")
            .arg(&self.gitops_path)
            .args(args)
            .output()
            .expect("git runs")
    }
}

/// The intent of the `shop` project up to `lanes:`: registry `host`, GitOps at `gitops_url`, and
/// three services (`api` with a port and health path, `web`, `worker`). Shared by the lane tests.
#[allow(dead_code, reason = "not every test file uses it")]
pub fn shop_intent_head(host: &str, gitops_url: &str) -> String {
    format!(
        r#"version: 1
project: shop
defaults:
  registry: {host}/shop
  gitops: {{ repo: "{gitops_url}", branch: main }}
services:
  api:
    paths: ["services/api/**"]
    build: {{ context: services/api }}
    run: {{ port: 8000, health: {{ path: /healthz }} }}
  web:
    paths: ["apps/web/**"]
    build: {{ context: apps/web }}
    run: {{ port: 3000 }}
  worker:
    paths: ["services/worker/**"]
    build: {{ context: services/worker }}
"#
    )
}
