#!/usr/bin/env bash
# Contention and black-hole benchmark (issue "Trust, part 2", items 5 and 6):
#   1. 20 `shiplane promote lNN --commit HEAD --json` processes started at once, each into
#      its own lane of ONE GitOps repository served by `git daemon` (git://), sharing one
#      cache directory as jobs on one CI runner do. Records each process's wall time and exit
#      status; target: 20/20 land, slowest <= 15 s.
#   2. The same remote black-holed (a listener on the daemon's port that accepts and never
#      answers): `shiplane promote l01` must fail within the documented timeout (default
#      SHIPLANE_NETWORK_TIMEOUT=20 s, target <= 30 s), and with SHIPLANE_NETWORK_TIMEOUT=5.
# Results belong in docs/benchmarks.md ("Network: contention and black holes").
#
# Usage: bench/contention.sh
# Env:   SHIPLANE=path (default: $CARGO_TARGET_DIR/release/shiplane built from `git archive HEAD`)
#        PEER=rev also runs the storms with a binary built from that commit (for example the
#        commit before the fix), in the same run, for comparison
#        RUNS=3 (storms of 20)   LANES=20   OUT=bench/out
set -euo pipefail
cd "$(dirname "$0")"
BENCH=$PWD
RUNS=${RUNS:-3}
LANES=${LANES:-20}
OUT=${OUT:-$BENCH/out}
W=$OUT/contention
rm -rf "$W"; mkdir -p "$W"
LOG=$OUT/contention.log
exec > >(tee "$LOG") 2>&1

echo "== contention benchmark: $LANES concurrent promotions into one git:// repository, $RUNS runs"
date -u; uptime; nproc; git --version

# 1. Shiplane, release build of the committed code (as bench/lanes.sh does).
build() { # REV -> path of a release binary built from `git archive REV`
  local commit export
  commit=$(git -C "$BENCH/.." rev-parse --short "$1")
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target}
  export=$OUT/src-$commit
  if [[ ! -f $export/Cargo.toml ]]; then
    mkdir -p "$export" && git -C "$BENCH/.." archive "$commit" | tar -x -C "$export"
  fi
  if [[ ! -x $OUT/bin/shiplane-$commit ]]; then
    (cd "$export" && cargo build --quiet --release -p shiplane)
    mkdir -p "$OUT/bin" && cp "$CARGO_TARGET_DIR/release/shiplane" "$OUT/bin/shiplane-$commit"
  fi
  echo "$OUT/bin/shiplane-$commit"
}
if [[ -z ${SHIPLANE:-} ]]; then
  SHIPLANE=$(build HEAD)
fi
echo "shiplane: $SHIPLANE (HEAD is $(git -C "$BENCH/.." rev-parse --short HEAD))"
BINARIES=("$SHIPLANE")
if [[ -n ${PEER:-} ]]; then
  BINARIES+=("$(build "$PEER")")
  echo "peer: ${BINARIES[1]}"
fi

# 2. The GitOps repository behind a git daemon on a free loopback port. git-daemon is run
#    directly (not through the `git` wrapper) so that killing it stops the server.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$W/srv"
git init --quiet --bare -b main "$W/srv/gitops.git"
"$(git --exec-path)/git-daemon" --enable=receive-pack --export-all --reuseaddr \
  --base-path="$W/srv" --port="$PORT" --listen=127.0.0.1 "$W/srv" 2>"$W/daemon.log" &
