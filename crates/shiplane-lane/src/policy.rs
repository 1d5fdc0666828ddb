//! The promotion policy (SPEC §2.5): order, version, `require_tag_on`, approvals, freeze
//! windows and holds, decided together so a refusal lists *everything* that is missing.
//!
//! The caller gathers the facts (the upstream lane's history, whether the source commit is on
//! the required branch, the approvals, the time, the lane's state) and this module decides. It
//! reads nothing itself.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use shiplane_intent::EffectiveLane;

use crate::freeze::FreezeWindow;
use crate::release::{Approval, LaneState, Override};
use crate::version::{Version, next_version};

/// Everything the policy looks at for one promotion.
pub struct PolicyInput<'a> {
    /// The lane promoted into.
    pub lane: &'a EffectiveLane,
    /// The release's id.
    pub release_id: &'a str,
    /// Where the release comes from: `Some(lane)` when taken from a lane or its history,
    /// `None` when made from a commit.
    pub source_lane: Option<&'a str>,
    /// Release ids the lane's upstream (`from`) lane has had, when it has one.
    pub upstream_history: &'a [String],
    /// Whether the source commit is on `require_tag_on`'s branch (`None` when the lane has no
    /// such rule). `Err` says why it could not be told (a branch missing in the clone).
    pub on_required_branch: Option<Result<bool, String>>,
    /// Versions the lane had so far.
    pub earlier_versions: &'a [Version],
    /// `--version`, already parsed.
    pub requested_version: Option<&'a str>,
    /// Approvals for this release (distinct people count).
    pub approvals: &'a [Approval],
    /// Now.
    pub now: Timestamp,
    /// Loads an IANA zone by name; `None` when unknown.
    pub zones: &'a dyn Fn(&str) -> Option<TimeZone>,
    /// The lane's state (hold).
    pub state: &'a LaneState,
    /// `--override-freeze --reason`.
    pub override_freeze: Option<&'a str>,
    /// `--override-hold --reason`.
    pub override_hold: Option<&'a str>,
    /// Who is promoting.
    pub actor: &'a str,
}

/// A policy that refused the promotion: which rule, what is wrong, how to satisfy it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `order`, `version`, `require_tag_on`, `approvals`, `freeze` or `hold`.
    pub rule: &'static str,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub help: String,
}

/// The decision: the version the release gets, the overrides used, and every refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The new version, in versioned lanes (when the version rule passed).
    pub version: Option<Version>,
    /// Overrides that were needed and given.
    pub overrides: Vec<Override>,
    /// Refusals; empty means the promotion may go ahead.
    pub refusals: Vec<Refusal>,
}

