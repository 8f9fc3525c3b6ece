"""Tests for plugins/plugin_utils/_report.py: build_report, fingerprints, diff, catalog loading."""
from __future__ import annotations

import copy
import datetime as dt
import json
import sys
from pathlib import Path

import jsonschema
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import report_samples as samples
from ansible_collections.refarch.containers.plugins.plugin_utils import _report
from ansible_collections.refarch.containers.plugins.plugin_utils import _report_sanitize as _sanitize

REPO = Path(__file__).resolve().parents[4]
SCHEMA = json.loads((REPO / "policies" / "schema" / "report.schema.json").read_text(encoding="utf-8"))
STAMP = "2026-11-28T11:00:00Z"


def build(results=None, previous=None, stamp=STAMP, catalog=None):
    return _report.build_report(
        samples.host_results() if results is None else results,
        engine="embedded",
        policy_revision="rev-1",
        generated_at=stamp,
        rules_catalog=samples.CATALOG if catalog is None else catalog,
        previous=previous,
    )


def validate(report):
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    errors = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(report), key=lambda e: e.json_path)
    assert not errors, "\n".join(f"{e.json_path}: {e.message[:300]}" for e in errors)


def test_summary_matches_hand_counted_estate():
    summary = build()["summary"]
    exp = samples.EXPECTED
    assert summary["hosts"] == exp["hosts"]
    assert summary["hosts_by_status"] == {"ok": exp["ok"], "unreachable": exp["unreachable"], "failed": exp["failed"]}
    assert summary["targets"] == exp["targets"]
    assert summary["compliant_targets"] == exp["compliant"]
    assert summary["noncompliant_targets"] == exp["noncompliant"]
    assert summary["error_targets"] == exp["error"]
    assert summary["findings"] == exp["findings"]
    assert summary["findings_by_severity"] == {s: exp[s] for s in _report.SEVERITIES}
    assert summary["waived"] == exp["waived"]
    assert summary["expired_waivers"] == exp["expired"]
    assert summary["compliance_percent"] == round(100 * exp["compliant"] / (exp["compliant"] + exp["noncompliant"]), 1)


def test_summary_agrees_with_a_naive_recount():
    report = build()
    by_rule: dict[str, int] = {}
    for host in report["hosts"].values():
        for target in host["targets"]:
            for finding in target["findings"]:
                if not finding["waived"]:
                    by_rule[finding["rule_id"]] = by_rule.get(finding["rule_id"], 0) + 1
    assert report["summary"]["findings_by_rule"] == by_rule
    assert sum(by_rule.values()) == report["summary"]["findings"]


def test_report_validates_against_schema_with_and_without_diff():
    first = build()
    validate(first)
    validate(build(previous=first, stamp="2026-11-29T11:00:00Z"))


def test_build_is_pure_and_deterministic():
    results = samples.host_results()
    before = copy.deepcopy(results)
    one = build(results)
    assert results == before, "build_report mutated its input"
    assert json.dumps(one, sort_keys=True) == json.dumps(build(samples.host_results()), sort_keys=True)


def test_every_finding_has_a_unique_fingerprint():
    report = build()
    fps = [f["fingerprint"] for _h, _t, f in _report.iter_findings(report)]
    assert len(fps) == len(set(fps)) == samples.EXPECTED["findings"] + samples.EXPECTED["waived"]


def test_fingerprint_ignores_line_moves_but_not_content():
    base = {"rule_id": "NRA001", "message": "USER root on line 3", "line": 3,
            "target": {"kind": "dockerfile", "path": "/srv/a/Dockerfile"}}
    moved = dict(base, line=9, message="USER root on line 9")
    fp = _report.finding_fingerprint(base, "web1")
    assert _report.finding_fingerprint(moved, "web1") == fp
    assert _report.finding_fingerprint(base, "web2") != fp
    assert _report.finding_fingerprint(dict(base, rule_id="NRA002"), "web1") != fp
    other_file = {"kind": "dockerfile", "path": "/srv/b/Dockerfile"}
    assert _report.finding_fingerprint(dict(base, target=other_file), "web1") != fp
    assert _report.finding_fingerprint(dict(base, message="USER admin on line 3"), "web1") != fp


