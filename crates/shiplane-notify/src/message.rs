//! Message bodies and signatures: pure, deterministic given the timestamp.
//!
//! Free text (actor, reason, link labels) only ever goes into plain-text elements; markdown
//! elements carry names, ids and digests, escaped for the channel's markdown.

use std::fmt::Write as _;

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::event::{Event, EventKind};
use crate::targets::Channel;

/// The version of the generic webhook body's format (`"format"` in the body).
pub const WEBHOOK_FORMAT: u32 = 1;
/// The generic webhook's signature header: `sha256=<hex HMAC-SHA256 of the raw body>`.
pub const SIGNATURE_HEADER: &str = "X-Shiplane-Signature-256";
/// The generic webhook's timestamp header (seconds since the epoch, also in the body).
pub const TIMESTAMP_HEADER: &str = "X-Shiplane-Timestamp";
/// The generic webhook's event header (`promotion`, `rollback`…).
pub const EVENT_HEADER: &str = "X-Shiplane-Event";

/// At most this many services are listed; the rest are counted.
const MAX_SERVICES: usize = 30;
/// At most this many links become buttons.
const MAX_LINKS: usize = 5;

type HmacSha256 = Hmac<Sha256>;

/// A request body and the headers that go with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// Headers besides `Content-Type: application/json`.
    pub headers: Vec<(&'static str, String)>,
    /// The exact bytes to send (and, for the webhook, that were signed).
    pub body: Vec<u8>,
}

/// The body and headers for `channel`, at `timestamp` (seconds since the epoch).
pub fn prepare(channel: Channel, event: &Event, timestamp: u64, secret: Option<&str>) -> Prepared {
    match channel {
        Channel::Feishu => Prepared {
            headers: Vec::new(),
            body: to_bytes(&feishu_body(event, timestamp, secret)),
        },
        Channel::Slack => Prepared {
            headers: Vec::new(),
            body: to_bytes(&slack_body(event)),
        },
        Channel::Webhook => {
            let body = webhook_body(event, timestamp);
            let mut headers = vec![
                (EVENT_HEADER, event.kind_name().to_owned()),
                (TIMESTAMP_HEADER, timestamp.to_string()),
            ];
            if let Some(secret) = secret {
                headers.push((SIGNATURE_HEADER, webhook_signature(secret, &body)));
            }
            Prepared { headers, body }
        }
    }
}

fn to_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// Feishu/Lark's custom bot signature: base64 of HMAC-SHA256 keyed by
/// `timestamp + "\n" + secret` over an empty message.
pub fn feishu_sign(timestamp: u64, secret: &str) -> String {
    let key = format!("{timestamp}\n{secret}");
    let mac = HmacSha256::new_from_slice(key.as_bytes())
        .expect("HMAC accepts keys of any length")
        .finalize()
        .into_bytes();
    base64::engine::general_purpose::STANDARD.encode(mac)
}

/// The generic webhook's signature header value: `sha256=` and the hex HMAC-SHA256 of `body`
/// keyed by `secret`.
pub fn webhook_signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The header colour of a Feishu card for `kind`.
pub fn feishu_template(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Promotion => "green",
        EventKind::Rollback => "orange",
        EventKind::Failure => "red",
        EventKind::Approval => "yellow",
        EventKind::Publish => "blue",
    }
}

