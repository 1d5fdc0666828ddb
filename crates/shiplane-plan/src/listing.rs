//! The tree listing: every file of one commit as `(path, object id, mode)`, sorted by path.
//!
//! This module owns the in-memory shape that planning consumes. It must not know where a listing
//! comes from: the git adapter (`shiplane-git`) builds one from a commit, tests build one by
//! hand. Paths are stored in one shared string arena rather than one `String` per file, because
//! a monorepo listing has 100,000 entries and the plan must answer in tens of milliseconds.

use std::fmt;
use std::ops::Range;

/// A git object id (SHA-1, 20 bytes). For a submodule entry it is the commit the tree points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Oid(pub [u8; 20]);

impl Oid {
    /// Parses 40 hex digits.
    pub fn from_hex(hex: &str) -> Option<Oid> {
        let mut bytes = [0u8; 20];
        hex::decode_to_slice(hex, &mut bytes).ok()?;
        Some(Oid(bytes))
    }

    /// Takes exactly 20 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Oid> {
        <[u8; 20]>::try_from(bytes).ok().map(Oid)
    }

    /// The 40-digit lowercase hex form.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// What a tree entry is. Directories never appear: a listing holds leaves only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntryMode {
    /// A regular file (`100644`).
    File,
    /// An executable file (`100755`).
    Executable,
    /// A symbolic link (`120000`); its object id is the blob holding the link target.
    Symlink,
    /// A submodule (`160000`); its object id is the pinned commit.
    Submodule,
}

impl EntryMode {
    /// The git mode as six ASCII octal digits, as written in tree objects and `git ls-tree`.
    pub fn as_octal(self) -> &'static str {
        match self {
            EntryMode::File => "100644",
            EntryMode::Executable => "100755",
            EntryMode::Symlink => "120000",
            EntryMode::Submodule => "160000",
        }
    }
}

/// One file of a listing, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Repository-relative path with `/` separators, no leading `/`.
    pub path: &'a str,
    /// Blob id (or commit id for a submodule).
    pub oid: Oid,
    /// File kind.
    pub mode: EntryMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RawEntry {
    start: u32,
    len: u32,
    oid: Oid,
    mode: EntryMode,
}

/// All files of a commit, sorted bytewise by path, each path once. Two listings are equal when
/// they hold the same entries, however their paths are laid out in memory.
#[derive(Debug, Clone, Default)]
pub struct TreeListing {
    arena: String,
    entries: Vec<RawEntry>,
}

/// Accumulates entries in any order; [`TreeListingBuilder::build`] sorts them.
#[derive(Debug, Clone, Default)]
pub struct TreeListingBuilder {
    arena: String,
    entries: Vec<RawEntry>,
}

impl TreeListingBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty builder with room for `entries` files whose paths total `path_bytes`.
    pub fn with_capacity(entries: usize, path_bytes: usize) -> Self {
        TreeListingBuilder {
            arena: String::with_capacity(path_bytes),
            entries: Vec::with_capacity(entries),
        }
    }

    /// Adds a file. If the same path is pushed twice, the later push wins.
    pub fn push(&mut self, path: &str, oid: Oid, mode: EntryMode) {
        self.push_parts(&[path], oid, mode);
    }

    /// Adds a file whose path is the concatenation of `parts` (for example a directory prefix
    /// ending in `/` and a file name), without building an intermediate `String`.
    pub fn push_parts(&mut self, parts: &[&str], oid: Oid, mode: EntryMode) {
        let start = self.arena.len();
        for part in parts {
            self.arena.push_str(part);
        }
        let len = self.arena.len() - start;
        self.entries.push(RawEntry {
            start: to_u32(start),
            len: to_u32(len),
            oid,
            mode,
        });
    }

    /// Appends all of `other`'s entries after this builder's (for listings built in parts, for
    /// example by several threads walking consecutive subtrees).
    pub fn append(&mut self, other: TreeListingBuilder) {
        let offset = self.arena.len();
        self.arena.push_str(&other.arena);
        self.entries
            .extend(other.entries.into_iter().map(|e| RawEntry {
                start: to_u32(e.start as usize + offset),
                ..e
            }));
    }

    /// Sorts by path (skipped when already sorted, as a depth-first walk of a git tree is) and
    /// drops earlier duplicates.
    pub fn build(self) -> TreeListing {
        let TreeListingBuilder { arena, mut entries } = self;
        let path = |e: &RawEntry| &arena.as_bytes()[e.start as usize..(e.start + e.len) as usize];
        if !entries.is_sorted_by(|a, b| path(a) < path(b)) {
            // Stable, so among equal paths the later push stays last; keep that one.
            entries.sort_by(|a, b| path(a).cmp(path(b)));
            let mut kept: Vec<RawEntry> = Vec::with_capacity(entries.len());
            for e in entries {
                match kept.last_mut() {
                    Some(last) if path(last) == path(&e) => *last = e,
                    _ => kept.push(e),
                }
            }
            entries = kept;
        }
        TreeListing { arena, entries }
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).expect("tree listing paths exceed 4 GiB")
}

