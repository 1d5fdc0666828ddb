//! Pure pieces of the distribution protocol: auth challenges, scopes, `Link` paging, error
//! bodies, the plain-HTTP rule and retry backoff.
//!
//! This module owns the parsing and arithmetic the HTTP client relies on, so each can be tested
//! exactly without a socket. It must not do I/O, read a clock or hold credentials.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;

/// Docker schema 2 image manifest.
pub const DOCKER_MANIFEST_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker schema 2 manifest list.
pub const DOCKER_MANIFEST_LIST_V2: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";
/// OCI image manifest.
pub const OCI_MANIFEST_V1: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX_V1: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image config.
pub const OCI_CONFIG_V1: &str = "application/vnd.oci.image.config.v1+json";
/// OCI gzip-compressed layer.
pub const OCI_LAYER_TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// The one `Accept` header for manifests: Docker schema 2 and OCI, manifest and index, together.
/// A distribution registry answers 404 for an OCI manifest asked for as Docker only, and
/// converts a Docker manifest to schema 1 (another digest) when asked for OCI only.
pub const MANIFEST_ACCEPT: &str = "application/vnd.docker.distribution.manifest.v2+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.oci.image.manifest.v1+json, \
     application/vnd.oci.image.index.v1+json";

/// Whether `media_type` is an index (OCI index or Docker manifest list).
pub fn is_index(media_type: &str) -> bool {
    media_type == OCI_INDEX_V1 || media_type == DOCKER_MANIFEST_LIST_V2
}

/// Whether `media_type` is one of the four manifest types Shiplane handles.
pub fn is_known_manifest(media_type: &str) -> bool {
    matches!(
        media_type,
        DOCKER_MANIFEST_V2 | DOCKER_MANIFEST_LIST_V2 | OCI_MANIFEST_V1 | OCI_INDEX_V1
    )
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// `Basic realm=…`: send the username and password with every request.
    Basic,
    /// `Bearer realm=…,service=…,scope=…`: fetch a token from `realm`.
    Bearer {
        /// The token endpoint.
        realm: String,
        /// The `service` parameter to pass on.
        service: Option<String>,
        /// The scope the registry asked for, when it said.
        scope: Option<String>,
    },
}

/// Parses a `WWW-Authenticate` header. Unknown schemes give `None`.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, params) = header
        .split_once(char::is_whitespace)
        .unwrap_or((header, ""));
    let params = parse_auth_params(params);
    if scheme.eq_ignore_ascii_case("basic") {
        Some(Challenge::Basic)
    } else if scheme.eq_ignore_ascii_case("bearer") {
        Some(Challenge::Bearer {
            realm: params.get("realm")?.clone(),
            service: params.get("service").cloned(),
            scope: params.get("scope").cloned(),
        })
    } else {
        None
    }
}

/// Parses `key=value, key="quoted, value"` pairs; keys are lower-cased.
fn parse_auth_params(text: &str) -> BTreeMap<String, String> {
    let mut params = BTreeMap::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let key: String = chars
            .by_ref()
            .take_while(|c| *c != '=')
            .collect::<String>()
            .trim()
            .to_ascii_lowercase();
        if key.is_empty() {
            break;
        }
        let value = if chars.peek() == Some(&'"') {
            chars.next();
            let mut value = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(escaped) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    '"' => break,
                    c => value.push(c),
                }
            }
            value
        } else {
            let mut raw = String::new();
            while let Some(c) = chars.peek() {
                if *c == ',' {
                    break;
                }
                raw.push(*c);
                chars.next();
            }
            raw.trim().to_owned()
        };
        params.insert(key, value);
    }
    params
}

/// What a request is allowed to do, which decides the token scope asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Read manifests, blobs and tags.
    Pull,
    /// Write manifests and blobs (asks for `pull,push`).
    Push,
    /// Delete manifests.
    Delete,
}

impl Action {
    /// The operation's name in error messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pull => "pull",
            Self::Push => "push",
            Self::Delete => "delete",
        }
    }
}

/// The token scope for `action` on `repository`: `repository:NAME:pull`, `…:pull,push`,
/// `…:delete`.
pub fn scope(repository: &str, action: Action) -> String {
    let actions = match action {
        Action::Pull => "pull",
        Action::Push => "pull,push",
        Action::Delete => "delete",
    };
    format!("repository:{repository}:{actions}")
}

/// The target of a `Link: <…>; rel="next"` header, if it has one.
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        let is_next = params.split(';').any(|param| {
            let param = param.trim();
            param.strip_prefix("rel=").is_some_and(|rel| {
                rel.trim_matches('"')
                    .split_whitespace()
                    .any(|r| r == "next")
            })
        });
        is_next.then(|| target.to_owned())
    })
}

/// The first error in a distribution error body `{"errors":[{"code":…,"message":…}]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorBody {
    /// The error code, e.g. `MANIFEST_UNKNOWN`.
    pub code: String,
    /// The message.
    pub message: String,
}

