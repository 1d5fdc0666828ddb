//! The HTTP registry client: OCI distribution v2 on `reqwest` with rustls and the `ring`
//! provider.
//!
//! This module owns every HTTP exchange with a registry: choosing HTTPS or plain HTTP, the
//! anonymous/Basic/Bearer-token dance, retries with jittered exponential backoff, and mapping
//! statuses to [`RegistryError`]. It must not know about images, packing or copying; those use
//! the [`Registry`] trait.
//!
//! **Why a thin client of our own rather than `oci-client`:** the operations Shiplane needs are
//! a dozen requests, and each has a detail that matters here and that a general client hides
//! or gets differently: one `Accept` header with the Docker and OCI manifest and index types
//! together (a distribution registry otherwise answers 404 or a schema 1 digest), HEAD with a
//! GET fallback that verifies the body's digest, `DELETE` by digest with a clear message when
//! deletion is disabled, `Link` paging of tags, cross-repository mounts, per-operation token
//! scopes, and one retry policy over all of it. Owning ~600 lines keeps that exact, keeps the
//! dependency tree to one `reqwest` (no second TLS stack), and makes credential redaction
//! something we can check rather than trust.
//!
//! Credentials are only ever attached to requests for the registry's own host; URLs that lead
//! elsewhere (upload locations, token realms, redirects) get no registry `Authorization`, and
//! plain HTTP to a non-loopback host is refused unless the registry is marked `insecure`.

use std::collections::HashMap;
use std::hash::{BuildHasher as _, Hasher as _};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, LINK, LOCATION, RETRY_AFTER,
    WWW_AUTHENTICATE,
};
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;
use shiplane_http::NetworkTimeouts;

use crate::credentials::{Credentials, Secret};
use crate::digest::Digest;
use crate::error::{RegistryError, Result};
use crate::protocol::{
    Action, Challenge, MANIFEST_ACCEPT, RetryPolicy, next_link, parse_challenge, parse_error_body,
    plain_http_allowed, scope,
};
use crate::reference::Reference;
use crate::registry::{Manifest, ManifestInfo, Registry};

/// The header registries put the manifest digest in.
const DOCKER_CONTENT_DIGEST: &str = "docker-content-digest";
/// At most this many pages of tags are followed, so a looping `Link` cannot hang a run.
const MAX_TAG_PAGES: usize = 10_000;

/// How to reach one registry.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// Allow plain HTTP to this registry although it is not loopback.
    pub insecure: bool,
    /// Credentials, or `None` for anonymous access.
    pub credentials: Option<Credentials>,
    /// Retry policy for transient failures.
    pub retry: RetryPolicy,
    /// Connect, inactivity and per-request limits (`SHIPLANE_NETWORK_TIMEOUT`).
    pub timeouts: NetworkTimeouts,
}

/// A client for one registry host.
pub struct RegistryClient {
    host: String,
    base: Url,
    insecure: bool,
    credentials: Option<Credentials>,
    retry: RetryPolicy,
    timeouts: NetworkTimeouts,
    http: reqwest::Client,
    auth: Mutex<AuthState>,
    jitter_state: std::hash::RandomState,
    jitter_counter: AtomicU64,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("host", &self.host)
            .field("base", &self.base.as_str())
            .field("insecure", &self.insecure)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

/// What the client learned about authenticating to this registry.
#[derive(Default)]
struct AuthState {
    /// The registry asked for Basic auth once, so send it up front from now on.
    basic: bool,
    /// Bearer tokens by the scopes they were issued for.
    tokens: HashMap<String, Secret>,
}

/// One request, described so it can be sent again (after auth or a retry).
struct Request<'a> {
    method: Method,
    url: Url,
    repository: &'a str,
    action: Action,
    /// Token scopes; the first is the operation's own.
    scopes: Vec<String>,
    accept: Option<&'static str>,
    content_type: Option<&'a str>,
    body: Option<Bytes>,
}

