"""A multi-stage split that really builds and starts (issue 16 item 8), with real podman and the real start probe.

A synthetic TypeScript-style app in a temp dir (``src/`` compiled to ``tsconfig.json``'s ``outDir`` by a
development dependency, a production dependency, ``public/`` read at start, tests and a README) with a
single-stage Dockerfile is rewritten by ``split_multi_stage`` (and ``add_non_root_user``) through the host's reader,
built with ``podman build --isolation chroot --pull=never`` on the local base images
(``tests/images/make_base_images.sh``; both packages are local tarballs, so no registry is needed), and started
once by ``_start_probe.probe`` (``buildah run --isolation chroot`` where ``podman run`` cannot start containers):
it stays up as uid 1000 and listens on its port. The runtime image holds the manifests, the production
dependency, the build output and ``public/``, and not the sources, the tests, the development dependency or the
build stage's files.

An app without a build step (it runs from its sources) is split too: its runtime stage takes the sources from the
build context again and only the production ``node_modules`` from the pruned build (``applied``); it builds and
starts, and its image holds the sources and the production dependency, not the development dependency or the build
stage's npm cache.
"""
from __future__ import annotations

import importlib.util
import io
import json
import os
import shutil
import sys
import tarfile
from pathlib import Path

import pytest
from ansible_collections.refarch.containers.plugins.module_utils import _dockerfile_facts, _start_probe
from ansible_collections.refarch.containers.plugins.module_utils import _rewriter as R
from ansible_collections.refarch.containers.plugins.module_utils._context_files import ContextFiles

REPO = Path(__file__).resolve().parents[2]
_SUPPORT = REPO / "tests" / "images" / "support.py"
pytestmark = [pytest.mark.integration]


