#!/usr/bin/env bash
# Registry gc benchmark: `shiplane registry gc --json` (the dry-run plan) over TAGS_TOTAL tags in
# 20 repositories of a private local registry (Debian's docker-registry, distribution 2.8, delete
# enabled), cold and warm, against — in the same run — the loop the seed's prune scripts do with
# skopeo: `skopeo list-tags` per repository, then `skopeo inspect` per tag (`xargs -P 2`). Also
# measures the registry's own ceiling (the same requests from a minimal Python client, with the
# registry's CPU time), to show where the time goes. Checks the plan (TAGS_TOTAL decisions, the
# kept tags, warm = cold, skopeo's digests = Shiplane's) before timing anything, and prints
# shiplane's peak RSS. Results belong in docs/benchmarks.md ("Registry gc") with machine and date.
#
# Usage: bench/gc.sh [TAGS_TOTAL]        (default 10000; a multiple of REPOS)
# Env:   SHIPLANE=path (default: built with `cargo build --release -p shiplane` from
#        `git archive HEAD`, as bench/lanes.sh does)
#        RUNS=5 (warm runs)  COLD_RUNS=3  REPOS=20  OUT=bench/out
#        SKOPEO_SAMPLE=N  time only N `skopeo inspect`s (spread over all repositories) and
#                         extrapolate to TAGS_TOTAL; default 0 = the full loop
#        SKOPEO_PARALLEL=2 (xargs -P)   GEN_THREADS=8 (generator connections)
#        REGISTRY_TMP=dir  where the registry's storage goes (default /dev/shm when writable:
#                         distribution fsyncs every upload, which makes populating it on this
#                         VM's disk ~7x slower; reads are served from the page cache either way)
set -euo pipefail
cd "$(dirname "$0")"
BENCH=$PWD
ROOT=$(cd "$BENCH/.." && pwd)
TOTAL=${1:-10000}
REPOS=${REPOS:-20}
RUNS=${RUNS:-5}
COLD_RUNS=${COLD_RUNS:-3}
SKOPEO_SAMPLE=${SKOPEO_SAMPLE:-0}
SKOPEO_PARALLEL=${SKOPEO_PARALLEL:-2}
OUT=${OUT:-$BENCH/out}
(( TOTAL % REPOS == 0 )) || { echo "TAGS_TOTAL ($TOTAL) must be a multiple of REPOS ($REPOS)" >&2; exit 2; }
PER=$((TOTAL / REPOS))
W=$OUT/gc-$TOTAL
mkdir -p "$OUT"
LOG=$OUT/gc-$TOTAL.log
exec > >(tee "$LOG") 2>&1

echo "== registry gc benchmark: $TOTAL tags in $REPOS repositories ($PER each), warm runs $RUNS, cold runs $COLD_RUNS"
date -u; uptime; nproc
for tool in docker-registry skopeo hyperfine git python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "missing: $tool (scripts/install-test-deps.sh installs the registry and skopeo)" >&2; exit 1; }
done
docker-registry --version; skopeo --version; hyperfine --version

# 1. Shiplane, release build, from `git archive HEAD` (the committed code, not whatever is
#    uncommitted in the working tree, which other engineers may be editing), with the shared
#    target directory; the binary is copied out so a concurrent rebuild cannot swap it mid-run.
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD)
if [[ -z ${SHIPLANE:-} ]]; then
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target}
  EXPORT=$OUT/src-$COMMIT
  if [[ ! -f $EXPORT/Cargo.toml ]]; then
    mkdir -p "$EXPORT" && git -C "$ROOT" archive HEAD | tar -x -C "$EXPORT"
  fi
  (cd "$EXPORT" && cargo build --quiet --release -p shiplane)
  # (cp + mv: another bench may be running the previous copy.)
  mkdir -p "$OUT/bin" && cp "$CARGO_TARGET_DIR/release/shiplane" "$OUT/bin/.shiplane-gc.$$" \
    && mv -f "$OUT/bin/.shiplane-gc.$$" "$OUT/bin/shiplane-gc-$COMMIT"
  SHIPLANE=$OUT/bin/shiplane-gc-$COMMIT
