"""Node scope (plugins/module_utils/_node_scope.py): each signal and each counter-signal, for Dockerfile
targets (through the real facts builder), images and containers.
"""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from ansible_collections.refarch.containers.plugins.module_utils import _node_scope as ns
from ansible_collections.refarch.containers.plugins.module_utils._container_facts import container_facts
from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_facts import (
    dockerfile_facts,
    error_document,
)
from ansible_collections.refarch.containers.plugins.module_utils._image_facts import image_error_document, image_facts
from ansible_collections.refarch.containers.plugins.module_utils._shellcmd import node_installs, process_programs

REPO = Path(__file__).resolve().parents[4]
VALIDATOR = jsonschema.Draft202012Validator(json.loads((REPO / "policies/schema/facts.schema.json").read_text()))


def scope(text: str, package_json: bytes | None = None, target: str | None = None) -> dict:
    doc = dockerfile_facts("/srv/app/Dockerfile", text.encode(), package_json=package_json, target=target)
    errors = sorted(VALIDATOR.iter_errors(doc), key=str)
    assert not errors, errors[0]
    return doc["node_scope"]


def signals(result: dict) -> dict[str, bool | None]:
    return {e["signal"]: e["node"] for e in result["evidence"]}


# --------------------------------------------------------------------------- Node.js signals
@pytest.mark.parametrize("base", [
    "node:22-bookworm-slim", "docker.io/library/node:20", "node@sha256:" + "a" * 64,
    "registry.access.redhat.com/ubi9/nodejs-20", "registry.access.redhat.com/ubi8/nodejs-18-minimal",
    "quay.io/sclorg/nodejs-20-c9s", "gcr.io/distroless/nodejs22-debian12", "cgr.dev/chainguard/node:latest",
    "public.ecr.aws/docker/library/node:20", "cimg/node:20.1", "bitnami/node:20", "mhart/alpine-node:16",
    "mcr.microsoft.com/devcontainers/javascript-node:20",
])
def test_node_base_image_anywhere_in_the_chain(base):
    result = scope(f"FROM {base} AS base\nFROM base AS app\nCMD [\"./run\"]\n")
    assert result["classification"] == "node"
    assert signals(result)["node_base"] is True


@pytest.mark.parametrize("run, step", [
    ("apk add --no-cache nodejs npm", "apk add nodejs"),
    ("apt-get update && apt-get install -y --no-install-recommends nodejs", "apt-get install nodejs"),
    ("dnf module install -y nodejs:20/common", "dnf install nodejs:20/common"),
    ("yum install -y nodejs20", "yum install nodejs20"),
    ("microdnf install nodejs && microdnf clean all", "microdnf install nodejs"),
    ("apk add nodejs-current=21.1.0-r0", "apk add nodejs-current=21.1.0-r0"),
    (". $NVM_DIR/nvm.sh && nvm install 20", "nvm install"),
    ("n lts", "n lts"),
    ("npm i -g n && n install 20.11.1", "n install"),
    ("volta install node@20", "volta install node"),
    ("fnm install 20", "fnm install"),
    ("curl -fsSLO https://nodejs.org/dist/v20.11.1/node-v20.11.1-linux-x64.tar.xz && tar -xJf node-*.tar.xz",
     "Node.js download (nodejs.org/dist)"),
])
def test_node_installed_by_a_package_manager_or_version_manager(run, step):
    result = scope(f"FROM debian:12\nRUN {run}\nCMD [\"./start.sh\"]\n")
    assert result["classification"] == "node", result
    assert signals(result)["node_install"] is True
    assert node_installs({"value": [run], "heredocs": []})[0] == step


def test_node_install_in_a_heredoc_and_not_in_other_packages():
    assert node_installs({"value": ["<<EOF"], "heredocs": [{"content": "apk add nodejs\n"}]}) == ["apk add nodejs"]
    for run in ("apt-get install -y nodejs-doc python3", "pip install nodeenv-tools", "npm install",
                "echo node", "apk add --no-cache tini", "nano notes"):
        assert node_installs({"value": [run], "heredocs": []}) == [], run


