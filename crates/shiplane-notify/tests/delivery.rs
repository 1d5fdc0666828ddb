#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]
//! Sending to a local receiver: the exact bytes and signatures each channel documents,
//! retries, the deadline, SSRF refusals and redaction.

use std::time::{Duration, Instant};

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use serde_json::Value;
use sha2::Sha256;
use shiplane_notify::testing::{Receiver, Reply};
use shiplane_notify::{
    Channel, Delivery, Event, EventKind, Link, Options, Outcome, Secret, ServiceImage, Target,
    message, send_blocking,
};

const TS: u64 = 1_795_370_645;

fn event() -> Event {
    Event {
        kind: EventKind::Promotion,
        project: "shop".into(),
        lane: "prod".into(),
        release_id: "0123abc-89abcdef".into(),
        version: Some("0.3.0".into()),
        source_commit: "0123abcdef0123abcdef0123abcdef0123abcdef".into(),
        gitops_commit: Some("fedcba9876543210fedcba9876543210fedcba98".into()),
        services: vec![ServiceImage {
            name: "api".into(),
            digest: format!("sha256:{}", "a".repeat(64)),
        }],
        actor: "alice".into(),
        links: vec![Link {
            label: "CI run".into(),
            url: "https://ci.example/run/1".into(),
        }],
        reason: None,
    }
}

fn target(channel: Channel, url: String, secret: Option<&str>) -> Target {
    Target {
        channel,
        url_env: "HOOK_URL".into(),
        url: Secret::new(url),
        secret: secret.map(Secret::new),
    }
}

fn options() -> Options {
    Options {
        allow_private: true,
        timestamp: TS,
        ..Options::default()
    }
}

fn hmac(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

fn one(t: &Target, o: &Options) -> Delivery {
    let mut d = send_blocking(&event(), std::slice::from_ref(t), o);
    assert_eq!(d.len(), 1);
    d.remove(0)
}

#[test]
fn feishu_gets_a_signed_interactive_card() {
    let rx = Receiver::start(vec![Reply::Status(
        200,
        r#"{"code":0,"msg":"success","data":{}}"#.into(),
    )])
    .unwrap();
    let t = target(
        Channel::Feishu,
        rx.url("/open-apis/bot/v2/hook/tok"),
        Some("feishu-secret"),
    );
    let d = one(&t, &options());
    assert_eq!(d.outcome, Outcome::Sent, "{d:?}");
    assert_eq!((d.attempts, d.status), (1, Some(200)));
    let got = rx.received();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/open-apis/bot/v2/hook/tok")
    );
    assert_eq!(r.headers["content-type"], "application/json");
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    // The documented signature, computed here: key = timestamp + "\n" + secret, message empty.
    let expected_sign = base64::engine::general_purpose::STANDARD
        .encode(hmac(format!("{TS}\nfeishu-secret").as_bytes(), b""));
    assert_eq!(body["timestamp"], TS.to_string());
    assert_eq!(body["sign"], expected_sign);
    assert_eq!(body["msg_type"], "interactive");
    assert_eq!(body["card"]["header"]["template"], "green");
    assert_eq!(
        body["card"]["header"]["title"]["content"],
        "shop: promoted prod to v0.3.0"
    );
    // Exactly the bytes the pure builder makes.
    assert_eq!(
        r.body,
        serde_json::to_vec(&message::feishu_body(&event(), TS, Some("feishu-secret"))).unwrap()
    );
}

#[test]
fn slack_gets_text_and_blocks() {
    let rx = Receiver::start(vec![Reply::Status(200, "ok".into())]).unwrap();
    let t = target(Channel::Slack, rx.url("/services/T0/B0/xyz"), None);
    assert_eq!(one(&t, &options()).outcome, Outcome::Sent);
    let r = &rx.received()[0];
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["text"], "shop: promoted prod to v0.3.0");
    assert_eq!(body["blocks"][0]["type"], "header");
    assert_eq!(body, message::slack_body(&event()));
    assert!(!r.headers.contains_key("x-shiplane-signature-256"));
}

#[test]
fn webhook_is_signed_over_the_raw_body() {
    let rx = Receiver::start(vec![Reply::Status(204, String::new())]).unwrap();
    let t = target(Channel::Webhook, rx.url("/hook"), Some("whsec"));
    assert_eq!(one(&t, &options()).outcome, Outcome::Sent);
    let r = &rx.received()[0];
    let expected = format!("sha256={}", hex::encode(hmac(b"whsec", &r.body)));
    assert_eq!(r.headers["x-shiplane-signature-256"], expected);
    assert_eq!(r.headers["x-shiplane-timestamp"], TS.to_string());
    assert_eq!(r.headers["x-shiplane-event"], "promotion");
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["timestamp"], TS);
    assert_eq!(body["event"], "promotion");
    assert_eq!(body["release_id"], "0123abc-89abcdef");
    assert_eq!(
        body["services"][0]["digest"],
        format!("sha256:{}", "a".repeat(64))
    );
    assert_eq!(r.body, message::webhook_body(&event(), TS));
}

