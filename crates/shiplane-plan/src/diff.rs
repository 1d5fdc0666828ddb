//! The difference between two trees: which files were added, deleted or changed, with their
//! object id and mode on each side.
//!
//! This module owns the [`ChangedPath`] value that lets a plan against a base skip listing and
//! hashing the base tree: git can diff two commits by skipping identical subtrees by object id,
//! so a one-library change costs a few tree reads instead of a 100,000-file walk. It must not
//! know git: the git adapter produces changes, [`diff_listings`] computes the same value from two
//! listings (the reference the git diff is tested against), and [`TreeListing::before`] turns
//! the head listing back into the base listing when a plan needs the whole base tree.

use std::cmp::Ordering;

use crate::explain::{Change, ChangedFile};
use crate::listing::{Entry, EntryMode, Oid, TreeListing, TreeListingBuilder};

/// One file that differs between a base and a head tree. A rename is a deletion plus an
/// addition, which is exactly how it affects fingerprints.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChangedPath {
    /// Repository path with `/` separators.
    pub path: String,
    /// Object id and mode at the base; `None` when the file is only at head.
    pub base: Option<(Oid, EntryMode)>,
    /// Object id and mode at head; `None` when the file is only at the base.
    pub head: Option<(Oid, EntryMode)>,
}

impl ChangedPath {
    /// How the file changed. A change of both content and mode counts as
    /// [`Change::Modified`], as in [`crate::changed_files`].
    pub fn change(&self) -> Change {
        match (self.base, self.head) {
            (None, _) => Change::Added,
            (_, None) => Change::Deleted,
            (Some((b, _)), Some((h, _))) if b != h => Change::Modified,
            _ => Change::ModeChanged,
        }
    }

    /// The path and the kind of change, as `--explain` shows it.
    pub fn to_changed_file(&self) -> ChangedFile {
        ChangedFile {
            path: self.path.clone(),
            change: self.change(),
        }
    }
}

/// Every file whose (object id, mode) differs between `base` and `head` or that exists on one
/// side only, in path order. Linear: both listings are sorted.
pub fn diff_listings(base: &TreeListing, head: &TreeListing) -> Vec<ChangedPath> {
    let (mut b, mut h) = (base.iter().peekable(), head.iter().peekable());
    let side = |e: &Entry<'_>| Some((e.oid, e.mode));
    let mut out = Vec::new();
    loop {
        let order = match (b.peek(), h.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(x), Some(y)) => x.path.cmp(y.path),
        };
        match order {
            Ordering::Less => out.extend(b.next().map(|e| ChangedPath {
                path: e.path.to_owned(),
                base: side(&e),
                head: None,
            })),
            Ordering::Greater => out.extend(h.next().map(|e| ChangedPath {
                path: e.path.to_owned(),
                base: None,
                head: side(&e),
            })),
            Ordering::Equal => {
                if let (Some(x), Some(y)) = (b.next(), h.next())
                    && (x.oid, x.mode) != (y.oid, y.mode)
                {
                    out.push(ChangedPath {
                        path: y.path.to_owned(),
                        base: side(&x),
                        head: side(&y),
                    });
                }
            }
        }
    }
    out
}

/// Sorts `changes` by path, as [`diff_listings`] returns them and as [`TreeListing::before`]
/// expects them.
pub fn sort_changes(changes: &mut [ChangedPath]) {
    changes.sort_unstable_by(|a, b| a.path.cmp(&b.path));
}

impl TreeListing {
    /// The listing as it was before `changes` (sorted by path, as [`diff_listings`] returns
    /// them): added files removed, deleted files restored, changed files given their base id and
    /// mode. A merge of two sorted sequences, so rebuilding a 100,000-file base costs a copy
    /// instead of a tree walk.
    #[must_use]
    pub fn before(&self, changes: &[ChangedPath]) -> TreeListing {
        let mut out = TreeListingBuilder::with_capacity(
            self.len() + changes.len(),
            self.path_bytes() + changes.iter().map(|c| c.path.len()).sum::<usize>(),
        );
        let mut c = changes.iter().peekable();
        for e in self.iter() {
            while let Some(ch) = c.next_if(|ch| ch.path.as_str() < e.path) {
                if let Some((oid, mode)) = ch.base {
                    out.push(&ch.path, oid, mode);
                }
            }
            match c.next_if(|ch| ch.path == e.path) {
                Some(ch) => {
                    if let Some((oid, mode)) = ch.base {
                        out.push(e.path, oid, mode);
                    }
                }
                None => out.push(e.path, e.oid, e.mode),
            }
        }
        for ch in c {
            if let Some((oid, mode)) = ch.base {
                out.push(&ch.path, oid, mode);
            }
        }
        out.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn listing(files: &[(&str, u8, EntryMode)]) -> TreeListing {
        files
            .iter()
            .map(|&(p, o, m)| (p, Oid([o; 20]), m))
            .collect()
    }

    #[test]
    fn diff_classifies_every_kind_of_change() {
        use EntryMode::{Executable, File, Symlink};
        let base = listing(&[
            ("a", 1, File),
            ("b", 1, File),
            ("c", 1, File),
            ("e", 1, File),
        ]);
        let head = listing(&[
            ("b", 2, File),
            ("c", 1, Executable),
            ("d", 1, File),
            ("e", 2, Symlink),
        ]);
        let got: Vec<(String, Change)> = diff_listings(&base, &head)
            .iter()
            .map(|c| (c.path.clone(), c.change()))
            .collect();
        let want = [
            ("a", Change::Deleted),
            ("b", Change::Modified),
            ("c", Change::ModeChanged),
            ("d", Change::Added),
            ("e", Change::Modified),
        ];
        assert_eq!(
            got,
            want.map(|(p, c)| (p.to_owned(), c)).to_vec(),
            "diff kinds"
        );
        assert_eq!(
            diff_listings(&base, &head)
                .iter()
                .map(ChangedPath::to_changed_file)
                .collect::<Vec<_>>(),
            crate::changed_files(&base, &head)
        );
    }

    fn arb_listing() -> impl Strategy<Value = Vec<(String, u8, u8)>> {
        proptest::collection::vec(("[ab]{1,2}(/[ab.]{1,2}){0,2}", 0..3u8, 0..2u8), 0..12)
    }

    fn build(files: &[(String, u8, u8)]) -> TreeListing {
        files
            .iter()
            .map(|(p, o, m)| {
                let mode = if *m == 0 {
                    EntryMode::File
                } else {
                    EntryMode::Executable
                };
                (p.as_str(), Oid([*o; 20]), mode)
            })
            .collect()
    }

    proptest! {
        #[test]
        fn before_inverts_the_diff(base in arb_listing(), head in arb_listing()) {
            let (base, head) = (build(&base), build(&head));
            let changes = diff_listings(&base, &head);
            prop_assert_eq!(head.before(&changes), base.clone());
            prop_assert!(changes.windows(2).all(|w| w[0].path < w[1].path));
            // Reversed, the diff is the same set of paths with the sides swapped.
            let back = diff_listings(&head, &base);
            prop_assert_eq!(back.len(), changes.len());
            for (x, y) in back.iter().zip(&changes) {
                prop_assert_eq!((&x.path, x.base, x.head), (&y.path, y.head, y.base));
            }
        }
    }
}
