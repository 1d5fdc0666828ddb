//! `--explain`: the changed files that changed one service's fingerprint, grouped by the rule
//! that made each of them an input.
//!
//! This module owns the tree comparison (which files changed between two listings) and the
//! grouping. It must not know about git: a rename is a deletion plus an addition here, which is
//! exactly how it affects fingerprints.

use std::cmp::Ordering;
use std::fmt;

use crate::error::PlanError;
use crate::fingerprint::{Fingerprint, GroupDigests, group_name};
use crate::listing::{Entry, TreeListing};
use crate::matcher::{CompiledSpec, SHARED};
use crate::plan::Base;
use crate::spec::PlanSpec;

/// How a file differs between base and head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Change {
    /// Only at head.
    Added,
    /// Only at the base.
    Deleted,
    /// Different content (object id).
    Modified,
    /// Same content, different mode (for example made executable).
    ModeChanged,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Change::Added => "added",
            Change::Deleted => "deleted",
            Change::Modified => "modified",
            Change::ModeChanged => "mode changed",
        })
    }
}

/// One changed file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChangedFile {
    /// Repository path.
    pub path: String,
    /// How it changed.
    pub change: Change,
}

/// Every file whose (object id, mode) differs between `base` and `head` or that exists on one
/// side only, in path order. Linear: both listings are sorted.
pub fn changed_files(base: &TreeListing, head: &TreeListing) -> Vec<ChangedFile> {
    let (mut b, mut h) = (base.iter().peekable(), head.iter().peekable());
    let mut out = Vec::new();
    let file = |e: Entry<'_>, change| ChangedFile {
        path: e.path.to_owned(),
        change,
    };
    loop {
        let order = match (b.peek(), h.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(x), Some(y)) => x.path.cmp(y.path),
        };
        match order {
            Ordering::Less => out.extend(b.next().map(|e| file(e, Change::Deleted))),
            Ordering::Greater => out.extend(h.next().map(|e| file(e, Change::Added))),
            Ordering::Equal => {
                if let (Some(x), Some(y)) = (b.next(), h.next()) {
                    if x.oid != y.oid {
                        out.push(file(y, Change::Modified));
                    } else if x.mode != y.mode {
                        out.push(file(y, Change::ModeChanged));
                    }
                }
            }
        }
    }
    out
}

/// The rule that makes a file an input of the explained service.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// The service's build-relevant intent changed (no files).
    Intent,
    /// `inputs.shared`.
    Shared,
    /// The service's own `paths`.
    OwnPaths,
    /// A library it depends on.
    Library(String),
    /// A service it depends on.
    Dependency(String),
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Intent => f.write_str("intent change"),
            Rule::Shared => f.write_str("shared input"),
            Rule::OwnPaths => f.write_str("own path"),
            Rule::Library(l) => write!(f, "library `{l}`"),
            Rule::Dependency(d) => write!(f, "dependency `{d}`"),
        }
    }
}

/// Changed files under one rule. A file matched by two rules is listed under both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainGroup {
    /// The rule.
    pub rule: Rule,
    /// Its changed files, in path order (empty for [`Rule::Intent`]).
    pub files: Vec<ChangedFile>,
}

/// Why one service's fingerprint changed between two commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The service.
    pub service: String,
    /// Fingerprint at the base (`None` when the base intent lacks the service).
    pub base_fingerprint: Option<Fingerprint>,
    /// Fingerprint at head.
    pub head_fingerprint: Fingerprint,
    /// Non-empty groups, intent first, then shared, own paths, libraries, dependencies.
    pub groups: Vec<ExplainGroup>,
}

impl Explanation {
    /// True when the fingerprint did not change.
    pub fn unchanged(&self) -> bool {
        self.base_fingerprint == Some(self.head_fingerprint)
    }
}