fi
"$SHIPLANE" --version || true
echo "shiplane: $SHIPLANE (source commit $COMMIT)"

# 2. A private registry on a free port, stopped (our pid only) and removed on exit.
REG_PARENT=${REGISTRY_TMP:-}
if [[ -z $REG_PARENT ]]; then
  if [[ -d /dev/shm && -w /dev/shm ]]; then REG_PARENT=/dev/shm; else REG_PARENT=${TMPDIR:-/tmp}; fi
fi
REGDIR=$(mktemp -d "$REG_PARENT/shiplane-gcbench.XXXXXX")
# Old work directories and caches are moved aside and deleted only at the end: creating 10,000
# files on ext4 within ~30 s of deleting 10,000 others costs ~2.5 s of system time (inode
# allocation skips recently deleted inodes), which would be charged to a cold run.
cleanup() {
  bash "$ROOT/scripts/registry-stop.sh" "$REGDIR" >/dev/null 2>&1 || true
  rm -rf "$W".old.* 2>/dev/null || true
}
trap cleanup EXIT
read -r PORT _ < <(bash "$ROOT/scripts/registry-start.sh" --dir "$REGDIR")
[[ -n ${PORT:-} ]] || { echo "the registry did not start" >&2; exit 1; }
HOST=127.0.0.1:$PORT
echo "registry: $HOST, storage $REGDIR/storage, pid $(cat "$REGDIR/registry.pid")"

# 3. Inputs: the images, an empty bare GitOps repository, a source repository with the intent.
python3 "$BENCH/gen-registry.py" "$PORT" "$REPOS" "$PER" --prefix bench --threads "${GEN_THREADS:-8}"
if [[ -e $W ]]; then mv "$W" "$W.old.$$"; fi
mkdir -p "$W"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
git init -q --bare -b main "$W/gitops.git"
SRC=$W/source
git init -q -b main "$SRC"
{
  echo "version: 1"
  echo "project: gcbench"
  echo "defaults:"
  echo "  registry: \"$HOST/bench\""
  echo "  gitops: { repo: \"file://$W/gitops.git\", branch: main }"
  echo "services:"
  for ((i = 0; i < REPOS; i++)); do
    s=$(printf 'svc-%02d' "$i")
    mkdir -p "$SRC/services/$s" && echo "$s" > "$SRC/services/$s/app.txt"
    echo "  $s:"
    echo "    paths: [\"services/$s/**\"]"
    echo "    build: { context: services/$s }"
  done
  echo "lanes:"
  echo "  dev: {}"
  echo "retention:"
  echo "  keep_newest: 10"
  echo "  keep_tags: [\"dev-latest\"]"
  echo "  keep_semver: true"
} > "$SRC/shiplane.yaml"
git -C "$SRC" add -A && git -C "$SRC" commit -q -m "gc bench intent"
cd "$SRC"
"$SHIPLANE" check

export SHIPLANE_ACTOR=bench
GC="$SHIPLANE registry gc --json"

# 4. Correctness first, and peak RSS (one cold run, one warm run, /usr/bin/time -f %M).
export SHIPLANE_CACHE_DIR=$W/cache
REGPID=$(cat "$REGDIR/registry.pid")
regcpu() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$REGPID/stat"; }   # utime + stime, s
c0=$(regcpu)
/usr/bin/time -f '%M %e %U %S' -o "$W/rss-cold.txt" $GC > "$W/gc.json"
c1=$(regcpu)
/usr/bin/time -f '%M %e %U %S' -o "$W/rss-warm.txt" $GC > "$W/gc-warm.json"
c2=$(regcpu)
for k in cold warm; do
  read -r rss wall user sys < "$W/rss-$k.txt"
  if [[ $k == cold ]]; then reg=$(echo "$c1 - $c0" | bc); else reg=$(echo "$c2 - $c1" | bc); fi
  reg=$(printf %.2f "$reg")
  echo "one $k run: ${wall} s wall; shiplane CPU ${user} s user + ${sys} s sys, peak RSS $((rss / 1024)) MiB; registry CPU meanwhile ${reg} s"