def test_identical_findings_in_one_target_get_distinct_fingerprints():
    finding = {"rule_id": "NRA002", "severity": "medium", "message": "EXPOSE 80",
               "target": {"kind": "dockerfile", "path": "/x/Dockerfile"}}
    report = build({"h": {"status": "ok", "findings": [dict(finding, line=2), dict(finding, line=5)]}})
    fps = [f["fingerprint"] for _h, _t, f in _report.iter_findings(report)]
    assert len(set(fps)) == 2


def test_target_only_named_by_findings_is_added_and_targets_are_grouped():
    report = build({"h": {"status": "ok", "findings": [
        {"rule_id": "NRA001", "severity": "HIGH", "message": "root", "target": {"kind": "image", "image": "a:1"}},
        {"rule_id": "NRA014", "severity": "critical", "message": "latest", "target": {"kind": "image", "image": "a:1"}},
    ]}})
    targets = report["hosts"]["h"]["targets"]
    assert len(targets) == 1 and targets[0]["image"] == "a:1"
    assert [f["severity"] for f in targets[0]["findings"]] == ["high", "critical"]
    assert targets[0]["findings"][0]["target"]["host"] == "h"


def test_unknown_host_status_is_reported_as_failed_not_dropped():
    report = build({"h": {"status": "weird", "message": "boom"}})
    assert report["hosts"]["h"]["status"] == "failed"
    assert "weird" in report["hosts"]["h"]["message"] and "boom" in report["hosts"]["h"]["message"]


def test_advisory_findings_do_not_break_compliance_but_are_counted():
    report = build({"h": {"status": "ok", "findings": [
        {"rule_id": "NRA006", "severity": "info", "advisory": True, "message": "no tools",
         "target": {"kind": "dockerfile", "path": "/a/Dockerfile"}}]}})
    assert report["hosts"]["h"]["targets"][0]["status"] == "compliant"
    assert report["summary"]["findings"] == 1 and report["summary"]["advisory"] == 1


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(_report.ReportError, match="host_results"):
        _report.build_report([], engine="e", policy_revision=None, generated_at=STAMP, rules_catalog={})
    with pytest.raises(_report.ReportError, match="ISO 8601"):
        build(stamp="yesterday")
    with pytest.raises(_report.ReportError, match="finding must be a mapping"):
        build({"h": {"status": "ok", "findings": ["oops"]}})


def test_generated_at_is_normalized_to_utc_z():
    assert build(stamp="2026-11-28T12:00:00+01:00")["generated_at"] == STAMP
    assert build(stamp=dt.datetime(2026, 11, 28, 11, 0, 0))["generated_at"] == STAMP


@pytest.mark.parametrize(
    "catalog",
    [
        samples.CATALOG,
        {"rules": samples.CATALOG},
        {"refarch": {"catalog": samples.CATALOG}},
        [dict(v, id=k) for k, v in samples.CATALOG.items()],
        [{"title": v.get("title"), "custom": dict(v, id=k)} for k, v in samples.CATALOG.items()],
    ],
)
def test_catalog_shapes_are_all_understood(catalog):
    loaded = _report.load_rules_catalog(catalog)
    assert sorted(loaded) == sorted(samples.CATALOG)
    assert loaded["NRA001"]["severity"] == "high"
    assert loaded["NRA001"]["aliases"] == ["DS-0002", "DL3002"]
    assert loaded["NRA001"]["related_resources"] == ["https://example.invalid/building-good-containers#non-root"]
    assert loaded["NRA004"]["description"] == "" and loaded["NRA004"]["aliases"] == []


def test_real_catalog_if_present_loads():
    path = REPO / "policies" / "refarch" / "catalog" / "data.json"
    if not path.is_file():
        pytest.skip(f"{path} not generated yet (tools/gen_rule_catalog.py)")
    loaded = _report.load_rules_catalog(json.loads(path.read_text(encoding="utf-8")))
    assert loaded, "the rule catalog is empty"
    for rule_id, entry in loaded.items():
        assert entry["severity"] in _report.SEVERITIES, rule_id


