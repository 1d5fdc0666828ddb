//! Properties of the plan over random registries, through the public API only (what the adapter
//! sees): whatever the rules and protections, nothing protected and nothing sharing a digest with
//! a kept tag is deleted, every tag gets one decision, input order does not matter, and a tag
//! pushed onto a planned digest stops its deletion.

#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use shiplane_retention::{
    Action, CompiledRules, GcPlan, Protected, Protection, RepoListing, Rules, TagInfo, plan,
    recheck,
};

const NOW: i64 = 1_800_000_000;
const REPOSITORIES: [&str; 3] = ["reg/api", "reg/web", "mirror/api"];
/// Tags that exercise every rule: semver and not, lane tags, patterns.
const TAGS: [&str; 14] = [
    "v1.2.3",
    "1.0.0-rc.1",
    "v01.2.3",
    "sha-1a2b",
    "sha-3c4d",
    "sha-5e6f",
    "dev-latest",
    "prod",
    "release-1",
    "release-22",
    "latest",
    "feature-x",
    "build-7",
    "build-8",
];
/// Few digests, so that tags often share one, within and across repositories.
const DIGESTS: [&str; 6] = [
    "sha256:d0",
    "sha256:d1",
    "sha256:d2",
    "sha256:d3",
    "sha256:d4",
    "sha256:d5",
];
const PATTERNS: [&str; 4] = ["sha-*", "release-?", "dev-latest", "build-[0-7]"];

fn tag_info() -> impl Strategy<Value = (usize, Option<i64>)> {
    (
        0..DIGESTS.len(),
        // Unknown times, recent ones around the grace periods (a few in the future) and whole
        // days ago, which often tie.
        prop::option::weighted(
            0.8,
            prop_oneof![
                NOW - 2_500..NOW + 100,
                (0i64..5).prop_map(|d| NOW - d * 86_400)
            ],
        ),
    )
}

/// One repository: a random subset of the tag names (unique within it), each on a random digest
/// with a random time (sometimes unknown, sometimes in the future).
fn repository(name: &'static str) -> impl Strategy<Value = RepoListing> {
    prop::sample::subsequence(TAGS.to_vec(), 0..=TAGS.len())
        .prop_flat_map(|tags| {
            let n = tags.len();
            (Just(tags), prop::collection::vec(tag_info(), n))
        })
        .prop_map(move |(tags, infos)| RepoListing {
            repository: name.into(),
            tags: tags
                .into_iter()
                .zip(infos)
                .map(|(tag, (digest, time))| TagInfo {
                    tag: tag.into(),
                    digest: DIGESTS[digest].into(),
                    time,
                })
                .collect(),
        })
}

fn listings() -> impl Strategy<Value = Vec<RepoListing>> {
    prop::sample::subsequence(REPOSITORIES.to_vec(), 1..=REPOSITORIES.len())
        .prop_flat_map(|names| names.into_iter().map(repository).collect::<Vec<_>>())
}

fn rules() -> impl Strategy<Value = Rules> {
    (
        prop::option::of(0u32..6),
        prop::sample::subsequence(PATTERNS.to_vec(), 0..=PATTERNS.len()),
        any::<bool>(),
        prop::option::of(0i64..2_000),
        prop::sample::subsequence(
            vec![("dev", "dev-latest"), ("prod", "prod"), ("prod", "v1.2.3")],
            0..=3,
        ),
    )
        .prop_map(
            |(keep_newest, keep_tags, keep_semver, grace_seconds, lane_tags)| Rules {
                keep_newest,
                keep_tags: keep_tags.into_iter().map(Into::into).collect(),
                keep_semver,
                grace_seconds,
                lane_tags: lane_tags
                    .into_iter()
                    .map(|(lane, tag)| (lane.into(), tag.into()))
                    .collect(),
            },
        )
}

fn protected() -> impl Strategy<Value = Protected> {
    prop::sample::subsequence(DIGESTS.to_vec(), 0..=3).prop_map(|digests| {
        let mut protected = Protected::new();
        for (i, digest) in digests.into_iter().enumerate() {
            protected.add(
                digest,
                Protection::Release {
                    lane: "prod".into(),
                    release: format!("r-{i}"),
                    current: i == 0,
                },
            );
            if i % 2 == 1 {
                protected.add(
                    digest,
                    Protection::YoungArtifact {
                        service: "api".into(),
                        recorded_at: NOW - 10,
                    },
                );
            }
        }
        protected
    })
}

/// Fisher–Yates with a small deterministic generator: enough to put the input in another order.
fn shuffle<T>(items: &mut [T], seed: &mut u64) {
    for i in (1..items.len()).rev() {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        let j = usize::try_from(*seed % (i as u64 + 1)).unwrap();
        items.swap(i, j);
    }
}

