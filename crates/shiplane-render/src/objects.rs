//! The supporting Kubernetes objects of a lane: `Namespace`, `ServiceAccount`, `Service`,
//! `Ingress`, `ConfigMap`, `PodDisruptionBudget`, `HorizontalPodAutoscaler`, `NetworkPolicy`,
//! and the lane's `kustomization.yaml`.
//!
//! Each function builds one object as a JSON tree with keys in the order a person would write
//! them. Ports are always numbers (an Ingress backend by port name is one of the seeds'
//! pitfalls). Workloads and pod templates live in `workload.rs`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use shiplane_intent::EffectiveService;
use shiplane_intent::model::Expose;

use crate::view::{LaneView, is_dns_subdomain};
use crate::{INGRESS_CONTROLLER_NAMESPACE, RenderError};

/// The lane's `Namespace`.
pub(crate) fn namespace(view: &LaneView<'_>) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": view.metadata(&view.namespace, &view.eff.project),
    })
}

/// A `ServiceAccount` (one per distinct name; services may share one).
pub(crate) fn service_account(view: &LaneView<'_>, name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": view.metadata(name, &view.eff.project),
    })
}

/// `kustomization.yaml`: every lane file, sorted, in the lane's namespace.
pub(crate) fn kustomization(view: &LaneView<'_>, resources: &[String]) -> Value {
    json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": view.namespace,
        "resources": resources,
    })
}

/// The literal environment of a service's `ConfigMap`, templates filled.
pub(crate) fn literal_env(
    view: &LaneView<'_>,
    svc: &EffectiveService,
) -> Result<BTreeMap<String, String>, RenderError> {
    let mut out = BTreeMap::new();
    for (k, v) in &svc.run.env {
        if let shiplane_intent::model::EnvValue::Literal(s) = v {
            let field = format!("services.{}.run.env.{k}", svc.name);
            out.insert(
                k.clone(),
                view.substitute(&s.as_text(), Some(&svc.name), &field)?,
            );
        }
    }
    Ok(out)
}

/// Name of a service's environment `ConfigMap`.
pub(crate) fn configmap_name(svc: &EffectiveService) -> String {
    format!("{}-env", svc.name)
}

/// The `ConfigMap` holding a service's literal environment.
pub(crate) fn configmap(
    view: &LaneView<'_>,
    svc: &EffectiveService,
    data: &BTreeMap<String, String>,
) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": view.metadata(&configmap_name(svc), &svc.name),
        "data": data,
    })
}

/// A `ClusterIP` `Service` on the declared port.
pub(crate) fn service(view: &LaneView<'_>, svc: &EffectiveService, port: u32) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": view.metadata(&svc.name, &svc.name),
        "spec": {
            "type": "ClusterIP",
            "selector": view.selector(&svc.name),
            "ports": [{ "name": "http", "protocol": "TCP", "port": port, "targetPort": port }],
        },
    })
}

/// The host of an exposed service in this lane, checked.
pub(crate) fn ingress_host(
    view: &LaneView<'_>,
    svc: &EffectiveService,
    expose: &Expose,
) -> Result<String, RenderError> {
    let field = format!("services.{}.expose.host", svc.name);
    let host = view.substitute(&expose.host, Some(&svc.name), &field)?;
    let plain = host.strip_prefix("*.").unwrap_or(&host);
    if !is_dns_subdomain(plain) {
        return Err(view.invalid(
            &field,
            &host,
            "is not a valid host name (lowercase DNS-1123 subdomain)",
        ));
    }
    Ok(host)
}

/// The TLS `Secret` name of a host: `api-dev-example-com-tls` for `api-dev.example.com`.
pub(crate) fn tls_secret_name(host: &str) -> String {
    let base = host.replace("*.", "wildcard.").replace('.', "-");
    let mut name = format!("{base}-tls");
    if name.len() > 253 {
        name = format!("{}-tls", &base[..249].trim_end_matches('-'));
    }
    name
}

/// An `Ingress` for an exposed service: backend by port number, TLS when asked.
pub(crate) fn ingress(
    view: &LaneView<'_>,
    svc: &EffectiveService,
    expose: &Expose,
    host: &str,
    port: u32,
) -> Value {
    let path = expose.path.clone().unwrap_or_else(|| "/".to_owned());
    let mut spec = Map::new();
    if expose.tls {
        spec.insert(
            "tls".into(),
            json!([{ "hosts": [host], "secretName": tls_secret_name(host) }]),
        );
    }
    spec.insert(
        "rules".into(),
        json!([{
            "host": host,
            "http": { "paths": [{
                "path": path,
                "pathType": "Prefix",
                "backend": { "service": { "name": svc.name, "port": { "number": port } } },
            }] },
        }]),
    );
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": view.metadata(&svc.name, &svc.name),
        "spec": spec,
    })
}

/// A `PodDisruptionBudget` allowing one pod down at a time (so nodes can still drain).
pub(crate) fn pdb(view: &LaneView<'_>, svc: &EffectiveService) -> Value {
    json!({
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": view.metadata(&svc.name, &svc.name),
        "spec": {
            "maxUnavailable": 1,
            "selector": { "matchLabels": view.selector(&svc.name) },
        },
    })
}

/// An `autoscaling/v2` `HorizontalPodAutoscaler` on CPU utilisation (80% unless configured).
pub(crate) fn hpa(
    view: &LaneView<'_>,
    svc: &EffectiveService,
    target: (&str, &str),
    autoscale: &shiplane_intent::model::Autoscale,
) -> Value {
    json!({
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": view.metadata(&svc.name, &svc.name),
        "spec": {
            "scaleTargetRef": { "apiVersion": target.0, "kind": target.1, "name": svc.name },
            "minReplicas": autoscale.min.max(1),
            "maxReplicas": autoscale.max.max(autoscale.min).max(1),
            "metrics": [{
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {
                        "type": "Utilization",
                        "averageUtilization": autoscale.cpu_percent.unwrap_or(80),
                    },
                },
            }],
        },
    })
}

/// A `NetworkPolicy` for a service's pods.
///
/// With a port: ingress to that port only, from pods of the lane's namespace and — when the
/// service is exposed — from the ingress controller's namespace
/// ([`INGRESS_CONTROLLER_NAMESPACE`]). Without a port (jobs): no ingress at all. Egress is not
/// restricted: services call databases and APIs the intent does not describe.
pub(crate) fn network_policy(
    view: &LaneView<'_>,
    svc: &EffectiveService,
    port: Option<u32>,
    exposed: bool,
) -> Value {
    let mut spec = Map::new();
    spec.insert(
        "podSelector".into(),
        json!({ "matchLabels": view.selector(&svc.name) }),
    );
    spec.insert("policyTypes".into(), json!(["Ingress"]));
    if let Some(port) = port {
        let mut from = vec![json!({ "podSelector": {} })];
        if exposed {
            from.push(json!({ "namespaceSelector": { "matchLabels": {
                "kubernetes.io/metadata.name": INGRESS_CONTROLLER_NAMESPACE,
            } } }));
        }
        spec.insert(
            "ingress".into(),
            json!([{ "from": from, "ports": [{ "protocol": "TCP", "port": port }] }]),
        );
    }
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": view.metadata(&svc.name, &svc.name),
        "spec": spec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_secret_names() {
        assert_eq!(
            tls_secret_name("miker-dev.example.com"),
            "miker-dev-example-com-tls"
        );
        assert_eq!(tls_secret_name("*.example.com"), "wildcard-example-com-tls");
        assert!(tls_secret_name(&format!("{}.com", "a".repeat(300))).len() <= 253);
    }
}
