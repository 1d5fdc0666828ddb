//! Writing the proposed intent to disk: the only code of this crate that changes files.
//!
//! It refuses to replace an existing intent file unless forced, and writes through a temporary
//! file in the same directory renamed into place, so a reader never sees half a file and a crash
//! leaves the old file intact.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Where Shiplane looks for an intent file, relative to the repository root, in order.
pub const INTENT_FILE_NAMES: [&str; 4] = [
    "shiplane.yaml",
    "shiplane.json",
    "deploy/shiplane.yaml",
    "deploy/shiplane.json",
];

/// Why the intent was not written.
#[derive(Debug, Error)]
pub enum InitError {
    /// An intent file is already there; nothing was written.
    #[error("an intent file already exists at {}; pass --force to overwrite shiplane.yaml", .existing.display())]
    AlreadyExists {
        /// The existing intent file.
        existing: PathBuf,
    },
    /// Writing failed; the previous file, if any, is unchanged.
    #[error("could not write {}: {source}", .path.display())]
    Io {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Writes `yaml` to `root/shiplane.yaml` atomically and returns that path.
///
/// Without `force`, refuses when any intent file Shiplane would read already exists
/// (`shiplane.yaml`, `shiplane.json`, `deploy/shiplane.yaml`, `deploy/shiplane.json`).
pub fn write_intent(root: &Path, yaml: &str, force: bool) -> Result<PathBuf, InitError> {
    let target = root.join(INTENT_FILE_NAMES[0]);
    if !force
        && let Some(existing) = INTENT_FILE_NAMES
            .iter()
            .map(|name| root.join(name))
            .find(|p| p.symlink_metadata().is_ok())
    {
        return Err(InitError::AlreadyExists { existing });
    }
    let io = |source| InitError::Io {
        path: target.clone(),
        source,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".shiplane.yaml.")
        .suffix(".tmp")
        .tempfile_in(root)
        .map_err(io)?;
    tmp.write_all(yaml.as_bytes()).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    if force {
        tmp.persist(&target).map_err(|e| io(e.error))?;
    } else {
        // No-clobber: a file created since the check above is not replaced either.
        tmp.persist_noclobber(&target).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                InitError::AlreadyExists {
                    existing: target.clone(),
                }
            } else {
                io(e.error)
            }
        })?;
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_then_refuses_then_forces() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_intent(dir.path(), "version: 1\n", false).unwrap();
        assert_eq!(path, dir.path().join("shiplane.yaml"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "version: 1\n");

        let err = write_intent(dir.path(), "version: 2\n", false).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("shiplane.yaml") && message.contains("--force"),
            "{message}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "version: 1\n");

        write_intent(dir.path(), "version: 3\n", true).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "version: 3\n");
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["shiplane.yaml"]);
    }

    #[test]
    fn refuses_when_another_intent_file_exists() {
        for existing in [
            "shiplane.json",
            "deploy/shiplane.yaml",
            "deploy/shiplane.json",
        ] {
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(dir.path().join("deploy")).unwrap();
            std::fs::write(dir.path().join(existing), "{}").unwrap();
            match write_intent(dir.path(), "version: 1\n", false) {
                Err(InitError::AlreadyExists { existing: p }) => {
                    assert_eq!(p, dir.path().join(existing));
                }
                other => panic!("{existing}: {other:?}"),
            }
            assert!(!dir.path().join("shiplane.yaml").exists());
        }
    }

    #[test]
    fn missing_root_is_an_io_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_intent(&dir.path().join("nope"), "x", false).unwrap_err();
        assert!(matches!(err, InitError::Io { .. }));
        assert!(err.to_string().contains("nope"));
    }
}
