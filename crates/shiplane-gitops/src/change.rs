//! Change sets: what one `GitOps` commit writes and deletes, and the rules for paths in it.
//!
//! Owns path hygiene for everything that goes into the `GitOps` tree: relative, `/`-separated,
//! no empty, `.` or `..` components, no `.git`, no backslashes or control characters. It is
//! data only: applying a change set to a tree belongs to the repository module.

use std::collections::{BTreeMap, BTreeSet};

use crate::GitopsError;

/// The files one commit writes and the files or directories it deletes.
///
/// Deletions are applied first, then writes, so deleting a directory and writing a file
/// inside it replaces the directory's content. Writing the same bytes a file already has, or
/// deleting a path that does not exist, changes nothing — an all-no-op change set makes no
/// commit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    writes: BTreeMap<String, Vec<u8>>,
    deletes: BTreeSet<String>,
}

impl ChangeSet {
    /// An empty change set.
    pub fn new() -> ChangeSet {
        ChangeSet::default()
    }

    /// Writes `bytes` to the regular file at `path` (creating directories as needed),
    /// replacing an earlier write of the same path in this change set.
    pub fn write(&mut self, path: impl Into<String>, bytes: impl Into<Vec<u8>>) -> &mut Self {
        self.writes.insert(path.into(), bytes.into());
        self
    }

    /// Builder form of [`ChangeSet::write`].
    #[must_use]
    pub fn with_write(mut self, path: impl Into<String>, bytes: impl Into<Vec<u8>>) -> ChangeSet {
        self.write(path, bytes);
        self
    }

    /// Deletes the file or the whole directory at `path`.
    pub fn delete(&mut self, path: impl Into<String>) -> &mut Self {
        self.deletes.insert(path.into());
        self
    }

    /// Builder form of [`ChangeSet::delete`].
    #[must_use]
    pub fn with_delete(mut self, path: impl Into<String>) -> ChangeSet {
        self.delete(path);
        self
    }

    /// Files to write, by path.
    pub fn writes(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.writes
    }

    /// Files or directories to delete.
    pub fn deletes(&self) -> &BTreeSet<String> {
        &self.deletes
    }

    /// True when the change set asks for nothing.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty() && self.deletes.is_empty()
    }

    /// Checks every path (see the module documentation).
    pub(crate) fn validate(&self) -> Result<(), GitopsError> {
        for path in self.writes.keys().chain(&self.deletes) {
            clean_path(path)?;
        }
        Ok(())
    }
}

/// Returns `path` without a trailing `/` if it is a clean relative path in the `GitOps` tree.
pub(crate) fn clean_path(path: &str) -> Result<&str, GitopsError> {
    let fail = |reason: &str| GitopsError::InvalidPath {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    if trimmed.is_empty() {
        return Err(fail("the path is empty"));
    }
    if trimmed.starts_with('/') {
        return Err(fail("the path must be relative to the repository root"));
    }
    // Every control character, not only NUL and newlines: a tab or an escape sequence in a
    // path is never intended and would be printed verbatim in summaries.
    if trimmed.contains('\\') || trimmed.chars().any(char::is_control) {
        return Err(fail("the path contains a backslash or a control character"));
    }
    for component in trimmed.split('/') {
        match component {
            "" => return Err(fail("the path has an empty component (`//`)")),
            "." | ".." => return Err(fail("the path has a `.` or `..` component")),
            c if c.eq_ignore_ascii_case(".git") => {
                return Err(fail("the path has a `.git` component"));
            }
            _ => {}
        }
    }
    Ok(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_paths() {
        for (input, expected) in [
            ("a", Some("a")),
            ("lanes/prod/release.json", Some("lanes/prod/release.json")),
            ("lanes/prod/", Some("lanes/prod")),
            ("", None),
            ("/abs", None),
            ("a//b", None),
            ("a/../b", None),
            ("./a", None),
            (".git/config", None),
            ("x/.GIT/y", None),
            ("a\\b", None),
            ("a\tb", None),
            ("a\u{1b}[31mb", None),
            ("lanes/\0x", None),
            (".git", None),
            ("x/.git/hooks/pre-commit", None),
        ] {
            assert_eq!(clean_path(input).ok(), expected, "{input:?}");
        }
    }

    #[test]
    fn validate_checks_writes_and_deletes() {
        assert!(ChangeSet::new().with_write("ok", "x").validate().is_ok());
        assert!(ChangeSet::new().with_write("../x", "x").validate().is_err());
        assert!(ChangeSet::new().with_delete("/x").validate().is_err());
        assert!(ChangeSet::new().is_empty());
    }
}
