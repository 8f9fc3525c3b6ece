"""Tests for plugins/module_utils/_container_facts.py on real ``podman container inspect`` JSON.

The containers are made with ``podman create`` (it needs no runtime; ``podman run`` does not work in
this sandbox) on the local base images; docker's JSON is covered by
tests/integration/test_docker_engine.py with running containers. Hand-written inputs are only the
empty/odd ones and say so in the test name.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import uuid
from pathlib import Path

import jsonschema
import pytest
from ansible_collections.refarch.containers.plugins.module_utils._container_facts import container_facts
from ansible_collections.refarch.containers.plugins.module_utils._image_facts import image_facts
from ansible_collections.refarch.containers.plugins.module_utils._runtime_scan import scan_containers
from ansible_collections.refarch.containers.plugins.module_utils._shellcmd import HEAP_WRAPPER
from ansible_collections.refarch.containers.plugins.plugin_utils._evaluation import run_policy_check

_SUPPORT = Path(__file__).resolve().parents[4] / "tests" / "images" / "support.py"


def _load_support():
    spec = importlib.util.spec_from_file_location("refarch_image_support", _SUPPORT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


S = _load_support()
VALIDATOR = jsonschema.Draft202012Validator(S.load_schema())
BASE = "docker.io/library/node:20-bookworm-slim"


def _valid(doc: dict) -> None:
    errors = list(VALIDATOR.iter_errors(doc))
    assert not errors, [f"{e.message} at {list(e.path)}" for e in errors[:5]]


@pytest.fixture(scope="module")
def created():
    """Three containers made with real `podman create`; removed afterwards."""
    S.require_base_images()
    tag = uuid.uuid4().hex[:8]
    specs = {
        "limited": ["--init", "--memory", "256m", "-p", "8080:3000", "--restart", "on-failure:3",
                    "-e", "NODE_OPTIONS=--max-old-space-size=512", "-e", "API_TOKEN=tok_abcdef123456",
                    BASE, "node", "--max-old-space-size=200", "server.js"],
        "too-big-heap": ["--memory", "128m", "-e", "NODE_OPTIONS=--max-old-space-size=1024", "--user", "node",
                         BASE, "node", "server.js"],
        "privileged-npm": ["--privileged", "--restart", "always", BASE, "npm", "start"],
    }
    names = {}
    for key, args in specs.items():
        name = f"refarch-ut-{key}-{tag}"
        subprocess.run(["podman", "create", "--name", name, *args], check=True, capture_output=True, timeout=120)
        names[key] = name
    try:
        data = json.loads(subprocess.run(["podman", "container", "inspect", *list(names.values())], check=True,
                                         capture_output=True, text=True, timeout=120).stdout)
        by_name = {d["Name"]: d for d in data}
        image = image_facts(S.podman_inspect([BASE])[0], "podman")
        yield {key: by_name[name] for key, name in names.items()}, names, image
    finally:
        subprocess.run(["podman", "rm", "--force", *list(names.values())], capture_output=True, timeout=120,
                       check=False)


def test_limits_init_ports_restart(created):
    data, _names, image = created
    doc = container_facts(data["limited"], "podman", image=image)
    _valid(doc)
    assert doc["init"]["flag"] is True and doc["init"]["effective"] is True
    assert doc["memory_limit"] == 256 * 1024 * 1024
    assert doc["heap_limit"] == {"raw": "200", "mb": 200, "source": "command", "from_env": None}
    assert doc["heap_exceeds_memory"] is False
    assert {"container_port": 3000, "protocol": "tcp", "host_ip": None, "host_port": 8080} in doc["published_ports"]
    assert doc["restart_policy"] == {"name": "on-failure", "maximum_retry_count": 3}
    assert doc["node"]["is_node"] is True and doc["node"]["version"] == image["node"]["version"]
    assert doc["user"]["is_root"] is True  # base image default, no --user
    assert doc["process"]["command"][:2] == ["node", "--max-old-space-size=200"]
    assert "tok_abcdef123456" in json.dumps(data["limited"])
    assert "tok_abcdef123456" not in json.dumps(doc)
    assert doc["env"]["API_TOKEN"]["redacted"] is True


def test_heap_from_node_options_larger_than_memory(created):
    data, _names, _image = created
    doc = container_facts(data["too-big-heap"], "podman")
    _valid(doc)
    assert doc["heap_limit"]["source"] == "NODE_OPTIONS" and doc["heap_limit"]["mb"] == 1024
    assert doc["memory_limit"] == 128 * 1024 * 1024 and doc["heap_exceeds_memory"] is True
    assert doc["init"] == {"flag": False, "process": None, "effective": False}
    assert doc["user"]["name"] == "node" and doc["user"]["is_root"] is False


def test_privileged_npm(created):
    data, _names, _image = created
    doc = container_facts(data["privileged-npm"], "podman")
    _valid(doc)
    assert doc["privileged"] is True
    assert doc["restart_policy"]["name"] == "always"
    assert doc["process"]["command"] == ["npm", "start"] and doc["node"]["is_node"] is True
    assert doc["memory_limit"] is None and doc["heap_exceeds_memory"] is None


def test_scan_containers_lists_created_ones_with_all(created):
    _data, names, _image = created
    running = scan_containers({"runtime": "podman", "names": list(names.values())})
    assert running["containers"] == []  # created, not running
    everything = scan_containers({"runtime": "podman", "all": True, "names": list(names.values())})
    assert sorted(c["name"] for c in everything["containers"]) == sorted(names.values())
    for doc in everything["containers"]:
        _valid(doc)
        assert doc["image_facts"]["image"].endswith("node:20-bookworm-slim")
    capped = scan_containers({"runtime": "podman", "all": True, "names": list(names.values()), "max_containers": 1})
    assert len(capped["containers"]) == 1 and capped["truncated"] is True and capped["matched"] == 3


@pytest.mark.parametrize("data", [{}, None, {"Id": "x", "Config": None, "HostConfig": [], "State": "up"}],
                         ids=["empty", "none", "odd-types"])
def test_handwritten_odd_container_inspect(data):
    doc = container_facts(data, "docker")
    _valid(doc)
    assert doc["process"] is None and doc["memory_limit"] is None and doc["published_ports"] == []


@pytest.fixture(scope="module")
def heap_script_containers():
    """Containers made with real `podman create` that start through the heap start script the set_heap_limit fix
    writes (the script need not exist to create one); removed afterwards."""
    S.require_base_images()
    tag = uuid.uuid4().hex[:8]
    entry = ["--entrypoint", json.dumps(["/usr/bin/tini", "--", HEAP_WRAPPER])]
    image_default = ["-e", "NODE_OPTIONS=--max-old-space-size=1024"]
    specs = {
        "share": ["--memory", "512m", *image_default, *entry, BASE, "node", "server.js"],
        "percent": ["--memory", "512m", "-e", "HEAP_MEMORY_PERCENT=50", *image_default, *entry, BASE, "node", "s.js"],
        "override": ["--memory", "512m", "-e", "MAX_NODE_MEMORY=4096", *image_default, *entry, BASE, "node", "s.js"],
        "no-limit": [*image_default, *entry, BASE, "node", "server.js"],
        "flag-wins": ["--memory", "512m", *image_default, *entry, BASE, "node", "--max-old-space-size=900", "s.js"],
    }
    names = {key: f"refarch-ut-heap-{key}-{tag}" for key in specs}
    try:
        for key, args in specs.items():
            subprocess.run(["podman", "create", "--name", names[key], *args], check=True, capture_output=True,
                           timeout=120)
        data = json.loads(subprocess.run(["podman", "container", "inspect", *names.values()], check=True,
                                         capture_output=True, text=True, timeout=120).stdout)
        by_name = {d["Name"]: d for d in data}
        yield {key: container_facts(by_name[name], "podman") for key, name in names.items()}
    finally:
        subprocess.run(["podman", "rm", "--force", *names.values()], capture_output=True, timeout=120, check=False)


def test_heap_start_script_sets_the_heap_from_the_memory_limit(heap_script_containers):
    """What the script does at start (tests/unit/.../test_fix_heap.py runs it in a real cgroup): MAX_NODE_MEMORY
    wins, else HEAP_MEMORY_PERCENT (75) % of the limit; no limit leaves NODE_OPTIONS; a command-line flag wins.
    The real policy then judges the heap the container gets, not the image's default."""
    docs = heap_script_containers
    for doc in docs.values():
        _valid(doc)
        assert doc["process"]["command"][0] == "node" and doc["init"]["process"] == "tini"
    assert docs["share"]["heap_limit"] == {"raw": "384", "mb": 384, "source": "start_script", "from_env": None}
    assert docs["percent"]["heap_limit"]["mb"] == 256
    assert docs["override"]["heap_limit"] == {"raw": "4096", "mb": 4096, "source": "start_script",
                                              "from_env": None}
    assert docs["override"]["heap_exceeds_memory"] is True and docs["share"]["heap_exceeds_memory"] is False
    assert docs["no-limit"]["heap_limit"]["source"] == "NODE_OPTIONS" and docs["no-limit"]["heap_limit"]["mb"] == 1024
    assert docs["flag-wins"]["heap_limit"]["source"] == "command" and docs["flag-wins"]["heap_limit"]["mb"] == 900

    result = run_policy_check({"facts": {"containers": list(docs.values())}, "evaluation_date": "2026-12-07"}, "h1")
    nra009 = {f["target"]["name"] for f in result["findings"] if f["rule_id"] == "NRA009"}
    names = {key: doc["name"] for key, doc in docs.items()}
    assert names["override"] in nra009 and names["flag-wins"] in nra009  # 4096 and 900 MiB of 512 MiB
    assert names["share"] not in nra009 and names["percent"] not in nra009 and names["no-limit"] not in nra009