impl TreeListing {
    /// Number of files.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the tree has no files.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Total bytes of all paths (to size a copy).
    pub(crate) fn path_bytes(&self) -> usize {
        self.arena.len()
    }

    /// The path of entry `index`.
    ///
    /// # Panics
    /// When `index >= len()`.
    pub fn path(&self, index: usize) -> &str {
        let e = &self.entries[index];
        &self.arena[e.start as usize..(e.start + e.len) as usize]
    }

    /// Entry `index`.
    ///
    /// # Panics
    /// When `index >= len()`.
    pub fn get(&self, index: usize) -> Entry<'_> {
        let e = &self.entries[index];
        Entry {
            path: self.path(index),
            oid: e.oid,
            mode: e.mode,
        }
    }

    /// Entries in path order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Entry<'_>> + '_ {
        (0..self.entries.len()).map(|i| self.get(i))
    }

    /// The index of `path`, if the listing has it.
    pub fn find(&self, path: &str) -> Option<usize> {
        self.entries
            .binary_search_by(|e| {
                self.arena.as_bytes()[e.start as usize..(e.start + e.len) as usize]
                    .cmp(path.as_bytes())
            })
            .ok()
    }

    /// The contiguous index range of paths starting with `prefix` (all of them for `""`).
    /// Sorting bytewise makes every prefix a contiguous run, which is what lets the matcher
    /// skip most of a 100,000-file tree for a pattern like `packages/api/**`.
    pub fn prefix_range(&self, prefix: &str) -> Range<usize> {
        if prefix.is_empty() {
            return 0..self.entries.len();
        }
        let p = prefix.as_bytes();
        let start = self.entries.partition_point(|e| self.raw_path(e) < p);
        let len = self.entries[start..].partition_point(|e| self.raw_path(e).starts_with(p));
        start..start + len
    }

    fn raw_path(&self, e: &RawEntry) -> &[u8] {
        &self.arena.as_bytes()[e.start as usize..(e.start + e.len) as usize]
    }
}

impl PartialEq for TreeListing {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for TreeListing {}

impl<'a> FromIterator<(&'a str, Oid, EntryMode)> for TreeListing {
    fn from_iter<T: IntoIterator<Item = (&'a str, Oid, EntryMode)>>(iter: T) -> Self {
        let mut b = TreeListingBuilder::new();
        for (path, oid, mode) in iter {
            b.push(path, oid, mode);
        }
        b.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(n: u8) -> Oid {
        Oid([n; 20])
    }

    #[test]
    fn builder_sorts_and_keeps_last_duplicate() {
        let l: TreeListing = [
            ("b/x", oid(1), EntryMode::File),
            ("a", oid(2), EntryMode::File),
            ("b/x", oid(3), EntryMode::Executable),
            ("a.b", oid(4), EntryMode::Symlink),
        ]
        .into_iter()
        .collect();
        let got: Vec<_> = l.iter().map(|e| (e.path, e.oid, e.mode)).collect();
        assert_eq!(
            got,
            vec![
                ("a", oid(2), EntryMode::File),
                ("a.b", oid(4), EntryMode::Symlink),
                ("b/x", oid(3), EntryMode::Executable),
            ]
        );
    }

    #[test]
    fn prefix_ranges_are_contiguous() {
        let l: TreeListing = ["a/x", "a-b/y", "a/b/c", "ab", "b"]
            .into_iter()
            .map(|p| (p, oid(0), EntryMode::File))
            .collect();
        let paths = |r: Range<usize>| r.map(|i| l.path(i).to_owned()).collect::<Vec<_>>();
        for (prefix, expected) in [
            ("a/", vec!["a/b/c", "a/x"]),
            ("a", vec!["a-b/y", "a/b/c", "a/x", "ab"]),
            ("", vec!["a-b/y", "a/b/c", "a/x", "ab", "b"]),
            ("c/", vec![]),
        ] {
            assert_eq!(paths(l.prefix_range(prefix)), expected, "prefix {prefix:?}");
        }
        assert_eq!(l.find("ab"), Some(3));
        assert_eq!(l.find("a"), None);
    }

    #[test]
    fn oid_hex_round_trip() {
        let hex = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(Oid::from_hex(hex).map(|o| o.to_hex()).as_deref(), Some(hex));
        assert_eq!(Oid::from_hex("xyz"), None);
    }
}
