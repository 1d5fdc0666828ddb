//! The `GitOps` repository: a local bare mirror of one branch of one remote, read in process
//! with gix, written as one commit per change and pushed without ever forcing.
//!
//! Owns the write transaction (see [`GitopsRepo::apply`]): compute the change on the fetched
//! head, build the new tree in the mirror's object database, commit only if the tree differs,
//! push `<commit>:refs/heads/<branch>`, and on a moved branch fetch and recompute. It does not
//! know what the files mean (releases, catalogs, manifests): that is the caller's closure.
//!
//! # Why gix for objects and the CLI for transport
//!
//! Trees and commits are built in process with gix (`write_blob`, `edit_tree`, `write_object`):
//! no temporary index, no work tree, nothing on disk but content-addressed objects, so a crash
//! at any point leaves at worst unreferenced objects in the mirror. gix cannot push, so fetch
//! and push use the `git` CLI (see [`crate::git`] for the environment it gets). A push of one
//! commit to one ref is atomic on the server: the remote either gets the whole commit or
//! nothing, and re-running converges because the change is recomputed on whatever head exists.
//!
//! # Concurrency
//!
//! A [`GitopsRepo`] holds no open repository handle (gix's handles are not `Send` in this
//! build), so it is `Send` and `Sync`. Several processes may share one cache directory: fetches
//! land in uniquely named temporary refs, objects are content-addressed, and each instance
//! keeps the head it fetched in memory rather than trusting the mirror's shared ref.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use shiplane_http::NetworkTimeouts;

use crate::GitopsError;
use crate::change::{ChangeSet, clean_path};
use crate::error::Source;
use crate::git::{GitRunner, PushStatus, install_askpass, parse_push};
use crate::message::{CommitMessage, Identity};
use crate::remote::Remote;
use crate::retry::{Jitter, RetryPolicy};

/// What [`GitopsRepo::apply`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A commit was pushed.
    Committed {
        /// The new commit's full hex id, now the branch's head on the remote.
        commit: String,
        /// How many attempts it took (1 when nobody else pushed in between).
        attempts: u32,
    },
    /// The change left the tree as it was: nothing was committed or pushed.
    NoChange,
}

/// The kind of an entry in a directory listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// An executable file.
    Executable,
    /// A symbolic link.
    Symlink,
    /// A directory.
    Dir,
    /// A submodule (gitlink).
    Submodule,
}

/// One entry of [`TreeView::list_dir`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DirEntry {
    /// The entry's name within its directory (no `/`).
    pub name: String,
    /// What it is.
    pub kind: EntryKind,
}

/// One commit of [`GitopsRepo::history`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    /// The full hex commit id.
    pub id: String,
    /// The first line of the message.
    pub subject: String,
    /// The message's trailers, in order (`Shiplane-Lane: prod` → `("Shiplane-Lane", "prod")`).
    pub trailers: Vec<(String, String)>,
    /// Committer time, seconds since the Unix epoch.
    pub time: i64,
}

impl CommitInfo {
    /// The value of the first trailer named `key` (ASCII case-insensitive, as git compares).
    pub fn trailer(&self, key: &str) -> Option<&str> {
        self.trailers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// Read access to the tree of one commit (or to the empty tree of a branch that does not
/// exist yet). Given to the closure of [`GitopsRepo::apply`].
pub struct TreeView<'r> {
    repo: &'r gix::Repository,
    head: Option<gix::ObjectId>,
    tree: Option<gix::ObjectId>,
}

impl TreeView<'_> {
    /// The commit this view shows, or `None` when the branch does not exist yet.
    pub fn head(&self) -> Option<String> {
        self.head.map(|id| id.to_string())
    }

