#!/usr/bin/env bash
# Stops a registry started by scripts/registry-start.sh and removes its directory.
#
#   scripts/registry-stop.sh DIR [--keep]
set -euo pipefail
dir="${1:?usage: registry-stop.sh DIR [--keep]}"
if [ -f "$dir/registry.pid" ]; then
  pid="$(cat "$dir/registry.pid")"
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/registry.pid"
fi
if [ "${2:-}" != "--keep" ] && [ -f "$dir/config.yml" ]; then
  rm -rf "$dir"
fi
