//! Writing to the `GitOps` repository, one atomic commit per change.
//!
//! This crate owns Shiplane's writes to the `GitOps` repository: a local bare mirror of one
//! branch ([`GitopsRepo::open`]), reads at the fetched head ([`GitopsRepo::read_file`],
//! [`GitopsRepo::list_dir`], [`GitopsRepo::history`]), and the write transaction
//! [`GitopsRepo::apply`]: the caller's closure computes a [`ChangeSet`] from a [`TreeView`],
//! an unchanged tree makes no commit, a changed one becomes exactly one commit pushed without
//! force, and a moved branch makes the closure run again on the new head.
//!
//! It must not know what the files mean — releases, catalogs, rendered manifests and policy
//! belong to the callers (the lane domain), which express conflicts as errors from their
//! closure. Credentials never reach git's argv, a URL git sees, a cache path, or an error.
//!
//! Everything here is blocking (it spawns `git` and waits); async callers run it on a
//! blocking thread. Retries sleep on the calling thread. Every git that talks to the remote
//! runs under a watchdog with the limits of `SHIPLANE_NETWORK_TIMEOUT` ([`NetworkTimeouts`]),
//! so no fetch or push waits forever on a remote that stopped answering.

mod change;
mod error;
mod git;
mod message;
mod remote;
mod repo;
mod retry;

pub use change::ChangeSet;
pub use error::{GitopsError, Source};
pub use git::{TOKEN_ENV, USERNAME_ENV};
pub use message::{AUTHOR_EMAIL_ENV, AUTHOR_NAME_ENV, CommitMessage, Identity};
pub use remote::redact_url_userinfo;
pub use repo::{CommitInfo, DirEntry, EntryKind, GitopsRepo, Outcome, TreeView};
pub use retry::RetryPolicy;
/// The network limits every fetch and push runs under (see [`GitopsRepo::open_with_timeouts`]).
pub use shiplane_http::{NETWORK_TIMEOUT_ENV, NetworkTimeouts};