    /// The content of the file at `path`, or `None` if nothing is there.
    ///
    /// A directory at `path` is an [`GitopsError::InvalidPath`], not `None`, so that a
    /// misspelt path and a wrong assumption about the layout read differently.
    pub fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>, GitopsError> {
        let clean = clean_path(path)?;
        let Some(entry) = self.lookup(clean)? else {
            return Ok(None);
        };
        if entry.mode().is_tree() {
            return Err(GitopsError::InvalidPath {
                path: path.to_owned(),
                reason: "it is a directory, not a file".to_owned(),
            });
        }
        let object = entry
            .object()
            .map_err(|e| object_error(format!("read blob at `{clean}`"), e))?;
        Ok(Some(object.detach().data))
    }

    /// The entries directly inside the directory `prefix` (`""` for the root), in git's
    /// order; empty if the directory does not exist.
    pub fn list_dir(&self, prefix: &str) -> Result<Vec<DirEntry>, GitopsError> {
        let whole = prefix.is_empty() || prefix == "/";
        let clean = if whole { "" } else { clean_path(prefix)? };
        let Some(root) = self.tree else {
            return Ok(Vec::new());
        };
        let tree_id = if whole {
            root
        } else {
            match self.lookup(clean)? {
                None => return Ok(Vec::new()),
                Some(entry) if entry.mode().is_tree() => entry.object_id(),
                Some(_) => {
                    return Err(GitopsError::InvalidPath {
                        path: prefix.to_owned(),
                        reason: "it is a file, not a directory".to_owned(),
                    });
                }
            }
        };
        let tree = self
            .repo
            .find_tree(tree_id)
            .map_err(|e| object_error(format!("read tree {tree_id}"), e))?;
        let mut out = Vec::new();
        for entry in tree.iter() {
            let entry = entry.map_err(|e| object_error(format!("decode tree {tree_id}"), e))?;
            let kind = match entry.mode().kind() {
                gix::object::tree::EntryKind::Tree => EntryKind::Dir,
                gix::object::tree::EntryKind::Blob => EntryKind::File,
                gix::object::tree::EntryKind::BlobExecutable => EntryKind::Executable,
                gix::object::tree::EntryKind::Link => EntryKind::Symlink,
                gix::object::tree::EntryKind::Commit => EntryKind::Submodule,
            };
            out.push(DirEntry {
                name: String::from_utf8_lossy(entry.filename()).into_owned(),
                kind,
            });
        }
        Ok(out)
    }

    fn lookup(&self, clean: &str) -> Result<Option<gix::object::tree::Entry<'_>>, GitopsError> {
        let Some(tree_id) = self.tree else {
            return Ok(None);
        };
        let tree = self
            .repo
            .find_tree(tree_id)
            .map_err(|e| object_error(format!("read tree {tree_id}"), e))?;
        tree.lookup_entry(clean.split('/'))
            .map_err(|e| object_error(format!("look up `{clean}` in tree {tree_id}"), e))
    }
}

/// The `GitOps` repository: one branch of one remote, mirrored under a cache directory.
#[derive(Debug)]
pub struct GitopsRepo {
    remote: Remote,
    branch: String,
    mirror: PathBuf,
    askpass: PathBuf,
    head: Option<gix::ObjectId>,
    identity: Identity,
    retry: RetryPolicy,
    timeouts: NetworkTimeouts,
}

/// Disambiguates temporary fetch refs of threads in one process.
static FETCH_COUNTER: AtomicU64 = AtomicU64::new(0);

impl GitopsRepo {
    /// Opens (creating if needed) the local mirror of `remote` under `cache_dir` and fetches
    /// `branch`.
    ///
    /// `remote` is a local path, `file://`, `git://`, `https://` (token from
    /// `SHIPLANE_GIT_TOKEN` or the address's userinfo, which is stripped before git sees the
    /// address) or `ssh://` / `user@host:path`. The mirror's directory is named by a hash of
    /// the credential-free address. A remote without the branch (an empty repository) is
    /// fine: [`GitopsRepo::head`] is `None` and the first commit creates the branch.
    ///
    /// The author comes from [`Identity::from_env`] and the retry budget is
    /// [`RetryPolicy::default`]; both can be replaced with the `with_` methods. The network
    /// limits come from `SHIPLANE_NETWORK_TIMEOUT` ([`NetworkTimeouts::from_env`]); an invalid
    /// value is a terminal [`GitopsError::InvalidTimeout`].
    pub fn open(remote: &str, branch: &str, cache_dir: &Path) -> Result<GitopsRepo, GitopsError> {
        GitopsRepo::open_with_timeouts(remote, branch, cache_dir, NetworkTimeouts::from_env()?)
    }

