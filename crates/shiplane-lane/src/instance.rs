//! Instances of template lanes (ephemeral environments, `shiplane env`): their names, where
//! they live in the `GitOps` repository, and when they expire.
//!
//! An instance's `release.json` is a [`Release`] with two more fields, `instance` (its name)
//! and `expires_at` (RFC 3339 UTC, or null when the template has no `ttl`). Pure: the time is a
//! parameter.

use serde_json::Value;

use crate::canonical::canonical_json;
use crate::release::{FileError, Release};

/// Directory names under a template's instance root that are not instances.
pub const RESERVED_INSTANCE_NAMES: [&str; 1] = ["argocd"];

/// Whether `name` is a DNS-1123 label: 1–63 lowercase letters, digits and `-`, starting and
/// ending with a letter or digit.
#[must_use]
pub fn is_dns_label(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Why an instance name is refused, or `None` when it is fine.
#[must_use]
pub fn invalid_instance_name(name: &str) -> Option<String> {
    if !is_dns_label(name) {
        return Some(format!(
            "`{name}` is not a DNS-1123 label (1 to 63 lowercase letters, digits and `-`, starting and ending with a letter or digit)"
        ));
    }
    if RESERVED_INSTANCE_NAMES.contains(&name) {
        return Some(format!(
            "`{name}` is reserved (the template's Argo CD objects live there)"
        ));
    }
    None
}

fn fill(text: &str, project: &str, name: &str) -> String {
    shiplane_intent::template::substitute(text, &|var| match var {
        "name" => Some(name.to_owned()),
        "project" => Some(project.to_owned()),
        _ => None,
    })
}

/// The template's `GitOps` path split around its `{name}` segment: (the directory holding the
/// instances, what follows `{name}`), with `{project}` filled. `None` when no segment is
/// exactly `{name}`.
#[must_use]
pub fn instance_root(template_path: &str, project: &str) -> Option<(String, String)> {
    let segments: Vec<&str> = template_path.trim_end_matches('/').split('/').collect();
    let i = segments.iter().position(|s| *s == "{name}")?;
    let root = fill(&segments[..i].join("/"), project, "");
    let rest = fill(&segments[i + 1..].join("/"), project, "");
    Some((root, rest))
}

/// The `GitOps` directory of instance `name` of a template whose path is `template_path`.
#[must_use]
pub fn instance_path(template_path: &str, project: &str, name: &str) -> String {
    fill(template_path.trim_end_matches('/'), project, name)
}

/// Where the template's Argo CD objects (its `AppProject` and `ApplicationSet`) live: `argocd/`
/// in the directory holding the instances.
#[must_use]
pub fn template_argocd_dir(root: &str) -> String {
    if root.is_empty() {
        "argocd".to_owned()
    } else {
        format!("{root}/argocd")
    }
}

/// When an instance created at `now` with a TTL of `ttl_seconds` expires, RFC 3339 UTC.
#[must_use]
pub fn expires_at(now: jiff::Timestamp, ttl_seconds: u64) -> String {
    let secs = i64::try_from(ttl_seconds).unwrap_or(i64::MAX);
    let at = now
        .checked_add(jiff::SignedDuration::from_secs(secs))
        .unwrap_or(jiff::Timestamp::MAX);
    timestamp_text(at)
}

/// A timestamp as RFC 3339 UTC with seconds precision (`2026-11-22T19:00:00Z`).
#[must_use]
pub fn timestamp_text(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Whether an instance expiring at `expires_at` has expired at `now`. An unreadable time counts
/// as not expired (never delete what cannot be read).
#[must_use]
pub fn is_expired(expires_at: Option<&str>, now: jiff::Timestamp) -> bool {
    expires_at
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .is_some_and(|t| t <= now)
}

/// An instance's `release.json`: the release plus the instance's name and expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceRelease {
    /// The release (its `lane` is the template).
    pub release: Release,
    /// The instance name.
    pub instance: String,
    /// RFC 3339 UTC; `None` when the template has no `ttl`.
    pub expires_at: Option<String>,
}

impl InstanceRelease {
    /// Canonical bytes.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut value = serde_json::to_value(&self.release).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut value {
            map.insert("instance".into(), Value::String(self.instance.clone()));
            map.insert(
                "expires_at".into(),
                self.expires_at.clone().map_or(Value::Null, Value::String),
            );
        }
        canonical_json(&value)
    }

    /// Parses an instance's `release.json` (`path` names it in errors).
    pub fn parse(path: &str, bytes: &[u8]) -> Result<InstanceRelease, FileError> {
        let err = |message: String| FileError {
            path: path.to_owned(),
            message,
        };
        let mut value: Value = serde_json::from_slice(bytes)
            .map_err(|e| err(format!("not JSON ({e}); was it edited by hand?")))?;
        let map = value
            .as_object_mut()
            .ok_or_else(|| err("not a JSON object".to_owned()))?;
        let Some(Value::String(instance)) = map.remove("instance") else {
            return Err(err("has no `instance` name; is it an instance?".to_owned()));
        };
        let expires_at = match map.remove("expires_at") {
            Some(Value::String(s)) => Some(s),
            _ => None,
        };
        let release = Release::parse(path, &canonical_json(&value))?;
        Ok(InstanceRelease {
            release,
            instance,
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn names() {
        assert!(is_dns_label("pr-123"));
        assert!(!is_dns_label("PR-1"));
        assert!(!is_dns_label("-a"));
        assert!(!is_dns_label("a-"));
        assert!(!is_dns_label(""));
        assert!(!is_dns_label(&"a".repeat(64)));
        assert!(invalid_instance_name("argocd").is_some());
        assert!(invalid_instance_name("pr_1").is_some());
        assert!(invalid_instance_name("pr-1").is_none());
    }

    #[test]
    fn paths() {
        assert_eq!(
            instance_root("lanes/preview/{name}", "shop"),
            Some(("lanes/preview".to_owned(), String::new()))
        );
        assert_eq!(
            instance_root("{project}/{name}/app", "shop"),
            Some(("shop".to_owned(), "app".to_owned()))
        );
        assert_eq!(instance_root("lanes/pr-{name}", "shop"), None);
        assert_eq!(
            instance_path("lanes/preview/{name}/", "shop", "pr-1"),
            "lanes/preview/pr-1"
        );
        assert_eq!(template_argocd_dir(""), "argocd");
        assert_eq!(template_argocd_dir("lanes/p"), "lanes/p/argocd");
    }

    #[test]
    fn expiry() {
        let now: jiff::Timestamp = "2026-11-22T19:00:00Z".parse().unwrap();
        let at = expires_at(now, 3600);
        assert_eq!(at, "2026-11-22T20:00:00Z");
        assert!(!is_expired(Some(&at), now));
        assert!(is_expired(
            Some(&at),
            "2026-11-22T20:00:00Z".parse().unwrap()
        ));
        assert!(!is_expired(None, now));
        assert!(!is_expired(Some("garbage"), now));
    }

    #[test]
    fn round_trip() {
        let release = Release {
            release_format: crate::FORMAT_VERSION,
            id: "abc1234-00000000".into(),
            lane: "preview".into(),
            version: None,
            source_commit: "abc1234".into(),
            services: std::collections::BTreeMap::new(),
            intent_hash: "h".into(),
            approvals: Vec::new(),
            promoted_by: "alice".into(),
            promoted_by_source: crate::IdentitySource::Env,
            promoted_at: "2026-11-22T19:00:00Z".into(),
            promoted_from: "commit".into(),
            overrides: Vec::new(),
        };
        let i = InstanceRelease {
            release,
            instance: "pr-1".into(),
            expires_at: Some("2026-11-23T19:00:00Z".into()),
        };
        let bytes = i.to_bytes();
        assert_eq!(InstanceRelease::parse("x", &bytes).unwrap(), i);
        assert!(
            String::from_utf8(bytes)
                .unwrap()
                .contains("\"instance\": \"pr-1\"")
        );
    }
}
