//! The files Shiplane keeps per lane under the lane's `GitOps` path (SPEC §8):
//!
//! * `release.json` — the release now desired in the lane: an immutable record of what was
//!   promoted, from where, approved by whom. Its git history is the lane's release history.
//! * `catalog.json` — service → artifact of that release, the view registry retention and
//!   `status` read.
//! * `state.json` — what a person or a rollback set on the lane: the hold, hibernation, and
//!   approvals collected for releases not promoted yet. Absent means "nothing set".
//!
//! All three are written as canonical JSON (sorted keys, trailing newline), so the same content
//! is the same bytes and an unchanged lane makes no commit.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::canonical::canonical_json;

/// Version of the three file formats.
pub const FORMAT_VERSION: u32 = 1;

/// `<lane path>/release.json`.
#[must_use]
pub fn release_path(lane_path: &str) -> String {
    format!("{}/release.json", lane_path.trim_end_matches('/'))
}

/// `<lane path>/catalog.json`.
#[must_use]
pub fn catalog_path(lane_path: &str) -> String {
    format!("{}/catalog.json", lane_path.trim_end_matches('/'))
}

/// `<lane path>/state.json`.
#[must_use]
pub fn state_path(lane_path: &str) -> String {
    format!("{}/state.json", lane_path.trim_end_matches('/'))
}

/// `<lane path>/manifests`, the directory Argo CD syncs.
#[must_use]
pub fn manifests_dir(lane_path: &str) -> String {
    format!("{}/manifests", lane_path.trim_end_matches('/'))
}

/// Whether an image was built for this release's source commit or reused from an earlier one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageStatus {
    /// Built from the release's source commit.
    Published,
    /// Built from an earlier commit with the same fingerprint.
    Reused,
}

/// One service's image in a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseImage {
    /// Image repository without tag or digest.
    pub repository: String,
    /// The tag CI pushed (informational: deployment is by digest).
    pub tag: String,
    /// The verified manifest digest.
    pub digest: String,
    /// The service's fingerprint at the release's source commit.
    pub fingerprint: String,
    /// The commit the image was built from.
    pub source_commit: String,
    /// Published for this source commit, or reused.
    pub status: ImageStatus,
    /// The commit it was reused from, when reused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reused_from: Option<String>,
    /// The repository the image was copied from into the lane's registry, when the lane's
    /// registry differs from where it was published (same digest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copied_from: Option<String>,
}

/// Where an actor's name came from. A name is only as trustworthy as its source: a CI system
/// authenticated `ci:*` names, while `env` and `git-config` are whatever the person running the
/// command typed, so records and output say which it was.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum IdentitySource {
    /// `SHIPLANE_ACTOR`, set by whoever runs the command (not verified).
    #[serde(rename = "env")]
    Env,
    /// `GITHUB_ACTOR` inside GitHub Actions (authenticated by GitHub).
    #[serde(rename = "ci:github")]
    CiGithub,
    /// `BUILDKITE_BUILD_CREATOR` inside Buildkite (authenticated by Buildkite).
    #[serde(rename = "ci:buildkite")]
    CiBuildkite,
    /// git's `user.name` (not verified).
    #[serde(rename = "git-config")]
    GitConfig,
    /// A record written before sources were recorded.
    #[default]
    #[serde(rename = "unknown")]
    Unknown,
}

impl IdentitySource {
    /// The wire name (`env`, `ci:github`, `ci:buildkite`, `git-config`, `unknown`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Env => "env",
            Self::CiGithub => "ci:github",
            Self::CiBuildkite => "ci:buildkite",
            Self::GitConfig => "git-config",
            Self::Unknown => "unknown",
        }
    }

    /// Whether a system that authenticates people vouched for the name.
    #[must_use]
    pub fn is_verified(self) -> bool {
        matches!(self, Self::CiGithub | Self::CiBuildkite)
    }
}

impl std::fmt::Display for IdentitySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who did something, and how their name is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The name.
    pub name: String,
    /// Where the name came from.
    pub source: IdentitySource,
}

/// One approval of a release for a lane.
///
/// An approval is bound to what was approved: the release id (the key it is filed under in
/// [`LaneState::pending_approvals`], and the release it is recorded in) **and** the hash of the
/// intent the lane was to be rendered from. A change to the intent is a change to what the lane
/// will run, so approvals given for another intent do not count for it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// Who approved (`SHIPLANE_ACTOR`, the CI's actor, or git's `user.name`).
    pub by: String,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Where `by` came from.
    #[serde(default)]
    pub source: IdentitySource,
    /// The intent hash approved; `None` in records written before approvals were bound to it,
    /// which therefore count for nothing (fail closed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent_hash: Option<String>,
}

/// A policy a person overrode, with their reason (audited in the release).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// The policy overridden: `freeze` or `hold`.
    pub what: String,
    /// Why, as given with `--reason`.
    pub reason: String,
    /// Who overrode it.
    pub by: String,
}

