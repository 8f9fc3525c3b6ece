#!/usr/bin/env python3
"""Benchmark: image_info over 500 local images, as a ratio to one `podman image inspect` of the same images.

Run: ``python bench/images/run.py [--images 500] [--repeat 3]`` (as root, podman installed).

The images live in a private podman storage (``--root .tools/cache/bench-images/storage``, vfs driver,
runroot under /tmp), so the benchmark neither sees nor disturbs the machine's images, and it exercises
the ``podman_root`` / ``podman_runroot`` options on the way. They are made once with ``podman import``
of a one-file tarball each and a different config each (user, ports, env, cmd, labels vary), and reused.

Measured in the same run, median of ``--repeat``:
  peer      one ``podman image inspect <all ids>`` call (the JSON only)
  ours      ``_runtime_scan.scan_images``: engine check, listing, filters, chunked inspect, normalization
  normalize the pure ``image_facts`` over the peer's JSON (per image)
Prints ``RESULT key=value ...`` last.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = Path(tempfile.gettempdir()) / "refarch-bench-coll"


def _importable() -> None:
    link = COLLECTIONS / "ansible_collections" / "refarch" / "containers"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO, target_is_directory=True)
    sys.path.insert(0, str(COLLECTIONS))


_importable()
from ansible_collections.refarch.containers.plugins.module_utils._image_facts import image_facts  # noqa: E402
from ansible_collections.refarch.containers.plugins.module_utils._runtime_scan import scan_images  # noqa: E402

STORE = REPO / ".tools" / "cache" / "bench-images" / "storage"
RUNROOT = "/tmp/rfb-run"  # podman refuses a runroot longer than 50 characters
DRIVER = "vfs"


def podman(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """podman on the private storage."""
    argv = ["podman", "--root", str(STORE), "--runroot", RUNROOT, "--storage-driver", DRIVER, *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=True)


def image_ids() -> list[str]:
    out = podman("images", "--no-trunc", "--quiet", "--filter", "reference=localhost/bench/*").stdout
    return sorted({line.strip().removeprefix("sha256:") for line in out.splitlines() if line.strip()})


def make_images(count: int) -> None:
    """Create ``count`` distinct images: a one-file layer of their own each (images that all share one top
    layer make podman 4.3's listing quadratic: 500 of them took minutes), and a different config each."""
    have = len(image_ids())
    if have >= count:
        return
    work = Path(tempfile.mkdtemp(prefix="rfb-"))
    try:
        for i in range(have, count):
            app = work / "app"
            app.mkdir(exist_ok=True)
            (app / "server.js").write_text(f"// image {i}\nrequire('http').createServer((q, r) => r.end('ok'))"
                                           ".listen(3000);\n")
            tar = work / "layer.tar"
            with tarfile.open(tar, "w") as tf:
                tf.add(app, arcname="app")
            changes = [f"LABEL bench.index={i}", f"ENV NODE_VERSION=20.{i % 20}.0", "WORKDIR /app",
                       f"EXPOSE {80 if i % 5 == 0 else 3000 + i % 50}"]
            if i % 2:
                changes.append("USER node")
            if i % 7 == 0:
                changes.append("ENV NPM_TOKEN=bench-secret-token")
            if i % 3 == 0:
                changes.append('CMD ["npm", "start"]')
            elif i % 3 == 1:
                changes += ['ENTRYPOINT ["tini", "--"]', 'CMD ["node", "--max-old-space-size=256", "server.js"]']
            else:
                changes.append("CMD node server.js")
            if i % 4 == 0:
                changes += [f"LABEL io.refarch.containers.dockerfile.path=/srv/app{i}/Dockerfile",
                            f"LABEL io.refarch.containers.dockerfile.sha256={i:064x}"]
            args = ["import", "--quiet"]
            for change in changes:
                args += ["--change", change]
            podman(*args, str(tar), f"localhost/bench/app-{i:04d}:1")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    if not shutil.which("podman"):
        print("podman is not installed", file=sys.stderr)
        return 2
    STORE.mkdir(parents=True, exist_ok=True)
    make_t, _ = timed(lambda: make_images(opts.images))
    ids = image_ids()[: opts.images]
    if len(ids) < opts.images:
        print(f"only {len(ids)} images could be made", file=sys.stderr)
        return 1
    params = {"runtime": "podman", "podman_root": str(STORE), "podman_runroot": RUNROOT,
              "podman_storage_driver": DRIVER, "names": ["localhost/bench/*"], "max_images": opts.images}
    peer_times, our_times, norm_times = [], [], []
    docs = []
    for _ in range(opts.repeat):
        t, proc = timed(lambda: podman("image", "inspect", *ids))
        peer_times.append(t)
        raw = json.loads(proc.stdout)
        t, result = timed(lambda: scan_images(params))
        our_times.append(t)
        docs = result["images"]
        t, _ = timed(lambda raw=raw: [image_facts(d, "podman") for d in raw])
        norm_times.append(t)
    assert len(docs) == opts.images, (len(docs), result["engines"])
    assert all("bench-secret-token" not in json.dumps(d) for d in docs)
    peer, ours, norm = (statistics.median(x) for x in (peer_times, our_times, norm_times))
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    print(f"images={opts.images} made_in={make_t:.1f}s commands_per_scan={len(result['commands'])}")
    print(f"peer  podman image inspect (1 call): {peer:.3f}s")
    print(f"ours  scan_images (list+inspect+normalize): {ours:.3f}s")
    print(f"      of which normalization: {norm:.3f}s ({norm / opts.images * 1000:.3f} ms/image)")
    print(f"RESULT images={opts.images} ratio_vs_podman_inspect={ours / peer:.2f} ours_s={ours:.3f} "
          f"podman_inspect_s={peer:.3f} normalize_ms_per_image={norm / opts.images * 1000:.3f} "
          f"normalize_share={norm / ours:.2f} peak_mib_python={peak_self:.1f} peak_mib_podman={peak_children:.1f}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("LC_ALL", "C")
    sys.exit(main())
