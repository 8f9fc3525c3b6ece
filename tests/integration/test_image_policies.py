"""Image and container rules of the policy bundle on REAL podman images and containers.

App images are built here with ``podman build --isolation chroot --pull=never`` on the local
base images (``tests/images/make_base_images.sh``, no registry): root user, non-root user with a
shell-form CMD, privileged ports, ``npm start``, tini, a base outside the recommended families,
UBI-like and alpine-like bases. Containers are created (``podman create``: ``podman run`` is
refused on these machines, a created container has the full inspect record) with
``--privileged``, ``--init``, memory limits and an untagged image reference. Their facts come
from the real module logic (``_runtime_scan.scan_images`` / ``scan_containers``), validate against
``policies/schema/image.schema.json``, and are evaluated the way ``policy_check`` does it: the
embedded engine (regopy) and a real ``opa run --server -b policies`` started here must both return
EXACTLY the expected rule set for every image and container.

The expected sets are written down from the Dockerfiles and ``podman create`` options below (see
``EXPECTED``), not taken from any output. Every local base image carries the host's Node.js 20
binary (NODE_VERSION=20.x, also in the one tagged node:22), so NRA013 (Node.js 20 reached
end-of-life on 2026-04-30) is expected on 2026-11-28 and not on 2026-01-15, when 20 was LTS.
Everything created here is removed at the end.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "policies"
PREFIX = "localhost/refarch-pol"
CONTAINER_PREFIX = "refarch-pol-"
LATE = "2026-11-28"  # Node.js 20 is end-of-life
EARLY = "2026-01-15"  # Node.js 20 is LTS

pytestmark = pytest.mark.integration


def _load(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


S = _load("refarch_image_support", REPO / "tests" / "images" / "support.py")
OPA_HELPERS = _load("refarch_opa_helpers", REPO / "tests" / "unit" / "plugins" / "plugin_utils" / "opa_helpers.py")
VALIDATOR = jsonschema.Draft202012Validator(S.load_schema())


@dataclass
class PolicyCase(S.AppCase):
    """An app image of this test (its own reference prefix, so other tests' images are untouched)."""

    @property
    def ref(self) -> str:
        return f"{PREFIX}/{self.name}:1"


# --layers=false: no intermediate images are left behind; the label finds whatever this test made.
OWN_LABEL = "io.refarch.containers.test=image-policies"
NO_LAYERS = ["--layers=false", "--label", OWN_LABEL]
EXEC = 'CMD ["node", "server.js"]\n'

CASES = [
    PolicyCase("root-user", "FROM node:20-bookworm-slim\nWORKDIR /app\nCOPY server.js .\nEXPOSE 3000\n" + EXEC, {},
               build_args=NO_LAYERS),
    PolicyCase("non-root", "FROM node:20\nWORKDIR /app\nCOPY --chown=node:node server.js .\nUSER node\n"
               "ENV NODE_OPTIONS=--max-old-space-size=256\nEXPOSE 8080\nCMD node server.js\n", {},
               build_args=NO_LAYERS),
    PolicyCase("privileged-port", "FROM node:20-bookworm-slim\nWORKDIR /app\nCOPY server.js .\nUSER 1000:1000\n"
               "ENV PORT=80\nEXPOSE 80 443/tcp\n" + EXEC, {}, build_args=NO_LAYERS),
    PolicyCase("npm-start", "FROM node:22-bookworm-slim\nWORKDIR /app\nCOPY package.json server.js ./\nUSER node\n"
               'CMD ["npm", "start"]\n', {}, files={"package.json": S.PACKAGE_JSON}, build_args=NO_LAYERS),
    # docker format: no OCI base annotation, so the base is unknown and NRA012/NRA014 stay silent
    PolicyCase("tini", "FROM localhost/refarch/node:20-bookworm-slim-tini\nWORKDIR /app\nCOPY server.js .\n"
               'USER node\nENTRYPOINT ["/usr/bin/tini", "--"]\n'
               'CMD ["node", "--max-old-space-size=384", "server.js"]\n', {},
               build_args=["--format", "docker", *NO_LAYERS]),
    # same Dockerfile, OCI format: the base annotation names localhost/refarch/node, not a recommended image
    PolicyCase("other-base", "FROM localhost/refarch/node:20-bookworm-slim-tini\nWORKDIR /app\nCOPY server.js .\n"
               'USER node\nENTRYPOINT ["/usr/bin/tini", "--"]\n'
               'CMD ["node", "--max-old-space-size=384", "server.js"]\n', {}, build_args=NO_LAYERS),
    # untagged FROM: podman records the base as :latest
    PolicyCase("ubi-like", "FROM registry.access.redhat.com/ubi9/nodejs-20\nCOPY server.js .\n" + EXEC, {},
               build_args=NO_LAYERS),
    PolicyCase("alpine-like", "FROM node:20-alpine\nWORKDIR /app\nCOPY server.js .\nUSER node\n" + EXEC, {},
               build_args=NO_LAYERS),
]

# Expected rule ids on LATE with the default configuration, from the Dockerfiles above.
EXPECTED: dict[str, set[str]] = {
    # no USER: root; no init; no heap limit
    "root-user": {"NRA001", "NRA007", "NRA009", "NRA013"},
    # shell-form CMD: sh stays between PID 1 and node; no init; heap limit from NODE_OPTIONS is fine
    "non-root": {"NRA007", "NRA011", "NRA013"},
    # EXPOSE 80 443 and PORT=80; no init; no heap limit
    "privileged-port": {"NRA002", "NRA007", "NRA009", "NRA013"},
    # npm start; no init; no heap limit
    "npm-start": {"NRA007", "NRA009", "NRA010", "NRA013"},
    # tini, non-root, heap limit, unprivileged: only the end-of-life Node.js 20
    "tini": {"NRA013"},
    "other-base": {"NRA012", "NRA013"},
    # USER 1001 from the UBI-like base is fine; base taken as :latest; no init; no heap limit
    "ubi-like": {"NRA007", "NRA009", "NRA013", "NRA014"},
    # Alpine variant of the official image; no init; no heap limit
    "alpine-like": {"NRA007", "NRA009", "NRA012", "NRA013"},
}


@dataclass
class ContainerCase:
    """A container created with ``podman create`` from one of the app images."""

    name: str
    image_case: str
    options: list[str]
    command: list[str]
    expected: set[str]
    untagged: bool = False

    @property
    def container(self) -> str:
        return CONTAINER_PREFIX + self.name


CONTAINERS = [
    # root, --privileged, no --init, 1024 MiB heap in a 256 MiB container
    ContainerCase("bad", "root-user", ["--privileged", "--memory", "256m"],
                  ["node", "--max-old-space-size=1024", "server.js"], {"NRA001", "NRA007", "NRA009", "NRA013"}),
    # --init, the image's tini and 384 MiB heap in 512 MiB (75%, not more than heap_memory_ratio)
    ContainerCase("good", "tini", ["--init", "--memory", "512m"], [], {"NRA013"}),
    # started from the image's untagged name (latest); npm start; no init; no heap limit
    ContainerCase("latest", "npm-start", [], [], {"NRA007", "NRA009", "NRA010", "NRA013", "NRA014"}, untagged=True),
]


def _valid(doc: dict[str, Any]) -> None:
    errors = list(VALIDATOR.iter_errors(doc))
    assert not errors, [f"{e.message} at {list(e.path)}" for e in errors[:5]]


def _podman(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return S.run(["podman", *argv], timeout=300, check=check)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Build every case with real podman; remove the images (and containers) afterwards."""
    S.require_base_images()
    work = tmp_path_factory.mktemp("policy-apps")
    apps: dict[str, Any] = {}
    try:
        for case in CASES:
            apps[case.name] = S.build_app(case, work)
        yield apps
    finally:
        for case in CASES:
            _podman("rmi", "--force", case.ref, check=False)
        _podman("rmi", "--force", f"{PREFIX}/npm-start:latest", check=False)
        left = _podman("images", "-a", "-q", "--filter", f"label={OWN_LABEL}", check=False).stdout.split()
        for image_id in sorted(set(left)):
            _podman("rmi", "--force", image_id, check=False)


@pytest.fixture(scope="module")
def created(built):
    """Create (not start) the containers; remove them afterwards."""
    names = []
    try:
        for c in CONTAINERS:
            image = built[c.image_case].case.ref
            if c.untagged:
                _podman("tag", image, f"{PREFIX}/{c.image_case}:latest")
                image = f"{PREFIX}/{c.image_case}"
            _podman("rm", "--force", c.container, check=False)
            _podman("create", "--name", c.container, *c.options, image, *c.command)
            names.append(c.container)
        yield {c.name: c for c in CONTAINERS}
    finally:
        for name in names:
            _podman("rm", "--force", name, check=False)


@pytest.fixture(scope="module")
def documents(built, created) -> dict[str, dict[str, Any]]:
    """Facts from the real module logic: {case name: document}, images and containers."""
    from ansible_collections.refarch.containers.plugins.module_utils._runtime_scan import (  # noqa: PLC0415
        scan_containers,
        scan_images,
    )
    images = scan_images({"runtime": "podman", "names": [f"{PREFIX}/*"], "dangling": "exclude"})
    assert images["engine_error"] is None, images["engine_error"]
    by_ref = {d["image"]: d for d in images["images"]}
    docs = {}
    for case in CASES:
        assert case.ref in by_ref or any(case.ref in d["tags"] for d in images["images"]), sorted(by_ref)
        docs[case.name] = next(d for d in images["images"] if case.ref in d["tags"])
    ctrs = scan_containers({"runtime": "podman", "all": True, "names": [CONTAINER_PREFIX + "*"]})
    assert ctrs["engine_error"] is None, ctrs["engine_error"]
    by_name = {d["name"]: d for d in ctrs["containers"]}
    for c in CONTAINERS:
        assert c.container in by_name, sorted(by_name)
        docs["ctr-" + c.name] = by_name[c.container]
    return docs


def _expected(name: str, date: str, config: dict[str, Any]) -> set[str]:
    base = set(EXPECTED[name]) if name in EXPECTED else set(
        next(c for c in CONTAINERS if "ctr-" + c.name == name).expected)
    if date == EARLY:
        base.discard("NRA013")
    if config.get("size_budget_mb", 400) < 200 and not name.startswith("ctr-"):
        base.add("NRA015")  # every app image is about 224 MiB
    return base


@pytest.fixture(scope="module")
def bundle():
    from ansible_collections.refarch.containers.plugins.plugin_utils._bundle import load_bundle  # noqa: PLC0415
    return load_bundle()


@pytest.fixture(scope="module")
def opa_server():
    binary = OPA_HELPERS.opa_binary()
    if not binary:
        pytest.fail("no opa binary: set OPA=/path/to/opa or run `make setup` (installs .tools/bin/opa)")
    server = OPA_HELPERS.OpaServer(binary, [str(POLICIES)])
    yield server
    server.stop()


def _engines(bundle, opa_server) -> dict[str, Any]:
    from ansible_collections.refarch.containers.plugins.plugin_utils._engine_embedded import (  # noqa: PLC0415
        EmbeddedEngine,
    )
    from ansible_collections.refarch.containers.plugins.plugin_utils._engine_opa import OpaEngine  # noqa: PLC0415
    return {"embedded": EmbeddedEngine(bundle, timeout=600), "opa": OpaEngine(bundle, opa_server.url, timeout=300)}


def _policy_check(engine: Any, docs: list[dict[str, Any]], date: str, config: dict[str, Any]) -> list[dict]:
    """What policy_check does with the engine output: complete findings with their targets."""
    from ansible_collections.refarch.containers.plugins.plugin_utils._findings import enrich  # noqa: PLC0415
    raw = engine.evaluate(docs, date, config)
    findings, dummy = enrich(docs, raw, "localhost", waivers=[], evaluation_date=dt.date.fromisoformat(date))
    return findings


def test_facts_validate_against_the_schema(documents):
    for name, doc in documents.items():
        assert doc["error"] is None, (name, doc["error"])
        _valid(doc)


@pytest.mark.parametrize(("date", "config"), [(LATE, {}), (EARLY, {}), (LATE, {"size_budget_mb": 100})],
                         ids=["eol-date", "lts-date", "small-size-budget"])
def test_exact_rule_sets_on_both_engines(documents, bundle, opa_server, date, config):
    names = sorted(documents)
    docs = [documents[n] for n in names]
    engines = _engines(bundle, opa_server)
    results = {label: _policy_check(engine, docs, date, config) for label, engine in engines.items()}
    assert results["embedded"] == results["opa"], "the embedded engine and the OPA server disagree"
    findings = results["embedded"]
    rows, wrong = [], []
    for name, doc in zip(names, docs, strict=True):
        field = "image" if doc["kind"] == "image" else "name"
        mine = [f for f in findings if f["target"]["kind"] == doc["kind"] and f["target"].get(field) == doc[field]]
        got = {f["rule_id"] for f in mine}
        want = _expected(name, date, config)
        rows.append(f"{name:16} expected {sorted(want)} got {sorted(got)}")
        if got != want:
            wrong.append(rows[-1] + "\n    " + "\n    ".join(f["message"] for f in mine))
        for f in mine:
            assert f["line"] is None and f["target"]["host"] == "localhost" and f["target"]["id"] == doc["id"]
            assert f["severity"] and f["title"] and f["fix"]
    print(f"\n[{date} {json.dumps(config)}]\n" + "\n".join(rows))
    assert not wrong, "\n".join(wrong)


def test_messages_name_the_image_and_the_numbers(documents, bundle):
    from ansible_collections.refarch.containers.plugins.plugin_utils._engine_embedded import (  # noqa: PLC0415
        EmbeddedEngine,
    )
    names = ["privileged-port", "ctr-bad", "root-user"]
    raw = EmbeddedEngine(bundle).evaluate([documents[n] for n in names], LATE, {"size_budget_mb": 100})
    by = {n: {f["rule_id"]: [] for f in r} for n, r in zip(names, raw, strict=True)}
    for n, r in zip(names, raw, strict=True):
        for f in r:
            by[n][f["rule_id"]].append(f["message"])
    ports = " ".join(by["privileged-port"]["NRA002"])
    assert "80/tcp" in ports and "443/tcp" in ports and "PORT=80" in ports
    assert all(f"{PREFIX}/privileged-port:1" in m for m in by["privileged-port"]["NRA002"])
    heap = by["ctr-bad"]["NRA009"]
    assert heap == [f"container {CONTAINER_PREFIX}bad ({PREFIX}/root-user:1) sets --max-old-space-size=1024 MiB, "
                    "400% of its memory limit of 256 MiB (more than heap_memory_ratio 0.75): leave room for the "
                    "rest of the process or raise the limit"], heap
    assert any("privileged" in m for m in by["ctr-bad"]["NRA001"])
    size_mb = documents["root-user"]["size"] / 1048576
    (size_msg,) = by["root-user"]["NRA015"]
    assert f"{size_mb:.2f} MiB" in size_msg and "100 MiB" in size_msg, size_msg


NO_HEAP = {"raw": None, "mb": None, "source": None, "from_env": None}


def _variant(doc: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = json.loads(json.dumps(doc))
    for key, value in changes.items():
        target = out
        *path, last = key.split("__")
        for part in path:
            target = target[part]
        target[last] = value
    return out


def test_edge_variants_agree_and_match(documents, bundle, opa_server):
    """Variants of the real compliant image/container documents, on EARLY (Node.js 20 is LTS): both engines
    agree and each variant gets exactly the rules its change breaks."""
    image, ctr = documents["tini"], documents["ctr-good"]
    shell = {"argv": ["/bin/sh", "-c", "cd /app && yarn start"], "form": "shell",
             "shell_command": "cd /app && yarn start", "line": None, "init": None, "wrappers": ["/bin/sh -c"],
             "command": ["cd", "/app", "&&", "yarn", "start"]}
    port = {"port": 22, "end_port": 22, "protocol": "tcp", "raw": "22/tcp", "line": None, "resolved": True}
    bad_port = {"port": None, "end_port": None, "protocol": "tcp", "raw": "http", "line": None, "resolved": False}
    alpine_ref = {"raw": "x", "resolved": "x", "registry": "docker.io", "repository": "library/node",
                  "tag": "20-alpine", "digest": None, "unresolved": False, "scratch": False}
    cases = [
        ("image-as-is", _variant(image), set()),
        ("image-uid0", _variant(image, user__raw="0", user__name="0", user__uid=0, user__is_root=True), {"NRA001"}),
        ("image-port22", _variant(image, exposed_ports=[port, bad_port]), {"NRA002"}),
        ("image-yarn-shell", _variant(image, process=shell, heap_limit=NO_HEAP),
         {"NRA007", "NRA009", "NRA010", "NRA011"}),
        ("image-pm2", _variant(image, process__command=["pm2-runtime", "app.js"]), {"NRA008"}),
        ("image-alpine-base", _variant(image, base={"name": "x", "digest": None, "source": "label", "ref": alpine_ref}),
         {"NRA012"}),
        ("image-ubi-label", _variant(image, labels={"name": "ubi9/nodejs-20"}), set()),
        ("image-node-0.12", _variant(image, node__version="0.12.18"), {"NRA013"}),
        ("image-no-version", _variant(image, node__version=None, env={}), {"NRA013"}),
        ("ctr-as-is", _variant(ctr), set()),
        ("ctr-privileged", _variant(ctr, privileged=True), {"NRA001"}),
        ("ctr-no-init", _variant(ctr, init={"flag": False, "process": None, "effective": False}), {"NRA007"}),
        ("ctr-heap-var", _variant(
            ctr,
            process=dict(shell, shell_command="node --max-old-space-size=$HEAP s.js",
                         command=["node", "--max-old-space-size=$HEAP", "s.js"]),
            heap_limit={"raw": "$HEAP", "mb": None, "source": "command", "from_env": "HEAP"},
            env={"HEAP": {"value": "500", "line": None, "redacted": False}}),
         {"NRA009", "NRA011"}),  # 500 MiB of 512 MiB; sh -c in front of node
        ("ctr-by-id", _variant(ctr, image=ctr["image_id"]), set()),
        ("ctr-untagged-alpine", _variant(ctr, image="node", image_facts=None), {"NRA014"}),
    ]
    docs = [c[1] for c in cases]
    for name, doc, dummy in cases:
        doc["name" if doc["kind"] == "container" else "image"] = f"variant-{name}"
    engines = _engines(bundle, opa_server)
    raw = {label: engine.evaluate(docs, EARLY, {}) for label, engine in engines.items()}
    assert raw["embedded"] == raw["opa"], "the embedded engine and the OPA server disagree"
    wrong = []
    for (name, _doc, want), found in zip(cases, raw["embedded"], strict=True):
        got = {f["rule_id"] for f in found}
        if got != want:
            wrong.append(f"{name}: expected {sorted(want)} got {sorted(got)}: {[f['message'] for f in found]}")
    assert not wrong, "\n".join(wrong)