impl RegistryClient {
    /// A client for `host` (`host[:port]`, the API host: `registry-1.docker.io` for Docker
    /// Hub). HTTPS unless the host is loopback or `options.insecure` is set.
    pub fn new(host: &str, options: ClientOptions) -> Result<Self> {
        let plain = plain_http_allowed(host, options.insecure);
        let scheme = if plain { "http" } else { "https" };
        let base = Url::parse(&format!("{scheme}://{host}/")).map_err(|e| {
            RegistryError::invalid_reference(host, format!("not a usable registry host: {e}"))
        })?;
        let insecure = options.insecure;
        let redirect = reqwest::redirect::Policy::custom(move |attempt| {
            let url = attempt.url();
            let host = url.host_str().unwrap_or_default().to_owned();
            let downgrade = url.scheme() == "http" && !plain_http_allowed(&host, insecure);
            if attempt.previous().len() >= 10 {
                attempt.error("too many redirects")
            } else if downgrade {
                attempt.error(format!("refusing a redirect to plain HTTP host {host}"))
            } else {
                attempt.follow()
            }
        });
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("shiplane/", env!("CARGO_PKG_VERSION")))
            // Every request ends: a registry that accepts and never answers fails after the
            // inactivity limit, one that trickles after the per-request deadline.
            .connect_timeout(options.timeouts.connect)
            .read_timeout(options.timeouts.inactivity)
            .timeout(options.timeouts.total)
            .redirect(redirect)
            .tls_backend_preconfigured(tls_config(host)?);
        if crate::protocol::is_loopback(host) {
            // A proxy from the environment must never see loopback traffic.
            builder = builder.no_proxy();
        }
        let http = builder.build().map_err(|e| RegistryError::Setup {
            detail: format!("cannot build the HTTP client for {host}: {e}"),
        })?;
        Ok(Self {
            host: host.to_owned(),
            base,
            insecure,
            credentials: options.credentials,
            retry: options.retry,
            timeouts: options.timeouts,
            http,
            auth: Mutex::new(AuthState::default()),
            jitter_state: std::hash::RandomState::new(),
            jitter_counter: AtomicU64::new(0),
        })
    }

    /// The registry host this client talks to.
    pub fn host(&self) -> &str {
        &self.host
    }

    fn url(&self, path: &str) -> Result<Url> {
        self.base
            .join(path)
            .map_err(|e| RegistryError::invalid_reference(path, e.to_string()))
    }

    fn manifest_url(&self, repository: &str, reference: &str) -> Result<Url> {
        self.url(&format!("v2/{repository}/manifests/{reference}"))
    }

    fn blob_url(&self, repository: &str, digest: &Digest) -> Result<Url> {
        self.url(&format!("v2/{repository}/blobs/{digest}"))
    }

    /// A URL the registry handed us (upload `Location`, `Link`), resolved and checked.
    fn follow_url(&self, target: &str) -> Result<Url> {
        let url = self
            .base
            .join(target)
            .map_err(|e| RegistryError::UnexpectedResponse {
                registry: self.host.clone(),
                status: 0,
                operation: "following a registry URL".to_owned(),
                detail: format!("unusable URL: {e}"),
            })?;
        self.check_scheme(&url)?;
        Ok(url)
    }

    fn check_scheme(&self, url: &Url) -> Result<()> {
        let host = url.host_str().unwrap_or_default();
        if url.scheme() == "http" && !plain_http_allowed(host, self.insecure) {
            let mut shown = url.clone();
            shown.set_query(None);
            return Err(RegistryError::InsecureRefused {
                url: shown.to_string(),
            });
        }
        Ok(())
    }

    /// Whether `url` points at this registry, so it may carry the registry's credentials.
    fn is_own(&self, url: &Url) -> bool {
        url.host_str() == self.base.host_str()
            && url.port_or_known_default() == self.base.port_or_known_default()
    }

    fn jitter(&self) -> f64 {
        let mut hasher = self.jitter_state.build_hasher();
        hasher.write_u64(self.jitter_counter.fetch_add(1, Ordering::Relaxed));
        let high = u32::try_from(hasher.finish() >> 32).unwrap_or(0);
        f64::from(high) / f64::from(u32::MAX)
    }

    /// Runs `attempt` until it succeeds, fails for good, or the attempts run out.
    ///
    /// A timeout is retryable for the caller but not retried here: the registry has already
    /// had the whole limit to answer, and retrying would multiply the documented bound.
    async fn with_retry<T, F, Fut>(&self, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut retry = 0;
        loop {
            match attempt().await {
                Err(error)
                    if error.is_retryable()
                        && !matches!(error, RegistryError::TimedOut { .. })
                        && retry + 1 < self.retry.max_attempts =>
                {
                    let retry_after = match &error {
                        RegistryError::TooManyRequests { retry_after, .. } => *retry_after,
                        _ => None,
                    };
                    tokio::time::sleep(self.retry.delay(retry, self.jitter(), retry_after)).await;
                    retry += 1;
                }
                result => return result,
            }
        }
    }

    fn cached_auth(&self, scopes: &[String]) -> Option<Secret> {
        let state = self.auth.lock().ok()?;
        if let Some(token) = state.tokens.get(&scopes.join(" ")) {
            return Some(Secret::new(format!("Bearer {}", token.expose())));
        }
        if state.basic {
            return self.credentials.as_ref().map(Credentials::basic_header);
        }
        None
    }

    fn unauthorized(&self, repository: &str, sent: bool) -> RegistryError {
        let detail = match (&self.credentials, sent) {
            (Some(credentials), true) => {
                format!(
                    "the credentials of user `{}` were refused",
                    credentials.username
                )
            }
            (Some(credentials), false) => format!(
                "credentials for user `{}` were not accepted by the auth scheme",
                credentials.username
            ),
            (None, _) => "no credentials are configured for this registry".to_owned(),
        };
        RegistryError::Unauthorized {
            registry: self.host.clone(),
            repository: repository.to_owned(),
            detail,
        }
    }

    /// Sends one request, authenticating once when challenged. 401 (after authenticating),
    /// 403, 429 and 5xx become errors; every other status is returned for the caller.
    async fn send_once(&self, request: &Request<'_>) -> Result<reqwest::Response> {
        self.check_scheme(&request.url)?;
        let own = self.is_own(&request.url);
        let mut authorization = if own {
            self.cached_auth(&request.scopes)
        } else {
            None
        };
        let mut authenticated = false;
        loop {
            let mut builder = self
                .http
                .request(request.method.clone(), request.url.clone());
            if let Some(accept) = request.accept {
                builder = builder.header(ACCEPT, accept);
            }
            if let Some(content_type) = request.content_type {
                builder = builder.header(CONTENT_TYPE, content_type);
            }
            if let Some(value) = &authorization {
                builder = builder.header(AUTHORIZATION, value.expose());
            }
            if let Some(body) = &request.body {
                builder = builder
                    .header(CONTENT_LENGTH, body.len())
                    .body(body.clone());
            } else if request.method == Method::POST || request.method == Method::PUT {
                builder = builder.header(CONTENT_LENGTH, 0);
            }
            let started = Instant::now();
            let response = builder.send().await.map_err(|e| {
                self.transport(
                    &e,
                    &format!("{} {}", request.method, request.url.path()),
                    started,
                )
            })?;
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && own && !authenticated {
                authenticated = true;
                let challenge = response
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_challenge);
                match challenge {
                    Some(Challenge::Basic) => {
                        let Some(credentials) = &self.credentials else {
                            return Err(self.unauthorized(request.repository, false));
                        };
                        if let Ok(mut state) = self.auth.lock() {
                            state.basic = true;
                        }
                        authorization = Some(credentials.basic_header());
                        continue;
                    }
                    Some(Challenge::Bearer { realm, service, .. }) => {
                        let token = self
                            .fetch_token(
                                request.repository,
                                &realm,
                                service.as_deref(),
                                &request.scopes,
                            )
                            .await?;
                        authorization = Some(Secret::new(format!("Bearer {}", token.expose())));
                        if let Ok(mut state) = self.auth.lock() {
                            state.tokens.insert(request.scopes.join(" "), token);
                        }
                        continue;
                    }
                    None => return Err(self.unauthorized(request.repository, false)),
                }
            }
            return match status.as_u16() {
                401 => Err(self.unauthorized(request.repository, authorization.is_some())),
                403 => Err(RegistryError::Forbidden {
                    registry: self.host.clone(),
                    repository: request.repository.to_owned(),
                    operation: request.action.name().to_owned(),
                }),
                429 => Err(RegistryError::TooManyRequests {
                    registry: self.host.clone(),
                    retry_after: retry_after(response.headers()),
                }),
                500..=599 => {
                    let body = response.bytes().await.unwrap_or_default();
                    let error = parse_error_body(&body);
                    Err(RegistryError::ServerError {
                        registry: self.host.clone(),
                        status: status.as_u16(),
                        operation: format!("{} {}", request.method, request.url.path()),
                        detail: if error.message.is_empty() {
                            status
                                .canonical_reason()
                                .unwrap_or("server error")
                                .to_owned()
                        } else {
                            error.message
                        },
                    })
                }
                _ => Ok(response),
            };
        }
    }

    async fn fetch_token(
        &self,
        repository: &str,
        realm: &str,
        service: Option<&str>,
        scopes: &[String],
    ) -> Result<Secret> {
        #[derive(Deserialize)]
        struct TokenResponse {
            token: Option<String>,
            access_token: Option<String>,
        }
        let mut url = Url::parse(realm).map_err(|e| RegistryError::UnexpectedResponse {
            registry: self.host.clone(),
            status: 401,
            operation: "reading the auth challenge".to_owned(),
            detail: format!("the token realm is not a URL: {e}"),
        })?;
        self.check_scheme(&url)?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = service {
                query.append_pair("service", service);
            }
            for scope in scopes {
                query.append_pair("scope", scope);
            }
        }
        let mut builder = self.http.get(url);
        if let Some(credentials) = &self.credentials {
            builder = builder.header(AUTHORIZATION, credentials.basic_header().expose());
        }
        let started = Instant::now();
        let response = builder
            .send()
            .await
            .map_err(|e| self.transport(&e, "the token request", started))?;
        let status = response.status();
        match status.as_u16() {
            200 => {}
            401 => return Err(self.unauthorized(repository, self.credentials.is_some())),
            403 => {
                return Err(RegistryError::Forbidden {
                    registry: self.host.clone(),
                    repository: repository.to_owned(),
                    operation: "token".to_owned(),
                });
            }
            429 => {
                return Err(RegistryError::TooManyRequests {
                    registry: self.host.clone(),
                    retry_after: retry_after(response.headers()),
                });
            }
            500..=599 => {
                return Err(RegistryError::ServerError {
                    registry: self.host.clone(),
                    status: status.as_u16(),
                    operation: "token request".to_owned(),
                    detail: status
                        .canonical_reason()
                        .unwrap_or("server error")
                        .to_owned(),
                });
            }
            other => {
                return Err(RegistryError::UnexpectedResponse {
                    registry: self.host.clone(),
                    status: other,
                    operation: "token request".to_owned(),
                    detail: "the token server refused the request".to_owned(),
                });
            }
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| self.transport(&e, "reading the token", started))?;
        let parsed: TokenResponse =
            serde_json::from_slice(&body).map_err(|_| RegistryError::UnexpectedResponse {
                registry: self.host.clone(),
                status: 200,
                operation: "token request".to_owned(),
                detail: "the token server's answer is not JSON with a token".to_owned(),
            })?;
        parsed
            .token
            .or(parsed.access_token)
            .filter(|t| !t.is_empty())
            .map(Secret::new)
            .ok_or_else(|| RegistryError::UnexpectedResponse {
                registry: self.host.clone(),
                status: 200,
                operation: "token request".to_owned(),
                detail: "the token server's answer has no token".to_owned(),
            })
    }

    /// A transport failure of a request begun at `started` as a [`RegistryError`]: a timeout
    /// says which limit ran out and how to change it; the rest (refused, reset, broken pipe)
    /// is a retryable [`RegistryError::Connection`].
    fn transport(
        &self,
        error: &reqwest::Error,
        operation: &str,
        started: Instant,
    ) -> RegistryError {
        if error.is_timeout() {
            let reason = if error.is_connect() {
                format!(
                    "could not connect within {}",
                    shiplane_http::seconds(self.timeouts.connect)
                )
            } else if started.elapsed() >= self.timeouts.total
                || started.elapsed() < self.timeouts.inactivity
            {
                // The read limit cannot fire before a whole inactivity window has passed
                // since `started`, so a quicker timeout is the request's overall deadline
                // (which counts from before a body read began).
                format!(
                    "did not finish within its deadline of {}",
                    shiplane_http::seconds(self.timeouts.total)
                )
            } else {
                format!(
                    "received nothing for {}",
                    shiplane_http::seconds(self.timeouts.inactivity)
                )
            };
            return RegistryError::TimedOut {
                registry: self.host.clone(),
                operation: operation.to_owned(),
                reason,
                inactivity: self.timeouts.inactivity,
            };
        }
        // `reqwest` errors name the URL; our URLs never hold credentials.
        let mut detail = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(inner) = source {
            detail.push_str(": ");
            detail.push_str(&inner.to_string());
            source = inner.source();
        }
        if error.is_redirect() && detail.contains("plain HTTP") {
            return RegistryError::InsecureRefused {
                url: error.url().map(ToString::to_string).unwrap_or_default(),
            };
        }
        RegistryError::Connection {
            registry: self.host.clone(),
            detail,
        }
    }

    /// Turns an unexpected status into an error, reading the registry's error body.
    async fn status_error(
        &self,
        response: reqwest::Response,
        repository: &str,
        what: &'static str,
        reference: &str,
        operation: &str,
    ) -> RegistryError {
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap_or_default();
        let error = parse_error_body(&body);
        if status == 404 {
            return RegistryError::NotFound {
                registry: self.host.clone(),
                repository: repository.to_owned(),
                what,
                reference: reference.to_owned(),
                code: if error.code.is_empty() {
                    "404 Not Found".to_owned()
                } else {
                    error.code
                },
            };
        }
        RegistryError::UnexpectedResponse {
            registry: self.host.clone(),
            status,
            operation: operation.to_owned(),
            detail: if error.message.is_empty() {
                "no error message".to_owned()
            } else {
                format!("{} ({})", error.message, error.code)
            },
        }
    }

    fn request(method: Method, url: Url, repository: &str, action: Action) -> Request<'_> {
        Request {
            method,
            url,
            repository,
            action,
            scopes: vec![scope(repository, action)],
            accept: None,
            content_type: None,
            body: None,
        }
    }

    async fn read_body(&self, response: reqwest::Response) -> Result<Bytes> {
        let started = Instant::now();
        response
            .bytes()
            .await
            .map_err(|e| self.transport(&e, "reading a response body", started))
    }

    /// GET of a manifest, verified; `expected` is the digest asked for, if any.
    async fn fetch_manifest(
        &self,
        repository: &str,
        reference: &str,
        expected: Option<&Digest>,
    ) -> Result<Manifest> {
        let mut request = Self::request(
            Method::GET,
            self.manifest_url(repository, reference)?,
            repository,
            Action::Pull,
        );
        request.accept = Some(MANIFEST_ACCEPT);
        self.with_retry(|| async {
            let response = self.send_once(&request).await?;
            if response.status() != StatusCode::OK {
                return Err(self
                    .status_error(response, repository, "manifest", reference, "GET manifest")
                    .await);
            }
            let announced = header_digest(response.headers());
            let content_type = content_type(response.headers());
            let bytes = self.read_body(response).await?;
            let digest = Digest::sha256_of(&bytes);
            for claimed in announced.iter().chain(expected) {
                if claimed != &digest {
                    return Err(RegistryError::DigestMismatch {
                        what: format!("manifest {repository}:{reference} from {}", self.host),
                        expected: claimed.to_string(),
                        actual: digest.to_string(),
                    });
                }
            }
            Manifest::new(content_type, digest, bytes)
        })
        .await
    }
}