def test_rules_from_findings_fill_gaps_in_the_catalog():
    report = build({"h": {"status": "ok", "findings": [
        {"rule_id": "NRA099", "severity": "low", "title": "Something new", "message": "m",
         "target": {"kind": "dockerfile", "path": "/a/Dockerfile"}}]}}, catalog={})
    assert report["rules"]["NRA099"]["title"] == "Something new"
    assert report["rules"]["NRA099"]["severity"] == "low"


# ------------------------------------------------------------------ diff


def _one(message="USER root on line 3", line=3, host_status="ok", waived=False, path="/a/Dockerfile"):
    return {"web1": {"status": host_status, "message": None if host_status == "ok" else "down",
                     "targets": [] if host_status != "ok" else [{"kind": "dockerfile", "path": path}],
                     "findings": [] if host_status != "ok" or message is None else [
                         {"rule_id": "NRA001", "severity": "high", "message": message, "line": line, "waived": waived,
                          "target": {"kind": "dockerfile", "path": path}}]}}


def test_diff_new_fixed_still_open():
    first = build(_one())
    moved = build(_one(message="USER root on line 7", line=7), previous=first)
    assert moved["diff"]["counts"] == {"new": 0, "fixed": 0, "still_open": 1, "waived": 0, "not_rechecked": 0}
    fixed = build(_one(message=None), previous=first)
    assert fixed["diff"]["counts"]["fixed"] == 1 and fixed["diff"]["fixed"][0]["rule_id"] == "NRA001"
    new = build(_one(), previous=fixed)
    assert new["diff"]["counts"]["new"] == 1 and new["diff"]["new"][0]["host"] == "web1"


def test_diff_never_counts_an_unscanned_host_as_fixed():
    first = build(_one())
    down = build(_one(host_status="unreachable"), previous=first)
    assert down["diff"]["counts"]["fixed"] == 0
    assert down["diff"]["counts"]["not_rechecked"] == 1
    gone = build({}, previous=first)
    assert gone["diff"]["counts"] == {"new": 0, "fixed": 0, "still_open": 0, "waived": 0, "not_rechecked": 1}


def test_diff_unreadable_target_is_not_rechecked_and_waiver_is_not_a_fix():
    first = build(_one())
    unreadable = {"web1": {"status": "ok", "targets": [
        {"kind": "dockerfile", "path": "/a/Dockerfile", "error": {"code": "eacces", "message": "denied"}}]}}
    assert build(unreadable, previous=first)["diff"]["counts"]["not_rechecked"] == 1
    waived = build(_one(waived=True), previous=first)
    assert waived["diff"]["counts"]["waived"] == 1 and waived["diff"]["counts"]["fixed"] == 0


def test_diff_rejects_something_that_is_not_a_report():
    with pytest.raises(_report.ReportError, match="previous report"):
        build(previous={"foo": 1})


# ------------------------------------------------------------------ text cleaning shared by the renderers


@pytest.mark.parametrize(
    "raw, cleaned",
    [
        ("\x1b[31mred\x1b[0m", "red"),
        ("\x1b[38;5;196mx\x1b[m", "x"),
        ("a\x1b]0;window title\x07b", "ab"),  # OSC ended by BEL
        ("a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\b", "alinkb"),  # OSC 8 hyperlink ended by ST
        ("a\x1bPdevice control\x1b\\b", "ab"),  # DCS
        ("a\x9b31mb", "ab"),  # 8-bit CSI
        ("a\x1b]0;never ends", "a"),  # unterminated OSC swallows the rest
        ("a\x1bcb", "ab"),  # RIS (full reset)
        ("nul\x00bel\x07del\x7fc1\x85", "nulbeldelc1"),
        ("line1\r\nline2\rline3", "line1\nline2\nline3"),
        ("safe\u202eevil\u2066x\u2069", "safeevilx"),
        ("\ud800lone surrogate\ufffe", "lone surrogate"),
        ("tab\tand\nnewline", "tab\tand\nnewline"),
        (None, ""),
        (42, "42"),
    ],
)
def test_clean_text(raw, cleaned):
    assert _sanitize.clean_text(raw) == cleaned


def test_clean_text_single_line_and_limit():
    assert _sanitize.clean_text("a\n b\t\tc", single_line=True) == "a b c"
    assert _sanitize.clean_text("x" * 50, limit=10) == "x" * 9 + "\u2026"
    assert _sanitize.clean_tree({"k\x1b[1m": ["v\x00", 1, None]}) == {"k": ["v", 1, None]}