#[test]
fn server_errors_are_retried() {
    let rx = Receiver::start(vec![
        Reply::Status(500, "oops".into()),
        Reply::Status(500, "oops".into()),
        Reply::Status(200, "ok".into()),
    ])
    .unwrap();
    let t = target(Channel::Webhook, rx.url("/hook"), Some("k"));
    let d = one(&t, &options());
    assert_eq!(d.outcome, Outcome::Sent, "{d:?}");
    assert_eq!(d.attempts, 3);
    let got = rx.received();
    assert_eq!(got.len(), 3);
    assert!(
        got.windows(2).all(|w| w[0].body == w[1].body),
        "a retry sends the same signed bytes"
    );
}

#[test]
fn client_errors_and_feishu_refusals_are_not_retried() {
    let rx = Receiver::start(vec![Reply::Status(404, "no_service".into())]).unwrap();
    let d = one(&target(Channel::Slack, rx.url("/x"), None), &options());
    assert_eq!(
        (d.outcome, d.attempts, d.status),
        (Outcome::Failed, 1, Some(404))
    );
    assert!(d.error.as_deref().unwrap().contains("no_service"), "{d:?}");

    let rx = Receiver::start(vec![Reply::Status(
        200,
        r#"{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}"#.into(),
    )])
    .unwrap();
    let d = one(
        &target(Channel::Feishu, rx.url("/x"), Some("s")),
        &options(),
    );
    assert_eq!((d.outcome, d.attempts), (Outcome::Failed, 1));
    assert!(d.error.as_deref().unwrap().contains("19021"), "{d:?}");
    assert_eq!(rx.received().len(), 1);
}

#[test]
fn a_silent_receiver_costs_at_most_the_deadline() {
    let rx = Receiver::start(vec![Reply::Hang, Reply::Hang, Reply::Hang, Reply::Hang]).unwrap();
    let o = Options {
        deadline: Duration::from_millis(1_500),
        attempt_timeout: Duration::from_millis(600),
        ..options()
    };
    let slow = target(Channel::Webhook, rx.url("/hook"), None);
    let fine = Receiver::start(vec![]).unwrap();
    let ok = target(Channel::Slack, fine.url("/ok"), None);
    let start = Instant::now();
    let d = send_blocking(&event(), &[slow, ok], &o);
    let took = start.elapsed();
    assert!(took < Duration::from_millis(2_500), "took {took:?}");
    assert_eq!(d[0].outcome, Outcome::Failed, "{d:?}");
    assert!(d[0].attempts >= 2, "retried after a timeout: {d:?}");
    assert_eq!(
        d[1].outcome,
        Outcome::Sent,
        "one slow target does not hold up another"
    );
}

#[test]
fn internal_addresses_are_refused_without_the_flag() {
    let rx = Receiver::start(vec![]).unwrap();
    let strict = Options {
        allow_private: false,
        ..options()
    };
    let port = rx.url("").rsplit(':').next().unwrap().to_owned();
    for (url, class) in [
        (rx.url("/hook"), "a loopback address"),
        (
            format!("http://localhost:{port}/hook"),
            "a loopback address",
        ),
        ("http://10.1.2.3/hook".to_owned(), "a private address"),
        (
            "http://169.254.169.254/latest/meta-data".to_owned(),
            "a cloud metadata address",
        ),
        (
            "http://[fd00:ec2::254]/".to_owned(),
            "a cloud metadata address",
        ),
        ("http://[::1]:9/".to_owned(), "a loopback address"),
    ] {
        let d = one(&target(Channel::Webhook, url.clone(), None), &strict);
        assert_eq!(d.outcome, Outcome::Failed, "{url}");
        assert_eq!(d.attempts, 0, "{url}: nothing was sent");
        let why = d.error.unwrap();
        assert!(
            why.starts_with("refused: ") && why.contains(class),
            "{url}: {why}"
        );
    }
    // Metadata stays refused even with the flag.
    let d = one(
        &target(Channel::Webhook, "http://169.254.169.254/".into(), None),
        &options(),
    );
    assert!(d.error.unwrap().contains("cloud metadata"));
    assert!(rx.received().is_empty());
    // Only http and https.
    let d = one(
        &target(Channel::Webhook, "file:///etc/passwd".into(), None),
        &options(),
    );
    assert_eq!(d.error.unwrap(), "HOOK_URL must be an http or https URL");
}

#[test]
fn secrets_never_appear_in_reports() {
    let token = "T0KEN-d34db33f-very-secret";
    let rx = Receiver::start(vec![Reply::Status(
        400,
        format!("bad request to /hooks/{token} signed with whsec-s3cr3t"),
    )])
    .unwrap();
    let url = rx.url(&format!("/hooks/{token}?key=qu3ry-s3cr3t"));
    let t = target(Channel::Webhook, url.clone(), Some("whsec-s3cr3t"));
    let failed = one(&t, &options());
    assert_eq!(failed.outcome, Outcome::Failed);
    // A connection error names nothing either.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        format!("http://127.0.0.1:{port}/hooks/{token}")
    };
    let refused = one(&target(Channel::Slack, closed, None), &options());
    assert_eq!(refused.outcome, Outcome::Failed);
    for d in [&failed, &refused] {
        let shown = format!(
            "{d:?}\n{}\n{}\n{t:?}",
            serde_json::to_string(d).unwrap(),
            d.warning().unwrap()
        );
        for secret in [token, "whsec-s3cr3t", "qu3ry-s3cr3t", url.as_str()] {
            assert!(!shown.contains(secret), "{secret} leaked: {shown}");
        }
        assert!(shown.contains("webhook (HOOK_URL)") || shown.contains("slack (HOOK_URL)"));
    }
}
