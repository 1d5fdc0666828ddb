//! Sending: SSRF-checked, address-pinned HTTP with bounded, jittered retries under one total
//! deadline. Every outcome is a [`Delivery`]; nothing here returns an error or panics on a
//! receiver's behaviour, so a notifier can never fail the command that notifies.

use std::error::Error as _;
use std::hash::BuildHasher as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use serde::Serialize;
use shiplane_intent::model::Notify;
use tokio::time::Instant;

use crate::event::Event;
use crate::message::prepare;
use crate::ssrf;
use crate::targets::{Channel, Target, select_targets};

/// The longest total time notifications may take, whatever `SHIPLANE_NOTIFY_TIMEOUT_MS` says.
pub const MAX_DEADLINE: Duration = Duration::from_secs(10);
/// At most this much of a receiver's answer is read.
const MAX_BODY: usize = 64 * 1024;

/// How to send.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Total time for all targets, retries included.
    pub deadline: Duration,
    /// Time for one attempt (capped by what is left of the deadline).
    pub attempt_timeout: Duration,
    /// Attempts per target (at least one).
    pub max_attempts: u32,
    /// Allow loopback, private, link-local and unique-local receivers.
    pub allow_private: bool,
    /// The signing timestamp, seconds since the epoch.
    pub timestamp: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            deadline: MAX_DEADLINE,
            attempt_timeout: Duration::from_secs(4),
            max_attempts: 4,
            allow_private: false,
            timestamp: 0,
        }
    }
}

impl Options {
    /// Defaults, with `SHIPLANE_NOTIFY_ALLOW_PRIVATE=1` and `SHIPLANE_NOTIFY_TIMEOUT_MS` (lowers
    /// the deadline; never above [`MAX_DEADLINE`]) read through `env`, stamped `timestamp`.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>, timestamp: u64) -> Self {
        let mut o = Self {
            timestamp,
            ..Self::default()
        };
        o.allow_private = env("SHIPLANE_NOTIFY_ALLOW_PRIVATE").is_some_and(|v| {
            matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes")
        });
        if let Some(ms) =
            env("SHIPLANE_NOTIFY_TIMEOUT_MS").and_then(|v| v.trim().parse::<u64>().ok())
        {
            o.deadline = Duration::from_millis(ms.clamp(100, 10_000));
        }
        o
    }
}

/// What became of one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The receiver accepted it.
    Sent,
    /// It was tried and did not get through (or was refused before sending).
    Failed,
    /// It was not tried: the target's environment is incomplete.
    Skipped,
}

/// The report for one target, as `--json` shows it under `notifications`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// `feishu (FEISHU_WEBHOOK)`: the channel and the variable naming the URL.
    pub target: String,
    /// What became of it.
    pub outcome: Outcome,
    /// HTTP requests made.
    pub attempts: u32,
    /// The last HTTP status received, if any.
    pub status: Option<u16>,
    /// Why it failed or was skipped (never holds the URL or a secret).
    pub error: Option<String>,
}

impl Delivery {
    /// A line for stderr when the delivery did not succeed.
    pub fn warning(&self) -> Option<String> {
        let why = self.error.as_deref().unwrap_or("unknown error");
        match self.outcome {
            Outcome::Sent => None,
            Outcome::Skipped => Some(format!("notification to {} skipped: {why}", self.target)),
            Outcome::Failed => Some(format!(
                "notification to {} failed after {} attempt(s): {why}",
                self.target, self.attempts
            )),
        }
    }

    fn failed(target: &Target, attempts: u32, status: Option<u16>, error: impl AsRef<str>) -> Self {
        Self {
            target: target.label(),
            outcome: Outcome::Failed,
            attempts,
            status,
            error: Some(redact(error.as_ref(), target)),
        }
    }
}

