"""Tests for the terminal summary (plugins/plugin_utils/_text.py)."""
from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import report_samples as samples
from ansible_collections.refarch.containers.plugins.plugin_utils import _report, _text

CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _report_with_diff():
    first = _report.build_report(samples.host_results(), engine="embedded", policy_revision="rev-1",
                                 generated_at="2026-11-27T11:00:00Z", rules_catalog=samples.CATALOG)
    results = samples.host_results()
    results["web2"]["findings"] = results["web2"]["findings"][1:]
    return _report.build_report(results, engine="embedded", policy_revision="rev-1",
                                generated_at="2026-11-28T11:00:00Z", rules_catalog=samples.CATALOG, previous=first)


def test_text_summary_has_counts_top_rules_worst_hosts_and_no_control_characters():
    report = _report_with_diff()
    text = _text.render_text(report, top=3)
    assert not CONTROL.search(text), repr(CONTROL.search(text))
    assert "\x1b" not in text and "\u202e" not in text
    summary = report["summary"]
    assert f"Open findings: {summary['findings']} (critical {summary['findings_by_severity']['critical']}," in text
    assert f"Hosts: {summary['hosts']} (6 ok, 1 unreachable, 1 failed)" in text
    top = text.split("Top rules:\n")[1].split("Worst hosts:")[0].splitlines()
    assert len(top) == 3
    best = max(summary["findings_by_rule"].values())
    assert top[0].split()[1] == str(best)
    worst = text.split("Worst hosts:\n")[1].splitlines()[0]
    assert worst.split()[0] == "web2"
    assert "down1: unreachable: ssh: connect" in text
    assert "1 fixed" in text
    # every line of a hostile value stays on its own line
    assert all(len(line) < 400 for line in text.splitlines())


def test_text_summary_lists_worst_targets_with_their_open_rules():
    report = _report_with_diff()
    text = _text.render_text(report, top=2)
    section = text.split("Worst targets:\n")[1]
    rows = [line for line in section.splitlines() if line.startswith("  ") and ":" in line][:4]
    counts = [int(row.split()[0]) for row in rows if row.split()[0].isdigit()]
    assert counts == sorted(counts, reverse=True) and counts, section
    # the first row names the target with the most open findings and exactly its open rule ids
    best = max(
        ((sum(1 for f in t["findings"] if _report.is_open(f)), t, h) for h, host in report["hosts"].items()
         for t in host["targets"]), key=lambda x: x[0])
    expected_rules = sorted({f["rule_id"] for f in best[1]["findings"] if _report.is_open(f)})
    assert counts[0] == best[0]
    assert rows[0].split()[-len(expected_rules):] == expected_rules


def test_text_summary_has_a_remediation_line_only_for_a_remediation_run():
    assert "Remediation:" not in _text.render_text(_report_with_diff())
    results = samples.host_results()
    results["web1"]["remediation"] = [
        {"path": "/srv/a/Dockerfile", "status": "promoted", "rules_fixed": ["NRA001", "NRA010"]},
        {"path": "/srv/b/Dockerfile", "status": "refused", "rules_fixed": []},
    ]
    report = _report.build_report(results, engine="embedded", policy_revision="rev-1",
                                  generated_at="2026-11-28T11:00:00Z", rules_catalog=samples.CATALOG)
    text = _text.render_text(report)
    assert "Remediation: 2 Dockerfile(s) (promoted 1, refused 1); 2 rule finding(s) fixed on disk" in text


def test_report_text_and_console_show_the_same_worst_hosts_and_top_rules():
    """One tally, one ranking: with the report's own host tallies the console lists the worst hosts and (ties
    aside, the console has no rule catalog) the top rules in report.txt's order."""
    results = samples.host_results()
    results["web2"]["findings"][0]["folded"] = 7
    report = _report.build_report(results, engine="embedded", policy_revision="rev-1",
                                  generated_at="2026-11-28T11:00:00Z", rules_catalog=samples.CATALOG)
    text = _text.render_text(report, top=10)
    hosts = {name: {"status": host["status"], "message": host.get("message") or "",
                    "open": _text.open_counts(f for t in host["targets"] for f in t["findings"])}
             for name, host in report["hosts"].items()}
    console = _text.format_summary(report["summary"], hosts, top=10)
    rows = [re.fullmatch(r"  (.*?) +(\d+)  \((.*)\)", line).groups()
            for line in text.split("Worst hosts:\n")[1].split("Worst targets:")[0].splitlines()]
    [worst] = [line for line in console if line.startswith("  worst hosts: ")]
    assert len(rows) == 3 and worst == "  worst hosts: " + ", ".join(f"{name} {total} ({detail})"
                                                                     for name, total, detail in rows)
    # the tallies count folded findings as the summary's total does
    assert sum(sum(host["open"].values()) for host in hosts.values()) == report["summary"]["findings"]
    by_rule = report["summary"]["findings_by_rule"]
    [top] = [line for line in console if line.startswith("  top rules: ")]
    assert [entry.split()[0] for entry in top[len("  top rules: "):].split(", ")] == [
        rule for rule, _count in _text.ranked_rules(by_rule)]
    text_rules = [line.split()[0] for line in text.split("Top rules:\n")[1].split("Worst hosts:")[0].splitlines()]
    assert text_rules == [rule for rule, _count in _text.ranked_rules(by_rule, report["rules"])]
    assert sorted(text_rules) == sorted(by_rule)