fn tls_config(host: &str) -> Result<rustls::ClientConfig> {
    shiplane_http::tls_config().map_err(|e| RegistryError::Setup {
        detail: format!("{e} (for {host})"),
    })
}

fn header_digest(headers: &HeaderMap) -> Option<Digest> {
    headers
        .get(DOCKER_CONTENT_DIGEST)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Digest::parse(v.trim()).ok())
}

fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

fn validate_repository(repository: &str) -> Result<()> {
    // Reuse the reference grammar: a repository must parse as the path of a reference.
    crate::reference::ImageReference::parse(&format!("registry.invalid/{repository}")).map(|_| ())
}

#[async_trait::async_trait]
impl Registry for RegistryClient {
    fn name(&self) -> String {
        self.host.clone()
    }

    fn storage_key(&self) -> String {
        format!("registry:{}", self.host)
    }

    async fn resolve(&self, repository: &str, tag: &str) -> Result<Digest> {
        validate_repository(repository)?;
        let reference = Reference::parse(tag)?;
        let mut request = Self::request(
            Method::HEAD,
            self.manifest_url(repository, reference.as_str())?,
            repository,
            Action::Pull,
        );
        request.accept = Some(MANIFEST_ACCEPT);
        let from_head = self
            .with_retry(|| async {
                let response = self.send_once(&request).await?;
                Ok((response.status() == StatusCode::OK)
                    .then(|| header_digest(response.headers()))
                    .flatten())
            })
            .await?;
        if let Some(digest) = from_head {
            return Ok(digest);
        }
        // No digest from HEAD (not supported, or an error whose code only a body tells):
        // GET the manifest and hash it.
        let expected = match &reference {
            Reference::Digest(digest) => Some(digest),
            Reference::Tag(_) => None,
        };
        Ok(self
            .fetch_manifest(repository, reference.as_str(), expected)
            .await?
            .digest)
    }

