#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]
//! `shiplane quickstart` end to end, in a temporary HOME and cache: it must leave a real GitOps
//! history behind (promotions through three lanes, a version in prod, a rollback that restores
//! dev's first digests and holds it), and running it again on the same directory must work.

mod common;

use std::path::Path;
use std::process::{Command as StdCommand, Output};

use serde_json::Value;
use shiplane_testkit::registry::{RegistryConfig, TestRegistry};

const SERVICES: [&str; 3] = ["api", "web", "worker"];

/// A user with nothing configured: an empty HOME, no git identity, a fresh cache.
struct Machine {
    home: tempfile::TempDir,
    cache: tempfile::TempDir,
    work: tempfile::TempDir,
}

impl Machine {
    fn new() -> Self {
        Machine {
            home: tempfile::tempdir().unwrap(),
            cache: tempfile::tempdir().unwrap(),
            work: tempfile::tempdir().unwrap(),
        }
    }

    fn quickstart(&self, args: &[&str]) -> Output {
        let mut c = common::shiplane();
        c.current_dir(self.work.path())
            .env("HOME", self.home.path())
            .env("SHIPLANE_CACHE_DIR", self.cache.path())
            .env("GIT_CONFIG_NOSYSTEM", "1");
        for var in [
            "XDG_CONFIG_HOME",
            "XDG_CACHE_HOME",
            "SHIPLANE_ACTOR",
            "GITHUB_ACTOR",
            "BUILDKITE_BUILD_CREATOR",
            "GIT_AUTHOR_NAME",
            "GIT_AUTHOR_EMAIL",
            "GIT_COMMITTER_NAME",
            "GIT_COMMITTER_EMAIL",
            "GIT_DIR",
        ] {
            c.env_remove(var);
        }
        c.arg("quickstart").args(args).output().unwrap()
    }

    fn quickstart_json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.quickstart(&all);
        assert_eq!(
            out.status.code(),
            Some(0),
            "quickstart {args:?}:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&out.stdout));
        })
    }
}