def test_node_copied_from_a_node_image_or_stage():
    copied = scope("FROM debian:12\nCOPY --from=node:20-slim /usr/local/bin/node /usr/local/bin/\n"
                   "CMD [\"./start.sh\"]\n")
    assert copied["classification"] == "node" and signals(copied)["node_copy"] is True
    staged = scope("FROM node:20 AS n\nFROM debian:12\nCOPY --from=n /usr/local/bin/node /usr/local/bin/node\n"
                   "CMD [\"./start.sh\"]\n")
    assert staged["classification"] == "node" and signals(staged)["node_copy"] is True
    # build output of a node stage is not node
    output = scope("FROM node:20 AS n\nRUN npm run build\nFROM nginx:1.27\nCOPY --from=n /app/dist /usr/share/nginx\n")
    assert output["classification"] == "not_node"


@pytest.mark.parametrize("process", [
    'CMD ["node", "server.js"]', 'CMD ["npm", "start"]', "CMD yarn start", 'CMD ["pnpm", "run", "serve"]',
    'ENTRYPOINT ["npx", "serve"]', 'ENTRYPOINT ["/sbin/tini", "--"]\nCMD ["node", "a.js"]',
    'ENTRYPOINT ["docker-entrypoint.sh"]\nCMD ["node", "a.js"]', 'CMD ["sh", "-c", "exec node a.js"]',
    'CMD ["/bin/sh", "-c", "node migrate.mjs && (webapp & caddy run)"]', "CMD env NODE_ENV=production node a.js",
    'ENTRYPOINT ["tini", "-p", "SIGTERM", "--", "/usr/local/bin/node", "a.js"]',
])
def test_entrypoint_or_cmd_runs_node(process):
    result = scope(f"FROM mycorp/runtime:1\n{process}\n")
    assert result["classification"] == "node", result
    assert signals(result)["node_process"] is True


def test_process_programs():
    assert process_programs(["tini", "--", "node", "a.js"]) == ["node"]
    assert process_programs(["/bin/sh", "-c", "node a.mjs && (webapp-server & caddy run)"]) == [
        "node", "webapp-server", "caddy"]
    assert process_programs(["/bin/sh", "-c", "locust --headless 2>&1"]) == ["locust"]
    assert process_programs(["gosu", "app", "python", "x.py"]) == ["python"]
    assert process_programs([]) == []


def test_package_json_copied_in_is_weak_evidence():
    copied = scope("FROM mycorp/runtime:1\nCOPY package.json ./\nCMD [\"./start.sh\"]\n")
    assert copied["classification"] == "node" and signals(copied)["package_json"] is True
    context = scope("FROM mycorp/runtime:1\nCOPY . .\nCMD [\"./start.sh\"]\n", package_json=b'{"name": "a"}')
    assert context["classification"] == "node"
    # the same copy on a base of another runtime only makes it unknown (judged as Node.js, not certain)
    python = scope("FROM python:3.12\nCOPY package*.json ./\nCMD [\"python\", \"app.py\"]\n")
    assert python["classification"] == "unknown"
    # the context has no package.json: no evidence
    assert scope("FROM mycorp/runtime:1\nCOPY . .\nCMD [\"./start.sh\"]\n")["classification"] == "unknown"


