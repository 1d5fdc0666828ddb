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
    /// Approvals filed for this release (distinct people count, and only those given for
    /// `intent_hash`).
    pub approvals: &'a [Approval],
    /// The hash of the intent the lane will be rendered from.
    pub intent_hash: &'a str,
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
    /// The source commit the lane runs now, when the release's source commit is a strict
    /// ancestor of it (the promotion would move the lane back in history).
    pub downgrade_from: Option<&'a str>,
    /// `--allow-downgrade`.
    pub allow_downgrade: bool,
}

/// The rule a refusal comes from. Callers decide on the kind (an approval that is the only
/// thing missing is recorded and waits for the next approver), never on message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// Releases enter a lane only from its upstream (`from`) lane.
    Order,
    /// The version of a versioned lane must grow.
    Version,
    /// The source commit must be on a branch.
    RequireTagOn,
    /// Enough distinct people approved this release and intent.
    Approvals,
    /// No promotion inside a freeze window.
    Freeze,
    /// No promotion of a commit older than (an ancestor of) the one the lane runs.
    Downgrade,
    /// No promotion into a held lane.
    Hold,
}

impl Rule {
    /// The rule's name as the intent, output and JSON spell it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Order => "order",
            Self::Version => "version",
            Self::RequireTagOn => "require_tag_on",
            Self::Approvals => "approvals",
            Self::Freeze => "freeze",
            Self::Downgrade => "downgrade",
            Self::Hold => "hold",
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A policy that refused the promotion: which rule, what is wrong, how to satisfy it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The rule.
    pub rule: Rule,
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

impl Decision {
    /// Whether approvals are the only thing missing (so an approval given now is worth
    /// recording for the next approver).
    #[must_use]
    pub fn only_approvals_missing(&self) -> bool {
        !self.refusals.is_empty() && self.refusals.iter().all(|r| r.rule == Rule::Approvals)
    }
}

/// The order rule on the request's shape alone: where the release is taken from. A lane with
/// an upstream takes releases only from it (or from a commit through it), and a lane without
/// one takes none from another lane. This part is checked on every request, also when nothing
/// would change, so `promote prod --from qa` is refused whatever prod runs.
#[must_use]
pub fn order_refusal(lane: &EffectiveLane, source_lane: Option<&str>) -> Option<Refusal> {
    let name = &lane.name;
    match (&lane.from, source_lane) {
        (Some(up), Some(src)) if src != up => Some(Refusal {
            rule: Rule::Order,
            message: format!(
                "lane `{name}` takes releases from `{up}`, not from `{src}`: lanes may not be skipped"
            ),
            help: format!("promote to `{up}` first, then `shiplane promote {name} --from {up}`"),
        }),
        (Some(up), None) => Some(Refusal {
            rule: Rule::Order,
            message: format!(
                "lane `{name}` takes releases from `{up}`; a release made straight from a commit would skip it"
            ),
            help: format!(
                "promote the commit through `{up}` first, then `shiplane promote {name} --from {up}`"
            ),
        }),
        (None, Some(src)) if src != name => Some(Refusal {
            rule: Rule::Order,
            message: format!(
                "lane `{name}` has no upstream lane, so it takes no release from `{src}`"
            ),
            help: format!(
                "promote a commit: `shiplane promote {name} --commit REV`, or give the lane `from: {src}` in the intent"
            ),
        }),
        _ => None,
    }
}

/// Decides a promotion.
#[must_use]
pub fn evaluate(input: &PolicyInput<'_>) -> Decision {
    let lane = input.lane;
    let name = &lane.name;
    let mut refusals = Vec::new();
    let mut overrides = Vec::new();

    // Order: a lane with an upstream takes only releases its upstream has had.
    if let Some(r) = order_refusal(lane, input.source_lane) {
        refusals.push(r);
    } else if let Some(up) = &lane.from
        && !input.upstream_history.iter().any(|r| r == input.release_id)
    {
        refusals.push(Refusal {
            rule: Rule::Order,
            message: format!(
                "release {} was never a release of `{up}`, the upstream of `{name}`",
                input.release_id
            ),
            help: format!(
                "promote it to `{up}` first: `shiplane promote {up} --release {}`",
                input.release_id
            ),
        });
    }

    // Version.
    let mut version = None;
    if let Some(bump) = lane.version {
        match next_version(input.earlier_versions, bump, input.requested_version) {
            Ok(v) => version = Some(v),
            Err(why) => refusals.push(Refusal {
                rule: Rule::Version,
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
                rule: Rule::RequireTagOn,
                message: format!("lane `{name}` requires the source commit to be on `{branch}`; release {} is not", input.release_id),
                help: format!("merge the change into `{branch}` and promote a release built from `{branch}`"),
            }),
            Err(why) => refusals.push(Refusal {
                rule: Rule::RequireTagOn,
                message: format!("lane `{name}` requires the source commit to be on `{branch}`, which could not be checked: {why}"),
                help: format!("fetch `{branch}` into the source repository (`git fetch origin {branch}`)"),
            }),
        }
    }

    // Approvals: distinct people, counting only approvals of this intent (an approval is
    // bound to the release id by where it is filed and to the intent hash here).
    let (bound, stale): (Vec<&Approval>, Vec<&Approval>) = input
        .approvals
        .iter()
        .partition(|a| a.intent_hash.as_deref() == Some(input.intent_hash));
    let mut people: Vec<&str> = bound.iter().map(|a| a.by.as_str()).collect();
    people.sort_unstable();
    people.dedup();
    let have = u32::try_from(people.len()).unwrap_or(u32::MAX);
    if have < lane.approvals {
        let by = if people.is_empty() {
            String::new()
        } else {
            format!(" (approved by {})", people.join(", "))
        };
        let stale = if stale.is_empty() {
            String::new()
        } else {
            format!(
                "; {} approval(s) were given for another version of the intent and do not count",
                stale.len()
            )
        };
        refusals.push(Refusal {
            rule: Rule::Approvals,
            message: format!(
                "lane `{name}` needs {} approval(s) for release {} with this intent; it has {have}{by}{stale}",
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
                    rule: Rule::Freeze,
                    message: format!("lane `{name}` is frozen: {why}"),
                    help: "wait until the window ends, or pass --override-freeze --reason TEXT (recorded in the release)".to_owned(),
                });
            }
            break;
        }
    }