fn git(git_dir: &Path, args: &[&str]) -> String {
    let out = StdCommand::new("git")
        .arg("--git-dir")
        .arg(git_dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json_at(git_dir: &Path, rev: &str, path: &str) -> Value {
    serde_json::from_str(&git(git_dir, &["show", &format!("{rev}:{path}")])).unwrap()
}

fn digests(catalog: &Value) -> Vec<String> {
    SERVICES
        .iter()
        .map(|s| {
            catalog["services"][s]["digest"]
                .as_str()
                .unwrap_or_else(|| panic!("no digest for {s} in {catalog}"))
                .to_owned()
        })
        .collect()
}

/// The GitOps history a quickstart leaves, checked file by file.
fn check_history(summary: &Value) {
    let gitops = Path::new(summary["paths"]["gitops"].as_str().unwrap());
    let log = git(gitops, &["log", "--format=%H %s", "main"]);
    let commits: Vec<(&str, &str)> = log.lines().map(|l| l.split_once(' ').unwrap()).collect();
    assert!(commits.len() >= 6, "too few GitOps commits:\n{log}");
    for lane in ["dev", "staging", "prod"] {
        let release = json_at(gitops, "main", &format!("lanes/{lane}/release.json"));
        assert_eq!(release["lane"], lane, "{release}");
    }
    let prod = json_at(gitops, "main", "lanes/prod/release.json");
    assert_eq!(prod["version"], "0.1.0", "{prod}");
    let approvers: Vec<&str> = prod["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["by"].as_str().unwrap())
        .collect();
    assert_eq!(approvers, ["bob"]);
    let staging = json_at(gitops, "main", "lanes/staging/release.json");
    assert_eq!(staging["approvals"][0]["by"], "alice", "{staging}");
    assert_eq!(staging["id"], prod["id"], "a release keeps its id");

    // Dev: promoted twice, then rolled back to the first promotion's images, and held.
    let dev_promotions: Vec<&str> = commits
        .iter()
        .filter(|(_, s)| s.starts_with("Promote dev"))
        .map(|(h, _)| *h)
        .collect();
    assert_eq!(dev_promotions.len(), 2, "{log}");
    let first_dev = json_at(gitops, dev_promotions[1], "lanes/dev/catalog.json");
    let second_dev = json_at(gitops, dev_promotions[0], "lanes/dev/catalog.json");
    let now_dev = json_at(gitops, "main", "lanes/dev/catalog.json");
    assert_eq!(digests(&now_dev), digests(&first_dev));
    let changed: Vec<&str> = SERVICES
        .iter()
        .zip(digests(&first_dev).iter().zip(digests(&second_dev)))
        .filter(|(_, (a, b))| *a != b)
        .map(|(s, _)| *s)
        .collect();
    assert_eq!(changed, ["web"], "only the changed service got a new image");
    assert!(
        commits[0].1.starts_with("Roll back dev"),
        "the last commit is the rollback:\n{log}"
    );
    let state = json_at(gitops, "main", "lanes/dev/state.json");
    assert_eq!(state["held"], true, "{state}");
    // The rendered manifests deploy images by digest.
    let deployment = git(
        gitops,
        &["show", "main:lanes/dev/manifests/web/deployment.yaml"],
    );
    assert!(
        deployment.contains(&format!("@{}", digests(&first_dev)[1])),
        "{deployment}"
    );
    // Four artifacts recorded: three services, then the changed one.
    let records = commits
        .iter()
        .filter(|(_, s)| s.starts_with("Record "))
        .count();
    assert_eq!(records, 4, "{log}");

    // Every step ran, the registry gc dry run too (per service: the sha- tags, dev-latest,
    // prod and 0.1.0; web has two sha- tags): every image is referenced by a lane's
    // release or rollback window, so nothing would be deleted.
    let steps = summary["steps"].as_array().unwrap();
    for step in steps {
        assert_eq!(step["status"], "ok", "{step}");
    }
    let gc = steps.iter().find(|s| s["name"] == "registry gc").unwrap();
    let gc_text = gc["summary"].as_str().unwrap();
    assert!(
        gc_text.contains("dry run over 13 tag(s) in 3 repositories: 13 kept, 0 would be deleted"),
        "{gc}"
    );
    let plans: Vec<&Value> = steps.iter().filter(|s| s["name"] == "plan").collect();
    assert_eq!(plans.len(), 2);
    assert!(
        plans[1]["summary"]
            .as_str()
            .unwrap()
            .starts_with("1 to build [web: own paths changed], 0 reused, 2 unchanged"),
        "{}",
        plans[1]
    );
    // The working copy the explore commands point at.
    let checkout = Path::new(summary["paths"]["gitops_checkout"].as_str().unwrap());
    assert!(
        checkout
            .join("lanes/dev/manifests/kustomization.yaml")
            .is_file()
    );
    assert_eq!(summary["explore"].as_array().unwrap().len(), 3);
}

#[test]
fn quickstart_runs_the_whole_job_and_runs_again() {
    let m = Machine::new();
    let first = m.quickstart_json(&[]);
    let dir = m
        .work
        .path()
        .join("shiplane-quickstart")
        .canonicalize()
        .unwrap();
    assert_eq!(first["root"], dir.to_str().unwrap());
    assert!(
        dir.join("source/shiplane.yaml").is_file()
            && dir.join("registry/index.json").is_file()
            && dir.join("gitops.git/HEAD").is_file()
    );
    check_history(&first);
    // The monorepo's own history: an empty start, the services, the change.
    let source = dir.join("source/.git");
    let subjects = git(&source, &["log", "--format=%s", "main"]);
    assert_eq!(subjects.lines().count(), 3, "{subjects}");
    assert_eq!(
        git(&source, &["log", "-1", "--format=%an <%ae>"]).trim(),
        "Shiplane Quickstart <quickstart@shiplane.invalid>"
    );

    // Again, in text: a fresh run beside the first, which stays as it was.
    let before = git(&dir.join("gitops.git"), &["rev-parse", "main"]);
    let out = m.quickstart(&[]);
    common::assert_exit(&out, 0);
    let text = String::from_utf8(out.stdout).unwrap();
    let run2 = dir.join("run-2");
    for expected in [
        "shiplane check",
        "shiplane plan --base HEAD~1",
        "SHIPLANE_ACTOR=bob shiplane promote prod --from staging --approve",
        "shiplane rollback dev",
        "shiplane registry gc --dry-run",
        "0 would be deleted",
        &format!("git -C {}/gitops.git log --oneline", run2.display()),
        &format!(
            "shiplane status --intent {}/source/shiplane.yaml",
            run2.display()
        ),
        &format!("ls {}/gitops-checkout/lanes/dev/manifests", run2.display()),
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(!text.contains('\u{1b}'), "no colour without a terminal");
    assert_eq!(git(&dir.join("gitops.git"), &["rev-parse", "main"]), before);
    assert!(run2.join("gitops.git").is_dir());
    // And a third time, by JSON, still a full history.
    let third = m.quickstart_json(&["shiplane-quickstart"]);
    assert_eq!(third["root"], dir.join("run-3").to_str().unwrap());
    check_history(&third);
}

#[test]
fn quickstart_refuses_a_directory_it_did_not_make() {
    let m = Machine::new();
    let mine = m.work.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "keep me\n").unwrap();
    let out = m.quickstart(&["mine"]);
    common::assert_exit(&out, 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("was not made by `shiplane quickstart`"),
        "{stderr}"
    );
    let entries: Vec<_> = std::fs::read_dir(&mine).unwrap().collect();
    assert_eq!(
        entries.len(),
        1,
        "nothing written into a directory it refused"
    );
}

#[test]
fn quickstart_pushes_to_a_registry_when_given_one() {
    let Some(registry) = TestRegistry::start(&RegistryConfig::default()) else {
        eprintln!("SKIPPED: docker-registry is not installed (scripts/install-test-deps.sh)");
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the registry tests"
        );
        return;
    };
    let m = Machine::new();
    let prefix = format!("{}/quickstart", registry.host());
    let summary = m.quickstart_json(&["qs", "--registry", &prefix]);
    assert_eq!(summary["paths"]["registry"], prefix.as_str());
    assert!(summary["paths"]["oci_layout"].is_null());
    check_history(&summary);
    let gitops = Path::new(summary["paths"]["gitops"].as_str().unwrap());
    let catalog = json_at(gitops, "main", "lanes/prod/catalog.json");
    assert_eq!(
        catalog["services"]["api"]["image"],
        format!("{prefix}/api").as_str(),
        "{catalog}"
    );
}
