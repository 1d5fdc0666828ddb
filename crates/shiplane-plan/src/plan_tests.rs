//! Table-driven tests of the plan rules and fingerprint properties.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::*;
use crate::fingerprint::fingerprints;
use crate::listing::{EntryMode, Oid};
use crate::spec::{BuildSpec, ServiceSpec};

/// A listing from `(path, content)` pairs; the object id is derived from the content.
pub(crate) fn listing(files: &[(&str, &str)]) -> TreeListing {
    files
        .iter()
        .map(|(path, content)| (*path, blob(content), EntryMode::File))
        .collect()
}

pub(crate) fn blob(content: &str) -> Oid {
    Oid::from_bytes(&Sha256::digest(content.as_bytes())[..20]).unwrap()
}

fn service(paths: &[&str], libraries: &[&str], services: &[&str]) -> ServiceSpec {
    ServiceSpec {
        paths: paths.iter().map(|s| (*s).to_owned()).collect(),
        libraries: libraries.iter().map(|s| (*s).to_owned()).collect(),
        services: services.iter().map(|s| (*s).to_owned()).collect(),
        intent_hash: "intent-v1".to_owned(),
        build: BuildSpec {
            context: "ctx".to_owned(),
            dockerfile: "ctx/Dockerfile".to_owned(),
            image: None,
            tag: "sha-{commit.short}".to_owned(),
            ..BuildSpec::default()
        },
    }
}

/// The miker-like spec: frontend → ui-kit, api → gateway.
pub(crate) fn spec() -> PlanSpec {
    PlanSpec {
        shared: vec!["pnpm-lock.yaml".to_owned(), "tooling/**".to_owned()],
        ignore: vec!["**/*.md".to_owned(), "docs/**".to_owned()],
        libraries: BTreeMap::from([("ui-kit".to_owned(), vec!["packages/ui-kit/**".to_owned()])]),
        services: BTreeMap::from([
            (
                "frontend".to_owned(),
                service(&["apps/frontend/**"], &["ui-kit"], &[]),
            ),
            (
                "gateway".to_owned(),
                service(&["services/gateway/**"], &[], &[]),
            ),
            (
                "api".to_owned(),
                service(&["services/api/**"], &[], &["gateway"]),
            ),
        ]),
    }
}

pub(crate) const BASE: &[(&str, &str)] = &[
    ("README.md", "hello"),
    ("apps/frontend/index.ts", "f1"),
    ("apps/frontend/README.md", "fdoc"),
    ("docs/guide.txt", "guide"),
    ("packages/ui-kit/button.ts", "b1"),
    ("pnpm-lock.yaml", "lock1"),
    ("services/api/main.py", "a1"),
    ("services/gateway/Main.java", "g1"),
    ("tooling/ci.sh", "ci1"),
];

/// BASE with `changes` applied: `Some(content)` writes, `None` deletes.
pub(crate) fn edit(changes: &[(&str, Option<&str>)]) -> TreeListing {
    let mut files: BTreeMap<&str, &str> = BASE.iter().copied().collect();
    for (path, content) in changes {
        match content {
            Some(c) => files.insert(path, c),
            None => files.remove(path),
        };
    }
    listing(&files.into_iter().collect::<Vec<_>>())
}

/// Plans `head` against `base` from both listings and from their difference; the two must be
/// the same plan.
fn plan_both(
    spec: &PlanSpec,
    head: &TreeListing,
    base: &TreeListing,
    base_spec: Option<&PlanSpec>,
    artifacts: Option<&dyn ArtifactLookup>,
) -> Plan {
    let from_listings = plan(
        spec,
        head,
        Some(Base {
            listing: base,
            spec: base_spec,
        }),
        artifacts,
    )
    .unwrap();
    let changes = crate::diff_listings(base, head);
    let from_diff = plan_diff(
        spec,
        head,
        BaseDiff {
            changes: &changes,
            spec: base_spec,
        },
        artifacts,
    )
    .unwrap();
    assert_eq!(from_diff, from_listings, "plan from the diff");
    from_listings
}

fn affected_with_reasons(p: &Plan) -> Vec<(String, Vec<String>)> {
    p.affected
        .iter()
        .map(|a| {
            (
                a.service.clone(),
                a.reasons.iter().map(ToString::to_string).collect(),
            )
        })
        .collect()
}

