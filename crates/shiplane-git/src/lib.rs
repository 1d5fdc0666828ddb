//! The git adapter for reading: revisions, trees, ancestry and shallowness, in-process with
//! `gix`.
//!
//! This crate owns every git read Shiplane does while planning and must stay the only code that
//! touches a repository for that. It must not know about services, globs or fingerprints: it
//! turns a commit into a [`TreeListing`] (the planning core's input type) and answers history
//! questions. Nothing here spawns `git` except [`deepen`], the explicit `--deepen` path, because
//! in-process reads are an order of magnitude faster than a subprocess and need no `git` binary.

mod error;
mod listing;

use std::path::{Path, PathBuf};
use std::process::Command;

use gix::prelude::FindExt as _;
use shiplane_plan::{ChangedPath, EntryMode, Oid, TreeListing};

pub use error::{GitError, Source};

/// An open repository.
pub struct Repo {
    repo: gix::Repository,
    path: PathBuf,
}

impl std::fmt::Debug for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repo")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn oid(id: gix::ObjectId) -> Oid {
    // Only SHA-1 is compiled in, so every id has 20 bytes.
    Oid::from_bytes(id.as_bytes()).unwrap_or(Oid([0; 20]))
}

/// The listing's view of a tree entry: `None` for a directory.
fn leaf(mode: gix::object::tree::EntryMode, id: gix::ObjectId) -> Option<(Oid, EntryMode)> {
    let mode = match mode.kind() {
        gix::object::tree::EntryKind::Tree => return None,
        gix::object::tree::EntryKind::Blob => EntryMode::File,
        gix::object::tree::EntryKind::BlobExecutable => EntryMode::Executable,
        gix::object::tree::EntryKind::Link => EntryMode::Symlink,
        gix::object::tree::EntryKind::Commit => EntryMode::Submodule,
    };
    Some((oid(id), mode))
}

fn gix_id(id: Oid) -> gix::ObjectId {
    gix::ObjectId::from_bytes_or_panic(&id.0)
}

fn boxed(e: impl std::error::Error + Send + Sync + 'static) -> Source {
    Box::new(e)
}

impl Repo {
    /// Opens the repository containing `path` (searching upwards, like `git`).
    pub fn discover(path: &Path) -> Result<Repo, GitError> {
        let repo = gix::discover(path).map_err(|e| GitError::Open {
            path: path.to_owned(),
            source: boxed(e),
        })?;
        let shown = repo.workdir().unwrap_or_else(|| repo.git_dir()).to_owned();
        Ok(Repo { repo, path: shown })
    }

    /// The work tree (or, for a bare repository, the git directory): what messages show.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Resolves `rev` (`HEAD`, a branch, a tag, a full or short id, `HEAD~1`, `main^2`) to a
    /// commit id. In a shallow clone, a revision beyond the boundary is a [`GitError::Shallow`].
    pub fn resolve(&self, rev: &str) -> Result<Oid, GitError> {
        let id = match self.repo.rev_parse_single(rev) {
            Ok(id) => id,
            Err(e) => {
                if self.is_shallow() && looks_like_history(rev) {
                    return Err(GitError::Shallow {
                        what: format!("revision `{rev}` is not available ({e})"),
                        repo: self.path.clone(),
                    });
                }
                return Err(GitError::RevisionNotFound {
                    rev: rev.to_owned(),
                    repo: self.path.clone(),
                    source: boxed(e),
                });
            }
        };
        let object = id.object().map_err(|e| GitError::RevisionNotFound {
            rev: rev.to_owned(),
            repo: self.path.clone(),
            source: boxed(e),
        })?;
        let commit = object.peel_to_commit().map_err(|e| GitError::NotACommit {
            rev: rev.to_owned(),
            repo: self.path.clone(),
            source: boxed(e),
        })?;
        Ok(oid(commit.id))
    }

    /// True when the repository is a shallow clone (`.git/shallow` is not empty).
    pub fn is_shallow(&self) -> bool {
        self.repo.is_shallow().unwrap_or(false)
    }

