//! The intent as written: every first-version field of `shiplane.yaml` (SPEC §4).
//!
//! These types are the single source of truth for the file's shape: the JSON Schema printed by
//! `shiplane schema` is generated from them, and the structural check of `shiplane check` walks
//! that schema. Rules a schema cannot express well (names, cycles, secrets, template variables)
//! live in `rules.rs`. Nothing here is inherited or defaulted across sections; that is the job of
//! `effective.rs`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The whole intent file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Shiplane intent", extend("$id" = "https://shiplane.dev/schema/intent-v1.json"))]
pub struct Intent {
    /// Format version of the file; only `1` exists.
    pub version: u32,
    /// Project name, a DNS-1123 label. Used in names of rendered objects.
    pub project: String,
    /// Settings every service and lane starts from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<Defaults>,
    /// Paths that affect every service (`shared`) or none (`ignore`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Inputs>,
    /// Shared code that services depend on; never deployed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub libraries: BTreeMap<String, Library>,
    /// Deployable units, one container image each.
    pub services: BTreeMap<String, Service>,
    /// Deploy targets: environments (dev, staging, prod) and version lanes (v0.1).
    #[serde(default)]
    pub lanes: BTreeMap<String, Lane>,
    /// Where people are told about promotions, rollbacks and failures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<Notify>,
    /// Registry retention rules for `shiplane registry gc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<Retention>,
}

/// Settings every service and lane starts from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Image repository prefix: a service's image is `{registry}/{service}`. May use `{lane.*}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// Tag CI pushes: may use `{commit}`, `{commit.short}`, `{fingerprint}`, `{fingerprint.short}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Runtime settings every service starts from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<Run>,
    /// `GitOps` repository and branch for every lane, and where the artifact index lives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gitops: Option<Gitops>,
}

/// Paths with a global meaning.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Inputs {
    /// Globs whose change affects every service (lockfiles, CI tooling).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared: Vec<String>,
    /// Globs that never affect anything (docs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
}

/// A group of paths services depend on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Library {
    /// Globs of the library's files.
    pub paths: Vec<String>,
}

/// How a service runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKind {
    /// A long-running Deployment (or Argo Rollouts Rollout).
    #[default]
    Deployment,
    /// A Job run once per release.
    Job,
    /// A `CronJob`; needs `schedule`.
    Cronjob,
}

/// A deployable unit built into one container image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// `deployment` (default), `job` or `cronjob`.
    #[serde(default)]
    pub kind: ServiceKind,
    /// Cron schedule, for `kind: cronjob` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// Globs of the service's own files.
    pub paths: Vec<String>,
    /// Libraries and services whose inputs also affect this service.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// How CI builds the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<Build>,
    /// How the service runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<Run>,
    /// Public HTTP exposure through an Ingress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expose: Option<Expose>,
    /// HTTP checks `shiplane verify` runs after a promotion.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    /// A migration run before each rollout as an Argo CD `PreSync` Job with the same image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrate: Option<Migrate>,
}

/// How CI builds a service's image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Build {
    /// Build context directory, relative to the repository root.
    pub context: String,
    /// Dockerfile path, relative to the repository root (default `{context}/Dockerfile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    /// Multi-stage build target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Build arguments (part of the fingerprint).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, String>,
}

/// Runtime settings of a service (also the shape of `defaults.run`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Run {
    /// Replica count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// Container port (1–65535).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<u32>,
    /// Readiness and liveness probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// Container command (overrides the image entrypoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Container arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// Environment variables: a literal value or a secret reference `{ secret, key }`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, EnvValue>,
    /// Kubernetes Secrets whose keys become environment variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<SecretEnv>,
    /// Kubernetes Secret keys mounted as read-only files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<SecretFiles>,
    /// CPU and memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// Security context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<Security>,
    /// Kubernetes `ServiceAccount` name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// Horizontal autoscaling; renders a `HorizontalPodAutoscaler`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<Autoscale>,
}

/// A probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Health {
    /// HTTP path, starting with `/`.
    #[schemars(regex(pattern = r"^/"))]
    pub path: String,
    /// Port, when it differs from `run.port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<u32>,
}

