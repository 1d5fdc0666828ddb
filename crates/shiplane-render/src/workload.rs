//! A service's workload and everything rendered per service: the pod template (image by
//! digest, environment, probes, resources, security context, volumes), the `Deployment`, Argo
//! Rollouts `Rollout`, `Job` or `CronJob`, the migration `Job` as an Argo CD `PreSync` hook, and
//! which supporting objects (`objects.rs`) a service gets.
//!
//! Decisions recorded here (and in ARCHITECTURE.md):
//! * pod templates carry no release data, so a release that leaves a service unchanged does not
//!   restart it; a change of literal environment restarts it through a `shiplane.dev/config-hash`
//!   annotation;
//! * with `autoscale` the `Deployment` has no `replicas` (the autoscaler owns it); hibernated,
//!   it has `replicas: 0` and no autoscaler; jobs and cronjobs are suspended;
//! * a `kind: job` Job is named `<service>-<hash of its spec>`: Job templates are immutable, so a
//!   changed Job is a new Job (and runs once), an unchanged one is left alone;
//! * the migration hook runs before the sync creates anything, so it uses only what exists by
//!   then: the namespace (Argo CD `CreateNamespace=true`), the namespace's `default`
//!   `ServiceAccount` and Secrets managed outside the lane; its literal environment is inlined.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use shiplane_intent::EffectiveService;
use shiplane_intent::model::{EnvValue, ServiceKind};

use crate::RenderError;
use crate::objects;
use crate::view::{LaneView, service_account_name};

/// Every object of one service, as (file name within the service's directory, object).
pub(crate) fn service_objects(
    view: &LaneView<'_>,
    svc: &EffectiveService,
) -> Result<Vec<(String, Value)>, RenderError> {
    let mut out: Vec<(String, Value)> = Vec::new();
    let env = objects::literal_env(view, svc)?;
    if !env.is_empty() {
        out.push(("configmap.yaml".into(), objects::configmap(view, svc, &env)));
    }
    let hibernated = view.release.hibernated;
    let port = svc.run.port;
    match svc.kind {
        ServiceKind::Deployment => {
            let pod = pod_template(view, svc, &env, &PodMode::Service);
            let autoscale = svc.run.autoscale.as_ref().filter(|_| !hibernated);
            let replicas = if hibernated {
                Some(0)
            } else if autoscale.is_some() {
                None
            } else {
                Some(svc.run.replicas)
            };
            let target = if let Some(rollout) = &view.lane.rollout {
                out.push((
                    "rollout.yaml".into(),
                    rollout_object(view, svc, replicas, pod, rollout),
                ));
                ("argoproj.io/v1alpha1", "Rollout")
            } else {
                out.push((
                    "deployment.yaml".into(),
                    deployment(view, svc, replicas, pod),
                ));
                ("apps/v1", "Deployment")
            };
            if let Some(port) = port {
                out.push(("service.yaml".into(), objects::service(view, svc, port)));
                if let Some(expose) = &svc.expose {
                    let host = objects::ingress_host(view, svc, expose)?;
                    out.push((
                        "ingress.yaml".into(),
                        objects::ingress(view, svc, expose, &host, port),
                    ));
                }
            }
            if svc.run.replicas > 1 || svc.run.autoscale.is_some() {
                out.push(("pdb.yaml".into(), objects::pdb(view, svc)));
            }
            if let Some(a) = autoscale {
                out.push(("hpa.yaml".into(), objects::hpa(view, svc, target, a)));
            }
        }
        ServiceKind::Job => {
            let pod = pod_template(view, svc, &env, &PodMode::Job);
            out.push(("job.yaml".into(), job(view, svc, pod)));
        }
        ServiceKind::Cronjob => {
            let pod = pod_template(view, svc, &env, &PodMode::Job);
            out.push(("cronjob.yaml".into(), cronjob(view, svc, &pod)?));
        }
    }
    let exposed = svc.kind == ServiceKind::Deployment && svc.expose.is_some() && port.is_some();
    out.push((
        "networkpolicy.yaml".into(),
        objects::network_policy(view, svc, port, exposed),
    ));
    if let Some(migrate) = &svc.migrate {
        let pod = pod_template(view, svc, &env, &PodMode::Migration(&migrate.command));
        out.push(("migrate-job.yaml".into(), migration_job(view, svc, &pod)));
    }
    Ok(out)
}

/// What a pod template is for.
enum PodMode<'a> {
    /// A long-running service: ports and probes.
    Service,
    /// A job or cronjob: runs to completion.
    Job,
    /// The migration hook, running this command.
    Migration(&'a [String]),
}

