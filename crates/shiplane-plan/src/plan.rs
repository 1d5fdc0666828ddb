//! The plan: which services must be built at head, and which can reuse an existing artifact.
//!
//! This module owns the decision rules and the human reasons given for them. It must not know
//! where listings, specs or artifacts come from (git, the intent file, the artifact index in the
//! `GitOps` repository): the caller passes plain data and an [`ArtifactLookup`].
//!
//! Decision rules:
//! * with an artifact lookup, a service is affected exactly when no artifact exists for its head
//!   fingerprint (so a revert to already-built content is reused, and an unchanged service that
//!   was never built is still built); the base, when given, only explains why;
//! * with a base and no lookup, a service is affected when its fingerprint differs from the
//!   base's; the others are [`Plan::unchanged`];
//! * with neither, every service is affected (a first build).

use std::fmt;

use crate::error::PlanError;
use crate::fingerprint::{Fingerprint, GroupDigests};
use crate::listing::TreeListing;
use crate::matcher::CompiledSpec;
use crate::spec::PlanSpec;

/// The commit to compare against.
#[derive(Debug, Clone, Copy)]
pub struct Base<'a> {
    /// The base commit's tree.
    pub listing: &'a TreeListing,
    /// The intent at the base commit, when the caller could read it. Without it the head intent
    /// is applied to the base tree, so intent changes cannot be seen.
    pub spec: Option<&'a PlanSpec>,
}

/// An image already built for a fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Image repository.
    pub image: String,
    /// Tag it was pushed with.
    pub tag: String,
    /// Manifest digest (`sha256:…`).
    pub digest: String,
    /// The commit it was built from.
    pub source_commit: String,
}

/// Finds the artifact built for a service's fingerprint (the artifact index).
pub trait ArtifactLookup {
    /// The artifact for `service` at `fingerprint`, if one was published.
    fn find(&self, service: &str, fingerprint: &Fingerprint) -> Option<Artifact>;
}

impl<F: Fn(&str, &Fingerprint) -> Option<Artifact>> ArtifactLookup for F {
    fn find(&self, service: &str, fingerprint: &Fingerprint) -> Option<Artifact> {
        self(service, fingerprint)
    }
}

/// Why a service is affected, in words a person reads in a CI log.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// The service does not exist at the base.
    NewService,
    /// Its build-relevant intent changed.
    IntentChanged,
    /// A shared input changed.
    SharedChanged,
    /// One of its own files changed.
    OwnPathsChanged,
    /// A file of this library changed.
    LibraryChanged(String),
    /// A file of this dependency service changed.
    DependencyChanged(String),
    /// Nothing changed since the base, but no artifact exists for the fingerprint.
    NoArtifact,
    /// Neither a base nor an artifact index was given.
    NoBase,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::NewService => f.write_str("new service"),
            Reason::IntentChanged => f.write_str("intent changed"),
            Reason::SharedChanged => f.write_str("shared input changed"),
            Reason::OwnPathsChanged => f.write_str("own paths changed"),
            Reason::LibraryChanged(l) => write!(f, "library `{l}` changed"),
            Reason::DependencyChanged(d) => write!(f, "dependency `{d}` changed"),
            Reason::NoArtifact => f.write_str("no artifact for this fingerprint"),
            Reason::NoBase => f.write_str("no base commit and no artifact index to compare with"),
        }
    }
}

/// A service that must be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Affected {
    /// Service name.
    pub service: String,
    /// Head fingerprint.
    pub fingerprint: Fingerprint,
    /// Why, most specific first; never empty.
    pub reasons: Vec<Reason>,
}

/// A service whose head fingerprint already has an artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reused {
    /// Service name.
    pub service: String,
    /// Head fingerprint.
    pub fingerprint: Fingerprint,
    /// The artifact to deploy.
    pub artifact: Artifact,
}

/// A service whose fingerprint is the base's (only when there is no artifact lookup).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unchanged {
    /// Service name.
    pub service: String,
    /// Fingerprint at head and base.
    pub fingerprint: Fingerprint,
}

/// The outcome of planning; every list sorted by service name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Services to build.
    pub affected: Vec<Affected>,
    /// Services with an artifact for their head fingerprint.
    pub reused: Vec<Reused>,
    /// Services unchanged since the base, when no artifact lookup was given.
    pub unchanged: Vec<Unchanged>,
    /// Services in the base intent that the head intent no longer has.
    pub removed: Vec<String>,
}

impl Plan {
    /// True when nothing has to be built.
    pub fn is_empty(&self) -> bool {
        self.affected.is_empty()
    }
}

struct BaseState {
    compiled: Option<CompiledSpec>,
    digests: GroupDigests,
    has_spec: bool,
}

