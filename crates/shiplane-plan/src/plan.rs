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

use crate::diff::ChangedPath;
use crate::error::PlanError;
use crate::fingerprint::{Fingerprint, GroupDigests, group_name};
use crate::listing::TreeListing;
use crate::matcher::{CompiledService, CompiledSpec, SHARED};
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

/// A base whose tree is given as its difference from head rather than as a listing.
#[derive(Debug, Clone, Copy)]
pub struct BaseDiff<'a> {
    /// Every file that differs between the base and head trees, sorted by path (what
    /// [`crate::diff_listings`] and the git adapter's tree diff return).
    pub changes: &'a [ChangedPath],
    /// The intent at the base commit, as in [`Base::spec`].
    pub spec: Option<&'a PlanSpec>,
}

/// What is known about the base, in the form the decision rules ask about it.
enum BaseState {
    /// The base tree was hashed group by group (with the base intent when it differs).
    Hashed {
        compiled: Option<CompiledSpec>,
        digests: GroupDigests,
        has_spec: bool,
    },
    /// The base intent is the head intent, so both sides have the same groups and a group
    /// changed exactly when a changed file belongs to it: its (path, mode, id) records differ.
    SameSpec {
        /// Per group: some changed file is one of its inputs.
        changed: Vec<bool>,
    },
}

impl BaseState {
    fn hashed(
        spec: &PlanSpec,
        compiled: &CompiledSpec,
        base: Base<'_>,
    ) -> Result<BaseState, PlanError> {
        // Recompile only when the base intent differs from the head intent.
        let base_compiled = match base.spec {
            Some(s) if s != spec => Some(CompiledSpec::new(s)?),
            _ => None,
        };
        let digests =
            GroupDigests::compute(base_compiled.as_ref().unwrap_or(compiled), base.listing);
        Ok(BaseState::Hashed {
            compiled: base_compiled,
            digests,
            has_spec: base.spec.is_some(),
        })
    }

    fn has_spec(&self) -> bool {
        match self {
            BaseState::Hashed { has_spec, .. } => *has_spec,
            BaseState::SameSpec { .. } => true,
        }
    }
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
        Some(b) => Some(BaseState::hashed(spec, &compiled, b)?),
    };
    Ok(decide(
        spec,
        &compiled,
        &head_digests,
        base_state.as_ref(),
        base.and_then(|b| b.spec),
        artifacts,
    ))
}

/// [`plan`] against a base given by its difference from head: the same plan, without listing
/// or hashing the base tree when the intent did not change.
///
/// With the head intent at the base (the common case), a group changed exactly when one of the
/// changed files is an input of it, so only the changed paths are matched. Otherwise the base
/// listing is rebuilt from head and the changes ([`TreeListing::before`]) and hashed, as
/// [`plan`] does.
pub fn plan_diff(
    spec: &PlanSpec,
    head: &TreeListing,
    base: BaseDiff<'_>,
    artifacts: Option<&dyn ArtifactLookup>,
) -> Result<Plan, PlanError> {
    let compiled = CompiledSpec::new(spec)?;
    plan_diff_compiled(spec, &compiled, head, base, artifacts)
}

/// [`plan_diff`] with the head intent's globs already compiled (by the caller, for example on
/// another thread while git is read).
pub fn plan_diff_compiled(
    spec: &PlanSpec,
    compiled: &CompiledSpec,
    head: &TreeListing,
    base: BaseDiff<'_>,
    artifacts: Option<&dyn ArtifactLookup>,
) -> Result<Plan, PlanError> {
    let head_digests = GroupDigests::compute(compiled, head);
    let base_state = match base.spec {
        Some(s) if std::ptr::eq(s, spec) || s == spec => BaseState::SameSpec {
            changed: compiled.touched_groups(base.changes),
        },
        _ => {
            let listing = head.before(base.changes);
            BaseState::hashed(
                spec,
                compiled,
                Base {
                    listing: &listing,
                    spec: base.spec,
                },
            )?
        }
    };
    Ok(decide(
        spec,
        compiled,
        &head_digests,
        Some(&base_state),
        base.spec,
        artifacts,
    ))
}