/// Parses a distribution error body; anything else gives the default (empty) body.
pub fn parse_error_body(body: &[u8]) -> ErrorBody {
    #[derive(Deserialize)]
    struct Errors {
        errors: Vec<OneError>,
    }
    #[derive(Deserialize)]
    struct OneError {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    serde_json::from_slice::<Errors>(body)
        .ok()
        .and_then(|errors| errors.errors.into_iter().next())
        .map(|e| ErrorBody {
            code: e.code,
            message: e.message,
        })
        .unwrap_or_default()
}

/// Whether `host` (a `host[:port]` as in a reference, or a bare host) is a loopback address:
/// `localhost`, 127.0.0.0/8 or `::1`.
pub fn is_loopback(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else if host.matches(':').count() > 1 {
        // A bare IPv6 address without brackets.
        host
    } else {
        host.split(':').next().unwrap_or(host)
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether plain HTTP may be used for `host`: loopback always, anything else only when the
/// registry was explicitly marked insecure.
pub fn plain_http_allowed(host: &str, insecure: bool) -> bool {
    insecure || is_loopback(host)
}

/// How often and how patiently to retry transient failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, including the first (at least 1).
    pub max_attempts: u32,
    /// The delay before the first retry (before jitter).
    pub base_delay: Duration,
    /// The longest delay between two attempts.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `retry` (0 for the first retry), with "equal jitter":
    /// half of the capped exponential delay is fixed and the other half scaled by `jitter`
    /// (in `0.0..=1.0`). A server's `Retry-After` is honoured up to `max_delay`.
    pub fn delay(&self, retry: u32, jitter: f64, retry_after: Option<Duration>) -> Duration {
        let exponential = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(retry.min(16)));
        let capped = exponential.min(self.max_delay);
        let jittered = capped / 2 + (capped / 2).mul_f64(jitter.clamp(0.0, 1.0));
        match retry_after {
            Some(after) => after.min(self.max_delay).max(jittered),
            None => jittered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/ubuntu:pull".into()),
            })
        );
        assert_eq!(
            parse_challenge(r#"bearer realm="https://h/t?x=1,2", error="insufficient_scope""#),
            Some(Challenge::Bearer {
                realm: "https://h/t?x=1,2".into(),
                service: None,
                scope: None,
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="shiplane""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Negotiate"), None);
        assert_eq!(parse_challenge("Bearer service=x"), None);
    }

    #[test]
    fn scopes() {
        assert_eq!(scope("a/b", Action::Pull), "repository:a/b:pull");
        assert_eq!(scope("a/b", Action::Push), "repository:a/b:pull,push");
        assert_eq!(scope("a/b", Action::Delete), "repository:a/b:delete");
    }

    #[test]
    fn links() {
        assert_eq!(
            next_link(r#"</v2/app/tags/list?last=t9&n=10>; rel="next""#).as_deref(),
            Some("/v2/app/tags/list?last=t9&n=10")
        );
        assert_eq!(
            next_link(r#"<https://a/prev>; rel="prev", <https://a/next>; rel=next"#).as_deref(),
            Some("https://a/next")
        );
        assert_eq!(next_link(r#"<https://a/x>; rel="prev""#), None);
        assert_eq!(next_link("garbage"), None);
    }

    #[test]
    fn error_bodies() {
        assert_eq!(
            parse_error_body(
                br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}"#
            ),
            ErrorBody {
                code: "MANIFEST_UNKNOWN".into(),
                message: "manifest unknown".into()
            }
        );
        assert_eq!(parse_error_body(b"<html>"), ErrorBody::default());
    }

    #[test]
    fn loopback_hosts() {
        for host in [
            "localhost",
            "localhost:5000",
            "127.0.0.1",
            "127.1.2.3:80",
            "[::1]:5000",
            "::1",
            "LOCALHOST",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "ghcr.io",
            "10.0.0.1:5000",
            "[::2]:5000",
            "localhost.example",
            "128.0.0.1",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
        assert!(plain_http_allowed("10.0.0.1:5000", true));
        assert!(!plain_http_allowed("10.0.0.1:5000", false));
    }

    #[test]
    fn backoff_is_exponential_capped_and_jittered() {
        let policy = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        assert_eq!(policy.delay(0, 0.0, None), Duration::from_millis(50));
        assert_eq!(policy.delay(0, 1.0, None), Duration::from_millis(100));
        assert_eq!(policy.delay(2, 1.0, None), Duration::from_millis(400));
        assert_eq!(policy.delay(10, 1.0, None), Duration::from_secs(1));
        assert_eq!(policy.delay(40, 0.0, None), Duration::from_millis(500));
        assert_eq!(
            policy.delay(0, 0.0, Some(Duration::from_secs(30))),
            Duration::from_secs(1)
        );
    }
}
