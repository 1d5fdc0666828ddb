#!/usr/bin/env python3
"""Generate a synthetic npm-workspaces monorepo for the planning benchmark.

The same dependency graph is written three ways, so Shiplane, Turborepo and Nx see one graph:
  * npm workspaces: packages/<name>/package.json with "dependencies" on workspace packages
    (plus turbo.json, nx.json and a package-lock.json that links the workspaces);
  * shiplane.yaml: one service per svc-* package (paths: packages/<name>/**), libraries for the
    lib-* packages, depends_on = the service's transitive libraries and its direct services;
  * <out>.plan-spec.tsv (beside the repository, not in it): the same graph as shiplane-plan's
    input (tab-separated: kind, name, globs, libraries, services), for timing the planning core
    without the CLI (crates/shiplane-git/examples/plan_timing.rs).

Libraries form layers (layer 0 is the lowest); a library depends on 1-3 libraries of lower layers,
a service on 1-3 libraries and sometimes on a lower-numbered service. History: an initial commit,
a few commits touching random services, and a last commit that edits one file of one layer-0
library, so `--base HEAD~1` has a realistic fan-out.

Deterministic for a given --seed. Uses `git fast-import`, so 100,000 files take seconds.
"""

import argparse
import json
import os
import random
import subprocess
import sys


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="directory to create (must not exist or be empty)")
    p.add_argument("--services", type=int, default=1000)
    p.add_argument("--files", type=int, default=100_000, help="total number of files")
    p.add_argument("--libraries", type=int, default=None, help="default: services / 5")
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--commits", type=int, default=4, help="commits after the initial one (>= 1)")
    p.add_argument("--seed", type=int, default=42)
    return p.parse_args()


