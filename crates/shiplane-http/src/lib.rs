//! What every outbound HTTP client of Shiplane shares: the TLS configuration (rustls with the
//! `ring` provider and the platform's certificate verifier — no OpenSSL, no aws-lc) and
//! [`Secret`], the wrapper that keeps passwords, tokens and webhook URLs out of output.
//!
//! It also owns [`NetworkTimeouts`], the one setting (`SHIPLANE_NETWORK_TIMEOUT`) that bounds
//! every network operation — HTTP requests and the `GitOps` writer's git processes alike.
//!
//! The registry client and the notifier both build on it, so a change of TLS policy or of how
//! secrets print happens in one place. It knows nothing of registries, webhooks or requests.

mod timeouts;

use std::fmt;
use std::sync::Arc;

pub use timeouts::{
    DEFAULT_NETWORK_TIMEOUT_SECS, InvalidTimeout, NETWORK_TIMEOUT_ENV, NetworkTimeouts, seconds,
};

/// A secret string (password, token, webhook URL). `Debug` and `Display` print `***`, so it
/// cannot end up in a message by accident. Read it only with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The TLS client configuration for outbound HTTPS: rustls with the `ring` provider, safe
/// default protocol versions and the platform verifier. The error is a sentence for the
/// caller's own error type.
pub fn tls_config() -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new(provider.clone())
        .map_err(|e| format!("cannot set up TLS: {e}"))?;
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "*** ***");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn tls_config_builds() {
        assert!(tls_config().is_ok());
    }
}