# --------------------------------------------------------------------------- counter-signals
@pytest.mark.parametrize("text", [
    'FROM python:3.12-slim\nCOPY . .\nCMD ["python", "app.py"]\n',
    "FROM golang:1.22 AS b\nRUN go build -o /s .\nFROM gcr.io/distroless/static\nCOPY --from=b /s /s\n"
    'ENTRYPOINT ["/s"]\n',
    'FROM eclipse-temurin:21-jre\nCOPY app.jar /\nCMD ["java", "-jar", "/app.jar"]\n',
    "FROM mcr.microsoft.com/dotnet/runtime-deps:8.0\nCOPY app /app\nENTRYPOINT [\"/app/app\"]\n",
    "FROM alpine:3.20\nCOPY server /server\nCMD [\"/server\"]\n",
    "FROM scratch\nCOPY server /server\nCMD [\"/server\"]\n",
    "FROM registry.access.redhat.com/ubi9/ubi-minimal\nCOPY server /server\n",
    "FROM nginxinc/nginx-unprivileged:1.27\nCOPY site /usr/share/nginx/html\n",
])
def test_other_runtimes_and_os_images_are_not_node(text):
    result = scope(text)
    assert result["classification"] == "not_node", result
    assert False in signals(result).values()


def test_other_runtime_process_on_an_unknown_base():
    result = scope('FROM mycorp/base:1\nCMD ["gunicorn", "app:app"]\n')
    assert result == {"classification": "not_node", "evidence": [
        {"signal": "unknown_base", "node": None, "line": 1, "stage": 0,
         "detail": "mycorp/base:1 (not known to hold Node.js or not)"},
        {"signal": "other_process", "node": False, "line": 2, "stage": 0, "detail": "ENTRYPOINT/CMD runs gunicorn"}]}


def test_node_build_stage_served_by_caddy_is_not_node():
    text = ("FROM node:lts AS builder\nCOPY . .\nRUN npm ci && npm run build\n"
            "FROM caddy:2-alpine\nCOPY --from=builder /app/dist /srv\nEXPOSE 8080\n")
    result = scope(text, package_json=b'{"name": "web"}')
    assert result["classification"] == "not_node"
    assert signals(result) == {"other_base": False, "node_build_stage": None}
    # ... and its build stage, as a target, is Node.js
    assert scope(text, package_json=b'{"name": "web"}', target="builder")["classification"] == "node"


def test_unknown_when_nothing_is_known():
    assert scope("ARG BASE\nFROM ${BASE}\nCOPY . .\nCMD [\"./start.sh\"]\n")["classification"] == "unknown"
    assert scope("FROM mycorp/base:1\nCMD [\"./start.sh\"]\n")["classification"] == "unknown"


def test_node_evidence_wins_over_an_os_base():
    result = scope('FROM alpine:3.20\nRUN apk add nodejs\nCMD ["node", "a.js"]\n')
    assert result["classification"] == "node"
    assert signals(result) == {"other_base": False, "node_install": True, "node_process": True}


def test_evidence_is_bounded_one_per_signal():
    text = "FROM alpine:3.20\n" + "RUN apk add nodejs\n" * 500 + 'CMD ["node", "a.js"]\n'
    result = scope(text)
    assert [e["signal"] for e in result["evidence"]] == ["other_base", "node_install", "node_process"]


# --------------------------------------------------------------------------- targets
MULTI = ("FROM node:20 AS api\nCMD [\"node\", \"api.js\"]\n"
         "FROM python:3.12 AS worker\nCMD [\"python\", \"w.py\"]\n"
         "FROM api AS prod\nUSER node\n")


def test_target_plays_the_final_stage():
    last = dockerfile_facts("/srv/a/Dockerfile", MULTI.encode())
    assert last["target"] is None and last["final_stage"]["name"] == "prod"
    assert last["node_scope"]["classification"] == "node"
    worker = dockerfile_facts("/srv/a/Dockerfile", MULTI.encode(), target="worker")
    assert worker["target"] == "worker" and worker["final_stage"]["index"] == 1
    assert worker["analysis"]["final_chain"] == [1]
    assert worker["node_scope"]["classification"] == "not_node"
    assert worker["final_stage"]["process"]["argv"] == ["python", "w.py"]
    api = dockerfile_facts("/srv/a/Dockerfile", MULTI.encode(), target="API")  # stage names are case-insensitive
    assert api["final_stage"]["index"] == 0 and api["node_scope"]["classification"] == "node"


