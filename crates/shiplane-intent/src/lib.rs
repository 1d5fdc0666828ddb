//! The Shiplane intent file (`shiplane.yaml` / `shiplane.json`): its model, bounded reading with
//! positions, validation with rustc-style diagnostics, the effective (inherited) model, and the
//! JSON Schema.
//!
//! This crate is pure: it is handed the text of a file and never touches the filesystem, the
//! network or a clock. Finding the file is the binary's job.
//!
//! The pipeline of [`load_str`]:
//! 1. [`node::read`] — YAML/JSON into a span-carrying tree, within [`node::Limits`];
//! 2. `structure` — the tree against the JSON Schema generated from [`model`], reporting every
//!    unknown key, wrong type and missing field at once;
//! 3. typed deserialization into [`model::Intent`] (what failed in step 2 is left out first, so
//!    the rules below still run on everything else);
//! 4. `rules` — the semantic rules of SPEC §4;
//! 5. [`effective::resolve`] — inheritance and defaults.

pub mod diagnostic;
pub mod effective;
pub mod model;
pub mod node;
mod rules;
mod schema;
mod structure;
pub mod template;
pub mod values;

pub use diagnostic::{Diagnostic, Severity};
pub use effective::{EffectiveIntent, EffectiveLane, EffectiveService};
pub use model::Intent;
pub use schema::intent_schema;

/// The file names Shiplane looks for, in order, from the repository root.
pub const INTENT_FILE_NAMES: [&str; 4] = [
    "shiplane.yaml",
    "shiplane.json",
    "deploy/shiplane.yaml",
    "deploy/shiplane.json",
];

/// Paths in the `GitOps` repository of the artifact index that hold Shiplane's own data, with
/// what they are: no lane may write there (`check` refuses a lane whose directory overlaps
/// one). The binary's tests assert these match where the artifact index and the registry audit
/// log are really written.
pub const RESERVED_GITOPS_PATHS: [(&str, &str); 2] = [
    ("artifacts", "the artifact index"),
    ("registry/audit.jsonl", "the registry audit log"),
];

/// The result of reading and validating an intent.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The typed intent, when the file's structure allowed building it.
    pub intent: Option<Intent>,
    /// Inheritance resolved, when `intent` is present.
    pub effective: Option<EffectiveIntent>,
    /// Every problem found, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    /// True when there is no error (warnings allowed).
    #[must_use]
    pub fn is_valid(&self) -> bool {
        self.intent.is_some()
            && !self
                .diagnostics
                .iter()
                .any(|d| d.severity == Severity::Error)
    }

    /// The effective intent of a valid file.
    #[must_use]
    pub fn valid_effective(&self) -> Option<&EffectiveIntent> {
        if self.is_valid() {
            self.effective.as_ref()
        } else {
            None
        }
    }
}

/// Reads and validates an intent file's text with the default limits.
#[must_use]
pub fn load_str(src: &str) -> Loaded {
    load_str_with(src, node::Limits::default())
}

/// Reads and validates an intent file's text within `limits`.
#[must_use]
pub fn load_str_with(src: &str, limits: node::Limits) -> Loaded {
    let root = match node::read(src, limits) {
        Ok(root) => root,
        Err(e) => {
            let mut d = Diagnostic::error(read_error_code(&e), e.to_string());
            if let Some(span) = e.span() {
                d = d.at(span);
            }
            d = d.maybe_help(read_error_help(&e));
            return Loaded {
                intent: None,
                effective: None,
                diagnostics: vec![d],
            };
        }
    };
    let schema = intent_schema();
    let mut diagnostics = Vec::new();
    let pruned = structure::check(&schema, &root, &mut diagnostics);
    let json = structure::to_json_without(&root, &pruned);
    let intent = serde_json::from_value::<Intent>(json).ok();
    if intent.is_none() && diagnostics.is_empty() {
        // The schema and serde disagreed; never let that pass silently.
        diagnostics.push(
            Diagnostic::error(
                "invalid-structure",
                "the file does not have the shape of a Shiplane intent",
            )
            .help("run `shiplane schema` to see the expected shape"),
        );
    }
    let effective = intent.as_ref().map(effective::resolve);
    if let (Some(intent), Some(eff)) = (&intent, &effective) {
        rules::check(intent, eff, &root, &mut diagnostics);
    }
    diagnostic::sort(&mut diagnostics);
    diagnostics.dedup();
    Loaded {
        intent,
        effective,
        diagnostics,
    }
}

fn read_error_code(e: &node::ReadError) -> &'static str {
    use node::ReadError as E;
    match e {
        E::TooLarge { .. } => "file-too-large",
        E::TooDeep { .. } => "nesting-too-deep",
        E::TooManyNodes { .. } => "document-too-large",
        E::Syntax { .. }
        | E::ComplexKey { .. }
        | E::MultipleDocuments { .. }
        | E::UnknownAnchor { .. } => "syntax",
        E::DuplicateKey { .. } => "duplicate-key",
    }
}

fn read_error_help(e: &node::ReadError) -> Option<String> {
    use node::ReadError as E;
    match e {
        E::TooLarge { .. } => Some(
            "an intent file holds intent only; generated data belongs in the GitOps repository"
                .into(),
        ),
        E::TooDeep { limit, .. } => Some(format!(
            "no valid intent nests more than a few levels; Shiplane stops at {limit}"
        )),
        E::TooManyNodes { .. } => Some("expand fewer aliases, or write the values out".into()),
        E::DuplicateKey { first, .. } => Some(format!(
            "the first `{}` is at line {}, column {}; keep one",
            match e {
                E::DuplicateKey { key, .. } => key.as_str(),
                _ => "",
            },
            first.start.line,
            first.start.col
        )),
        E::MultipleDocuments { .. } => {
            Some("remove the `---` that starts a second document".into())
        }
        _ => None,
    }
}
