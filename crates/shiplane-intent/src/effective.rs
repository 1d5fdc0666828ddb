//! The effective intent: every inheritance and default resolved, so nothing downstream has to
//! know that a lane's `GitOps` repository may come from its upstream lane or from `defaults`.
//!
//! Inheritance rules (recorded in ARCHITECTURE.md):
//! * a lane takes `gitops.repo`, `gitops.branch`, `registry`, `write` and `vars` (merged, its own
//!   winning) from its upstream lane (`from`), recursively, then from `defaults`;
//! * policies (`approvals`, `version`, `freeze`, `require_tag_on`, `tags`, `rollout`) are never
//!   inherited: each lane states its own gate;
//! * a service's `run` is `defaults.run` overridden field by field (env merged by key);
//! * `namespace` defaults to `<project>-<lane>`, `gitops.branch` to `main`, `gitops.path` to
//!   `lanes/<lane>`, the Dockerfile to `<context>/Dockerfile`, the tag to `sha-{commit.short}`.
//!
//! The effective model is printed by `shiplane check --show-effective`; its JSON is a versioned
//! wire format, which is why these types derive `Serialize`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{
    Autoscale, Check, EnvValue, Expose, Gitops, Health, Intent, Lane, Migrate, Notify, PromoteMode,
    Resources, Retention, Rollout, Run, SecretEnv, SecretFiles, Security, ServiceKind, VersionBump,
    WriteMode,
};
use crate::template;

/// Default tag template when the intent has none.
pub const DEFAULT_TAG: &str = "sha-{commit.short}";

/// The intent with inheritance and defaults resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EffectiveIntent {
    /// Wire-format version of this document.
    pub effective_version: u32,
    /// Project name.
    pub project: String,
    /// Globs affecting every service.
    pub shared: Vec<String>,
    /// Globs affecting nothing.
    pub ignore: Vec<String>,
    /// Library name → globs.
    pub libraries: BTreeMap<String, Vec<String>>,
    /// Services by name.
    pub services: BTreeMap<String, EffectiveService>,
    /// Lanes by name.
    pub lanes: BTreeMap<String, EffectiveLane>,
    /// Where the artifact index lives (`defaults.gitops`, else the root lane's repo and branch).
    pub artifact_index: Option<GitLocation>,
    /// Notification targets.
    pub notify: Vec<Notify>,
    /// Retention rules.
    pub retention: Retention,
}

impl EffectiveIntent {
    /// The model as JSON with every credential taken out of every string (user information of
    /// addresses, see [`crate::values::without_credentials`]): what `--show-effective` prints.
    ///
    /// `check` refuses an intent with a credential in an address, but the effective model is
    /// printed for invalid intents too, so printing must not depend on that.
    #[must_use]
    pub fn to_json_without_credentials(&self) -> serde_json::Value {
        fn scrub(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::String(s) => {
                    let clean =
                        crate::values::mask_credentials(&crate::values::without_credentials(s));
                    *s = clean;
                }
                serde_json::Value::Array(items) => items.iter_mut().for_each(scrub),
                serde_json::Value::Object(map) => map.values_mut().for_each(scrub),
                _ => {}
            }
        }
        let mut json = serde_json::to_value(self).unwrap_or_default();
        scrub(&mut json);
        json
    }
}

/// A repository and branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GitLocation {
    /// Remote URL or path.
    pub repo: String,
    /// Branch.
    pub branch: String,
}

/// A service with defaults applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EffectiveService {
    /// Service name.
    pub name: String,
    /// Deployment, job or cronjob.
    pub kind: ServiceKind,
    /// Cron schedule for cronjobs.
    pub schedule: Option<String>,
    /// Own globs.
    pub paths: Vec<String>,
    /// Direct dependencies (libraries and services), as written.
    pub depends_on: Vec<String>,
    /// Libraries reached through `depends_on`, transitively (through services too), sorted.
    pub libraries: Vec<String>,
    /// Services reached through `depends_on`, transitively, sorted.
    pub services: Vec<String>,
    /// Build settings.
    pub build: EffectiveBuild,
    /// Tag template CI pushes.
    pub tag: String,
    /// Image repository template (`{registry}/{service}`, before lane variables).
    pub image: Option<String>,
    /// Runtime settings.
    pub run: EffectiveRun,
    /// Ingress exposure.
    pub expose: Option<Expose>,
    /// Verification checks.
    pub checks: Vec<Check>,
    /// Migration.
    pub migrate: Option<Migrate>,
}