/// A Feishu/Lark custom bot message: an interactive card, signed when `secret` is given.
pub fn feishu_body(event: &Event, timestamp: u64, secret: Option<&str>) -> Value {
    let field = |name: &str, value: &str| json!({"is_short": true, "text": {"tag": "lark_md", "content": format!("**{name}**\n{value}")}});
    let mut fields = vec![
        field("Lane", &lark_escape(&event.lane)),
        field(
            "Version",
            &lark_escape(event.version.as_deref().unwrap_or("—")),
        ),
        field("Release", &lark_escape(&event.release_id)),
        field("Commit", &lark_escape(short(&event.source_commit, 12))),
    ];
    if let Some(c) = &event.gitops_commit {
        fields.push(field("GitOps commit", &lark_escape(short(c, 12))));
    }
    let mut elements = vec![json!({"tag": "div", "fields": fields})];
    if !event.services.is_empty() {
        let mut lines = vec!["**Services**".to_owned()];
        lines.extend(
            event
                .services
                .iter()
                .take(MAX_SERVICES)
                .map(|s| format!("{}  `{}`", lark_escape(&s.name), code_safe(&s.digest))),
        );
        if let Some(more) = event
            .services
            .len()
            .checked_sub(MAX_SERVICES)
            .filter(|n| *n > 0)
        {
            lines.push(format!("… and {more} more"));
        }
        elements
            .push(json!({"tag": "div", "text": {"tag": "lark_md", "content": lines.join("\n")}}));
    }
    if let Some(reason) = &event.reason {
        elements.push(
            json!({"tag": "div", "text": {"tag": "plain_text", "content": format!("Reason: {reason}")}}),
        );
    }
    let buttons: Vec<Value> = event
        .web_links()
        .take(MAX_LINKS)
        .map(|l| {
            json!({"tag": "button", "text": {"tag": "plain_text", "content": l.label}, "type": "default", "url": l.url})
        })
        .collect();
    if !buttons.is_empty() {
        elements.push(json!({"tag": "action", "actions": buttons}));
    }
    elements.push(json!({"tag": "note", "elements": [
        {"tag": "plain_text", "content": format!("{} by {}", event.kind_name(), event.actor)}
    ]}));
    let card = json!({
        "config": {"wide_screen_mode": true},
        "header": {
            "template": feishu_template(event.kind),
            "title": {"tag": "plain_text", "content": event.title()},
        },
        "elements": elements,
    });
    match secret {
        Some(secret) => json!({
            "timestamp": timestamp.to_string(),
            "sign": feishu_sign(timestamp, secret),
            "msg_type": "interactive",
            "card": card,
        }),
        None => json!({"msg_type": "interactive", "card": card}),
    }
}

/// A Slack incoming-webhook message: `text` (notifications and fallback) and `blocks`.
pub fn slack_body(event: &Event) -> Value {
    let title = event.title();
    let field =
        |name: &str, value: &str| json!({"type": "mrkdwn", "text": format!("*{name}*\n{value}")});
    let mut fields = vec![
        field("Lane", &slack_escape(&event.lane)),
        field(
            "Version",
            &slack_escape(event.version.as_deref().unwrap_or("—")),
        ),
        field("Release", &slack_escape(&event.release_id)),
        field(
            "Commit",
            &format!("`{}`", code_safe(short(&event.source_commit, 12))),
        ),
    ];
    if let Some(c) = &event.gitops_commit {
        fields.push(field(
            "GitOps commit",
            &format!("`{}`", code_safe(short(c, 12))),
        ));
    }
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": truncate(&title, 150), "emoji": true}}),
        json!({"type": "section", "fields": fields}),
    ];
    if !event.services.is_empty() {
        let mut text = "*Services*".to_owned();
        let mut shown = 0;
        for s in event.services.iter().take(MAX_SERVICES) {
            let line = format!("\n{}  `{}`", slack_escape(&s.name), code_safe(&s.digest));
            if text.len() + line.len() > 2_900 {
                break;
            }
            text.push_str(&line);
            shown += 1;
        }
        if shown < event.services.len() {
            let _ = write!(text, "\n… and {} more", event.services.len() - shown);
        }
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": text}}));
    }
    if let Some(reason) = &event.reason {
        blocks.push(json!({"type": "section", "text": {"type": "plain_text", "text": truncate(&format!("Reason: {reason}"), 3_000)}}));
    }
    let buttons: Vec<Value> = event
        .web_links()
        .take(MAX_LINKS)
        .map(|l| json!({"type": "button", "text": {"type": "plain_text", "text": truncate(&l.label, 75)}, "url": l.url}))
        .collect();
    if !buttons.is_empty() {
        blocks.push(json!({"type": "actions", "elements": buttons}));
    }
    blocks.push(json!({"type": "context", "elements": [
        {"type": "plain_text", "text": truncate(&format!("{} by {}", event.kind_name(), event.actor), 2_000)}
    ]}));
    json!({"text": slack_escape(&title), "blocks": blocks})
}

