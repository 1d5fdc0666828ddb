//! Registry garbage collection decisions (`shiplane registry gc`, SPEC §7).
//!
//! Given what a registry lists (repositories, tags, digests, push times), the retention rules of
//! each repository and the digests that must survive whatever the rules say (referenced by a
//! lane's release or its rollback window, or recorded in the artifact index within the grace
//! period), [`plan`] decides for every tag whether it is kept or deleted and records every reason.
//! Right before a deletion, [`recheck`] compares a fresh listing and fresh references with the
//! plan and refuses when anything moved. Which past releases of a lane count as references is
//! decided by [`rollback_window`] (distinct releases, not commits) and [`landed_since`]
//! (releases promoted while gc ran).
//!
//! This crate is pure: no I/O, no clock, no async. The adapter lists the registry, reads the
//! GitOps history and the artifact index, passes the time in, prints the plan and deletes. It
//! knows nothing of intents, lanes' files or registry protocols.
//!
//! Two rules make it safe by construction (SPEC §2, "Safe cleanup"):
//!
//! * a registry deletes manifests, not tags, so a digest is deleted only when *every* tag on it
//!   (in that repository) may go;
//! * a protected digest is protected in *every* repository, because the adapter cannot always
//!   tell which repository a reference names after mirroring or copying between registries.

mod history;
mod plan;
mod recheck;
mod rules;

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

pub use history::{HistoryCommit, landed_since, rollback_window};
pub use plan::{Action, Decision, GcPlan, Reason, plan};
pub use recheck::{Refusal, recheck};
pub use rules::{CompiledRules, Rules, RulesError, is_semver_tag};

/// One tag of a repository as the registry lists it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TagInfo {
    /// The tag, e.g. `sha-1a2b3c4`.
    pub tag: String,
    /// The manifest digest the tag points at, `sha256:…`.
    pub digest: String,
    /// When the tag was pushed (or the image created), in unix seconds; `None` when the registry
    /// does not say. An unknown time counts as the oldest for `keep_newest` and is kept when a
    /// grace period is set, since its age cannot be shown to exceed it.
    pub time: Option<i64>,
}

/// Every tag of one repository.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepoListing {
    /// The repository, e.g. `registry.example.com/shop/api`.
    pub repository: String,
    /// Its tags, in any order.
    pub tags: Vec<TagInfo>,
}

/// Why a digest must be kept regardless of the retention rules.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protection {
    /// Referenced by a lane's current release or by one within its rollback window.
    Release {
        /// The lane, e.g. `prod`.
        lane: String,
        /// The release identity, e.g. `1a2b3c4-5d6e7f80`.
        release: String,
        /// Whether it is the lane's current release (otherwise it is in the rollback window).
        current: bool,
    },
    /// Referenced by a release committed to a lane's history after gc started (see
    /// [`landed_since`]), whether or not the lane still runs it.
    PromotedDuringRun {
        /// The lane, e.g. `prod`.
        lane: String,
        /// The release identity.
        release: String,
    },
    /// Recorded in the artifact index more recently than the grace period.
    YoungArtifact {
        /// The service whose index records it.
        service: String,
        /// When it was recorded, in unix seconds.
        recorded_at: i64,
    },
}

impl fmt::Display for Protection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Release {
                lane,
                release,
                current: true,
            } => write!(f, "referenced by lane {lane}'s current release {release}"),
            Self::Release {
                lane,
                release,
                current: false,
            } => write!(
                f,
                "referenced by lane {lane}'s release {release} (rollback window)"
            ),
            Self::PromotedDuringRun { lane, release } => write!(
                f,
                "referenced by release {release}, promoted to lane {lane} while gc ran"
            ),
            Self::YoungArtifact {
                service,
                recorded_at,
            } => {
                // A time jiff cannot represent is still shown, as the raw number.
                match jiff::Timestamp::from_second(*recorded_at) {
                    Ok(at) => write!(f, "recorded for service {service} at {at} (within grace)"),
                    Err(_) => write!(
                        f,
                        "recorded for service {service} at unix time {recorded_at} (within grace)"
                    ),
                }
            }
        }
    }
}

