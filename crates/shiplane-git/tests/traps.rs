//! The planning traps of SPEC §6 on real repositories built with the `git` CLI: the adapter
//! reads them in-process and the planning core decides. Each test is named after the trap.

#![expect(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::collections::BTreeMap;

use shiplane_git::{GitError, Repo};
use shiplane_plan::{Base, BuildSpec, EntryMode, Oid, Plan, PlanSpec, ServiceSpec, plan};
use shiplane_testkit::GitRepo;

fn service(paths: &[&str], services: &[&str]) -> ServiceSpec {
    ServiceSpec {
        paths: paths.iter().map(|s| (*s).to_owned()).collect(),
        services: services.iter().map(|s| (*s).to_owned()).collect(),
        intent_hash: "h".to_owned(),
        build: BuildSpec::default(),
        ..ServiceSpec::default()
    }
}

fn spec() -> PlanSpec {
    PlanSpec {
        shared: vec!["pnpm-lock.yaml".to_owned()],
        ignore: vec!["**/*.md".to_owned(), "docs/**".to_owned()],
        libraries: BTreeMap::from([("ui-kit".to_owned(), vec!["packages/ui-kit/**".to_owned()])]),
        services: BTreeMap::from([
            (
                "api".to_owned(),
                service(&["services/api/**"], &["gateway"]),
            ),
            ("gateway".to_owned(), service(&["services/gateway/**"], &[])),
            (
                "web".to_owned(),
                ServiceSpec {
                    libraries: vec!["ui-kit".to_owned()],
                    ..service(&["apps/web/**"], &[])
                },
            ),
        ]),
    }
}

fn monorepo() -> GitRepo {
    let repo = GitRepo::new();
    repo.write_all(&[
        ("README.md", "# mono"),
        ("pnpm-lock.yaml", "lock: 1"),
        ("docs/guide.txt", "guide"),
        ("packages/ui-kit/button.ts", "export const b = 1"),
        ("apps/web/index.ts", "import 'ui-kit'"),
        ("services/api/main.py", "print('api')"),
        ("services/gateway/Main.java", "class Main {}"),
    ]);
    repo.commit("initial");
    repo
}

/// Plans `head` against `base` (revisions) in `repo`.
fn plan_revs(repo: &GitRepo, spec: &PlanSpec, base: &str, head: &str) -> Plan {
    let r = Repo::discover(repo.path()).unwrap();
    let mut listings = r
        .tree_listings(&[r.resolve(head).unwrap(), r.resolve(base).unwrap()])
        .unwrap();
    let base_listing = listings.pop().unwrap();
    let head_listing = listings.pop().unwrap();
    assert_eq!(
        head_listing,
        r.tree_listing(r.resolve(head).unwrap()).unwrap()
    );
    plan(
        spec,
        &head_listing,
        Some(Base {
            listing: &base_listing,
            spec: Some(spec),
        }),
        None,
    )
    .unwrap()
}

fn affected(p: &Plan) -> Vec<&str> {
    p.affected.iter().map(|a| a.service.as_str()).collect()
}

#[test]
fn resolves_revisions() {
    let repo = monorepo();
    let first = repo.git(&["rev-parse", "HEAD"]);
    repo.write("services/api/main.py", "print('v2')");
    let second = repo.commit("second");
    repo.git(&["branch", "feature", &first]);
    repo.git(&["tag", "v1", &first]);
    let r = Repo::discover(&repo.path().join("services/api")).unwrap();
    for (rev, expected) in [
        ("HEAD", &second),
        ("main", &second),
        ("HEAD~1", &first),
        ("feature", &first),
        ("v1", &first),
        (&second[..10], &second),
        (second.as_str(), &second),
    ] {
        assert_eq!(r.resolve(rev).unwrap().to_hex(), *expected, "rev {rev}");
    }
    let err = r.resolve("nope").unwrap_err();
    assert!(matches!(err, GitError::RevisionNotFound { .. }));
    let message = err.to_string();
    assert!(
        message.starts_with("revision `nope` not found in ")
            && message.contains(&repo.path().display().to_string()),
        "{message}"
    );
    assert!(matches!(
        r.resolve("HEAD:README.md"),
        Err(GitError::NotACommit { .. })
    ));
    assert!(matches!(
        Repo::discover(&std::env::temp_dir().join("definitely/not/a/repo")),
        Err(GitError::Open { .. })
    ));
}