    /// [`GitopsRepo::open`] with explicit network limits for every fetch and push, this
    /// opening fetch included. A remote that makes no progress for `timeouts.inactivity` is a
    /// [`GitopsError::TimedOut`].
    pub fn open_with_timeouts(
        remote: &str,
        branch: &str,
        cache_dir: &Path,
        timeouts: NetworkTimeouts,
    ) -> Result<GitopsRepo, GitopsError> {
        let remote = Remote::parse(remote)?;
        validate_branch(branch)?;
        std::fs::create_dir_all(cache_dir).map_err(|source| GitopsError::Cache {
            path: cache_dir.to_path_buf(),
            source,
        })?;
        let askpass = install_askpass(cache_dir)?;
        let mirror = cache_dir.join(format!("{}.git", remote.cache_key()));
        let mut repo = GitopsRepo {
            remote,
            branch: branch.to_owned(),
            mirror,
            askpass,
            head: None,
            identity: Identity::from_env(),
            retry: RetryPolicy::default(),
            timeouts,
        };
        repo.init_mirror()?;
        repo.fetch()?;
        Ok(repo)
    }

    /// Replaces the author and committer of new commits.
    pub fn with_identity(mut self, identity: Identity) -> Result<GitopsRepo, GitopsError> {
        identity.validate()?;
        self.identity = identity;
        Ok(self)
    }

    /// Replaces the retry budget of [`GitopsRepo::apply`].
    #[must_use]
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> GitopsRepo {
        self.retry = retry;
        self
    }

    /// The remote's address as safe to show (no credentials).
    pub fn remote(&self) -> &str {
        self.remote.display()
    }

    /// The branch written to.
    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// The local bare mirror.
    pub fn mirror_path(&self) -> &Path {
        &self.mirror
    }

    /// The branch's head as last fetched (or pushed by this instance); `None` when the
    /// branch does not exist on the remote.
    pub fn head(&self) -> Option<String> {
        self.head.map(|id| id.to_string())
    }