    async fn head_digest(&self, repository: &str, digest: &Digest) -> Result<Option<ManifestInfo>> {
        validate_repository(repository)?;
        let mut request = Self::request(
            Method::HEAD,
            self.manifest_url(repository, digest.as_str())?,
            repository,
            Action::Pull,
        );
        request.accept = Some(MANIFEST_ACCEPT);
        self.with_retry(|| async {
            let response = self.send_once(&request).await?;
            match response.status() {
                StatusCode::OK => {}
                StatusCode::NOT_FOUND => return Ok(None),
                _ => {
                    return Err(self
                        .status_error(
                            response,
                            repository,
                            "manifest",
                            digest.as_str(),
                            "HEAD manifest",
                        )
                        .await);
                }
            }
            if let Some(announced) = header_digest(response.headers())
                && &announced != digest
            {
                return Err(RegistryError::DigestMismatch {
                    what: format!("HEAD of manifest {repository}@{digest} on {}", self.host),
                    expected: digest.to_string(),
                    actual: announced.to_string(),
                });
            }
            let size = response
                .headers()
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            Ok(Some(ManifestInfo {
                media_type: content_type(response.headers()).unwrap_or_default(),
                size,
            }))
        })
        .await
    }

    async fn get_manifest(&self, repository: &str, reference: &Reference) -> Result<Manifest> {
        validate_repository(repository)?;
        let expected = match reference {
            Reference::Digest(digest) => Some(digest),
            Reference::Tag(_) => None,
        };
        self.fetch_manifest(repository, reference.as_str(), expected)
            .await
    }

