//! `shiplane init`: scan a repository and propose a starter intent file that passes
//! `shiplane check`.
//!
//! This crate owns recognising deployables and shared code in a repository (Dockerfiles and
//! Containerfiles, npm/pnpm/yarn workspaces, Cargo workspaces, `pyproject.toml`, Maven and Gradle
//! builds, `go.mod`, Helm charts, Docker Compose files) and turning what it finds into commented
//! YAML. It is a functional core with one small shell:
//!
//! * [`source`] — the [`FileSource`] trait, the bounded [`DirSource`] walker and the in-memory
//!   [`MemorySource`];
//! * [`propose`] — a pure function from a file source to a [`Proposal`];
//! * [`render_yaml`] — a pure function from a proposal to the text of `shiplane.yaml`;
//! * [`write_intent`] — the only code that writes, atomically and never over an existing intent
//!   file unless forced.
//!
//! It does not know the intent's validation rules (that is `shiplane-intent`; the tests check
//! every proposal against it) nor the command line (that is the `shiplane` binary).

mod compose;
pub mod names;
mod parse;
mod render;
mod scan;
pub mod source;
mod write;

pub use names::{GENERIC_DIRS, dns_label, is_generic_dir};
pub use render::{quoted, render_yaml, scalar};
pub use scan::{
    Detected, HelmChart, Proposal, ProposedBuild, ProposedEnv, ProposedHealth, ProposedLibrary,
    ProposedService, project_label, propose,
};
pub use source::{DirSource, FileSource, MemorySource, RepoFiles};
pub use write::{INTENT_FILE_NAMES, InitError, write_intent};