/// An environment variable's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum EnvValue {
    /// A reference to a key of a Kubernetes Secret.
    Secret(SecretKeyRef),
    /// A literal value (numbers and booleans are written as strings).
    Literal(Scalar),
}

/// A scalar written in YAML: kept as text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Scalar {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// A number.
    Float(f64),
    /// A boolean.
    Bool(bool),
}

impl Scalar {
    /// The value as the text Kubernetes will see.
    #[must_use]
    pub fn as_text(&self) -> String {
        match self {
            Scalar::Str(s) => s.clone(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

/// `{ secret: NAME, key: KEY }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretKeyRef {
    /// Kubernetes Secret name.
    pub secret: String,
    /// Key within the Secret.
    pub key: String,
}

/// Keys of a Secret exposed as environment variables of the same names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretEnv {
    /// Kubernetes Secret name.
    pub secret: String,
    /// Keys to expose.
    pub keys: Vec<String>,
}

/// Keys of a Secret mounted as files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretFiles {
    /// Kubernetes Secret name.
    pub secret: String,
    /// Keys to mount; each becomes a file of that name.
    pub keys: Vec<String>,
    /// Directory to mount them in.
    pub mount: String,
    /// Mount read-only (the default, and the only safe choice for credentials).
    #[serde(default = "yes")]
    pub read_only: bool,
}

fn yes() -> bool {
    true
}

/// CPU and memory requests (memory is also the limit).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// CPU request, a Kubernetes quantity (`200m`, `1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Scalar>,
    /// Memory request and limit, a Kubernetes quantity (`512Mi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Scalar>,
}

/// Container security settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Security {
    /// Read-only root filesystem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only_root: Option<bool>,
    /// Directories given a writable `emptyDir` (absolute paths).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writable: Option<Vec<String>>,
    /// User id to run as (non-root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_user: Option<u32>,
}

/// Horizontal autoscaling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Autoscale {
    /// Lowest replica count.
    pub min: u32,
    /// Highest replica count.
    pub max: u32,
    /// Target average CPU utilisation, percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<u32>,
}

/// Public exposure through an Ingress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expose {
    /// Host name; may use `{lane.*}` variables.
    pub host: String,
    /// Path prefix (default `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Serve with TLS.
    #[serde(default)]
    pub tls: bool,
}

/// An HTTP check run by `shiplane verify`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// URL to request; may use `{lane.*}` variables.
    pub url: String,
    /// Accepted status codes (default `[200]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect: Vec<u32>,
}

/// A migration command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Migrate {
    /// Command and arguments, run in the service's image.
    pub command: Vec<String>,
}

/// Where a lane's desired state lives in git.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Gitops {
    /// Remote: a local path, `file://`, `git://`, `https://`, `ssh://` or `git@host:path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// Branch (default `main`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Directory of the lane within the branch (default `lanes/<lane>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// How promotion into a lane starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PromoteMode {
    /// Every new release of the source branch is promoted automatically (unless held).
    Auto,
    /// A person or pipeline runs `shiplane promote`.
    Manual,
}

/// Semver component bumped on each promotion into a versioned lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VersionBump {
    /// `x.y.Z`.
    Patch,
    /// `x.Y.0`.
    Minor,
    /// `X.0.0`.
    Major,
}