/// Sends the notify targets that want `event` (URLs and secrets from the process environment,
/// options from [`Options::from_env`], stamped now). Blocks for at most the deadline. Must not
/// be called from inside an async runtime.
pub fn send_from_env(notify: &[Notify], event: &Event) -> Vec<Delivery> {
    let env = |k: &str| std::env::var(k).ok();
    let (targets, missing) = select_targets(notify, event.kind, &env);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut out: Vec<Delivery> = missing
        .into_iter()
        .map(|(target, why)| Delivery {
            target,
            outcome: Outcome::Skipped,
            attempts: 0,
            status: None,
            error: Some(why),
        })
        .collect();
    if !targets.is_empty() {
        out.extend(send_blocking(
            event,
            &targets,
            &Options::from_env(&env, now),
        ));
    }
    out
}

/// [`send`] on a current-thread runtime of its own. Must not be called from inside one.
pub fn send_blocking(event: &Event, targets: &[Target], options: &Options) -> Vec<Delivery> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(send(event, targets, options)),
        Err(e) => targets
            .iter()
            .map(|t| Delivery::failed(t, 0, None, format!("cannot start the HTTP runtime: {e}")))
            .collect(),
    }
}

/// Sends `event` to every target concurrently, within `options.deadline` in total. Returns one
/// [`Delivery`] per target, in the targets' order.
pub async fn send(event: &Event, targets: &[Target], options: &Options) -> Vec<Delivery> {
    let end = Instant::now() + options.deadline;
    let event = Arc::new(event.clone());
    let mut set = tokio::task::JoinSet::new();
    for (i, target) in targets.iter().enumerate() {
        let (event, target, options) = (event.clone(), target.clone(), *options);
        set.spawn(async move {
            let attempts = Arc::new(AtomicU32::new(0));
            let run = deliver(&event, &target, &options, end, attempts.clone());
            let delivery = match tokio::time::timeout_at(end, run).await {
                Ok(d) => d,
                Err(_) => Delivery::failed(
                    &target,
                    attempts.load(Ordering::Relaxed),
                    None,
                    format!(
                        "no answer within the {} ms deadline",
                        options.deadline.as_millis()
                    ),
                ),
            };
            (i, delivery)
        });
    }
    let mut out: Vec<Option<Delivery>> = vec![None; targets.len()];
    while let Some(joined) = set.join_next().await {
        if let Ok((i, d)) = joined {
            out[i] = Some(d);
        }
    }
    out.into_iter()
        .zip(targets)
        .map(|(d, t)| d.unwrap_or_else(|| Delivery::failed(t, 0, None, "the sender stopped")))
        .collect()
}