#[test]
fn plan_against_a_base() {
    type Expected = &'static [(&'static str, &'static [&'static str])];
    type Changes = &'static [(&'static str, Option<&'static str>)];
    let cases: &[(&str, Changes, Expected)] = &[
        ("nothing changed", &[], &[]),
        (
            "ignored files only",
            &[
                ("README.md", Some("x")),
                ("docs/guide.txt", Some("y")),
                ("apps/frontend/README.md", Some("z")),
            ],
            &[],
        ),
        (
            "own path",
            &[("services/gateway/Main.java", Some("g2"))],
            &[
                ("api", &["dependency `gateway` changed"]),
                ("gateway", &["own paths changed"]),
            ],
        ),
        (
            "leaf service",
            &[("services/api/main.py", Some("a2"))],
            &[("api", &["own paths changed"])],
        ),
        (
            "library",
            &[("packages/ui-kit/button.ts", Some("b2"))],
            &[("frontend", &["library `ui-kit` changed"])],
        ),
        (
            "new library file",
            &[("packages/ui-kit/new.ts", Some("n"))],
            &[("frontend", &["library `ui-kit` changed"])],
        ),
        (
            "lockfile",
            &[("pnpm-lock.yaml", Some("lock2"))],
            &[
                ("api", &["shared input changed"]),
                ("frontend", &["shared input changed"]),
                ("gateway", &["shared input changed"]),
            ],
        ),
        (
            "shared dir deletion",
            &[("tooling/ci.sh", None)],
            &[
                ("api", &["shared input changed"]),
                ("frontend", &["shared input changed"]),
                ("gateway", &["shared input changed"]),
            ],
        ),
        ("unowned file", &[("scratch/notes.txt", Some("x"))], &[]),
        (
            "rename across two services",
            &[
                ("services/api/main.py", None),
                ("services/gateway/main.py", Some("a1")),
            ],
            &[
                (
                    "api",
                    &["own paths changed", "dependency `gateway` changed"],
                ),
                ("gateway", &["own paths changed"]),
            ],
        ),
        (
            "deleted service files",
            &[("services/api/main.py", None)],
            &[("api", &["own paths changed"])],
        ),
    ];
    let spec = spec();
    let base = listing(BASE);
    for (name, changes, expected) in cases {
        let head = edit(changes);
        let p = plan_both(&spec, &head, &base, Some(&spec), None);
        let expected: Vec<(String, Vec<String>)> = expected
            .iter()
            .map(|(s, r)| ((*s).to_owned(), r.iter().map(|x| (*x).to_owned()).collect()))
            .collect();
        assert_eq!(affected_with_reasons(&p), expected, "case: {name}");
        assert_eq!(p.affected.len() + p.unchanged.len(), 3, "case: {name}");
        assert!(p.reused.is_empty() && p.removed.is_empty(), "case: {name}");
    }
}

#[test]
fn mode_change_is_a_change() {
    let spec = spec();
    let base = listing(BASE);
    let mut b = crate::listing::TreeListingBuilder::new();
    for e in base.iter() {
        let mode = if e.path == "services/api/main.py" {
            EntryMode::Executable
        } else {
            e.mode
        };
        b.push(e.path, e.oid, mode);
    }
    let head = b.build();
    let p = plan_both(&spec, &head, &base, None, None);
    assert_eq!(
        affected_with_reasons(&p),
        vec![("api".to_owned(), vec!["own paths changed".to_owned()])]
    );
}

#[test]
fn intent_and_service_set_changes() {
    let head_spec = {
        let mut s = spec();
        s.services.get_mut("api").unwrap().intent_hash = "intent-v2".to_owned();
        s.services.remove("frontend");
        s.services.insert(
            "worker".to_owned(),
            service(&["services/worker/**"], &[], &[]),
        );
        s
    };
    let base_spec = spec();
    let head = edit(&[("services/worker/run.sh", Some("w"))]);
    let base = listing(BASE);
    let p = plan_both(&head_spec, &head, &base, Some(&base_spec), None);
    assert_eq!(
        affected_with_reasons(&p),
        vec![
            ("api".to_owned(), vec!["intent changed".to_owned()]),
            ("worker".to_owned(), vec!["new service".to_owned()]),
        ]
    );
    assert_eq!(p.removed, vec!["frontend".to_owned()]);

    // Without the base intent, a service whose paths held nothing at the base is new.
    let p = plan_both(&head_spec, &head, &base, None, None);
    assert!(
        affected_with_reasons(&p).contains(&("worker".to_owned(), vec!["new service".to_owned()]))
    );
}