/// Decides a promotion.
#[must_use]
pub fn evaluate(input: &PolicyInput<'_>) -> Decision {
    let lane = input.lane;
    let name = &lane.name;
    let mut refusals = Vec::new();
    let mut overrides = Vec::new();

    // Order: a lane with an upstream takes only releases its upstream has had.
    if let Some(up) = &lane.from {
        match input.source_lane {
            Some(src) if src != up => refusals.push(Refusal {
                rule: "order",
                message: format!("lane `{name}` takes releases from `{up}`, not from `{src}`: lanes may not be skipped"),
                help: format!("promote to `{up}` first, then `shiplane promote {name} --from {up}`"),
            }),
            None => refusals.push(Refusal {
                rule: "order",
                message: format!("lane `{name}` takes releases from `{up}`; a release made straight from a commit would skip it"),
                help: format!("promote the commit through `{up}` first, then `shiplane promote {name} --from {up}`"),
            }),
            Some(_) if !input.upstream_history.iter().any(|r| r == input.release_id) => {
                refusals.push(Refusal {
                    rule: "order",
                    message: format!("release {} was never a release of `{up}`, the upstream of `{name}`", input.release_id),
                    help: format!("promote it to `{up}` first: `shiplane promote {up} --release {}`", input.release_id),
                });
            }
            Some(_) => {}
        }
    }

    // Version.
    let mut version = None;
    if let Some(bump) = lane.version {
        match next_version(input.earlier_versions, bump, input.requested_version) {
            Ok(v) => version = Some(v),
            Err(why) => refusals.push(Refusal {
                rule: "version",
                message: format!("lane `{name}`: {why}"),
                help: "give a greater --version, or leave it out to bump automatically".to_owned(),
            }),
        }
    }

    // The source commit must be on a branch.
    if let (Some(branch), Some(on)) = (&lane.require_tag_on, &input.on_required_branch) {
        match on {
            Ok(true) => {}
            Ok(false) => refusals.push(Refusal {
                rule: "require_tag_on",
                message: format!("lane `{name}` requires the source commit to be on `{branch}`; release {} is not", input.release_id),
                help: format!("merge the change into `{branch}` and promote a release built from `{branch}`"),
            }),
            Err(why) => refusals.push(Refusal {
                rule: "require_tag_on",
                message: format!("lane `{name}` requires the source commit to be on `{branch}`, which could not be checked: {why}"),
                help: format!("fetch `{branch}` into the source repository (`git fetch origin {branch}`)"),
            }),
        }
    }

    // Approvals: distinct people.
    let mut people: Vec<&str> = input.approvals.iter().map(|a| a.by.as_str()).collect();
    people.sort_unstable();
    people.dedup();
    let have = u32::try_from(people.len()).unwrap_or(u32::MAX);
    if have < lane.approvals {
        let by = if people.is_empty() {
            String::new()
        } else {
            format!(" (approved by {})", people.join(", "))
        };
        refusals.push(Refusal {
            rule: "approvals",
            message: format!(
                "lane `{name}` needs {} approval(s) for release {}; it has {have}{by}",
                lane.approvals, input.release_id
            ),
            help: format!(
                "{} more person(s) run the same promote with --approve (the approver is SHIPLANE_ACTOR, GITHUB_ACTOR, BUILDKITE_BUILD_CREATOR or git's user.name)",
                lane.approvals - have
            ),
        });
    }

    // Freeze windows; an unknown zone counts as frozen (fail closed).
    for text in &lane.freeze {
        let (frozen, why) = match FreezeWindow::parse(text) {
            Ok(w) => match (input.zones)(&w.zone) {
                Some(tz) => (
                    w.contains(input.now, &tz),
                    format!("inside the freeze window `{text}`"),
                ),
                None => (
                    true,
                    format!(
                        "the freeze window `{text}` names zone `{}`, which is unknown here (is tzdata installed?)",
                        w.zone
                    ),
                ),
            },
            Err(e) => (true, e.to_string()),
        };
        if frozen {
            if let Some(reason) = input.override_freeze {
                overrides.push(Override {
                    what: "freeze".into(),
                    reason: reason.into(),
                    by: input.actor.into(),
                });
            } else {
                refusals.push(Refusal {
                    rule: "freeze",
                    message: format!("lane `{name}` is frozen: {why}"),
                    help: "wait until the window ends, or pass --override-freeze --reason TEXT (recorded in the release)".to_owned(),
                });
            }
            break;
        }
    }

    // Hold.
    if input.state.held {
        if let Some(reason) = input.override_hold {
            overrides.push(Override {
                what: "hold".into(),
                reason: reason.into(),
                by: input.actor.into(),
            });
        } else {
            let why = input.state.reason.as_deref().unwrap_or("no reason given");
            let by = input
                .state
                .by
                .as_deref()
                .map(|b| format!(" by {b}"))
                .unwrap_or_default();
            refusals.push(Refusal {
                rule: "hold",
                message: format!("lane `{name}` is held{by}: {why}"),
                help: format!("`shiplane release-hold {name}` to resume promotions, or pass --override-hold --reason TEXT"),
            });
        }
    }

    Decision {
        version,
        overrides,
        refusals,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shiplane_intent::model::VersionBump;

    fn lane() -> EffectiveLane {
        let intent = shiplane_intent::load_str(
            "version: 1\nproject: p\ndefaults: { gitops: { repo: r } }\nservices: { a: { paths: [\"a/**\"] } }\nlanes:\n  dev: {}\n  prod: { from: dev, approvals: 2, version: minor, require_tag_on: main, freeze: [\"Fri 18:00 - Mon 08:00 UTC\"] }\n",
        );
        intent.valid_effective().map_or_else(
            || panic!("{:?}", intent.diagnostics),
            |e| e.lanes["prod"].clone(),
        )
    }

    fn check(mutate: impl Fn(&mut PolicyInput<'_>), rules: &[&str]) {
        let lane = lane();
        let history = vec!["r1".to_owned()];
        let approvals = vec![
            Approval {
                by: "ann".into(),
                at: "t".into(),
            },
            Approval {
                by: "bob".into(),
                at: "t".into(),
            },
        ];
        let state = LaneState::default();
        let zones = |z: &str| (z == "UTC").then_some(TimeZone::UTC);
        let mut input = PolicyInput {
            lane: &lane,
            release_id: "r1",
            source_lane: Some("dev"),
            upstream_history: &history,
            on_required_branch: Some(Ok(true)),
            earlier_versions: &[],
            requested_version: None,
            approvals: &approvals,
            now: "2026-11-25T12:00:00Z"
                .parse()
                .unwrap_or(Timestamp::UNIX_EPOCH),
            zones: &zones,
            state: &state,
            override_freeze: None,
            override_hold: None,
            actor: "ann",
        };
        mutate(&mut input);
        let d = evaluate(&input);
        let got: Vec<&str> = d.refusals.iter().map(|r| r.rule).collect();
        assert_eq!(got, rules, "{:#?}", d.refusals);
    }

    #[test]
    fn everything_satisfied_passes_with_a_version() {
        check(|_| {}, &[]);
        let lane = lane();
        assert_eq!(lane.version, Some(VersionBump::Minor));
    }

    #[test]
    fn each_rule_refuses() {
        check(|i| i.source_lane = None, &["order"]);
        check(|i| i.source_lane = Some("qa"), &["order"]);
        check(|i| i.release_id = "r2", &["order"]);
        check(
            |i| {
                i.earlier_versions = &[Version {
                    major: 0,
                    minor: 1,
                    patch: 0,
                }];
                i.requested_version = Some("0.1.0");
            },
            &["version"],
        );
        check(
            |i| i.on_required_branch = Some(Ok(false)),
            &["require_tag_on"],
        );
        check(
            |i| i.on_required_branch = Some(Err("no branch".into())),
            &["require_tag_on"],
        );
        check(|i| i.approvals = &[], &["approvals"]);
        check(
            |i| {
                i.now = "2026-11-21T12:00:00Z"
                    .parse()
                    .unwrap_or(Timestamp::UNIX_EPOCH);
            },
            &["freeze"],
        );
    }

    #[test]
    fn one_person_approving_twice_counts_once() {
        let same = [
            Approval {
                by: "ann".into(),
                at: "1".into(),
            },
            Approval {
                by: "ann".into(),
                at: "2".into(),
            },
        ];
        let lane = lane();
        let state = LaneState::default();
        let zones = |_: &str| Some(TimeZone::UTC);
        let d = evaluate(&PolicyInput {
            lane: &lane,
            release_id: "r1",
            source_lane: Some("dev"),
            upstream_history: &["r1".to_owned()],
            on_required_branch: Some(Ok(true)),
            earlier_versions: &[],
            requested_version: None,
            approvals: &same,
            now: Timestamp::UNIX_EPOCH,
            zones: &zones,
            state: &state,
            override_freeze: None,
            override_hold: None,
            actor: "ann",
        });
        assert_eq!(d.refusals.len(), 1);
        assert!(
            d.refusals[0].message.contains("it has 1"),
            "{}",
            d.refusals[0].message
        );
    }

    #[test]
    fn overrides_pass_and_are_recorded() {
        let lane = lane();
        let state = LaneState {
            held: true,
            reason: Some("rollback".into()),
            ..LaneState::default()
        };
        let zones = |_: &str| None;
        let approvals = [
            Approval {
                by: "ann".into(),
                at: "1".into(),
            },
            Approval {
                by: "bob".into(),
                at: "2".into(),
            },
        ];
        let history = ["r1".to_owned()];
        let mut input = PolicyInput {
            lane: &lane,
            release_id: "r1",
            source_lane: Some("dev"),
            upstream_history: &history,
            on_required_branch: Some(Ok(true)),
            earlier_versions: &[],
            requested_version: None,
            approvals: &approvals,
            now: Timestamp::UNIX_EPOCH,
            zones: &zones,
            state: &state,
            override_freeze: None,
            override_hold: None,
            actor: "ann",
        };
        let refused: Vec<&str> = evaluate(&input).refusals.iter().map(|r| r.rule).collect();
        assert_eq!(
            refused,
            ["freeze", "hold"],
            "an unknown zone is frozen, fail closed"
        );
        input.override_freeze = Some("hotfix");
        input.override_hold = Some("fixed");
        let d = evaluate(&input);
        assert!(d.refusals.is_empty());
        assert_eq!(
            d.overrides
                .iter()
                .map(|o| o.what.as_str())
                .collect::<Vec<_>>(),
            ["freeze", "hold"]
        );
        assert_eq!(d.version.map(|v| v.to_string()).as_deref(), Some("0.1.0"));
    }
}