fn pod_template(
    view: &LaneView<'_>,
    svc: &EffectiveService,
    literal_env: &BTreeMap<String, String>,
    mode: &PodMode<'_>,
) -> Value {
    let run = &svc.run;
    let migration = matches!(mode, PodMode::Migration(_));
    let mut container = Map::new();
    container.insert(
        "name".into(),
        json!(if migration {
            "migrate"
        } else {
            svc.name.as_str()
        }),
    );
    container.insert("image".into(), json!(view.image_ref(&svc.name)));
    container.insert("imagePullPolicy".into(), json!("IfNotPresent"));
    match mode {
        PodMode::Migration(command) => {
            container.insert("command".into(), json!(command));
        }
        PodMode::Service | PodMode::Job => {
            if let Some(c) = &run.command {
                container.insert("command".into(), json!(c));
            }
            if let Some(a) = &run.args {
                container.insert("args".into(), json!(a));
            }
        }
    }
    if let (PodMode::Service, Some(port)) = (mode, run.port) {
        container.insert(
            "ports".into(),
            json!([{ "name": "http", "containerPort": port, "protocol": "TCP" }]),
        );
    }
    if !literal_env.is_empty() && !migration {
        container.insert(
            "envFrom".into(),
            json!([{ "configMapRef": { "name": objects::configmap_name(svc) } }]),
        );
    }
    let mut env: Vec<Value> = Vec::new();
    if migration {
        for (k, v) in literal_env {
            env.push(json!({ "name": k, "value": v }));
        }
    }
    for (k, v) in &run.env {
        if let EnvValue::Secret(r) = v {
            env.push(secret_env(k, &r.secret, &r.key));
        }
    }
    for s in &run.secrets {
        for key in &s.keys {
            env.push(secret_env(key, &s.secret, key));
        }
    }
    if !env.is_empty() {
        container.insert("env".into(), json!(env));
    }
    let mut resources = Map::new();
    let mut requests = Map::new();
    if let Some(cpu) = &run.resources.cpu {
        requests.insert("cpu".into(), json!(cpu.as_text()));
    }
    if let Some(memory) = &run.resources.memory {
        requests.insert("memory".into(), json!(memory.as_text()));
    }
    if !requests.is_empty() {
        resources.insert("requests".into(), Value::Object(requests));
    }
    if let Some(memory) = &run.resources.memory {
        // Memory is not compressible: a pod over its request is the first to be killed, so the
        // limit equals the request and the scheduler's promise is the pod's ceiling.
        resources.insert("limits".into(), json!({ "memory": memory.as_text() }));
    }
    if !resources.is_empty() {
        container.insert("resources".into(), Value::Object(resources));
    }
    container.insert(
        "securityContext".into(),
        json!({
            "allowPrivilegeEscalation": false,
            "readOnlyRootFilesystem": run.security.read_only_root.unwrap_or(false),
            "capabilities": { "drop": ["ALL"] },
        }),
    );
    if let (PodMode::Service, Some(health), Some(port)) = (
        mode,
        &run.health,
        run.health.as_ref().and_then(|h| h.port).or(run.port),
    ) {
        let get = json!({ "path": health.path, "port": port });
        container.insert(
            "startupProbe".into(),
            json!({ "httpGet": get, "periodSeconds": 5, "timeoutSeconds": 3, "failureThreshold": 60 }),
        );
        container.insert(
            "readinessProbe".into(),
            json!({ "httpGet": get, "periodSeconds": 10, "timeoutSeconds": 3, "failureThreshold": 3 }),
        );
        container.insert(
            "livenessProbe".into(),
            json!({ "httpGet": get, "periodSeconds": 20, "timeoutSeconds": 3, "failureThreshold": 3 }),
        );
    }
    let mut volumes: Vec<Value> = Vec::new();
    let mut mounts: Vec<Value> = Vec::new();
    for (i, f) in run.files.iter().enumerate() {
        let name = format!("secret-files-{i}");
        let items: Vec<Value> = f
            .keys
            .iter()
            .map(|k| json!({ "key": k, "path": k }))
            .collect();
        volumes.push(json!({ "name": name, "secret": { "secretName": f.secret, "items": items } }));
        mounts.push(json!({ "name": name, "mountPath": f.mount, "readOnly": f.read_only }));
    }
    for (i, path) in run
        .security
        .writable
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let name = format!("writable-{i}");
        volumes.push(json!({ "name": name, "emptyDir": {} }));
        mounts.push(json!({ "name": name, "mountPath": path }));
    }
    if !mounts.is_empty() {
        container.insert("volumeMounts".into(), json!(mounts));
    }

    let mut spec = Map::new();
    if !migration {
        spec.insert(
            "serviceAccountName".into(),
            json!(service_account_name(svc)),
        );
    }
    if !matches!(mode, PodMode::Service) {
        spec.insert("restartPolicy".into(), json!("Never"));
    }
    let mut security = Map::new();
    security.insert("runAsNonRoot".into(), json!(true));
    if let Some(uid) = run.security.run_as_user {
        security.insert("runAsUser".into(), json!(uid));
    }
    security.insert("seccompProfile".into(), json!({ "type": "RuntimeDefault" }));
    spec.insert("securityContext".into(), Value::Object(security));
    spec.insert("containers".into(), json!([container]));
    if !volumes.is_empty() {
        spec.insert("volumes".into(), json!(volumes));
    }

    let mut metadata = Map::new();
    metadata.insert("labels".into(), json!(view.pod_labels(&svc.name)));
    if !literal_env.is_empty() && !migration {
        metadata.insert(
            "annotations".into(),
            json!({ "shiplane.dev/config-hash": short_hash(&json!(literal_env)) }),
        );
    }
    json!({ "metadata": metadata, "spec": spec })
}