    async fn put_manifest(
        &self,
        repository: &str,
        reference: &Reference,
        media_type: &str,
        bytes: Bytes,
    ) -> Result<Digest> {
        validate_repository(repository)?;
        let digest = Digest::sha256_of(&bytes);
        if let Reference::Digest(expected) = reference {
            expected.verify(&bytes, "manifest to put")?;
        }
        let mut request = Self::request(
            Method::PUT,
            self.manifest_url(repository, reference.as_str())?,
            repository,
            Action::Push,
        );
        request.content_type = Some(media_type);
        request.body = Some(bytes);
        self.with_retry(|| async {
            let response = self.send_once(&request).await?;
            if !matches!(response.status().as_u16(), 200..=202) {
                return Err(self
                    .status_error(
                        response,
                        repository,
                        "repository",
                        reference.as_str(),
                        "PUT manifest",
                    )
                    .await);
            }
            if let Some(announced) = header_digest(response.headers())
                && announced != digest
            {
                return Err(RegistryError::DigestMismatch {
                    what: format!(
                        "manifest stored as {repository}:{reference} on {}",
                        self.host
                    ),
                    expected: digest.to_string(),
                    actual: announced.to_string(),
                });
            }
            Ok(digest.clone())
        })
        .await
    }

    async fn blob_exists(&self, repository: &str, digest: &Digest) -> Result<bool> {
        validate_repository(repository)?;
        let request = Self::request(
            Method::HEAD,
            self.blob_url(repository, digest)?,
            repository,
            Action::Pull,
        );
        self.with_retry(|| async {
            let response = self.send_once(&request).await?;
            match response.status() {
                StatusCode::OK => Ok(true),
                StatusCode::NOT_FOUND => Ok(false),
                _ => Err(self
                    .status_error(response, repository, "blob", digest.as_str(), "HEAD blob")
                    .await),
            }
        })
        .await
    }

