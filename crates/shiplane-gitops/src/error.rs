//! Errors of the `GitOps` writer.
//!
//! Every variant says whether it is worth retrying ([`GitopsError::is_retryable`]): a network
//! failure, a timeout or a lost race for the branch (non-fast-forward) is; a refused credential, a remote
//! that does not exist, a push the server refuses for policy reasons, bad input or a change the
//! caller's closure refuses to compute (a real conflict) are not. Remote addresses in errors are
//! always the redacted form, and git's own output is scrubbed of credentials before it is kept.

use std::path::PathBuf;
use std::time::Duration;

/// A boxed underlying error, so that gix types stay out of this crate's API.
pub type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why reading from or writing to the `GitOps` repository failed.
#[derive(Debug, thiserror::Error)]
pub enum GitopsError {
    /// The remote address cannot be used (unknown scheme, empty, malformed). Terminal.
    #[error("invalid GitOps remote `{remote}`: {reason}")]
    InvalidRemote {
        /// The remote, with any credentials removed.
        remote: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The branch name is not a safe git branch name. Terminal.
    #[error("invalid GitOps branch `{branch}`: {reason}")]
    InvalidBranch {
        /// The branch as given.
        branch: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A path in a read or in a change set is not a clean relative path. Terminal.
    #[error("invalid path `{path}` in the GitOps repository: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The commit message cannot be rendered unambiguously. Terminal.
    #[error("invalid commit message: {reason}")]
    InvalidMessage {
        /// What is wrong with it.
        reason: String,
    },
    /// The author identity would produce a malformed commit. Terminal.
    #[error(
        "invalid commit identity: {reason} (set SHIPLANE_GIT_AUTHOR_NAME and \
         SHIPLANE_GIT_AUTHOR_EMAIL)"
    )]
    InvalidIdentity {
        /// What is wrong with it.
        reason: String,
    },
    /// The cache directory holding the local mirror could not be prepared. Terminal.
    #[error("cannot prepare the GitOps cache at {path}: {source}")]
    Cache {
        /// The path that failed.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The `git` executable could not be started. Terminal.
    #[error("cannot run `git` ({source}); install git 2.30 or newer and put it on PATH")]
    GitUnavailable {
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The remote could not be reached (DNS, refused connection, timeout, dropped
    /// connection). Retryable.
    #[error("GitOps remote {remote} is unreachable: {detail}")]
    Unreachable {
        /// The remote, redacted.
        remote: String,
        /// What git said, redacted.
        detail: String,
    },
    /// A git process talking to the remote made no progress within the inactivity limit, or
    /// ran past its total deadline, and was killed with its helpers. Retryable by a later
    /// run; [`crate::GitopsRepo::apply`] does not retry it itself, because the remote has
    /// already had the whole limit to answer and a retry would multiply the documented bound.
    #[error(
        "GitOps remote {remote} timed out: `git {operation}` {reason} and was stopped. \
         SHIPLANE_NETWORK_TIMEOUT is {}; raise it (in seconds) for a slow remote, or check that \
         the remote is up and answering",
        shiplane_http::seconds(*inactivity)
    )]
    TimedOut {
        /// The remote, redacted.
        remote: String,
        /// The git subcommand (`fetch`, `push`).
        operation: String,
        /// What ran out, for example "made no progress for 20 s".
        reason: String,
        /// The inactivity limit in force.
        inactivity: Duration,
    },
    /// `SHIPLANE_NETWORK_TIMEOUT` is not a usable number of seconds. Terminal.
    #[error(transparent)]
    InvalidTimeout(#[from] shiplane_http::InvalidTimeout),
    /// The remote refused the credentials (or none were offered). Terminal until the token or
    /// key is fixed.
    #[error(
        "GitOps remote {remote} refused authentication: {detail}. For https set \
         SHIPLANE_GIT_TOKEN; for ssh make sure the agent or key can reach the host"
    )]
    AuthRefused {
        /// The remote, redacted.
        remote: String,
        /// What git said, redacted.
        detail: String,
    },
    /// The remote answered but there is no repository at that address. Terminal.
    #[error("GitOps remote {remote} is not a git repository (or is not exported): {detail}")]
    RemoteNotFound {
        /// The remote, redacted.
        remote: String,
        /// What git said, redacted.
        detail: String,
    },
    /// The remote refused the push for a reason other than a moved branch (a server hook,
    /// branch protection, a read-only remote). Terminal.
    #[error("GitOps remote {remote} refused the push to `{branch}`: {reason}")]
    PushRejected {
        /// The remote, redacted.
        remote: String,
        /// The branch pushed to.
        branch: String,
        /// The server's reason, redacted.
        reason: String,
    },
    /// The branch moved on the remote since it was fetched (someone else pushed first).
    /// Retryable: fetch, recompute the change, push again.
    #[error("branch `{branch}` on {remote} moved while pushing ({reason})")]
    NonFastForward {
        /// The remote, redacted.
        remote: String,
        /// The branch pushed to.
        branch: String,
        /// git's summary, for example `fetch first` or `non-fast-forward`.
        reason: String,
    },
    /// A local git command on the mirror failed. Terminal.
    #[error("`git {operation}` failed on the GitOps mirror: {detail}")]
    Git {
        /// The git subcommand.
        operation: String,
        /// What git said, redacted.
        detail: String,
    },
    /// Reading or writing an object in the mirror failed. Terminal.
    #[error("cannot {what} in the GitOps mirror: {source}")]
    Object {
        /// What was being done (for example "read tree abc123").
        what: String,
        /// The underlying error.
        #[source]
        source: Source,
    },
    /// The caller's change refused to compute on this head — typically a real conflict with
    /// a human edit. Terminal: the remote is untouched.
    #[error("the change could not be computed on {head}: {source}")]
    Change {
        /// The commit the change was computed on (or "the empty branch").
        head: String,
        /// The caller's reason.
        #[source]
        source: Source,
    },
    /// Every attempt allowed by the retry policy failed with a retryable error.
    #[error("gave up after {attempts} attempt(s) in {elapsed:?}: {last}")]
    RetriesExhausted {
        /// How many attempts were made.
        attempts: u32,
        /// How long they took.
        elapsed: Duration,
        /// The last attempt's error.
        #[source]
        last: Box<GitopsError>,
    },
}

impl GitopsError {
    /// True when trying again later (after a fetch) may succeed: the network failed or timed
    /// out, or the branch moved. False for everything that needs a human: bad input, refused credentials,
    /// a missing remote, a refused push, a conflicting change.
    ///
    /// [`GitopsError::RetriesExhausted`] answers for its last error: the condition was
    /// transient, the budget just ran out.
    pub fn is_retryable(&self) -> bool {
        match self {
            GitopsError::Unreachable { .. }
            | GitopsError::TimedOut { .. }
            | GitopsError::NonFastForward { .. } => true,
            GitopsError::RetriesExhausted { last, .. } => last.is_retryable(),
            _ => false,
        }
    }
}
