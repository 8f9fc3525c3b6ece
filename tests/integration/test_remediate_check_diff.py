"""``remediate --check --diff`` through ansible-playbook (issue 14, items 5 and 6).

One Dockerfile where one fix is declined (its start script runs nodemon with a configuration, so ``npm start`` is
not replaced) while the others apply: the rewrite task is ``changed`` with its diff shown, never ``skipping``
(the module's declined fixes were once returned under ``skipped``, which Ansible reads as a skipped task). A second
Dockerfile sits in an immutable directory (``chattr +i``): check mode records it as ``would_fail`` with the reason,
not ``planned``.
Nothing is written in either.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from harness import run_playbook

pytestmark = pytest.mark.integration

DOCKERFILE = "FROM node:20.11.1-bookworm\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD npm start\n"
# nodemon configured by package.json: its start script cannot be replaced by `node server.js`
PACKAGE = {"name": "app", "main": "server.js", "scripts": {"start": "nodemon server.js"},
           "nodemonConfig": {"watch": ["src"], "exec": "node --inspect server.js"}}


def _app(directory: Path) -> Path:
    directory.mkdir(parents=True)
    (directory / "package.json").write_text(json.dumps(PACKAGE))
    (directory / "Dockerfile").write_text(DOCKERFILE)
    return directory / "Dockerfile"


def test_check_diff_shows_a_partly_declined_rewrite_and_predicts_failure(tmp_path):
    srv = tmp_path / "srv"
    declined = _app(srv / "declined")
    locked = _app(srv / "locked")
    proc = subprocess.run(["chattr", "+i", str(locked.parent)], capture_output=True, text=True, check=False)
    immutable = proc.returncode == 0
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(f"app1 ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    (tmp_path / "out").mkdir()
    try:
        run = run_playbook("refarch.containers.remediate", inventory, tmp_path, {
            "refarch_scan_paths": [str(srv)], "refarch_evaluation_date": "2026-11-28",
            "refarch_report_dir": str(tmp_path / "report"), "refarch_remediation_outcomes_dir": str(tmp_path / "out"),
            "refarch_remediate_backup_dir": str(tmp_path / "backups"), "refarch_allow_incomplete": True},
            args=["--check", "--diff"])
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(locked.parent)], check=True)
    output = run.stdout + run.stderr
    marker = "TASK [refarch.containers.remediate : Rewrite the Dockerfile"
    rewrite = [t.split("\nTASK [")[0] for t in output.split(marker)[1:]]   # each rewrite task's own output
    assert len(rewrite) == 2, output[-4000:]
    by_path = {str(p): next(t for t in rewrite if f"--- before: {p}\n" in t) for p in (declined, locked)}
    task = by_path[str(declined)]
    assert "changed: [app1]" in task and "skipping" not in task, task[:3000]
    assert f"--- before: {declined}" in task and f"+++ after: {declined} (remediated)" in task, task[:3000]
    assert "+USER 1000" in task, task[:3000]
    outcomes = {o["path"]: o for o in json.loads((tmp_path / "out" / "app1.remediation.json").read_text())["outcomes"]}
    planned = outcomes[str(declined)]
    assert planned["status"] == "planned" and planned["changed"], planned
    assert "replace_npm_start" in {d["fix"] for d in planned["declined"]}, planned
    assert "skipped" not in planned
    assert declined.read_text() == DOCKERFILE and locked.read_text() == DOCKERFILE, "check mode wrote a file"
    if not immutable:
        pytest.skip(f"chattr +i is not possible here ({proc.stderr.strip()}); the would_fail half was not run")
    blocked = outcomes[str(locked)]
    assert blocked["status"] == "would_fail", blocked
    assert blocked["reason"].startswith("would fail: ") and f"the directory {locked.parent} is immutable" in \
        blocked["reason"], blocked
    assert "would_fail" in output and "changed: [app1]" in by_path[str(locked)], by_path[str(locked)][:2000]
