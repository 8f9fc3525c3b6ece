"""Test helpers for the image/container tests: local base images and app images built with real podman.

Imported by tests/unit/plugins/module_utils/test_image_facts.py and tests/integration/test_image_*.py
(and bench/images/run.py) through ``load_support()`` in those files; not a pytest plugin.

Nothing here fakes an engine: images are built by ``podman build --isolation chroot --pull=never``
on the base images ``make_base_images.sh`` makes, and the inspect JSON the tests normalize is what
podman prints for them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
MAKE_BASES = HERE / "make_base_images.sh"
APP_PREFIX = "localhost/refarch-it"
LABEL_PATH = "io.refarch.containers.dockerfile.path"
LABEL_SHA = "io.refarch.containers.dockerfile.sha256"

SERVER_JS = "require('http').createServer((q, r) => r.end('ok')).listen(process.env.PORT || 3000);\n"
PACKAGE_JSON = json.dumps({"name": "app", "version": "1.0.0", "scripts": {"start": "node server.js"}}) + "\n"


class Unavailable(Exception):
    """The machine cannot run these tests (no podman, not root, base images cannot be built)."""


def run(argv: list[str], timeout: float = 600, check: bool = True, **kw: Any) -> subprocess.CompletedProcess:
    """Run a command (argument list), text output."""
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, **kw)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed (rc={proc.returncode}):\n{proc.stdout[-2000:]}\n"
                           f"{proc.stderr[-4000:]}")
    return proc


def ensure_base_images() -> list[str]:
    """Make (or confirm) the local base images; return their references. Raises Unavailable."""
    for tool in ("podman", "buildah", "debootstrap"):
        if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
            raise Unavailable(f"{tool} is not installed (Debian packages: podman buildah debootstrap)")
    if os.geteuid() != 0:
        raise Unavailable("building the base images needs root (debootstrap, chroot)")
    proc = run(["bash", str(MAKE_BASES)], timeout=1800, check=False)
    if proc.returncode != 0:
        raise Unavailable(f"make_base_images.sh failed: {proc.stderr.strip()[-1500:]}")
    return [ln for ln in proc.stdout.splitlines() if ln.strip()]


def require_base_images() -> list[str]:
    """:func:`ensure_base_images`, or skip the calling test with the reason this machine cannot."""
    import pytest  # noqa: PLC0415 - only the tests that need the images import pytest through here

    try:
        return ensure_base_images()
    except Unavailable as exc:
        pytest.skip(str(exc))


@dataclass
class AppCase:
    """One app image: its Dockerfile and what its facts must say (derived from the Dockerfile, not from output)."""

    name: str
    dockerfile: str
    expect: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)
    rebuild_labels: bool = False
    build_args: list[str] = field(default_factory=list)
    prefix: str = APP_PREFIX  # tests that may run beside others use a unique one (see unique_prefix)

    @property
    def ref(self) -> str:
        return f"{self.prefix}/{self.name}:1"


def unique_prefix() -> str:
    """An image name prefix of this test run only, so concurrent runs do not remove each other's images."""
    return f"{APP_PREFIX}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def remove_images(refs: list[str]) -> None:
    """``podman rmi --force`` the given references (missing ones are ignored)."""
    for ref in refs:
        subprocess.run(["podman", "rmi", "--force", ref], capture_output=True, timeout=300, check=False)


