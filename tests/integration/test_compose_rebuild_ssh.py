"""A compose project on a real SSH host: remediation with a rebuild finds the image from compose.yaml.

One sshd host on loopback holds a compose project whose service builds ``docker/api.Dockerfile`` (a name the
default patterns would also find, in a subfolder) from the project root (context ``.``), target ``runtime``,
with a build argument, and names its image. The original image is built with podman as compose would
(``-f docker/api.Dockerfile --target runtime --build-arg ...`` from the project root). Then
``refarch.containers.remediate`` runs with ``refarch_rebuild=true`` and **no** ``refarch_image_map``:

* the scan evaluates the declared build (target, context, the root ``.dockerignore``), and the report names it;
* the remediation finds the image name in compose.yaml, rebuilds it from the declared context and target,
  verifies it and promotes it; the old image keeps its ``-refarch-previous`` tag.
* the target is not the last stage: the fixes act on it and leave the last stage alone; compose.yaml reaches
  its build through an anchor and a merge key; another compose file that is not YAML makes the run incomplete.
* a second service builds the last stage (``debug``) of the same Dockerfile without naming an image: it is a
  second target, the rewrite is for the build that names an image, and the outcome names the debug build as not
  remediated, with its open rules, instead of claiming them.

Images are tagged under ``localhost/refarch-compose-test/`` and removed at teardown.
"""
from __future__ import annotations

import functools
import importlib.util
import json
import subprocess
import sys

import pytest
from ansible_collections.refarch.containers.plugins.module_utils._image_facts import image_facts
from harness import REPO, run_playbook
from sshhosts import SshEstate

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PREFIX = "localhost/refarch-compose-test"
IMAGE = f"{PREFIX}/api:1"
EVALUATION_DATE = "2025-06-01"

DOCKERFILE = """\
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./

FROM node:20-bookworm-slim AS runtime
ARG APP_PORT=3000
WORKDIR /app
COPY --from=deps /app/package.json ./
COPY server.js ./
ENV PORT=${APP_PORT}
EXPOSE ${APP_PORT}
CMD npm start
"""
#: the last stage, which the declared build (target runtime) does not build: the fixes leave it alone
DEBUG_STAGE = """
FROM runtime AS debug
CMD ["node", "--inspect=0.0.0.0:9229", "server.js"]
"""
#: an extension field, an anchor and a merge key, as compose reads them
COMPOSE = f"""\
x-build: &build
  context: .
  dockerfile: docker/api.Dockerfile
services:
  api:
    build:
      <<: *build
      target: runtime
      args:
        APP_PORT: "8080"
    image: {IMAGE}
    x-team: shop
  api-debug:
    build:
      <<: *build
      target: debug
  db:
    image: postgres:16
"""
SERVER_JS = "require('http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT || 3000));\n"


def _run(argv: list[str], timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n"
                             f"{proc.stderr[-3000:]}")
    return proc


def _image_id(ref: str) -> str:
    return _load_support().image_id(ref)


def _remove_images() -> None:
    refs = _run(["podman", "images", "--format", "{{.Repository}}:{{.Tag}}"], check=False).stdout.split()
    for ref in refs:
        if ref.startswith(PREFIX + "/"):
            _run(["podman", "rmi", "--force", ref], check=False)


