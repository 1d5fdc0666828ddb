//! Retention rules: what the intent says to keep in one repository, compiled once.
//!
//! Compiling checks everything that can be wrong with the rules (globs, a negative grace), so
//! that [`crate::plan`] cannot fail halfway through a registry. Resolving the intent's top-level
//! `retention` and its per-service overrides into one [`Rules`] is the caller's job.

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::{Reason, TagInfo};

/// Retention rules for one repository, already resolved from the intent's top-level `retention`
/// and the service's override.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    /// Keep the newest N tags of the repository: by time, newest first, unknown times last, ties
    /// broken by tag name, descending. Every tag counts, including protected ones.
    pub keep_newest: Option<u32>,
    /// Keep tags matching any of these glob patterns (`sha-*`, `release-?`, `dev-latest`).
    pub keep_tags: Vec<String>,
    /// Keep semantic-version tags (`1.2.3`, `v1.2.3`, with optional `-pre` and `+build`).
    pub keep_semver: bool,
    /// Keep tags younger than this many seconds, and tags whose time is unknown.
    pub grace_seconds: Option<i64>,
    /// (lane, tag) pairs such as `("dev", "dev-latest")`: the lanes' moving tags, always kept.
    pub lane_tags: Vec<(String, String)>,
}

/// Why [`Rules`] cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    /// A `keep_tags` pattern is not a valid glob.
    #[error("keep_tags pattern `{pattern}` is not a valid glob ({reason}); fix or remove it")]
    InvalidGlob {
        /// The pattern as written.
        pattern: String,
        /// What the glob parser said.
        reason: String,
    },
    /// The grace period is negative.
    #[error("grace is negative ({seconds} s); use a duration of zero or more")]
    NegativeGrace {
        /// The grace as given, in seconds.
        seconds: i64,
    },
}

impl Rules {
    /// Checks and compiles the rules.
    pub fn compile(&self) -> Result<CompiledRules, RulesError> {
        if let Some(seconds) = self.grace_seconds.filter(|s| *s < 0) {
            return Err(RulesError::NegativeGrace { seconds });
        }
        let mut builder = GlobSetBuilder::new();
        for pattern in &self.keep_tags {
            let glob = Glob::new(pattern).map_err(|err| RulesError::InvalidGlob {
                pattern: pattern.clone(),
                reason: err.kind().to_string(),
            })?;
            builder.add(glob);
        }
        let globs = builder.build().map_err(|err| RulesError::InvalidGlob {
            pattern: err.glob().unwrap_or_default().to_owned(),
            reason: err.kind().to_string(),
        })?;
        // Sorted so that a tag that is several lanes' tag lists them in a stable order.
        let mut lane_tags = self.lane_tags.clone();
        lane_tags.sort();
        lane_tags.dedup();
        Ok(CompiledRules {
            rules: self.clone(),
            globs,
            lane_tags,
        })
    }
}

/// [`Rules`] that compiled: planning with them cannot fail.
#[derive(Debug, Clone)]
pub struct CompiledRules {
    rules: Rules,
    /// `keep_tags`, in the same order (a match's index is the pattern's index).
    globs: GlobSet,
    /// `lane_tags`, sorted by lane.
    lane_tags: Vec<(String, String)>,
}

