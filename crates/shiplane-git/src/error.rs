//! Errors of the git adapter. Each names the repository path and the revision or object, and
//! says what to do next where there is something to do.

use std::path::PathBuf;

/// The underlying library's error, boxed so that gix types stay out of this crate's API.
pub type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a git read (or `--deepen`) failed.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// No repository at or above the path.
    #[error("no git repository found at or above {path}: {source}")]
    Open {
        /// The path searched from.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: Source,
    },
    /// The revision does not name an object in the repository.
    #[error("revision `{rev}` not found in {repo}: {source}")]
    RevisionNotFound {
        /// The revision as given.
        rev: String,
        /// The repository.
        repo: PathBuf,
        /// The underlying error.
        #[source]
        source: Source,
    },
    /// The history needed is cut off by a shallow clone. Terminal until the clone is deepened.
    #[error(
        "{what} in {repo}: it is a shallow clone and the history needed is not there. \
         Fetch more history (`git fetch --deepen=50`, or `shiplane plan --deepen 50`), or clone \
         with `fetch-depth: 0` in CI"
    )]
    Shallow {
        /// What could not be done (for example "revision `HEAD~1` is not available").
        what: String,
        /// The repository.
        repo: PathBuf,
    },
    /// The revision names something that does not peel to a commit (a blob, say).
    #[error("revision `{rev}` in {repo} is not a commit: {source}")]
    NotACommit {
        /// The revision as given.
        rev: String,
        /// The repository.
        repo: PathBuf,
        /// The underlying error.
        #[source]
        source: Source,
    },
    /// An object could not be read or decoded.
    #[error("cannot read {what} {id} in {repo}: {source}")]
    Object {
        /// What kind of object was being read (`tree`, `commit`).
        what: &'static str,
        /// Its id.
        id: String,
        /// The repository.
        repo: PathBuf,
        /// The underlying error.
        #[source]
        source: Source,
    },
    /// Comparing two commits' trees failed (a tree object is missing or corrupt).
    #[error("cannot compare the trees of {base} and {head} in {repo}: {source}")]
    Diff {
        /// Base commit.
        base: String,
        /// Head commit.
        head: String,
        /// The repository.
        repo: PathBuf,
        /// The underlying error.
        #[source]
        source: Source,
    },
    /// Walking history for a merge base failed.
    #[error("cannot compute the merge base of {a} and {b} in {repo}: {source}")]
    MergeBase {
        /// First commit.
        a: String,
        /// Second commit.
        b: String,
        /// The repository.
        repo: PathBuf,
        /// The underlying error.
        #[source]
        source: Source,
    },
    /// `git` could not be started for `--deepen`.
    #[error("cannot run `git` to deepen {repo}: {source}; is git installed and on PATH?")]
    Spawn {
        /// The repository.
        repo: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// `git fetch --deepen` failed (network, authentication, no remote). Retryable.
    #[error("`git fetch --deepen={depth}` failed in {repo} ({status}): {stderr}")]
    Deepen {
        /// Requested depth.
        depth: u32,
        /// The repository.
        repo: PathBuf,
        /// Exit status.
        status: String,
        /// What git printed on stderr, trimmed.
        stderr: String,
    },
}

impl GitError {
    /// True when retrying later may succeed (only a failed fetch for `--deepen`).
    pub fn is_retryable(&self) -> bool {
        matches!(self, GitError::Deepen { .. })
    }
}