    /// The commits whose parents a shallow clone lacks (empty when not shallow).
    pub fn shallow_commits(&self) -> Vec<Oid> {
        match self.repo.shallow_commits() {
            Ok(Some(commits)) => commits.iter().map(|id| oid(*id)).collect(),
            _ => Vec::new(),
        }
    }

    /// The parents of `commit` as recorded in it (two or more for a merge, none for a root).
    pub fn parents(&self, commit: Oid) -> Result<Vec<Oid>, GitError> {
        let c = self.commit(commit)?;
        Ok(c.parent_ids().map(|id| oid(id.detach())).collect())
    }

    /// True when some parent of `commit` is not in the repository: it is on a shallow boundary
    /// (or the object store is incomplete). A root commit has no missing parents.
    pub fn parents_missing(&self, commit: Oid) -> Result<bool, GitError> {
        if self.shallow_commits().contains(&commit) {
            return Ok(true);
        }
        Ok(self
            .parents(commit)?
            .into_iter()
            .any(|p| !self.repo.has_object(gix_id(p))))
    }

    /// Turns a gix error about object `id` (a `what`: commit, tree, blob) into the one error
    /// every read reports, naming this repository.
    fn object_error<E: std::error::Error + Send + Sync + 'static>(
        &self,
        what: &'static str,
        id: String,
    ) -> impl FnOnce(E) -> GitError + use<E> {
        let repo = self.path.clone();
        move |e| GitError::Object {
            what,
            id,
            repo,
            source: boxed(e),
        }
    }

    fn commit(&self, commit: Oid) -> Result<gix::Commit<'_>, GitError> {
        self.repo
            .find_commit(gix_id(commit))
            .map_err(self.object_error("commit", commit.to_hex()))
    }

    /// The best common ancestor of `a` and `b`, or `None` when their histories are disjoint.
    /// In a shallow clone where none is found, the boundary may hide it: [`GitError::Shallow`].
    pub fn merge_base(&self, a: Oid, b: Oid) -> Result<Option<Oid>, GitError> {
        let found = self.repo.merge_base(gix_id(a), gix_id(b));
        match found {
            Ok(Some(id)) => Ok(Some(oid(id.detach()))),
            Ok(None) if self.is_shallow() => Err(GitError::Shallow {
                what: format!("no merge base of {a} and {b} was found"),
                repo: self.path.clone(),
            }),
            Ok(None) => Ok(None),
            Err(e) if self.is_shallow() => Err(GitError::Shallow {
                what: format!("cannot walk history from {a} and {b} ({e})"),
                repo: self.path.clone(),
            }),
            Err(e) => Err(GitError::MergeBase {
                a: a.to_hex(),
                b: b.to_hex(),
                repo: self.path.clone(),
                source: boxed(e),
            }),
        }
    }

    /// True when `ancestor` is `descendant` or reachable from it through parents.
    pub fn is_ancestor(&self, ancestor: Oid, descendant: Oid) -> Result<bool, GitError> {
        if ancestor == descendant {
            return Ok(true);
        }
        Ok(self.merge_base(ancestor, descendant)? == Some(ancestor))
    }

    /// Every file of `commit`'s tree, recursively, sorted by path. Submodules are listed with
    /// their pinned commit, symlinks with the blob holding their target; directories are not
    /// listed.
    ///
    /// Speed: a depth-first walk that reuses one decode buffer per directory level and writes
    /// paths into the listing's arena; git's tree order makes the result already sorted. A
    /// large tree is split over [`std::thread::available_parallelism`] threads (at most four):
    /// inflating its thousands of tree objects is the cost.
    pub fn tree_listing(&self, commit: Oid) -> Result<TreeListing, GitError> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        self.tree_listing_on(commit, threads)
    }

    /// [`Self::tree_listing`] on exactly `threads` threads (one: no thread is started). The
    /// listing is the same for every thread count.
    pub fn tree_listing_on(&self, commit: Oid, threads: usize) -> Result<TreeListing, GitError> {
        let tree = self
            .commit(commit)?
            .tree_id()
            .map_err(self.object_error("commit", commit.to_hex()))?;
        listing::list(&self.repo, &self.path, tree.detach(), threads)
    }

    /// The files that differ between the trees of `base` and `head`, sorted by path, with their
    /// id and mode on each side: the same value as [`shiplane_plan::diff_listings`] of the two
    /// commits' listings. Directories are not listed; a directory that became a file (or the
    /// reverse) shows as its files deleted and the file added.
    ///
    /// Speed: gix's tree diff compares two trees entry by entry and descends only into
    /// subtrees whose ids differ, so a change to one library reads a handful of trees, not the
    /// 7,000 of a 100,000-file monorepo.
    pub fn diff_trees(&self, base: Oid, head: Oid) -> Result<Vec<ChangedPath>, GitError> {
        let tree_of = |commit: Oid| {
            self.commit(commit)?
                .tree_id()
                .map(gix::Id::detach)
                .map_err(self.object_error("commit", commit.to_hex()))
        };
        let (base_tree, head_tree) = (tree_of(base)?, tree_of(head)?);
        if base_tree == head_tree {
            return Ok(Vec::new());
        }
        let read_error =
            |id: gix::ObjectId| self.object_error::<gix::Error>("tree", id.to_string());
        let (mut base_buf, mut head_buf) = (Vec::new(), Vec::new());
        let base_iter = self
            .repo
            .objects
            .find_tree_iter(&base_tree, &mut base_buf)
            .map_err(read_error(base_tree))?;
        let head_iter = self
            .repo
            .objects
            .find_tree_iter(&head_tree, &mut head_buf)
            .map_err(read_error(head_tree))?;
        let mut recorder = gix::diff::tree::Recorder::default();
        gix::diff::tree(
            base_iter,
            head_iter,
            gix::diff::tree::State::default(),
            &self.repo.objects,
            &mut recorder,
        )
        .map_err(|e| GitError::Diff {
            base: base.to_hex(),
            head: head.to_hex(),
            repo: self.path.clone(),
            source: boxed(e),
        })?;
        let mut changes: Vec<ChangedPath> = recorder
            .records
            .into_iter()
            .filter_map(|change| {
                use gix::diff::tree::recorder::Change as C;
                let (path, base, head) = match change {
                    C::Addition {
                        entry_mode,
                        oid: id,
                        path,
                        ..
                    } => (path, None, leaf(entry_mode, id)),
                    C::Deletion {
                        entry_mode,
                        oid: id,
                        path,
                        ..
                    } => (path, leaf(entry_mode, id), None),
                    C::Modification {
                        previous_entry_mode,
                        previous_oid,
                        entry_mode,
                        oid: id,
                        path,
                    } => (
                        path,
                        leaf(previous_entry_mode, previous_oid),
                        leaf(entry_mode, id),
                    ),
                };
                // Directories only lead to their files; a mode spelled differently in the tree
                // object (100664) but of the same kind is no change, as in a listing.
                if (base.is_none() && head.is_none()) || base == head {
                    return None;
                }
                Some(ChangedPath {
                    path: String::from_utf8_lossy(&path).into_owned(),
                    base,
                    head,
                })
            })
            .collect();
        shiplane_plan::sort_changes(&mut changes);
        Ok(changes)
    }

    /// The contents of a blob (a file found through a [`TreeListing`]), e.g. the intent file as
    /// it was at the base commit.
    pub fn read_blob(&self, blob: Oid) -> Result<Vec<u8>, GitError> {
        let blob_obj = self
            .repo
            .find_blob(gix_id(blob))
            .map_err(self.object_error("blob", blob.to_hex()))?;
        Ok(blob_obj.detach().data)
    }

    /// The URL configured for remote `name` (`remote.<name>.url`), as written in the config.
    pub fn remote_url(&self, name: &str) -> Option<String> {
        self.repo
            .config_snapshot()
            .string(format!("remote.{name}.url").as_str())
            .map(|url| url.to_string())
    }

    /// A file as it is in `commit`'s tree, read only when it is at most `max_bytes` long: the
    /// object's header (its size) is read before the object itself, so an oversized blob is
    /// refused without inflating it. `path` is repository-relative with `/`.
    pub fn read_file_at(
        &self,
        commit: Oid,
        path: &str,
        max_bytes: u64,
    ) -> Result<FileAtCommit, GitError> {
        let tree = self
            .commit(commit)?
            .tree()
            .map_err(self.object_error("commit", commit.to_hex()))?;
        let Some(entry) = tree
            .lookup_entry_by_path(path)
            .map_err(self.object_error("tree", commit.to_hex()))?
        else {
            return Ok(FileAtCommit::Missing);
        };
        // A directory, symlink or submodule of that name is not a file to read.
        if !entry.mode().is_blob() {
            return Ok(FileAtCommit::Missing);
        }
        let blob = oid(entry.object_id());
        self.read_blob_within(blob, max_bytes)
            .map(|bounded| match bounded {
                BoundedBlob::Bytes(bytes) => FileAtCommit::Found { blob, bytes },
                BoundedBlob::TooLarge { size } => FileAtCommit::TooLarge { size },
            })
    }

    /// [`Self::read_blob`] within a size bound: the size comes from the object's header, so a
    /// blob over `max_bytes` is never inflated.
    pub fn read_blob_within(&self, blob: Oid, max_bytes: u64) -> Result<BoundedBlob, GitError> {
        let header = self
            .repo
            .find_header(gix_id(blob))
            .map_err(self.object_error("blob", blob.to_hex()))?;
        if header.size() > max_bytes {
            return Ok(BoundedBlob::TooLarge {
                size: header.size(),
            });
        }
        self.read_blob(blob).map(BoundedBlob::Bytes)
    }

    /// [`Self::tree_listing`] of several commits (head and base). Sequential for now: running
    /// them on threads needs gix's `parallel` feature (thread-safe object store handles), which
    /// this build leaves out to stay lean; this is the one place to change when it is enabled.
    pub fn tree_listings(&self, commits: &[Oid]) -> Result<Vec<TreeListing>, GitError> {
        commits.iter().map(|&c| self.tree_listing(c)).collect()
    }
}