    async fn mount_blob(
        &self,
        repository: &str,
        digest: &Digest,
        from_repository: &str,
    ) -> Result<bool> {
        validate_repository(repository)?;
        validate_repository(from_repository)?;
        let mut url = self.url(&format!("v2/{repository}/blobs/uploads/"))?;
        url.query_pairs_mut()
            .append_pair("mount", digest.as_str())
            .append_pair("from", from_repository);
        let mut request = Self::request(Method::POST, url, repository, Action::Push);
        request.scopes.push(scope(from_repository, Action::Pull));
        self.with_retry(|| async {
            let response = self.send_once(&request).await?;
            match response.status().as_u16() {
                201 => Ok(true),
                // The registry opened an ordinary upload instead; abandon it, the caller
                // uploads the blob itself.
                202 => Ok(false),
                _ => Err(self
                    .status_error(response, repository, "blob", digest.as_str(), "mount blob")
                    .await),
            }
        })
        .await
    }

    async fn upload_blob(&self, repository: &str, digest: &Digest, bytes: Bytes) -> Result<()> {
        validate_repository(repository)?;
        digest.verify(&bytes, "blob to upload")?;
        let start = Self::request(
            Method::POST,
            self.url(&format!("v2/{repository}/blobs/uploads/"))?,
            repository,
            Action::Push,
        );
        // The POST and the PUT are retried together: an upload session does not survive a
        // failed PUT on every registry.
        self.with_retry(|| async {
            let response = self.send_once(&start).await?;
            if response.status() != StatusCode::ACCEPTED {
                return Err(self
                    .status_error(
                        response,
                        repository,
                        "repository",
                        digest.as_str(),
                        "start upload",
                    )
                    .await);
            }
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| RegistryError::UnexpectedResponse {
                    registry: self.host.clone(),
                    status: 202,
                    operation: "start upload".to_owned(),
                    detail: "no Location header".to_owned(),
                })?;
            let mut url = self.follow_url(location)?;
            url.query_pairs_mut().append_pair("digest", digest.as_str());
            let mut put = Self::request(Method::PUT, url, repository, Action::Push);
            put.content_type = Some("application/octet-stream");
            put.body = Some(bytes.clone());
            let response = self.send_once(&put).await?;
            if !matches!(response.status().as_u16(), 201 | 204) {
                return Err(self
                    .status_error(
                        response,
                        repository,
                        "blob",
                        digest.as_str(),
                        "finish upload",
                    )
                    .await);
            }
            Ok(())
        })
        .await
    }

    async fn get_blob(&self, repository: &str, digest: &Digest) -> Result<Bytes> {
        validate_repository(repository)?;
        let request = Self::request(
            Method::GET,
            self.blob_url(repository, digest)?,
            repository,
            Action::Pull,
        );
        self.with_retry(|| async {
            let response = self.send_once(&request).await?;
            if response.status() != StatusCode::OK {
                return Err(self
                    .status_error(response, repository, "blob", digest.as_str(), "GET blob")
                    .await);
            }
            let bytes = self.read_body(response).await?;
            digest.verify(
                &bytes,
                &format!("blob {repository}@{digest} from {}", self.host),
            )?;
            Ok(bytes)
        })
        .await
    }

    async fn list_tags(&self, repository: &str) -> Result<Vec<String>> {
        #[derive(Deserialize)]
        struct TagList {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        validate_repository(repository)?;
        let mut tags = Vec::new();
        let mut next = Some(self.url(&format!("v2/{repository}/tags/list"))?);
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > MAX_TAG_PAGES {
                return Err(RegistryError::UnexpectedResponse {
                    registry: self.host.clone(),
                    status: 200,
                    operation: "list tags".to_owned(),
                    detail: format!("more than {MAX_TAG_PAGES} pages of tags"),
                });
            }
            let request = Self::request(Method::GET, url, repository, Action::Pull);
            let (page, link) = self
                .with_retry(|| async {
                    let response = self.send_once(&request).await?;
                    if response.status() != StatusCode::OK {
                        return Err(self
                            .status_error(
                                response,
                                repository,
                                "repository",
                                repository,
                                "list tags",
                            )
                            .await);
                    }
                    let link = response
                        .headers()
                        .get(LINK)
                        .and_then(|v| v.to_str().ok())
                        .and_then(next_link);
                    let body = self.read_body(response).await?;
                    let page: TagList = serde_json::from_slice(&body).map_err(|e| {
                        RegistryError::UnexpectedResponse {
                            registry: self.host.clone(),
                            status: 200,
                            operation: "list tags".to_owned(),
                            detail: format!("not a tag list: {e}"),
                        }
                    })?;
                    Ok((page, link))
                })
                .await?;
            tags.extend(page.tags.unwrap_or_default());
            next = link.map(|target| self.follow_url(&target)).transpose()?;
        }
        tags.sort();
        tags.dedup();
        Ok(tags)
    }

    async fn delete_manifest(&self, repository: &str, digest: &Digest) -> Result<()> {
        validate_repository(repository)?;
        let request = Self::request(
            Method::DELETE,
            self.manifest_url(repository, digest.as_str())?,
            repository,
            Action::Delete,
        );
        self.with_retry(|| async {
            let response = self.send_once(&request).await?;
            let status = response.status().as_u16();
            match status {
                200 | 202 | 204 => Ok(()),
                405 => Err(RegistryError::DeleteUnsupported {
                    registry: self.host.clone(),
                    repository: repository.to_owned(),
                    status,
                }),
                400 => {
                    let body = response.bytes().await.unwrap_or_default();
                    let error = parse_error_body(&body);
                    if error.code == "UNSUPPORTED" {
                        Err(RegistryError::DeleteUnsupported {
                            registry: self.host.clone(),
                            repository: repository.to_owned(),
                            status,
                        })
                    } else {
                        Err(RegistryError::UnexpectedResponse {
                            registry: self.host.clone(),
                            status,
                            operation: "delete manifest".to_owned(),
                            detail: format!("{} ({})", error.message, error.code),
                        })
                    }
                }
                _ => Err(self
                    .status_error(
                        response,
                        repository,
                        "manifest",
                        digest.as_str(),
                        "delete manifest",
                    )
                    .await),
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(host: &str, insecure: bool) -> RegistryClient {
        RegistryClient::new(
            host,
            ClientOptions {
                insecure,
                credentials: Some(Credentials::new("bob", "pa55word")),
                ..ClientOptions::default()
            },
        )
        .unwrap()
    }

    #[test]
    fn scheme_follows_the_loopback_and_insecure_rules() {
        assert_eq!(client("127.0.0.1:5000", false).base.scheme(), "http");
        assert_eq!(client("localhost:5000", false).base.scheme(), "http");
        assert_eq!(client("[::1]:5000", false).base.scheme(), "http");
        assert_eq!(client("ghcr.io", false).base.scheme(), "https");
        assert_eq!(client("registry.internal:5000", true).base.scheme(), "http");
    }

    #[test]
    fn plain_http_elsewhere_is_refused() {
        let secure = client("ghcr.io", false);
        let error = secure
            .follow_url("http://uploads.example/session?token=abc")
            .unwrap_err();
        assert!(
            matches!(error, RegistryError::InsecureRefused { .. }),
            "{error}"
        );
        // The query (which may carry a session token) is not shown.
        assert!(!error.to_string().contains("token=abc"));
        assert!(secure.follow_url("/v2/app/blobs/uploads/1").is_ok());
        let local = client("127.0.0.1:5000", false);
        assert!(matches!(
            local.follow_url("http://uploads.example/x"),
            Err(RegistryError::InsecureRefused { .. })
        ));
        let insecure = client("registry.internal:5000", true);
        assert!(insecure.follow_url("http://uploads.example/x").is_ok());
    }

    #[test]
    fn credentials_go_only_to_the_registry_itself() {
        let c = client("127.0.0.1:5000", false);
        assert!(c.is_own(&Url::parse("http://127.0.0.1:5000/v2/x").unwrap()));
        assert!(!c.is_own(&Url::parse("http://127.0.0.1:5001/v2/x").unwrap()));
        assert!(!c.is_own(&Url::parse("http://localhost:5000/v2/x").unwrap()));
    }

    #[test]
    fn debug_output_hides_the_password() {
        let c = client("ghcr.io", false);
        let shown = format!("{c:?}");
        assert!(shown.contains("bob"));
        assert!(!shown.contains("pa55word"));
    }

    #[test]
    fn headers_are_read_leniently() {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            "application/vnd.oci.image.manifest.v1+json; charset=utf-8"
                .parse()
                .unwrap(),
        );
        headers.insert(RETRY_AFTER, "7".parse().unwrap());
        headers.insert(
            DOCKER_CONTENT_DIGEST,
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
                .parse()
                .unwrap(),
        );
        assert_eq!(
            content_type(&headers).as_deref(),
            Some("application/vnd.oci.image.manifest.v1+json")
        );
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        assert_eq!(header_digest(&headers), Some(Digest::sha256_of(b"")));
    }
}
