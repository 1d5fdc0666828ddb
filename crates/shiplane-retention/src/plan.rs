//! The garbage collection plan: one decision per tag, with every reason.
//!
//! A tag's own verdict comes from the protections of its digest and its repository's rules; the
//! plan then keeps a whole digest as soon as one of its tags is kept, because a registry deletes
//! manifests by digest and would take the kept tag with it.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use crate::{CompiledRules, Protected, Protection, RepoListing, TagInfo, human_duration};

/// What happens to a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// The tag (and its digest) stays.
    Keep,
    /// The tag's digest is deleted, with every tag on it.
    Delete,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Keep => "keep",
            Self::Delete => "delete",
        })
    }
}

/// Why a tag is kept or deleted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Its digest is protected (a release references it, or the artifact index recorded it
    /// recently).
    Protected(Protection),
    /// It is a lane's tag (`dev-latest`, `prod`).
    LaneTag {
        /// The lane.
        lane: String,
    },
    /// It matches a `keep_tags` pattern.
    KeepTag {
        /// The pattern, as written in the rules.
        pattern: String,
    },
    /// It is a semantic version and the rules keep those.
    Semver,
    /// It is among the newest `keep_newest` tags of its repository.
    Newest {
        /// Its place, 1 = newest.
        rank: usize,
        /// How many tags the repository has.
        of: usize,
    },
    /// It is younger than the grace period.
    Grace {
        /// How old it is (negative when its time is in the future).
        age_seconds: i64,
        /// The grace period.
        grace_seconds: i64,
    },
    /// A grace period is set and the registry gives no time, so its age is unknown.
    UnknownAge,
    /// Its own rules would delete it, but another tag on the same digest is kept.
    SharedDigest {
        /// The kept tag (the first by name when several are).
        kept_tag: String,
    },
    /// No rule keeps it.
    Unmatched,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Protected(protection) => protection.fmt(f),
            Self::LaneTag { lane } => write!(f, "tag of lane {lane}"),
            Self::KeepTag { pattern } => write!(f, "matches keep_tags `{pattern}`"),
            Self::Semver => f.write_str("semver tag"),
            Self::Newest { rank, of } => write!(f, "newest {rank} of {of}"),
            Self::Grace {
                age_seconds,
                grace_seconds,
            } if *age_seconds < 0 => write!(
                f,
                "dated {} in the future (grace {})",
                human_duration(-age_seconds),
                human_duration(*grace_seconds)
            ),
            Self::Grace {
                age_seconds,
                grace_seconds,
            } => write!(
                f,
                "younger than grace ({} old, grace {})",
                human_duration(*age_seconds),
                human_duration(*grace_seconds)
            ),
            Self::UnknownAge => f.write_str("age unknown, grace applies"),
            Self::SharedDigest { kept_tag } => {
                write!(f, "digest shared with kept tag `{kept_tag}`")
            }
            Self::Unmatched => f.write_str("no rule keeps it"),
        }
    }
}

/// The decision about one tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decision {
    /// The repository.
    pub repository: String,
    /// The tag.
    pub tag: String,
    /// The digest the tag points at.
    pub digest: String,
    /// Keep or delete.
    pub action: Action,
    /// Every reason that applies, never empty; the first is the main one. Protections come
    /// first, then lane tags, `keep_tags` patterns, semver, newest, grace and unknown age; a
    /// tag kept only for its digest has just [`Reason::SharedDigest`], a deleted tag just
    /// [`Reason::Unmatched`].
    pub reasons: Vec<Reason>,
}

/// The plan for a whole registry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcPlan {
    /// One decision per listed tag, sorted by repository, then tag (then digest, should a
    /// listing name one tag twice).
    pub decisions: Vec<Decision>,
}

