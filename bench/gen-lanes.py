#!/usr/bin/env python3
"""Generate the inputs of the lanes benchmark (bench/lanes.sh).

Writes, under --out:
  * source/       a git repository with N services (services/svc-NNNN/app.txt) and a
                  shiplane.yaml: lanes dev (promote: auto) -> staging, defaults.gitops = the bare
                  repository below over file://, defaults.registry = the OCI layout below.
                  Two commits: C1 (everything) and C2 (changes services/svc-0000 only), so the
                  lane can hold two releases for the rollback timing.
  * gitops.git/   an empty bare repository (HEAD -> main).
  * registry/     (created by `shiplane image pack`, not here).
  * build/svc-NNNN/  a tiny distinct directory per service, packed into one image each.
  * chart/        a minimal Helm chart rendering what Shiplane renders for one such service
                  (Deployment with probes, resources and the same security context, Service,
                  ConfigMap), values per service under helm-values/svc-NNNN.yaml.
  * umbrella/     a Helm chart with N dependencies, each an alias of chart/ (charts/svc), with
                  the N services' values under their alias.

Deterministic; uses plain `git`.
"""

import argparse
import json
import os
import shutil
import subprocess

ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_AUTHOR_DATE": "2026-11-22T12:00:00Z", "GIT_COMMITTER_DATE": "2026-11-22T12:00:00Z",
}


def git(cwd, *args):
    return subprocess.run(["git", *args], cwd=cwd, env=ENV, check=True,
                          capture_output=True, text=True).stdout.strip()


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def intent(n, registry, gitops):
    lines = [
        "version: 1",
        "project: lanebench",
        "defaults:",
        f"  registry: \"{registry}\"",
        f"  gitops: {{ repo: \"file://{gitops}\", branch: main }}",
        "  run:",
        "    replicas: 1",
        "    resources: { cpu: 100m, memory: 128Mi }",
        "services:",
    ]
    for i in range(n):
        s = f"svc-{i:04d}"
        lines += [
            f"  {s}:",
            f"    paths: [\"services/{s}/**\"]",
            f"    build: {{ context: services/{s} }}",
            "    run:",
            "      port: 8080",
            "      health: { path: /healthz }",
            f"      env: {{ SERVICE_NAME: {s}, LOG_LEVEL: info }}",
        ]
    lines += [
        "lanes:",
        "  dev:",
        "    promote: auto",
        "  staging:",
        "    from: dev",
        "    approvals: 1",
    ]
    return "\n".join(lines) + "\n"


CHART_YAML = "apiVersion: v2\nname: svc\nversion: 0.1.0\nappVersion: \"1\"\n"

VALUES = """name: svc
image: registry.example/svc@sha256:0000000000000000000000000000000000000000000000000000000000000000
replicas: 1
port: 8080
healthPath: /healthz
resources: { cpu: 100m, memory: 128Mi }
env: { LOG_LEVEL: info }
release: ""
"""

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Values.name }}
  labels:
    app.kubernetes.io/name: {{ .Values.name }}
    app.kubernetes.io/instance: {{ .Release.Name }}
    app.kubernetes.io/managed-by: {{ .Release.Service }}
  annotations:
    shiplane.dev/release: {{ .Values.release | quote }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels:
      app.kubernetes.io/name: {{ .Values.name }}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {{ .Values.name }}
      annotations:
        shiplane.dev/config-hash: {{ toJson .Values.env | sha256sum | trunc 16 }}
    spec:
      serviceAccountName: {{ .Values.name }}
      securityContext:
        runAsNonRoot: true
        seccompProfile: { type: RuntimeDefault }
      containers:
        - name: {{ .Values.name }}
          image: {{ .Values.image }}
          ports:
            - { name: http, containerPort: {{ .Values.port }} }
          envFrom:
            - configMapRef: { name: {{ .Values.name }} }
          startupProbe:
            httpGet: { path: {{ .Values.healthPath }}, port: {{ .Values.port }} }
            periodSeconds: 5
            failureThreshold: 60
          readinessProbe:
            httpGet: { path: {{ .Values.healthPath }}, port: {{ .Values.port }} }
          livenessProbe:
            httpGet: { path: {{ .Values.healthPath }}, port: {{ .Values.port }} }
          resources:
            requests: { cpu: {{ .Values.resources.cpu }}, memory: {{ .Values.resources.memory }} }
            limits: { memory: {{ .Values.resources.memory }} }
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: false
            capabilities: { drop: [ALL] }
"""

SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: {{ .Values.name }}
  labels:
    app.kubernetes.io/name: {{ .Values.name }}
    app.kubernetes.io/instance: {{ .Release.Name }}
spec:
  selector:
    app.kubernetes.io/name: {{ .Values.name }}
  ports:
    - { name: http, port: {{ .Values.port }}, targetPort: {{ .Values.port }} }
"""

CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Values.name }}
  labels:
    app.kubernetes.io/name: {{ .Values.name }}
    app.kubernetes.io/instance: {{ .Release.Name }}
