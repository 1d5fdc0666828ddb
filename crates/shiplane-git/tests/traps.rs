//! The planning traps of SPEC §6 on real repositories built with the `git` CLI: the adapter
//! reads them in-process and the planning core decides. Each test is named after the trap.

#![expect(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::collections::BTreeMap;

use shiplane_git::{GitError, Repo};
use shiplane_plan::{
    Base, BaseDiff, BuildSpec, Change, EntryMode, Oid, Plan, PlanSpec, ServiceSpec, diff_listings,
    plan, plan_diff,
};
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

/// Plans `head` against `base` (revisions) in `repo`, twice: from both trees' listings and from
/// the in-process tree diff. The two must agree exactly, and the diff must be the listings'
/// difference.
fn plan_revs(repo: &GitRepo, spec: &PlanSpec, base: &str, head: &str) -> Plan {
    plan_revs_with(repo, spec, Some(spec), base, head)
}

/// [`plan_revs`] with a different intent at the base (or none).
fn plan_revs_with(
    repo: &GitRepo,
    spec: &PlanSpec,
    base_spec: Option<&PlanSpec>,
    base: &str,
    head: &str,
) -> Plan {
    let r = Repo::discover(repo.path()).unwrap();
    let (head_id, base_id) = (r.resolve(head).unwrap(), r.resolve(base).unwrap());
    let mut listings = r.tree_listings(&[head_id, base_id]).unwrap();
    let base_listing = listings.pop().unwrap();
    let head_listing = listings.pop().unwrap();
    assert_eq!(head_listing, r.tree_listing(head_id).unwrap());
    for threads in [1, 2, 3] {
        assert_eq!(head_listing, r.tree_listing_on(head_id, threads).unwrap());
    }
    let changes = r.diff_trees(base_id, head_id).unwrap();
    assert_eq!(changes, diff_listings(&base_listing, &head_listing));
    assert_eq!(head_listing.before(&changes), base_listing);
    let from_listings = plan(
        spec,
        &head_listing,
        Some(Base {
            listing: &base_listing,
            spec: base_spec,
        }),
        None,
    )
    .unwrap();
    let from_diff = plan_diff(
        spec,
        &head_listing,
        BaseDiff {
            changes: &changes,
            spec: base_spec,
        },
        None,
    )
    .unwrap();
    assert_eq!(from_diff, from_listings, "{base}..{head}");
    from_listings
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
    // Split over threads or not, the listing is the same.
    for threads in 1..=5 {
        assert_eq!(
            r.tree_listing_on(r.resolve("HEAD").unwrap(), threads)
                .unwrap(),
            listing,
            "{threads} threads"
        );
    }
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
    let p = plan_revs_with(&repo, &head_spec, Some(&base_spec), "HEAD~1", "HEAD");
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
    let p = plan_revs(&repo, &base_spec, "HEAD~1", "HEAD");
    // Without the base intent, the head intent is applied to both trees.
    assert_eq!(
        affected(&plan_revs_with(&repo, &head_spec, None, "HEAD~1", "HEAD")),
        Vec::<&str>::new()
    );
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
fn wide_and_deep_trees_list_the_same_on_any_number_of_threads() {
    let repo = GitRepo::new();
    let mut files = Vec::new();
    for d in 0..45 {
        files.push((format!("top/d{d:02}/a/b/f.txt"), format!("{d}")));
        files.push((format!("top/d{d:02}.txt"), format!("{d}")));
        files.push((format!("top/d{d:02}-x/g"), format!("{d}")));
    }
    files.push(("a.txt".to_owned(), "root".to_owned()));
    files.push(("z/deep/er/still/f".to_owned(), "deep".to_owned()));
    for (p, c) in &files {
        repo.write(p, c);
    }
    let head = repo.commit("wide");
    let r = Repo::discover(repo.path()).unwrap();
    let id = r.resolve("HEAD").unwrap();
    let one = r.tree_listing_on(id, 1).unwrap();
    let ours: Vec<String> = one.iter().map(|e| e.path.to_owned()).collect();
    let mut theirs: Vec<String> = repo.ls_tree(&head).into_iter().map(|t| t.2).collect();
    theirs.sort();
    assert_eq!(ours, theirs);
    for threads in 2..=4 {
        assert_eq!(
            r.tree_listing_on(id, threads).unwrap(),
            one,
            "{threads} threads"
        );
    }
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

#[test]
fn tree_diff_sees_every_kind_of_entry_change() {
    let repo = monorepo();
    repo.write_all(&[
        ("services/api/run.sh", "#!/bin/sh"),
        ("services/api/conf/a.yaml", "a"),
        ("services/api/conf/b.yaml", "b"),
        ("apps/web/static", "a file that becomes a directory"),
        ("tooling/x.txt", "same"),
    ]);
    repo.symlink("services/api/link", "conf/a.yaml");
    repo.submodule_entry(
        "services/gateway/vendor",
        "1111111111111111111111111111111111111111",
    );
    repo.commit("base");

    repo.make_executable("services/api/run.sh");
    repo.symlink("services/api/link", "conf/b.yaml");
    repo.submodule_entry(
        "services/gateway/vendor",
        "2222222222222222222222222222222222222222",
    );
    // A directory becomes a file, a file becomes a directory, a tree is renamed.
    std::fs::remove_dir_all(repo.path().join("services/api/conf")).unwrap();
    repo.write("services/api/conf", "now a file");
    repo.remove("apps/web/static");
    repo.write("apps/web/static/index.html", "<html>");
    repo.git(&["mv", "tooling", "tools"]);
    repo.commit("head");

    let r = Repo::discover(repo.path()).unwrap();
    let (base, head) = (r.resolve("HEAD~1").unwrap(), r.resolve("HEAD").unwrap());
    let got: Vec<(String, Change)> = r
        .diff_trees(base, head)
        .unwrap()
        .iter()
        .map(|c| (c.path.clone(), c.change()))
        .collect();
    let want = [
        ("apps/web/static", Change::Deleted),
        ("apps/web/static/index.html", Change::Added),
        ("services/api/conf", Change::Added),
        ("services/api/conf/a.yaml", Change::Deleted),
        ("services/api/conf/b.yaml", Change::Deleted),
        ("services/api/link", Change::Modified),
        ("services/api/run.sh", Change::ModeChanged),
        ("services/gateway/vendor", Change::Modified),
        ("tooling/x.txt", Change::Deleted),
        ("tools/x.txt", Change::Added),
    ];
    assert_eq!(got, want.map(|(p, c)| (p.to_owned(), c)).to_vec());
    let p = plan_revs(&repo, &spec(), "HEAD~1", "HEAD");
    assert_eq!(affected(&p), ["api", "gateway", "web"]);
    // The same trees in the other direction, and a tree against itself.
    plan_revs(&repo, &spec(), "HEAD", "HEAD~1");
    assert!(r.diff_trees(head, head).unwrap().is_empty());
}

mod random_histories {
    //! Random small histories: whatever the edits, the tree diff equals the listings'
    //! difference and planning from it equals planning from both listings.

    use super::*;
    use proptest::prelude::*;

    /// Paths chosen to hit the matcher's corners: shared, ignored, library, two services, a
    /// dependency, unowned files, and names that sort around `/`.
    const PATHS: &[&str] = &[
        "pnpm-lock.yaml",
        "README.md",
        "docs/guide.txt",
        "packages/ui-kit/button.ts",
        "packages/ui-kit/README.md",
        "packages/ui-kit-extra/x.ts",
        "apps/web/index.ts",
        "apps/web.ts",
        "services/api/main.py",
        "services/api/sub/deep.py",
        "services/gateway/Main.java",
        "services/gateway-b/x",
        "scratch/notes.txt",
    ];

    #[derive(Debug, Clone)]
    enum Op {
        Write(usize, u8),
        Remove(usize),
        Chmod(usize),
        Link(usize, u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        let n = PATHS.len();
        prop_oneof![
            (0..n, 0..3u8).prop_map(|(p, v)| Op::Write(p, v)),
            (0..n).prop_map(Op::Remove),
            (0..n).prop_map(Op::Chmod),
            (0..n, 0..2u8).prop_map(|(p, v)| Op::Link(p, v)),
        ]
    }

    fn apply(repo: &GitRepo, ops: &[Op]) {
        for op in ops {
            let (i, full) = match op {
                Op::Write(i, _) | Op::Remove(i) | Op::Chmod(i) | Op::Link(i, _) => {
                    (*i, repo.path().join(PATHS[*i]))
                }
            };
            // A path that is a directory on disk (another path lives below it) is skipped.
            if full.is_dir() {
                continue;
            }
            match op {
                Op::Write(_, v) => {
                    let _ = std::fs::remove_file(&full);
                    repo.write(PATHS[i], &format!("v{v}"));
                }
                Op::Remove(_) => {
                    let _ = std::fs::remove_file(&full);
                }
                Op::Chmod(_) => {
                    if full.is_file() && !full.is_symlink() {
                        repo.make_executable(PATHS[i]);
                    }
                }
                Op::Link(_, v) => {
                    repo.symlink(PATHS[i], &format!("target-{v}"));
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
        #[test]
        fn tree_diff_plans_equal_listing_plans(
            first in proptest::collection::vec(op(), 1..8),
            main in proptest::collection::vec(op(), 0..6),
            side in proptest::collection::vec(op(), 0..6),
        ) {
            let repo = GitRepo::new();
            repo.write("seed", "x");
            apply(&repo, &first);
            repo.commit("first");
            repo.git(&["checkout", "--quiet", "-b", "side"]);
            apply(&repo, &side);
            repo.commit("side");
            repo.git(&["checkout", "--quiet", "main"]);
            apply(&repo, &main);
            repo.commit("main");
            repo.git(&["merge", "--quiet", "--no-edit", "-s", "ours", "side"]);
            let spec = spec();
            let mut changed_intent = spec.clone();
            changed_intent.services.get_mut("api").unwrap().intent_hash = "h2".to_owned();
            changed_intent.services.remove("web");
            // Ancestors, a non-ancestor in both directions, a merge against each parent; the
            // intent unchanged, changed, or missing at the base.
            for (base, head) in [
                ("main~1", "main~1"),
                ("main~2", "main~1"),
                ("side", "main~1"),
                ("main~1", "side"),
                ("main^1", "main"),
                ("main^2", "main"),
            ] {
                plan_revs(&repo, &spec, base, head);
                plan_revs_with(&repo, &spec, Some(&changed_intent), base, head);
                plan_revs_with(&repo, &spec, None, base, head);
            }
        }
    }
}