impl GcPlan {
    /// What to delete: (repository, digest, its tags), each digest of a repository once, sorted
    /// by repository then digest, tags sorted.
    pub fn deletions(&self) -> impl Iterator<Item = (&str, &str, Vec<&str>)> {
        let mut groups: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
        for decision in &self.decisions {
            if decision.action == Action::Delete {
                groups
                    .entry((&decision.repository, &decision.digest))
                    .or_default()
                    .push(&decision.tag);
            }
        }
        groups
            .into_iter()
            .map(|((repository, digest), tags)| (repository, digest, tags))
    }

    /// How many tags are kept.
    pub fn kept(&self) -> usize {
        self.count(Action::Keep)
    }

    /// How many tags are deleted (tags, not digests: see [`GcPlan::deletions`]).
    pub fn deleted(&self) -> usize {
        self.count(Action::Delete)
    }

    fn count(&self, action: Action) -> usize {
        self.decisions.iter().filter(|d| d.action == action).count()
    }
}

/// Decides, for every tag of every listing, whether it is kept or deleted and why.
///
/// `rules` gives the compiled rules of a repository; `protected` the digests to keep in every
/// repository; `now` is the current time in unix seconds (for the grace period). The plan is the
/// same whatever the order of `listings`, of their tags and of the protections: listings of the
/// same repository are merged and identical tag entries counted once.
pub fn plan<'r>(
    listings: &[RepoListing],
    rules: &dyn Fn(&str) -> &'r CompiledRules,
    protected: &Protected,
    now: i64,
) -> GcPlan {
    let mut repositories: BTreeMap<&str, Vec<&TagInfo>> = BTreeMap::new();
    for listing in listings {
        repositories
            .entry(&listing.repository)
            .or_default()
            .extend(&listing.tags);
    }

    let mut decisions = Vec::new();
    for (repository, mut tags) in repositories {
        // Newest first is a total order over every field, so equal entries end up adjacent.
        tags.sort_by(|a, b| newest_first(a, b));
        tags.dedup();
        let rules = rules(repository);
        let of = tags.len();
        let verdicts: Vec<(&TagInfo, Vec<Reason>)> = tags
            .iter()
            .enumerate()
            .map(|(index, tag)| {
                let mut reasons: Vec<Reason> = protected
                    .of(&tag.digest)
                    .into_iter()
                    .map(Reason::Protected)
                    .collect();
                reasons.extend(rules.keep_reasons(tag, index + 1, of, now));
                (*tag, reasons)
            })
            .collect();

        // The first kept tag by name on each digest that has one: those digests stay whole.
        let mut kept_tag_of: BTreeMap<&str, &str> = BTreeMap::new();
        for (tag, reasons) in &verdicts {
            if !reasons.is_empty() {
                kept_tag_of
                    .entry(&tag.digest)
                    .and_modify(|kept| *kept = (*kept).min(&tag.tag))
                    .or_insert(&tag.tag);
            }
        }

        for (tag, reasons) in verdicts {
            let (action, reasons) = if !reasons.is_empty() {
                (Action::Keep, reasons)
            } else if let Some(kept_tag) = kept_tag_of.get(tag.digest.as_str()) {
                let kept_tag = (*kept_tag).to_owned();
                (Action::Keep, vec![Reason::SharedDigest { kept_tag }])
            } else {
                (Action::Delete, vec![Reason::Unmatched])
            };
            decisions.push(Decision {
                repository: repository.to_owned(),
                tag: tag.tag.clone(),
                digest: tag.digest.clone(),
                action,
                reasons,
            });
        }
    }
    decisions.sort_by(|a, b| {
        (&a.repository, &a.tag, &a.digest).cmp(&(&b.repository, &b.tag, &b.digest))
    });
    GcPlan { decisions }
}