def test_unknown_target_is_an_error_never_a_pass():
    doc = dockerfile_facts("/srv/a/Dockerfile", MULTI.encode(), target="nope")
    assert doc["error"] == {"code": "unknown_target",
                            "message": "the build target 'nope' is not a stage of this Dockerfile"}
    assert doc["final_stage"] is None and doc["analysis"] is None
    assert doc["node_scope"]["classification"] == "unknown"
    assert not list(VALIDATOR.iter_errors(doc))
    secret = dockerfile_facts("/srv/a/Dockerfile", MULTI.encode(), target="-----BEGIN KEY")
    assert "BEGIN" not in secret["error"]["message"] and "14-character" in secret["error"]["message"]


def test_error_documents_are_unknown():
    doc = error_document("/srv/a/Dockerfile", "binary", "binary file")
    assert doc["node_scope"]["classification"] == "unknown" and doc["target"] is None
    assert not list(VALIDATOR.iter_errors(doc))


# --------------------------------------------------------------------------- images and containers
def _inspect(env=(), cmd=None, entrypoint=None, labels=None) -> dict:
    return {"Id": "sha256:" + "1" * 64, "RepoTags": ["localhost/a:1"], "Size": 1,
            "Config": {"Env": list(env), "Cmd": cmd, "Entrypoint": entrypoint, "Labels": labels or {}}}


def test_image_node_version_env_label_probe_and_process():
    env = image_facts(_inspect(["NODE_VERSION=22.11.0", "PATH=/usr/bin"], ["/app/server"]))
    assert env["node_scope"]["classification"] == "node" and signals(env["node_scope"])["node_version_env"]
    label = image_facts(_inspect(cmd=["./run"], labels={"org.nodejs.version": "20.1.0"}))
    assert signals(label["node_scope"]) == {"node_version_label": True}
    probe = image_facts(_inspect(cmd=["./run"]), probe={"version": "20.11.1", "method": "podman run", "error": None})
    assert probe["node_scope"]["classification"] == "node" and signals(probe["node_scope"])["node_binary"]
    process = image_facts(_inspect(entrypoint=["tini", "--"], cmd=["node", "a.js"]))
    assert signals(process["node_scope"]) == {"node_process": True}
    base_label = {"org.opencontainers.image.base.name": "docker.io/library/node:20"}
    base = image_facts(_inspect(cmd=["./run"], labels=base_label))
    assert base["node_scope"]["classification"] == "node"


def test_image_counter_signals_and_unknown():
    python = image_facts(_inspect(["PYTHON_VERSION=3.12.1"], ["python3", "app.py"]))
    assert python["node_scope"] == {"classification": "not_node", "evidence": [
        {"signal": "other_process", "node": False, "line": None, "stage": None,
         "detail": "the command runs python3"}]}
    assert image_facts(_inspect(cmd=["/server"]))["node_scope"] == {"classification": "unknown", "evidence": []}
    failed = image_facts(_inspect(cmd=["/server"]), probe={"version": None, "method": "podman run", "error": "x"})
    assert failed["node_scope"]["classification"] == "unknown"  # a failed probe proves nothing
    error = image_error_document("sha256:" + "2" * 64, "podman", "inspect_failed", "x")
    assert error["node_scope"]["classification"] == "unknown"
    for doc in (python, error):
        assert not list(VALIDATOR.iter_errors(doc))