/// Fingerprints every service of `spec` at `head` and decides affected / reused / unchanged.
pub fn plan(
    spec: &PlanSpec,
    head: &TreeListing,
    base: Option<Base<'_>>,
    artifacts: Option<&dyn ArtifactLookup>,
) -> Result<Plan, PlanError> {
    let compiled = CompiledSpec::new(spec)?;
    let head_digests = GroupDigests::compute(&compiled, head);
    let base_state = match base {
        None => None,
        Some(b) => {
            // Recompile only when the base intent differs from the head intent.
            let base_compiled = match b.spec {
                Some(s) if s != spec => Some(CompiledSpec::new(s)?),
                _ => None,
            };
            let digests =
                GroupDigests::compute(base_compiled.as_ref().unwrap_or(&compiled), b.listing);
            Some(BaseState {
                compiled: base_compiled,
                digests,
                has_spec: b.spec.is_some(),
            })
        }
    };

    let mut out = Plan::default();
    for service in compiled.services() {
        let fingerprint = head_digests.fingerprint(&compiled, service);
        let changes = base_state
            .as_ref()
            .map(|b| change_reasons(&compiled, &head_digests, b, &service.name, fingerprint));
        match (artifacts, changes) {
            (Some(lookup), changes) => {
                if let Some(artifact) = lookup.find(&service.name, &fingerprint) {
                    out.reused.push(Reused {
                        service: service.name.clone(),
                        fingerprint,
                        artifact,
                    });
                } else {
                    let reasons = match changes {
                        Some(r) if !r.is_empty() => r,
                        _ => vec![Reason::NoArtifact],
                    };
                    out.affected.push(Affected {
                        service: service.name.clone(),
                        fingerprint,
                        reasons,
                    });
                }
            }
            (None, Some(reasons)) if reasons.is_empty() => out.unchanged.push(Unchanged {
                service: service.name.clone(),
                fingerprint,
            }),
            (None, changes) => out.affected.push(Affected {
                service: service.name.clone(),
                fingerprint,
                reasons: changes.unwrap_or_else(|| vec![Reason::NoBase]),
            }),
        }
    }
    if let (Some(b), Some(base)) = (&base_state, base)
        && b.has_spec
        && let Some(base_spec) = base.spec
    {
        out.removed = base_spec
            .services
            .keys()
            .filter(|name| !spec.services.contains_key(*name))
            .cloned()
            .collect();
    }
    Ok(out)
}

/// Reasons the service's fingerprint differs from the base's; empty when it does not.
fn change_reasons(
    head: &CompiledSpec,
    head_digests: &GroupDigests,
    base: &BaseState,
    name: &str,
    head_fingerprint: Fingerprint,
) -> Vec<Reason> {
    let base_compiled = base.compiled.as_ref().unwrap_or(head);
    let Some(base_service) = base_compiled.service(name) else {
        return vec![Reason::NewService];
    };
    let Some(service) = head.service(name) else {
        return Vec::new();
    };
    if base.digests.fingerprint(base_compiled, base_service) == head_fingerprint {
        return Vec::new();
    }
    let same = |head_group: usize, base_group: Option<usize>| {
        base_group.is_some_and(|bg| base.digests.digest(bg) == head_digests.digest(head_group))
    };
    let mut reasons = Vec::new();
    if !base.has_spec
        && base.digests.count(base_service.own) == 0
        && head_digests.count(service.own) > 0
    {
        // Without the base intent, a service whose paths held nothing at the base is new.
        return vec![Reason::NewService];
    }
    if service.intent_hash != base_service.intent_hash {
        reasons.push(Reason::IntentChanged);
    }
    if !same(crate::matcher::SHARED, Some(crate::matcher::SHARED)) {
        reasons.push(Reason::SharedChanged);
    }
    if !same(service.own, Some(base_service.own)) {
        reasons.push(Reason::OwnPathsChanged);
    }
    for &g in &service.libraries {
        let lib = crate::fingerprint::group_name(head, g);
        if !same(g, base_compiled.library_group(lib)) {
            reasons.push(Reason::LibraryChanged(lib.to_owned()));
        }
    }
    for &g in &service.dependencies {
        let dep = crate::fingerprint::group_name(head, g);
        if !same(g, base_compiled.service_group(dep)) {
            reasons.push(Reason::DependencyChanged(dep.to_owned()));
        }
    }
    if reasons.is_empty() {
        // Same content everywhere, yet a different fingerprint: the set of libraries or
        // dependencies changed, which only the intent can do.
        reasons.push(Reason::IntentChanged);
    }
    reasons
}

#[cfg(test)]
#[path = "plan_tests.rs"]
pub(crate) mod tests;