def app_cases(prefix: str = APP_PREFIX) -> list[AppCase]:
    """The app images the integration test builds: one per recommendation the image facts must expose."""
    cases = [
        AppCase("root-user", "FROM node:20-bookworm-slim\nWORKDIR /app\nCOPY server.js .\nEXPOSE 3000\n"
                "CMD [\"node\", \"server.js\"]\n",
                {"is_root": True, "user_source": "default", "ports": [(3000, "tcp")], "command": ["node", "server.js"],
                 "init": None, "node_major": 20, "base_tag": "20-bookworm-slim", "form": "exec"}),
        AppCase("non-root", "FROM node:20\nWORKDIR /app\nCOPY --chown=node:node server.js .\nUSER node\n"
                "ENV NODE_ENV=production NODE_OPTIONS=--max-old-space-size=256\nEXPOSE 8080\nCMD node server.js\n",
                {"is_root": False, "user": "node", "ports": [(8080, "tcp")], "command": ["node", "server.js"],
                 "form": "shell", "heap_mb": 256, "heap_source": "NODE_OPTIONS", "node_major": 20}),
        AppCase("privileged-port", "FROM node:20-bookworm-slim\nWORKDIR /app\nCOPY server.js .\nUSER 1000:1000\n"
                "ENV PORT=80 NPM_TOKEN=npm_supersecret_123 API_URL=https://svc:hunter2pass@api.example.com/v1\n"
                "EXPOSE 80 443/tcp 53/udp\nCMD [\"node\", \"server.js\"]\n",
                {"is_root": False, "uid": 1000, "ports": [(53, "udp"), (80, "tcp"), (443, "tcp")],
                 "secrets": ["npm_supersecret_123", "hunter2pass"], "redacted_env": ["NPM_TOKEN", "API_URL"],
                 "command": ["node", "server.js"]}),
        AppCase("npm-start", "FROM node:22-bookworm-slim\nWORKDIR /app\nCOPY package.json server.js ./\nUSER node\n"
                "CMD [\"npm\", \"start\"]\n",
                {"is_root": False, "command": ["npm", "start"], "base_tag": "22-bookworm-slim", "init": None},
                files={"package.json": PACKAGE_JSON}),
        AppCase("tini", "FROM localhost/refarch/node:20-bookworm-slim-tini\nWORKDIR /app\nCOPY server.js .\n"
                "USER node\nENTRYPOINT [\"/usr/bin/tini\", \"--\"]\n"
                "HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD [\"node\", \"-e\", \"process.exit(0)\"]\n"
                "CMD [\"node\", \"--max-old-space-size=384\", \"server.js\"]\n",
                {"is_root": False, "init": "tini", "command": ["node", "--max-old-space-size=384", "server.js"],
                 "heap_mb": 384, "heap_source": "command", "healthcheck_interval": 30.0, "healthcheck_retries": 3},
                build_args=["--format", "docker"]),  # OCI image configs have no HEALTHCHECK: podman drops it
        AppCase("ubi-like", "FROM registry.access.redhat.com/ubi9/nodejs-20\nCOPY server.js .\n"
                "CMD [\"node\", \"server.js\"]\n",
                {"is_root": False, "uid": 1001, "user_source": "config", "workdir": "/opt/app-root/src",
                 "command": ["node", "server.js"], "base_repository": "ubi9/nodejs-20"}),
        AppCase("alpine-like", "FROM node:20-alpine\nWORKDIR /app\nCOPY server.js .\nUSER node\n"
                "CMD [\"node\", \"server.js\"]\n",
                {"is_root": False, "base_tag": "20-alpine", "command": ["node", "server.js"]}),
        AppCase("rebuilt", "FROM node:20-bookworm-slim\nWORKDIR /app\nCOPY server.js .\nUSER node\nEXPOSE 3000\n"
                "CMD [\"node\", \"server.js\"]\n",
                {"is_root": False, "dockerfile_link": True, "command": ["node", "server.js"]},
                rebuild_labels=True),
    ]
    for case in cases:
        case.prefix = prefix
    return cases


@dataclass
class BuiltApp:
    """An app image built for a test."""

    case: AppCase
    context: Path
    dockerfile_path: Path
    dockerfile_sha256: str
    image_id: str


def build_app(case: AppCase, workdir: Path, engine: str = "podman", extra_args: Optional[list[str]] = None,
              env: Optional[dict[str, str]] = None) -> BuiltApp:
    """Write the case's context under ``workdir`` and build it (podman: chroot isolation, no pulls)."""
    ctx = workdir / case.name
    ctx.mkdir(parents=True, exist_ok=True)
    (ctx / "server.js").write_text(SERVER_JS)
    for name, text in case.files.items():
        (ctx / name).write_text(text)
    dockerfile = ctx / "Dockerfile"
    dockerfile.write_text(case.dockerfile)
    sha = hashlib.sha256(dockerfile.read_bytes()).hexdigest()
    argv = [engine, *list(extra_args or [])]
    if engine == "podman":
        argv += ["build", "--isolation", "chroot", "--pull=never", "--quiet"]
    else:
        argv += ["build", "--network", "none", "--quiet"]
    if engine == "podman":
        argv += case.build_args
    if case.rebuild_labels:
        argv += ["--label", f"{LABEL_PATH}={dockerfile}", "--label", f"{LABEL_SHA}={sha}"]
    argv += ["-t", case.ref, "-f", str(dockerfile), str(ctx)]
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = run(argv, timeout=600, env=full_env)
    image_id = proc.stdout.strip().splitlines()[-1].strip() if proc.stdout.strip() else ""
    return BuiltApp(case, ctx, dockerfile, sha, image_id)


def podman_inspect(refs: list[str]) -> list[dict[str, Any]]:
    """``podman image inspect`` of the references (real JSON)."""
    return json.loads(run(["podman", "image", "inspect", *refs], timeout=120).stdout)


def load_schema() -> dict[str, Any]:
    """The image/container JSON schema from the repository."""
    return json.loads((REPO / "policies" / "schema" / "image.schema.json").read_text())


def require_rebuild_lab() -> list[str]:
    """The SSH rebuild tests' preconditions (root for the estate's logins and podman builds, podman and buildah,
    the local base images), or skip the calling test with the reason."""
    import pytest  # noqa: PLC0415 - only the tests that need the images import pytest through here

    if os.geteuid() != 0:
        pytest.skip("the SSH estate logs in as root and podman builds need root: run the tests as root")
    for tool in ("podman", "buildah"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed")
    return require_base_images()


def image_id(ref: str) -> str:
    """The ID podman has for ``ref``, or ``""`` when there is no such image."""
    proc = run(["podman", "image", "inspect", "--format", "{{.Id}}", ref], timeout=120, check=False,
               stdin=subprocess.DEVNULL)
    return proc.stdout.strip() if proc.returncode == 0 else ""
