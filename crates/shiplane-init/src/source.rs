//! Where the scanner's files come from: a small trait over "list the repository, read a small
//! text file", a bounded filesystem walker, and an in-memory source for tests.
//!
//! This module owns the *bounds* of scanning (which directories are never entered, how large a
//! file may be read, how many files are listed) and the normal form of paths (repository-relative,
//! `/`-separated, sorted). It knows nothing about ecosystems or the intent file.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Directory names never entered: build output, vendored and installed dependencies, VCS data.
/// Hidden directories (a name starting with `.`) are skipped as well.
pub const SKIPPED_DIRS: [&str; 8] = [
    ".git",
    "node_modules",
    "target",
    "vendor",
    "dist",
    "build",
    "__pycache__",
    "venv",
];

/// Files larger than this are listed but never read.
pub const MAX_READ_BYTES: u64 = 1024 * 1024;

/// The walker stops listing after this many files.
pub const MAX_FILES: usize = 200_000;

/// A read-only view of a repository's files.
///
/// Contract: `list` returns repository-relative paths with `/` separators (order and duplicates
/// do not matter; [`RepoFiles`] normalizes them). `read` returns the UTF-8 text of a listed file,
/// or `None` when it cannot or should not be read (missing, too large, not UTF-8).
pub trait FileSource {
    /// Every file in the repository, relative to its root.
    fn list(&self) -> Vec<String>;
    /// The text of one file, by repository-relative path.
    fn read(&self, path: &str) -> Option<String>;
}

/// True when a path component names a directory the scanner never enters.
pub fn is_skipped_dir(name: &str) -> bool {
    name.starts_with('.') || SKIPPED_DIRS.contains(&name)
}

/// A [`FileSource`] over a directory on disk, listed once when it is made.
///
/// The walk does not follow symbolic links (so it cannot loop), skips [`SKIPPED_DIRS`] and
/// hidden directories, drops names that are not UTF-8, and stops after [`MAX_FILES`] files.
#[derive(Debug, Clone)]
pub struct DirSource {
    root: PathBuf,
    files: Vec<String>,
    truncated: bool,
}

impl DirSource {
    /// Walks `root` and remembers what it found.
    pub fn new(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        let mut files = Vec::new();
        let mut truncated = false;
        // An explicit stack keeps the walk iterative; entries are sorted so the walk (and where
        // it stops when truncated) is deterministic.
        let mut stack = vec![String::new()];
        'walk: while let Some(rel) = stack.pop() {
            let dir = if rel.is_empty() {
                root.clone()
            } else {
                root.join(&rel)
            };
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                // The root must be readable; an unreadable subdirectory is skipped.
                Err(e) if rel.is_empty() => return Err(e),
                Err(_) => continue,
            };
            let mut names: Vec<(String, fs::FileType)> = entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    let ty = e.file_type().ok()?;
                    Some((name, ty))
                })
                .collect();
            names.sort_by(|a, b| a.0.cmp(&b.0));
            let mut subdirs = Vec::new();
            for (name, ty) in names {
                let path = if rel.is_empty() {
                    name.clone()
                } else {
                    format!("{rel}/{name}")
                };
                if ty.is_dir() {
                    if !is_skipped_dir(&name) {
                        subdirs.push(path);
                    }
                } else if ty.is_file() {
                    if files.len() >= MAX_FILES {
                        truncated = true;
                        break 'walk;
                    }
                    files.push(path);
                }
            }
            // Reverse so the stack pops them in sorted order.
            stack.extend(subdirs.into_iter().rev());
        }
        files.sort();
        Ok(Self {
            root,
            files,
            truncated,
        })
    }

    /// The directory this source reads.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// True when the walk stopped at [`MAX_FILES`] and the listing is incomplete.
    pub fn truncated(&self) -> bool {
        self.truncated
    }
}

impl FileSource for DirSource {
    fn list(&self) -> Vec<String> {
        self.files.clone()
    }

    fn read(&self, path: &str) -> Option<String> {
        // Only plain relative paths: never read outside the root.
        let rel = Path::new(path);
        if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
            return None;
        }
        let full = self.root.join(rel);
        let meta = fs::symlink_metadata(&full).ok()?;
        if !meta.is_file() || meta.len() > MAX_READ_BYTES {
            return None;
        }
        fs::read_to_string(full).ok()
    }
}

/// A [`FileSource`] held in memory: the fixture of the scanner's tests, and a way for callers to
/// scan a tree they already have (for example a git tree).
#[derive(Debug, Clone, Default)]
pub struct MemorySource {
    files: BTreeMap<String, String>,
}

