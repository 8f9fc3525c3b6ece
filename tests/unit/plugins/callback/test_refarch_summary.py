"""Unit tests for the refarch_summary aggregate callback (progress lines, final summary, hostile text)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from ansible_collections.refarch.containers.plugins.callback import refarch_summary as cb


class FakeDisplay:
    verbosity = 0

    def __init__(self) -> None:
        self.lines: list[str] = []

    def display(self, msg: str, *args, **kwargs) -> None:
        self.lines.append(msg)


class FakeHost:
    def __init__(self, name: str) -> None:
        self.name = name

    def get_name(self) -> str:
        return self.name


def _result(host: str, action: str, data: dict):
    return SimpleNamespace(host=FakeHost(host), task=SimpleNamespace(action=action, resolved_action=action),
                           result=data)


@pytest.fixture
def callback():
    plugin = cb.CallbackModule(display=FakeDisplay())
    plugin.set_options()
    return plugin


def _play(hosts: list[str]):
    inventory = SimpleNamespace(get_hosts=lambda pattern: [FakeHost(h) for h in hosts])
    return SimpleNamespace(hosts="all", _variable_manager=SimpleNamespace(_inventory=inventory))


def test_progress_lines_count_hosts_of_the_play(callback):
    callback.v2_playbook_on_play_start(_play(["web1", "web2", "db1"]))
    dockerfile = {"path": "/srv/a/Dockerfile", "error": None}
    callback.v2_runner_on_ok(_result("web1", "refarch.containers.dockerfile_info",
                                     {"dockerfiles": [dockerfile] * 12, "problems": []}))
    callback.v2_runner_on_unreachable(_result("db1", "refarch.containers.dockerfile_info",
                                              {"msg": "Failed to connect", "unreachable": True}))
    callback.v2_runner_on_ok(_result("web2", "refarch.containers.dockerfile_info",
                                     {"dockerfiles_json": "[]", "summary": {"dockerfiles": 2, "errors": 1}}))
    callback.v2_runner_on_ok(_result("web1", "refarch.containers.policy_check", {
        "targets": [{}] * 12,
        "findings": [{"severity": "high"}, {"severity": "medium"}, {"severity": "medium", "waived": True}],
    }))
    callback.v2_runner_on_skipped(_result("db1", "refarch.containers.policy_check", {}))
    lines = callback._display.lines
    assert lines == [
        "[1/3] web1 ok: 12 Dockerfiles",
        "[2/3] db1 unreachable: Failed to connect",
        "[3/3] web2 ok: 2 Dockerfiles, 1 unreadable",
        "[1/3] web1 evaluated: 12 targets, 2 open findings (high 1, medium 1)",
        "[2/3] db1 not evaluated: unreachable",
    ]


def test_other_actions_are_ignored(callback):
    callback.v2_runner_on_ok(_result("web1", "ansible.builtin.find", {"files": []}))
    callback.v2_runner_on_ok(_result("web1", "community.general.report", {"summary": {"x": 1}}))
    callback.v2_playbook_on_stats(SimpleNamespace(custom={}))
    assert callback._display.lines == []


def test_summary_from_the_report_result(callback):
    callback.v2_playbook_on_play_start(_play(["web1", "web2"]))
    callback.v2_runner_on_ok(_result("web1", "refarch.containers.policy_check",
                                     {"targets": [], "findings": [{"severity": "high"}] * 3}))
    callback.v2_runner_on_ok(_result("web2", "refarch.containers.policy_check",
                                     {"targets": [], "findings": [{"severity": "low"}] * 5}))
    summary = {
        "hosts": 2, "hosts_by_status": {"ok": 2, "unreachable": 0, "failed": 0}, "targets": 4,
        "compliant_targets": 1, "compliance_percent": 25.0, "findings": 8,
        "findings_by_severity": {"critical": 0, "high": 3, "medium": 0, "low": 5, "info": 0},
        "findings_by_rule": {"NRA001": 3, "NRA004": 5}, "waived": 0,
    }
    callback.v2_runner_on_ok(_result("localhost", "refarch.containers.report",
                                     {"summary": summary, "files": ["/r/report.json", "/r/report.html"]}))
    callback._display.lines.clear()
    callback.v2_playbook_on_stats(SimpleNamespace(custom={}))
    assert callback._display.lines == [
        "refarch summary: 2 hosts (2 ok, 0 unreachable, 0 failed); 4 targets, 1 compliant (25%)",
        "  open findings: 8 (critical 0, high 3, medium 0, low 5, info 0); waived 0",
        "  top rules: NRA004 5, NRA001 3",
        "  worst hosts: web1 3 (high 3), web2 5 (low 5)",
        "  report: /r/report.html",
    ]


def test_summary_from_set_stats_when_no_report_result(callback):
    stats = SimpleNamespace(custom={"_run": {"refarch_summary": {
        "hosts": 1, "hosts_by_status": {"ok": 0, "unreachable": 1, "failed": 0}, "targets": 0,
        "findings": 0, "findings_by_severity": {}, "findings_by_rule": {}}}})
    callback.v2_playbook_on_stats(stats)
    assert callback._display.lines[0].startswith("refarch summary: 1 hosts (0 ok, 1 unreachable, 0 failed)")


def test_hostile_text_is_escaped(callback):
    callback.v2_playbook_on_play_start(_play(["evil"]))
    name = "web\x1b[2J\x1b]0;owned\x07\r\nX"
    callback.v2_runner_on_failed(_result(name, "refarch.containers.dockerfile_info",
                                         {"msg": "bad \x1b[31mred\x1b[0m\x00 \u202eevil"}))
    line = callback._display.lines[-1]
    assert "\x1b" not in line and "\x00" not in line and "\r" not in line and "\n" not in line
    assert "\u202e" not in line and "\x07" not in line
    # visible and unambiguous: what the name and message really hold, escaped
    assert line == ("[1/1] web\\x1b[2J\\x1b]0;owned\\x07\\x0d\\x0aX failed: "
                    "bad \\x1b[31mred\\x1b[0m\\x00 \\u202eevil"), line


def test_format_summary_lists_hosts_not_scanned():
    hosts = {f"dead{i}": {"status": "unreachable", "open": {}} for i in range(12)}
    lines = cb.format_summary({"hosts": 12}, hosts, top=3)
    assert lines[-1].startswith("  not scanned: dead0 (unreachable), dead1 (unreachable)")
    assert lines[-1].endswith("and 2 more")


def test_estate_evaluation_prints_one_line_per_host(callback):
    """The evaluate role's estate entry point: one result on localhost holding every host's outcome."""
    callback.v2_playbook_on_play_start(_play(["web1", "web2", "db1"]))
    callback.v2_runner_on_ok(_result("web1", "refarch.containers.discovery",
                                     {"dockerfiles_json": "[]", "summary": {"dockerfiles": 3, "errors": 0}}))
    callback.v2_playbook_on_play_start(_play(["localhost"]))
    callback.v2_runner_on_ok(_result("localhost", "refarch.containers.policy_check", {"host_results": {
        "web2": {"status": "failed", "message": "evaluation failed: policy_check: opa engine failed (connection)",
                 "targets": [], "findings": []},
        "web1": {"status": "ok", "targets": [{}] * 3, "findings": [{"severity": "low"}]},
        "db1": {"status": "unreachable", "message": "Failed to connect"},
    }}))
    assert callback._display.lines == [
        "[1/3] web1 ok: 3 Dockerfiles",
        "[1/3] db1 not evaluated: unreachable",
        "[2/3] web1 evaluated: 3 targets, 1 open finding (low 1)",
        "[3/3] web2 evaluation failed: policy_check: opa engine failed (connection)",
    ]
    assert callback._hosts["web2"]["status"] == "failed"


def test_format_summary_says_whether_the_run_was_complete():
    incomplete = {"hosts": 2, "complete": False, "incomplete_by_reason": {"host_failed": 1, "target_unreadable": 2},
                  "incomplete_reasons": [
                      {"reason": "host_failed", "host": "web2", "target": None, "detail": "MODULE FAILURE " * 40},
                      {"reason": "target_unreadable", "host": "web1", "target": "/srv/a/Dockerfile", "detail": "x"},
                      {"reason": "target_unreadable", "host": "web1", "target": "/srv/b/Dockerfile", "detail": "y"}]}
    lines = cb.format_summary(incomplete, {}, top=2, files={"json": "/r/report.json"})
    assert lines[1] == "  Run: INCOMPLETE (host_failed 1, target_unreadable 2)"
    assert lines[2].startswith("    host_failed: web2: MODULE FAILURE MODULE")
    assert lines[2].endswith("FAILURE ... (cut; full text in /r/report.json)")  # at a word, and where the rest is
    assert lines[3] == "    target_unreadable: web1:/srv/a/Dockerfile: x"
    assert lines[4] == "    ... and 1 more (see /r/report.json)"
    complete = cb.format_summary({"hosts": 1, "complete": True}, {})
    assert complete[1] == "  Run: complete (every host reached, every target read and evaluated)"
    assert not any("Run:" in line for line in cb.format_summary({"hosts": 1}, {}))  # a report from before


def test_summary_lists_the_roots_scanned_and_missing_per_host(callback):
    callback.v2_playbook_on_play_start(_play(["web1", "web2", "web3"]))
    missing = {"path": "/home", "code": "root_not_found", "message": "scan root /home does not exist"}
    denied = {"path": "/opt", "code": "permission_denied", "message": "cannot access scan root /opt"}
    deeper = {"path": "/srv/x", "code": "permission_denied", "message": "a directory below a root"}
    for host, problems in (("web1", [missing]), ("web2", [missing, deeper]), ("web3", [denied])):
        callback.v2_runner_on_ok(_result(host, "refarch.containers.discovery", {
            "dockerfiles_json": "[]", "summary": {"dockerfiles": 0}, "scan_paths": ["/srv", "/opt", "/home"],
            "problems": problems}))
    callback.v2_playbook_on_stats(SimpleNamespace(custom={}))
    lines = callback._display.lines
    assert "  roots scanned: /srv, /opt on web1, web2; /srv, /home on web3" in lines, lines
    assert "  roots missing or unusable: /home on web1, web2; /opt (permission_denied) on web3" in lines, lines


def test_progress_and_worst_hosts_count_folded_findings_as_the_report_does(callback):
    """A finding with ``folded`` stands for itself and the ones folded into it (max_findings_per_rule), and a
    severity is read as the report reads it: the console's per-host numbers add up to the report's."""
    callback.v2_playbook_on_play_start(_play(["web1"]))
    callback.v2_runner_on_ok(_result("web1", "refarch.containers.policy_check", {
        "targets": [{}],
        "findings": [{"severity": "high", "folded": 19}, {"severity": "warning"}, {"severity": "low", "waived": True}],
    }))
    assert callback._display.lines == ["[1/1] web1 evaluated: 1 target, 21 open findings (high 20, medium 1)"]
    callback.v2_playbook_on_stats(SimpleNamespace(custom={"_run": {"refarch_summary": {"hosts": 1, "findings": 21}}}))
    assert "  worst hosts: web1 21 (high 20, medium 1)" in callback._display.lines
