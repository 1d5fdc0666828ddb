//! Shiplane rendering: a lane's desired state as Kubernetes and Argo CD manifests (SPEC §8), and
//! the in-place edits of the `helm-values` and `kustomize-images` write modes.
//!
//! This crate owns *what the manifests look like*: file names, object shapes, labels,
//! annotations, the Argo CD objects of a lane, and the refusal to write anything it cannot
//! verify. It is pure: it is handed the effective intent and a release and returns bytes. It
//! must not know where the bytes go (the `GitOps` writer does), how a release was chosen
//! (promotion policy), or what a registry holds (images arrive already pinned by digest).
//!
//! Output is deterministic by construction: every object is built as a `serde_json` value with
//! keys in a fixed insertion order, services and lanes come from sorted maps, and nothing reads a
//! clock. Rendering the same inputs twice gives the same bytes.

mod argocd;
mod edit;
mod objects;
mod view;
mod workload;
mod yaml;

use std::collections::BTreeMap;

use shiplane_intent::EffectiveIntent;

pub use edit::{EditError, helm_values_edit, kustomize_images_edit};

/// The directory (within [`RenderedLane::files`]) that holds the Argo CD objects of a lane.
///
/// They are applied to Argo CD's namespace by whoever bootstraps the lane; they are not part of
/// the lane's `kustomization.yaml`, so Argo CD syncing the manifests never applies them.
pub const ARGOCD_DIR: &str = "argocd";

/// Value of `app.kubernetes.io/managed-by` on every rendered object.
pub const MANAGED_BY: &str = "shiplane";

/// The namespace the cluster's ingress controller runs in. `NetworkPolicy` objects of exposed
/// services admit traffic from it (matched by the `kubernetes.io/metadata.name` label every
/// namespace carries).
pub const INGRESS_CONTROLLER_NAMESPACE: &str = "ingress-nginx";

/// The in-cluster API server address Argo CD destinations use.
pub const IN_CLUSTER_SERVER: &str = "https://kubernetes.default.svc";

/// An image pinned by digest: what a release deploys for one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedImage {
    /// Repository without tag or digest (`registry.example.com/miker/api`).
    pub repository: String,
    /// Manifest digest, `sha256:` and 64 lowercase hex digits.
    pub digest: String,
}

/// The release-specific inputs of a render: everything that is not intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderRelease {
    /// Semantic version of the release, for versioned lanes.
    pub version: Option<String>,
    /// Release identifier, recorded in the `shiplane.dev/release` annotation.
    pub release_id: String,
    /// Source commit the images were built from.
    pub source_commit: String,
    /// Service name → image. Must name exactly the services the lane deploys.
    pub images: BTreeMap<String, PinnedImage>,
    /// Render the lane asleep: zero replicas, suspended jobs, no autoscaler.
    pub hibernated: bool,
    /// Instance name when rendering an instance of a template lane (`pr-123`); `None` otherwise.
    pub instance: Option<String>,
}

/// A rendered lane: file path (relative to the lane's `manifests/` directory) → file bytes.
///
/// The lane's objects sit at the top and in one directory per service, all listed in
/// `kustomization.yaml`; the Argo CD objects sit under [`ARGOCD_DIR`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RenderedLane {
    /// Relative path → content.
    pub files: BTreeMap<String, Vec<u8>>,
}

impl RenderedLane {
    /// The files Argo CD syncs into the lane's namespace (everything outside [`ARGOCD_DIR`]).
    pub fn manifests(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files
            .iter()
            .filter(|(p, _)| !p.starts_with(&format!("{ARGOCD_DIR}/")))
            .map(|(p, b)| (p.as_str(), b.as_slice()))
    }

    /// The Argo CD objects of the lane (`AppProject`, `Application` or `ApplicationSet`).
    pub fn argocd(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files
            .iter()
            .filter(|(p, _)| p.starts_with(&format!("{ARGOCD_DIR}/")))
            .map(|(p, b)| (p.as_str(), b.as_slice()))
    }
}