fn run(listings: &[RepoListing], rules: &[CompiledRules], protected: &Protected) -> GcPlan {
    // Each repository gets its own rules, so that differing rules cannot mix up repositories.
    let rules_of = |repository: &str| {
        let index = REPOSITORIES.iter().position(|r| *r == repository).unwrap();
        &rules[index]
    };
    plan(listings, &rules_of, protected, NOW)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn plan_invariants(
        listings in listings(),
        rules in prop::collection::vec(rules(), REPOSITORIES.len()),
        protected in protected(),
        seed in 1u64..,
    ) {
        let compiled: Vec<CompiledRules> = rules.iter().map(|r| r.compile().unwrap()).collect();
        let gc = run(&listings, &compiled, &protected);

        // Every input tag has exactly one decision, with at least one reason.
        let input: BTreeSet<(&str, &str)> = listings
            .iter()
            .flat_map(|l| l.tags.iter().map(move |t| (l.repository.as_str(), t.tag.as_str())))
            .collect();
        let decided: Vec<(&str, &str)> = gc
            .decisions
            .iter()
            .map(|d| (d.repository.as_str(), d.tag.as_str()))
            .collect();
        prop_assert_eq!(decided.len(), input.len());
        prop_assert_eq!(decided.iter().copied().collect::<BTreeSet<_>>(), input);
        prop_assert!(decided.is_sorted());
        prop_assert!(gc.decisions.iter().all(|d| !d.reasons.is_empty()));
        prop_assert_eq!(gc.kept() + gc.deleted(), gc.decisions.len());

        // Nothing protected is deleted, and no deleted digest has a kept tag in its repository.
        let kept: BTreeSet<(&str, &str)> = gc
            .decisions
            .iter()
            .filter(|d| d.action == Action::Keep)
            .map(|d| (d.repository.as_str(), d.digest.as_str()))
            .collect();
        let mut seen = BTreeSet::new();
        let mut deleted_tags = 0;
        for (repository, digest, tags) in gc.deletions() {
            prop_assert!(!protected.contains(digest), "{digest} is protected");
            prop_assert!(!kept.contains(&(repository, digest)), "{digest} has a kept tag");
            prop_assert!(seen.insert((repository, digest)), "{digest} listed twice");
            // Every tag on the digest goes with it.
            let listing = listings.iter().find(|l| l.repository == repository).unwrap();
            let on_digest: BTreeSet<&str> = listing
                .tags
                .iter()
                .filter(|t| t.digest == digest)
                .map(|t| t.tag.as_str())
                .collect();
            prop_assert_eq!(tags.iter().copied().collect::<BTreeSet<_>>(), on_digest);
            deleted_tags += tags.len();
        }
        prop_assert_eq!(deleted_tags, gc.deleted());

        // The same registry listed in another order (and protections recorded in another
        // order) gives the identical plan.
        let mut shuffled = listings.clone();
        let mut seed = seed;
        shuffle(&mut shuffled, &mut seed);
        for listing in &mut shuffled {
            shuffle(&mut listing.tags, &mut seed);
        }
        let mut reordered = protected.clone();
        for protections in reordered.0.values_mut() {
            protections.reverse();
        }
        prop_assert_eq!(&run(&shuffled, &compiled, &reordered), &gc);
    }

    #[test]
    fn recheck_refuses_a_tag_pushed_onto_a_planned_digest(
        listings in listings(),
        rules in prop::collection::vec(rules(), REPOSITORIES.len()),
        protected in protected(),
    ) {
        let compiled: Vec<CompiledRules> = rules.iter().map(|r| r.compile().unwrap()).collect();
        let gc = run(&listings, &compiled, &protected);
        let by_name: BTreeMap<&str, &RepoListing> =
            listings.iter().map(|l| (l.repository.as_str(), l)).collect();
        for (repository, digest, tags) in gc.deletions() {
            let listing = by_name[repository];
            // Nothing changed: the deletion goes ahead.
            prop_assert_eq!(recheck(digest, &tags, listing, &protected), Ok(()));

            // A tag pushed onto the digest during the run stops it.
            let mut fresh = listing.clone();
            fresh.tags.push(TagInfo {
                tag: "pushed-during-run".into(),
                digest: digest.into(),
                time: Some(NOW),
            });
            prop_assert!(recheck(digest, &tags, &fresh, &protected).is_err());

            // So does a release that now references it.
            let mut now_protected = protected.clone();
            now_protected.add(
                digest,
                Protection::Release { lane: "prod".into(), release: "r-new".into(), current: true },
            );
            prop_assert!(recheck(digest, &tags, listing, &now_protected).is_err());
        }
    }
}
