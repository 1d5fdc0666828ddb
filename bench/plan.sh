#!/usr/bin/env bash
# Planning benchmark: `shiplane plan` against `turbo ls --affected` and `nx show projects
# --affected` on one synthetic monorepo (bench/gen-monorepo.py), with `git diff --name-only`
# as the floor. Checks that all three report the same affected services, then times them warm
# and interleaved (hyperfine when installed, in ROUNDS rounds that each run every tool
# RUNS/ROUNDS times, so drift in the machine's load hits every tool alike; else a Python loop
# alternating run by run), prints median, mean ± σ and the ratios, and measures peak RSS with
# /usr/bin/time -v. It also times `shiplane check` of the same 1,000-service intent, splits a
# plan run into phases (SHIPLANE_TIMING=1: how much of it is loading the intent), records the
# release binary's size, and says whether each target is met:
#   check ≤ 5 ms; plan ≤ 10× `git diff --name-only` and ≤ 0.10× `turbo ls --affected`;
#   binary ≤ 25 MB.
# Results belong in docs/benchmarks.md with machine and date.
#
# Usage: bench/plan.sh [SERVICES] [FILES]      (default 1000 services, 100000 files)
# Env:   SHIPLANE=path/to/shiplane (default: $CARGO_TARGET_DIR/release/shiplane, rebuilt
#        first so it is never stale)   RUNS=15  ROUNDS=3  OUT=bench/out
set -euo pipefail
cd "$(dirname "$0")"
BENCH=$PWD
SERVICES=${1:-1000}
FILES=${2:-100000}
RUNS=${RUNS:-15}
ROUNDS=${ROUNDS:-3}
OUT=${OUT:-$BENCH/out}
REPO=$OUT/mono-$SERVICES-$FILES

# 1. Peers, installed locally (bench/node_modules is git-ignored).
if [[ ! -x $BENCH/node_modules/.bin/turbo || ! -x $BENCH/node_modules/.bin/nx ]]; then
  [[ -f $BENCH/package.json ]] || echo '{"private":true}' > "$BENCH/package.json"
  (cd "$BENCH" && npm i --no-audit --no-fund --silent turbo nx)
fi
TURBO=$BENCH/node_modules/.bin/turbo
NX=$BENCH/node_modules/.bin/nx

# 2. Shiplane, release build.
if [[ -z ${SHIPLANE:-} ]]; then
  TARGET=${CARGO_TARGET_DIR:-$BENCH/../target}
  SHIPLANE=$TARGET/release/shiplane
  (cd "$BENCH/.." && cargo build --quiet --release -p shiplane)
fi

# 3. The repository (regenerated only when missing).
if [[ ! -d $REPO/.git ]]; then
  mkdir -p "$OUT"
  python3 "$BENCH/gen-monorepo.py" --out "$REPO" --services "$SERVICES" --files "$FILES"
fi
# nx and turbo resolve their own packages from the workspace.
ln -sfn "$BENCH/node_modules" "$REPO/node_modules"
cd "$REPO"

SHIPLANE_CMD="$SHIPLANE plan --base HEAD~1 --head HEAD --json"
CHECK_CMD="$SHIPLANE check --intent shiplane.yaml"
TURBO_CMD="env TURBO_SCM_BASE=HEAD~1 TURBO_SCM_HEAD=HEAD TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 $TURBO ls --affected --output=json"
NX_CMD="env NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false $NX show projects --affected --base=HEAD~1 --head=HEAD --json"
FLOOR_CMD="git diff --name-only HEAD~1 HEAD"

# 4. Same answer from all three (services only: turbo and nx also list affected libraries).
$SHIPLANE_CMD > "$OUT/shiplane.json"
$TURBO_CMD > "$OUT/turbo.json"
$NX_CMD > "$OUT/nx.json"
python3 - "$OUT" "$REPO.meta.json" <<'PY'
import json, sys
out, meta = sys.argv[1], json.load(open(sys.argv[2]))
svc = lambda names: sorted(n for n in names if n.startswith("svc-"))
ship = svc(a["service"] for a in json.load(open(f"{out}/shiplane.json"))["affected"])
t = json.load(open(f"{out}/turbo.json"))
turbo = svc(p["name"] if isinstance(p, dict) else p for p in t.get("packages", {}).get("items", t.get("packages", [])))
nx = svc(json.load(open(f"{out}/nx.json")))
expected = meta["expected_affected"]
for name, got in [("shiplane", ship), ("turbo", turbo), ("nx", nx)]:
    print(f"{name:9} {len(got):5} affected services", "OK" if got == expected else "MISMATCH")
if not (ship == turbo == nx == expected):
    sys.exit("the tools disagree on the affected set; see bench/out/*.json")
PY