async fn deliver(
    event: &Event,
    target: &Target,
    options: &Options,
    end: Instant,
    attempts: Arc<AtomicU32>,
) -> Delivery {
    let fail = |status: Option<u16>, why: String| {
        Delivery::failed(target, attempts.load(Ordering::Relaxed), status, why)
    };
    let url_env = &target.url_env;
    let Ok(url) = Url::parse(target.url.expose()) else {
        return fail(None, format!("{url_env} does not hold a URL"));
    };
    if !matches!(url.scheme(), "http" | "https") {
        return fail(None, format!("{url_env} must be an http or https URL"));
    }
    let (addrs, domain) = match resolve(&url, end).await {
        Ok(v) => v,
        Err(why) => return fail(None, why),
    };
    for a in &addrs {
        if let Some(class) = ssrf::refusal(a.ip(), options.allow_private) {
            let hint = if ssrf::refusal(a.ip(), true).is_none() {
                "; set SHIPLANE_NOTIFY_ALLOW_PRIVATE=1 to allow a receiver on a private network"
            } else {
                ""
            };
            return fail(
                None,
                format!(
                    "refused: the URL in {url_env} leads to {}, {class}{hint}",
                    a.ip()
                ),
            );
        }
    }
    let client = match client(domain.as_deref(), &addrs, options, end) {
        Ok(c) => c,
        Err(why) => return fail(None, why),
    };
    let prepared = prepare(
        target.channel,
        event,
        options.timestamp,
        target.secret.as_ref().map(crate::Secret::expose),
    );
    let jitter = std::hash::RandomState::new();
    let mut last_status = None;
    let mut last_error = String::from("no attempt was made");
    for attempt in 1..=options.max_attempts.max(1) {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        attempts.store(attempt, Ordering::Relaxed);
        let mut request = client
            .post(url.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(prepared.body.clone());
        for (name, value) in &prepared.headers {
            request = request.header(*name, value);
        }
        let per_attempt = options.attempt_timeout.min(left);
        let answer = tokio::time::timeout(per_attempt, async {
            let response = request.send().await?;
            let status = response.status();
            let retry_after = retry_after(response.headers());
            let body = read_bounded(response).await;
            Ok::<_, reqwest::Error>((status, retry_after, body))
        })
        .await;
        let mut wait = None;
        match answer {
            Ok(Ok((status, retry_after, body))) => {
                last_status = Some(status.as_u16());
                if status.is_success() {
                    return match accepted(target.channel, &body) {
                        Ok(()) => Delivery {
                            target: target.label(),
                            outcome: Outcome::Sent,
                            attempts: attempt,
                            status: last_status,
                            error: None,
                        },
                        Err(why) => fail(last_status, why),
                    };
                }
                let what = format!("the receiver answered {status}{}", snippet(&body));
                if !(status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()) {
                    return fail(last_status, what);
                }
                last_error = what;
                wait = retry_after;
            }
            Ok(Err(e)) => last_error = describe(&e),
            Err(_) => {
                last_error = format!("no answer within {} ms", per_attempt.as_millis());
            }
        }
        if attempt == options.max_attempts.max(1) {
            break;
        }
        // 200 ms, 400 ms, 800 ms… capped at 2 s, each jittered to 50–100 %; Retry-After wins
        // when longer. Never sleep past the deadline: give up instead.
        let base =
            Duration::from_millis(200 * (1 << (attempt - 1).min(4))).min(Duration::from_secs(2));
        let fraction =
            0.5 + f64::from(u32::try_from(jitter.hash_one(attempt) % 1000).unwrap_or(0)) / 2000.0;
        let backoff = base.mul_f64(fraction).max(wait.unwrap_or_default());
        if Instant::now() + backoff >= end {
            break;
        }
        tokio::time::sleep(backoff).await;
    }
    fail(last_status, last_error)
}

/// The addresses `url`'s host resolves to, and the host name when it is one (to pin).
async fn resolve(url: &Url, end: Instant) -> Result<(Vec<SocketAddr>, Option<String>), String> {
    let port = url.port_or_known_default().unwrap_or(443);
    let Some(host) = url.host_str() else {
        return Err("the URL has no host".to_owned());
    };
    // IP literals (`[::1]` in brackets) need no lookup; connect to exactly that address.
    let literal = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = literal.parse::<std::net::IpAddr>() {
        return Ok((vec![SocketAddr::new(ip, port)], None));
    }
    let lookup = tokio::net::lookup_host((host.to_owned(), port));
    let addrs: Vec<SocketAddr> = match tokio::time::timeout_at(end, lookup).await {
        Ok(Ok(addrs)) => addrs.collect(),
        Ok(Err(e)) => return Err(format!("cannot resolve the receiver's host: {e}")),
        Err(_) => return Err("resolving the receiver's host took too long".to_owned()),
    };
    if addrs.is_empty() {
        return Err("the receiver's host has no addresses".to_owned());
    }
    Ok((addrs, Some(host.to_owned())))
}

/// A client that connects only to `addrs` (checked), follows no redirect and uses no proxy.
fn client(
    domain: Option<&str>,
    addrs: &[SocketAddr],
    options: &Options,
    end: Instant,
) -> Result<reqwest::Client, String> {
    let connect = options
        .attempt_timeout
        .min(end.saturating_duration_since(Instant::now()))
        .max(Duration::from_millis(1));
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("shiplane/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(connect)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        // Always configured (reqwest needs a provider even for plain HTTP): ring, no OpenSSL.
        .tls_backend_preconfigured(shiplane_http::tls_config()?);
    if let Some(d) = domain {
        builder = builder.resolve_to_addrs(d, addrs);
    }
    builder
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {}", e.without_url()))
}

/// Whether a 2xx answer really means accepted: Feishu answers 200 with a non-zero `code` (or,
/// in its older format, `StatusCode`) when it refuses a message, e.g. a bad signature.
fn accepted(channel: Channel, body: &[u8]) -> Result<(), String> {
    if channel != Channel::Feishu {
        return Ok(());
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Ok(());
    };
    let code = v
        .get("code")
        .or_else(|| v.get("StatusCode"))
        .and_then(serde_json::Value::as_i64);
    match code {
        Some(c) if c != 0 => {
            let msg = v
                .get("msg")
                .or_else(|| v.get("StatusMessage"))
                .and_then(serde_json::Value::as_str)
                .unwrap_or("");
            Err(format!(
                "Feishu refused the message: code {c}{}",
                snippet(msg.as_bytes())
            ))
        }
        _ => Ok(()),
    }
}

async fn read_bounded(mut response: reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_BODY - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_BODY {
            break;
        }
    }
    body
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.min(10)))
}