DAEMON=$!
HOLE=
cleanup() { kill "$DAEMON" 2>/dev/null || true; [[ -n $HOLE ]] && kill "$HOLE" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && break; sleep 0.05; done
REMOTE=git://127.0.0.1:$PORT/gitops.git
echo "remote: $REMOTE"

# 3. A source repository with three services and an intent with lanes l01..lNN, all
#    deploying every service, images in one OCI layout directory.
SRC=$W/source
mkdir -p "$SRC"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
{
  echo "version: 1"
  echo "project: contention"
  echo "defaults:"
  echo "  registry: \"oci-layout:$W/registry:contention\""
  echo "  gitops: { repo: \"$REMOTE\", branch: main }"
  echo "  run: { replicas: 1, resources: { cpu: 100m, memory: 128Mi } }"
  echo "services:"
  for s in api web worker; do
    echo "  $s:"
    echo "    paths: [\"services/$s/**\"]"
    echo "    build: { context: services/$s }"
    echo "    run: { port: 8080, health: { path: /healthz } }"
  done
  echo "lanes:"
  for i in $(seq -f '%02g' 1 "$LANES"); do echo "  l$i: { promote: auto }"; done
} > "$SRC/shiplane.yaml"
for s in api web worker; do
  mkdir -p "$SRC/services/$s" "$W/build/$s"
  echo "$s" > "$SRC/services/$s/app.txt"; echo "$s build" > "$W/build/$s/app.txt"
done
git -C "$SRC" init --quiet -b main && git -C "$SRC" add -A && git -C "$SRC" commit --quiet -m source
cd "$SRC"
export SHIPLANE_CACHE_DIR=$W/cache SHIPLANE_ACTOR=bench
TAG=sha-$(git rev-parse --short=7 HEAD)
"$SHIPLANE" check > /dev/null
for s in api web worker; do
  "$SHIPLANE" image pack "$W/build/$s" --to "oci-layout:$W/registry:contention/$s:$TAG" > /dev/null
  "$SHIPLANE" publish "$s" --image "oci-layout:$W/registry:contention/$s:$TAG" --commit HEAD > /dev/null
done
BEFORE=$(git -C "$W/srv/gitops.git" rev-parse refs/heads/main)
echo "published 3 services; gitops main at $BEFORE"

# 4. The storms: all processes start together; each records lane, exit status, wall time.
for bin in "${BINARIES[@]}"; do
for run in $(seq "$RUNS"); do
  git -C "$W/srv/gitops.git" update-ref refs/heads/main "$BEFORE"
  rm -rf "$SHIPLANE_CACHE_DIR"
  R=$W/run-$(basename "$bin")-$run; mkdir -p "$R"
  echo "== $(basename "$bin"), run $run"; uptime
  PIDS=()
  for i in $(seq -f '%02g' 1 "$LANES"); do
    (
      t0=$(date +%s.%N)
      rc=0; "$bin" promote "l$i" --commit HEAD --json > "$R/l$i.json" 2> "$R/l$i.err" || rc=$?
      t1=$(date +%s.%N)
      echo "l$i $rc $(echo "$t1 - $t0" | bc)" > "$R/l$i.time"
    ) &
    PIDS+=($!)
  done
  wait "${PIDS[@]}"   # not a bare `wait`: that would wait for the daemon too
  cat "$R"/*.time | sort > "$R/times.txt"
  landed=$(git -C "$W/srv/gitops.git" rev-list --count "$BEFORE..main")
  ok=$(awk '$2 == 0' "$R/times.txt" | wc -l)
  git -C "$W/srv/gitops.git" ls-tree -r --name-only main > "$R/tree.txt"
  files=0
  for i in $(seq -f '%02g' 1 "$LANES"); do
    grep -q "^lanes/l$i/release.json$" "$R/tree.txt" && files=$((files + 1))
  done
  python3 - "$run" "$ok" "$landed" "$files" "$LANES" "$R/times.txt" <<'PY'
import statistics, sys
run, ok, landed, files, n, path = sys.argv[1:]
t = [float(line.split()[2]) for line in open(path)]
print(f"run {run}: {ok}/{n} exited 0, {landed} commits landed, {files}/{n} lanes written; "
      f"wall min {min(t):.2f} s, median {statistics.median(t):.2f} s, max {max(t):.2f} s, "
      f"mean {statistics.mean(t):.2f} s")
PY
  awk '$2 != 0 { print "  FAILED:", $0 }' "$R/times.txt"
  for f in "$R"/*.err; do [[ -s $f ]] && { echo "  stderr of $(basename "$f"):"; sed 's/^/    /' "$f"; }; done || true
done
done
uptime

# 5. The black hole: the daemon replaced by a listener on the same port that accepts every
#    connection and never answers.
kill "$DAEMON"; wait "$DAEMON" 2>/dev/null || true
python3 - "$PORT" <<'PY' &
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
PY
HOLE=$!
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && break; sleep 0.05; done
for setting in default 5; do
  rm -rf "$W/cache-hole"
  t0=$(date +%s.%N)
  rc=0
  if [[ $setting == default ]]; then
    env -u SHIPLANE_NETWORK_TIMEOUT SHIPLANE_CACHE_DIR="$W/cache-hole" "$SHIPLANE" promote l01 --commit HEAD > /dev/null 2> "$W/hole-$setting.err" || rc=$?
  else
    SHIPLANE_NETWORK_TIMEOUT=$setting SHIPLANE_CACHE_DIR="$W/cache-hole" "$SHIPLANE" promote l01 --commit HEAD > /dev/null 2> "$W/hole-$setting.err" || rc=$?
  fi
  t1=$(date +%s.%N)
  printf 'black hole, SHIPLANE_NETWORK_TIMEOUT=%s: exit %d after %.2f s\n' "$setting" "$rc" "$(echo "$t1 - $t0" | bc)"
  sed 's/^/    /' "$W/hole-$setting.err"
done
date -u