done
echo "cached image times: $(find "$SHIPLANE_CACHE_DIR/image-created" -type f | wc -l)"
python3 - "$W" "$TOTAL" "$REPOS" <<'PY'
import collections, json, sys
w, total, repos = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cold, warm = (json.load(open(f"{w}/{f}")) for f in ("gc.json", "gc-warm.json"))
d = cold["decisions"]
problems = []
if len(d) != total:
    problems.append(f"{len(d)} decisions, expected {total}")
if [r for r in cold["repositories"] if r["exists"]].__len__() != repos:
    problems.append(f"{len(cold['repositories'])} repositories listed, expected {repos} existing")
for x in d:
    if (x["tag"] == "dev-latest" or x["tag"].startswith("v1.")) and x["action"] != "keep":
        problems.append(f"{x['repository']}:{x['tag']} is not kept")
key = lambda p: sorted((x["repository"], x["tag"], x["digest"], x["action"]) for x in p["decisions"])
if key(cold) != key(warm):
    problems.append("the warm run decided differently from the cold run")
kept = collections.Counter(x["repository"] for x in d if x["action"] == "keep")
print(f"plan: {len(d)} decisions in {len(cold['repositories'])} repositories; kept {cold['kept']}, "
      f"delete {cold['deleted']} ({cold['digests_to_delete']} digests); kept per repository "
      f"{min(kept.values())}..{max(kept.values())}; warm run: same decisions")
reasons = collections.Counter(r.split(" ")[0] for x in d for r in x["reasons"])
print("reasons (first word):", dict(reasons.most_common(8)))
if problems:
    sys.exit("WRONG: " + "; ".join(problems[:5]))
PY

# 5. Timing: cold (a fresh SHIPLANE_CACHE_DIR for every run: the previous one is moved aside,
#    see cleanup) and warm (image times cached).
echo "== timing"; date -u; uptime
mkdir -p "$W.old.$$"
hyperfine -N --style basic --runs "$COLD_RUNS" --export-json "$W/t-cold.json" \
  --prepare "bash -c 'mv -T \"\$0\" \"\$1/cache-\$(date +%s%N)\"' $SHIPLANE_CACHE_DIR $W.old.$$" \
  -n gc-cold "$GC"
uptime
$GC > /dev/null   # leave a warm cache behind
hyperfine -N --style basic --warmup 1 --runs "$RUNS" --export-json "$W/t-warm.json" \
  -n gc-warm "$GC"
uptime

# 6. The registry's own ceiling, for where the time goes: the same requests from a minimal
#    client (Python stdlib, keep-alive, TCP_NODELAY, 16 connections), phase by phase, with the
#    registry's CPU time (utime + stime from /proc) for each phase.
python3 - "$PORT" "$REGPID" "$REPOS" > "$W/floor.txt" <<'PY'
import http.client, json, queue, socket, sys, threading, time
port, pid, repos = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
ACCEPT = ", ".join(["application/vnd.oci.image.manifest.v1+json",
                    "application/vnd.docker.distribution.manifest.v2+json",
                    "application/vnd.oci.image.index.v1+json",
                    "application/vnd.docker.distribution.manifest.list.v2+json"])
