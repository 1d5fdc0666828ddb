//! Which targets an event goes to, with their URLs and secrets read through a lookup (the
//! environment in the binary, a map in tests).

use serde::Serialize;
use shiplane_intent::model::Notify;

use crate::event::EventKind;

pub use shiplane_http::Secret;

/// How a target is spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Feishu/Lark custom bot.
    Feishu,
    /// Slack incoming webhook.
    Slack,
    /// Generic JSON webhook.
    Webhook,
}

impl Channel {
    /// `feishu`, `slack` or `webhook`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Feishu => "feishu",
            Self::Slack => "slack",
            Self::Webhook => "webhook",
        }
    }
}

/// One target, ready to send to. Named by the environment variable holding its URL, which is
/// safe to show; the URL and secret are not.
#[derive(Debug, Clone)]
pub struct Target {
    /// How to speak to it.
    pub channel: Channel,
    /// The environment variable the URL came from (shown in reports).
    pub url_env: String,
    /// The URL.
    pub url: Secret,
    /// The signing secret, when the target has one.
    pub secret: Option<Secret>,
}

impl Target {
    /// `feishu (FEISHU_WEBHOOK)`: how reports name the target.
    pub fn label(&self) -> String {
        format!("{} ({})", self.channel.name(), self.url_env)
    }
}

/// The targets of `notify` that want `kind` (an empty `on:` wants everything), with URLs and
/// secrets looked up by `env`. A target whose URL or secret variable is unset or empty is
/// returned in the second list, with what is missing.
pub fn select_targets(
    notify: &[Notify],
    kind: EventKind,
    env: &dyn Fn(&str) -> Option<String>,
) -> (Vec<Target>, Vec<(String, String)>) {
    let mut ready = Vec::new();
    let mut missing = Vec::new();
    let lookup = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    for n in notify {
        if !n.on.is_empty() && !n.on.contains(&kind) {
            continue;
        }
        let (channel, url_env, secret_env) = if let Some(f) = &n.feishu {
            (Channel::Feishu, &f.webhook_env, f.secret_env.as_ref())
        } else if let Some(s) = &n.slack {
            (Channel::Slack, &s.webhook_env, None)
        } else if let Some(w) = &n.webhook {
            (Channel::Webhook, &w.url_env, w.secret_env.as_ref())
        } else {
            continue;
        };
        let label = format!("{} ({url_env})", channel.name());
        let Some(url) = lookup(url_env) else {
            missing.push((label, format!("{url_env} is not set")));
            continue;
        };
        let mut secret = None;
        if let Some(name) = secret_env {
            let Some(v) = lookup(name) else {
                // Sending unsigned where the intent asks for a signature would be refused by
                // the receiver (or worse, accepted): say so instead.
                missing.push((label, format!("{name} (the signing secret) is not set")));
                continue;
            };
            secret = Some(Secret::new(v));
        }
        ready.push(Target {
            channel,
            url_env: url_env.clone(),
            url: Secret::new(url.trim()),
            secret,
        });
    }
    (ready, missing)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]
mod tests {
    use super::*;
    use shiplane_intent::model::{FeishuTarget, SlackTarget, WebhookTarget};

    fn notify() -> Vec<Notify> {
        vec![
            Notify {
                feishu: Some(FeishuTarget {
                    webhook_env: "FEISHU_WEBHOOK".into(),
                    secret_env: Some("FEISHU_SECRET".into()),
                }),
                slack: None,
                webhook: None,
                on: vec![EventKind::Promotion, EventKind::Rollback],
            },
            Notify {
                feishu: None,
                slack: Some(SlackTarget {
                    webhook_env: "SLACK_WEBHOOK".into(),
                }),
                webhook: None,
                on: vec![EventKind::Failure],
            },
            Notify {
                feishu: None,
                slack: None,
                webhook: Some(WebhookTarget {
                    url_env: "HOOK_URL".into(),
                    secret_env: None,
                }),
                on: vec![],
            },
        ]
    }

    #[test]
    fn filters_by_event_and_reads_the_environment() {
        let env = |k: &str| match k {
            "FEISHU_WEBHOOK" => Some("https://open.feishu.cn/x".to_owned()),
            "FEISHU_SECRET" => Some("s3".to_owned()),
            "HOOK_URL" => Some(" https://hooks.example/x \n".to_owned()),
            _ => None,
        };
        let (ready, missing) = select_targets(&notify(), EventKind::Promotion, &env);
        let names: Vec<_> = ready.iter().map(Target::label).collect();
        assert_eq!(names, ["feishu (FEISHU_WEBHOOK)", "webhook (HOOK_URL)"]);
        assert_eq!(ready[0].secret.as_ref().unwrap().expose(), "s3");
        assert_eq!(ready[1].url.expose(), "https://hooks.example/x");
        assert!(missing.is_empty());
        let (ready, missing) = select_targets(&notify(), EventKind::Failure, &env);
        assert_eq!(ready.len(), 1, "the webhook wants everything");
        assert_eq!(
            missing,
            [(
                "slack (SLACK_WEBHOOK)".to_owned(),
                "SLACK_WEBHOOK is not set".to_owned()
            )]
        );
        assert!(
            !format!("{ready:?}").contains("hooks.example"),
            "Debug hides URLs"
        );
    }

    #[test]
    fn a_missing_secret_is_reported_not_sent_unsigned() {
        let env = |k: &str| (k == "FEISHU_WEBHOOK").then(|| "https://x.example/".to_owned());
        let (ready, missing) = select_targets(&notify()[..1], EventKind::Rollback, &env);
        assert!(ready.is_empty());
        assert_eq!(
            missing[0].1,
            "FEISHU_SECRET (the signing secret) is not set"
        );
    }
}
