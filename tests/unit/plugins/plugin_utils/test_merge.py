"""Tests for merge_reports (AWX job slices) in plugins/plugin_utils/_report.py."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import report_samples as samples
from ansible_collections.refarch.containers.plugins.plugin_utils import _report

REPO = Path(__file__).resolve().parents[4]
SCHEMA = json.loads((REPO / "policies" / "schema" / "report.schema.json").read_text(encoding="utf-8"))


def slice_report(hosts, stamp, engine="embedded", revision="rev-1", results=None):
    results = results or samples.host_results()
    return _report.build_report({h: results[h] for h in hosts}, engine=engine, policy_revision=revision,
                                generated_at=stamp, rules_catalog=samples.CATALOG)


def test_disjoint_slices_merge_to_the_whole_estate():
    results = samples.host_results()
    names = sorted(results)
    whole = _report.build_report(results, engine="embedded", policy_revision="rev-1",
                                 generated_at="2026-11-28T11:00:00Z", rules_catalog=samples.CATALOG)
    slices = [slice_report(names[i::3], f"2026-11-28T10:5{i}:00Z") for i in range(3)]
    merged = _report.merge_reports(slices)
    assert merged["hosts"] == whole["hosts"]
    assert merged["summary"] == whole["summary"]
    assert merged["rules"] == whole["rules"]
    assert merged["generated_at"] == "2026-11-28T10:52:00Z"
    assert merged["merge"]["conflicts"] == [] and merged["merge"]["consistent"] is True
    assert [s["hosts"] for s in merged["merge"]["sources"]] == [sorted(names[i::3]) for i in range(3)]
    errors = list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(merged))
    assert not errors, errors[0].message


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_conflicting_host_keeps_the_newest_entry_whatever_the_order(order):
    old = slice_report(["web1", "web2"], "2026-11-28T09:00:00Z")
    changed = samples.host_results()
    changed["web2"] = {"status": "unreachable", "message": "gone", "targets": [], "findings": []}
    new = slice_report(["web2", "web3"], "2026-11-28T10:00:00Z", results=changed)
    reports = [(old, new)[i] for i in order]
    merged = _report.merge_reports(reports)
    assert sorted(merged["hosts"]) == ["web1", "web2", "web3"]
    assert merged["hosts"]["web2"]["status"] == "unreachable"
    assert merged["summary"]["hosts_by_status"]["unreachable"] == 1
    (conflict,) = merged["merge"]["conflicts"]
    assert conflict["host"] == "web2" and conflict["kept"]["generated_at"] == "2026-11-28T10:00:00Z"
    assert conflict["dropped"]["generated_at"] == "2026-11-28T09:00:00Z"


def test_tie_goes_to_the_later_report():
    a = slice_report(["web2"], "2026-11-28T09:00:00Z")
    changed = samples.host_results()
    changed["web2"]["status"] = "failed"
    b = slice_report(["web2"], "2026-11-28T09:00:00Z", results=changed)
    assert _report.merge_reports([a, b])["hosts"]["web2"]["status"] == "failed"
    assert _report.merge_reports([b, a])["hosts"]["web2"]["status"] == "ok"


def test_mismatched_engines_and_revisions_are_reported_or_refused():
    a = slice_report(["web1"], "2026-11-28T09:00:00Z", engine="embedded", revision="r1")
    b = slice_report(["web2"], "2026-11-28T09:01:00Z", engine="opa", revision="r2")
    merged = _report.merge_reports([a, b])
    assert merged["engine"] == "mixed" and merged["policy_revision"] == "mixed"
    assert merged["merge"]["consistent"] is False
    assert any("engines differ" in m for m in merged["merge"]["mismatches"])
    assert any("policy revisions differ" in m for m in merged["merge"]["mismatches"])
    with pytest.raises(_report.ReportError, match="engines differ"):
        _report.merge_reports([a, b], strict=True)


def test_merge_can_diff_against_a_previous_estate_report():
    prev = slice_report(sorted(samples.host_results()), "2026-11-27T09:00:00Z")
    a = slice_report(["web1", "web2"], "2026-11-28T09:00:00Z")
    b = slice_report(["web3", "web4"], "2026-11-28T09:00:00Z")
    merged = _report.merge_reports([a, b], previous=prev)
    counts = merged["diff"]["counts"]
    # web2 (6 open) and web4 (1 open) are still open; the other hosts were not in any slice
    assert counts["still_open"] == 7
    assert counts["fixed"] == 0
    assert counts["not_rechecked"] == samples.EXPECTED["findings"] - 7


@pytest.mark.parametrize(
    "bad, message",
    [
        ([], "nothing to merge"),
        ([{"hosts": {}}], "schema_version"),
        ([{"schema_version": "2.0", "generated_at": "2026-11-28T00:00:00Z", "hosts": {}}], "schema_version 2.0"),
        (["not a report"], "not a mapping"),
        ([{"schema_version": "1.0", "generated_at": "soon", "hosts": {}}], "ISO 8601"),
    ],
)
def test_bad_inputs_are_refused(bad, message):
    with pytest.raises(_report.ReportError, match=message):
        _report.merge_reports(bad)