/// The generic webhook's body (the exact bytes that are signed).
pub fn webhook_body(event: &Event, timestamp: u64) -> Vec<u8> {
    to_bytes(&json!({
        "format": WEBHOOK_FORMAT,
        "event": event.kind_name(),
        "timestamp": timestamp,
        "title": event.title(),
        "project": event.project,
        "lane": event.lane,
        "release_id": event.release_id,
        "version": event.version,
        "source_commit": event.source_commit,
        "gitops_commit": event.gitops_commit,
        "services": event.services,
        "actor": event.actor,
        "links": event.links,
        "reason": event.reason,
    }))
}

fn short(s: &str, n: usize) -> &str {
    s.get(..n).unwrap_or(s)
}

/// At most `max` characters, with `…` when cut.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Slack's three control characters (its docs: "escape &, < and >").
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Feishu `lark_md`: markdown and HTML-ish characters as entities, so a name cannot format.
fn lark_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' | '<' | '>' | '*' | '_' | '~' | '`' | '[' | ']' | '(' | ')' | '#' | '\\' => {
                let _ = write!(out, "&#{};", u32::from(c));
            }
            _ => out.push(c),
        }
    }
    out
}

/// Text safe inside a code span: no backticks or newlines.
fn code_safe(s: &str) -> String {
    s.chars()
        .map(|c| if c == '`' || c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]
mod tests {
    use super::*;
    use crate::event::{Link, ServiceImage};

    pub(crate) fn event() -> Event {
        Event {
            kind: EventKind::Promotion,
            project: "shop".into(),
            lane: "prod".into(),
            release_id: "0123abc-89abcdef".into(),
            version: Some("0.3.0".into()),
            source_commit: "0123abcdef0123abcdef0123abcdef0123abcdef".into(),
            gitops_commit: Some("fedcba9876543210fedcba9876543210fedcba98".into()),
            services: vec![
                ServiceImage {
                    name: "api".into(),
                    digest: format!("sha256:{}", "a".repeat(64)),
                },
                ServiceImage {
                    name: "web".into(),
                    digest: format!("sha256:{}", "b".repeat(64)),
                },
            ],
            actor: "alice <a&b>".into(),
            links: vec![
                Link {
                    label: "CI run".into(),
                    url: "https://ci.example/run/1".into(),
                },
                Link {
                    label: "not a link".into(),
                    url: "javascript:alert(1)".into(),
                },
            ],
            reason: None,
        }
    }

