//! What planning needs to know about the intent, and nothing more.
//!
//! The caller (the binary, from `shiplane-intent`'s effective model) builds a [`PlanSpec`]; this
//! crate must not depend on the intent crate, so that planning stays a pure function of plain
//! data and the intent model can change without touching fingerprint arithmetic.

use std::collections::BTreeMap;

/// The inputs of every service, as globs over repository paths.
///
/// Glob rules (the same for every list here): paths are repository-relative with `/`; `*`, `?`
/// and `[...]` never cross a `/`; `**` matches any number of directories; `{a,b}` alternates; a
/// pattern without any of those matches that file or, if it names a directory, everything below
/// it. A leading `./` or `/` and a trailing `/` are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanSpec {
    /// Globs whose files are an input of every service (lockfiles, CI tooling).
    pub shared: Vec<String>,
    /// Globs whose files are never an input of anything (docs). They win over every other list.
    pub ignore: Vec<String>,
    /// Library name → globs of its files.
    pub libraries: BTreeMap<String, Vec<String>>,
    /// Service name → what it is built from and how.
    pub services: BTreeMap<String, ServiceSpec>,
}

/// One service's inputs and build settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceSpec {
    /// Globs of the service's own files.
    pub paths: Vec<String>,
    /// Libraries it depends on, transitively (including through services); must exist in
    /// [`PlanSpec::libraries`].
    pub libraries: Vec<String>,
    /// Services it depends on, transitively; their own paths are inputs of this service.
    pub services: Vec<String>,
    /// Canonical hash of the build-relevant part of the service's intent, computed by the caller.
    pub intent_hash: String,
    /// Build settings used by the pipeline emitters.
    pub build: BuildSpec,
}

/// How CI builds a service's image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildSpec {
    /// Build context directory.
    pub context: String,
    /// Dockerfile path.
    pub dockerfile: String,
    /// Multi-stage build target (`docker build --target`); `None` builds the last stage.
    pub target: Option<String>,
    /// Build arguments (`docker build --build-arg NAME=VALUE`), sorted by name. They are part
    /// of the fingerprint (through [`ServiceSpec::intent_hash`]), so every emitter must pass
    /// them on: an image built without them is not the image the fingerprint names.
    pub args: BTreeMap<String, String>,
    /// Image repository (`registry.example.com/x/api`); `None` when no registry is configured.
    pub image: Option<String>,
    /// Tag template: `{commit}`, `{commit.short}`, `{fingerprint}`, `{fingerprint.short}`,
    /// `{service}`.
    pub tag: String,
}