def _outcome(path: str, status: str, **more) -> dict:
    """One entry of the remediate role's remediate_outcomes (roles/remediate/tasks/dockerfile.yml)."""
    entry = {"path": path, "image": "localhost/app:1", "status": status, "changed": status != "unchanged",
             "reason": "", "note": "", "fixes_applied": ["add_non_root_user"], "rules_fixed": ["NRA001"],
             "declined": [{"fix": "add_healthcheck", "reason": "no probe known", "partial": False}],
             "sha256_before": "a" * 64, "sha256_after": "b" * 64, "backup_file": path + ".bak", "rebuild": {}}
    entry.update(more)
    return entry


def test_remediation_outcomes_are_reported_per_host_and_counted():
    results = samples.host_results()
    results["web1"]["remediation"] = [
        _outcome("/srv/a/Dockerfile", "promoted", rebuild={"status": "promoted", "image_id": "sha256:1"},
                 rules_fixed=["NRA001", "NRA010", "NRA001"], verified=True,
                 other_builds=[{"build": "target worker: worker in compose.yaml", "rules": ["NRA011", "NRA001"]}]),
        _outcome("/srv/b/Dockerfile", "rolled_back", reason="NRA001 still fires on the new image",
                 rebuild={"status": "rolled_back"}, verified="False"),
        _outcome("/srv/c/Dockerfile", "refused", reason="changed since the scan", fixes_applied=[], rules_fixed=[]),
    ]
    results["web2"]["remediation"] = []
    report = build(results)
    validate(report)
    web1 = report["hosts"]["web1"]["remediation"]
    assert [e["status"] for e in web1] == ["promoted", "rolled_back", "refused"]
    assert web1[0]["rules_fixed"] == ["NRA001", "NRA010"] and web1[0]["rebuild"] == "promoted"
    assert web1[1]["reason"] == "NRA001 still fires on the new image" and web1[1]["rebuild"] == "rolled_back"
    # verified: only the image built from the current context and started; a templated "False" is false,
    # and an outcome without the key (written before it existed) is not verified
    assert [e["verified"] for e in web1] == [True, False, False]
    assert web1[0]["other_builds"] == [
        {"build": "target worker: worker in compose.yaml", "rules": ["NRA001", "NRA011"]}]
    assert web1[1]["other_builds"] == []
    assert web1[0]["declined"] == [{"fix": "add_healthcheck", "reason": "no probe known"}]
    # an outcome written before the list was renamed from "skipped" (Ansible hid such tasks as skipped)
    old = {k: v for k, v in _outcome("/srv/d/Dockerfile", "rewritten").items() if k != "declined"}
    old_entry = _report._remediation_entry("web1", dict(old, skipped=[{"fix": "set_heap_limit", "reason": "old"}]))
    assert old_entry["declined"] == [{"fix": "set_heap_limit", "reason": "old"}] and "skipped" not in old_entry
    assert report["hosts"]["web2"]["remediation"] == []
    assert "remediation" not in report["hosts"]["down1"]
    counts = report["summary"]["remediation"]
    assert counts["dockerfiles"] == 3
    assert {k: v for k, v in counts["by_status"].items() if v} == {"promoted": 1, "rolled_back": 1, "refused": 1}
    assert counts["rules_fixed"] == 2  # only what a kept rewrite fixed
    # the summary of a merge or a diff is recomputed from the hosts: the counts follow
    assert _report.compute_summary(report["hosts"])["remediation"] == counts


def test_a_scan_report_has_no_remediation_section_and_bad_outcomes_are_failures():
    report = build()
    assert "remediation" not in report["summary"]
    assert all("remediation" not in host for host in report["hosts"].values())
    results = samples.host_results()
    results["web1"]["remediation"] = [_outcome("/srv/a/Dockerfile", "exploded")]
    entry = build(results)["hosts"]["web1"]["remediation"][0]
    assert entry["status"] == "failed" and "unknown remediation status 'exploded'" in entry["reason"]
    results["web1"]["remediation"] = ["not a mapping"]
    with pytest.raises(_report.ReportError, match="remediation outcome must be a mapping"):
        build(results)