    // Downgrade: CI jobs finishing out of order must not move a lane back in history.
    if let Some(newer) = input.downgrade_from {
        let short = newer.get(..12).unwrap_or(newer);
        if input.allow_downgrade {
            overrides.push(Override {
                what: "downgrade".into(),
                reason: format!("moved back from {short}"),
                by: input.actor.into(),
            });
        } else {
            refusals.push(Refusal {
                rule: Rule::Downgrade,
                message: format!("lane `{name}` runs a newer commit ({short}); release {} was built from an older one", input.release_id),
                help: format!("promote a newer commit, pass --allow-downgrade to move back on purpose (recorded), or `shiplane rollback {name}`"),
            });
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
                rule: Rule::Hold,
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
    use crate::release::IdentitySource;
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
                source: IdentitySource::Env,
                intent_hash: Some("h".into()),
            },
            Approval {
                by: "bob".into(),
                at: "t".into(),
                source: IdentitySource::Env,
                intent_hash: Some("h".into()),
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
            intent_hash: "h",
            now: "2026-11-25T12:00:00Z"
                .parse()
                .unwrap_or(Timestamp::UNIX_EPOCH),
            zones: &zones,
            state: &state,
            override_freeze: None,
            override_hold: None,
            actor: "ann",
            downgrade_from: None,
            allow_downgrade: false,
        };
        mutate(&mut input);
        let d = evaluate(&input);
        let got: Vec<&str> = d.refusals.iter().map(|r| r.rule.as_str()).collect();
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
                source: IdentitySource::Env,
                intent_hash: Some("h".into()),
            },
            Approval {
                by: "ann".into(),
                at: "2".into(),
                source: IdentitySource::Env,
                intent_hash: Some("h".into()),
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
            intent_hash: "h",
            now: Timestamp::UNIX_EPOCH,
            zones: &zones,
            state: &state,
            override_freeze: None,
            override_hold: None,
            actor: "ann",
            downgrade_from: None,
            allow_downgrade: false,
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
                source: IdentitySource::Env,
                intent_hash: Some("h".into()),
            },
            Approval {
                by: "bob".into(),
                at: "2".into(),
                source: IdentitySource::Env,
                intent_hash: Some("h".into()),
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
            intent_hash: "h",
            now: Timestamp::UNIX_EPOCH,
            zones: &zones,
            state: &state,
            override_freeze: None,
            override_hold: None,
            actor: "ann",
            downgrade_from: None,
            allow_downgrade: false,
        };
        let refused: Vec<&str> = evaluate(&input)
            .refusals
            .iter()
            .map(|r| r.rule.as_str())
            .collect();
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

#[cfg(test)]
mod binding_tests {
    use super::*;
    use crate::release::IdentitySource;

    fn lanes() -> shiplane_intent::EffectiveIntent {
        let intent = shiplane_intent::load_str(
            "version: 1\nproject: p\ndefaults: { gitops: { repo: r } }\nservices: { a: { paths: [\"a/**\"] } }\nlanes:\n  dev: {}\n  qa: { from: dev }\n  prod: { from: dev, approvals: 2 }\n",
        );
        intent
            .valid_effective()
            .cloned()
            .unwrap_or_else(|| panic!("{:?}", intent.diagnostics))
    }

