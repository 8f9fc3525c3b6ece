"""image_info / container_info against real podman on this machine.

Builds the local base images (tests/images/make_base_images.sh, no registry) and eight app images on
them with ``podman build --isolation chroot --pull=never`` (root user, non-root user, privileged port,
npm start, tini, UBI-like, alpine-like, rebuild labels), then checks what the module logic returns
for them against what their Dockerfiles say, and that every document validates against
policies/schema/image.schema.json. One test runs the real module through ``ansible localhost``.
(The SSH estate wiring and the policy findings for these images are the lead's/policy owner's tests.)
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
from ansible_collections.refarch.containers.plugins.module_utils._runtime_scan import scan_images

REPO = Path(__file__).resolve().parents[2]
_SUPPORT = REPO / "tests" / "images" / "support.py"


def _load_support():
    spec = importlib.util.spec_from_file_location("refarch_image_support", _SUPPORT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


S = _load_support()
VALIDATOR = jsonschema.Draft202012Validator(S.load_schema())
PREFIX = S.unique_prefix()  # other tests build (and remove) the default-prefixed images concurrently
PATTERN = PREFIX + "/*"
CASES = S.app_cases(PREFIX)


def _valid(doc: dict) -> None:
    errors = list(VALIDATOR.iter_errors(doc))
    assert not errors, [f"{e.message} at {list(e.path)}" for e in errors[:5]]


@pytest.fixture(scope="module")
def apps(tmp_path_factory):
    """All app cases built with real podman; {name: BuiltApp}."""
    S.require_base_images()
    work = tmp_path_factory.mktemp("apps")
    try:
        yield {case.name: S.build_app(case, work) for case in CASES}
    finally:
        S.remove_images([case.ref for case in CASES])


@pytest.fixture(scope="module")
def scanned(apps):
    result = scan_images({"runtime": "podman", "names": [PATTERN], "include_history": True, "dangling": "exclude"})
    return result, {doc["image"]: doc for doc in result["images"]}


def test_engine_status_and_counts(apps, scanned):
    result, by_ref = scanned
    (podman,) = [e for e in result["engines"] if e["name"] == "podman"]
    assert podman["available"] is True and podman["error"] is None and podman["version"]
    for built in apps.values():
        assert built.case.ref in by_ref, f"missing {built.case.ref} in {sorted(by_ref)}"
    assert result["truncated"] is False and result["image_count"] == len(result["images"])
    assert len(by_ref) >= len(apps)  # an image can carry several tags; by_ref keys on the first
    assert all(argv[0].endswith("podman") for argv in result["commands"])


@pytest.mark.parametrize("name", [c.name for c in CASES])
def test_each_app_image(apps, scanned, name):
    _result, by_ref = scanned
    built = apps[name]
    doc = by_ref[built.case.ref]
    exp = built.case.expect
    _valid(doc)
    assert doc["id"].endswith(built.image_id) or built.image_id.startswith(doc["short_id"])
    assert doc["user"]["is_root"] is exp["is_root"]
    for key, field in (("user", "name"), ("uid", "uid"), ("user_source", "source")):
        if key in exp:
            assert doc["user"][field] == exp[key]
    if "ports" in exp:
        assert [(p["port"], p["protocol"]) for p in doc["exposed_ports"]] == exp["ports"]
    assert doc["process"]["command"] == exp["command"]
    if "init" in exp:
        assert doc["process"]["init"] == exp["init"]
    if "heap_mb" in exp:
        assert (doc["heap_limit"]["mb"], doc["heap_limit"]["source"]) == (exp["heap_mb"], exp["heap_source"])
    if "base_tag" in exp:
        assert doc["base"]["ref"]["tag"] == exp["base_tag"]
    if "base_repository" in exp:
        assert doc["base"]["ref"]["repository"] == exp["base_repository"]
    if "workdir" in exp:
        assert doc["workdir"] == exp["workdir"]
    if "healthcheck_interval" in exp:
        assert doc["healthcheck"]["interval_s"] == exp["healthcheck_interval"]
    for secret in exp.get("secrets", []):
        assert secret not in json.dumps(doc)
    for var in exp.get("redacted_env", []):
        assert doc["env"][var]["redacted"] is True
    if exp.get("dockerfile_link"):
        assert doc["dockerfile"] == {"path": str(built.dockerfile_path), "sha256": built.dockerfile_sha256,
                                     "source": "label", "valid": True}
    else:
        assert doc["dockerfile"] is None
    assert doc["node"]["major"] == 20  # every local base carries the host's v20 binary (node:22 too: see its label)
    assert doc["layer_count"] >= 2 and doc["history_count"] >= doc["layer_count"]
    assert doc["history"] and doc["history"][-1]["created_by"]


def test_filters_dangling_age_and_bound(apps):
    base = {"runtime": "podman", "names": [PATTERN]}
    everything = scan_images(base)
    newest = scan_images(dict(base, max_images=2))
    assert newest["truncated"] is True and newest["image_count"] == 2 and newest["matched"] == everything["matched"]
    created = sorted((d["created_epoch"] for d in everything["images"]), reverse=True)
    # the engine lists creation times to the second: images built within one second tie
    assert [int(d["created_epoch"]) for d in newest["images"]] == [int(e) for e in created[:2]]
    # an hour from now every image is older than 1 s (``now`` is an argument, not a module option)
    assert scan_images(dict(base, max_age="1s"), now=time.time() + 3600)["images"] == []
    assert scan_images(dict(base, min_age="30d"))["images"] == []
    only = scan_images({"runtime": "podman", "dangling": "only", "names": []})
    assert all(d["dangling"] for d in only["images"])


def test_dangling_image_after_retag(apps, tmp_path):
    case = next(c for c in CASES if c.name == "root-user")
    first = S.build_app(case, tmp_path / "one")
    changed = S.AppCase(case.name, case.dockerfile.replace("EXPOSE 3000", "EXPOSE 3001"), case.expect,
                        prefix=PREFIX)
    second = S.build_app(changed, tmp_path / "two")  # takes the tag: the first image is now dangling
    try:
        only = scan_images({"runtime": "podman", "dangling": "only", "names": [first.image_id[:12]]})
        assert [d["dangling"] for d in only["images"]] == [True]
        assert only["images"][0]["tags"] == []
        _valid(only["images"][0])
        excluded = scan_images({"runtime": "podman", "dangling": "exclude", "names": [first.image_id[:12]]})
        assert excluded["images"] == []
    finally:
        S.build_app(case, tmp_path / "three")  # the layer cache gives the first image (and the tag) back
        subprocess.run(["podman", "rmi", second.image_id], capture_output=True, timeout=120, check=False)


def test_node_version_probe_through_buildah(apps):
    ref = apps["root-user"].case.ref
    result = scan_images({"runtime": "podman", "names": [ref], "node_version_probe": "always", "max_probes": 1})
    (doc,) = result["images"]
    host = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False).stdout.strip().lstrip("v")
    probe = doc["node"]["probe"]
    assert probe["error"] is None, probe
    assert doc["node"]["source"] == "probe" and doc["node"]["version"] == host
    assert probe["method"] in ("podman run", "buildah run")


def test_the_module_through_ansible(apps):
    ansible = Path(sys.executable).parent / "ansible"
    if not ansible.exists():
        ansible = Path(shutil.which("ansible") or "")
    if not ansible.is_file():
        pytest.skip(f"ansible CLI not found beside {sys.executable}")
    collections = REPO / ".venv" / "collections"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_NOCOLOR="1")
    ref = apps["tini"].case.ref
    proc = subprocess.run([str(ansible), "localhost", "-c", "local", "-m", "refarch.containers.image_info",
                           # engine: the option's earlier name, kept as an alias of runtime
                           "-a", json.dumps({"names": [ref], "engine": "podman"})],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    head, sep, body = proc.stdout.partition("=> ")
    assert sep and "SUCCESS" in head, proc.stdout[-3000:]
    res = json.loads(body)
    assert res["changed"] is False and res["engine_error"] is None
    assert [e["name"] for e in res["engines"]] == ["podman"], res["engines"]  # auto would list docker too
    (doc,) = [d for d in res["images"] if d["engine"] == "podman"]
    _valid(doc)
    assert doc["image"] == ref and doc["process"]["init"] == "tini"