/// `: <first 200 printable characters>` of a receiver's answer, or nothing.
fn snippet(body: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(body)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    let text = text.trim();
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}

/// A transport error without the URL (reqwest errors name it, and webhook URLs are secrets).
fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "cannot connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// `text` with the target's URL, its path and query, and its secret replaced by `***`.
fn redact(text: &str, target: &Target) -> String {
    let mut out = text.to_owned();
    let mut needles = vec![target.url.expose().to_owned()];
    if let Ok(url) = Url::parse(target.url.expose()) {
        needles.push(url.as_str().to_owned());
        if url.path().len() > 1 {
            needles.push(url.path().to_owned());
            needles.extend(
                url.path_segments()
                    .into_iter()
                    .flatten()
                    .filter(|s| s.len() >= 6)
                    .map(str::to_owned),
            );
        }
        if let Some(q) = url.query().filter(|q| !q.is_empty()) {
            needles.push(q.to_owned());
        }
    }
    if let Some(s) = &target.secret {
        needles.push(s.expose().to_owned());
    }
    needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    for n in needles.iter().filter(|n| !n.is_empty()) {
        out = out.replace(n.as_str(), "***");
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]
mod tests {
    use super::*;
    use crate::Secret;

    #[test]
    fn redacts_the_url_its_parts_and_the_secret() {
        let t = Target {
            channel: Channel::Slack,
            url_env: "SLACK_WEBHOOK".into(),
            url: Secret::new(
                "https://hooks.example/services/T000/B000/XXXXXXXXSECRET?token=abc123",
            ),
            secret: Some(Secret::new("hunter22")),
        };
        let text = redact(
            "GET https://hooks.example/services/T000/B000/XXXXXXXXSECRET?token=abc123 and /services/T000/B000/XXXXXXXXSECRET and XXXXXXXXSECRET, token=abc123, hunter22",
            &t,
        );
        assert!(
            !text.contains("SECRET") && !text.contains("abc123") && !text.contains("hunter22"),
            "{text}"
        );
    }

    #[test]
    fn options_from_the_environment() {
        let env = |k: &str| match k {
            "SHIPLANE_NOTIFY_ALLOW_PRIVATE" => Some("1".to_owned()),
            "SHIPLANE_NOTIFY_TIMEOUT_MS" => Some("999999".to_owned()),
            _ => None,
        };
        let o = Options::from_env(&env, 7);
        assert!(o.allow_private);
        assert_eq!(o.deadline, MAX_DEADLINE, "the deadline is never above 10 s");
        assert_eq!(o.timestamp, 7);
        assert!(!Options::from_env(&|_| None, 0).allow_private);
    }

    #[test]
    fn feishu_200_with_a_code_is_a_refusal() {
        assert!(accepted(Channel::Feishu, br#"{"code":0,"msg":"success","data":{}}"#).is_ok());
        assert!(
            accepted(
                Channel::Feishu,
                br#"{"StatusCode":0,"StatusMessage":"success"}"#
            )
            .is_ok()
        );
        let e = accepted(Channel::Feishu, br#"{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}"#).unwrap_err();
        assert!(e.contains("19021") && e.contains("sign match fail"), "{e}");
        assert!(accepted(Channel::Slack, br#"{"code":1}"#).is_ok());
    }
}