/// A release: what a lane deploys, as an immutable record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    /// File format version.
    pub release_format: u32,
    /// Release identity: the same images from the same commit are the same release in every
    /// lane (see [`release_id`]), which is how the order policy sees that a release went
    /// through the upstream lane.
    pub id: String,
    /// The lane this record was written for.
    pub lane: String,
    /// Semantic version, in versioned lanes.
    pub version: Option<String>,
    /// The source commit the release was made from.
    pub source_commit: String,
    /// Service → image.
    pub services: BTreeMap<String, ReleaseImage>,
    /// SHA-256 of the effective intent (canonical JSON) the lane was rendered with.
    pub intent_hash: String,
    /// Approvals that admitted it.
    pub approvals: Vec<Approval>,
    /// Who promoted it.
    pub promoted_by: String,
    /// Where `promoted_by` came from (`unknown` in records written before it was recorded).
    #[serde(default)]
    pub promoted_by_source: IdentitySource,
    /// When (RFC 3339, UTC).
    pub promoted_at: String,
    /// Where it came from: `commit`, `lane:<name>` or `release`.
    pub promoted_from: String,
    /// Policies overridden to promote it.
    pub overrides: Vec<Override>,
}

/// The lane's catalog: service → artifact of the current release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// File format version.
    pub catalog_format: u32,
    /// The lane.
    pub lane: String,
    /// The release it shows.
    pub release: String,
    /// The release's version, in versioned lanes.
    pub version: Option<String>,
    /// Service → artifact.
    pub services: BTreeMap<String, CatalogEntry>,
}

/// One service in a catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogEntry {
    /// Image repository.
    pub image: String,
    /// Tag CI pushed.
    pub tag: String,
    /// Digest deployed.
    pub digest: String,
    /// Commit the image was built from.
    pub source_commit: String,
    /// Fingerprint it was built for.
    pub fingerprint: String,
    /// Published or reused.
    pub status: ImageStatus,
}

/// Lane state set by people and rollbacks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaneState {
    /// File format version.
    #[serde(default = "format_version")]
    pub state_format: u32,
    /// Automatic promotion is stopped.
    #[serde(default)]
    pub held: bool,
    /// Why it is held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Who set the hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// When the hold was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Hibernation set by `hibernate`/`wake`; `None` follows the intent's `hibernate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hibernated: Option<bool>,
    /// Release id → approvals collected before enough were there.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pending_approvals: BTreeMap<String, Vec<Approval>>,
}

fn format_version() -> u32 {
    FORMAT_VERSION
}

/// A file under the lane path could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FileError {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

fn to_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    canonical_json(&serde_json::to_value(value).unwrap_or_default())
}

fn parse<T: for<'de> Deserialize<'de>>(path: &str, bytes: &[u8]) -> Result<T, FileError> {
    serde_json::from_slice(bytes).map_err(|e| FileError {
        path: path.to_owned(),
        message: format!("not a Shiplane file of this version ({e}); was it edited by hand?"),
    })
}

impl Release {
    /// Canonical bytes.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        to_bytes(self)
    }

    /// Parses `release.json` (`path` names it in errors).
    pub fn parse(path: &str, bytes: &[u8]) -> Result<Release, FileError> {
        parse(path, bytes)
    }

    /// The catalog of this release.
    #[must_use]
    pub fn catalog(&self) -> Catalog {
        Catalog {
            catalog_format: FORMAT_VERSION,
            lane: self.lane.clone(),
            release: self.id.clone(),
            version: self.version.clone(),
            services: self
                .services
                .iter()
                .map(|(name, image)| {
                    (
                        name.clone(),
                        CatalogEntry {
                            image: image.repository.clone(),
                            tag: image.tag.clone(),
                            digest: image.digest.clone(),
                            source_commit: image.source_commit.clone(),
                            fingerprint: image.fingerprint.clone(),
                            status: image.status,
                        },
                    )
                })
                .collect(),
        }
    }

    /// What a person reads: the version in versioned lanes, else the short source commit.
    #[must_use]
    pub fn label(&self) -> String {
        self.version
            .clone()
            .unwrap_or_else(|| short(&self.source_commit).to_owned())
    }
}

impl Catalog {
    /// Canonical bytes.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        to_bytes(self)
    }

    /// Parses `catalog.json`.
    pub fn parse(path: &str, bytes: &[u8]) -> Result<Catalog, FileError> {
        parse(path, bytes)
    }
}

impl LaneState {
    /// Canonical bytes.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        to_bytes(self)
    }

    /// Parses `state.json`; a missing file is the default state.
    pub fn parse(path: &str, bytes: Option<&[u8]>) -> Result<LaneState, FileError> {
        match bytes {
            Some(b) => parse(path, b),
            None => Ok(LaneState {
                state_format: FORMAT_VERSION,
                ..LaneState::default()
            }),
        }
    }

    /// Whether the lane runs at zero replicas, given the intent's `hibernate`.
    #[must_use]
    pub fn is_hibernated(&self, intent_default: bool) -> bool {
        self.hibernated.unwrap_or(intent_default)
    }
}

fn short(commit: &str) -> &str {
    commit.get(..7).unwrap_or(commit)
}