/// Protected digests: digest → every reason it must be kept.
///
/// A digest is protected in every repository (see the crate documentation). The order of the
/// protections does not matter: [`plan`] and [`recheck`] sort them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Protected(pub BTreeMap<String, Vec<Protection>>);

impl Protected {
    /// No protected digest.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `digest` must be kept because of `protection`.
    pub fn add(&mut self, digest: impl Into<String>, protection: Protection) {
        self.0.entry(digest.into()).or_default().push(protection);
    }

    /// Every protection of `digest`, sorted and without duplicates; empty when it is not
    /// protected.
    #[must_use]
    pub fn of(&self, digest: &str) -> Vec<Protection> {
        let mut protections = self.0.get(digest).cloned().unwrap_or_default();
        protections.sort();
        protections.dedup();
        protections
    }

    /// Whether `digest` has at least one protection.
    #[must_use]
    pub fn contains(&self, digest: &str) -> bool {
        self.0.get(digest).is_some_and(|p| !p.is_empty())
    }
}

/// A duration for people: the two largest non-zero units, e.g. `2h`, `1h30m`, `3d4h`, `0s`.
fn human_duration(seconds: i64) -> String {
    const UNITS: [(i64, &str); 4] = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")];
    let mut rest = seconds.unsigned_abs();
    let mut out = String::new();
    if seconds < 0 {
        out.push('-');
    }
    let mut shown = 0;
    for (size, unit) in UNITS {
        let size = size.unsigned_abs();
        if rest >= size && shown < 2 {
            let _ = write!(out, "{}{unit}", rest / size);
            rest %= size;
            shown += 1;
        } else if shown > 0 {
            // Only adjacent units: `1d5s` would read as a typo, `1d` is close enough.
            break;
        }
    }
    if shown == 0 {
        out.push_str("0s");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations() {
        for (seconds, text) in [
            (0, "0s"),
            (59, "59s"),
            (60, "1m"),
            (7_200, "2h"),
            (5_400, "1h30m"),
            (86_400 + 3_600 * 4 + 5, "1d4h"),
            (86_400 + 5, "1d"),
            (-300, "-5m"),
        ] {
            assert_eq!(human_duration(seconds), text, "{seconds}");
        }
    }

    #[test]
    fn protections_display() {
        let current = Protection::Release {
            lane: "prod".into(),
            release: "r-abc".into(),
            current: true,
        };
        assert_eq!(
            current.to_string(),
            "referenced by lane prod's current release r-abc"
        );
        let window = Protection::Release {
            lane: "prod".into(),
            release: "r-old".into(),
            current: false,
        };
        assert_eq!(
            window.to_string(),
            "referenced by lane prod's release r-old (rollback window)"
        );
        let landed = Protection::PromotedDuringRun {
            lane: "prod".into(),
            release: "r-new".into(),
        };
        assert_eq!(
            landed.to_string(),
            "referenced by release r-new, promoted to lane prod while gc ran"
        );
        let young = Protection::YoungArtifact {
            service: "api".into(),
            recorded_at: 1_700_000_000,
        };
        assert_eq!(
            young.to_string(),
            "recorded for service api at 2023-11-14T22:13:20Z (within grace)"
        );
    }

    #[test]
    fn protected_sorts_and_deduplicates() {
        let release = Protection::Release {
            lane: "prod".into(),
            release: "r".into(),
            current: true,
        };
        let young = Protection::YoungArtifact {
            service: "api".into(),
            recorded_at: 1,
        };
        let mut protected = Protected::new();
        protected.add("sha256:a", young.clone());
        protected.add("sha256:a", release.clone());
        protected.add("sha256:a", young.clone());
        assert_eq!(protected.of("sha256:a"), vec![release, young]);
        assert!(protected.contains("sha256:a"));
        assert!(!protected.contains("sha256:b"));
        assert!(protected.of("sha256:b").is_empty());
    }
}
