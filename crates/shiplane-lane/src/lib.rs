//! Shiplane lanes: the domain of releases and promotions (SPEC §3, §5, §8).
//!
//! This crate owns the files Shiplane keeps per lane in the `GitOps` repository —
//! `release.json` (the immutable release record), `catalog.json` (service → artifact) and
//! `state.json` (hold, hibernation, approvals in flight) — and the decisions made over them:
//! release identity, the next version, freeze windows, the promotion policy, and which release a
//! rollback goes back to.
//!
//! It is pure: it never reads git, a registry, the environment or the clock. The time is a
//! parameter and time zones are handed in already loaded, so every decision is a function of its
//! inputs and is tested exactly. It does not know how files reach git (the binary's `GitOps`
//! adapter does) nor what the manifests look like (`shiplane-render` does).

mod canonical;
pub mod freeze;
pub mod instance;
pub mod policy;
mod release;
pub mod version;

pub use canonical::canonical_json;
pub use freeze::{FreezeError, FreezeWindow};
pub use policy::{Decision, PolicyInput, Refusal, Rule, evaluate, order_refusal};
pub use release::{
    Actor, Approval, Catalog, CatalogEntry, FORMAT_VERSION, FileError, HistoryEntry,
    IdentitySource, ImageStatus, LaneState, Override, Release, ReleaseImage, catalog_path,
    intent_hash, manifests_dir, release_id, release_path, rollback_target, state_path,
};
pub use version::{Version, VersionError, next_version};