# 5. Timing, warm, interleaved.
if command -v hyperfine >/dev/null; then
  per_round=$(( (RUNS + ROUNDS - 1) / ROUNDS ))
  for round in $(seq "$ROUNDS"); do
    hyperfine --warmup 2 --runs "$per_round" -N --style basic \
      --export-json "$OUT/timing-$round.json" \
      -n floor "$FLOOR_CMD" -n shiplane "$SHIPLANE_CMD" -n turbo "$TURBO_CMD" -n nx "$NX_CMD" \
      -n check "$CHECK_CMD" \
      > "$OUT/hyperfine-$round.log"
  done
  python3 - "$OUT" "$ROUNDS" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
times = {}
for r in range(1, rounds + 1):
    for res in json.load(open(f"{out}/timing-{r}.json"))["results"]:
        times.setdefault(res["command"], []).extend(res["times"])
json.dump(times, open(f"{out}/timing.json", "w"), indent=1)
PY
else
  python3 - "$RUNS" "$OUT" "$FLOOR_CMD" "$SHIPLANE_CMD" "$TURBO_CMD" "$NX_CMD" "$CHECK_CMD" <<'PY'
import json, shlex, subprocess, sys, time
runs, out = int(sys.argv[1]), sys.argv[2]
cmds = dict(zip(["floor", "shiplane", "turbo", "nx", "check"], sys.argv[3:]))
times = {k: [] for k in cmds}
for _ in range(2):  # warm-up
    for c in cmds.values(): subprocess.run(shlex.split(c), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
for _ in range(runs):  # alternate so drift hits every tool alike
    for k, c in cmds.items():
        t = time.perf_counter(); subprocess.run(shlex.split(c), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times[k].append(time.perf_counter() - t)
json.dump(times, open(f"{out}/timing.json", "w"), indent=1)
PY
fi

# 5b. Summary and targets (from bench/out/timing.json).
python3 - "$OUT" <<'PY'
import json, statistics, sys
out = sys.argv[1]
times = json.load(open(f"{out}/timing.json"))
med = {k: statistics.median(v) for k, v in times.items()}
print(f"{'tool':9} {'runs':>4} {'median':>10} {'mean ± σ':>20} {'min':>9}")
for k, v in times.items():
    print(f"{k:9} {len(v):4} {med[k]*1e3:8.1f} ms {statistics.mean(v)*1e3:8.1f} ± {statistics.stdev(v)*1e3:5.1f} ms {min(v)*1e3:6.1f} ms")
s = med["shiplane"]
ok = lambda b: "met" if b else "NOT met"
print(f"shiplane / turbo = {s/med['turbo']:.3f}  (turbo is {med['turbo']/s:.1f}x slower)   target <= 0.10: {ok(s/med['turbo'] <= 0.10)}")
print(f"shiplane / nx    = {s/med['nx']:.3f}  (nx is {med['nx']/s:.1f}x slower)")
print(f"shiplane / floor = {s/med['floor']:.1f}x git diff --name-only ({(s-med['floor'])*1e3:.1f} ms above it)   target <= 10x: {ok(s/med['floor'] <= 10)}")
print(f"check            = {med['check']*1e3:.1f} ms median   target <= 5 ms: {ok(med['check'] <= 0.005)}")
PY

# 5c. Where a plan's time goes: SHIPLANE_TIMING=1 prints phases (ms since start) on stderr.
python3 - "$RUNS" "$SHIPLANE_CMD" <<'PY'
import shlex, statistics, subprocess, sys, os
runs, cmd = int(sys.argv[1]), shlex.split(sys.argv[2])
env = dict(os.environ, SHIPLANE_TIMING="1")
phases = {}
for _ in range(runs):
    err = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True, check=True).stderr
    for line in err.splitlines():
        if line.startswith("timing:"):
            ms, what = line[len("timing:"):].strip().split(None, 2)[0], line.split("ms", 1)[1].strip()
            phases.setdefault(what, []).append(float(ms))
print("plan phases (median ms since the process's first timing call, over", runs, "runs):")
for what, v in phases.items():
    print(f"  {statistics.median(v):7.1f} ms  {what}")
PY

# 5d. The binary.
size=$(stat -c %s "$SHIPLANE")
awk -v s="$size" 'BEGIN { printf "binary %s: %.1f MB (%d bytes)   target <= 25 MB: %s\n", ARGV[1], s/1e6, s, (s <= 25e6 ? "met" : "NOT met") }' "$SHIPLANE"

# 6. Peak RSS.
for name in floor shiplane turbo nx check; do
  case $name in floor) c=$FLOOR_CMD;; shiplane) c=$SHIPLANE_CMD;; turbo) c=$TURBO_CMD;; nx) c=$NX_CMD;; check) c=$CHECK_CMD;; esac
  /usr/bin/time -v $c 2>&1 >/dev/null | awk -v n="$name" '/Maximum resident/ {printf "%-9s peak RSS %8.1f MiB\n", n, $6/1024}'
done