impl MemorySource {
    /// An empty repository.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a file.
    #[must_use]
    pub fn with(mut self, path: &str, text: &str) -> Self {
        self.insert(path, text);
        self
    }

    /// Adds (or replaces) a file.
    pub fn insert(&mut self, path: &str, text: &str) {
        self.files.insert(path.to_owned(), text.to_owned());
    }
}

impl<P: AsRef<str>, T: AsRef<str>> FromIterator<(P, T)> for MemorySource {
    fn from_iter<I: IntoIterator<Item = (P, T)>>(iter: I) -> Self {
        let files = iter
            .into_iter()
            .map(|(p, t)| (p.as_ref().to_owned(), t.as_ref().to_owned()))
            .collect();
        Self { files }
    }
}

impl FileSource for MemorySource {
    fn list(&self) -> Vec<String> {
        self.files.keys().cloned().collect()
    }

    fn read(&self, path: &str) -> Option<String> {
        let text = self.files.get(path)?;
        (text.len() as u64 <= MAX_READ_BYTES).then(|| text.clone())
    }
}

/// A repository's listing in normal form, with existence queries, over a [`FileSource`].
///
/// Paths are repository-relative, `/`-separated, sorted and unique; anything under a skipped
/// directory is left out even when the source listed it, so every source behaves the same.
pub struct RepoFiles<'a> {
    source: &'a dyn FileSource,
    files: Vec<String>,
}

impl<'a> RepoFiles<'a> {
    /// Lists `source` once and normalizes the result.
    pub fn new(source: &'a dyn FileSource) -> Self {
        let mut files: Vec<String> = source
            .list()
            .into_iter()
            .filter_map(|p| normalize(&p))
            .filter(|p| {
                let mut parts: Vec<&str> = p.split('/').collect();
                parts.pop();
                !parts.iter().any(|d| is_skipped_dir(d))
            })
            .collect();
        files.sort();
        files.dedup();
        Self { source, files }
    }

    /// Every file, sorted.
    pub fn paths(&self) -> &[String] {
        &self.files
    }

    /// The text of a file.
    pub fn read(&self, path: &str) -> Option<String> {
        self.source.read(path)
    }

    /// True when `path` is a listed file.
    pub fn is_file(&self, path: &str) -> bool {
        self.files
            .binary_search_by(|p| p.as_str().cmp(path))
            .is_ok()
    }

    /// True when some listed file lies under directory `dir` (`""` is the root).
    pub fn is_dir(&self, dir: &str) -> bool {
        if dir.is_empty() {
            return !self.files.is_empty();
        }
        let prefix = format!("{dir}/");
        let start = self.files.partition_point(|p| p.as_str() < prefix.as_str());
        self.files
            .get(start)
            .is_some_and(|p| p.starts_with(&prefix))
    }

    /// True when `path` is a listed file or a directory holding one.
    pub fn exists(&self, path: &str) -> bool {
        self.is_file(path) || self.is_dir(path)
    }
}

/// Normal form of a listed path: `/` separators, no `.` segments, no leading `/`; `None` for a
/// path that escapes the root or is empty.
fn normalize(raw: &str) -> Option<String> {
    let replaced = raw.replace('\\', "/");
    let mut parts = Vec::new();
    for part in replaced.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        None
    } else {
        Some(parts.join("/"))
    }
}

/// The directory part of a repository path (`""` for a file at the root).
pub(crate) fn parent(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

/// The last segment of a repository path.
pub(crate) fn file_name(path: &str) -> &str {
    path.rfind('/').map_or(path, |i| &path[i + 1..])
}

/// `dir` joined with `rel` (both repository-relative), with `.` and `..` resolved; `None` when
/// the result would leave the repository.
pub(crate) fn join(dir: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_files_normalizes_and_skips() {
        let src = MemorySource::new()
            .with("./b/Dockerfile", "")
            .with("a\\x.txt", "")
            .with("node_modules/p/Dockerfile", "")
            .with(".github/workflows/ci.yml", "")
            .with(".dockerignore", "")
            .with("../escape", "");
        let files = RepoFiles::new(&src);
        assert_eq!(files.paths(), [".dockerignore", "a/x.txt", "b/Dockerfile"]);
        assert!(files.is_dir("b"));
        assert!(!files.is_dir("c"));
        assert!(files.exists("a/x.txt"));
    }

    #[test]
    fn join_resolves_dots() {
        assert_eq!(join("a/b", "../c").as_deref(), Some("a/c"));
        assert_eq!(join("", "./x/").as_deref(), Some("x"));
        assert_eq!(join("a", "../.."), None);
    }
}
