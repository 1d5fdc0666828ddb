//! Writing files under a directory the user named (`shiplane render --out DIR`) without ever
//! following a symbolic link inside it.
//!
//! `DIR` may hold anything a previous run, a checkout or another tool left, including a
//! `manifests -> /somewhere/else` link or a `release.json` linked to a file elsewhere; following
//! either would write outside `DIR` (or over the link's target). So every path component below
//! `DIR` is looked at with `symlink_metadata` before anything is written and a link is refused,
//! naming it; files are then written to a fresh temporary file (`create_new`, which does not
//! follow a link at that name) and renamed over the target (a rename replaces a link, it does
//! not write through it). `DIR` itself, and the directories above it, are the user's choice and
//! are taken as given.
//!
//! It knows nothing about lanes; the relative paths it is given must already be clean (no `..`,
//! no leading `/`), which it re-checks.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::output::{CliError, ErrorKind};

/// Refuses `rel` when a component of `dir/rel` below `dir` that already exists is a symbolic
/// link (or `rel` is not a clean relative path). Run over every file before writing any, so a
/// refusal leaves `dir` as it was instead of half rendered.
pub fn check_no_links(dir: &Path, rel: &str) -> Result<(), CliError> {
    clean(dir, rel)?;
    let mut at = dir.to_path_buf();
    for segment in rel.split('/') {
        at.push(segment);
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => return Err(symlink_error(&at)),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_error("inspect", &at, &e)),
        }
    }
    Ok(())
}

fn clean(dir: &Path, rel: &str) -> Result<(), CliError> {
    shiplane_intent::values::gitops_path(rel).map_err(|why| {
        CliError::new(
            ErrorKind::Failure,
            format!(
                "refusing to write `{}` under {}: {why}",
                rel.escape_debug(),
                dir.display()
            ),
        )
    })
}

/// Writes `bytes` to `dir/rel`, creating directories below `dir`, following no symbolic link
/// below `dir`. `rel` is `/`-separated and relative.
pub fn write_file(dir: &Path, rel: &str, bytes: &[u8]) -> Result<PathBuf, CliError> {
    clean(dir, rel)?;
    let segments: Vec<&str> = rel.split('/').collect();
    let (file, parents) = segments.split_last().unwrap_or((&"", &[]));
    let mut at = dir.to_path_buf();
    for segment in parents {
        at.push(segment);
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => return Err(symlink_error(&at)),
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(CliError::new(
                    ErrorKind::Failure,
                    format!("cannot write under {}: it is not a directory", at.display()),
                ));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // `create_dir` (not `_all`): the parents were checked one by one above.
                std::fs::create_dir(&at).map_err(|e| io_error("create", &at, &e))?;
            }
            Err(e) => return Err(io_error("inspect", &at, &e)),
        }
    }
    let target = at.join(file);
    match std::fs::symlink_metadata(&target) {
        Ok(meta) if meta.file_type().is_symlink() => return Err(symlink_error(&target)),
        Ok(meta) if meta.is_dir() => {
            return Err(CliError::new(
                ErrorKind::Failure,
                format!("cannot write {}: it is a directory", target.display()),
            ));
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error("inspect", &target, &e)),
    }
    let tmp = at.join(format!(".{file}.shiplane-{}.tmp", std::process::id()));
    // A leftover from a crashed run (a file or a link) is removed, never written through.
    let _ = std::fs::remove_file(&tmp);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, &target));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_error("write", &target, &e));
    }
    Ok(target)
}

fn symlink_error(path: &Path) -> CliError {
    CliError::new(
        ErrorKind::Failure,
        format!(
            "refusing to write through the symbolic link {}",
            path.display()
        ),
    )
    .help(
        "render never follows links inside the output directory; remove the link, or render into a fresh directory with `--out`",
    )
}

fn io_error(what: &str, path: &Path, e: &std::io::Error) -> CliError {
    CliError::new(
        ErrorKind::Failure,
        format!("cannot {what} {}: {e}", path.display()),
    )
}
