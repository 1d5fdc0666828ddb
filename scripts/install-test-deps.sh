#!/usr/bin/env bash
# Installs the real components the tests run against, from Debian's archive. Idempotent: it
# installs only what is missing, so a warm machine pays nothing.
set -euo pipefail

need=()
command -v git >/dev/null 2>&1 || need+=(git)
command -v python3 >/dev/null 2>&1 || need+=(python3)
# The registry crate's integration tests: a real distribution registry, skopeo as a peer
# client, and htpasswd (bcrypt) for basic auth.
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
command -v curl >/dev/null 2>&1 || need+=(curl)
# Freeze windows name IANA zones (`Asia/Shanghai`); jiff reads them from the system tzdb.
[ -e /usr/share/zoneinfo/Asia/Shanghai ] || need+=(tzdata)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "installing: ${need[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# Tests create commits; give git an identity when the machine has none.
git config --global user.name >/dev/null 2>&1 || git config --global user.name "Shiplane CI"
git config --global user.email >/dev/null 2>&1 || git config --global user.email "ci@shiplane.invalid"
git config --global init.defaultBranch >/dev/null 2>&1 || git config --global init.defaultBranch main

# The render crate's tests: `kubectl kustomize` builds every rendered lane (kubectl ships in the
# machine image with kustomize 5.5 inside; Debian has no package for it, so a bare machine is
# told, and the tests skip loudly — or fail when CI is set), and kubernetes-validate checks every
# core Kubernetes object against the official OpenAPI schemas, offline.
command -v kubectl >/dev/null 2>&1 || echo "warning: kubectl not found; shiplane-render's kustomize tests will skip (fail under CI)" >&2
python3 -c 'import kubernetes_validate' 2>/dev/null || pip install --quiet kubernetes-validate
