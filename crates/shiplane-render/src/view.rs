//! The lane as a render sees it: names resolved for one lane or one instance of a template
//! lane, templates substituted, the release checked against the lane.
//!
//! Everything lane-wide that more than one object needs (namespace, Argo CD names, labels,
//! annotations) is computed here once, so objects cannot disagree about it. It knows nothing
//! about object shapes.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use shiplane_intent::effective::lane_var;
use shiplane_intent::template::substitute;
use shiplane_intent::{EffectiveIntent, EffectiveLane, EffectiveService};

use crate::{MANAGED_BY, PinnedImage, RenderError, RenderRelease};

/// A lane (or template instance) ready to render.
pub(crate) struct LaneView<'a> {
    /// The whole effective intent.
    pub eff: &'a EffectiveIntent,
    /// The lane (the template, for instances).
    pub lane: &'a EffectiveLane,
    /// The release being rendered.
    pub release: &'a RenderRelease,
    /// Instance name of a template lane.
    pub instance: Option<&'a str>,
    /// Kubernetes namespace of the lane or instance.
    pub namespace: String,
    /// `GitOps` repository.
    pub repo: String,
    /// `GitOps` branch.
    pub branch: String,
    /// `GitOps` directory of the lane or instance (its `manifests/` is below).
    pub path: String,
    /// Lane variables with `{name}` and `{project}` filled in.
    pub vars: BTreeMap<String, String>,
    /// Argo CD `Application` name of the lane or instance.
    pub app_name: String,
}

