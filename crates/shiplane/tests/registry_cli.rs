#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]
//! Registry hygiene end to end against a real `docker-registry`: lane tags put on promotion,
//! copies into a lane's own registry (another repository, and an oci-layout directory), and
//! `shiplane registry gc` — the dry run changes nothing, `--execute` deletes only what no lane
//! references, and a tag pushed onto a planned digest during the run saves it.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command as StdCommand;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::world::World;
use common::{points_to, registry_digest as resolve, sha256_hex};
use serde_json::Value;
use shiplane_testkit::registry::have;

impl World {
    /// Packs `text` into an image, pushes it to `reference` (`HOST/REPO:TAG`).
    fn push(&self, reference: &str, text: &str) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), text).unwrap();
        let out = self.shiplane(&[
            "image",
            "pack",
            &dir.path().to_string_lossy(),
            "--to",
            reference,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Pushes `text` as `REPO:sha-<HEAD>` and records it with `shiplane publish`.
    fn publish_to(&self, service: &str, repo: &str, text: &str) -> String {
        let head = self.source.git(&["rev-parse", "--short=7", "HEAD"]);
        let reference = format!("{repo}:sha-{head}");
        self.push(&reference, text);
        self.ok(&["publish", service, "--image", &reference])["digest"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn gitops_json(&self, path: &str) -> Value {
        let out = self.git(&["show", &format!("main:{path}")]);
        assert!(
            out.status.success(),
            "{path} missing in the GitOps repository"
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Commits `text` as `path` to the GitOps repository's `main` by hand (a clone, a commit,
    /// a push), as a person editing the repository would.
    fn gitops_write(&self, path: &str, text: &str) {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let out = StdCommand::new("git")
                .current_dir(dir.path())
                .args(["-c", "user.name=Hand", "-c", "user.email=hand@example.com"])
                .args(args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "git {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        git(&["clone", "-q", &self.gitops_url(), "."]);
        std::fs::write(dir.path().join(path), text).unwrap();
        git(&["commit", "-qam", &format!("edit {path} by hand")]);
        git(&["push", "-q", "origin", "HEAD:main"]);
    }

    /// The source repository's `HEAD`, in full.
    fn head(&self) -> String {
        self.source.git(&["rev-parse", "HEAD"]).trim().to_owned()
    }

    /// Rewrites the intent in the work tree (not committed): the next command reads it.
    fn edit_intent(&self, from: &str, to: &str) {
        let path = self.source.path().join("shiplane.yaml");
        let intent = std::fs::read_to_string(&path).unwrap();
        assert!(intent.contains(from), "{from} not in the intent");
        std::fs::write(&path, intent.replace(from, to)).unwrap();
    }

    fn change(&self, path: &str, text: &str) {
        self.source.write(path, text);
        self.source.commit(&format!("change {path}"));
    }
}

/// The registry's storage, file by file (path → content), to show a dry run changes nothing.
fn storage(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn tools() -> bool {
    if have("skopeo") && have("sha256sum") {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "skopeo is missing under CI: run scripts/install-test-deps.sh"
    );
    eprintln!("SKIPPED: skopeo is not installed");
    false
}

fn gc_intent(host: &str, gitops: &Path) -> String {
    format!(
        r#"version: 1
project: shop
defaults:
  registry: {host}/shop
  gitops: {{ repo: "file://{gitops}", branch: main }}
services:
  api:
    paths: ["services/api/**"]
    build: {{ context: services/api }}
lanes:
  dev:
    tags: ["dev-latest"]
  prod:
    from: dev
    version: patch
    tags: ["prod", "{{version}}"]
retention:
  keep_newest: 5
  keep_tags: ["keep-*"]
  rollback_window: 1
"#,
        gitops = gitops.display()
    )
}

/// The issue's walkthrough: three released images, 40 old tags, `keep_newest: 5`, no grace.
#[test]
fn gc_keeps_every_referenced_digest_and_deletes_old_tags() {
    if !tools() {
        return;
    }
    let Some(w) = World::start(gc_intent, &[("services/api/main.py", "v1\n")]) else {
        return;
    };
    let repo = format!("{}/shop/api", w.registry.host());

    // Three releases: dev runs v3 (v2 in its rollback window), prod runs v2 (v1 in its window).
    let v1 = w.publish_to("api", &repo, "api v1");
    w.ok(&["promote", "dev", "--commit", "HEAD"]);
    w.ok(&["promote", "prod", "--from", "dev"]);
    w.change("services/api/main.py", "v2\n");
    let v2 = w.publish_to("api", &repo, "api v2");
    w.ok(&["promote", "dev", "--commit", "HEAD"]);
    let promoted = w.ok(&["promote", "prod", "--from", "dev"]);
    w.change("services/api/main.py", "v3\n");
    let v3 = w.publish_to("api", &repo, "api v3");
    w.ok(&["promote", "dev", "--commit", "HEAD"]);

    // Lane tags follow the lanes.
    let version = promoted["release"]["version"].as_str().unwrap().to_owned();
    points_to(&format!("{repo}:dev-latest"), &v3);
    points_to(&format!("{repo}:prod"), &v2);
    points_to(&format!("{repo}:{version}"), &v2);
    let tags = &promoted["tags"];
    assert!(
        tags.as_array()
            .unwrap()
            .iter()
            .any(|t| t["tag"] == "prod" && t["moved"] == true),
        "{tags}"
    );

    // 40 old tags nothing refers to, and one of them also tagged `keep-this` (kept by pattern).
    for i in 0..40 {
        w.push(&format!("{repo}:old-{i:02}"), &format!("old build {i}"));
    }
    w.push(&format!("{repo}:keep-this"), "old build 7");
    let shared = resolve(&format!("{repo}:old-07")).unwrap();

    // The dry run: the plan, and not one byte changed in the registry.
    let root = w.registry.dir.path().join("storage");
    let before = storage(&root);
    let plan = w.ok(&["registry", "gc"]);
    assert_eq!(
        storage(&root),
        before,
        "a dry run must not change the registry"
    );
    assert_eq!(plan["dry_run"], true);
    let decisions = plan["decisions"].as_array().unwrap();
    let deleted: Vec<&str> = decisions
        .iter()
        .filter(|d| d["action"] == "delete")
        .map(|d| d["tag"].as_str().unwrap())
        .collect();
    assert_eq!(deleted.len(), 39, "{deleted:?}");
    assert!(deleted.iter().all(|t| t.starts_with("old-")), "{deleted:?}");
    assert!(
        !deleted.contains(&"old-07"),
        "old-07 shares its digest with keep-this"
    );
    let why = |tag: &str| -> String {
        decisions.iter().find(|d| d["tag"] == tag).unwrap()["reasons"][0]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(why("old-07").contains("keep-this"), "{}", why("old-07"));
    assert!(why("dev-latest").contains("dev"), "{}", why("dev-latest"));
    let head = w.source.git(&["rev-parse", "--short=7", "HEAD~2"]);
    assert!(
        why(&format!("sha-{head}")).contains("prod"),
        "v1 is in prod's rollback window: {}",
        why(&format!("sha-{head}"))
    );
    let text = w.status(&["registry", "gc"], 0);
    assert!(text.contains("dry run: nothing was changed"), "{text}");

    // Execute: only the 39 go, each recorded in the audit log.
    let done = w.ok(&["registry", "gc", "--execute"]);
    let deletions = done["deletions"].as_array().unwrap();
    assert_eq!(deletions.len(), 39);
    assert!(
        deletions.iter().all(|d| d["outcome"] == "deleted"),
        "{done}"
    );
    for i in (0..40).filter(|i| *i != 7) {
        assert_eq!(
            resolve(&format!("{repo}:old-{i:02}")),
            None,
            "old-{i:02} survived"
        );
    }
    for digest in [&v1, &v2, &v3, &shared] {
        points_to(&format!("{repo}@{digest}"), digest);
    }
    points_to(&format!("{repo}:dev-latest"), &v3);
    points_to(&format!("{repo}:prod"), &v2);
    points_to(&format!("{repo}:keep-this"), &shared);

    let audit = w.git(&["show", "main:registry/audit.jsonl"]);
    let lines: Vec<Value> = String::from_utf8(audit.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 39);
    assert!(
        lines
            .iter()
            .all(|l| l["actor"] == "alice" && l["repository"] == repo.as_str())
    );
    assert!(lines.iter().any(|l| l["tag"] == "old-00"));

    // Again: nothing left to delete, no new audit commit.
    let again = w.ok(&["registry", "gc", "--execute"]);
    assert_eq!(again["deleted"], 0);
    assert_eq!(again["audit_commits"].as_array().unwrap().len(), 0);
    let _ = w.gitops_json("artifacts/api.json");
}

/// When a proxy runs its hook.
#[derive(Clone, Copy, PartialEq, Eq)]
enum HookAt {
    /// Before the request reaches the registry.
    Request,
    /// After the registry answered, before the client gets the answer: what the client reads
    /// was true before the hook ran.
    Answer,
}

/// A forwarding proxy in front of the registry, one request per connection, that runs `hook`
/// around the `nth` request whose request line starts with `trigger` (see [`HookAt`]).
fn proxy(
    upstream: u16,
    trigger: String,
    nth: usize,
    at: HookAt,
    hook: Arc<dyn Fn() + Send + Sync>,
) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            let (trigger, seen, hook) = (trigger.clone(), seen.clone(), hook.clone());
            std::thread::spawn(move || {
                let _ = forward(client, upstream, &trigger, &seen, nth, at, hook.as_ref());
            });
        }
    });
    port
}

fn forward(
    client: TcpStream,
    upstream: u16,
    trigger: &str,
    seen: &AtomicUsize,
    nth: usize,
    at: HookAt,
    hook: &(dyn Fn() + Send + Sync),
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("connection:") {
            continue;
        }
        head.push_str(&line);
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let hooked = head.starts_with(trigger) && seen.fetch_add(1, Ordering::SeqCst) + 1 == nth;
    if hooked && at == HookAt::Request {
        hook();
    }
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    up.write_all(head.as_bytes())?;
    up.write_all(b"Connection: close\r\n\r\n")?;
    up.write_all(&body)?;
    let mut response = Vec::new();
    up.read_to_end(&mut response)?;
    if hooked && at == HookAt::Answer {
        hook();
    }
    let mut client = client;
    client.write_all(&response)?;
    client.shutdown(std::net::Shutdown::Both)
}

/// An image pushed during the run, onto a digest the plan deletes, saves that digest: the
/// repository is listed again right before deleting.
#[test]
fn a_tag_pushed_during_gc_saves_its_digest() {
    if !tools() {
        return;
    }
    let proxy_port = std::sync::OnceLock::<u16>::new();
    let hook_target = Arc::new(std::sync::Mutex::new(None::<(String, tempfile::TempDir)>));
    let Some(w) = World::start(
        |host, gitops| {
            // Every shiplane request goes through the proxy; the hook pushes directly.
            let direct: u16 = host.rsplit(':').next().unwrap().parse().unwrap();
            let target = hook_target.clone();
            let port = proxy(
                direct,
                "GET /v2/shop/api/tags/list".to_owned(),
                2,
                HookAt::Request,
                Arc::new(move || {
                    if let Some((reference, dir)) = target.lock().unwrap().as_ref() {
                        let out = assert_cmd::Command::cargo_bin("shiplane")
                            .unwrap()
                            .args(["image", "pack"])
                            .arg(dir.path())
                            .args(["--to", reference])
                            .output()
                            .unwrap();
                        assert!(out.status.success());
                    }
                }),
            );
            proxy_port.set(port).unwrap();
            gc_intent(&format!("127.0.0.1:{port}"), gitops)
                .replace("keep_newest: 5", "keep_newest: 1")
        },
        &[("services/api/main.py", "v1\n")],
    ) else {
        return;
    };
    let via_proxy = format!("127.0.0.1:{}/shop/api", proxy_port.get().unwrap());
    let direct = format!("{}/shop/api", w.registry.host());
    let v1 = w.publish_to("api", &via_proxy, "api v1");
    w.ok(&["promote", "dev", "--commit", "HEAD"]);
    w.push(&format!("{direct}:old-a"), "old a");
    w.push(&format!("{direct}:old-b"), "old b");
    let a = resolve(&format!("{direct}:old-a")).unwrap();

    // During the run, right before the repository is listed again, `late` lands on old-a's
    // digest.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "old a").unwrap();
    *hook_target.lock().unwrap() = Some((format!("{direct}:late"), dir));

    let done = w.ok(&["registry", "gc", "--execute"]);
    let deletions = done["deletions"].as_array().unwrap();
    let skipped: Vec<&Value> = deletions
        .iter()
        .filter(|d| d["outcome"] == "skipped")
        .collect();
    assert_eq!(skipped.len(), 1, "{done}");
    assert_eq!(skipped[0]["digest"], a.as_str());
    assert!(
        skipped[0]["why"].as_str().unwrap().contains("late"),
        "{done}"
    );
    points_to(&format!("{direct}:late"), &a);
    points_to(&format!("{direct}:old-a"), &a);
    assert_eq!(resolve(&format!("{direct}:old-b")), None);
    points_to(&format!("{direct}@{v1}"), &v1);
}

/// Regression (issue "Trust", item 2): the rollback window counted history commits, so an
/// intent-only re-promotion of the current release (same release id, a new commit in the
/// lane's history) filled a window of 1 with the current release, and the release a rollback
/// would restore was deleted.
#[test]
fn gc_after_an_intent_only_repromotion_keeps_the_rollback_target() {
    if !tools() {
        return;
    }
    let Some(w) = World::start(
        |host, gitops| {
            gc_intent(host, gitops)
                // Packed images share one creation time, so "newest" would fall to tag names
                // (random commit ids); with 0 only the references decide, deterministically.
                .replace("  keep_newest: 5\n", "  keep_newest: 0\n")
                .replace(
                    "    build: { context: services/api }\n",
                    "    build: { context: services/api }\n    run: { env: { LOG_LEVEL: info } }\n",
                )
        },
        &[("services/api/main.py", "v1\n")],
    ) else {
        return;
    };
    let repo = format!("{}/shop/api", w.registry.host());
    let a = w.publish_to("api", &repo, "api A");
    let release_a = w.ok(&["promote", "dev", "--commit", "HEAD"])["release"]["id"].clone();
    w.change("services/api/main.py", "v2\n");
    let b = w.publish_to("api", &repo, "api B");
    let commit_b = w.head();
    let promoted = w.ok(&["promote", "dev", "--commit", &commit_b]);
    let release_b = promoted["release"]["id"].clone();

    // An env value changes: B is rendered again, one more commit in dev's history, same release.
    w.edit_intent("LOG_LEVEL: info", "LOG_LEVEL: debug");
    let again = w.ok(&["promote", "dev", "--commit", &commit_b]);
    assert_eq!(again["committed"], true, "{again}");
    assert_eq!(again["release"]["id"], release_b);
    let history = w.ok(&["history", "dev"]);
    let ids: Vec<&Value> = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["release"])
        .collect();
    assert_eq!(ids, [&release_b, &release_b, &release_a], "{history}");

    w.push(&format!("{repo}:old-1"), "old 1");
    let old = resolve(&format!("{repo}:old-1")).unwrap();
    let done = w.ok(&["registry", "gc", "--execute"]);
    let reasons = |digest: &str| -> Vec<String> {
        done["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["digest"] == digest)
            .flat_map(|d| d["reasons"].as_array().unwrap().iter())
            .map(|r| r.as_str().unwrap().to_owned())
            .collect()
    };
    let why_a = reasons(&a);
    assert!(
        why_a.iter().any(|r| r.contains("rollback window")),
        "A is dev's rollback target: {why_a:?}\n{done}"
    );
    points_to(&format!("{repo}@{a}"), &a);
    points_to(&format!("{repo}@{b}"), &b);
    assert!(
        done["deletions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["digest"] == old.as_str() && d["outcome"] == "deleted"),
        "{done}"
    );
    assert_eq!(resolve(&format!("{repo}:old-1")), None);
}

/// Regression (issue "Trust", item 2): an ephemeral environment whose `release.json` could not
/// be parsed was skipped with a warning, and the image it runs was deleted. A `release.json` gc
/// cannot read — an instance's or a lane's — now stops it with the file's name, exit 1, before
/// anything is deleted.
#[test]
fn an_unreadable_release_json_stops_gc_before_any_deletion() {
    if !tools() {
        return;
    }
    let Some(w) = World::start(
        |host, gitops| {
            gc_intent(host, gitops)
                // Packed images share one creation time, so "newest" would fall to tag names
                // (random commit ids); with 0 only the references decide, deterministically.
                .replace("  keep_newest: 5\n", "  keep_newest: 0\n")
                .replace(
                    "retention:\n",
                    "  preview:\n    template: true\n    namespace: \"shop-{name}\"\n    gitops: { path: \"lanes/preview/{name}\" }\nretention:\n",
                )
        },
        &[("services/api/main.py", "v1\n")],
    ) else {
        return;
    };
    let repo = format!("{}/shop/api", w.registry.host());
    // The environment runs A, dev runs B: only the environment's release protects A.
    let a = w.publish_to("api", &repo, "api A");
    w.ok(&[
        "env",
        "up",
        "pr-1",
        "--template",
        "preview",
        "--commit",
        "HEAD",
    ]);
    w.change("services/api/main.py", "v2\n");
    w.publish_to("api", &repo, "api B");
    w.ok(&["promote", "dev", "--commit", "HEAD"]);
    w.push(&format!("{repo}:old-1"), "old 1");
    let plan = w.ok(&["registry", "gc"]);
    assert_eq!(plan["deleted"], 1, "only old-1 may go: {plan}");

    let unreadable = |path: &str| {
        w.gitops_write(path, "{ \"this is\": \"not a release\" }\n");
        let text = w.status(&["registry", "gc", "--execute"], 1);
        assert!(text.contains(path), "the error names {path}: {text}");
        assert!(text.contains("nothing was deleted"), "{text}");
        assert!(!text.contains("warning"), "{text}");
        assert!(resolve(&format!("{repo}:old-1")).is_some(), "{text}");
        points_to(&format!("{repo}@{a}"), &a);
        let audit = w.git(&["show", "main:registry/audit.jsonl"]);
        assert!(!audit.status.success(), "nothing deleted, nothing recorded");
        // The dry run stops too: a plan made without the file would be a guess.
        w.status(&["registry", "gc"], 1);
    };
    unreadable("lanes/preview/pr-1/release.json");
    unreadable("lanes/dev/release.json");
}

/// Regression (issue "Trust, part 2", item 3): gc read the references before it listed the
/// repository again, so a promotion landing between the two was in neither — its lane tags
/// move after its commit — and the digest it had just put in a lane was deleted. The
/// promotion here lands after the repository was listed; gc reads the references after
/// listing, skips the digest and says why.
#[test]
fn a_promotion_landing_during_gc_saves_its_digest() {
    // What the hook does once armed: promote `dev` to this source commit, from another
    // machine (its own cache), through the proxy like everything else.
    type Armed = Option<(std::path::PathBuf, String)>;
    if !tools() {
        return;
    }
    let armed = Arc::new(std::sync::Mutex::new(Armed::None));
    let promoted = Arc::new(std::sync::Mutex::new(None::<std::process::Output>));
    let proxy_port = std::sync::OnceLock::<u16>::new();
    let Some(w) = World::start(
        |host, gitops| {
            let direct: u16 = host.rsplit(':').next().unwrap().parse().unwrap();
            let (armed, promoted) = (armed.clone(), promoted.clone());
            let port = proxy(
                direct,
                "GET /v2/shop/api/tags/list".to_owned(),
                2,
                HookAt::Answer,
                Arc::new(move || {
                    let Some((source, commit)) = armed.lock().unwrap().clone() else {
                        return;
                    };
                    let cache = tempfile::tempdir().unwrap();
                    let out = assert_cmd::Command::cargo_bin("shiplane")
                        .unwrap()
                        .current_dir(&source)
                        .env("SHIPLANE_CACHE_DIR", cache.path())
                        .env("SHIPLANE_ACTOR", "bob")
                        .env_remove("SHIPLANE_INTENT")
                        // v1 is older than what dev runs: moving back is deliberate here.
                        .args([
                            "promote",
                            "dev",
                            "--commit",
                            &commit,
                            "--allow-downgrade",
                            "--json",
                        ])
                        .output()
                        .unwrap();
                    *promoted.lock().unwrap() = Some(out);
                }),
            );
            proxy_port.set(port).unwrap();
            // dev has no lane tags: nothing in the registry shows the promotion, only GitOps.
            gc_intent(&format!("127.0.0.1:{port}"), gitops)
                .replace("  dev:\n    tags: [\"dev-latest\"]\n", "  dev: {}\n")
                // Packed images share one creation time, so "newest" would fall to tag names
                // (random commit ids); with 0 only the references decide, deterministically.
                .replace("  keep_newest: 5\n", "  keep_newest: 0\n")
        },
        &[("services/api/main.py", "v1\n")],
    ) else {
        return;
    };
    let repo = format!("127.0.0.1:{}/shop/api", proxy_port.get().unwrap());
    let v1 = w.publish_to("api", &repo, "api v1");
    let commit_v1 = w.head();
    w.ok(&["promote", "dev", "--commit", "HEAD"]);
    for (file, text) in [("v2\n", "api v2"), ("v3\n", "api v3")] {
        w.change("services/api/main.py", file);
        w.publish_to("api", &repo, text);
        w.ok(&["promote", "dev", "--commit", "HEAD"]);
    }
    // dev runs v3 with v2 in its window: v1 is planned for deletion.
    let plan = w.ok(&["registry", "gc"]);
    let planned: Vec<&Value> = plan["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["action"] == "delete")
        .map(|d| &d["digest"])
        .collect();
    assert_eq!(planned, [v1.as_str()], "{plan}");

    // During the run, once the registry has answered the second listing (the one `--execute`
    // makes), someone promotes v1 back to dev.
    *armed.lock().unwrap() = Some((w.source.path().to_path_buf(), commit_v1));
    let done = w.ok(&["registry", "gc", "--execute"]);
    let out = promoted
        .lock()
        .unwrap()
        .take()
        .expect("the promotion ran during gc");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let release: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        w.gitops_json("lanes/dev/release.json")["services"]["api"]["digest"],
        v1.as_str()
    );

    let deletions = done["deletions"].as_array().unwrap();
    assert_eq!(deletions.len(), 1, "{done}");
    assert_eq!(deletions[0]["digest"], v1.as_str());
    assert_eq!(deletions[0]["outcome"], "skipped", "{done}");
    let why = deletions[0]["why"].as_str().unwrap();
    let id = release["release"]["id"].as_str().unwrap();
    assert!(
        why.contains(&format!("lane dev's current release {id}")) && why.contains("while gc ran"),
        "{why}"
    );
    points_to(&format!("{}/shop/api@{v1}", w.registry.host()), &v1);
    // The next run sees the promotion as the lane's history: v1 runs, v3 is the rollback
    // target, v2 has left the window.
    let next = w.ok(&["registry", "gc"]);
    let kept_v1 = next["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["digest"] == v1.as_str())
        .unwrap();
    assert_eq!(kept_v1["action"], "keep", "{next}");
}

struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A lane whose registry differs from where images are published gets digest-preserving
/// copies: another repository of the registry (blobs mounted), and an oci-layout directory.
#[test]
fn promotion_copies_into_the_lane_registry() {
    if !tools() {
        return;
    }
    // Lower case: the path becomes part of the image repository the lane renders.
    let layout = RemoveOnDrop(std::env::temp_dir().join(format!(
        "shiplane-archive-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )));
    let layout_dir = layout.0.join("archive");
    let Some(w) = World::start(
        |host, gitops| {
            format!(
                r#"version: 1
project: shop
defaults:
  registry: "{host}/{{lane.registry_project}}"
  gitops: {{ repo: "file://{gitops}", branch: main }}
services:
  api:
    paths: ["services/api/**"]
    build: {{ context: services/api }}
lanes:
  dev:
    vars: {{ registry_project: dev }}
    tags: ["dev-latest"]
  prod:
    from: dev
    version: minor
    vars: {{ registry_project: prod }}
    tags: ["prod", "{{version}}"]
  archive:
    from: prod
    registry: "oci-layout:{layout}:archive"
    tags: ["archived"]
"#,
                gitops = gitops.display(),
                layout = layout_dir.display(),
            )
        },
        &[("services/api/main.py", "v1\n")],
    ) else {
        return;
    };
    let host = w.registry.host();
    let digest = w.publish_to("api", &format!("{host}/dev/api"), "api v1");
    let dev = w.ok(&["promote", "dev", "--commit", "HEAD"]);
    assert_eq!(dev["copies"].as_array().unwrap().len(), 0, "{dev}");

    let dry = w.ok(&["promote", "prod", "--from", "dev", "--dry-run"]);
    assert_eq!(dry["copies"][0]["to"], format!("{host}/prod/api"));
    assert_eq!(
        resolve(&format!("{host}/prod/api@{digest}")),
        None,
        "a dry run copies nothing"
    );

    let prod = w.ok(&["promote", "prod", "--from", "dev"]);
    assert_eq!(prod["copies"][0]["from"], format!("{host}/dev/api"));
    let release = w.gitops_json("lanes/prod/release.json");
    let api = &release["services"]["api"];
    assert_eq!(api["repository"], format!("{host}/prod/api"));
    assert_eq!(api["copied_from"], format!("{host}/dev/api"));
    assert_eq!(api["digest"], digest.as_str());
    assert_eq!(
        w.gitops_json("lanes/prod/catalog.json")["services"]["api"]["image"],
        format!("{host}/prod/api")
    );
    points_to(&format!("{host}/prod/api@{digest}"), &digest);
    points_to(&format!("{host}/prod/api:prod"), &digest);
    // The release keeps its identity across the copy: dev's release is prod's release.
    assert_eq!(release["id"], w.gitops_json("lanes/dev/release.json")["id"]);

    // Into an OCI layout, read back by skopeo.
    let archive = w.ok(&["promote", "archive", "--from", "prod"]);
    assert_eq!(archive["copies"].as_array().unwrap().len(), 1, "{archive}");
    let out = StdCommand::new("skopeo")
        .args(["inspect", "--raw"])
        .arg(format!("oci:{}:archive/api:archived", layout_dir.display()))
        .env("HOME", std::env::temp_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(format!("sha256:{}", sha256_hex(&out.stdout)), digest);
}

/// A registry that refuses deletion: a clear message, exit 1, and nothing recorded as deleted.
#[test]
fn a_registry_that_refuses_deletion_says_so() {
    if !tools() {
        return;
    }
    let config = shiplane_testkit::registry::RegistryConfig {
        no_delete: true,
        ..Default::default()
    };
    let Some(w) = World::start_with(&config, gc_intent, &[("services/api/main.py", "v1\n")]) else {
        return;
    };
    let repo = format!("{}/shop/api", w.registry.host());
    w.publish_to("api", &repo, "api v1");
    w.ok(&["promote", "dev", "--commit", "HEAD"]);
    for i in 0..7 {
        w.push(&format!("{repo}:old-{i}"), &format!("old {i}"));
    }
    let plan = w.ok(&["registry", "gc"]);
    assert_eq!(plan["deleted"], 7 - 5 + 2, "{plan}");
    let text = w.status(&["registry", "gc", "--execute"], 1);
    assert!(text.contains("does not allow deleting manifests"), "{text}");
    assert!(text.contains("REGISTRY_STORAGE_DELETE_ENABLED"), "{text}");
    let audit = w.git(&["show", "main:registry/audit.jsonl"]);
    assert!(
        !audit.status.success(),
        "nothing was deleted, so nothing is recorded"
    );
    for i in 0..7 {
        assert!(resolve(&format!("{repo}:old-{i}")).is_some());
    }
}

/// A registry that refuses listing (wrong credentials): no plan, a message naming the
/// repository and what to do, and the password nowhere in the output.
#[test]
fn a_registry_that_refuses_listing_gives_no_plan() {
    if !tools() || !have("htpasswd") {
        return;
    }
    let config = shiplane_testkit::registry::RegistryConfig {
        auth: Some(("ci", "s3cret-pass")),
        ..Default::default()
    };
    let Some(w) = World::start_with(&config, gc_intent, &[("services/api/main.py", "v1\n")]) else {
        return;
    };
    let out = w.shiplane_with(
        &["registry", "gc"],
        &[
            ("SHIPLANE_REGISTRY_USERNAME", "ci"),
            ("SHIPLANE_REGISTRY_PASSWORD", "wrong-password"),
        ],
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "cannot list the tags of {}/shop/api",
            w.registry.host()
        )),
        "{text}"
    );
    assert!(!text.contains("wrong-password"), "{text}");
    assert!(!text.contains("IMAGE"), "no plan table: {text}");
}

/// Hundreds of tags on a real registry, some sharing digests, some on released digests: after
/// `--execute` the registry holds exactly the tags the plan kept, every referenced digest
/// resolves, and every `keep_tags`/semver tag is still there.
#[test]
fn gc_over_hundreds_of_tags_leaves_exactly_what_the_plan_keeps() {
    use shiplane_registry::{
        ClientOptions, Digest, PackOptions, RegistryClient, TreeEntry, TreeEntryKind, pack_entries,
        push_image, retag,
    };
    if !tools() {
        return;
    }
    let Some(w) = World::start(
        |host, gitops| {
            gc_intent(host, gitops).replace(
                "  keep_newest: 5\n  keep_tags: [\"keep-*\"]\n  rollback_window: 1\n",
                "  keep_newest: 20\n  keep_tags: [\"rel-*\"]\n  keep_semver: true\n  rollback_window: 1\n",
            )
        },
        &[("services/api/main.py", "v1\n")],
    ) else {
        return;
    };
    let host = w.registry.host();
    let repo = format!("{host}/shop/api");
    let v1 = w.publish_to("api", &repo, "api v1");
    w.ok(&["promote", "dev", "--commit", "HEAD"]);
    w.ok(&["promote", "prod", "--from", "dev"]);
    w.change("services/api/main.py", "v2\n");
    let v2 = w.publish_to("api", &repo, "api v2");
    w.ok(&["promote", "dev", "--commit", "HEAD"]);

    // 300 tags in process: 240 distinct images, 60 tags sharing them, a few on released digests.
    let client = RegistryClient::new(&host, ClientOptions::default()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for i in 0..300u32 {
            let tag = match i {
                i if i % 25 == 0 => format!("rel-{i}"),
                i if i % 40 == 1 => format!("v1.{i}.0"),
                i => format!("sha-{i:04}"),
            };
            let entries = vec![TreeEntry {
                path: "build.txt".to_owned(),
                mode: 0o644,
                kind: TreeEntryKind::File(format!("build {}", i % 240).into_bytes()),
            }];
            let packed = pack_entries(entries, &PackOptions::default()).unwrap();
            push_image(&client, "shop/api", &tag, &packed)
                .await
                .unwrap();
        }
        for (digest, tag) in [(&v1, "old-ref-1"), (&v2, "old-ref-2")] {
            retag(&client, "shop/api", &Digest::parse(digest).unwrap(), tag)
                .await
                .unwrap();
        }
    });

    let plan = w.ok(&["registry", "gc"]);
    let decisions = plan["decisions"].as_array().unwrap();
    assert!(decisions.len() > 300, "{}", decisions.len());
    let kept: BTreeMap<String, String> = decisions
        .iter()
        .filter(|d| d["action"] == "keep")
        .map(|d| {
            (
                d["tag"].as_str().unwrap().to_owned(),
                d["digest"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let deleted = decisions.iter().filter(|d| d["action"] == "delete").count();
    assert!(
        deleted > 150,
        "the rules leave most sha- tags deletable: {deleted}"
    );
    for d in decisions {
        let (tag, digest) = (d["tag"].as_str().unwrap(), d["digest"].as_str().unwrap());
        let must_keep = tag.starts_with("rel-")
            || tag.starts_with("v1.")
            || digest == v1
            || digest == v2
            || tag == "old-ref-1"
            || tag == "old-ref-2";
        if must_keep {
            assert_eq!(d["action"], "keep", "{d}");
        }
    }

    w.ok(&["registry", "gc", "--execute"]);
    // What is left, listed by an independent client, is exactly what the plan kept.
    let out = StdCommand::new("skopeo")
        .args([
            "list-tags",
            "--tls-verify=false",
            &format!("docker://{repo}"),
        ])
        .env("HOME", std::env::temp_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut left: Vec<&str> = listed["Tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    left.sort_unstable();
    assert_eq!(left, kept.keys().map(String::as_str).collect::<Vec<_>>());
    for digest in [&v1, &v2] {
        points_to(&format!("{repo}@{digest}"), digest);
    }
    // Spot-check that kept tags still point where they did.
    for (tag, digest) in kept.iter().step_by(7) {
        points_to(&format!("{repo}:{tag}"), digest);
    }
}

/// Under a grace period, an artifact published but never promoted survives (the index dates
/// it), and so do tags whose age nothing tells; `--service` narrows the run to one service.
#[test]
fn grace_keeps_young_artifacts_and_tags_of_unknown_age() {
    if !tools() {
        return;
    }
    let Some(w) = World::start(
        |host, gitops| {
            gc_intent(host, gitops)
                .replace("  keep_newest: 5\n", "  keep_newest: 1\n  grace: 1d\n")
                .replace(
                    "services:\n",
                    "services:\n  web:\n    paths: [\"apps/web/**\"]\n    build: { context: apps/web }\n",
                )
        },
        &[
            ("services/api/main.py", "v1\n"),
            ("apps/web/index.html", "web\n"),
        ],
    ) else {
        return;
    };
    let repo = format!("{}/shop/api", w.registry.host());
    let young = w.publish_to("api", &repo, "api v1");
    for i in 0..3 {
        w.push(&format!("{repo}:old-{i}"), &format!("old {i}"));
    }
    w.push(&format!("{}/shop/web:old", w.registry.host()), "web old");

    let plan = w.ok(&["registry", "gc", "--service", "api"]);
    let repositories: Vec<&str> = plan["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["repository"].as_str().unwrap())
        .collect();
    assert_eq!(repositories, [repo.as_str()], "only api's repository");
    assert_eq!(plan["deleted"], 0, "{plan}");
    for d in plan["decisions"].as_array().unwrap() {
        let why = d["reasons"][0].as_str().unwrap();
        if d["digest"] == young.as_str() {
            assert!(why.contains("within grace"), "{d}");
        } else {
            assert!(why.contains("age unknown"), "{d}");
        }
    }
    let text = w.status(&["registry", "gc", "--service", "nope"], 2);
    assert!(text.contains("`nope` is not a service"), "{text}");
}