#[test]
fn tree_listing_equals_git_ls_tree() {
    let repo = monorepo();
    repo.write_all(&[
        ("a-b/x", "1"),
        ("a.b", "2"),
        ("a/b/c", "3"),
        ("a0", "4"),
        ("ü/ñ.txt", "5"),
        ("bin/run", "#!/bin/sh"),
    ]);
    repo.make_executable("bin/run");
    repo.symlink("services/api/link", "../gateway/Main.java");
    repo.submodule_entry("vendor/lib", "0123456789abcdef0123456789abcdef01234567");
    let head = repo.commit("shapes");
    let r = Repo::discover(repo.path()).unwrap();
    let listing = r.tree_listing(r.resolve("HEAD").unwrap()).unwrap();
    let ours: Vec<(String, String, String)> = listing
        .iter()
        .map(|e| {
            (
                e.mode.as_octal().to_owned(),
                e.oid.to_hex(),
                e.path.to_owned(),
            )
        })
        .collect();
    let mut theirs = repo.ls_tree(&head);
    theirs.sort_by(|a, b| a.2.cmp(&b.2));
    assert_eq!(ours, theirs);
    let mode = |p: &str| listing.get(listing.find(p).unwrap()).mode;
    assert_eq!(mode("bin/run"), EntryMode::Executable);
    assert_eq!(mode("services/api/link"), EntryMode::Symlink);
    assert_eq!(mode("vendor/lib"), EntryMode::Submodule);
    assert_eq!(
        listing.get(listing.find("vendor/lib").unwrap()).oid,
        Oid::from_hex("0123456789abcdef0123456789abcdef01234567").unwrap()
    );
}

#[test]
fn shallow_clone_is_detected_not_guessed() {
    let origin = monorepo();
    origin.write("services/api/main.py", "v2");
    origin.commit("second");
    origin.write("services/api/main.py", "v3");
    origin.commit("third");
    let clone = origin.clone_shallow(1);
    let r = Repo::discover(clone.path()).unwrap();
    assert!(r.is_shallow());
    let head = r.resolve("HEAD").unwrap();
    assert_eq!(r.shallow_commits(), vec![head]);
    assert!(r.parents_missing(head).unwrap());
    let err = r.resolve("HEAD~1").unwrap_err();
    assert!(matches!(err, GitError::Shallow { .. }), "{err}");
    assert!(
        err.to_string().contains("shallow clone") && err.to_string().contains("--deepen"),
        "{err}"
    );
    // The listing of the commit that is there still works.
    assert!(
        r.tree_listing(head)
            .unwrap()
            .find("services/api/main.py")
            .is_some()
    );

    shiplane_git::deepen(clone.path(), 1).unwrap();
    let r = Repo::discover(clone.path()).unwrap();
    let parent = r.resolve("HEAD~1").unwrap();
    assert!(r.is_ancestor(parent, head).unwrap());
    let p = plan_revs(&clone, &spec(), "HEAD~1", "HEAD");
    assert_eq!(affected(&p), ["api"]);
}

#[test]
fn deepen_failure_is_a_clear_retryable_error() {
    let origin = monorepo();
    origin.write("services/api/main.py", "v2");
    origin.commit("second");
    let clone = origin.clone_shallow(1);
    clone.git(&[
        "remote",
        "set-url",
        "origin",
        "file:///nonexistent/shiplane-origin",
    ]);
    let err = shiplane_git::deepen(clone.path(), 10).unwrap_err();
    assert!(err.is_retryable());
    assert!(err.to_string().contains("git fetch --deepen=10"), "{err}");
}