/// Build settings with the Dockerfile defaulted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EffectiveBuild {
    /// Build context.
    pub context: String,
    /// Dockerfile path.
    pub dockerfile: String,
    /// Build target.
    pub target: Option<String>,
    /// Build arguments.
    pub args: BTreeMap<String, String>,
}

/// Runtime settings with `defaults.run` applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EffectiveRun {
    /// Replicas (default 1).
    pub replicas: u32,
    /// Container port.
    pub port: Option<u32>,
    /// Probe.
    pub health: Option<Health>,
    /// Command.
    pub command: Option<Vec<String>>,
    /// Arguments.
    pub args: Option<Vec<String>>,
    /// Environment.
    pub env: BTreeMap<String, EnvValue>,
    /// Secret environment.
    pub secrets: Vec<SecretEnv>,
    /// Secret files.
    pub files: Vec<SecretFiles>,
    /// Resources.
    pub resources: Resources,
    /// Security settings.
    pub security: Security,
    /// `ServiceAccount`.
    pub service_account: Option<String>,
    /// Autoscaling.
    pub autoscale: Option<Autoscale>,
}

/// A lane with inheritance resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EffectiveLane {
    /// Lane name.
    pub name: String,
    /// Upstream lane.
    pub from: Option<String>,
    /// Template for ephemeral lanes.
    pub template: bool,
    /// Namespace (may contain `{name}` for templates).
    pub namespace: String,
    /// Source branch.
    pub source_branch: Option<String>,
    /// Promotion mode.
    pub promote: PromoteMode,
    /// `GitOps` location (repo may be missing only for invalid intents).
    pub gitops: EffectiveGitops,
    /// Registry with lane variables substituted.
    pub registry: Option<String>,
    /// Extra tags.
    pub tags: Vec<String>,
    /// Variables, merged along the upstream chain.
    pub vars: BTreeMap<String, String>,
    /// Approvals required.
    pub approvals: u32,
    /// Hibernated until woken.
    pub hibernate: bool,
    /// Semver bump.
    pub version: Option<VersionBump>,
    /// Branch the source commit must be on.
    pub require_tag_on: Option<String>,
    /// Freeze windows.
    pub freeze: Vec<String>,
    /// Rollout.
    pub rollout: Option<Rollout>,
    /// Roll back when verification fails.
    pub auto_rollback: bool,
    /// TTL of instances (templates).
    pub ttl: Option<String>,
    /// Argo CD names, defaulted.
    pub argocd: EffectiveArgocd,
    /// Write mode.
    pub write: WriteMode,
    /// Services deployed, sorted.
    pub services: Vec<String>,
}

/// A lane's `GitOps` location.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EffectiveGitops {
    /// Remote.
    pub repo: Option<String>,
    /// Branch.
    pub branch: String,
    /// Directory.
    pub path: String,
}

/// Argo CD names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EffectiveArgocd {
    /// `AppProject`.
    pub project: String,
    /// Application.
    pub application: String,
    /// Argo CD's namespace.
    pub namespace: String,
}

fn chain<'a>(intent: &'a Intent, lane: &'a str) -> Vec<(&'a str, &'a Lane)> {
    // Walks lane → from → from …, stopping at a missing lane or a cycle (cycles are reported by
    // the rules; here they only must not loop forever).
    let mut out: Vec<(&str, &Lane)> = Vec::new();
    let mut cur = Some(lane);
    while let Some(name) = cur {
        if out.iter().any(|(n, _)| *n == name) {
            break;
        }
        let Some((n, l)) = intent.lanes.get_key_value(name) else {
            break;
        };
        out.push((n.as_str(), l));
        cur = l.from.as_deref();
    }
    out
}

