//! The planning core of Shiplane: from a commit's tree listing and the services' inputs to
//! fingerprints, the affected / reused plan, `--explain`, and dynamic CI pipelines.
//!
//! This crate is a pure functional core: it owns fingerprint arithmetic, glob matching and the
//! plan rules, and it must not know git, the filesystem, the network, the clock or the intent
//! file's syntax. The git adapter (`shiplane-git`) produces [`TreeListing`]s; the binary builds a
//! [`PlanSpec`] from the effective intent and an [`ArtifactLookup`] from the artifact index.

mod diff;
mod emit;
mod error;
mod explain;
mod fingerprint;
mod listing;
mod matcher;
mod plan;
mod spec;

pub use diff::{ChangedPath, diff_listings, sort_changes};
pub use emit::{
    BuildJob, EmitOptions, REPO_URL_UNSET, build_jobs, buildkite, github_matrix, render_tag, tekton,
};
pub use error::PlanError;
pub use explain::{Change, ChangedFile, ExplainGroup, Explanation, Rule, changed_files, explain};
pub use fingerprint::{Fingerprint, GroupDigests, fingerprints};
pub use listing::{Entry, EntryMode, Oid, TreeListing, TreeListingBuilder};
pub use matcher::{CompiledSpec, GroupKind};
pub use plan::{
    Affected, Artifact, ArtifactLookup, Base, BaseDiff, Plan, Reason, Reused, Unchanged, plan,
    plan_diff, plan_diff_compiled,
};
pub use spec::{BuildSpec, PlanSpec, ServiceSpec};