#[test]
fn artifact_lookup_decides_reuse() {
    let spec = spec();
    let base = listing(BASE);
    let head = edit(&[("services/api/main.py", Some("a2"))]);
    let head_fps: BTreeMap<String, Fingerprint> =
        fingerprints(&CompiledSpec::new(&spec).unwrap(), &head)
            .into_iter()
            .collect();
    // Artifacts exist for gateway's head fingerprint and for api's *base* fingerprint only.
    let base_fps: BTreeMap<String, Fingerprint> =
        fingerprints(&CompiledSpec::new(&spec).unwrap(), &base)
            .into_iter()
            .collect();
    let index: BTreeMap<(String, Fingerprint), Artifact> =
        [("gateway", head_fps["gateway"]), ("api", base_fps["api"])]
            .into_iter()
            .map(|(s, f)| {
                let artifact = Artifact {
                    image: format!("registry.example.com/x/{s}"),
                    tag: "sha-1111111".to_owned(),
                    digest: "sha256:00".to_owned(),
                    source_commit: "1111111".to_owned(),
                };
                ((s.to_owned(), f), artifact)
            })
            .collect();
    let lookup = |s: &str, f: &Fingerprint| index.get(&(s.to_owned(), *f)).cloned();

    let p = plan(&spec, &head, None, Some(&lookup)).unwrap();
    assert_eq!(
        affected_with_reasons(&p),
        vec![
            (
                "api".to_owned(),
                vec!["no artifact for this fingerprint".to_owned()]
            ),
            (
                "frontend".to_owned(),
                vec!["no artifact for this fingerprint".to_owned()]
            ),
        ]
    );
    assert_eq!(
        p.reused
            .iter()
            .map(|r| r.service.as_str())
            .collect::<Vec<_>>(),
        vec!["gateway"]
    );
    assert_eq!(p.reused[0].artifact.source_commit, "1111111");

    // With a base too, reasons say what changed.
    let p = plan_both(&spec, &head, &base, None, Some(&lookup));
    assert_eq!(p.affected[0].reasons, vec![Reason::OwnPathsChanged]);
    assert_eq!(p.affected[1].reasons, vec![Reason::NoArtifact]);

    // A revert to already-built content is reused.
    let p = plan(&spec, &base, None, Some(&lookup)).unwrap();
    assert!(p.reused.iter().any(|r| r.service == "api"));
}

#[test]
fn no_base_and_no_index_builds_everything() {
    let p = plan(&spec(), &listing(BASE), None, None).unwrap();
    assert_eq!(p.affected.len(), 3);
    assert!(p.affected.iter().all(|a| a.reasons == vec![Reason::NoBase]));
}

#[test]
fn fingerprints_are_deterministic_and_order_independent() {
    let spec = spec();
    let compiled = CompiledSpec::new(&spec).unwrap();
    let forward = listing(BASE);
    let reversed: Vec<(&str, &str)> = BASE.iter().rev().copied().collect();
    let backward = listing(&reversed);
    assert_eq!(
        fingerprints(&compiled, &forward),
        fingerprints(&compiled, &backward)
    );

    // Order of globs and dependency lists in the spec does not matter either.
    let mut shuffled = spec.clone();
    shuffled.shared.reverse();
    shuffled.ignore.reverse();
    let compiled2 = CompiledSpec::new(&shuffled).unwrap();
    assert_eq!(
        fingerprints(&compiled, &forward),
        fingerprints(&compiled2, &forward)
    );

    // A known value pins the format: changing it invalidates every artifact index.
    let fps = fingerprints(&compiled, &forward);
    assert_eq!(fps.len(), 3);
    let golden = fps
        .iter()
        .map(|(s, f)| format!("{s} {}", f.short()))
        .collect::<Vec<_>>();
    assert_eq!(golden, GOLDEN, "fingerprint format changed");
}