/// What [`Repo::read_file_at`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileAtCommit {
    /// No file at that path in the commit (or something that is not a regular file).
    Missing,
    /// The file is larger than the bound; its size in bytes.
    TooLarge {
        /// The blob's size in bytes.
        size: u64,
    },
    /// The file's blob id and contents.
    Found {
        /// The blob's id.
        blob: Oid,
        /// Its contents.
        bytes: Vec<u8>,
    },
}

/// What [`Repo::read_blob_within`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoundedBlob {
    /// The blob's contents (within the bound).
    Bytes(Vec<u8>),
    /// The blob is larger than the bound; its size in bytes.
    TooLarge {
        /// The blob's size in bytes.
        size: u64,
    },
}

/// True for revisions that walk history (`~`, `^`) or name a full id, whose absence in a
/// shallow clone is the shallow boundary's fault rather than a typo.
fn looks_like_history(rev: &str) -> bool {
    rev.contains(['~', '^']) || (rev.len() == 40 && rev.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Fetches `depth` more commits of history into the repository at `repo_dir` with
/// `git fetch --deepen=<depth>`, never prompting for credentials (`GIT_TERMINAL_PROMPT=0`).
///
/// This is the only place Shiplane spawns `git` for reading: it is the explicit `--deepen`
/// path, and it needs the network and the remote's credentials, which belong to git's config.
pub fn deepen(repo_dir: &Path, depth: u32) -> Result<(), GitError> {
    let output = Command::new("git")
        .arg("-C")
        .arg(repo_dir)
        .args([
            "fetch",
            "--quiet",
            "--no-tags",
            &format!("--deepen={depth}"),
        ])
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(|source| GitError::Spawn {
            repo: repo_dir.to_owned(),
            source,
        })?;
    if output.status.success() {
        return Ok(());
    }
    Err(GitError::Deepen {
        depth,
        repo: repo_dir.to_owned(),
        status: output.status.to_string(),
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    })
}