    fn approval(by: &str, hash: Option<&str>) -> Approval {
        Approval {
            by: by.into(),
            at: "t".into(),
            source: IdentitySource::CiGithub,
            intent_hash: hash.map(str::to_owned),
        }
    }

    /// A request for `lane` from its upstream that passes every rule but the ones under test:
    /// no version, branch or freeze rule, nothing held, nothing approved.
    pub(super) fn input<'a>(
        lane: &'a EffectiveLane,
        state: &'a LaneState,
        zones: &'a dyn Fn(&str) -> Option<TimeZone>,
    ) -> PolicyInput<'a> {
        PolicyInput {
            lane,
            release_id: "r1",
            source_lane: lane.from.as_deref(),
            upstream_history: &[],
            on_required_branch: None,
            earlier_versions: &[],
            requested_version: None,
            approvals: &[],
            intent_hash: "h",
            now: Timestamp::UNIX_EPOCH,
            zones,
            state,
            override_freeze: None,
            override_hold: None,
            actor: "ann",
            downgrade_from: None,
            allow_downgrade: false,
        }
    }

    fn decide(approvals: &[Approval], hash: &str) -> Decision {
        let eff = lanes();
        let state = LaneState::default();
        let zones = |_: &str| Some(TimeZone::UTC);
        let history = ["r1".to_owned()];
        evaluate(&PolicyInput {
            upstream_history: &history,
            approvals,
            intent_hash: hash,
            ..input(&eff.lanes["prod"], &state, &zones)
        })
    }

    #[test]
    fn approvals_given_for_another_intent_do_not_count() {
        let approvals = [approval("ann", Some("old")), approval("bob", Some("old"))];
        let d = decide(&approvals, "new");
        assert_eq!(d.refusals.len(), 1);
        assert_eq!(d.refusals[0].rule, Rule::Approvals);
        assert!(
            d.refusals[0]
                .message
                .contains("2 approval(s) were given for another version"),
            "{}",
            d.refusals[0].message
        );
        assert!(d.only_approvals_missing());
        assert!(decide(&approvals, "old").refusals.is_empty());
    }

    #[test]
    fn approvals_recorded_before_binding_count_for_nothing() {
        let approvals = [approval("ann", None), approval("bob", None)];
        assert_eq!(decide(&approvals, "h").refusals[0].rule, Rule::Approvals);
    }

    #[test]
    fn from_a_lane_that_is_not_the_upstream_is_refused_even_on_a_root_lane() {
        let eff = lanes();
        let prod = &eff.lanes["prod"];
        let dev = &eff.lanes["dev"];
        assert_eq!(
            order_refusal(prod, Some("qa")).map(|r| r.rule),
            Some(Rule::Order)
        );
        assert_eq!(order_refusal(prod, None).map(|r| r.rule), Some(Rule::Order));
        assert_eq!(order_refusal(prod, Some("dev")), None);
        // A root lane takes no release from another lane, but may re-take its own.
        assert_eq!(
            order_refusal(dev, Some("qa")).map(|r| r.rule),
            Some(Rule::Order)
        );
        assert_eq!(order_refusal(dev, Some("dev")), None);
        assert_eq!(order_refusal(dev, None), None);
    }
}

#[cfg(test)]
mod downgrade_tests {
    use super::*;

    #[test]
    fn an_older_commit_is_refused_unless_allowed_and_then_recorded() {
        let intent = shiplane_intent::load_str(
            "version: 1\nproject: p\ndefaults: { gitops: { repo: r } }\nservices: { a: { paths: [\"a/**\"] } }\nlanes:\n  dev: {}\n",
        );
        let eff = intent
            .valid_effective()
            .cloned()
            .unwrap_or_else(|| panic!("{:?}", intent.diagnostics));
        let state = LaneState::default();
        let zones = |_: &str| Some(TimeZone::UTC);
        let mut input = PolicyInput {
            downgrade_from: Some("0123456789abcdef"),
            ..super::binding_tests::input(&eff.lanes["dev"], &state, &zones)
        };
        let d = evaluate(&input);
        assert_eq!(
            d.refusals.iter().map(|r| r.rule).collect::<Vec<_>>(),
            [Rule::Downgrade]
        );
        input.allow_downgrade = true;
        let d = evaluate(&input);
        assert!(d.refusals.is_empty());
        assert_eq!(d.overrides[0].what, "downgrade");
        assert_eq!(d.overrides[0].reason, "moved back from 0123456789ab");
    }
}