/// Cross-checked with an independent Python implementation of the format in `fingerprint.rs`.
const GOLDEN: &[&str] = &[
    "api 7292c5f7b25f",
    "frontend c029ffd287e0",
    "gateway dce4d4d2d13d",
];

#[test]
fn services_matching_the_same_file_both_change() {
    let mut spec = spec();
    spec.services
        .get_mut("api")
        .unwrap()
        .paths
        .push("services/common/**".to_owned());
    spec.services
        .get_mut("gateway")
        .unwrap()
        .paths
        .push("services/common/**".to_owned());
    let base = edit(&[("services/common/util.py", Some("u1"))]);
    let head = edit(&[("services/common/util.py", Some("u2"))]);
    let p = plan_both(&spec, &head, &base, None, None);
    assert_eq!(
        affected_with_reasons(&p),
        vec![
            (
                "api".to_owned(),
                vec![
                    "own paths changed".to_owned(),
                    "dependency `gateway` changed".to_owned()
                ]
            ),
            ("gateway".to_owned(), vec!["own paths changed".to_owned()]),
        ]
    );
}

mod diff_equals_listing {
    //! Random edits of the test tree and random intents: planning from the difference equals
    //! planning from both listings.

    use super::*;
    use proptest::prelude::*;

    const PATHS: &[&str] = &[
        "README.md",
        "apps/frontend/index.ts",
        "apps/frontend/README.md",
        "apps/frontend-b/x.ts",
        "docs/guide.txt",
        "packages/ui-kit/button.ts",
        "packages/ui-kit.ts",
        "pnpm-lock.yaml",
        "services/api/main.py",
        "services/api/x/y.md",
        "services/gateway/Main.java",
        "services/common/util.py",
        "tooling/ci.sh",
        "scratch/notes.txt",
    ];

    fn arb_tree() -> impl Strategy<Value = Vec<(usize, u8, bool)>> {
        proptest::collection::vec((0..PATHS.len(), 0..3u8, any::<bool>()), 0..10)
    }

    fn tree(files: &[(usize, u8, bool)]) -> TreeListing {
        files
            .iter()
            .map(|&(p, v, x)| {
                let mode = if x {
                    EntryMode::Executable
                } else {
                    EntryMode::File
                };
                (PATHS[p], blob(&v.to_string()), mode)
            })
            .collect()
    }

    /// The test spec, changed by `variant`: 0 as is, 1 another intent hash, 2 a service
    /// removed, 3 a new service on shared files and a changed dependency list.
    fn variant(v: u8) -> PlanSpec {
        let mut s = spec();
        match v {
            1 => s.services.get_mut("api").unwrap().intent_hash = "intent-v2".to_owned(),
            2 => {
                s.services.remove("frontend");
            }
            3 => {
                s.services.insert(
                    "common".to_owned(),
                    service(&["services/common/**", "**/*.py"], &["ui-kit"], &[]),
                );
                s.services
                    .get_mut("api")
                    .unwrap()
                    .services
                    .push("common".to_owned());
            }
            _ => {}
        }
        s
    }

    proptest! {
        #[test]
        fn plan_from_diff_equals_plan_from_listings(
            base in arb_tree(),
            head in arb_tree(),
            head_variant in 0..4u8,
            base_variant in proptest::option::of(0..4u8),
            with_lookup in any::<bool>(),
        ) {
            let (base, head) = (tree(&base), tree(&head));
            let head_spec = variant(head_variant);
            let base_spec = base_variant.map(variant);
            // Artifacts exist for every even first fingerprint byte.
            let lookup = |_: &str, f: &Fingerprint| {
                f.0[0].is_multiple_of(2).then(|| Artifact {
                    image: "i".to_owned(),
                    tag: "t".to_owned(),
                    digest: "d".to_owned(),
                    source_commit: "c".to_owned(),
                })
            };
            let artifacts: Option<&dyn ArtifactLookup> =
                if with_lookup { Some(&lookup) } else { None };
            plan_both(&head_spec, &head, &base, base_spec.as_ref(), artifacts);
            // The same intent object on both sides takes the no-hashing path.
            plan_both(&head_spec, &head, &base, Some(&head_spec), artifacts);
        }
    }
}
