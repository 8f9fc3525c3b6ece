"""Tests for plugins/module_utils/_image_facts.py.

The normal cases normalize inspect JSON that real podman prints, at test time, for the local base
images and for small images built on them (tests/images/support.py). Only the unusual/empty
configs are hand-written; each of those tests says so in its name (``handwritten``).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from ansible_collections.refarch.containers.plugins.module_utils import _image_facts as F

_SUPPORT = Path(__file__).resolve().parents[4] / "tests" / "images" / "support.py"


def _load_support():
    spec = importlib.util.spec_from_file_location("refarch_image_support", _SUPPORT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


S = _load_support()
VALIDATOR = jsonschema.Draft202012Validator(S.load_schema())
UNIT_CASES = ("non-root", "privileged-port", "tini", "ubi-like")


def _valid(doc: dict) -> None:
    errors = sorted(VALIDATOR.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, [f"{e.message} at {list(e.path)}" for e in errors[:5]]


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """Real podman inspect JSON: the base images and four app images built on them."""
    bases = S.require_base_images()
    work = tmp_path_factory.mktemp("apps")
    cases = {c.name: c for c in S.app_cases(S.unique_prefix()) if c.name in UNIT_CASES}
    try:
        built = {name: S.build_app(case, work) for name, case in cases.items()}
        base_json = dict(zip(bases, S.podman_inspect(bases), strict=True))
        app_json = {name: S.podman_inspect([b.case.ref])[0] for name, b in built.items()}
    finally:
        S.remove_images([c.ref for c in cases.values()])
    node_version = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    return {"bases": base_json, "apps": app_json, "cases": cases, "node": node_version.lstrip("v")}


# --------------------------------------------------------------------------- real podman JSON
def test_base_images_normalize_and_validate(real):
    for ref, data in real["bases"].items():
        doc = F.image_facts(data, "podman")
        _valid(doc)
        assert doc["kind"] == "image" and doc["error"] is None and doc["problems"] == []
        assert doc["id"] == "sha256:" + data["Id"]
        assert ref in doc["tags"]
        assert doc["size"] == data["Size"]
        assert doc["layer_count"] == len(data["RootFS"]["Layers"])
        assert doc["created"][:19] == data["Created"][:19]
        assert doc["node"]["version"] == real["node"] and doc["node"]["source"] == "env"
        assert doc["labels"]["io.refarch.containers.test-base"] == "true"


def test_base_image_users_match_what_the_bases_declare(real):
    bases = real["bases"]
    slim = F.image_facts(bases["docker.io/library/node:20-bookworm-slim"], "podman")
    assert slim["user"] == {"raw": "", "name": None, "group": None, "uid": 0, "line": None, "source": "default",
                            "is_root": True}
    assert slim["process"]["command"] == ["node"] and slim["process"]["wrappers"] == ["docker-entrypoint.sh"]
    ubi = F.image_facts(bases["registry.access.redhat.com/ubi9/nodejs-20:latest"], "podman")
    assert ubi["user"]["uid"] == 1001 and ubi["user"]["is_root"] is False
    assert ubi["workdir"] == "/opt/app-root/src"
    alpine = F.image_facts(bases["docker.io/library/node:20-alpine"], "podman")
    assert any(r["tag"] == "20-alpine" and r["repository"] == "library/node" for r in alpine["refs"])


@pytest.mark.parametrize("name", UNIT_CASES)
def test_app_images_facts_follow_their_dockerfile(real, name):
    case = real["cases"][name]
    data = real["apps"][name]
    doc = F.image_facts(data, "podman")
    _valid(doc)
    exp = case.expect
    assert doc["image"] == case.ref
    assert doc["user"]["is_root"] is exp["is_root"]
    if "user" in exp:
        assert doc["user"]["name"] == exp["user"]
    if "uid" in exp:
        assert doc["user"]["uid"] == exp["uid"]
    if "ports" in exp:
        assert [(p["port"], p["protocol"]) for p in doc["exposed_ports"]] == exp["ports"]
    assert doc["process"]["command"] == exp["command"]
    if "form" in exp:
        assert doc["process"]["form"] == exp["form"]
    if "init" in exp:
        assert doc["process"]["init"] == exp["init"]
    if "heap_mb" in exp:
        assert doc["heap_limit"]["mb"] == exp["heap_mb"] and doc["heap_limit"]["source"] == exp["heap_source"]
    if "healthcheck_interval" in exp:
        assert doc["healthcheck"]["interval_s"] == exp["healthcheck_interval"]
        assert doc["healthcheck"]["retries"] == exp["healthcheck_retries"]
        assert "--interval=30s" in doc["healthcheck"]["flags"]
    if "workdir" in exp:
        assert doc["workdir"] == exp["workdir"]
    if "base_repository" in exp:
        assert doc["base"]["ref"]["repository"] == exp["base_repository"]
        assert doc["base"]["source"] == "annotation"


def test_shell_form_cmd_is_read_as_shell_form(real):
    doc = F.image_facts(real["apps"]["non-root"], "podman")
    raw_cmd = real["apps"]["non-root"]["Config"]["Cmd"]
    assert raw_cmd[:2] == ["/bin/sh", "-c"]  # what podman stored for `CMD node server.js`
    assert doc["cmd"] == {"form": "shell", "argv": ["node", "server.js"], "raw": "node server.js", "line": None}
    assert doc["process"]["shell_command"] == "node server.js"


def test_secrets_never_leave_the_document(real):
    case = real["cases"]["privileged-port"]
    data = real["apps"]["privileged-port"]
    raw = json.dumps(data)
    for secret in case.expect["secrets"]:
        assert secret in raw  # the engine really stores it ...
    doc = F.image_facts(data, "podman", include_history=True)
    text = json.dumps(doc)
    for secret in case.expect["secrets"]:
        assert secret not in text  # ... and the facts do not
    assert doc["env"]["NPM_TOKEN"] == {"value": "<redacted>", "line": None, "redacted": True}
    assert doc["env"]["API_URL"]["redacted"] is True and "api.example.com" in doc["env"]["API_URL"]["value"]
    assert doc["env"]["PORT"] == {"value": "80", "line": None, "redacted": False}


def test_history_is_capped_and_counted(real):
    data = real["apps"]["tini"]
    total = len(data["History"])
    assert total >= 4
    doc = F.image_facts(data, "podman", include_history=True, history_limit=2)
    assert doc["history_count"] == total
    assert len(doc["history"]) == 2 and doc["history_truncated"] is True
    assert doc["history"][-1]["created_by"] == F.scrub(data["History"][-1]["created_by"], [])
    without = F.image_facts(data, "podman")
    assert without["history"] == [] and without["history_count"] == total


def test_rebuild_labels_link_the_dockerfile_handwritten_labels_on_real_json(real):
    data = json.loads(json.dumps(real["apps"]["non-root"]))
    data["Config"]["Labels"][F.LABEL_DOCKERFILE_PATH] = "/srv/app/Dockerfile"
    data["Config"]["Labels"][F.LABEL_DOCKERFILE_SHA256] = "a" * 64
    doc = F.image_facts(data, "podman")
    assert doc["dockerfile"] == {"path": "/srv/app/Dockerfile", "sha256": "a" * 64, "source": "label", "valid": True}
    data["Config"]["Labels"][F.LABEL_DOCKERFILE_SHA256] = "not-a-sha"
    assert F.image_facts(data, "podman")["dockerfile"]["valid"] is False


def test_probe_result_wins_over_env(real):
    data = real["apps"]["non-root"]
    doc = F.image_facts(data, "podman", probe={"version": "22.11.0", "method": "buildah run", "error": None})
    assert doc["node"]["version"] == "22.11.0" and doc["node"]["major"] == 22 and doc["node"]["source"] == "probe"
    failed = F.image_facts(data, "podman", probe={"version": None, "method": "podman run", "error": "x"})
    assert failed["node"]["source"] == "env" and failed["node"]["probe"]["error"] == "x"


def test_age_needs_now(real):
    data = real["apps"]["non-root"]
    doc = F.image_facts(data, "podman")
    assert doc["age_days"] is None
    later = F.image_facts(data, "podman", now=doc["created_epoch"] + 2 * 86400)
    assert later["age_days"] == pytest.approx(2.0, abs=0.01)


# --------------------------------------------------------------------------- hand-written unusual configs
@pytest.mark.parametrize("data", [{}, {"Id": "abc", "Config": None}, {"Id": "abc", "Config": []}, [], "x", None],
                         ids=["empty", "config-null", "config-list", "list", "string", "none"])
def test_handwritten_empty_or_odd_inspect_gives_a_full_document(data):
    doc = F.image_facts(data, "docker")
    _valid(doc)
    assert doc["problems"], "an odd inspect object must be reported as a problem"
    assert doc["user"]["is_root"] is True and doc["process"] is None and doc["exposed_ports"] == []


def test_handwritten_odd_values_are_normalized():
    data = {"Id": "sha256:" + "b" * 64, "RepoTags": ["<none>:<none>"], "Size": -1, "Created": "0001-01-01T00:00:00Z",
            "Config": {"User": "0:0", "ExposedPorts": {"abc/tcp": {}, "8080": {}, "3000-3002/udp": {}},
                       "Env": ["NOVALUE", "=x", "EMPTY=", "DB_PASSWORD=p4ss", "GREETING=hello p4ss"],
                       "Entrypoint": "node", "Cmd": None, "Labels": {"deploy.token": "t0k3n-value", "a": "b"},
                       "Healthcheck": {"Test": ["NONE"]}}}
    doc = F.image_facts(data, "docker")
    _valid(doc)
    assert doc["id"] == "sha256:" + "b" * 64 and doc["tags"] == [] and doc["dangling"] is True
    assert doc["image"] == doc["id"]
    assert doc["size"] is None and doc["created"] is None
    assert doc["user"]["uid"] == 0 and doc["user"]["is_root"] is True and doc["user"]["group"] == "0"
    ports = [(p["port"], p["end_port"], p["protocol"], p["resolved"]) for p in doc["exposed_ports"]]
    assert ports == [(3000, 3002, "udp", True), (8080, 8080, "tcp", True), (None, None, "tcp", False)]
    assert any(p["code"] == "invalid_port" for p in doc["problems"])
    assert doc["env"]["NOVALUE"]["value"] is None and doc["env"]["EMPTY"]["value"] == ""
    assert doc["env"]["DB_PASSWORD"]["value"] == "<redacted>"
    assert "p4ss" not in json.dumps(doc)
    assert doc["labels"] == {"deploy.token": "<redacted>", "a": "b"}
    assert doc["entrypoint"]["argv"] == ["node"] and doc["process"]["command"] == ["node"]
    assert doc["healthcheck"]["none"] is True


@pytest.mark.parametrize("argv,init,command", [
    (["docker-entrypoint.sh", "node", "a.js"], None, ["node", "a.js"]),
    (["/sbin/tini", "-g", "-p", "SIGTERM", "--", "node", "a.js"], "tini", ["node", "a.js"]),
    (["dumb-init", "--rewrite", "15:2", "node", "a.js"], "dumb-init", ["node", "a.js"]),
    (["/bin/sh", "-c", "exec node --max-old-space-size=$HEAP a.js"], None,
     ["node", "--max-old-space-size=$HEAP", "a.js"]),
    (["docker-entrypoint.sh", "/bin/sh", "-c", "npm start"], None, ["npm", "start"]),
    (["npm", "run", "serve"], None, ["npm", "run", "serve"]),
    ([], None, []),
])
def test_effective_command(argv, init, command):
    got_init, _wrappers, got = F.effective_command(argv)
    assert (got_init, got) == (init, command)


@pytest.mark.parametrize("argv,env,expected", [
    (["node", "--max-old-space-size=512", "a.js"], {}, (512, "command", None)),
    (["node", "--max_old_space_size", "300", "a.js"], {}, (300, "command", None)),
    (["node", "a.js"], {"NODE_OPTIONS": {"value": "--enable-source-maps --max-old-space-size=2048"}},
     (2048, "NODE_OPTIONS", None)),
    (["node", "--max-old-space-size=128", "a.js"], {"NODE_OPTIONS": {"value": "--max-old-space-size=4096"}},
     (128, "command", None)),
    (["/bin/sh", "-c", "node --max-old-space-size=${HEAP_MB} a.js"], {}, (None, "command", "HEAP_MB")),
    (["node", "a.js"], {}, (None, None, None)),
])
def test_heap_limit(argv, env, expected):
    proc = F.run_process(argv, None)
    got = F.heap_limit(proc, env)
    assert (got["mb"], got["source"], got["from_env"]) == expected


def test_error_document_is_complete():
    doc = F.image_error_document("c" * 64, "podman", "command_failed", "image vanished", "localhost/x:1")
    _valid(doc)
    assert doc["error"] == {"code": "command_failed", "message": "image vanished"} and doc["image"] == "localhost/x:1"
