"""Fail closed: a run that could not check everything never exits 0 (issue 14, items 1 and 4).

Each case runs the real ``scan`` or ``remediate`` playbook through ``ansible-playbook`` and asserts
its exit status, the report's ``summary.complete`` / ``incomplete_reasons`` and the gate's one
message; with ``refarch_allow_incomplete: true`` the same run exits 0 and the report still says
incomplete. Runs are grouped so that one playbook run covers several faults:

* SSH estate (one run, then again with ``refarch_allow_incomplete: true``): a host whose Python
  prints garbage and exits 1 (its stderr kept in the report, bounded and redacted) and a good host.
* local: a host whose waiver file is invalid YAML and one whose waiver file is a directory (the
  settings check stops the run before any host is touched); ``refarch_engine: opa`` with nothing
  listening at the URL; ``refarch_embedded_backend: regorus`` with the binding shadowed by a
  module that raises ImportError (PYTHONPATH); a policy directory whose Rego does not compile.
* remediation (local, root): an immutable Dockerfile (``chattr +i``) and a rebuild that times out
  and is rolled back (podman, a tiny imported base image).

The rows go to the "fail-open" section of docs/hostile-and-faults.md.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "tests" / "hostile"))

from estate_fixtures import root_estate  # noqa: E402
from playrun import run_playbook  # noqa: E402
from test_build_faults import _kill_sleepers, _make_base  # noqa: E402 - the same tiny base image

pytestmark = [pytest.mark.integration]

APP = 'FROM node:20.11.1-bookworm\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD npm start\n'
PACKAGE = '{"name": "app", "main": "server.js", "scripts": {"start": "node server.js"}}\n'
TOKEN = "ghp_a8K2mQ9zX4vB7nL1pR6sT3wY5uE0iO2hJ4kM"   # a secret the broken interpreter prints on stderr
BROKEN_PYTHON = f"""#!/bin/sh
echo "this is not JSON: the interpreter is broken"
echo "fatal: cannot load the standard library (token {TOKEN})" >&2
i=0; while [ $i -lt 400 ]; do echo "noise line $i of a long traceback" >&2; i=$((i+1)); done
exit 1
"""


def _app(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "Dockerfile").write_text(APP)
    (root / "package.json").write_text(PACKAGE)
    (root / "server.js").write_text("require('http').createServer().listen(8080)\n")
    return root / "Dockerfile"


def _report(work: Path) -> dict | None:
    path = work / "report" / "report.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _gate(run: subprocess.CompletedProcess) -> str:
    """The gate's one message (the fatal line of the report role's last task)."""
    for line in (run.stdout + run.stderr).splitlines():
        if "run incomplete:" in line:
            return line[line.index("run incomplete:"):].split('"', 1)[0]
    return ""


def _reasons(report: dict) -> set[tuple[str, str]]:
    return {(r["reason"], r["host"]) for r in report["summary"]["incomplete_reasons"]}


def _stats_and_callback(run: subprocess.CompletedProcess) -> str:
    recap = run.stdout.split("PLAY RECAP", 1)[-1]
    return " ".join(line.split(":", 1)[0].strip() + ":" + line.split("failed=")[1].split()[0]
                    for line in recap.splitlines() if "failed=" in line)


# --------------------------------------------------------------------------- SSH estate


@pytest.fixture(scope="module")
def estate_runs(tmp_path_factory):
    work = tmp_path_factory.mktemp("fail-open-ssh")
    python = work / "broken-python"
    python.write_text(BROKEN_PYTHON)
    python.chmod(0o755)
    with root_estate("refarch-failopen-") as ssh:
        hosts = {name: ssh.add_host(name) for name in ("good1", "pybroken1")}
        for host in hosts.values():
            _app(host.root / "srv" / "app")
            host.vars["refarch_scan_paths"] = [str(host.root / "srv")]
        hosts["pybroken1"].vars["ansible_python_interpreter"] = str(python)
        inventory = ssh.write_inventory(work / "inventory.json")
        runs = {}
        # strict: with the findings gate too (one message names both); allowed: partial runs accepted
        # check: the strict run in check mode (nothing written: the gate must not point at files)
        for label, extra, args in (("strict", {"refarch_fail_on": "info"}, []),
                                   ("allowed", {"refarch_allow_incomplete": True}, []),
                                   ("check", {"refarch_fail_on": "info"}, ["--check"])):
            run_dir = work / label
            run_dir.mkdir()
            run = run_playbook("refarch.containers.scan", inventory, run_dir, timeout=300, env_extra={
                "ANSIBLE_CALLBACKS_ENABLED": "refarch.containers.refarch_summary"}, extra_vars={
                "refarch_report_dir": str(run_dir / "report"), "refarch_evaluation_date": "2026-11-28", **extra},
                args=args)
            runs[label] = (run, _report(run_dir), run_dir)
        yield runs


def test_broken_interpreter_fails_the_run_and_keeps_its_stderr(open_case, estate_runs):
    c = open_case("scan: a managed host whose Python prints garbage and exits 1",
                  "rc != 0; report written, host failed (host_failed) with its stderr kept (bounded, redacted); "
                  "the gate's message names host_failed")
    run, report, _work = estate_runs["strict"]
    assert report is not None, run.stdout[-4000:] + run.stderr[-2000:]
    host = report["hosts"]["pybroken1"]
    stderr = (host.get("evidence") or {}).get("stderr", "")
    c.see(f"rc={run.returncode}; status={host['status']}, reason={host.get('reason')}; stderr kept: "
          f"{len(stderr)} chars, token shown={TOKEN in stderr}; gate: {_gate(run)[:200]}")
    assert run.returncode != 0
    assert host["status"] == "failed" and host.get("reason") == "host_failed", host
    assert "cannot load the standard library" in stderr and "[... cut:" in stderr, stderr[-300:]
    assert TOKEN not in stderr and TOKEN not in run.stdout and TOKEN not in run.stderr
    assert ("host_failed", "pybroken1") in _reasons(report)
    assert "host_failed (pybroken1)" in _gate(run)


def test_estate_report_formats_tell_the_same_story(open_case, estate_runs):
    c = open_case("scan: incomplete estate, every output",
                  "report.json complete=false, SARIF executionSuccessful=false with notifications, JUnit errors, "
                  "HTML banner, text summary and callback say INCOMPLETE; recap shows the gate's failure")
    run, report, work = estate_runs["strict"]
    assert report is not None
    summary = report["summary"]
    sarif = json.loads((work / "report" / "report.sarif").read_text())["runs"][0]["invocations"][0]
    junit = (work / "report" / "report.junit.xml").read_text()
    html = (work / "report" / "report.html").read_text()
    c.see(f"complete={summary['complete']}, by reason={summary['incomplete_by_reason']}; "
          f"SARIF executionSuccessful={sarif['executionSuccessful']}; recap {_stats_and_callback(run)}")
    assert summary["complete"] is False and summary["hosts_by_status"]["ok"] >= 1
    assert report["hosts"]["good1"]["status"] == "ok" and report["hosts"]["good1"]["targets"]
    assert sarif["executionSuccessful"] is False
    assert any(n["descriptor"]["id"] == "host-failed" for n in sarif["toolExecutionNotifications"])
    assert 'errors="0"' not in junit.split("\n", 2)[1]  # <testsuites ... errors="N">
    assert '<section id="incomplete">' in html
    assert "Run: INCOMPLETE (" in run.stdout  # the text summary and the refarch_summary callback
    assert "localhost                  : ok=" in run.stdout and "failed=1" in run.stdout.split("localhost")[-1]
    # the findings gate (refarch_fail_on: info) is named in the same message as the incomplete run
    assert "open finding(s) at or above 'info'" in next(
        line for line in run.stdout.splitlines() if "run incomplete:" in line)


def test_check_mode_gate_fails_and_points_at_no_file(open_case, estate_runs):
    c = open_case("scan --check: incomplete estate with the findings gate",
                  "rc != 0 as in a real run (same reasons, same findings count); nothing written; the gate's "
                  "message says no report was written instead of naming files that do not exist")
    run, report, work = estate_runs["check"]
    strict_gate = _gate(estate_runs["strict"][0])
    gate = _gate(run)
    c.see(f"rc={run.returncode}; report dir exists={(work / 'report').exists()}; gate: {gate[:240]}")
    assert run.returncode != 0 and report is None and not (work / "report").exists()
    assert "host_failed (pybroken1)" in gate
    assert gate.count("not written: check mode") == 2, gate  # the incomplete part and the findings part
    assert str(work / "report") not in gate
    # the same count of open findings as the real run
    count = re.search(r"(\d+) open finding\(s\) at or above 'info'", gate)
    assert count is not None and f"{count.group(1)} open finding(s) at or above 'info'" in strict_gate


def test_allow_incomplete_exits_zero_and_still_says_incomplete(open_case, estate_runs):
    c = open_case("scan: the same broken host with refarch_allow_incomplete: true",
                  "rc 0 (the partial run is accepted explicitly); the report still says complete=false, "
                  "with the same reasons")
    run, report, _work = estate_runs["allowed"]
    strict_report = estate_runs["strict"][1]
    assert report is not None, run.stdout[-4000:] + run.stderr[-2000:]
    c.see(f"rc={run.returncode}; complete={report['summary']['complete']}, "
          f"by reason={report['summary']['incomplete_by_reason']}")
    assert run.returncode == 0, run.stdout[-4000:]
    assert report["summary"]["complete"] is False
    assert report["summary"]["incomplete_by_reason"] == strict_report["summary"]["incomplete_by_reason"]
    assert "Run: INCOMPLETE (host_failed 1)" in run.stdout and not _gate(run)


# --------------------------------------------------------------------------- local: engines


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    work = tmp_path_factory.mktemp("fail-open-local")
    _app(work / "srv" / "app")
    inventory = work / "inventory.ini"
    inventory.write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    return work, inventory


def _local_scan(local, label: str, extra: dict, env: dict | None = None):
    work, inventory = local
    run_dir = work / label
    run_dir.mkdir()
    run = run_playbook("refarch.containers.scan", inventory, run_dir, timeout=300, env_extra=env, extra_vars={
        "refarch_scan_paths": [str(work / "srv")], "refarch_report_dir": str(run_dir / "report"),
        "refarch_evaluation_date": "2026-11-28", **extra})
    return run, _report(run_dir)


def test_unusable_waiver_files_stop_the_run(open_case, local):
    c = open_case("scan: a host's waiver file is invalid YAML, another's is a directory",
                  "rc != 0 before any host is touched (never the findings without the waivers); one message "
                  "names refarch_waivers for each host")
    work, _inventory = local
    bad_yaml = work / "waivers-bad.yml"
    bad_yaml.write_text("waivers: [\n  - rule: NRA001\n    reason: {unclosed\n")
    waiver_dir = work / "waivers-dir.yml"
    waiver_dir.mkdir()
    inventory = work / "inventory-waivers.ini"
    inventory.write_text(f"yaml1 ansible_connection=local ansible_python_interpreter={sys.executable} "
                         f"refarch_waivers={bad_yaml}\n"
                         f"dir1 ansible_connection=local ansible_python_interpreter={sys.executable} "
                         f"refarch_waivers={waiver_dir}\n")
    run, report = _local_scan((work, inventory), "waivers", {})
    output = run.stdout + run.stderr
    message = next((line for line in output.splitlines() if "refarch_waivers" in line and "FAILED" in line), "")
    if report is None:
        c.see(f"rc={run.returncode}; no report, nothing run on any host: {message[:260]}")
    else:
        c.see(f"rc={run.returncode}; report: {report['summary']['incomplete_by_reason']}; gate: {_gate(run)[:200]}")
        assert {("waivers_unusable", "yaml1"), ("waivers_unusable", "dir1")} <= _reasons(report)
    assert run.returncode != 0
    assert "invalid YAML" in message and "(set for host yaml1)" in message, output[-3000:]
    assert "not a regular file (set for host dir1)" in message


def test_opa_server_not_listening(open_case, local):
    c = open_case("scan: refarch_engine opa with no OPA server at the URL",
                  "rc != 0; report written, the host failed with engine_failure; message names engine_failure; "
                  "with refarch_allow_incomplete: [engine_failure] rc 0 and still incomplete")
    url = f"http://127.0.0.1:{_free_port()}"
    run, report = _local_scan(local, "opa", {"refarch_engine": "opa", "refarch_opa_url": url,
                                             "refarch_opa_timeout": 2})
    assert report is not None, run.stdout[-4000:] + run.stderr[-2000:]
    host = report["hosts"]["localhost"]
    c.see(f"rc={run.returncode}; status={host['status']}, reason={host.get('reason')}; gate: {_gate(run)[:200]}")
    assert run.returncode != 0
    assert host["status"] == "failed" and host.get("reason") == "engine_failure", host
    assert report["summary"]["complete"] is False and report["summary"]["incomplete_by_reason"] == {"engine_failure": 1}
    assert "engine_failure (localhost)" in _gate(run)
    accepted, again = _local_scan(local, "opa-accepted", {"refarch_engine": "opa", "refarch_opa_url": url,
                                                          "refarch_opa_timeout": 2,
                                                          "refarch_allow_incomplete": ["engine_failure"]})
    c.see(f"accepted: rc={accepted.returncode}, complete={again and again['summary']['complete']}")
    assert accepted.returncode == 0, accepted.stdout[-3000:]
    assert again["summary"]["complete"] is False


def test_regorus_not_importable(open_case, local, tmp_path):
    c = open_case("scan: refarch_embedded_backend regorus and the binding not importable on the controller",
                  "rc != 0; report written, engine_failure naming refarch_regorus")
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "refarch_regorus.py").write_text("raise ImportError('no refarch_regorus wheel on this controller')\n")
    run, report = _local_scan(local, "regorus", {"refarch_embedded_backend": "regorus"},
                              env={"PYTHONPATH": f"{shadow}:{os.environ.get('PYTHONPATH', '')}".rstrip(":")})
    assert report is not None, run.stdout[-4000:] + run.stderr[-2000:]
    host = report["hosts"]["localhost"]
    c.see(f"rc={run.returncode}; status={host['status']}, reason={host.get('reason')}, "
          f"message={host['message'][:100]!r}")
    assert run.returncode != 0
    assert host["status"] == "failed" and host.get("reason") == "engine_failure", host
    assert "refarch_regorus" in host["message"]
    assert "engine_failure (localhost)" in _gate(run)


def test_policy_that_does_not_compile(open_case, local, tmp_path):
    c = open_case("scan: refarch_policy_paths holds a Rego file that does not compile",
                  "rc != 0; report written, the host failed with policy_unusable (never evaluated without it)")
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "broken.rego").write_text("package refarch.custom\n\nimport rego.v1\n\ndeny contains msg if {\n"
                                          "  msg := \n}\n")
    run, report = _local_scan(local, "policy", {"refarch_policy_paths": [str(policies)]})
    assert report is not None, run.stdout[-4000:] + run.stderr[-2000:]
    host = report["hosts"]["localhost"]
    c.see(f"rc={run.returncode}; status={host['status']}, reason={host.get('reason')}; gate: {_gate(run)[:200]}")
    assert run.returncode != 0
    assert host["status"] == "failed" and host.get("reason") == "policy_unusable", host
    assert host["targets"] == []
    assert "policy_unusable (localhost)" in _gate(run)


# --------------------------------------------------------------------------- remediation

BASE = "localhost/refarch-faults/base:1"   # tests/faults/test_build_faults.py imports it (dash and sleep)
SLOW = ("FROM localhost/refarch-faults/base:1\nRUN sleep 617.25\nCOPY package.json server.js ./\n"
        "CMD npm start\n")


@pytest.fixture(scope="module")
def remediation(tmp_path_factory):
    if os.geteuid() != 0 or not shutil.which("chattr"):
        pytest.skip("needs root and chattr")
    work = tmp_path_factory.mktemp("fail-open-remediate")
    locked = _app(work / "srv" / "locked")
    if subprocess.run(["chattr", "+i", str(locked)], check=False, capture_output=True).returncode != 0:
        pytest.skip("the filesystem of the test directory has no immutable attribute")
    image_map = {}
    podman = shutil.which("podman")
    if podman:
        if subprocess.run([podman, "image", "exists", BASE], check=False).returncode != 0:
            _make_base(podman, tmp_path_factory.mktemp("base"))
        slow = _app(work / "srv" / "slow")
        slow.write_text(SLOW)
        subprocess.run([podman, "tag", BASE, "localhost/refarch-failopen/slow:1"], check=True)
        image_map[str(slow)] = "localhost/refarch-failopen/slow:1"
    inventory = work / "inventory.ini"
    inventory.write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    try:
        run = run_playbook(str(REPO / "playbooks" / "remediate.yml"), inventory, work, timeout=600, extra_vars={
            "refarch_scan_paths": [str(work / "srv")], "refarch_report_dir": str(work / "report"),
            "refarch_evaluation_date": "2026-11-28", "refarch_fixes": "all", "refarch_rebuild": bool(image_map),
            "refarch_image_map": image_map, "refarch_build_timeout": 3, "refarch_build_poll": 1,
            "refarch_build_engine": "podman", "refarch_remediate_backup_dir": str(work / "backups")})
        yield {"run": run, "report": _report(work), "locked": locked, "podman": podman, "work": work}
    finally:
        subprocess.run(["chattr", "-i", str(locked)], check=False)
        if podman:
            subprocess.run([podman, "untag", "localhost/refarch-failopen/slow:1", "localhost/refarch-failopen/slow:1"],
                           check=False, capture_output=True)  # that name only
            _kill_sleepers()  # the timed-out build's RUN step, found by its command line


def _outcome(report: dict, name: str) -> dict:
    entries = report["hosts"]["localhost"].get("remediation") or []
    return next((e for e in entries if e["path"].endswith(f"/{name}/Dockerfile")), {})


def test_immutable_dockerfile_fails_the_remediation_run(open_case, remediation):
    c = open_case("remediate: a Dockerfile that cannot be written (chattr +i)",
                  "rc != 0; report written; that Dockerfile failed or refused (remediation_failed/refused), "
                  "unchanged; recap shows the gate's failure")
    run, report = remediation["run"], remediation["report"]
    assert report is not None, run.stdout[-4000:] + run.stderr[-2000:]
    entry = _outcome(report, "locked")
    c.see(f"rc={run.returncode}; status={entry.get('status')}, reason={str(entry.get('reason'))[:100]!r}; "
          f"gate: {_gate(run)[:200]}; recap {_stats_and_callback(run)}")
    assert run.returncode != 0
    assert entry.get("status") in ("failed", "refused"), entry
    assert remediation["locked"].read_text() == APP
    assert (f"remediation_{entry['status']}", "localhost") in _reasons(report)
    assert f"remediation_{entry['status']} (localhost:" in _gate(run)


def test_rolled_back_rebuild_fails_the_remediation_run(open_case, remediation):
    c = open_case("remediate: the rebuild times out and the Dockerfile is rolled back",
                  "rc != 0; report says remediation_rolled_back for it; Dockerfile restored")
    if not remediation["podman"]:
        pytest.skip("needs podman")
    run, report = remediation["run"], remediation["report"]
    assert report is not None
    entry = _outcome(report, "slow")
    c.see(f"rc={run.returncode}; status={entry.get('status')}, rebuild={entry.get('rebuild')}, "
          f"reason={str(entry.get('reason'))[:100]!r}")
    assert run.returncode != 0
    assert entry.get("status") == "rolled_back", entry
    assert (remediation["work"] / "srv" / "slow" / "Dockerfile").read_text() == SLOW
    assert ("remediation_rolled_back", "localhost") in _reasons(report)
    assert "remediation_rolled_back (localhost:" in _gate(run)