fn decide(
    spec: &PlanSpec,
    compiled: &CompiledSpec,
    head_digests: &GroupDigests,
    base_state: Option<&BaseState>,
    base_spec: Option<&PlanSpec>,
    artifacts: Option<&dyn ArtifactLookup>,
) -> Plan {
    let mut out = Plan::default();
    for service in compiled.services() {
        let fingerprint = head_digests.fingerprint(compiled, service);
        let changes =
            base_state.map(|b| change_reasons(compiled, head_digests, b, service, fingerprint));
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
    if let (Some(b), Some(base_spec)) = (base_state, base_spec)
        && b.has_spec()
    {
        out.removed = base_spec
            .services
            .keys()
            .filter(|name| !spec.services.contains_key(*name))
            .cloned()
            .collect();
    }
    out
}

/// Reasons the service's fingerprint differs from the base's; empty when it does not.
fn change_reasons(
    head: &CompiledSpec,
    head_digests: &GroupDigests,
    base: &BaseState,
    service: &CompiledService,
    head_fingerprint: Fingerprint,
) -> Vec<Reason> {
    let (base_compiled, digests, has_spec) = match base {
        BaseState::SameSpec { changed } => return same_spec_reasons(head, service, changed),
        BaseState::Hashed {
            compiled,
            digests,
            has_spec,
        } => (compiled.as_ref().unwrap_or(head), digests, *has_spec),
    };
    let Some(base_service) = base_compiled.service(&service.name) else {
        return vec![Reason::NewService];
    };
    if digests.fingerprint(base_compiled, base_service) == head_fingerprint {
        return Vec::new();
    }
    let same = |head_group: usize, base_group: Option<usize>| {
        base_group.is_some_and(|bg| digests.digest(bg) == head_digests.digest(head_group))
    };
    let mut reasons = Vec::new();
    if !has_spec && digests.count(base_service.own) == 0 && head_digests.count(service.own) > 0 {
        // Without the base intent, a service whose paths held nothing at the base is new.
        return vec![Reason::NewService];
    }
    if service.intent_hash != base_service.intent_hash {
        reasons.push(Reason::IntentChanged);
    }
    if !same(SHARED, Some(SHARED)) {
        reasons.push(Reason::SharedChanged);
    }
    if !same(service.own, Some(base_service.own)) {
        reasons.push(Reason::OwnPathsChanged);
    }
    for &g in &service.libraries {
        let lib = group_name(head, g);
        if !same(g, base_compiled.library_group(lib)) {
            reasons.push(Reason::LibraryChanged(lib.to_owned()));
        }
    }
    for &g in &service.dependencies {
        let dep = group_name(head, g);
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

/// [`change_reasons`] when base and head share one intent: the intent did not change, the
/// service existed, and each group changed exactly when `changed` says so. The fingerprint
/// differs exactly when one of the service's groups changed, so the reasons are never empty for
/// a changed fingerprint.
fn same_spec_reasons(
    compiled: &CompiledSpec,
    service: &CompiledService,
    changed: &[bool],
) -> Vec<Reason> {
    let mut reasons = Vec::new();
    if changed[SHARED] {
        reasons.push(Reason::SharedChanged);
    }
    if changed[service.own] {
        reasons.push(Reason::OwnPathsChanged);
    }
    for &g in &service.libraries {
        if changed[g] {
            reasons.push(Reason::LibraryChanged(group_name(compiled, g).to_owned()));
        }
    }
    for &g in &service.dependencies {
        if changed[g] {
            reasons.push(Reason::DependencyChanged(
                group_name(compiled, g).to_owned(),
            ));
        }
    }
    reasons
}

#[cfg(test)]
#[path = "plan_tests.rs"]
pub(crate) mod tests;