def build_graph(rng, n_services, n_libs, n_layers):
    libs = [f"lib-{i:04d}" for i in range(n_libs)]
    layer_of = {lib: min(i * n_layers // max(n_libs, 1), n_layers - 1) for i, lib in enumerate(libs)}
    lib_deps = {}
    for lib in libs:
        lower = [x for x in libs if layer_of[x] < layer_of[lib]]
        lib_deps[lib] = sorted(rng.sample(lower, min(len(lower), rng.randint(1, 3)))) if lower else []
    services = [f"svc-{i:04d}" for i in range(n_services)]
    svc_libs, svc_svcs = {}, {}
    for i, svc in enumerate(services):
        svc_libs[svc] = sorted(rng.sample(libs, min(len(libs), rng.randint(1, 3)))) if libs else []
        svc_svcs[svc] = [services[rng.randrange(i)]] if i > 0 and rng.random() < 0.1 else []
    return libs, layer_of, lib_deps, services, svc_libs, svc_svcs


def closure(start, edges):
    seen, stack = set(), list(start)
    while stack:
        x = stack.pop()
        if x not in seen:
            seen.add(x)
            stack.extend(edges.get(x, []))
    return seen


def main():
    a = parse_args()
    rng = random.Random(a.seed)
    n_libs = a.libraries if a.libraries is not None else max(1, a.services // 5)
    libs, layer_of, lib_deps, services, svc_libs, svc_svcs = build_graph(rng, a.services, n_libs, a.layers)
    packages = libs + services
    deps = {**lib_deps, **{s: sorted(svc_libs[s] + svc_svcs[s]) for s in services}}

    # Files per package: the total minus the fixed files, spread evenly.
    fixed = 6  # .gitignore, package.json, package-lock.json, turbo.json, nx.json, shiplane.yaml
    per_pkg = max(1, (a.files - fixed) // len(packages) - 1)  # -1 for the package's package.json
    files = {}
    files["package.json"] = json.dumps({
        "name": "bench-monorepo", "private": True, "version": "0.0.0",
        "packageManager": "npm@10.9.2", "workspaces": ["packages/*"],
    }, indent=2) + "\n"
    files[".gitignore"] = "node_modules/\n.turbo/\n.nx/\n"
    files["turbo.json"] = json.dumps({
        "$schema": "https://turbo.build/schema.json",
        "tasks": {"build": {"dependsOn": ["^build"], "outputs": []}},
    }, indent=2) + "\n"
    files["nx.json"] = json.dumps({"namedInputs": {"default": ["{projectRoot}/**/*"]}}, indent=2) + "\n"
    lock = {"name": "bench-monorepo", "version": "0.0.0", "lockfileVersion": 3, "requires": True,
            "packages": {"": {"name": "bench-monorepo", "version": "0.0.0", "workspaces": ["packages/*"]}}}
    for pkg in packages:
        d = {x: "*" for x in deps[pkg]}
        entry = {"name": pkg, "version": "0.0.0"}
        if d:
            entry["dependencies"] = d
        lock["packages"][f"packages/{pkg}"] = {"version": "0.0.0", **({"dependencies": d} if d else {})}
        lock["packages"][f"node_modules/{pkg}"] = {"resolved": f"packages/{pkg}", "link": True}
        files[f"packages/{pkg}/package.json"] = json.dumps(entry, indent=2) + "\n"
        for j in range(per_pkg):
            # About 16 files per directory, the ratio of large real trees (Linux: 80k files in 5k).
            sub = ("src", "src/lib", "src/components", "src/util", "test")[j % 5]
            files[f"packages/{pkg}/{sub}/f{j:04d}.ts"] = f"// {pkg} {j}\nexport const v{j} = {rng.randrange(1 << 30)};\n"
    files["package-lock.json"] = json.dumps(lock, indent=2, sort_keys=True) + "\n"

    # shiplane.yaml: libraries cannot depend on libraries in the intent, so each service lists
    # the transitive closure of its libraries; service-to-service edges stay direct.
    y = ["version: 1", "project: bench", "", "inputs:", '  shared: ["package-lock.json"]',
         '  ignore: ["**/*.md"]', "", "libraries:"]
    for lib in libs:
        y.append(f'  {lib}: {{ paths: ["packages/{lib}/**"] }}')
    y += ["", "services:"]
    spec_services = {}
    for svc in services:
        all_libs = sorted(closure(svc_libs[svc], lib_deps))
        dep_list = all_libs + svc_svcs[svc]
        y.append(f"  {svc}:")
        y.append(f'    paths: ["packages/{svc}/**"]')
        if dep_list:
            y.append(f"    depends_on: [{', '.join(dep_list)}]")
        y.append(f"    build: {{ context: packages/{svc} }}")
        svc_closure = sorted(closure(svc_svcs[svc], svc_svcs) - {svc})
        lib_closure = sorted(closure(all_libs + [l for s in svc_closure for l in closure(svc_libs[s], lib_deps)], lib_deps))
        spec_services[svc] = {"paths": [f"packages/{svc}/**"], "libraries": lib_closure, "services": svc_closure}
    files["shiplane.yaml"] = "\n".join(y) + "\n"

    os.makedirs(a.out, exist_ok=True)
    if os.listdir(a.out):
        sys.exit(f"{a.out} is not empty")
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    run = lambda *cmd, **kw: subprocess.run(["git", "-C", a.out, *cmd], check=True, env=env, **kw)
    run("init", "--quiet", "--initial-branch=main")

    # History: initial commit, then random service edits, then one layer-0 library edit.
    commits = [("initial", dict(files))]
    src = [p for p in files if p.endswith(".ts")]
    for c in range(a.commits - 1):
        pick = rng.sample(src, min(len(src), 5))
        commits.append((f"edit {c}", {p: files[p] + f"// edit {c}\n" for p in pick}))
    low = sorted(l for l in libs if layer_of[l] == 0)[0] if libs else None
    last = {}
    if low:
        target = next(p for p in sorted(files) if p.startswith(f"packages/{low}/src/"))
        last[target] = files[target] + "// the last commit touches one low-level library\n"
    commits.append((f"touch {low}", last))

    stream = []
    for n, (msg, changed) in enumerate(commits):
        when = 1_700_000_000 + n * 3600
        stream.append(f"commit refs/heads/main\nmark :{n + 1}\n"
                      f"committer Bench <bench@example.invalid> {when} +0000\n")
        m = msg.encode()
        stream.append(f"data {len(m)}\n{msg}\n")
        if n > 0:
            stream.append(f"from :{n}\n")
        for path, content in sorted(changed.items()):
            data = content.encode()
            stream.append(f"M 100644 inline {path}\ndata {len(data)}\n{content}\n")
        stream.append("\n")
    run("fast-import", "--quiet", input="".join(stream).encode())
    run("reset", "--quiet", "--hard", "main")
    run("gc", "--quiet")

    expected = sorted(s for s in services
                      if low in closure(svc_libs[s], lib_deps)
                      or any(low in closure(svc_libs[d], lib_deps) for d in closure(svc_svcs[s], svc_svcs)))
    meta = {
        "services": len(services), "libraries": len(libs), "files": len(files), "touched_library": low,
        "expected_affected": expected,
    }
    spec = {"shared": ["package-lock.json"], "ignore": ["**/*.md"],
            "libraries": {l: [f"packages/{l}/**"] for l in libs}, "services": spec_services}
    parent = os.path.dirname(os.path.abspath(a.out))
    base = os.path.basename(os.path.abspath(a.out))
    with open(os.path.join(parent, f"{base}.plan-spec.tsv"), "w") as f:
        f.write("".join(f"shared\t{g}\n" for g in spec["shared"]))
        f.write("".join(f"ignore\t{g}\n" for g in spec["ignore"]))
        f.write("".join(f"library\t{l}\t{','.join(g)}\n" for l, g in spec["libraries"].items()))
        for s, v in spec["services"].items():
            f.write(f"service\t{s}\t{','.join(v['paths'])}\t{','.join(v['libraries'])}\t{','.join(v['services'])}\n")
    with open(os.path.join(parent, f"{base}.meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
    print(f"{a.out}: {len(services)} services, {len(libs)} libraries, {len(files)} files, "
          f"{len(commits)} commits; last commit touches {low}; expected affected: {len(expected)}")


if __name__ == "__main__":
    main()