def test_container_reads_its_process_and_its_image():
    image = image_facts(_inspect(["NODE_VERSION=22.11.0"], ["/app/server"]))
    inspect = {"Id": "c" * 64, "Name": "/web", "Config": {"Env": [], "Image": "localhost/a:1"},
               "Path": "/app/server", "Args": [], "HostConfig": {}, "State": {"Running": True}}
    inherited = container_facts(inspect, image=image)
    assert inherited["node_scope"]["classification"] == "node"
    assert signals(inherited["node_scope"]) == {"image": True}
    nginx = container_facts(dict(inspect, Path="nginx", Args=["-g", "daemon off;"]))
    assert nginx["node_scope"]["classification"] == "not_node"
    node = container_facts(dict(inspect, Path="/usr/local/bin/node", Args=["a.js"]))
    assert node["node_scope"]["classification"] == "node"
    for doc in (inherited, nginx):
        assert not list(VALIDATOR.iter_errors(doc))


def test_base_family():
    assert ns.base_family({"scratch": True})[0] is False
    assert ns.base_family({"unresolved": True, "raw": "${B}"})[0] is None
    assert ns.base_family(None) == (None, "no base image")
    assert ns.base_family({"repository": "library/nodered-ish", "resolved": "x"})[0] is None
    assert ns.base_family({"repository": "mycorp/node-runtime", "resolved": "x"})[0] is True


def test_decide():
    def ev(signal, node):
        return {"signal": signal, "node": node}
    assert ns.decide([]) == "unknown"
    assert ns.decide([ev("package_json", True)]) == "node"
    assert ns.decide([ev("package_json", True), ev("other_base", False)]) == "unknown"
    assert ns.decide([ev("node_base", True), ev("other_process", False)]) == "node"
    assert ns.decide([ev("other_base", False), ev("node_build_stage", None)]) == "not_node"


def test_evidence_details_are_bounded():
    long_version = "22." + "1" * 5000
    doc = image_facts(_inspect([f"NODE_VERSION={long_version}"], ["/server"]))
    (evidence,) = doc["node_scope"]["evidence"]
    assert len(evidence["detail"]) == 300 and evidence["detail"].endswith("...")


@pytest.mark.parametrize("text", [
    "FROM debian:12\nCOPY --from=node:20-slim /usr/local /usr/local\nCMD [\"./start.sh\"]\n",
    "FROM node:20 AS n\nFROM debian:12\nCOPY --from=n /usr/local/bin /usr/local/bin\nCMD [\"./start.sh\"]\n",
    "FROM debian:12\nADD node-v20.11.1-linux-x64.tar.xz /usr/local/\nCMD [\"./start.sh\"]\n",
    "FROM debian:12\nADD https://nodejs.org/dist/v20.11.1/node-v20.11.1-linux-x64.tar.xz /tmp/\n",
    "FROM cimg/python:3.12-node\nCMD [\"./start.sh\"]\n",
])
def test_node_brought_in_without_a_package_manager(text):
    assert scope(text)["classification"] == "node"


def test_usr_local_of_a_stage_that_is_not_node_is_not_node():
    text = "FROM golang:1.22 AS g\nFROM debian:12\nCOPY --from=g /usr/local/bin /usr/local/bin\nCMD [\"./s\"]\n"
    assert scope(text)["classification"] == "not_node"


def test_no_dockerfile_of_the_node_corpus_is_read_as_not_node(corpus_dir):
    """../shared/corpus holds Node.js Dockerfiles only: a not_node there is a false negative (a Node.js image
    the default mode would not judge). Today all 114 are node."""
    counts = {"node": 0, "not_node": 0, "unknown": 0}
    wrong = []
    for case in sorted(p for p in corpus_dir.iterdir() if (p / "Dockerfile").is_file()):
        package = case / "package.json"
        doc = dockerfile_facts(str(case / "Dockerfile"), (case / "Dockerfile").read_bytes(),
                               package_json=package.read_bytes() if package.is_file() else None)
        counts[doc["node_scope"]["classification"]] += 1
        if doc["node_scope"]["classification"] == "not_node":
            wrong.append((case.name, doc["node_scope"]["evidence"]))
    assert sum(counts.values()) >= 100
    assert not wrong, wrong
