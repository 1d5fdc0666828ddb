//! Listing a commit's tree: a depth-first walk, split over threads for large trees.
//!
//! This module owns turning one root tree into a [`TreeListing`]. A 100,000-file monorepo has
//! about 7,000 tree objects to inflate, which takes tens of milliseconds on one core, so the
//! walk first expands the top of the tree breadth-first until it has a few dozen subtrees, then
//! gives contiguous runs of them to threads. Each thread has its own object store handle (gix
//! handles are not shared across threads in this build) and fills its own builder; the builders
//! are appended in order, so the listing stays in path order without sorting.

use std::path::Path;

use gix::prelude::FindExt as _;
use shiplane_plan::{EntryMode, TreeListing, TreeListingBuilder};

use crate::{GitError, boxed, leaf};

/// Subtrees wanted per thread before the walk is split: enough that runs of them balance.
const SUBTREES_PER_THREAD: usize = 16;
/// Starting room of a builder: 128Ki entries and 8 MiB of paths. Allocations this large are
/// mapped lazily by the allocator, so a small tree touches (and pays for) only the pages it
/// writes, while a 100,000-file tree never reallocates and copies its arena while growing.
const START_ENTRIES: usize = 128 * 1024;
const START_PATH_BYTES: usize = 8 * 1024 * 1024;
/// Levels expanded breadth-first at most while looking for subtrees to split.
const MAX_EXPANSIONS: usize = 4;

/// One entry of a partly expanded tree, in path order.
enum Item {
    File {
        path: String,
        oid: shiplane_plan::Oid,
        mode: EntryMode,
    },
    /// A directory still to walk; `prefix` is its path with a trailing `/`.
    Tree { prefix: String, id: gix::ObjectId },
}

/// Lists the tree `root` of the repository `repo` (shown as `shown` in errors) on up to
/// `threads` threads.
pub(crate) fn list(
    repo: &gix::Repository,
    shown: &Path,
    root: gix::ObjectId,
    threads: usize,
) -> Result<TreeListing, GitError> {
    let mut walker = Walker::new(repo, shown);
    if threads <= 1 {
        let mut out = TreeListingBuilder::with_capacity(START_ENTRIES, START_PATH_BYTES);
        walker.walk(root, &mut String::with_capacity(256), 0, &mut out)?;
        return Ok(out.build());
    }

    // Expand breadth-first until there are enough subtrees to share out.
    let mut items = vec![Item::Tree {
        prefix: String::new(),
        id: root,
    }];
    for _ in 0..MAX_EXPANSIONS {
        let trees = items
            .iter()
            .filter(|i| matches!(i, Item::Tree { .. }))
            .count();
        if trees == 0 || (trees >= threads * SUBTREES_PER_THREAD && items.len() > 1) {
            break;
        }
        let mut next = Vec::with_capacity(items.len() * 4);
        for item in items {
            match item {
                Item::Tree { prefix, id } => walker.expand(&prefix, id, &mut next)?,
                file @ Item::File { .. } => next.push(file),
            }
        }
        items = next;
    }

    // Contiguous runs with about the same number of subtrees each.
    let trees = items
        .iter()
        .filter(|i| matches!(i, Item::Tree { .. }))
        .count();
    let threads = threads.min(trees.max(1));
    let per_thread = trees.div_ceil(threads).max(1);
    let mut runs: Vec<Vec<Item>> = vec![Vec::new()];
    let mut in_run = 0;
    for item in items {
        if matches!(item, Item::Tree { .. }) {
            if in_run == per_thread {
                runs.push(Vec::new());
                in_run = 0;
            }
            in_run += 1;
        }
        if let Some(run) = runs.last_mut() {
            run.push(item);
        }
    }

    let git_dir = repo.git_dir().to_owned();
    let mut runs = runs.into_iter();
    let first = runs.next().unwrap_or_default();
    let out =
        std::thread::scope(|scope| {
            let helpers: Vec<_> = runs
                .map(|run| {
                    let git_dir = &git_dir;
                    scope.spawn(move || {
                        let repo = gix::open_opts(git_dir, gix::open::Options::isolated())
                            .map_err(|e| GitError::Open {
                                path: git_dir.clone(),
                                source: boxed(e),
                            })?;
                        Walker::new(&repo, shown).walk_items(run)
                    })
                })
                .collect();
            let mut out = walker.walk_items(first)?;
            for helper in helpers {
                let part = helper
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
                out.append(part);
            }
            Ok::<_, GitError>(out)
        })?;
    Ok(out.build())
}