fn merge_run(base: Option<&Run>, over: Option<&Run>) -> EffectiveRun {
    let empty = Run::default();
    let b = base.unwrap_or(&empty);
    let o = over.unwrap_or(&empty);
    let mut env = b.env.clone();
    env.extend(o.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    let br = b.resources.clone().unwrap_or_default();
    let or = o.resources.clone().unwrap_or_default();
    let bs = b.security.clone().unwrap_or_default();
    let os = o.security.clone().unwrap_or_default();
    EffectiveRun {
        replicas: o.replicas.or(b.replicas).unwrap_or(1),
        port: o.port.or(b.port),
        health: o.health.clone().or_else(|| b.health.clone()),
        command: o.command.clone().or_else(|| b.command.clone()),
        args: o.args.clone().or_else(|| b.args.clone()),
        env,
        secrets: if o.secrets.is_empty() {
            b.secrets.clone()
        } else {
            o.secrets.clone()
        },
        files: if o.files.is_empty() {
            b.files.clone()
        } else {
            o.files.clone()
        },
        resources: Resources {
            cpu: or.cpu.or(br.cpu),
            memory: or.memory.or(br.memory),
        },
        security: Security {
            read_only_root: os.read_only_root.or(bs.read_only_root),
            writable: os.writable.or(bs.writable),
            run_as_user: os.run_as_user.or(bs.run_as_user),
        },
        service_account: o
            .service_account
            .clone()
            .or_else(|| b.service_account.clone()),
        autoscale: o.autoscale.clone().or_else(|| b.autoscale.clone()),
    }
}

/// Transitive dependencies of a service: (libraries, services), sorted and without itself.
#[must_use]
pub fn transitive_deps(intent: &Intent, service: &str) -> (Vec<String>, Vec<String>) {
    // Names are borrowed while walking and copied once at the end: this runs once per service,
    // and copying every name met on the way was most of `resolve` for 1,000 services.
    let mut libs: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    let mut svcs: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    let mut todo: Vec<&str> = vec![service];
    while let Some(cur) = todo.pop() {
        let Some(s) = intent.services.get(cur) else {
            continue;
        };
        for d in &s.depends_on {
            if intent.libraries.contains_key(d) {
                libs.insert(d);
            } else if intent.services.contains_key(d) && d != service && svcs.insert(d) {
                todo.push(d);
            }
        }
    }
    (
        libs.into_iter().map(str::to_owned).collect(),
        svcs.into_iter().map(str::to_owned).collect(),
    )
}

/// Resolves inheritance and defaults. Works on any intent that deserialized, valid or not, so
/// that `check --show-effective` can show what Shiplane understood even next to errors.
#[must_use]
pub fn resolve(intent: &Intent) -> EffectiveIntent {
    let defaults = intent.defaults.clone().unwrap_or_default();
    let default_gitops = defaults.gitops.clone().unwrap_or_default();
    let tag = defaults
        .tag
        .clone()
        .unwrap_or_else(|| DEFAULT_TAG.to_owned());

    let services = intent
        .services
        .iter()
        .map(|(name, s)| {
            let (libraries, services) = transitive_deps(intent, name);
            let build = s.build.clone();
            let context = build
                .as_ref()
                .map_or_else(|| ".".to_owned(), |b| b.context.clone());
            let dockerfile = build
                .as_ref()
                .and_then(|b| b.dockerfile.clone())
                .unwrap_or_else(|| {
                    if context == "." {
                        "Dockerfile".to_owned()
                    } else {
                        format!("{}/Dockerfile", context.trim_end_matches('/'))
                    }
                });
            let eff = EffectiveService {
                name: name.clone(),
                kind: s.kind,
                schedule: s.schedule.clone(),
                paths: s.paths.clone(),
                depends_on: s.depends_on.clone(),
                libraries,
                services,
                build: EffectiveBuild {
                    context,
                    dockerfile,
                    target: build.as_ref().and_then(|b| b.target.clone()),
                    args: build.map(|b| b.args).unwrap_or_default(),
                },
                tag: tag.clone(),
                image: defaults
                    .registry
                    .as_ref()
                    .map(|r| format!("{}/{name}", r.trim_end_matches('/'))),
                run: merge_run(defaults.run.as_ref(), s.run.as_ref()),
                expose: s.expose.clone(),
                checks: s.checks.clone(),
                migrate: s.migrate.clone(),
            };
            (name.clone(), eff)
        })
        .collect();

    let lanes: BTreeMap<String, EffectiveLane> = intent
        .lanes
        .iter()
        .map(|(name, lane)| {
            (
                name.clone(),
                resolve_lane(intent, name, lane, &default_gitops),
            )
        })
        .collect();

    let artifact_index = match (&default_gitops.repo, &default_gitops.branch) {
        (Some(repo), branch) => Some(GitLocation {
            repo: repo.clone(),
            branch: branch.clone().unwrap_or_else(|| "main".to_owned()),
        }),
        (None, _) => root_lane(&lanes).and_then(|l| {
            l.gitops.repo.clone().map(|repo| GitLocation {
                repo,
                branch: l.gitops.branch.clone(),
            })
        }),
    };

    EffectiveIntent {
        effective_version: 1,
        project: intent.project.clone(),
        shared: intent
            .inputs
            .as_ref()
            .map(|i| i.shared.clone())
            .unwrap_or_default(),
        ignore: intent
            .inputs
            .as_ref()
            .map(|i| i.ignore.clone())
            .unwrap_or_default(),
        libraries: intent
            .libraries
            .iter()
            .map(|(k, v)| (k.clone(), v.paths.clone()))
            .collect(),
        services,
        lanes,
        artifact_index,
        notify: intent.notify.clone(),
        retention: intent.retention.clone().unwrap_or_default(),
    }
}

/// The first non-template lane without an upstream, by name.
fn root_lane(lanes: &BTreeMap<String, EffectiveLane>) -> Option<&EffectiveLane> {
    lanes.values().find(|l| !l.template && l.from.is_none())
}

fn resolve_lane(
    intent: &Intent,
    name: &str,
    lane: &Lane,
    default_gitops: &Gitops,
) -> EffectiveLane {
    let chain = chain(intent, name);
    let defaults = intent.defaults.clone().unwrap_or_default();
    let pick = |f: &dyn Fn(&Lane) -> Option<String>| chain.iter().find_map(|(_, l)| f(l));

    let repo = pick(&|l| l.gitops.as_ref().and_then(|g| g.repo.clone()))
        .or_else(|| default_gitops.repo.clone());
    let branch = pick(&|l| l.gitops.as_ref().and_then(|g| g.branch.clone()))
        .or_else(|| default_gitops.branch.clone())
        .unwrap_or_else(|| "main".to_owned());
    let path = lane
        .gitops
        .as_ref()
        .and_then(|g| g.path.clone())
        .unwrap_or_else(|| format!("lanes/{name}"));

    let mut vars = BTreeMap::new();
    for (_, l) in chain.iter().rev() {
        vars.extend(l.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let namespace = lane
        .namespace
        .clone()
        .unwrap_or_else(|| format!("{}-{}", intent.project, name.replace('.', "")));
    let registry = pick(&|l| l.registry.clone())
        .or_else(|| defaults.registry.clone())
        .map(|r| template::substitute(&r, &|var| lane_var(name, &namespace, &vars, var)));
    let write = chain
        .iter()
        .find_map(|(_, l)| l.write.clone())
        .unwrap_or(WriteMode::Render);
    let argocd = lane.argocd.clone().unwrap_or_default();
    let app_default = format!("{}-{}", intent.project, name.replace('.', "-"));
    let services = match &lane.services {
        Some(list) => {
            let mut v = list.clone();
            v.sort();
            v.dedup();
            v
        }
        None => intent.services.keys().cloned().collect(),
    };
    EffectiveLane {
        name: name.to_owned(),
        from: lane.from.clone(),
        template: lane.template,
        namespace,
        source_branch: lane.source_branch.clone(),
        promote: lane.promote.unwrap_or(PromoteMode::Manual),
        gitops: EffectiveGitops { repo, branch, path },
        registry,
        tags: lane.tags.clone(),
        vars,
        approvals: lane.approvals.unwrap_or(0),
        hibernate: lane.hibernate.unwrap_or(false),
        version: lane.version,
        require_tag_on: lane.require_tag_on.clone(),
        freeze: lane.freeze.clone(),
        rollout: lane.rollout.clone(),
        auto_rollback: lane.auto_rollback.unwrap_or(false),
        ttl: lane.ttl.clone(),
        argocd: EffectiveArgocd {
            project: argocd.project.unwrap_or_else(|| app_default.clone()),
            application: argocd.application.unwrap_or(app_default),
            namespace: argocd.namespace.unwrap_or_else(|| "argocd".to_owned()),
        },
        write,
        services,
    }
}

/// The value of a `{lane.*}` variable for a lane, or `None` when it is not defined.
/// `{name}` is left in place for template lanes; it is filled when an instance is created.
#[must_use]
pub fn lane_var(
    lane: &str,
    namespace: &str,
    vars: &BTreeMap<String, String>,
    var: &str,
) -> Option<String> {
    match var {
        "lane.name" => Some(lane.to_owned()),
        "lane.namespace" => Some(namespace.to_owned()),
        _ => var.strip_prefix("lane.").and_then(|k| vars.get(k).cloned()),
    }
}