    /// Fetches the branch and returns its head (`None` if the remote has no such branch).
    ///
    /// Network failures are [`GitopsError::Unreachable`] and a remote that stops answering is
    /// [`GitopsError::TimedOut`] (both retryable); a missing repository or refused
    /// credentials are terminal.
    pub fn fetch(&mut self) -> Result<Option<String>, GitopsError> {
        let runner = self.runner();
        let n = FETCH_COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let tmp_ref = format!("refs/shiplane/fetch/{}-{n}-{nanos}", std::process::id());
        let tracking = self.tracking_ref();
        let mut cmd = runner.command();
        cmd.args([
            "fetch",
            // Progress on stderr is what tells the watchdog a long transfer is alive.
            "--progress",
            "--no-tags",
            "--no-write-fetch-head",
            "--no-recurse-submodules",
            "--",
            &self.remote.url,
            &format!("refs/heads/{}:{tmp_ref}", self.branch),
        ]);
        let out = runner.network(cmd, "fetch")?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            if stderr.contains("couldn't find remote ref") {
                // The remote answered and has no such branch: an empty `GitOps` repository.
                // Best effort, like all ref bookkeeping in the mirror (see below).
                let _ = runner.local(&["update-ref", "-d", &tracking], None);
                self.head = None;
                return Ok(None);
            }
            return Err(runner.network_error(&out.stderr));
        }
        let oid_text = runner.local(
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{tmp_ref}^{{commit}}"),
            ],
            None,
        )?;
        let oid_text = String::from_utf8_lossy(&oid_text).trim().to_owned();
        let oid = gix::ObjectId::from_hex(oid_text.as_bytes()).map_err(|e| GitopsError::Git {
            operation: "rev-parse".to_owned(),
            detail: format!("unexpected object id `{oid_text}`: {e}"),
        })?;
        // The tracking ref keeps fetched objects reachable (safe from gc); the temporary ref
        // goes away in the same transaction. Best effort: a process killed while holding a
        // ref lock leaves a stale `.lock` file, and the head we return is already known, so
        // a failure here must not wedge every later run. If it fails, the temporary ref
        // stays and keeps the objects reachable instead.
        let script = format!("update {tracking} {oid}\ndelete {tmp_ref}\n");
        let _ = runner.local(&["update-ref", "--stdin"], Some(script.as_bytes()));
        self.head = Some(oid);
        Ok(Some(oid.to_string()))
    }

    /// The file at `path` at the fetched head, or `None`.
    pub fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>, GitopsError> {
        let repo = self.objects()?;
        self.view(&repo)?.read_file(path)
    }

    /// Calls `read` with a [`TreeView`] of the fetched head: many reads through one handle on
    /// the mirror. [`GitopsRepo::read_file`] opens the mirror on every call, which for hundreds
    /// of files (one artifact index file per service) costs more than the reads themselves.
    pub fn read_head<R>(&self, read: impl FnOnce(&TreeView<'_>) -> R) -> Result<R, GitopsError> {
        let mut repo = self.objects()?;
        // Every lookup walks from the root: keep the trees on the way decoded.
        repo.object_cache_size_if_unset(8 * 1024 * 1024);
        Ok(read(&self.view(&repo)?))
    }

    /// The entries directly inside `prefix` at the fetched head (see [`TreeView::list_dir`]).
    pub fn list_dir(&self, prefix: &str) -> Result<Vec<DirEntry>, GitopsError> {
        let repo = self.objects()?;
        self.view(&repo)?.list_dir(prefix)
    }

    /// Commits reachable from the fetched head that touch `path`, newest first.
    pub fn history(&self, path: &str) -> Result<Vec<CommitInfo>, GitopsError> {
        let clean = clean_path(path)?;
        let Some(head) = self.head else {
            return Ok(Vec::new());
        };
        let out = self.runner().local(
            &[
                "log",
                "--no-color",
                "--format=%H%x1f%ct%x1f%s%x1f%(trailers:only,unfold)%x1e",
                &head.to_string(),
                "--",
                clean,
            ],
            None,
        )?;
        Ok(parse_log(&String::from_utf8_lossy(&out)))
    }

    /// Writes one change as one commit, the core transaction.
    ///
    /// 1. `change` is called with a [`TreeView`] of the fetched head and returns a
    ///    [`ChangeSet`]; an error from it is a terminal [`GitopsError::Change`] (a real
    ///    conflict, say) and nothing is pushed. A [`GitopsError`] returned through it keeps
    ///    its own kind.
    /// 2. The new tree is built in the mirror. If it equals the head's tree (or the empty tree
    ///    on an empty branch) the result is [`Outcome::NoChange`] and no commit is made.
    /// 3. A commit with `message` and the head as its only parent is pushed as
    ///    `<commit>:refs/heads/<branch>` — never forced.
    /// 4. If the branch moved (non-fast-forward) or the network failed, the branch is fetched
    ///    again and `change` is **re-run on the new head**, after a capped, jittered backoff.
    ///    Lost races are retried for as long as the [`RetryPolicy`]'s total time allows —
    ///    contention is not failure, and twenty writers racing for one branch all land —
    ///    while network failures also count against its attempts. A
    ///    [`GitopsError::TimedOut`] is returned at once: the remote has had the whole
    ///    inactivity limit to answer, and waiting again would multiply the documented bound.
    ///
    /// The head is not fetched before the first attempt: it is whatever [`GitopsRepo::open`],
    /// [`GitopsRepo::fetch`] or the last `apply` saw. A stale head costs one rejected push,
    /// never a wrong commit.
    pub fn apply<E>(
        &mut self,
        change: &dyn Fn(&TreeView<'_>) -> Result<ChangeSet, E>,
        message: &CommitMessage,
    ) -> Result<Outcome, GitopsError>
    where
        E: Into<Source>,
    {
        let text = message.render()?;
        self.identity.validate()?;
        let started = Instant::now();
        let mut jitter = Jitter::new();
        let mut attempt = 0u32;
        let mut network_failures = 0u32;
        let mut needs_fetch = false;
        let mut pushed: Option<gix::ObjectId> = None;
        loop {
            attempt += 1;
            let result = self.attempt(change, &text, needs_fetch, &mut pushed);
            let error = match result {
                Ok(Some(commit)) => {
                    return Ok(Outcome::Committed {
                        commit: commit.to_string(),
                        attempts: attempt,
                    });
                }
                Ok(None) => return Ok(Outcome::NoChange),
                Err(e @ GitopsError::TimedOut { .. }) => return Err(e),
                Err(e) if e.is_retryable() => e,
                Err(e) => return Err(e),
            };
            if !matches!(error, GitopsError::NonFastForward { .. }) {
                network_failures += 1;
            }
            needs_fetch = true;
            let delay = jitter.draw(self.retry.ceiling(attempt + 1));
            if network_failures >= self.retry.max_attempts.max(1)
                || started.elapsed() + delay > self.retry.total_timeout
            {
                return Err(GitopsError::RetriesExhausted {
                    attempts: attempt,
                    elapsed: started.elapsed(),
                    last: Box::new(error),
                });
            }
            std::thread::sleep(delay);
        }
    }

    /// One attempt: `Ok(Some(commit))` pushed, `Ok(None)` nothing to do.
    fn attempt<E>(
        &mut self,
        change: &dyn Fn(&TreeView<'_>) -> Result<ChangeSet, E>,
        message: &str,
        fetch_first: bool,
        pushed: &mut Option<gix::ObjectId>,
    ) -> Result<Option<gix::ObjectId>, GitopsError>
    where
        E: Into<Source>,
    {
        if fetch_first {
            self.fetch()?;
            // A push whose answer was lost may have landed: then we are done, and recomputing
            // would wrongly report "no change".
            if let (Some(head), Some(ours)) = (self.head, *pushed)
                && head == ours
            {
                return Ok(Some(ours));
            }
        }
        let repo = self.objects()?;
        let view = self.view(&repo)?;
        let changes = change(&view).map_err(|e| {
            let source: Source = e.into();
            match source.downcast::<GitopsError>() {
                Ok(inner) => *inner,
                Err(source) => GitopsError::Change {
                    head: self
                        .head
                        .map_or_else(|| "the empty branch".to_owned(), |h| format!("commit {h}")),
                    source,
                },
            }
        })?;
        changes.validate()?;
        let empty = gix::ObjectId::empty_tree(repo.object_hash());
        let base_tree = view.tree.unwrap_or(empty);
        let new_tree = build_tree(&repo, base_tree, &changes)?;
        if new_tree == base_tree {
            return Ok(None);
        }
        let commit = self.write_commit(&repo, new_tree, message)?;
        *pushed = Some(commit);
        self.push(commit)?;
        self.head = Some(commit);
        // Best effort: the tracking ref only protects objects from gc in the mirror; the
        // commit is on the remote already and the next fetch sets the ref anyway.
        let _ = self.runner().local(
            &["update-ref", &self.tracking_ref(), &commit.to_string()],
            None,
        );
        Ok(Some(commit))
    }

    fn write_commit(
        &self,
        repo: &gix::Repository,
        tree: gix::ObjectId,
        message: &str,
    ) -> Result<gix::ObjectId, GitopsError> {
        let seconds = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let signature = gix::actor::Signature {
            name: self.identity.name.as_str().into(),
            email: self.identity.email.as_str().into(),
            time: gix::date::Time { seconds, offset: 0 },
        };
        let commit = gix::objs::Commit {
            tree,
            parents: self.head.into_iter().collect(),
            author: signature.clone(),
            committer: signature,
            encoding: None,
            message: message.into(),
            extra_headers: Vec::new(),
        };
        repo.write_object(&commit)
            .map(gix::Id::detach)
            .map_err(|e| object_error("write the commit".to_owned(), e))
    }

    /// Pushes `commit` to the branch. Never forced: the remote accepts it only as a
    /// fast-forward (or as the branch's creation).
    fn push(&self, commit: gix::ObjectId) -> Result<(), GitopsError> {
        let runner = self.runner();
        let dst = format!("refs/heads/{}", self.branch);
        let mut cmd = runner.command();
        cmd.args([
            "push",
            "--porcelain",
            "--progress",
            "--no-verify",
            "--",
            &self.remote.url,
            &format!("{commit}:{dst}"),
        ]);
        let out = runner.network(cmd, "push")?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        match parse_push(&stdout, &dst) {
            PushStatus::Accepted => Ok(()),
            PushStatus::Moved(reason) => Err(GitopsError::NonFastForward {
                remote: self.remote.display().to_owned(),
                branch: self.branch.clone(),
                reason: self.remote.scrub(&reason),
            }),
            PushStatus::Refused(reason) => Err(GitopsError::PushRejected {
                remote: self.remote.display().to_owned(),
                branch: self.branch.clone(),
                reason: self.remote.scrub(&reason),
            }),
            PushStatus::Unknown if out.status.success() => Err(GitopsError::Git {
                operation: "push".to_owned(),
                detail: "git reported success but no status for the branch".to_owned(),
            }),
            PushStatus::Unknown => Err(runner.network_error(&out.stderr)),
        }
    }

    fn init_mirror(&self) -> Result<(), GitopsError> {
        if self.mirror.join("HEAD").is_file() {
            return Ok(());
        }
        // Initialise beside the final place and rename, so a concurrent opener or a crash
        // never sees a half-made mirror.
        let tmp = self.mirror.with_extension(format!(
            "init-{}-{}",
            std::process::id(),
            FETCH_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let runner = GitRunner {
            mirror: &tmp,
            remote: &self.remote,
            askpass: &self.askpass,
            timeouts: self.timeouts,
        };
        runner.local(&["init", "--bare", "--quiet"], None)?;
        if std::fs::rename(&tmp, &self.mirror).is_err() {
            // Someone else finished first; theirs is as good as ours.
            let _ = std::fs::remove_dir_all(&tmp);
            if !self.mirror.join("HEAD").is_file() {
                return Err(GitopsError::Cache {
                    path: self.mirror.clone(),
                    source: std::io::Error::other("the mirror could not be created"),
                });
            }
        }
        Ok(())
    }

    fn runner(&self) -> GitRunner<'_> {
        GitRunner {
            mirror: &self.mirror,
            remote: &self.remote,
            askpass: &self.askpass,
            timeouts: self.timeouts,
        }
    }

    fn tracking_ref(&self) -> String {
        format!("refs/shiplane/heads/{}", self.branch)
    }

    fn objects(&self) -> Result<gix::Repository, GitopsError> {
        gix::open_opts(&self.mirror, gix::open::Options::isolated())
            .map_err(|e| object_error(format!("open {}", self.mirror.display()), e))
    }

    fn view<'r>(&self, repo: &'r gix::Repository) -> Result<TreeView<'r>, GitopsError> {
        let tree = match self.head {
            None => None,
            Some(head) => {
                let commit = repo
                    .find_commit(head)
                    .map_err(|e| object_error(format!("read commit {head}"), e))?;
                let tree = commit
                    .tree_id()
                    .map_err(|e| object_error(format!("decode commit {head}"), e))?;
                Some(tree.detach())
            }
        };
        Ok(TreeView {
            repo,
            head: self.head,
            tree,
        })
    }
}

/// Applies `changes` to `base` in the object database and returns the new tree's id.
fn build_tree(
    repo: &gix::Repository,
    base: gix::ObjectId,
    changes: &ChangeSet,
) -> Result<gix::ObjectId, GitopsError> {
    let mut editor = repo
        .edit_tree(base)
        .map_err(|e| object_error(format!("edit tree {base}"), e))?;
    for path in changes.deletes() {
        let clean = clean_path(path)?;
        editor
            .remove(clean)
            .map_err(|e| object_error(format!("remove `{clean}`"), e))?;
    }
    for (path, bytes) in changes.writes() {
        let clean = clean_path(path)?;
        let blob = repo
            .write_blob(bytes)
            .map_err(|e| object_error(format!("write `{clean}`"), e))?;
        editor
            .upsert(clean, gix::object::tree::EntryKind::Blob, blob.detach())
            .map_err(|e| object_error(format!("place `{clean}` in the tree"), e))?;
    }
    editor
        .write()
        .map(gix::Id::detach)
        .map_err(|e| object_error("write the tree".to_owned(), e))
}

fn object_error(what: String, e: impl std::error::Error + Send + Sync + 'static) -> GitopsError {
    GitopsError::Object {
        what,
        source: Box::new(e),
    }
}

/// Branch names Shiplane writes to: a conservative subset of git's rules.
fn validate_branch(branch: &str) -> Result<(), GitopsError> {
    let fail = |reason: &str| GitopsError::InvalidBranch {
        branch: branch.to_owned(),
        reason: reason.to_owned(),
    };
    if branch.is_empty() {
        return Err(fail("the branch is empty"));
    }
    if !branch
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
    {
        return Err(fail("use letters, digits, `-`, `_`, `.` and `/` only"));
    }
    if branch.starts_with(['-', '/', '.'])
        || branch.ends_with(['/', '.'])
        || branch.contains("..")
        || branch.contains("//")
        || branch.contains("/.")
        || branch.to_ascii_lowercase().ends_with(".lock")
        || branch.starts_with("refs/")
    {
        return Err(fail(
            "not a valid branch name (no leading `-`, `/` or `.`, no `..`, no `refs/` prefix)",
        ));
    }
    Ok(())
}

/// Parses `git log --format=%H%x1f%ct%x1f%s%x1f%(trailers:only,unfold)%x1e`.
fn parse_log(text: &str) -> Vec<CommitInfo> {
    text.split('\x1e')
        .filter_map(|record| {
            let record = record.trim_start_matches('\n');
            if record.trim().is_empty() {
                return None;
            }
            let mut fields = record.splitn(4, '\x1f');
            let id = fields.next()?.trim().to_owned();
            let time = fields.next()?.trim().parse().unwrap_or(0);
            let subject = fields.next()?.to_owned();
            let trailers = fields
                .next()
                .unwrap_or_default()
                .lines()
                .filter_map(|line| {
                    let (k, v) = line.split_once(':')?;
                    Some((k.trim().to_owned(), v.trim().to_owned()))
                })
                .collect();
            Some(CommitInfo {
                id,
                subject,
                trailers,
                time,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_names() {
        for ok in ["main", "gitops/prod", "release-1.2", "a_b"] {
            assert!(validate_branch(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-x",
            "/x",
            "x/",
            "a..b",
            "a b",
            "x.lock",
            "refs/heads/x",
            "+main",
            "a:b",
            ".x",
            "a/.b",
        ] {
            assert!(validate_branch(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_log_records() {
        let text = "aaa\x1f100\x1fFirst\x1fShiplane-Lane: prod\nApproved-By: Ada\n\x1e\n\
                    bbb\x1f50\x1fSecond\x1f\x1e\n";
        let log = parse_log(text);
        assert_eq!(log.len(), 2);
        assert_eq!(log[0].id, "aaa");
        assert_eq!(log[0].time, 100);
        assert_eq!(log[0].subject, "First");
        assert_eq!(log[0].trailer("shiplane-lane"), Some("prod"));
        assert_eq!(log[0].trailers.len(), 2);
        assert!(log[1].trailers.is_empty());
    }
}
