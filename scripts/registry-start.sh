#!/usr/bin/env bash
# Starts a throwaway OCI distribution registry (Debian's docker-registry) on 127.0.0.1 for
# tests and local experiments. Installs docker-registry, skopeo and apache2-utils when missing.
#
#   scripts/registry-start.sh [--auth USER:PASSWORD] [--port PORT] [--dir DIR]
#
# Prints `PORT DIR` on stdout; DIR holds config.yml, the storage, registry.log and
# registry.pid. Stop it with scripts/registry-stop.sh DIR. Deletion is enabled
# (storage.delete.enabled: true) so tests can delete by digest.
set -euo pipefail

auth=""
port=""
dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --auth) auth="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "registry-start.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

need=()
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v python3 >/dev/null 2>&1 || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "installing: ${need[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

[ -n "$dir" ] || dir="$(mktemp -d "${TMPDIR:-/tmp}/shiplane-registry.XXXXXX")"
mkdir -p "$dir/storage"
if [ -z "$port" ]; then
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
fi

auth_block=""
if [ -n "$auth" ]; then
  htpasswd -Bbn "${auth%%:*}" "${auth#*:}" > "$dir/htpasswd"
  auth_block="auth:
  htpasswd:
    realm: shiplane-test
    path: $dir/htpasswd"
fi

cat > "$dir/config.yml" <<YAML
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: shiplane-test-secret
$auth_block
YAML

docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
echo $! > "$dir/registry.pid"

for _ in $(seq 1 100); do
  code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/" 2>/dev/null || true)"
  if [ "$code" = 200 ] || [ "$code" = 401 ]; then
    echo "$port $dir"
    exit 0
  fi
  if ! kill -0 "$(cat "$dir/registry.pid")" 2>/dev/null; then
    echo "registry-start.sh: docker-registry exited; log follows" >&2
    cat "$dir/registry.log" >&2
    exit 1
  fi
  sleep 0.1
done
echo "registry-start.sh: no answer on 127.0.0.1:$port/v2/ after 10 s; log follows" >&2
cat "$dir/registry.log" >&2
kill "$(cat "$dir/registry.pid")" 2>/dev/null || true
exit 1