/// Newest first: time descending with unknown times last, then tag name descending, then digest
/// descending, so that ranks never depend on the listing's order.
fn newest_first(a: &TagInfo, b: &TagInfo) -> Ordering {
    // `None < Some(_)`, so comparing b with a puts unknown times after every known one.
    b.time
        .cmp(&a.time)
        .then_with(|| b.tag.cmp(&a.tag))
        .then_with(|| b.digest.cmp(&a.digest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rules;

    const NOW: i64 = 1_800_000_000;
    const DAY: i64 = 86_400;

    fn tag(tag: &str, digest: &str, age_days: Option<i64>) -> TagInfo {
        TagInfo {
            tag: tag.into(),
            digest: digest.into(),
            time: age_days.map(|days| NOW - days * DAY),
        }
    }

    fn listing(tags: Vec<TagInfo>) -> Vec<RepoListing> {
        vec![RepoListing {
            repository: "reg/app".into(),
            tags,
        }]
    }

    fn run(rules: &Rules, tags: Vec<TagInfo>, protected: &Protected) -> GcPlan {
        let compiled = rules.compile().unwrap();
        plan(&listing(tags), &|_| &compiled, protected, NOW)
    }

    /// The decision's action and reasons for one tag.
    fn decision<'p>(plan: &'p GcPlan, tag: &str) -> (Action, &'p [Reason]) {
        let d = plan.decisions.iter().find(|d| d.tag == tag).unwrap();
        (d.action, &d.reasons)
    }

    #[test]
    fn protected_digest_is_kept_with_every_protection() {
        let mut protected = Protected::new();
        let current = Protection::Release {
            lane: "prod".into(),
            release: "r-abc".into(),
            current: true,
        };
        let window = Protection::Release {
            lane: "staging".into(),
            release: "r-old".into(),
            current: false,
        };
        protected.add("sha256:p", window.clone());
        protected.add("sha256:p", current.clone());
        let plan = run(
            &Rules::default(),
            vec![tag("sha-1", "sha256:p", Some(90))],
            &protected,
        );
        let (action, reasons) = decision(&plan, "sha-1");
        assert_eq!(action, Action::Keep);
        assert_eq!(
            reasons,
            [Reason::Protected(current), Reason::Protected(window)]
        );
        assert_eq!(
            reasons[0].to_string(),
            "referenced by lane prod's current release r-abc"
        );
    }

    #[test]
    fn lane_tag_is_kept() {
        let rules = Rules {
            lane_tags: vec![("dev".into(), "dev-latest".into())],
            ..Rules::default()
        };
        let plan = run(
            &rules,
            vec![tag("dev-latest", "sha256:a", Some(90))],
            &Protected::new(),
        );
        let (action, reasons) = decision(&plan, "dev-latest");
        assert_eq!(action, Action::Keep);
        assert_eq!(reasons, [Reason::LaneTag { lane: "dev".into() }]);
        assert_eq!(reasons[0].to_string(), "tag of lane dev");
    }

    #[test]
    fn keep_tags_lists_every_matching_pattern() {
        let rules = Rules {
            keep_tags: vec!["release-?".into(), "sha-*".into(), "sha-1*".into()],
            ..Rules::default()
        };
        let plan = run(
            &rules,
            vec![
                tag("sha-1a", "sha256:a", Some(90)),
                tag("release-7", "sha256:b", Some(90)),
                tag("release-77", "sha256:c", Some(90)),
            ],
            &Protected::new(),
        );
        let (action, reasons) = decision(&plan, "sha-1a");
        assert_eq!(action, Action::Keep);
        assert_eq!(
            reasons,
            [
                Reason::KeepTag {
                    pattern: "sha-*".into()
                },
                Reason::KeepTag {
                    pattern: "sha-1*".into()
                }
            ]
        );
        assert_eq!(reasons[0].to_string(), "matches keep_tags `sha-*`");
        assert_eq!(decision(&plan, "release-7").0, Action::Keep);
        assert_eq!(decision(&plan, "release-77").0, Action::Delete);
    }

    #[test]
    fn semver_tags_are_kept_only_when_asked() {
        let tags = || vec![tag("v1.2.0", "sha256:a", Some(90))];
        let rules = Rules {
            keep_semver: true,
            ..Rules::default()
        };
        let plan = run(&rules, tags(), &Protected::new());
        assert_eq!(
            decision(&plan, "v1.2.0"),
            (Action::Keep, &[Reason::Semver][..])
        );
        assert_eq!(Reason::Semver.to_string(), "semver tag");
        let plan = run(&Rules::default(), tags(), &Protected::new());
        assert_eq!(decision(&plan, "v1.2.0").0, Action::Delete);
    }

    #[test]
    fn newest_ranks_by_time_then_name_with_unknown_times_last() {
        let rules = Rules {
            keep_newest: Some(3),
            ..Rules::default()
        };
        let plan = run(
            &rules,
            vec![
                tag("unknown", "sha256:u", None),
                tag("old", "sha256:o", Some(30)),
                tag("new", "sha256:n", Some(1)),
                // Same time: the name breaks the tie, descending, so `tie-b` ranks first.
                tag("tie-a", "sha256:ta", Some(2)),
                tag("tie-b", "sha256:tb", Some(2)),
            ],
            &Protected::new(),
        );
        assert_eq!(
            decision(&plan, "new"),
            (Action::Keep, &[Reason::Newest { rank: 1, of: 5 }][..])
        );
        assert_eq!(
            decision(&plan, "tie-b").1,
            [Reason::Newest { rank: 2, of: 5 }]
        );
        assert_eq!(
            decision(&plan, "tie-a").1,
            [Reason::Newest { rank: 3, of: 5 }]
        );
        assert_eq!(decision(&plan, "old").0, Action::Delete);
        assert_eq!(decision(&plan, "unknown").0, Action::Delete);
        assert_eq!(
            Reason::Newest { rank: 3, of: 40 }.to_string(),
            "newest 3 of 40"
        );
    }

    #[test]
    fn unknown_time_ranks_when_few_tags() {
        let rules = Rules {
            keep_newest: Some(2),
            ..Rules::default()
        };
        let plan = run(
            &rules,
            vec![tag("a", "sha256:a", None), tag("b", "sha256:b", None)],
            &Protected::new(),
        );
        assert_eq!(decision(&plan, "b").1, [Reason::Newest { rank: 1, of: 2 }]);
        assert_eq!(decision(&plan, "a").1, [Reason::Newest { rank: 2, of: 2 }]);
    }

    #[test]
    fn grace_keeps_young_tags() {
        let rules = Rules {
            grace_seconds: Some(DAY),
            ..Rules::default()
        };
        let plan = run(
            &rules,
            vec![
                TagInfo {
                    tag: "young".into(),
                    digest: "sha256:y".into(),
                    time: Some(NOW - 7_200),
                },
                TagInfo {
                    tag: "future".into(),
                    digest: "sha256:f".into(),
                    time: Some(NOW + 300),
                },
                // Exactly as old as the grace: no longer younger than it.
                tag("edge", "sha256:e", Some(1)),
            ],
            &Protected::new(),
        );
        let (action, reasons) = decision(&plan, "young");
        assert_eq!(action, Action::Keep);
        assert_eq!(
            reasons,
            [Reason::Grace {
                age_seconds: 7_200,
                grace_seconds: DAY
            }]
        );
        assert_eq!(
            reasons[0].to_string(),
            "younger than grace (2h old, grace 1d)"
        );
        let (action, reasons) = decision(&plan, "future");
        assert_eq!(action, Action::Keep);
        assert_eq!(reasons[0].to_string(), "dated 5m in the future (grace 1d)");
        assert_eq!(decision(&plan, "edge").0, Action::Delete);
    }

    #[test]
    fn unknown_age_is_kept_only_under_grace() {
        let tags = || vec![tag("mystery", "sha256:m", None)];
        let rules = Rules {
            grace_seconds: Some(DAY),
            ..Rules::default()
        };
        let plan = run(&rules, tags(), &Protected::new());
        assert_eq!(
            decision(&plan, "mystery"),
            (Action::Keep, &[Reason::UnknownAge][..])
        );
        assert_eq!(Reason::UnknownAge.to_string(), "age unknown, grace applies");
        let plan = run(&Rules::default(), tags(), &Protected::new());
        assert_eq!(decision(&plan, "mystery").0, Action::Delete);
    }

    #[test]
    fn shared_digest_keeps_every_tag_on_it() {
        let rules = Rules {
            keep_semver: true,
            ..Rules::default()
        };
        let plan = run(
            &rules,
            vec![
                tag("v1.2.0", "sha256:s", Some(90)),
                tag("v1.1.0", "sha256:s", Some(90)),
                tag("sha-1a", "sha256:s", Some(90)),
                tag("sha-2b", "sha256:x", Some(90)),
            ],
            &Protected::new(),
        );
        let (action, reasons) = decision(&plan, "sha-1a");
        assert_eq!(action, Action::Keep);
        // The first kept tag by name names the reason.
        assert_eq!(
            reasons,
            [Reason::SharedDigest {
                kept_tag: "v1.1.0".into()
            }]
        );
        assert_eq!(
            reasons[0].to_string(),
            "digest shared with kept tag `v1.1.0`"
        );
        assert_eq!(
            plan.deletions().collect::<Vec<_>>(),
            [("reg/app", "sha256:x", vec!["sha-2b"])]
        );
    }

    #[test]
    fn unmatched_tags_are_deleted_per_digest() {
        let plan = run(
            &Rules::default(),
            vec![
                tag("b", "sha256:1", Some(90)),
                tag("a", "sha256:1", Some(90)),
                tag("c", "sha256:2", Some(90)),
            ],
            &Protected::new(),
        );
        assert_eq!(
            decision(&plan, "a"),
            (Action::Delete, &[Reason::Unmatched][..])
        );
        assert_eq!(Reason::Unmatched.to_string(), "no rule keeps it");
        assert_eq!(
            plan.deletions().collect::<Vec<_>>(),
            [
                ("reg/app", "sha256:1", vec!["a", "b"]),
                ("reg/app", "sha256:2", vec!["c"])
            ]
        );
        assert_eq!((plan.kept(), plan.deleted()), (0, 3));
    }

    #[test]
    fn reasons_come_in_order_of_strength() {
        let rules = Rules {
            keep_newest: Some(1),
            keep_tags: vec!["v*".into()],
            keep_semver: true,
            grace_seconds: Some(DAY),
            lane_tags: vec![("prod".into(), "v1.0.0".into())],
        };
        let mut protected = Protected::new();
        let young = Protection::YoungArtifact {
            service: "app".into(),
            recorded_at: NOW - 60,
        };
        protected.add("sha256:a", young.clone());
        let plan = run(
            &rules,
            vec![TagInfo {
                tag: "v1.0.0".into(),
                digest: "sha256:a".into(),
                time: Some(NOW - 60),
            }],
            &protected,
        );
        assert_eq!(
            decision(&plan, "v1.0.0").1,
            [
                Reason::Protected(young),
                Reason::LaneTag {
                    lane: "prod".into()
                },
                Reason::KeepTag {
                    pattern: "v*".into()
                },
                Reason::Semver,
                Reason::Newest { rank: 1, of: 1 },
                Reason::Grace {
                    age_seconds: 60,
                    grace_seconds: DAY
                },
            ]
        );
    }

    #[test]
    fn protection_applies_in_every_repository_and_rules_per_repository() {
        let keep_all = Rules {
            keep_tags: vec!["*".into()],
            ..Rules::default()
        }
        .compile()
        .unwrap();
        let keep_none = Rules::default().compile().unwrap();
        let mut protected = Protected::new();
        protected.add(
            "sha256:p",
            Protection::Release {
                lane: "prod".into(),
                release: "r".into(),
                current: true,
            },
        );
        let listings = vec![
            RepoListing {
                repository: "mirror/app".into(),
                tags: vec![
                    tag("x", "sha256:p", Some(90)),
                    tag("y", "sha256:q", Some(90)),
                ],
            },
            RepoListing {
                repository: "keep/app".into(),
                tags: vec![tag("z", "sha256:q", Some(90))],
            },
        ];
        let rules = |repository: &str| {
            if repository.starts_with("keep/") {
                &keep_all
            } else {
                &keep_none
            }
        };
        let plan = plan(&listings, &rules, &protected, NOW);
        let summary: Vec<_> = plan
            .decisions
            .iter()
            .map(|d| (d.repository.as_str(), d.tag.as_str(), d.action))
            .collect();
        assert_eq!(
            summary,
            [
                ("keep/app", "z", Action::Keep),
                ("mirror/app", "x", Action::Keep),
                ("mirror/app", "y", Action::Delete),
            ]
        );
    }

    #[test]
    fn duplicate_listings_are_merged() {
        let compiled = Rules::default().compile().unwrap();
        let one = listing(vec![tag("a", "sha256:a", Some(9))]);
        let twice: Vec<RepoListing> = one.iter().chain(&one).cloned().collect();
        assert_eq!(
            plan(&twice, &|_| &compiled, &Protected::new(), NOW),
            plan(&one, &|_| &compiled, &Protected::new(), NOW)
        );
    }

    /// 40 old tags, one digest each, 3 of them released; keep the newest 5, no grace.
    fn forty_tags(released: [usize; 3]) -> GcPlan {
        let rules = Rules {
            keep_newest: Some(5),
            ..Rules::default()
        };
        // `sha-00` is the newest (10 days old), `sha-39` the oldest.
        let tags: Vec<TagInfo> = (0..40)
            .map(|i| {
                tag(
                    &format!("sha-{i:02}"),
                    &format!("sha256:{i:02}"),
                    Some(10 + i),
                )
            })
            .collect();
        let mut protected = Protected::new();
        for i in released {
            protected.add(
                format!("sha256:{i:02}"),
                Protection::Release {
                    lane: "prod".into(),
                    release: format!("r-{i:02}"),
                    current: i == released[0],
                },
            );
        }
        run(&rules, tags, &protected)
    }

    #[test]
    fn forty_old_tags_three_released_keep_newest_five() {
        // Released tags outside the newest 5: 40 - 5 - 3 = 32 deleted.
        let plan = forty_tags([10, 20, 30]);
        assert_eq!((plan.kept(), plan.deleted()), (8, 32));
        assert_eq!(plan.deletions().count(), 32);
        for i in 0..5 {
            let (action, reasons) = decision(&plan, &format!("sha-{i:02}"));
            assert_eq!(action, Action::Keep);
            assert_eq!(
                reasons,
                [Reason::Newest {
                    rank: i + 1,
                    of: 40
                }]
            );
        }
        for i in [10, 20, 30] {
            let (action, reasons) = decision(&plan, &format!("sha-{i:02}"));
            assert_eq!(action, Action::Keep);
            assert!(matches!(reasons, [Reason::Protected(_)]), "{reasons:?}");
        }
        assert_eq!(
            decision(&plan, "sha-05"),
            (Action::Delete, &[Reason::Unmatched][..])
        );

        // A released tag among the newest 5 is kept once, for both reasons: 40 - 5 - 2 = 33.
        let plan = forty_tags([2, 20, 30]);
        assert_eq!((plan.kept(), plan.deleted()), (7, 33));
        let (_, reasons) = decision(&plan, "sha-02");
        assert!(
            matches!(
                reasons,
                [Reason::Protected(_), Reason::Newest { rank: 3, of: 40 }]
            ),
            "{reasons:?}"
        );
    }
}