impl CompiledRules {
    /// The rules this was compiled from.
    #[must_use]
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The reasons the rules alone give to keep `tag` (empty: the rules would delete it), in the
    /// order the plan reports them. `rank` is the tag's 1-based place among the repository's
    /// `of` tags, newest first.
    pub(crate) fn keep_reasons(
        &self,
        tag: &TagInfo,
        rank: usize,
        of: usize,
        now: i64,
    ) -> Vec<Reason> {
        let mut reasons = Vec::new();
        for (lane, lane_tag) in &self.lane_tags {
            if *lane_tag == tag.tag {
                reasons.push(Reason::LaneTag { lane: lane.clone() });
            }
        }
        let mut matched = self.globs.matches(&tag.tag);
        matched.sort_unstable();
        for index in matched {
            reasons.push(Reason::KeepTag {
                pattern: self.rules.keep_tags[index].clone(),
            });
        }
        if self.rules.keep_semver && is_semver_tag(&tag.tag) {
            reasons.push(Reason::Semver);
        }
        let keep_newest = self
            .rules
            .keep_newest
            .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX));
        if rank <= keep_newest {
            reasons.push(Reason::Newest { rank, of });
        }
        if let Some(grace_seconds) = self.rules.grace_seconds {
            match tag.time {
                Some(time) => {
                    // A time in the future (clock skew) has a negative age: young, so kept.
                    let age_seconds = now.saturating_sub(time);
                    if age_seconds < grace_seconds {
                        reasons.push(Reason::Grace {
                            age_seconds,
                            grace_seconds,
                        });
                    }
                }
                // The age cannot be shown to exceed the grace, so the tag gets the benefit of
                // the doubt (SPEC §2: never delete what was pushed minutes ago).
                None => reasons.push(Reason::UnknownAge),
            }
        }
        reasons
    }
}

/// Whether `tag` is a semantic version: `MAJOR.MINOR.PATCH`, optionally prefixed with `v`,
/// optionally followed by `-pre.release` and `+build.metadata` (semver.org 2.0.0, so no leading
/// zeros in numbers).
#[must_use]
pub fn is_semver_tag(tag: &str) -> bool {
    let version = tag.strip_prefix('v').unwrap_or(tag);
    let (version, build) = match version.split_once('+') {
        Some((version, build)) => (version, Some(build)),
        None => (version, None),
    };
    // Split at the first hyphen only: pre-release identifiers may contain hyphens themselves.
    let (core, pre) = match version.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (version, None),
    };
    let numbers: Vec<&str> = core.split('.').collect();
    numbers.len() == 3
        && numbers.iter().all(|n| is_number(n))
        && pre.is_none_or(|pre| {
            pre.split('.')
                .all(|id| is_identifier(id) && (!is_digits(id) || is_number(id)))
        })
        && build.is_none_or(|build| build.split('.').all(is_identifier))
}

/// Digits without a leading zero (but `0` itself).
fn is_number(s: &str) -> bool {
    is_digits(s) && (s == "0" || !s.starts_with('0'))
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_semver(tag: &str, expected: bool) {
        assert_eq!(is_semver_tag(tag), expected, "{tag}");
    }

    #[test]
    fn semver_tags() {
        for tag in [
            "1.2.3",
            "v1.2.3",
            "0.0.0",
            "10.20.30",
            "1.0.0-rc.1",
            "v1.0.0-alpha-beta.0.x",
            "1.0.0+build.7",
            "1.0.0-rc.1+20260101.sha-1a2b",
            "1.0.0+001",
        ] {
            check_semver(tag, true);
        }
        for tag in [
            "",
            "v",
            "1.2",
            "1.2.3.4",
            "01.2.3",
            "1.02.3",
            "V1.2.3",
            "vv1.2.3",
            "1.2.3-",
            "1.2.3-rc..1",
            "1.2.3-01",
            "1.2.3+",
            "1.2.3-rc_1",
            "latest",
            "sha-1a2b3c4",
            "1.2.x",
        ] {
            check_semver(tag, false);
        }
    }

    #[test]
    fn invalid_glob_is_an_error() {
        let rules = Rules {
            keep_tags: vec!["sha-*".into(), "release-[".into()],
            ..Rules::default()
        };
        let err = rules.compile().unwrap_err();
        assert!(
            matches!(&err, RulesError::InvalidGlob { pattern, .. } if pattern == "release-["),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with("keep_tags pattern `release-[` is not a valid glob")
        );
    }

    #[test]
    fn negative_grace_is_an_error() {
        let rules = Rules {
            grace_seconds: Some(-1),
            ..Rules::default()
        };
        assert_eq!(
            rules.compile().unwrap_err(),
            RulesError::NegativeGrace { seconds: -1 }
        );
    }

    #[test]
    fn compiled_rules_remember_their_source() {
        let rules = Rules {
            keep_newest: Some(3),
            keep_tags: vec!["sha-*".into()],
            ..Rules::default()
        };
        assert_eq!(rules.compile().unwrap().rules(), &rules);
    }
}
