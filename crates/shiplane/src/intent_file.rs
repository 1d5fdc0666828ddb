//! Finding and reading the intent file. The only filesystem access on the intent's path; the
//! intent crate itself is pure.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use shiplane_intent::INTENT_FILE_NAMES;
use shiplane_intent::node::Limits;

use crate::output::{CliError, ErrorKind};

/// An intent file's text and how to name it to the user.
pub struct IntentFile {
    pub path: PathBuf,
    pub display: String,
    pub text: String,
}

/// The repository root of `start` (the nearest ancestor with `.git`), or `start` itself.
pub fn repo_root(start: &Path) -> PathBuf {
    start
        .ancestors()
        .find(|a| a.join(".git").exists())
        .unwrap_or(start)
        .to_path_buf()
}

/// Locates the intent: `--intent` when given, else the first of the standard names at the
/// repository root.
pub fn locate(explicit: Option<&Path>) -> Result<PathBuf, CliError> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    let cwd = std::env::current_dir().map_err(|e| {
        CliError::new(
            ErrorKind::Failure,
            format!("cannot read the working directory: {e}"),
        )
    })?;
    let root = repo_root(&cwd);
    INTENT_FILE_NAMES
        .iter()
        .map(|n| root.join(n))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            CliError::new(
                ErrorKind::Invalid,
                format!("no intent file found in {}", root.display()),
            )
            .help(format!(
                "looked for {}; create one with `shiplane init --write`, or pass `--intent PATH`",
                INTENT_FILE_NAMES.join(", ")
            ))
        })
}

/// The size bound of an intent file, the same whether it is read from the working tree or from
/// a commit (`plan --head`): the parser's own byte limit.
pub fn max_bytes() -> u64 {
    Limits::default().max_bytes as u64
}

/// The error for an intent file over [`max_bytes`].
pub fn too_large(display: &str, size: u64) -> CliError {
    CliError::new(
        ErrorKind::Invalid,
        format!(
            "{display} is {size} bytes; intent files are limited to {} bytes",
            max_bytes()
        ),
    )
    .help("an intent file holds intent only; generated data belongs in the GitOps repository")
}

/// Reads the intent, refusing oversized files before reading them.
pub fn read(explicit: Option<&Path>) -> Result<IntentFile, CliError> {
    let path = locate(explicit)?;
    let display = display_path(&path);
    let limit = max_bytes();
    let file = std::fs::File::open(&path).map_err(|e| {
        CliError::new(
            ErrorKind::Invalid,
            format!("cannot open intent file {display}: {e}"),
        )
        .help("check the path given to --intent")
    })?;
    let size = file.metadata().map_or(0, |m| m.len());
    if size > limit {
        return Err(too_large(&display, size));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::new(ErrorKind::Failure, format!("cannot read {display}: {e}")))?;
    from_bytes(path, display, bytes)
}

/// An intent file from bytes already read (from the working tree, or from a commit's tree by
/// `plan`), insisting on UTF-8.
pub fn from_bytes(path: PathBuf, display: String, bytes: Vec<u8>) -> Result<IntentFile, CliError> {
    let text = String::from_utf8(bytes).map_err(|e| {
        CliError::new(
            ErrorKind::Invalid,
            format!(
                "{display} is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    Ok(IntentFile {
        path,
        display,
        text,
    })
}

/// The working tree's copy of a file, read within the intent's bound; `None` when it is missing
/// or cannot be read (the caller only compares it with the committed one).
pub fn working_copy(path: &Path) -> Option<Vec<u8>> {
    let file = std::fs::File::open(path).ok()?;
    let mut bytes = Vec::new();
    file.take(max_bytes() + 1).read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// A path as the user would type it: relative to the working directory when inside it.
pub fn display_path(path: &Path) -> String {
    let cwd = std::env::current_dir().ok();
    cwd.and_then(|c| path.strip_prefix(&c).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}

/// Reads the intent and insists it is valid: an invalid intent prints its diagnostics (as
/// `check` would) and ends the command with status 2, so no command acts on a broken intent.
pub fn load_valid(
    explicit: Option<&Path>,
    out: &crate::output::Output,
) -> Result<(IntentFile, shiplane_intent::EffectiveIntent), CliError> {
    validate(read(explicit)?, out)
}

/// [`load_valid`] of an intent already read (for `plan`, from a commit's tree).
pub fn validate(
    file: IntentFile,
    out: &crate::output::Output,
) -> Result<(IntentFile, shiplane_intent::EffectiveIntent), CliError> {
    let loaded = shiplane_intent::load_str(&file.text);
    if let Some(eff) = loaded.valid_effective() {
        let eff = eff.clone();
        Ok((file, eff))
    } else {
        if !out.json {
            eprint!(
                "{}",
                shiplane_intent::diagnostic::render_human(
                    &loaded.diagnostics,
                    &file.display,
                    &file.text,
                    out.color_stderr()
                )
            );
        }
        let (errors, _) = shiplane_intent::diagnostic::counts(&loaded.diagnostics);
        Err(CliError::new(
            ErrorKind::Invalid,
            format!(
                "{} is invalid ({errors} error{})",
                file.display,
                if errors == 1 { "" } else { "s" }
            ),
        )
        .help(format!(
            "run `shiplane check --intent {}` and fix what it reports",
            file.display
        ))
        // With --json the diagnostics travel in the one error document instead of stderr.
        .details(serde_json::json!({
            "file": file.display,
            "diagnostics": shiplane_intent::diagnostic::to_json(&loaded.diagnostics, &file.display),
        })))
    }
}