data:
{{- range $k, $v := .Values.env }}
  {{ $k }}: {{ $v | quote }}
{{- end }}
"""


def service_values(s):
    return {
        "name": s,
        "image": f"registry.example/lanebench/{s}@sha256:{'%064x' % (int(s[4:]) + 1)}",
        "env": {"SERVICE_NAME": s, "LOG_LEVEL": "info"},
        "release": "0000000-00000000",
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--services", type=int, default=500)
    a = p.parse_args()
    out = os.path.abspath(a.out)
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    n = a.services
    names = [f"svc-{i:04d}" for i in range(n)]

    # GitOps: bare, HEAD -> main.
    git(out, "init", "-q", "--bare", "-b", "main", "gitops.git")

    # Source repository, commit C1 then C2 (svc-0000 only).
    src = os.path.join(out, "source")
    os.makedirs(src)
    git(src, "init", "-q", "-b", "main")
    write(os.path.join(src, "shiplane.yaml"),
          intent(n, f"oci-layout:{out}/registry:lanebench", os.path.join(out, "gitops.git")))
    for s in names:
        write(os.path.join(src, "services", s, "app.txt"), f"{s} v1\n")
        write(os.path.join(src, "services", s, "Dockerfile"), "FROM scratch\nCOPY app.txt /app.txt\n")
    git(src, "add", "-A")
    git(src, "commit", "-q", "-m", f"{n} services")
    write(os.path.join(src, "services", names[0], "app.txt"), f"{names[0]} v2\n")
    git(src, "commit", "-q", "-am", f"{names[0]}: v2")

    # Tiny distinct build contexts (v2 of svc-0000 separately).
    for s in names:
        write(os.path.join(out, "build", s, "app.txt"), f"{s} v1\n")
    write(os.path.join(out, "build-v2", names[0], "app.txt"), f"{names[0]} v2\n")

    # Helm: the per-service chart, values per service, and the umbrella of N aliases.
    chart = os.path.join(out, "chart")
    write(os.path.join(chart, "Chart.yaml"), CHART_YAML)
    write(os.path.join(chart, "values.yaml"), VALUES)
    write(os.path.join(chart, "templates", "deployment.yaml"), DEPLOYMENT)
    write(os.path.join(chart, "templates", "service.yaml"), SERVICE)
    write(os.path.join(chart, "templates", "configmap.yaml"), CONFIGMAP)
    for s in names:
        write(os.path.join(out, "helm-values", f"{s}.yaml"), json.dumps(service_values(s)) + "\n")
    umb = os.path.join(out, "umbrella")
    deps = "".join(f"  - {{ name: svc, alias: {s}, version: 0.1.0 }}\n" for s in names)
    write(os.path.join(umb, "Chart.yaml"),
          "apiVersion: v2\nname: lanebench\nversion: 0.1.0\ndependencies:\n" + deps)
    write(os.path.join(umb, "values.yaml"),
          json.dumps({s: service_values(s) for s in names}, indent=1) + "\n")
    shutil.copytree(chart, os.path.join(umb, "charts", "svc"))

    print(json.dumps({"out": out, "services": n,
                      "c1": git(src, "rev-parse", "HEAD~1"), "c2": git(src, "rev-parse", "HEAD")}))


if __name__ == "__main__":
    main()
