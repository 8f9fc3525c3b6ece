"""Run outcome: the reasons a run is incomplete, the gate message, and every report format telling the same story."""
from __future__ import annotations

import datetime as dt

import pytest
from ansible_collections.refarch.containers.plugins.plugin_utils import _completeness as c
from ansible_collections.refarch.containers.plugins.plugin_utils._html import render_html
from ansible_collections.refarch.containers.plugins.plugin_utils._junit import render_junit_tree
from ansible_collections.refarch.containers.plugins.plugin_utils._report import build_report
from ansible_collections.refarch.containers.plugins.plugin_utils._sarif import render_sarif
from ansible_collections.refarch.containers.plugins.plugin_utils._text import render_text, shortened
from report_samples import CATALOG, host_results

STAMP = dt.datetime(2026, 11, 28, 11, 0, tzinfo=dt.UTC)


def build(results):
    return build_report(results, engine="embedded", policy_revision="rev", generated_at=STAMP, rules_catalog=CATALOG)


def test_accepted_reasons_vocabulary():
    assert c.accepted_reasons(True) == frozenset(c.REASONS)
    assert c.accepted_reasons(False) == frozenset() == c.accepted_reasons([]) == c.accepted_reasons(None)
    assert c.accepted_reasons(["Host_Unreachable", "engine_failure"]) == {"host_unreachable", "engine_failure"}
    with pytest.raises(ValueError, match=r"unknown reason.*host_down.*known: host_unreachable"):
        c.accepted_reasons(["host_down"])
    with pytest.raises(ValueError, match="must be true, false or a list"):
        c.accepted_reasons({"host_failed": True})


def test_reasons_of_every_kind_and_the_gate_message():
    results = host_results()
    results["files1"]["problems"] = [{"path": "/srv/locked", "code": "permission_denied",
                                      "message": "cannot list directory /srv/locked: Permission denied"},
                                     {"path": "/nope", "code": "root_not_found", "message": "scan root /nope ..."}]
    results["broken1"]["reason"] = "waivers_unusable"
    results["web1"]["remediation"] = [
        {"path": "/srv/app/Dockerfile", "status": "rolled_back", "reason": "the rebuilt image failed NRA001"},
        {"path": "/srv/b/Dockerfile", "status": "refused", "reason": "immutable"},
        {"path": "/srv/c/Dockerfile", "status": "rewritten"},
    ]
    report = build(results)
    summary = report["summary"]
    assert summary["complete"] is False
    got = {(r["reason"], r["host"], r["target"]) for r in summary["incomplete_reasons"]}
    assert ("host_unreachable", "down1", None) in got
    assert ("waivers_unusable", "broken1", None) in got  # the failed host's own reason
    assert ("target_unreadable", "files1", "/srv/secret/Dockerfile") in got
    assert ("directory_unreadable", "files1", "/srv/locked") in got
    assert ("remediation_rolled_back", "web1", "/srv/app/Dockerfile") in got
    assert ("remediation_refused", "web1", "/srv/b/Dockerfile") in got
    assert not any(r[2] in ("/nope", "/srv/c/Dockerfile") for r in got)  # a missing root or a rewrite: not a reason
    assert sum(summary["incomplete_by_reason"].values()) == len(summary["incomplete_reasons"]) == 6
    message = c.gate_message(summary["incomplete_reasons"], "/r/report.json")
    assert message.startswith("run incomplete: host_unreachable (down1); ")
    for reason in summary["incomplete_by_reason"]:
        assert message.count(reason) == 1
    assert message.endswith("; details in /r/report.json")


def test_a_complete_run():
    results = {"web1": host_results()["web1"]}
    summary = build(results)["summary"]
    assert summary["complete"] is True and summary["incomplete_reasons"] == [] and summary["incomplete_by_reason"] == {}
    assert c.gate_message([]) == ""
    assert "\nRun: complete (every host reached, every target read and evaluated)\n" in render_text(build(results))


def test_every_format_says_incomplete():
    results = host_results()
    results["web1"]["remediation"] = [{"path": "/srv/app/Dockerfile", "status": "failed", "reason": "read-only"}]
    results["broken1"]["evidence"] = {"stderr": "/bin/python3: bad interpreter", "rc": "126"}
    report = build(results)
    sarif = render_sarif(report)
    invocation = sarif["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert invocation["properties"]["complete"] is False
    ids = [n["descriptor"]["id"] for n in invocation["toolExecutionNotifications"]]
    assert "remediation_failed" in ids and "host-unreachable" in ids and "host-failed" in ids
    failed_host = next(n for n in invocation["toolExecutionNotifications"] if n["descriptor"]["id"] == "host-failed")
    assert failed_host["properties"]["stderr"] == "/bin/python3: bad interpreter"
    junit = render_junit_tree(report)
    errors = junit.findall(".//error")
    assert int(junit.get("errors")) == len(errors) >= 4
    assert any(e.get("type") == "remediation_failed" for e in errors)
    assert any("bad interpreter" in (e.text or "") for e in errors)
    page = render_html(report)
    assert '<section id="incomplete">' in page and "remediation_failed" in page
    text = render_text(report)
    assert "Run: INCOMPLETE (host_unreachable 1, host_failed 1, target_unreadable 1, remediation_failed 1)" in text


def test_evidence_is_redacted_escaped_and_bounded():
    token = "ghp_a8K2mQ9zX4vB7nL1pR6sT3wY5uE0iO2hJ4kM"
    shown = c.failure_evidence(f"Traceback\n  token {token}\n\x1b[2Jboom")
    assert token not in shown and "\x1b" not in shown and "\\x1b[2Jboom" in shown
    long = ("word " * 3000) + token
    kept = c.failure_evidence(long, limit=1000)
    assert kept.endswith(f"[... cut: the first 1000 of {len(long)} characters kept]")
    assert token not in kept and len(kept) < 1100
    assert c.failure_evidence(None) == ""


def test_console_text_is_cut_at_a_word_and_says_where():
    text = "permission denied while reading " + "abcdefgh " * 60
    out = shortened(text, 100, "/r/report.json")
    assert out.endswith(" ... (cut; full text in /r/report.json)")
    body = out[: -len(" ... (cut; full text in /r/report.json)")]
    assert text.startswith(body) and text[len(body)] == " "  # ends at a word boundary
    assert shortened("short", 100) == "short"
