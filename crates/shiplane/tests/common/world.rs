//! The world every end-to-end test starts from: a source repository with an intent, a bare
//! GitOps repository and a real `docker-registry`, each in its own temporary directory.

use std::path::{Path, PathBuf};
use std::process::Command;

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
        let registry = TestRegistry::start(&RegistryConfig::default())?;
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
}