/// Reads trees through one repository handle, reusing one decode buffer per depth.
struct Walker<'r> {
    repo: &'r gix::Repository,
    shown: &'r Path,
    buffers: Vec<Vec<u8>>,
}

impl<'r> Walker<'r> {
    fn new(repo: &'r gix::Repository, shown: &'r Path) -> Self {
        Walker {
            repo,
            shown,
            buffers: Vec::new(),
        }
    }

    fn tree_error(
        &self,
        tree: gix::ObjectId,
        e: impl std::error::Error + Send + Sync + 'static,
    ) -> GitError {
        GitError::Object {
            what: "tree",
            id: tree.to_string(),
            repo: self.shown.to_owned(),
            source: boxed(e),
        }
    }

    /// Walks the items of one run in order: files are pushed, trees walked.
    fn walk_items(&mut self, items: Vec<Item>) -> Result<TreeListingBuilder, GitError> {
        let mut out = TreeListingBuilder::with_capacity(START_ENTRIES, START_PATH_BYTES);
        let mut prefix = String::with_capacity(256);
        for item in items {
            match item {
                Item::File { path, oid, mode } => out.push(&path, oid, mode),
                Item::Tree { prefix: p, id } => {
                    prefix.clear();
                    prefix.push_str(&p);
                    self.walk(id, &mut prefix, 0, &mut out)?;
                }
            }
        }
        Ok(out)
    }

    /// Appends the entries of tree `id` (whose path is `prefix`) to `out` as items, without
    /// descending.
    fn expand(
        &mut self,
        prefix: &str,
        id: gix::ObjectId,
        out: &mut Vec<Item>,
    ) -> Result<(), GitError> {
        let mut buf = Vec::new();
        let entries = self
            .repo
            .objects
            .find_tree_iter(&id, &mut buf)
            .map_err(|e| self.tree_error(id, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| self.tree_error(id, e))?;
            let name = String::from_utf8_lossy(entry.filename);
            match leaf(entry.mode, entry.oid.to_owned()) {
                None => out.push(Item::Tree {
                    prefix: format!("{prefix}{name}/"),
                    id: entry.oid.to_owned(),
                }),
                Some((oid, mode)) => out.push(Item::File {
                    path: format!("{prefix}{name}"),
                    oid,
                    mode,
                }),
            }
        }
        Ok(())
    }

    /// Depth-first walk of tree `id` whose path is `prefix` (empty or ending in `/`).
    fn walk(
        &mut self,
        id: gix::ObjectId,
        prefix: &mut String,
        depth: usize,
        out: &mut TreeListingBuilder,
    ) -> Result<(), GitError> {
        if self.buffers.len() <= depth {
            self.buffers.resize_with(depth + 1, Vec::new);
        }
        // The buffer is taken out for this level and put back afterwards, so deeper levels can
        // use theirs while this tree's entries are still being read.
        let mut buf = std::mem::take(&mut self.buffers[depth]);
        let result = self.walk_with(id, prefix, depth, &mut buf, out);
        self.buffers[depth] = buf;
        result
    }

    fn walk_with(
        &mut self,
        id: gix::ObjectId,
        prefix: &mut String,
        depth: usize,
        buf: &mut Vec<u8>,
        out: &mut TreeListingBuilder,
    ) -> Result<(), GitError> {
        let entries = self
            .repo
            .objects
            .find_tree_iter(&id, buf)
            .map_err(|e| self.tree_error(id, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| self.tree_error(id, e))?;
            // Git allows any bytes in names; a non-UTF-8 name is listed lossily, which keeps
            // it distinct in practice and never aborts a plan.
            let name_lossy;
            let name = if let Ok(n) = std::str::from_utf8(entry.filename) {
                n
            } else {
                name_lossy = String::from_utf8_lossy(entry.filename).into_owned();
                &name_lossy
            };
            match leaf(entry.mode, entry.oid.to_owned()) {
                None => {
                    let len = prefix.len();
                    prefix.push_str(name);
                    prefix.push('/');
                    self.walk(entry.oid.to_owned(), prefix, depth + 1, out)?;
                    prefix.truncate(len);
                }
                Some((oid, mode)) => out.push_parts(&[prefix, name], oid, mode),
            }
        }
        Ok(())
    }
}