fn secret_env(name: &str, secret: &str, key: &str) -> Value {
    json!({ "name": name, "valueFrom": { "secretKeyRef": { "name": secret, "key": key } } })
}

/// The first 16 hex digits of the SHA-256 of a value's JSON (keys in insertion order, which is
/// fixed by construction).
fn short_hash(v: &Value) -> String {
    let digest = Sha256::digest(v.to_string().as_bytes());
    hex::encode(digest)[..16].to_owned()
}

fn deployment(
    view: &LaneView<'_>,
    svc: &EffectiveService,
    replicas: Option<u32>,
    pod: Value,
) -> Value {
    let mut spec = Map::new();
    if let Some(r) = replicas {
        spec.insert("replicas".into(), json!(r));
    }
    spec.insert(
        "selector".into(),
        json!({ "matchLabels": view.selector(&svc.name) }),
    );
    spec.insert("template".into(), pod);
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": view.metadata(&svc.name, &svc.name),
        "spec": spec,
    })
}

fn rollout_object(
    view: &LaneView<'_>,
    svc: &EffectiveService,
    replicas: Option<u32>,
    pod: Value,
    rollout: &shiplane_intent::model::Rollout,
) -> Value {
    let mut steps: Vec<Value> = Vec::new();
    for (i, weight) in rollout.steps.iter().enumerate() {
        steps.push(json!({ "setWeight": weight }));
        let last = i + 1 == rollout.steps.len();
        if let (false, Some(pause)) = (last, &rollout.pause) {
            steps.push(json!({ "pause": { "duration": pause } }));
        }
    }
    let mut spec = Map::new();
    if let Some(r) = replicas {
        spec.insert("replicas".into(), json!(r));
    }
    spec.insert(
        "selector".into(),
        json!({ "matchLabels": view.selector(&svc.name) }),
    );
    spec.insert("template".into(), pod);
    spec.insert("strategy".into(), json!({ "canary": { "steps": steps } }));
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": view.metadata(&svc.name, &svc.name),
        "spec": spec,
    })
}

fn job(view: &LaneView<'_>, svc: &EffectiveService, pod: Value) -> Value {
    let mut spec = Map::new();
    if view.release.hibernated {
        spec.insert("suspend".into(), json!(true));
    }
    spec.insert("backoffLimit".into(), json!(2));
    spec.insert("template".into(), pod);
    let spec = Value::Object(spec);
    // Job names are at most 63 characters (they become a label value).
    let base: String = svc.name.chars().take(46).collect();
    let name = format!("{}-{}", base.trim_end_matches('-'), short_hash(&spec));
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": view.metadata(&name, &svc.name),
        "spec": spec,
    })
}

fn cronjob(view: &LaneView<'_>, svc: &EffectiveService, pod: &Value) -> Result<Value, RenderError> {
    let schedule = svc
        .schedule
        .clone()
        .ok_or_else(|| RenderError::MissingSchedule {
            service: svc.name.clone(),
        })?;
    let mut spec = Map::new();
    spec.insert("schedule".into(), json!(schedule));
    spec.insert("concurrencyPolicy".into(), json!("Forbid"));
    if view.release.hibernated {
        spec.insert("suspend".into(), json!(true));
    }
    spec.insert(
        "jobTemplate".into(),
        json!({ "spec": { "backoffLimit": 2, "template": pod } }),
    );
    Ok(json!({
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": view.metadata(&svc.name, &svc.name),
        "spec": spec,
    }))
}

fn migration_job(view: &LaneView<'_>, svc: &EffectiveService, pod: &Value) -> Value {
    let base: String = svc.name.chars().take(55).collect();
    let name = format!("{}-migrate", base.trim_end_matches('-'));
    let mut annotations = Map::new();
    annotations.insert("argocd.argoproj.io/hook".into(), json!("PreSync"));
    annotations.insert(
        "argocd.argoproj.io/hook-delete-policy".into(),
        json!("BeforeHookCreation"),
    );
    annotations.extend(view.annotations());
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "labels": view.labels(&svc.name),
            "annotations": annotations,
        },
        "spec": { "backoffLimit": 0, "template": pod },
    })
}