impl<'a> LaneView<'a> {
    /// Resolves names and checks the release against the lane.
    pub fn new(
        eff: &'a EffectiveIntent,
        lane_name: &str,
        release: &'a RenderRelease,
    ) -> Result<Self, RenderError> {
        let lane = eff
            .lanes
            .get(lane_name)
            .ok_or_else(|| RenderError::UnknownLane {
                lane: lane_name.to_owned(),
            })?;
        let instance = match (lane.template, release.instance.as_deref()) {
            (true, None) => {
                return Err(RenderError::InstanceRequired {
                    lane: lane.name.clone(),
                });
            }
            (false, Some(i)) => {
                return Err(RenderError::NotATemplate {
                    lane: lane.name.clone(),
                    instance: i.to_owned(),
                });
            }
            (true, Some(i)) => {
                if !is_dns_label(i) {
                    return Err(RenderError::InvalidInstance {
                        lane: lane.name.clone(),
                        instance: i.to_owned(),
                        reason: "an instance name must be a DNS-1123 label (lowercase letters, digits and `-`, at most 63 characters)".to_owned(),
                    });
                }
                Some(i)
            }
            (false, None) => None,
        };
        // Argo CD finds its repository credentials by URL; a credential in the address would be
        // committed in the Application and AppProject. `check` refuses such addresses; this is
        // the second guard for callers that did not check.
        let repo = lane
            .gitops
            .repo
            .as_deref()
            .map(|r| shiplane_intent::values::without_credentials(r).into_owned())
            .ok_or_else(|| RenderError::MissingGitops {
                lane: lane.name.clone(),
            })?;
        let project = eff.project.as_str();
        let fill = |text: &str| {
            substitute(text, &|var| match var {
                "name" => instance.map(str::to_owned),
                "project" => Some(project.to_owned()),
                _ => None,
            })
        };
        let namespace = fill(&lane.namespace);
        let path = fill(&lane.gitops.path);
        let vars: BTreeMap<String, String> = lane
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), fill(v)))
            .collect();
        let app_name = match instance {
            Some(i) => format!("{}-{i}", lane.argocd.application),
            None => lane.argocd.application.clone(),
        };
        let view = LaneView {
            eff,
            lane,
            release,
            instance,
            namespace,
            repo,
            branch: lane.gitops.branch.clone(),
            path,
            vars,
            app_name,
        };
        view.check_text(&view.namespace, "namespace")?;
        view.check_text(&view.path, "gitops.path")?;
        if !is_dns_label(&view.namespace) {
            return Err(view.invalid(
                "namespace",
                &view.namespace,
                "is not a DNS-1123 label (at most 63 characters)",
            ));
        }
        if view.app_name.len() > 253 || !is_dns_subdomain(&view.app_name) {
            return Err(view.invalid(
                "argocd.application",
                &view.app_name,
                "is not a valid Kubernetes object name",
            ));
        }
        view.check_images()?;
        Ok(view)
    }

    fn check_images(&self) -> Result<(), RenderError> {
        for service in &self.lane.services {
            let image =
                self.release
                    .images
                    .get(service)
                    .ok_or_else(|| RenderError::MissingImage {
                        lane: self.lane.name.clone(),
                        service: service.clone(),
                    })?;
            check_image(service, image)?;
        }
        if let Some(extra) = self
            .release
            .images
            .keys()
            .find(|s| !self.lane.services.contains(s))
        {
            return Err(RenderError::UnexpectedImage {
                lane: self.lane.name.clone(),
                service: extra.clone(),
            });
        }
        Ok(())
    }

    /// `repository@sha256:…` of a service (checked in [`LaneView::new`]).
    pub fn image_ref(&self, service: &str) -> String {
        self.release
            .images
            .get(service)
            .map(|i| format!("{}@{}", i.repository, i.digest))
            .unwrap_or_default()
    }

    /// Substitutes `{lane.*}`, `{name}`, `{project}` and `{service}` in a service's string and
    /// refuses a variable left without a value.
    pub fn substitute(
        &self,
        text: &str,
        service: Option<&str>,
        field: &str,
    ) -> Result<String, RenderError> {
        let out = substitute(text, &|var| match var {
            "name" => self.instance.map(str::to_owned),
            "project" => Some(self.eff.project.clone()),
            "service" => service.map(str::to_owned),
            _ => lane_var(&self.lane.name, &self.namespace, &self.vars, var),
        });
        self.check_text(&out, field)?;
        Ok(out)
    }

    fn check_text(&self, text: &str, field: &str) -> Result<(), RenderError> {
        // `substitute` leaves unknown variables as written: any hole left is a missing value.
        match shiplane_intent::template::holes(text) {
            Ok(h) if h.is_empty() => Ok(()),
            Ok(_) => Err(RenderError::UnresolvedVariable {
                lane: self.lane.name.clone(),
                field: field.to_owned(),
                text: text.to_owned(),
            }),
            // Not a template at all (a literal with a stray brace): nothing to fill.
            Err(_) => Ok(()),
        }
    }

    /// An [`RenderError::InvalidValue`] for this lane.
    pub fn invalid(&self, field: &str, value: &str, reason: &str) -> RenderError {
        RenderError::InvalidValue {
            lane: self.lane.name.clone(),
            field: field.to_owned(),
            value: value.to_owned(),
            reason: reason.to_owned(),
        }
    }

    /// `app.kubernetes.io/*` labels of an object that belongs to `name` (a service, or the
    /// project for lane-wide objects).
    pub fn labels(&self, name: &str) -> Map<String, Value> {
        let mut m = self.pod_labels(name);
        if let Some(v) = &self.release.version {
            m.insert("app.kubernetes.io/version".into(), json!(label_value(v)));
        }
        m
    }

    /// Labels of a pod template: the object labels without the version, so that a release
    /// that does not change a service's image or settings does not restart its pods.
    pub fn pod_labels(&self, name: &str) -> Map<String, Value> {
        let mut m = self.selector(name);
        m.insert("app.kubernetes.io/part-of".into(), json!(self.eff.project));
        m.insert("app.kubernetes.io/managed-by".into(), json!(MANAGED_BY));
        m
    }

    /// The immutable selector of a service's pods.
    pub fn selector(&self, name: &str) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("app.kubernetes.io/name".into(), json!(name));
        // The Argo CD application name, which is also what Argo CD's label tracking expects.
        m.insert("app.kubernetes.io/instance".into(), json!(self.app_name));
        m
    }

    /// Release annotations every lane object carries.
    pub fn annotations(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(
            "shiplane.dev/release".into(),
            json!(self.release.release_id),
        );
        m.insert(
            "shiplane.dev/source-commit".into(),
            json!(self.release.source_commit),
        );
        if let Some(v) = &self.release.version {
            m.insert("shiplane.dev/version".into(), json!(v));
        }
        m
    }

    /// `metadata` of a lane object.
    pub fn metadata(&self, name: &str, owner: &str) -> Value {
        json!({
            "name": name,
            "labels": self.labels(owner),
            "annotations": self.annotations(),
        })
    }
}

