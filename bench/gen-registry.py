#!/usr/bin/env python3
"""Populate a running local registry for the registry gc benchmark (bench/gc.sh).

    bench/gen-registry.py PORT REPOS TAGS_PER_REPO [--prefix bench] [--threads 8]

Talks plain HTTP to 127.0.0.1:PORT (a `docker-registry`, distribution 2.8, with no auth), using
only Python's standard library (http.client, one keep-alive connection per worker thread).
For each repository PREFIX/svc-NN (NN = 00 .. REPOS-1):

  * one small gzip'd tar layer blob (distinct per repository);
  * TAGS_PER_REPO distinct images, each its own small OCI image config blob with a distinct
    `created` time (pseudo-random over the past 365 days, not in tag order, so `keep_newest`
    really needs the times) and its own OCI image manifest (schemaVersion 2), PUT under its tag.

Every tag is its own image, so the registry holds exactly REPOS x TAGS_PER_REPO tags and as
many manifests. Per repository the tags are: `dev-latest` (the newest image), `v1.N.0` for
every 50th image (N = 0, 1, ...), and `sha-XXXXXXX` (7 hex digits, deterministic from the
repository and the image number) for the rest.

Deterministic: the same arguments on the same UTC day give the same blobs, manifests and
digests (times count back from today's midnight UTC). Prints the counts and how long it took.
"""

import argparse
import gzip
import hashlib
import http.client
import io
import json
import queue
import socket
import sys
import tarfile
import threading
import time
from datetime import datetime, timedelta, timezone

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
YEAR = 365 * 24 * 3600


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_for(repo):
    """A one-file tar (deterministic), gzip'd with mtime 0: (blob, diff_id)."""
    content = f"layer of {repo}\n".encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("app/layer.txt")
        info.size, info.mtime, info.mode = len(content), 0, 0o644
        tar.addfile(info, io.BytesIO(content))
    tar_bytes = raw.getvalue()
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0) as g:
        g.write(tar_bytes)
    return gz.getvalue(), sha256(tar_bytes)


def tags_for(repo, n):
    """Tag of each image 0..n-1 of `repo` (all distinct)."""
    tags, seen, semver = [], set(), 0
    for i in range(n):
        if i == n - 1:
            tag = "dev-latest"
        elif i % 50 == 0:
            tag, semver = f"v1.{semver}.0", semver + 1
        else:
            salt = 0
            while True:
                tag = "sha-" + hashlib.sha1(f"{repo}/{i}/{salt}".encode()).hexdigest()[:7]
                if tag not in seen:
                    break
                salt += 1
        seen.add(tag)
        tags.append(tag)
    return tags


def created_times(repo, n, anchor):
    """Distinct creation times over the past year, pseudo-random order; the last is the newest."""
    out, seen = [], set()
    for i in range(n - 1):
        h = int.from_bytes(hashlib.sha256(f"{repo}#{i}".encode()).digest()[:8], "big")
        s = 60 + h % (YEAR - 60)
        while s in seen:
            s += 1
        seen.add(s)
        out.append(anchor - timedelta(seconds=s))
    out.append(anchor - timedelta(seconds=1))  # dev-latest: the newest image
    return out