#[test]
fn first_commit_has_no_parent_and_everything_is_new() {
    let repo = monorepo();
    let r = Repo::discover(repo.path()).unwrap();
    let head = r.resolve("HEAD").unwrap();
    assert_eq!(r.parents(head).unwrap(), vec![]);
    assert!(!r.parents_missing(head).unwrap());
    assert!(!r.is_shallow());
    // Not shallow, so a missing parent is an ordinary "not found", not a shallow boundary.
    assert!(matches!(
        r.resolve("HEAD~1"),
        Err(GitError::RevisionNotFound { .. })
    ));
    let p = plan(&spec(), &r.tree_listing(head).unwrap(), None, None).unwrap();
    assert_eq!(affected(&p), ["api", "gateway", "web"]);
}

#[test]
fn merge_commit_compared_with_first_parent() {
    let repo = monorepo();
    repo.git(&["checkout", "--quiet", "-b", "feature"]);
    repo.write("packages/ui-kit/button.ts", "export const b = 2");
    repo.commit("ui change");
    repo.git(&["checkout", "--quiet", "main"]);
    repo.write("services/gateway/Main.java", "class Main { int x; }");
    repo.commit("gateway change");
    repo.git(&[
        "merge",
        "--quiet",
        "--no-ff",
        "-m",
        "merge feature",
        "feature",
    ]);
    let r = Repo::discover(repo.path()).unwrap();
    let head = r.resolve("HEAD").unwrap();
    let parents = r.parents(head).unwrap();
    assert_eq!(parents.len(), 2);
    assert_eq!(parents[1], r.resolve("feature").unwrap());
    // Against the first parent only the merged-in branch's change shows.
    assert_eq!(
        affected(&plan_revs(&repo, &spec(), "HEAD^1", "HEAD")),
        ["web"]
    );
    // Against the second parent only main's change shows (gateway and its dependent api).
    assert_eq!(
        affected(&plan_revs(&repo, &spec(), "HEAD^2", "HEAD")),
        ["api", "gateway"]
    );
}

#[test]
fn rename_across_two_services_affects_both() {
    let repo = monorepo();
    repo.git(&["mv", "services/api/main.py", "services/gateway/main.py"]);
    repo.commit("move");
    let p = plan_revs(&repo, &spec(), "HEAD~1", "HEAD");
    assert_eq!(affected(&p), ["api", "gateway"]);
    assert_eq!(
        p.affected[0]
            .reasons
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["own paths changed", "dependency `gateway` changed"]
    );
}

#[test]
fn deleted_service_is_removed_not_built() {
    let repo = monorepo();
    repo.remove("services/gateway/Main.java");
    repo.commit("delete gateway");
    let base_spec = spec();
    let mut head_spec = spec();
    head_spec.services.remove("gateway");
    head_spec.services.get_mut("api").unwrap().services.clear();
    let r = Repo::discover(repo.path()).unwrap();
    let head = r.tree_listing(r.resolve("HEAD").unwrap()).unwrap();
    let base = r.tree_listing(r.resolve("HEAD~1").unwrap()).unwrap();
    let p = plan(
        &head_spec,
        &head,
        Some(Base {
            listing: &base,
            spec: Some(&base_spec),
        }),
        None,
    )
    .unwrap();
    assert_eq!(p.removed, ["gateway"]);
    // api's dependency set changed in the intent, which changes its fingerprint.
    assert_eq!(affected(&p), ["api"]);
    assert_eq!(
        p.affected[0]
            .reasons
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["intent changed"]
    );

    // If the intent still lists the service, its files vanishing is a change, never "nothing".
    let p = plan(
        &base_spec,
        &head,
        Some(Base {
            listing: &base,
            spec: Some(&base_spec),
        }),
        None,
    )
    .unwrap();
    assert_eq!(affected(&p), ["api", "gateway"]);
}