/// A deploy target.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lane {
    /// Upstream lane: releases enter this lane only from there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// A template for ephemeral lanes (`shiplane env up NAME --template LANE`).
    #[serde(default)]
    pub template: bool,
    /// Kubernetes namespace (default `<project>-<lane>`). Template lanes may use `{name}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Branch whose pushes feed this lane.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_branch: Option<String>,
    /// `auto` or `manual` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promote: Option<PromoteMode>,
    /// `GitOps` location; repo and branch inherit from the upstream lane and `defaults.gitops`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gitops: Option<Gitops>,
    /// Image registry for this lane; images are copied here on promotion when it differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// Extra tags put on promoted images (`dev-latest`, `prod`, `{version}`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Variables for `{lane.NAME}` templates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, String>,
    /// Approvals needed to promote into this lane.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvals: Option<u32>,
    /// Render with zero replicas until `shiplane wake`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hibernate: Option<bool>,
    /// Semver bump on each promotion into this lane.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<VersionBump>,
    /// The source commit must be on this branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_tag_on: Option<String>,
    /// Windows in which promotion is refused, like `Fri 18:00 - Mon 08:00 Asia/Shanghai`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub freeze: Vec<String>,
    /// Progressive delivery with Argo Rollouts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Rollout>,
    /// Roll back automatically when `shiplane verify` fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_rollback: Option<bool>,
    /// Lifetime of ephemeral lanes made from this template (`72h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    /// Argo CD names for this lane.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argocd: Option<Argocd>,
    /// How desired state is written: `render` (default), `helm-values` or `kustomize-images`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write: Option<WriteMode>,
    /// Services deployed to this lane (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<Vec<String>>,
}

/// Progressive delivery settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rollout {
    /// Only `canary` in the first version.
    pub strategy: RolloutStrategy,
    /// Traffic percentages, increasing, ending at 100.
    pub steps: Vec<u32>,
    /// Pause between steps (`5m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<String>,
}

/// Rollout strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RolloutStrategy {
    /// Shift traffic in steps.
    Canary,
}

/// Argo CD names.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Argocd {
    /// `AppProject` name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Application name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    /// Namespace Argo CD runs in (default `argocd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// How a lane's desired state is written to git.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum WriteMode {
    /// Shiplane renders every manifest (the default).
    Render,
    /// Set image keys in an existing Helm values file.
    HelmValues(HelmValues),
    /// Set `images:` in an existing kustomization.
    KustomizeImages(KustomizeImages),
}

/// Where the image keys are in a Helm values file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HelmValues {
    /// Values file in the `GitOps` repository; may use `{service}`.
    pub file: String,
    /// Dotted key path of the image repository (default `{service}.image.repository`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Dotted key path of the tag (default `{service}.image.tag`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Dotted key path of the digest (default `{service}.image.digest`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// Where the kustomization is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KustomizeImages {
    /// `kustomization.yaml` in the `GitOps` repository.
    pub file: String,
}

/// A notification target and the events it wants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    /// Feishu/Lark custom bot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feishu: Option<FeishuTarget>,
    /// Slack incoming webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackTarget>,
    /// Generic JSON webhook signed with HMAC-SHA256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookTarget>,
    /// Events to send (default: all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on: Vec<NotifyEvent>,
}

/// Feishu/Lark bot: the URL and signing secret come from environment variables, never the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeishuTarget {
    /// Environment variable holding the webhook URL.
    pub webhook_env: String,
    /// Environment variable holding the signing secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
}

/// Slack incoming webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlackTarget {
    /// Environment variable holding the webhook URL.
    pub webhook_env: String,
}

/// Generic webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookTarget {
    /// Environment variable holding the URL.
    pub url_env: String,
    /// Environment variable holding the HMAC secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
}

/// Events notifications can be sent for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum NotifyEvent {
    /// A release landed in a lane.
    Promotion,
    /// A lane was rolled back.
    Rollback,
    /// Something failed.
    Failure,
    /// A promotion waits for approval.
    Approval,
    /// An artifact was published.
    Publish,
}

/// Registry retention rules.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Keep the newest N tags per repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_newest: Option<u32>,
    /// Keep tags matching these globs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keep_tags: Vec<String>,
    /// Keep semver tags (`v1.2.3`, `1.2.3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_semver: Option<bool>,
    /// Never delete anything younger than this (`7d`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace: Option<String>,
    /// Releases per lane kept for rollback, besides the current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_window: Option<u32>,
    /// Per-service overrides of the rules above.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, RetentionOverride>,
}

/// Per-service retention override.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionOverride {
    /// Keep the newest N tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_newest: Option<u32>,
    /// Keep tags matching these globs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_tags: Option<Vec<String>>,
    /// Never delete anything younger than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace: Option<String>,
}