/// The `ServiceAccount` a service runs as: `run.service_account`, else one named after it.
pub(crate) fn service_account_name(svc: &EffectiveService) -> String {
    svc.run
        .service_account
        .clone()
        .unwrap_or_else(|| svc.name.clone())
}

fn check_image(service: &str, image: &PinnedImage) -> Result<(), RenderError> {
    let bad = |reason: String| RenderError::InvalidImage {
        service: service.to_owned(),
        reason,
    };
    let hex = image.digest.strip_prefix("sha256:").ok_or_else(|| {
        bad(format!(
            "digest `{}` is not a `sha256:` digest",
            image.digest
        ))
    })?;
    if hex.len() != 64
        || !hex
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    {
        return Err(bad(format!(
            "digest `{}` must be `sha256:` and 64 lowercase hex digits",
            image.digest
        )));
    }
    let repo = &image.repository;
    let last = repo.rsplit('/').next().unwrap_or_default();
    if repo.is_empty()
        || repo.contains('@')
        || last.contains(':')
        || repo
            .chars()
            .any(|c| c.is_whitespace() || c.is_ascii_uppercase())
    {
        return Err(bad(format!(
            "repository `{repo}` must be a lowercase repository without tag or digest"
        )));
    }
    Ok(())
}

/// A DNS-1123 label: lowercase alphanumerics and `-`, alphanumeric at both ends, ≤ 63.
pub(crate) fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A DNS-1123 subdomain: dot-separated labels, ≤ 253.
pub(crate) fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// A valid label value from any text: characters outside `[A-Za-z0-9._-]` become `_`, at most
/// 63 characters, alphanumeric at both ends. The exact text stays in an annotation.
pub(crate) fn label_value(s: &str) -> String {
    let mapped: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(63)
        .collect();
    mapped
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_valid() {
        assert_eq!(label_value("1.4.0"), "1.4.0");
        assert_eq!(label_value("v1.2.3+build.5"), "v1.2.3_build.5");
        assert_eq!(label_value("-x-"), "x");
        assert_eq!(label_value(&"a".repeat(80)).len(), 63);
    }

    #[test]
    fn dns_names() {
        assert!(is_dns_label("pr-123"));
        assert!(!is_dns_label("PR-123"));
        assert!(!is_dns_label("-a"));
        assert!(!is_dns_label(&"a".repeat(64)));
        assert!(is_dns_subdomain("agentrun-g14-v01"));
        assert!(is_dns_subdomain("a.b-c"));
        assert!(!is_dns_subdomain("a..b"));
    }

    #[test]
    fn images_must_be_pinned() {
        let ok = PinnedImage {
            repository: "127.0.0.1:5000/agentrun/mgr".into(),
            digest: format!("sha256:{}", "a".repeat(64)),
        };
        assert!(check_image("s", &ok).is_ok());
        for (repo, digest) in [
            ("r/x:tag", ok.digest.as_str()),
            ("r/x@sha256:aa", ok.digest.as_str()),
            ("R/X", ok.digest.as_str()),
            ("r/x", "sha256:abc"),
            ("r/x", "md5:abc"),
        ] {
            let bad = PinnedImage {
                repository: repo.into(),
                digest: digest.into(),
            };
            assert!(check_image("s", &bad).is_err(), "{repo} {digest}");
        }
    }
}