def rfc3339(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class Connection(http.client.HTTPConnection):
    """http.client sends the headers and the body in separate writes; without TCP_NODELAY,
    Nagle's algorithm and the server's delayed ACK stall every request with a body ~40 ms."""

    def connect(self):
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Client:
    """One keep-alive connection; reconnects once if the server closed it."""

    def __init__(self, port):
        self.port = port
        self.conn = Connection("127.0.0.1", port, timeout=60)
        self.requests = 0

    def request(self, method, path, body=None, headers=None, expect=(200, 201, 202)):
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                data = resp.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = Connection("127.0.0.1", self.port, timeout=60)
                if attempt:
                    raise
        self.requests += 1
        if resp.status not in expect:
            raise RuntimeError(f"{method} {path}: {resp.status} {data[:300]!r}")
        return resp, data

    def upload_blob(self, repo, data, digest):
        """POST to start an upload, then one monolithic PUT (two requests)."""
        resp, _ = self.request("POST", f"/v2/{repo}/blobs/uploads/", body=b"",
                               headers={"Content-Length": "0"}, expect=(202,))
        location = resp.getheader("Location")
        if location.startswith("http"):
            location = "/" + location.split("/", 3)[3]
        sep = "&" if "?" in location else "?"
        self.request("PUT", f"{location}{sep}digest={digest}", body=data,
                     headers={"Content-Type": "application/octet-stream",
                              "Content-Length": str(len(data))}, expect=(201,))

    def put_manifest(self, repo, tag, data):
        self.request("PUT", f"/v2/{repo}/manifests/{tag}", body=data,
                     headers={"Content-Type": OCI_MANIFEST, "Content-Length": str(len(data))},
                     expect=(201,))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("port", type=int)
    p.add_argument("repos", type=int)
    p.add_argument("tags_per_repo", type=int)
    p.add_argument("--prefix", default="bench", help="repository prefix (default: bench)")
    p.add_argument("--threads", type=int, default=8, help="connections in parallel (default: 8)")
    a = p.parse_args()
    if a.tags_per_repo < 2:
        sys.exit("TAGS_PER_REPO must be at least 2")

    now = datetime.now(timezone.utc)
    anchor = now.replace(hour=0, minute=0, second=0, microsecond=0)
    started = time.perf_counter()

    # Work items: per repository, the layer first (its own item; images wait for it), then
    # images in chunks so every thread stays busy whatever REPOS is.
    repos = [f"{a.prefix}/svc-{r:02d}" for r in range(a.repos)]
    layers = {}
    for repo in repos:
        blob, diff_id = layer_for(repo)
        layers[repo] = (blob, sha256(blob), diff_id)

    errors, lock = [], threading.Lock()
    counts = {"requests": 0, "images": 0}

    def run(items):
        client = Client(a.port)
        try:
            while True:
                try:
                    item = items.get_nowait()
                except queue.Empty:
                    break
                item(client)
        except Exception as e:  # noqa: BLE001 - reported below, the run fails
            with lock:
                errors.append(e)
        finally:
            with lock:
                counts["requests"] += client.requests
            client.conn.close()

    def parallel(items_list):
        items = queue.Queue()
        for it in items_list:
            items.put(it)
        threads = [threading.Thread(target=run, args=(items,)) for _ in range(a.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            sys.exit(f"gen-registry: {errors[0]}")

    # Phase 1: the layers.
    parallel([(lambda c, r=repo: c.upload_blob(r, layers[r][0], layers[r][1])) for repo in repos])

    # Phase 2: the images.
    def image_chunk(repo, indices, tags, times):
        blob, layer_digest, diff_id = layers[repo]

        def go(c):
            for i in indices:
                config = json.dumps({
                    "created": rfc3339(times[i]),
                    "architecture": "amd64",
                    "os": "linux",
                    "config": {"Labels": {"bench.image": f"{repo}#{i}"}},
                    "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                }, sort_keys=True, separators=(",", ":")).encode()
                config_digest = sha256(config)
                c.upload_blob(repo, config, config_digest)
                manifest = json.dumps({
                    "schemaVersion": 2,
                    "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
                    "layers": [{"mediaType": OCI_LAYER, "digest": layer_digest, "size": len(blob)}],
                }, separators=(",", ":")).encode()
                c.put_manifest(repo, tags[i], manifest)
            with lock:
                counts["images"] += len(indices)
        return go

    work = []
    chunk = 25
    for repo in repos:
        tags = tags_for(repo, a.tags_per_repo)
        times = created_times(repo, a.tags_per_repo, anchor)
        for start in range(0, a.tags_per_repo, chunk):
            work.append(image_chunk(repo, range(start, min(start + chunk, a.tags_per_repo)), tags, times))
    parallel(work)

    took = time.perf_counter() - started
    total = counts["images"]
    print(f"gen-registry: {a.repos} repositories x {a.tags_per_repo} tags = {total} images "
          f"({counts['requests']} requests, {a.threads} connections) in {took:.1f} s "
          f"({total / took:.0f} images/s)")


if __name__ == "__main__":
    main()