class Conn(http.client.HTTPConnection):
    def connect(self):
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
def cpu():
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / 100
def phase(name, items, fn, conc=16):
    q = queue.Queue()
    for it in items:
        q.put(it)
    out, lock = [], threading.Lock()
    def work():
        c = Conn("127.0.0.1", port)
        while True:
            try:
                it = q.get_nowait()
            except queue.Empty:
                return
            r = fn(c, it)
            with lock:
                out.append(r)
    c0, t0 = cpu(), time.perf_counter()
    ts = [threading.Thread(target=work) for _ in range(conc)]
    for t in ts: t.start()
    for t in ts: t.join()
    el, reg = time.perf_counter() - t0, cpu() - c0
    print(f"| {name} | {len(items)} | {el:.2f} s | {len(items) / el:.0f}/s | {reg:.2f} s | {reg / len(items) * 1e3:.2f} ms |")
    return out
def get(c, method, path, headers={}):
    c.request(method, path, headers=headers)
    r = c.getresponse()
    return r, r.read()
names = [f"bench/svc-{i:02d}" for i in range(repos)]
print("| requests (16 in flight) | count | wall | rate | registry CPU | per request |")
print("|---|---:|---:|---:|---:|---:|")
tags = phase("GET tags/list", names, lambda c, n: [(n, t) for t in json.loads(get(c, "GET", f"/v2/{n}/tags/list")[1])["tags"]])
tags = [x for l in tags for x in l]
digests = phase("HEAD manifest by tag", tags, lambda c, x: (x[0], get(c, "HEAD", f"/v2/{x[0]}/manifests/{x[1]}", {"Accept": ACCEPT})[0].getheader("Docker-Content-Digest")))
configs = phase("GET manifest by digest", digests, lambda c, x: (x[0], json.loads(get(c, "GET", f"/v2/{x[0]}/manifests/{x[1]}", {"Accept": ACCEPT})[1])["config"]["digest"]))
phase("GET config blob", configs, lambda c, x: len(get(c, "GET", f"/v2/{x[0]}/blobs/{x[1]}")[1]))
PY
cat "$W/floor.txt"
uptime

# 7. The peer: skopeo list-tags per repository, then skopeo inspect per tag, SKOPEO_PARALLEL at
#    once. Each inspect writes its JSON to its own file (through `sh -c 'exec …'`), so the
#    digests can be compared with Shiplane's plan.
export HOME=$W/skopeo-home   # no credentials or registries.conf of the user's
mkdir -p "$HOME" "$W/skopeo/tags" "$W/skopeo/inspect"
t0=$(date +%s.%N)
for ((i = 0; i < REPOS; i++)); do
  r=$(printf 'bench/svc-%02d' "$i")
  skopeo list-tags --tls-verify=false "docker://$HOST/$r" > "$W/skopeo/tags/${r//\//_}.json"
done
t1=$(date +%s.%N)
python3 - "$W" "$HOST" "$SKOPEO_SAMPLE" > "$W/skopeo/refs.txt" <<'PY'
import glob, json, os, sys
w, host, sample = sys.argv[1], sys.argv[2], int(sys.argv[3])
refs = []
for f in sorted(glob.glob(f"{w}/skopeo/tags/*.json")):
    j = json.load(open(f))
    repo = j["Repository"]
    refs += [f"{repo}:{t}" for t in j["Tags"]]
if sample and sample < len(refs):
    step = len(refs) / sample
    refs = [refs[int(k * step)] for k in range(sample)]
for r in refs:
    print(r, f"{w}/skopeo/inspect/" + r.split("/", 1)[1].replace("/", "_").replace(":", "@") + ".json")
PY
NREFS=$(wc -l < "$W/skopeo/refs.txt")
t2=$(date +%s.%N)
xargs -P "$SKOPEO_PARALLEL" -n 2 sh -c 'exec skopeo inspect --tls-verify=false "docker://$0" > "$1"' \
  < "$W/skopeo/refs.txt"
t3=$(date +%s.%N)
uptime; date -u
LIST_S=$(echo "$t1 - $t0" | bc)
INSPECT_S=$(echo "$t3 - $t2" | bc)

