//! What happened, in the terms every channel renders.

use serde::Serialize;

/// The kinds of events (the intent's `on:` values).
pub use shiplane_intent::model::NotifyEvent as EventKind;

/// One thing worth telling people about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The intent's `project`.
    pub project: String,
    /// The lane it happened in.
    pub lane: String,
    /// The release id (`<short commit>-<hash>`).
    pub release_id: String,
    /// The release's version, on versioned lanes.
    pub version: Option<String>,
    /// The source commit the release was built from.
    pub source_commit: String,
    /// The `GitOps` commit that made it so, when there is one.
    pub gitops_commit: Option<String>,
    /// The images, by service.
    pub services: Vec<ServiceImage>,
    /// Who did it.
    pub actor: String,
    /// Links to show (CI run, dashboards…).
    pub links: Vec<Link>,
    /// Why (a rollback's or failure's reason), when there is one.
    pub reason: Option<String>,
}

/// A service and the image digest it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceImage {
    /// The service name.
    pub name: String,
    /// The image digest (`sha256:…`).
    pub digest: String,
}

/// A labelled link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    /// What the link is.
    pub label: String,
    /// Where it goes (`http`/`https` only are rendered as links).
    pub url: String,
}

impl Event {
    /// A one-line title: `shop: promoted prod to v0.3.0`.
    pub fn title(&self) -> String {
        let label = self.label();
        let what = match self.kind {
            EventKind::Promotion => format!("promoted {} to {label}", self.lane),
            EventKind::Rollback => format!("rolled back {} to {label}", self.lane),
            EventKind::Failure => format!("promotion of {label} to {} failed", self.lane),
            EventKind::Approval => format!("{label} waits for approval to enter {}", self.lane),
            EventKind::Publish => format!("published {label} for {}", self.lane),
        };
        format!("{}: {what}", self.project)
    }

    /// The release as people call it: `v0.3.0` on versioned lanes, else its id.
    pub fn label(&self) -> String {
        match &self.version {
            Some(v) => format!("v{}", v.strip_prefix('v').unwrap_or(v)),
            None => self.release_id.clone(),
        }
    }

    /// The kind as the intent spells it (`promotion`, `rollback`…).
    pub fn kind_name(&self) -> &'static str {
        kind_name(self.kind)
    }

    /// Links whose URL is `http` or `https` (others are never rendered as links).
    pub(crate) fn web_links(&self) -> impl Iterator<Item = &Link> {
        self.links
            .iter()
            .filter(|l| l.url.starts_with("https://") || l.url.starts_with("http://"))
    }
}

/// The kind as the intent spells it.
pub fn kind_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Promotion => "promotion",
        EventKind::Rollback => "rollback",
        EventKind::Failure => "failure",
        EventKind::Approval => "approval",
        EventKind::Publish => "publish",
    }
}
