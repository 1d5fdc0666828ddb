//! The Argo CD objects of a lane: an `AppProject` fenced to the lane's namespace and `GitOps`
//! repository, and an `Application` pointing at the lane's `manifests/` directory — or, for a
//! template lane, an `ApplicationSet` whose git directory generator finds every instance.
//!
//! They do not depend on the release (only on intent), so promotions never change them. The
//! `AppProject` whitelists `Namespace` as its only cluster-scoped kind because the lane renders
//! its own `Namespace`. Applications sync automatically with prune and self-heal, so a manual
//! `kubectl set image` is undone and git stays the truth, and with `CreateNamespace=true` so the
//! `PreSync` migration hook has a namespace to run in on the very first sync. Applications made
//! by an `ApplicationSet` (ephemeral instances) carry Argo CD's resources finalizer so that
//! removing an instance removes what it deployed; long-lived lanes do not, so deleting an
//! `Application` by mistake never deletes production.

use serde_json::{Map, Value, json};

use crate::view::LaneView;
use crate::{IN_CLUSTER_SERVER, MANAGED_BY, RenderError};

/// (file name, object) of the lane's Argo CD objects.
pub(crate) fn objects(view: &LaneView<'_>) -> Result<Vec<(String, Value)>, RenderError> {
    let mut out = vec![("appproject.yaml".to_owned(), app_project(view))];
    if view.instance.is_some() {
        out.push(("applicationset.yaml".to_owned(), application_set(view)?));
    } else {
        out.push(("application.yaml".to_owned(), application(view)));
    }
    Ok(out)
}

fn labels(view: &LaneView<'_>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("app.kubernetes.io/part-of".into(), json!(view.eff.project));
    m.insert("app.kubernetes.io/managed-by".into(), json!(MANAGED_BY));
    m.insert("shiplane.dev/lane".into(), json!(view.lane.name));
    m
}

fn metadata(view: &LaneView<'_>, name: &str) -> Value {
    json!({
        "name": name,
        "namespace": view.lane.argocd.namespace,
        "labels": labels(view),
    })
}

/// The namespace a template's instances get, with `{name}` replaced by `replacement`.
fn template_namespace(view: &LaneView<'_>, replacement: &str) -> String {
    shiplane_intent::template::substitute(&view.lane.namespace, &|var| match var {
        "name" => Some(replacement.to_owned()),
        "project" => Some(view.eff.project.clone()),
        _ => None,
    })
}

fn app_project(view: &LaneView<'_>) -> Value {
    // A template's project serves every instance: its namespaces are a glob.
    let namespace = if view.instance.is_some() {
        template_namespace(view, "*")
    } else {
        view.namespace.clone()
    };
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": metadata(view, &view.lane.argocd.project),
        "spec": {
            "description": format!("Shiplane lane {} of {}", view.lane.name, view.eff.project),
            "sourceRepos": [view.repo],
            "destinations": [{ "server": IN_CLUSTER_SERVER, "namespace": namespace }],
            "clusterResourceWhitelist": [{ "group": "", "kind": "Namespace" }],
        },
    })
}

fn sync_policy() -> Value {
    json!({
        "automated": { "prune": true, "selfHeal": true },
        "syncOptions": ["CreateNamespace=true"],
    })
}

fn application(view: &LaneView<'_>) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": metadata(view, &view.app_name),
        "spec": {
            "project": view.lane.argocd.project,
            "source": {
                "repoURL": view.repo,
                "targetRevision": view.branch,
                "path": format!("{}/manifests", view.path),
            },
            "destination": { "server": IN_CLUSTER_SERVER, "namespace": view.namespace },
            "syncPolicy": sync_policy(),
        },
    })
}

fn application_set(view: &LaneView<'_>) -> Result<Value, RenderError> {
    let raw = &view.lane.gitops.path;
    let segments: Vec<&str> = raw.split('/').collect();
    let index = segments
        .iter()
        .position(|s| *s == "{name}")
        .ok_or_else(|| RenderError::TemplatePath {
            lane: view.lane.name.clone(),
            path: raw.clone(),
        })?;
    let glob: Vec<&str> = segments
        .iter()
        .map(|s| if *s == "{name}" { "*" } else { s })
        .collect();
    let glob = shiplane_intent::template::substitute(&glob.join("/"), &|var| {
        (var == "project").then(|| view.eff.project.clone())
    });
    // Argo CD's git directory generator names path segments `{{path[N]}}`.
    let param = format!("{{{{path[{index}]}}}}");
    let mut template_labels = labels(view);
    template_labels.insert("shiplane.dev/instance".into(), json!(param));
    Ok(json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": metadata(view, &view.lane.argocd.application),
        "spec": {
            "generators": [{ "git": {
                "repoURL": view.repo,
                "revision": view.branch,
                "directories": [{ "path": format!("{glob}/manifests") }],
            } }],
            "template": {
                "metadata": {
                    "name": format!("{}-{param}", view.lane.argocd.application),
                    "labels": template_labels,
                    "finalizers": ["resources-finalizer.argocd.argoproj.io"],
                },
                "spec": {
                    "project": view.lane.argocd.project,
                    "source": {
                        "repoURL": view.repo,
                        "targetRevision": view.branch,
                        "path": "{{path}}",
                    },
                    "destination": {
                        "server": IN_CLUSTER_SERVER,
                        "namespace": template_namespace(view, &param),
                    },
                    "syncPolicy": sync_policy(),
                },
            },
        },
    }))
}