/// Why a lane could not be rendered. Every variant names the lane or service concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The intent has no such lane.
    #[error("lane `{lane}` is not in the intent")]
    UnknownLane {
        /// The lane asked for.
        lane: String,
    },
    /// A template lane is rendered per instance.
    #[error("lane `{lane}` is a template; render an instance of it (give an instance name)")]
    InstanceRequired {
        /// The template lane.
        lane: String,
    },
    /// An instance name was given for a lane that is not a template.
    #[error("lane `{lane}` is not a template, so it has no instance `{instance}`")]
    NotATemplate {
        /// The lane.
        lane: String,
        /// The instance name given.
        instance: String,
    },
    /// The instance name does not make valid Kubernetes names.
    #[error("instance `{instance}` of lane `{lane}`: {reason}")]
    InvalidInstance {
        /// The template lane.
        lane: String,
        /// The instance name given.
        instance: String,
        /// What is wrong.
        reason: String,
    },
    /// The lane has no `GitOps` repository to point Argo CD at.
    #[error("lane `{lane}` has no GitOps repository; set `gitops.repo` on it or in `defaults`")]
    MissingGitops {
        /// The lane.
        lane: String,
    },
    /// A template lane's `GitOps` path must have `{name}` as a whole directory name so that
    /// Argo CD's git directory generator can find the instances.
    #[error(
        "template lane `{lane}`: GitOps path `{path}` must have `{{name}}` as a whole directory (like `lanes/preview/{{name}}`)"
    )]
    TemplatePath {
        /// The template lane.
        lane: String,
        /// Its `GitOps` path.
        path: String,
    },
    /// The lane lists a service the intent does not define.
    #[error("lane `{lane}` deploys service `{service}`, which the intent does not define")]
    UnknownService {
        /// The lane.
        lane: String,
        /// The service.
        service: String,
    },
    /// A service the lane deploys has no image in the release.
    #[error("release for lane `{lane}` has no image for service `{service}`")]
    MissingImage {
        /// The lane.
        lane: String,
        /// The service.
        service: String,
    },
    /// The release has an image for a service the lane does not deploy.
    #[error(
        "release for lane `{lane}` has an image for `{service}`, which the lane does not deploy"
    )]
    UnexpectedImage {
        /// The lane.
        lane: String,
        /// The service.
        service: String,
    },
    /// An image is not a repository pinned by a `sha256` digest.
    #[error("image of service `{service}`: {reason}")]
    InvalidImage {
        /// The service.
        service: String,
        /// What is wrong.
        reason: String,
    },
    /// A template left a variable without a value.
    #[error("lane `{lane}`: `{text}` in {field} has a variable without a value")]
    UnresolvedVariable {
        /// The lane.
        lane: String,
        /// Which field (`services.api.expose.host`).
        field: String,
        /// The text after substitution.
        text: String,
    },
    /// A value after substitution is not valid where Kubernetes needs it.
    #[error("lane `{lane}`: {field} `{value}` {reason}")]
    InvalidValue {
        /// The lane.
        lane: String,
        /// Which field.
        field: String,
        /// The value.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// A service name that would collide with the rendered layout.
    #[error(
        "service `{service}` cannot be rendered: its directory would collide with `{ARGOCD_DIR}/`; rename the service"
    )]
    ReservedServiceName {
        /// The service.
        service: String,
    },
    /// A cronjob without a schedule (the intent check reports this first).
    #[error("service `{service}` is a cronjob without `schedule`")]
    MissingSchedule {
        /// The service.
        service: String,
    },
    /// The YAML serializer failed (a bug; the objects are plain JSON trees).
    #[error("could not serialize `{file}`: {message}")]
    Serialize {
        /// The file being written.
        file: String,
        /// The serializer's message.
        message: String,
    },
}

/// Renders one lane (or one instance of a template lane) for a release.
///
/// Returns every file of the lane's `manifests/` directory: `namespace.yaml`,
/// `serviceaccount-<name>.yaml`, one directory per service (`<service>/deployment.yaml` or
/// `rollout.yaml`, `job.yaml`, `cronjob.yaml`, `service.yaml`, `ingress.yaml`, `configmap.yaml`,
/// `pdb.yaml`, `hpa.yaml`, `networkpolicy.yaml`, `migrate-job.yaml`), `kustomization.yaml`, and
/// the Argo CD objects under [`ARGOCD_DIR`]. The same inputs always give the same bytes.
pub fn render_lane(
    eff: &EffectiveIntent,
    lane: &str,
    release: &RenderRelease,
) -> Result<RenderedLane, RenderError> {
    let view = view::LaneView::new(eff, lane, release)?;
    let mut objects: Vec<(String, serde_json::Value)> = Vec::new();
    objects.push(("namespace.yaml".to_owned(), objects::namespace(&view)));
    let mut accounts: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    for service in &view.lane.services {
        let svc = eff
            .services
            .get(service)
            .ok_or_else(|| RenderError::UnknownService {
                lane: view.lane.name.clone(),
                service: service.clone(),
            })?;
        if service == ARGOCD_DIR {
            return Err(RenderError::ReservedServiceName {
                service: service.clone(),
            });
        }
        let account = view::service_account_name(svc);
        accounts
            .entry(account.clone())
            .or_insert_with(|| objects::service_account(&view, &account));
        for (file, object) in workload::service_objects(&view, svc)? {
            objects.push((format!("{service}/{file}"), object));
        }
    }
    for (name, object) in accounts {
        objects.push((format!("serviceaccount-{name}.yaml"), object));
    }

    let mut files = BTreeMap::new();
    let resources: Vec<String> = {
        let mut r: Vec<String> = objects.iter().map(|(p, _)| p.clone()).collect();
        r.sort();
        r
    };
    for (path, object) in objects {
        let bytes = yaml::to_yaml(&path, &object)?;
        files.insert(path, bytes);
    }
    files.insert(
        "kustomization.yaml".to_owned(),
        yaml::to_yaml(
            "kustomization.yaml",
            &objects::kustomization(&view, &resources),
        )?,
    );
    for (name, object) in argocd::objects(&view)? {
        let path = format!("{ARGOCD_DIR}/{name}");
        let bytes = yaml::to_yaml(&path, &object)?;
        files.insert(path, bytes);
    }
    Ok(RenderedLane { files })
}
