//! The one error type of the registry adapter.
//!
//! This module owns the classification of failures into what a caller can act on: bad input,
//! refused credentials, missing content, corrupt content, and transient trouble worth a retry.
//! It must not know how a failure was detected (HTTP status, filesystem error): the client and
//! the layout translate their raw failures into these variants. No variant ever carries a
//! password or a token: the credential types keep those behind [`crate::Secret`], and error
//! messages are built from registry names, repositories, references and status codes only.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong talking to a registry, an oci-layout or packing an image.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// An image reference or location string could not be parsed.
    #[error("invalid image reference `{input}`: {reason}")]
    InvalidReference {
        /// The text as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The registry answered 401: no credentials, or the ones given were refused.
    #[error(
        "registry {registry} answered 401 Unauthorized for repository `{repository}` ({detail}); \
         check the credentials (docker config.json or SHIPLANE_REGISTRY_USERNAME/PASSWORD)"
    )]
    Unauthorized {
        /// The registry host.
        registry: String,
        /// The repository the request was for.
        repository: String,
        /// Whether credentials were sent, and for which user (never the password).
        detail: String,
    },

    /// The registry answered 403: the credentials are valid but lack the permission.
    #[error(
        "registry {registry} answered 403 Forbidden for `{operation}` on repository \
         `{repository}`: the account lacks that permission"
    )]
    Forbidden {
        /// The registry host.
        registry: String,
        /// The repository the request was for.
        repository: String,
        /// The operation that was refused (pull, push, delete).
        operation: String,
    },

    /// The manifest, blob or repository does not exist.
    #[error("{what} `{reference}` not found in repository `{repository}` of {registry} ({code})")]
    NotFound {
        /// The registry host or layout directory.
        registry: String,
        /// The repository.
        repository: String,
        /// `manifest`, `blob` or `repository`.
        what: &'static str,
        /// The tag or digest asked for.
        reference: String,
        /// The registry's error code (`MANIFEST_UNKNOWN`, `NAME_UNKNOWN`, `BLOB_UNKNOWN`…).
        code: String,
    },

    /// Content did not hash to the digest it was announced or requested with.
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        /// What was being checked (a manifest, a blob, a registry's answer).
        what: String,
        /// The digest that was expected.
        expected: String,
        /// The digest that was computed or announced instead.
        actual: String,
    },

    /// The registry answered 429. Retryable.
    #[error("registry {registry} answered 429 Too Many Requests; retry later")]
    TooManyRequests {
        /// The registry host.
        registry: String,
        /// The delay the registry asked for, when it sent `Retry-After`.
        retry_after: Option<Duration>,
    },

    /// The registry answered with a server error (5xx). Retryable except for 501 and 505.
    #[error("registry {registry} answered {status} for {operation}: {detail}")]
    ServerError {
        /// The registry host.
        registry: String,
        /// The HTTP status code.
        status: u16,
        /// What was being done.
        operation: String,
        /// The registry's error message, when it sent one.
        detail: String,
    },

    /// The registry could not be reached or the connection broke. Retryable.
    #[error("cannot reach registry {registry}: {detail}")]
    Connection {
        /// The registry host.
        registry: String,
        /// What the transport said.
        detail: String,
    },

    /// A request found no connection, received nothing for the inactivity limit, or ran past
    /// its deadline. Retryable by a later run; the client does not retry it itself, because
    /// the registry has already had the whole limit to answer.
    #[error(
        "registry {registry} timed out: {operation} {reason}. SHIPLANE_NETWORK_TIMEOUT is {}; \
         raise it (in seconds) for a slow registry, or check that the registry is up and answering",
        shiplane_http::seconds(*inactivity)
    )]
    TimedOut {
        /// The registry host.
        registry: String,
        /// The request (`GET /v2/app/manifests/v1`) or what was being read.
        operation: String,
        /// Which limit ran out, for example "received nothing for 20 s".
        reason: String,
        /// The inactivity limit in force.
        inactivity: Duration,
    },

    /// A request would have used plain HTTP to a non-loopback host without `insecure`.
    #[error(
        "refusing plain HTTP to {url}: only loopback registries use HTTP unless the registry is \
         marked insecure"
    )]
    InsecureRefused {
        /// The URL (without credentials) that was refused.
        url: String,
    },

    /// The registry does not allow deleting manifests.
    #[error(
        "registry {registry} does not allow deleting manifests (repository `{repository}`, \
         status {status}); enable deletion on the registry (distribution: storage.delete.enabled)"
    )]
    DeleteUnsupported {
        /// The registry host.
        registry: String,
        /// The repository.
        repository: String,
        /// The HTTP status that said so (405 or 400).
        status: u16,
    },

    /// The registry answered something the protocol does not allow at this point.
    #[error("registry {registry} answered {status} for {operation}: {detail}")]
    UnexpectedResponse {
        /// The registry host.
        registry: String,
        /// The HTTP status code.
        status: u16,
        /// What was being done.
        operation: String,
        /// The registry's error message or what was wrong with the answer.
        detail: String,
    },

    /// A manifest or index could not be parsed or has a media type Shiplane does not handle.
    #[error("invalid manifest {reference}: {detail}")]
    InvalidManifest {
        /// The manifest's reference or digest.
        reference: String,
        /// What is wrong.
        detail: String,
    },

    /// Credentials could not be read (docker config, credential helper).
    #[error("cannot read registry credentials for {registry}: {detail}")]
    Credentials {
        /// The registry host.
        registry: String,
        /// What failed (never the secret itself).
        detail: String,
    },

    /// The client could not be set up (TLS configuration, HTTP client).
    #[error("{detail}")]
    Setup {
        /// What failed.
        detail: String,
    },

    /// A file or directory could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`reading`, `writing`, `locking`…).
        action: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// An oci-layout directory is not a valid image layout.
    #[error("invalid oci-layout {path}: {detail}")]
    Layout {
        /// The layout directory.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },

    /// A directory cannot be packed into an image.
    #[error("cannot pack {path}: {detail}")]
    Pack {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

impl RegistryError {
    /// Whether trying the same operation again later may succeed.
    ///
    /// True for 429, for 5xx other than 501/505 and for connection failures (refused, reset,
    /// broken pipe) and timeouts; never for
    /// 401/403/404, digest mismatches or bad input.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::TooManyRequests { .. } | Self::Connection { .. } | Self::TimedOut { .. } => true,
            Self::ServerError { status, .. } => !matches!(status, 501 | 505),
            _ => false,
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn invalid_reference(input: &str, reason: impl Into<String>) -> Self {
        Self::InvalidReference {
            input: input.to_owned(),
            reason: reason.into(),
        }
    }
}

/// The result type of this crate.
pub type Result<T, E = RegistryError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_classification() {
        let server = |status| RegistryError::ServerError {
            registry: "r".into(),
            status,
            operation: "GET".into(),
            detail: String::new(),
        };
        assert!(server(500).is_retryable());
        assert!(server(503).is_retryable());
        assert!(!server(501).is_retryable());
        assert!(
            RegistryError::TooManyRequests {
                registry: "r".into(),
                retry_after: None
            }
            .is_retryable()
        );
        assert!(
            RegistryError::Connection {
                registry: "r".into(),
                detail: "refused".into()
            }
            .is_retryable()
        );
        assert!(
            RegistryError::TimedOut {
                registry: "r".into(),
                operation: "GET /v2/".into(),
                reason: "received nothing for 20 s".into(),
                inactivity: Duration::from_secs(20),
            }
            .is_retryable()
        );
        assert!(
            !RegistryError::Unauthorized {
                registry: "r".into(),
                repository: "x".into(),
                detail: String::new()
            }
            .is_retryable()
        );
        assert!(
            !RegistryError::NotFound {
                registry: "r".into(),
                repository: "x".into(),
                what: "manifest",
                reference: "latest".into(),
                code: "MANIFEST_UNKNOWN".into()
            }
            .is_retryable()
        );
    }
}
