//! The last check before a deletion.
//!
//! A plan can be minutes old when `--execute` reaches a digest: a release may have been promoted
//! or CI may have pushed a new tag onto the same image meanwhile. The adapter re-lists the
//! repository and re-reads references right before each delete; this decides whether the
//! planned deletion still holds.

use std::fmt::Write as _;

use crate::{Protected, Protection, RepoListing};

/// Why a planned deletion must not go ahead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The digest is protected now.
    #[error("not deleting {digest} in {repository}: {}", list(protections))]
    Protected {
        /// The repository.
        repository: String,
        /// The digest.
        digest: String,
        /// Every protection, sorted.
        protections: Vec<Protection>,
    },
    /// The digest carries tags the plan did not decide about (pushed during the run).
    #[error(
        "not deleting {digest} in {repository}: it now also has tag(s) {} that the plan did not \
         cover; run the plan again",
        quoted(tags)
    )]
    NewTags {
        /// The repository.
        repository: String,
        /// The digest.
        digest: String,
        /// The tags on the digest that are not in the plan, sorted.
        tags: Vec<String>,
    },
}

/// Whether the deletion of `digest`, planned with `planned_tags`, may still go ahead, given a
/// fresh listing of its repository and fresh protections.
///
/// It refuses when the digest is protected now, or when the fresh listing has a tag on the
/// digest that is not in `planned_tags`. Planned tags that are gone or moved elsewhere do not
/// matter: the plan already allowed deleting the digest with them.
pub fn recheck(
    digest: &str,
    planned_tags: &[&str],
    fresh: &RepoListing,
    protected: &Protected,
) -> Result<(), Refusal> {
    let protections = protected.of(digest);
    if !protections.is_empty() {
        return Err(Refusal::Protected {
            repository: fresh.repository.clone(),
            digest: digest.to_owned(),
            protections,
        });
    }
    let mut tags: Vec<String> = fresh
        .tags
        .iter()
        .filter(|t| t.digest == digest && !planned_tags.contains(&t.tag.as_str()))
        .map(|t| t.tag.clone())
        .collect();
    if !tags.is_empty() {
        tags.sort();
        tags.dedup();
        return Err(Refusal::NewTags {
            repository: fresh.repository.clone(),
            digest: digest.to_owned(),
            tags,
        });
    }
    Ok(())
}

fn list(protections: &[Protection]) -> String {
    let texts: Vec<String> = protections.iter().map(ToString::to_string).collect();
    texts.join("; ")
}

fn quoted(tags: &[String]) -> String {
    let mut out = String::new();
    for (index, tag) in tags.iter().enumerate() {
        let separator = if index == 0 { "" } else { ", " };
        let _ = write!(out, "{separator}`{tag}`");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TagInfo;

    fn fresh(tags: &[(&str, &str)]) -> RepoListing {
        RepoListing {
            repository: "reg/app".into(),
            tags: tags
                .iter()
                .map(|(tag, digest)| TagInfo {
                    tag: (*tag).into(),
                    digest: (*digest).into(),
                    time: None,
                })
                .collect(),
        }
    }

    #[test]
    fn unchanged_digest_may_go() {
        let listing = fresh(&[("a", "sha256:1"), ("b", "sha256:1"), ("c", "sha256:2")]);
        assert_eq!(
            recheck("sha256:1", &["a", "b"], &listing, &Protected::new()),
            Ok(())
        );
    }

    #[test]
    fn gone_or_moved_planned_tags_do_not_matter() {
        let listing = fresh(&[("a", "sha256:9")]);
        assert_eq!(
            recheck("sha256:1", &["a", "b"], &listing, &Protected::new()),
            Ok(())
        );
    }

    #[test]
    fn new_tag_on_the_digest_refuses() {
        let listing = fresh(&[
            ("a", "sha256:1"),
            ("v2.0.0", "sha256:1"),
            ("hotfix", "sha256:1"),
        ]);
        let refusal = recheck("sha256:1", &["a"], &listing, &Protected::new()).unwrap_err();
        assert_eq!(
            refusal,
            Refusal::NewTags {
                repository: "reg/app".into(),
                digest: "sha256:1".into(),
                tags: vec!["hotfix".into(), "v2.0.0".into()],
            }
        );
        assert_eq!(
            refusal.to_string(),
            "not deleting sha256:1 in reg/app: it now also has tag(s) `hotfix`, `v2.0.0` that \
             the plan did not cover; run the plan again"
        );
    }

    #[test]
    fn newly_protected_digest_refuses() {
        let mut protected = Protected::new();
        protected.add(
            "sha256:1",
            Protection::Release {
                lane: "prod".into(),
                release: "r-abc".into(),
                current: true,
            },
        );
        let listing = fresh(&[("a", "sha256:1")]);
        let refusal = recheck("sha256:1", &["a"], &listing, &protected).unwrap_err();
        assert!(matches!(refusal, Refusal::Protected { .. }));
        assert_eq!(
            refusal.to_string(),
            "not deleting sha256:1 in reg/app: referenced by lane prod's current release r-abc"
        );
    }
}