/// The SHA-256 of the effective intent as canonical JSON: what a lane is rendered from (kept in
/// [`Release::intent_hash`]) and what approvals are bound to ([`Approval::intent_hash`]).
/// Serialising fails only for a model that cannot be JSON; it is an error rather than a hash
/// over `null`, which would make every intent look the same.
pub fn intent_hash(eff: &shiplane_intent::EffectiveIntent) -> Result<String, serde_json::Error> {
    let value = serde_json::to_value(eff)?;
    Ok(hex::encode(Sha256::digest(canonical_json(&value))))
}

/// The identity of a release: `<short source commit>-<first 8 hex of a hash over the source
/// commit and every service's digest>`.
///
/// It depends on content only — not on the lane, the version, the time, who promoted, or which
/// registry holds the copies — so promoting dev's release to staging keeps its id even when
/// staging's registry gets digest-preserving copies, and the same images are the same release.
#[must_use]
pub fn release_id<'a>(
    source_commit: &str,
    images: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut sorted: Vec<(&str, &str)> = images.into_iter().collect();
    sorted.sort_unstable();
    let mut h = Sha256::new();
    h.update(b"shiplane-release-v2\n");
    h.update(source_commit.as_bytes());
    h.update(b"\n");
    for (service, digest) in sorted {
        h.update(format!("{service}\t{digest}\n").as_bytes());
    }
    let hash = hex::encode(h.finalize());
    format!("{}-{}", short(source_commit), &hash[..8])
}

/// One release in a lane's history, read from the commits that changed its `release.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The `GitOps` commit.
    pub commit: String,
    /// `Shiplane-Release`.
    pub release: String,
    /// `Shiplane-Version`, if any.
    pub version: Option<String>,
}

/// The release a rollback goes back to, from the lane's history (newest first).
///
/// Without `to`: the newest release that is not the current one. With `to`: the newest entry
/// whose release id or version (`v` prefix optional) is `to`. Going "back" to the current
/// release is refused: it would change nothing.
pub fn rollback_target<'h>(
    history: &'h [HistoryEntry],
    current: &str,
    to: Option<&str>,
) -> Result<&'h HistoryEntry, String> {
    match to {
        None => history
            .iter()
            .find(|e| e.release != current)
            .ok_or_else(|| "the lane has no earlier release to roll back to".to_owned()),
        Some(want) => {
            let bare = want.strip_prefix('v').unwrap_or(want);
            let found = history
                .iter()
                .find(|e| e.release == want || e.version.as_deref() == Some(bare))
                .ok_or_else(|| {
                    format!("no release `{want}` in the lane's history; see `shiplane history`")
                })?;
            if found.release == current {
                return Err(format!("`{want}` is the lane's current release already"));
            }
            Ok(found)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_id_depends_on_content_only() {
        let a = release_id(
            "0123456789abcdef",
            [("api", "sha256:1"), ("web", "sha256:2")],
        );
        let b = release_id(
            "0123456789abcdef",
            [("web", "sha256:2"), ("api", "sha256:1")],
        );
        assert_eq!(a, b);
        assert!(a.starts_with("0123456-"), "{a}");
        assert_eq!(a.len(), 16);
        let c = release_id(
            "0123456789abcdef",
            [("api", "sha256:1"), ("web", "sha256:3")],
        );
        assert_ne!(a, c);
    }

    #[test]
    fn state_round_trips_and_defaults() {
        let s = LaneState::parse("x", None).unwrap_or_default();
        assert!(!s.held);
        assert_eq!(
            String::from_utf8(s.to_bytes()).unwrap_or_default(),
            "{\n  \"held\": false,\n  \"state_format\": 1\n}\n"
        );
        assert!(!s.is_hibernated(false));
        assert!(s.is_hibernated(true));
        let held = LaneState {
            held: true,
            reason: Some("rollback".into()),
            ..s
        };
        assert_eq!(
            LaneState::parse("x", Some(&held.to_bytes())).ok(),
            Some(held)
        );
    }

    fn entry(commit: &str, release: &str, version: Option<&str>) -> HistoryEntry {
        HistoryEntry {
            commit: commit.into(),
            release: release.into(),
            version: version.map(Into::into),
        }
    }

    #[test]
    fn rollback_goes_to_the_previous_distinct_release() {
        let h = [
            entry("c3", "r2", Some("0.2.0")),
            entry("c2", "r2", Some("0.2.0")),
            entry("c1", "r1", Some("0.1.0")),
        ];
        assert_eq!(
            rollback_target(&h, "r2", None).map(|e| e.commit.as_str()),
            Ok("c1")
        );
        assert_eq!(
            rollback_target(&h, "r2", Some("v0.1.0")).map(|e| e.commit.as_str()),
            Ok("c1")
        );
        assert_eq!(
            rollback_target(&h, "r2", Some("r1")).map(|e| e.commit.as_str()),
            Ok("c1")
        );
        assert!(rollback_target(&h, "r2", Some("0.2.0")).is_err());
        assert!(rollback_target(&h[..2], "r2", None).is_err());
        assert!(rollback_target(&h, "r2", Some("nope")).is_err());
    }
}