    /// RFC 4231 test case 2 (key "Jefe"): an independent check that the HMAC is HMAC-SHA256.
    #[test]
    fn webhook_signature_matches_rfc_4231() {
        assert_eq!(
            webhook_signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    /// Feishu's algorithm, written out independently: HMAC-SHA256 with key
    /// `timestamp\nsecret` over nothing, computed here from the RFC 2104 definition with
    /// plain SHA-256, then base64.
    #[test]
    fn feishu_sign_follows_the_documented_algorithm() {
        use sha2::Digest as _;
        fn hmac_by_hand(key: &[u8], msg: &[u8]) -> Vec<u8> {
            let mut k = [0u8; 64];
            if key.len() > 64 {
                k[..32].copy_from_slice(&Sha256::digest(key));
            } else {
                k[..key.len()].copy_from_slice(key);
            }
            let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
            let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
            let inner = Sha256::digest([ipad.as_slice(), msg].concat());
            Sha256::digest([opad.as_slice(), inner.as_slice()].concat()).to_vec()
        }
        for (ts, secret) in [
            (1_599_360_473_u64, "demo"),
            (1_700_000_000, &"s".repeat(100)),
        ] {
            let expected = base64::engine::general_purpose::STANDARD
                .encode(hmac_by_hand(format!("{ts}\n{secret}").as_bytes(), b""));
            assert_eq!(feishu_sign(ts, secret), expected);
        }
        // A fixed vector, so a change of algorithm cannot pass unnoticed.
        // (Python: base64(hmac.new(b"1599360473\ndemo", b"", sha256).digest())).
        assert_eq!(
            feishu_sign(1_599_360_473, "demo"),
            "l1N0gAcBjdwBvGm1xMjOF0XSyaLRpR7tuO5dHfhAYc8="
        );
    }

    #[test]
    fn feishu_card_is_signed_and_complete() {
        let body = feishu_body(&event(), 1_700_000_000, Some("sekrit"));
        assert_eq!(body["msg_type"], "interactive");
        assert_eq!(body["timestamp"], "1700000000");
        assert_eq!(body["sign"], feishu_sign(1_700_000_000, "sekrit"));
        assert_eq!(body["card"]["header"]["template"], "green");
        assert_eq!(
            body["card"]["header"]["title"]["content"],
            "shop: promoted prod to v0.3.0"
        );
        let text = body.to_string();
        for want in [
            "**Lane**\\nprod",
            "**Version**\\n0.3.0",
            "0123abcdef01",
            "api  `sha256:aaaa",
            "https://ci.example/run/1",
        ] {
            assert!(text.contains(want), "{want} missing from {text}");
        }
        assert!(
            !text.contains("javascript:"),
            "only http(s) links become buttons"
        );
        assert!(!text.contains("sekrit"));
        let unsigned = feishu_body(&event(), 1_700_000_000, None);
        assert!(unsigned.get("sign").is_none() && unsigned.get("timestamp").is_none());
    }

    #[test]
    fn colours_differ_by_kind() {
        let mut e = event();
        e.kind = EventKind::Rollback;
        e.reason = Some("**bad** deploy".into());
        let body = feishu_body(&e, 1, None);
        assert_eq!(body["card"]["header"]["template"], "orange");
        assert!(
            body.to_string()
                .contains(r#"{"tag":"plain_text","content":"Reason: **bad** deploy"}"#)
        );
        e.kind = EventKind::Failure;
        assert_eq!(
            feishu_body(&e, 1, None)["card"]["header"]["template"],
            "red"
        );
    }

    #[test]
    fn slack_message_escapes_and_lists() {
        let body = slack_body(&event());
        assert_eq!(body["text"], "shop: promoted prod to v0.3.0");
        assert_eq!(body["blocks"][0]["type"], "header");
        let text = body.to_string();
        assert!(text.contains("*Services*\\napi  `sha256:aaaa"));
        assert!(text.contains(r#""url":"https://ci.example/run/1""#));
        assert!(
            text.contains("promotion by alice <a&b>"),
            "plain text is not escaped: {text}"
        );
        let mut e = event();
        e.lane = "a<b>&c".into();
        assert!(slack_body(&e).to_string().contains("a&lt;b&gt;&amp;c"));
    }

    #[test]
    fn many_services_are_counted_not_listed() {
        let mut e = event();
        e.services = (0..100)
            .map(|i| ServiceImage {
                name: format!("svc{i}"),
                digest: format!("sha256:{}", "c".repeat(64)),
            })
            .collect();
        assert!(
            feishu_body(&e, 1, None)
                .to_string()
                .contains("… and 70 more")
        );
        assert!(slack_body(&e).to_string().contains("… and 70 more"));
    }

    #[test]
    fn webhook_is_signed_over_the_exact_body() {
        let p = prepare(Channel::Webhook, &event(), 1_700_000_000, Some("k"));
        let sig = p
            .headers
            .iter()
            .find(|(h, _)| *h == SIGNATURE_HEADER)
            .unwrap();
        assert_eq!(sig.1, webhook_signature("k", &p.body));
        assert!(
            p.headers
                .contains(&(TIMESTAMP_HEADER, "1700000000".to_owned()))
        );
        assert!(p.headers.contains(&(EVENT_HEADER, "promotion".to_owned())));
        let v: Value = serde_json::from_slice(&p.body).unwrap();
        assert_eq!(v["format"], 1);
        assert_eq!(v["timestamp"], 1_700_000_000);
        assert_eq!(v["services"][1]["name"], "web");
        // Deterministic given the timestamp.
        assert_eq!(
            p,
            prepare(Channel::Webhook, &event(), 1_700_000_000, Some("k"))
        );
        let unsigned = prepare(Channel::Webhook, &event(), 1, None);
        assert!(!unsigned.headers.iter().any(|(h, _)| *h == SIGNATURE_HEADER));
    }

    #[test]
    fn lark_markdown_cannot_be_injected_through_names() {
        assert_eq!(lark_escape("a*b[c](d)"), "a&#42;b&#91;c&#93;&#40;d&#41;");
        assert_eq!(truncate("abcdef", 4), "abc…");
    }
}