#[test]
fn base_that_is_not_an_ancestor() {
    let repo = monorepo();
    let fork = repo.git(&["rev-parse", "HEAD"]);
    repo.git(&["checkout", "--quiet", "-b", "other"]);
    repo.write("apps/web/index.ts", "other branch");
    repo.commit("other");
    repo.git(&["checkout", "--quiet", "main"]);
    repo.write("services/api/main.py", "main branch");
    repo.commit("main");
    let r = Repo::discover(repo.path()).unwrap();
    let (base, head) = (r.resolve("other").unwrap(), r.resolve("main").unwrap());
    assert!(!r.is_ancestor(base, head).unwrap());
    assert!(r.is_ancestor(r.resolve(&fork).unwrap(), head).unwrap());
    assert_eq!(
        r.merge_base(base, head).unwrap().map(|o| o.to_hex()),
        Some(fork)
    );
    // Comparing trees directly: both sides' changes differ from head, so both are rebuilt
    // rather than trusting an artifact built from a different branch.
    assert_eq!(
        affected(&plan_revs(&repo, &spec(), "other", "main")),
        ["api", "web"]
    );

    // Unrelated histories have no merge base.
    repo.git(&["checkout", "--quiet", "--orphan", "island"]);
    repo.write("island.txt", "x");
    repo.commit("island");
    let r = Repo::discover(repo.path()).unwrap();
    assert_eq!(
        r.merge_base(r.resolve("island").unwrap(), head).unwrap(),
        None
    );
}

#[test]
fn file_matched_by_two_services() {
    let repo = monorepo();
    repo.write("proto/api.proto", "v1");
    repo.commit("proto");
    repo.write("proto/api.proto", "v2");
    repo.commit("proto v2");
    let mut spec = spec();
    spec.services
        .get_mut("api")
        .unwrap()
        .paths
        .push("proto/**".to_owned());
    spec.services
        .get_mut("web")
        .unwrap()
        .paths
        .push("proto/*.proto".to_owned());
    assert_eq!(
        affected(&plan_revs(&repo, &spec, "HEAD~1", "HEAD")),
        ["api", "web"]
    );
}

#[test]
fn change_to_ignored_paths_only_affects_nothing() {
    let repo = monorepo();
    repo.write("README.md", "# changed");
    repo.write("docs/guide.txt", "changed");
    repo.write("services/api/NOTES.md", "notes");
    repo.commit("docs");
    let p = plan_revs(&repo, &spec(), "HEAD~1", "HEAD");
    assert!(p.affected.is_empty(), "{:?}", p.affected);
    assert_eq!(p.unchanged.len(), 3);
}

#[test]
fn symlink_retarget_is_a_change() {
    let repo = monorepo();
    repo.symlink("services/api/config", "prod.yaml");
    repo.commit("link");
    repo.symlink("services/api/config", "dev.yaml");
    repo.commit("relink");
    assert_eq!(
        affected(&plan_revs(&repo, &spec(), "HEAD~1", "HEAD")),
        ["api"]
    );
}

#[test]
fn submodule_bump_is_a_change() {
    let repo = monorepo();
    repo.submodule_entry(
        "services/gateway/vendor",
        "1111111111111111111111111111111111111111",
    );
    repo.commit("submodule");
    let r = Repo::discover(repo.path()).unwrap();
    let listing = r.tree_listing(r.resolve("HEAD").unwrap()).unwrap();
    let entry = listing.get(listing.find("services/gateway/vendor").unwrap());
    assert_eq!(entry.mode, EntryMode::Submodule);
    repo.submodule_entry(
        "services/gateway/vendor",
        "2222222222222222222222222222222222222222",
    );
    repo.git(&["commit", "--quiet", "-m", "bump"]);
    assert_eq!(
        affected(&plan_revs(&repo, &spec(), "HEAD~1", "HEAD")),
        ["api", "gateway"]
    );
}

#[test]
fn empty_tree_lists_nothing() {
    let repo = GitRepo::new();
    repo.commit("empty");
    let r = Repo::discover(repo.path()).unwrap();
    assert!(
        r.tree_listing(r.resolve("HEAD").unwrap())
            .unwrap()
            .is_empty()
    );
}