/// Explains `service`: the changed files between `base` and `head` that are among its inputs,
/// matched with the head intent's rules.
pub fn explain(
    spec: &PlanSpec,
    service: &str,
    base: Base<'_>,
    head: &TreeListing,
) -> Result<Explanation, PlanError> {
    let compiled = CompiledSpec::new(spec)?;
    let Some(svc) = compiled.services().iter().find(|s| s.name == service) else {
        return Err(PlanError::UnknownService {
            service: service.to_owned(),
            known: spec.services.keys().cloned().collect::<Vec<_>>().join(", "),
        });
    };
    let head_fingerprint = GroupDigests::compute(&compiled, head).fingerprint(&compiled, svc);
    let base_spec = base.spec.unwrap_or(spec);
    let base_compiled = match base.spec {
        Some(s) if s != spec => CompiledSpec::new(s)?,
        _ => compiled.clone(),
    };
    let base_service = base_compiled.services().iter().find(|s| s.name == service);
    let base_fingerprint = base_service.map(|bs| {
        GroupDigests::compute(&base_compiled, base.listing).fingerprint(&base_compiled, bs)
    });

    let mut rules: Vec<(Rule, usize)> = vec![(Rule::Shared, SHARED), (Rule::OwnPaths, svc.own)];
    rules.extend(
        svc.libraries
            .iter()
            .map(|&g| (Rule::Library(group_name(&compiled, g).to_owned()), g)),
    );
    rules.extend(
        svc.dependencies
            .iter()
            .map(|&g| (Rule::Dependency(group_name(&compiled, g).to_owned()), g)),
    );
    let changed = changed_files(base.listing, head);
    let mut groups = Vec::new();
    let intent_changed = base_spec
        .services
        .get(service)
        .is_none_or(|b| b.intent_hash != spec.services[service].intent_hash);
    if intent_changed {
        groups.push(ExplainGroup {
            rule: Rule::Intent,
            files: Vec::new(),
        });
    }
    for (rule, group) in rules {
        let files: Vec<ChangedFile> = changed
            .iter()
            .filter(|f| compiled.group_matches(group, &f.path))
            .cloned()
            .collect();
        if !files.is_empty() {
            groups.push(ExplainGroup { rule, files });
        }
    }
    Ok(Explanation {
        service: service.to_owned(),
        base_fingerprint,
        head_fingerprint,
        groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::{BASE, edit, listing, spec};

    fn check(
        service: &str,
        changes: &[(&str, Option<&str>)],
        expected: &[(&str, &[(&str, Change)])],
    ) {
        let spec = spec();
        let base = listing(BASE);
        let head = edit(changes);
        let e = explain(
            &spec,
            service,
            Base {
                listing: &base,
                spec: Some(&spec),
            },
            &head,
        )
        .unwrap();
        let got: Vec<(String, Vec<(String, Change)>)> = e
            .groups
            .iter()
            .map(|g| {
                (
                    g.rule.to_string(),
                    g.files.iter().map(|f| (f.path.clone(), f.change)).collect(),
                )
            })
            .collect();
        let expected: Vec<(String, Vec<(String, Change)>)> = expected
            .iter()
            .map(|(r, fs)| {
                (
                    (*r).to_owned(),
                    fs.iter().map(|(p, c)| ((*p).to_owned(), *c)).collect(),
                )
            })
            .collect();
        assert_eq!(got, expected, "explain {service} {changes:?}");
        assert_eq!(e.unchanged(), expected.is_empty());
    }

    #[test]
    fn explain_groups_changed_files_by_rule() {
        check("api", &[], &[]);
        check("api", &[("README.md", Some("x"))], &[]);
        check(
            "api",
            &[
                ("services/api/main.py", None),
                ("services/gateway/main.py", Some("a1")),
            ],
            &[
                ("own path", &[("services/api/main.py", Change::Deleted)]),
                (
                    "dependency `gateway`",
                    &[("services/gateway/main.py", Change::Added)],
                ),
            ],
        );
        check(
            "frontend",
            &[
                ("pnpm-lock.yaml", Some("l2")),
                ("packages/ui-kit/button.ts", Some("b2")),
                ("services/api/main.py", Some("a2")),
            ],
            &[
                ("shared input", &[("pnpm-lock.yaml", Change::Modified)]),
                (
                    "library `ui-kit`",
                    &[("packages/ui-kit/button.ts", Change::Modified)],
                ),
            ],
        );
    }

    #[test]
    fn explain_reports_intent_changes_and_unknown_services() {
        let head_spec = spec();
        let mut base_spec = spec();
        base_spec.services.get_mut("gateway").unwrap().intent_hash = "old".to_owned();
        let l = listing(BASE);
        let e = explain(
            &head_spec,
            "gateway",
            Base {
                listing: &l,
                spec: Some(&base_spec),
            },
            &l,
        )
        .unwrap();
        assert_eq!(
            e.groups,
            vec![ExplainGroup {
                rule: Rule::Intent,
                files: vec![]
            }]
        );
        assert!(!e.unchanged());
        let err = explain(
            &head_spec,
            "gatewy",
            Base {
                listing: &l,
                spec: None,
            },
            &l,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown service `gatewy`; known services: api, frontend, gateway"
        );
    }

    #[test]
    fn changed_files_merge_join() {
        let base = listing(&[("a", "1"), ("b", "1"), ("c", "1")]);
        let head = listing(&[("b", "2"), ("c", "1"), ("d", "1")]);
        let got: Vec<(String, Change)> = changed_files(&base, &head)
            .into_iter()
            .map(|f| (f.path, f.change))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a".to_owned(), Change::Deleted),
                ("b".to_owned(), Change::Modified),
                ("d".to_owned(), Change::Added)
            ]
        );
    }
}