# 8. Summary.
python3 - "$W" "$TOTAL" "$REPOS" "$NREFS" "$LIST_S" "$INSPECT_S" "$SKOPEO_PARALLEL" <<'PY'
import glob, json, statistics, sys
w, total, repos, nrefs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
list_s, inspect_s, par = float(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7])
t = {}
for f in ("t-cold.json", "t-warm.json"):
    for r in json.load(open(f"{w}/{f}"))["results"]:
        t[r["command"]] = r["times"]
rss = {k: int(open(f"{w}/rss-{k}.txt").read().split()[0]) / 1024 for k in ("cold", "warm")}

# The skopeo answers must agree with Shiplane's: same digest for every inspected tag.
plan = {f"{x['repository']}:{x['tag']}": x["digest"] for x in json.load(open(f"{w}/gc.json"))["decisions"]}
mismatch = 0
seen = 0
for line in open(f"{w}/skopeo/refs.txt"):
    ref, path = line.split()
    j = json.load(open(path))
    seen += 1
    if plan.get(ref) != j["Digest"]:
        mismatch += 1
print(f"skopeo inspect answers: {seen}, digests differing from shiplane's plan: {mismatch}")
if mismatch or seen != nrefs:
    sys.exit("skopeo and shiplane disagree")

full = nrefs == total
skopeo_total = list_s + (inspect_s if full else inspect_s * total / nrefs)
how = (f"full loop: {repos} list-tags + {nrefs} inspects" if full else
       f"SAMPLE: {repos} list-tags + {nrefs} of {total} inspects timed ({inspect_s:.1f} s), "
       f"extrapolated x{total / nrefs:.1f}")
med = {k: statistics.median(v) for k, v in t.items()}
print()
print(f"| name | runs | median | mean ± σ | min | max | peak RSS |")
print(f"|---|---:|---:|---:|---:|---:|---:|")
names = {"gc-cold": "shiplane registry gc --json, cold (image times fetched)",
         "gc-warm": "shiplane registry gc --json, warm (image times cached)"}
for k, v in t.items():
    sd = statistics.stdev(v) if len(v) > 1 else 0.0
    r = rss["cold" if k == "gc-cold" else "warm"]
    print(f"| {names[k]} | {len(v)} | {med[k]:.2f} s | {statistics.mean(v):.2f} ± {sd:.2f} s | "
          f"{min(v):.2f} s | {max(v):.2f} s | {r:.1f} MiB |")
print(f"| skopeo list-tags ×{repos} + inspect ×{total} (xargs -P {par}) | 1 | "
      f"{skopeo_total:.1f} s{'' if full else ' (extrapolated)'} | | | | |")
print()
print(f"skopeo: {how}; list-tags {list_s:.2f} s, inspects {inspect_s:.1f} s "
      f"({nrefs / inspect_s:.0f}/s, {inspect_s / nrefs * par * 1e3:.1f} ms each at -P {par})")
for k in t:
    print(f"{k} / skopeo = {med[k] / skopeo_total:.4f}  (skopeo {skopeo_total / med[k]:.0f}x slower); "
          f"target 3 s: {'MET' if med[k] <= 3.0 else 'NOT MET'} (median {med[k]:.2f} s, max {max(t[k]):.2f} s)")

# Against the registry's own ceiling (step 6): warm = tags/list + HEAD per tag; cold adds a
# manifest GET and a config blob GET per digest.
floor = {}
for line in open(f"{w}/floor.txt"):
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) == 6 and cells[2].endswith(" s") and cells[1].isdigit():
        floor[cells[0]] = float(cells[2][:-2])
warm_floor = floor["GET tags/list"] + floor["HEAD manifest by tag"]
cold_floor = warm_floor + floor["GET manifest by digest"] + floor["GET config blob"]
print(f"registry floor (minimal client, 16 in flight): warm requests {warm_floor:.2f} s, cold requests "
      f"{cold_floor:.2f} s; shiplane warm / floor = {med['gc-warm'] / warm_floor:.2f}, "
      f"cold / floor = {med['gc-cold'] / cold_floor:.2f}")
PY