def _load_support():
    spec = importlib.util.spec_from_file_location("refarch_image_support", _SUPPORT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


S = _load_support()
DOCKERFILE = ("FROM node:22-bookworm-slim\nWORKDIR /app\nCOPY package*.json ./\nCOPY vendor ./vendor\n"
              "RUN npm install --no-audit --no-fund\nCOPY . .\nRUN npm run build\nEXPOSE 3000\n"
              "CMD [\"node\", \"dist/server.js\"]\n")
SERVER_TS = ("const greet = require('greet');\nconst fs = require('fs');\nconst path = require('path');\n"
             "const page = fs.readFileSync(path.join(__dirname, '..', 'public', 'index.html'), 'utf8');\n"
             "require('http').createServer((q, r) => r.end(greet(page))).listen(process.env.PORT || 3000);\n")
# the "compiler": src/*.ts -> <outDir>/*.js (the sources are JavaScript-compatible TypeScript)
FAKE_TSC = ("#!/usr/bin/env node\nconst fs = require('fs');\n"
            "const text = fs.readFileSync('tsconfig.json', 'utf8').replace(/\\/\\/.*$/mg, '')"
            ".replace(/,(\\s*[}\\]])/g, '$1');\n"
            "const out = JSON.parse(text).compilerOptions.outDir;\n"
            "fs.mkdirSync(out, {recursive: true});\n"
            "for (const f of fs.readdirSync('src')) fs.copyFileSync('src/' + f, out + '/' + f.replace(/ts$/, 'js'));\n")


def _tarball(path: Path, name: str, files: dict) -> None:
    """An npm package tarball (``package/`` prefix), as ``npm pack`` writes it."""
    with tarfile.open(path, "w:gz") as tar:
        for rel, text in {"package.json": json.dumps({"name": name, "version": "1.0.0", **files.pop("@meta")}),
                          **files}.items():
            data = text.encode()
            info = tarfile.TarInfo("package/" + rel)
            info.size, info.mode = len(data), 0o755 if rel.startswith("bin/") else 0o644
            tar.addfile(info, io.BytesIO(data))


def _app(root: Path) -> None:
    (root / "vendor").mkdir()
    _tarball(root / "vendor" / "greet-1.0.0.tgz", "greet",
             {"@meta": {"main": "index.js"}, "index.js": "module.exports = (s) => 'hello ' + s;\n"})
    _tarball(root / "vendor" / "fake-tsc-1.0.0.tgz", "fake-tsc",
             {"@meta": {"bin": {"fake-tsc": "bin/tsc.js"}}, "bin/tsc.js": FAKE_TSC})
    (root / "package.json").write_text(json.dumps({
        "name": "split-app", "version": "1.0.0", "main": "dist/server.js",
        "scripts": {"build": "fake-tsc", "start": "node dist/server.js"},
        "dependencies": {"greet": "file:vendor/greet-1.0.0.tgz"},
        "devDependencies": {"fake-tsc": "file:vendor/fake-tsc-1.0.0.tgz"}}))
    (root / "tsconfig.json").write_text('{\n  // compiled by the dev dependency\n'
                                        '  "compilerOptions": {"outDir": "./dist", "rootDir": "src",},\n}\n')
    for rel, text in {"src/server.ts": SERVER_TS, "public/index.html": "<p>split</p>\n",
                      "test/server.test.ts": "// a test\n", "README.md": "# app\n", ".dockerignore": "node_modules\n",
                      "Dockerfile": DOCKERFILE}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def _require_tools() -> None:
    S.require_base_images()
    for tool in ("podman", "buildah"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed")


def _vendored_app(root: Path, name: str, files: dict) -> None:
    """An app with one production dependency (greet) and one development dependency (lint) as local tarballs."""
    (root / "vendor").mkdir()
    _tarball(root / "vendor" / "greet-1.0.0.tgz", "greet",
             {"@meta": {"main": "index.js"}, "index.js": "module.exports = (s) => 'hello ' + s;\n"})
    _tarball(root / "vendor" / "lint-1.0.0.tgz", "lint", {"@meta": {"main": "index.js"}, "index.js": "\n"})
    pkg = {"name": name, "version": "1.0.0", "scripts": {"start": "node server.js"},
           "dependencies": {"greet": "file:vendor/greet-1.0.0.tgz"},
           "devDependencies": {"lint": "file:vendor/lint-1.0.0.tgz"}}
    for rel, text in {"package.json": json.dumps(pkg), ".dockerignore": "node_modules\n", **files}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def _rewrite(root: Path, dockerfile: str, fixes: list) -> dict:
    """The rewrite of ``dockerfile`` with ``fixes``, reading the app's files as the module does; every fix applied."""
    facts = _dockerfile_facts.dockerfile_facts("Dockerfile", dockerfile.encode(), None,
                                               (root / "package.json").read_bytes())
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    reader = ContextFiles(fd, str(root))
    try:
        res = R.rewrite(dockerfile, fixes, {"package_json": facts["package_json"], "read_file": reader,
                                            "dockerignore_text": "node_modules\n", "evaluation_date": "2026-12-07"})
    finally:
        reader.close()
        os.close(fd)
    status = {e["fix"]: e["status"] for e in res["fix_status"]}
    assert status == dict.fromkeys(fixes, "applied"), res["fix_status"]
    return res


def _build_check_probe(root: Path, text: str, name: str, check_files, user: str) -> None:
    """Build the rewritten Dockerfile ``text`` in ``root`` with podman, call ``check_files`` on the image's mounted
    root, then start it: it must pass the start probe as ``user`` with port 3000 declared."""
    (root / "Dockerfile").write_text(text)
    image = f"{S.unique_prefix()}/{name}:1"
    try:
        S.run(["podman", "build", "--isolation", "chroot", "--pull=never", "-t", image, "-f",
               str(root / "Dockerfile"), str(root)], timeout=900)
        listing = S.run(["podman", "image", "mount", image], check=False)
        if listing.returncode != 0:
            pytest.skip(f"podman image mount failed: {listing.stderr.strip()[-300:]}")
        try:
            check_files(Path(listing.stdout.strip()))
        finally:
            S.run(["podman", "image", "unmount", image], check=False)
        result = _start_probe.probe("podman", shutil.which("podman"), image, seconds=3.0, timeout=120.0,
                                    buildah=shutil.which("buildah"))
        assert result["passed"], result
        assert result["user"] == user and result["ports_declared"] == ["3000/tcp"], result
    finally:
        S.remove_images([image])


def test_split_typescript_app_builds_starts_and_ships_only_what_it_needs(tmp_path):
    _require_tools()
    _app(tmp_path)
    res = _rewrite(tmp_path, DOCKERFILE, ["split_multi_stage", "add_non_root_user"])
    runtime = res["text"].split(" AS runtime\n", 1)[1]
    assert "COPY --chown=1000:1000 --from=production-dependencies /app/dist /app/dist" in runtime, res["text"]

    def check_files(root: Path) -> None:
        app = root / "app"
        names = sorted(p.name for p in app.iterdir())
        assert names == ["dist", "node_modules", "package-lock.json", "package.json", "public"], names
        assert (app / "dist" / "server.js").is_file() and (app / "node_modules" / "greet").is_dir()
        assert not (app / "node_modules" / "fake-tsc").exists()     # the development dependency was pruned
        assert (app / "dist").stat().st_uid == 1000

    _build_check_probe(tmp_path, res["text"], "split-ts", check_files, "1000")


SOURCES_DOCKERFILE = ("FROM node:22-bookworm-slim\nWORKDIR /app\nCOPY package*.json ./\nCOPY vendor ./vendor\n"
                      "RUN npm install --no-audit --no-fund\nCOPY . .\nEXPOSE 3000\nCMD [\"node\", \"server.js\"]\n")


def test_split_app_without_a_build_step_takes_its_sources_from_the_context(tmp_path):
    _require_tools()
    _vendored_app(tmp_path, "sources-app", {
        "server.js": "const greet = require('greet');\nrequire('./lib/port');\n"
                     "require('http').createServer((q, r) => r.end(greet('src'))).listen(process.env.PORT || 3000);\n",
        "lib/port.js": "module.exports = 3000;\n", "test/server.test.js": "// a test\n"})
    res = _rewrite(tmp_path, SOURCES_DOCKERFILE, ["split_multi_stage", "add_non_root_user"])
    runtime = res["text"].split(" AS runtime\n", 1)[1]
    assert "--from=production-dependencies /app/node_modules /app/node_modules" in runtime, res["text"]

    def check_files(root: Path) -> None:
        app = root / "app"
        assert (app / "server.js").is_file() and (app / "lib" / "port.js").is_file()
        assert (app / "node_modules" / "greet").is_dir()
        assert not (app / "node_modules" / "lint").exists()         # the development dependency was pruned
        assert not (root / "root" / ".npm").exists()                 # the build stage's npm cache stayed there

    _build_check_probe(tmp_path, res["text"], "split-sources", check_files, "1000")


#: An application image built on Node that the rewriter does not know (a non-official reference: the local slim image
#: with tini): only the Dockerfile's own shell-form RUNs show it runs /bin/sh (issue 16 item 9).
UNKNOWN_BASE_DOCKERFILE = ("FROM localhost/refarch/node:20-bookworm-slim-tini\nUSER root\nWORKDIR /app\n"
                           "COPY package*.json ./\nCOPY vendor ./vendor\nRUN npm install --no-audit --no-fund\n"
                           "COPY . .\nUSER node\nEXPOSE 3000\nCMD [\"node\", \"server.js\"]\n")


def test_split_and_heap_script_on_a_base_the_rewriter_does_not_know(tmp_path):
    _require_tools()
    # the server prints the heap limit node runs with, so the start script's work shows in the probe's output
    _vendored_app(tmp_path, "unknown-base-app", {
        "server.js": "const greet = require('greet');\nconst v8 = require('v8');\n"
                     "console.log('heap-mib', Math.round(v8.getHeapStatistics().heap_size_limit / 1048576));\n"
                     "require('http').createServer((q, r) => r.end(greet('x'))).listen(process.env.PORT || 3000);\n"})
    res = _rewrite(tmp_path, UNKNOWN_BASE_DOCKERFILE, ["split_multi_stage", "set_heap_limit"])
    runtime = res["text"].split(" AS runtime\n", 1)[1]
    assert runtime.startswith("USER root\nRUN printf"), res["text"]     # the script is written as root

    def check_files(root: Path) -> None:
        assert (root / "app" / "node_modules" / "greet").is_dir()
        assert not (root / "app" / "node_modules" / "lint").exists()  # the development dependency was pruned
        assert os.access(root / "usr" / "local" / "bin" / "node-heap-from-cgroup", os.X_OK)

    _build_check_probe(tmp_path, res["text"], "split-unknown-base", check_files, "node")