@functools.cache
def _load_support():
    spec = importlib.util.spec_from_file_location("refarch_image_support_compose",
                                                  REPO / "tests" / "images" / "support.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def compose_lab(tmp_path_factory):
    _load_support().require_rebuild_lab()
    work = tmp_path_factory.mktemp("compose")
    estate = SshEstate(work / "estate")
    try:
        host = estate.add_host("web1")
        inventory = estate.write_inventory(work / "inventory.json")
        project = host.root / "srv" / "shop"
        (project / "docker").mkdir(parents=True)
        (project / "docker" / "api.Dockerfile").write_text(DOCKERFILE + DEBUG_STAGE)
        (project / "compose.yaml").write_text(COMPOSE)
        (host.root / "srv" / "broken").mkdir()
        (host.root / "srv" / "broken" / "compose.yaml").write_text("services: [\n")  # not YAML: the run is incomplete
        (project / "server.js").write_text(SERVER_JS)
        (project / "package.json").write_text(json.dumps({"name": "shop", "version": "1.0.0",
                                                          "scripts": {"start": "node server.js"}}) + "\n")
        (project / "package-lock.json").write_text(json.dumps({"name": "shop", "lockfileVersion": 3,
                                                               "packages": {}}) + "\n")
        (project / ".dockerignore").write_text("node_modules\n.git\n.cache\n")
        # a .dockerignore beside the Dockerfile that BuildKit does not use for this context
        (project / "docker" / ".dockerignore").write_text("nothing-useful\n")
        _run(["podman", "build", "--isolation", "chroot", "--pull=never", "--quiet", "-t", IMAGE,
              "-f", str(project / "docker" / "api.Dockerfile"), "--target", "runtime",
              "--build-arg", "APP_PORT=8080", str(project)])
        original = _image_id(IMAGE)
        extra = {"refarch_scan_paths": [str(host.root / "srv")], "refarch_report_dir": str(work / "report"),
                 "refarch_evaluation_date": EVALUATION_DATE, "refarch_fixes": ["NRA001", "NRA010", "NRA011"],
                 "refarch_rebuild": True, "refarch_remediation_outcomes_dir": str(work / "out"),
                 "refarch_remediate_backup_dir": str(work / "backups"), "refarch_allow_incomplete": True}
        (work / "out").mkdir()
        run = run_playbook(str(REPO / "playbooks" / "remediate.yml"), inventory, work, extra)
        yield {"run": run, "work": work, "project": project, "original": original}
    finally:
        estate.stop()
        _remove_images()


def test_compose_image_is_found_rebuilt_from_its_declared_build_and_promoted(compose_lab):
    run, work, project = compose_lab["run"], compose_lab["work"], compose_lab["project"]
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
    outcomes = json.loads((work / "out" / "web1.remediation.json").read_text())["outcomes"]
    dockerfile = str(project / "docker" / "api.Dockerfile")
    [outcome] = [o for o in outcomes if o["path"] == dockerfile]
    # the image name came from compose.yaml: no refarch_image_map was given
    assert outcome["image"] == IMAGE
    assert outcome["status"] == "promoted", outcome
    # the fixes acted on the declared target, an earlier stage than the last one, which they left alone
    # (npm start: the start script is read from the declared context's package.json, not the docker/ folder)
    assert {"NRA001", "NRA010", "NRA011"} <= set(outcome["rules_fixed"]), outcome
    assert (project / "docker" / "api.Dockerfile").read_text().endswith(DEBUG_STAGE)
    # the other declared build of this Dockerfile: named, with the rules open on it at the scan, never claimed
    [other] = outcome["other_builds"]
    assert other["build"] == "target debug: api-debug in compose.yaml" and other["rules"], outcome
    assert other["rules"] == sorted(other["rules"]) and "NRA000" not in other["rules"]
    assert "declared build target debug: api-debug in compose.yaml not remediated" in run.stdout
    previous = _image_id(IMAGE + "-refarch-previous")
    assert previous == compose_lab["original"], "the old image keeps the -refarch-previous tag"
    new = _image_id(IMAGE)
    assert new and new != compose_lab["original"]
    facts = image_facts(json.loads(_run(["podman", "image", "inspect", IMAGE]).stdout)[0], "podman")
    assert facts["user"]["is_root"] is False
    # the rebuild used the declared build argument: the port is 8080, not the ARG default 3000
    assert [p["port"] for p in facts["exposed_ports"]] == [8080]


def test_report_names_the_declared_build(compose_lab):
    report = json.loads((compose_lab["work"] / "report" / "report.json").read_text())
    project = compose_lab["project"]
    path = str(project / "docker" / "api.Dockerfile")
    targets = {t["build"]["target"]: t for t in report["hosts"]["web1"]["targets"] if t.get("path") == path}
    assert sorted(targets) == ["debug", "runtime"]  # one target per declared build
    assert targets["debug"]["build"]["image"] is None
    [entry] = [e for e in report["hosts"]["web1"]["remediation"] if e["path"] == path]
    assert [o["build"] for o in entry["other_builds"]] == ["target debug: api-debug in compose.yaml"]
    build = targets["runtime"]["build"]
    assert build["target"] == "runtime" and build["context"] == str(project) and build["image"] == IMAGE
    assert build["declared_by"] == [{"path": str(project / "compose.yaml"), "kind": "compose", "name": "api"}]
    html = (compose_lab["work"] / "report" / "report.html").read_text()
    assert "target runtime" in html and f"{project / 'compose.yaml'} (service api)" in html
    # a descriptor that cannot be parsed makes the run incomplete (accepted here with refarch_allow_incomplete)
    broken = str(project.parent / "broken" / "compose.yaml")
    assert report["summary"]["complete"] is False
    assert [r["target"] for r in report["summary"]["incomplete_reasons"] if r["reason"] == "descriptor_unusable"] \
        == [broken]
