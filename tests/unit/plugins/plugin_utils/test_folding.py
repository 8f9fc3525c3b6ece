"""Bounded findings: max_findings_per_rule folds repeated findings, and every report format says so."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from ansible.errors import AnsibleActionFail
from ansible_collections.refarch.containers.plugins.action.policy_check import run_policy_check
from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_facts import dockerfile_facts
from ansible_collections.refarch.containers.plugins.plugin_utils._findings import fold_findings, weight
from ansible_collections.refarch.containers.plugins.plugin_utils._report import build_report
from ansible_collections.refarch.containers.plugins.plugin_utils._report_writer import DEFAULT_CATALOG, render_all

REPO = Path(__file__).resolve().parents[4]
SCHEMA = json.loads((REPO / "policies" / "schema" / "report.schema.json").read_text(encoding="utf-8"))
DATE = "2026-11-28"
LINES = 300  # EXPOSE 80 lines: 300 NRA002 findings before folding


def _target(path: str) -> dict:
    return {"kind": "dockerfile", "host": "h", "path": path, "sha256": "0" * 64}


def test_fold_keeps_the_first_per_target_rule_and_waiver_state():
    findings = [{"rule_id": "R1", "line": n, "target": _target("/a"), "waived": n % 2 == 0} for n in range(1, 11)]
    findings += [{"rule_id": "R2", "line": 1, "target": _target("/a")}]
    findings += [{"rule_id": "R1", "line": n, "target": _target("/b")} for n in range(1, 4)]
    kept = fold_findings([dict(f) for f in findings], 2)
    assert [(f["target"]["path"], f["rule_id"], f["line"], f.get("folded")) for f in kept] == [
        ("/a", "R1", 1, None), ("/a", "R1", 2, None), ("/a", "R1", 3, 3), ("/a", "R1", 4, 3),
        ("/a", "R2", 1, None), ("/b", "R1", 1, None), ("/b", "R1", 2, 1)]
    assert sum(weight(f) for f in kept) == len(findings)
    assert fold_findings(findings, 0) is findings


@pytest.fixture(scope="module")
def folded_run():
    doc = dockerfile_facts("/srv/app/Dockerfile",
                           b"FROM node:20\n" + b"EXPOSE 80\n" * LINES + b'CMD ["node", "a.js"]\n')
    other = dockerfile_facts("/srv/other/Dockerfile", b"FROM node:20\nEXPOSE 80\nEXPOSE 81\n")
    args = {"facts": [doc, other], "evaluation_date": DATE, "max_findings_per_rule": 5}
    result = run_policy_check(args, "web1")
    unbounded = run_policy_check(dict(args, max_findings_per_rule=0), "web1")
    report = build_report({"web1": result}, engine="embedded", policy_revision="r", generated_at=DATE + "T00:00:00Z",
                          rules_catalog=json.loads(Path(DEFAULT_CATALOG).read_text(encoding="utf-8")))
    return result, unbounded, report


def test_policy_check_folds_and_still_counts_everything(folded_run):
    result, unbounded, _report = folded_run
    nra002 = [f for f in result["findings"]
              if f["rule_id"] == "NRA002" and f["target"]["path"] == "/srv/app/Dockerfile"]
    assert [f["line"] for f in nra002] == [2, 3, 4, 5, 6] and nra002[-1]["folded"] == LINES - 5
    assert len([f for f in unbounded["findings"] if f["rule_id"] == "NRA002"]) == LINES + 2
    # the counts are those of the unbounded run: folded findings count, they are only not listed
    for key in ("total", "open", "by_severity", "by_rule", "compliant_targets", "non_compliant_targets"):
        assert result["summary"][key] == unbounded["summary"][key], key
    assert result["summary"]["folded"] == LINES - 5 and unbounded["summary"]["folded"] == 0
    entry = next(t for t in result["targets"] if t["path"] == "/srv/app/Dockerfile")
    assert entry["open_findings"] == next(t for t in unbounded["targets"]
                                          if t["path"] == "/srv/app/Dockerfile")["open_findings"]


def test_bad_cap_is_refused():
    with pytest.raises(AnsibleActionFail, match="max_findings_per_rule"):
        run_policy_check({"facts": [], "evaluation_date": DATE, "max_findings_per_rule": -1}, "h")


def test_report_json_states_the_folding_per_target_and_rule(folded_run):
    _result, unbounded, report = folded_run
    errors = list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(report))
    assert not errors, [e.message for e in errors[:3]]
    target = next(t for t in report["hosts"]["web1"]["targets"] if t["path"] == "/srv/app/Dockerfile")
    assert target["folded"] == {"NRA002": LINES - 5}
    assert "folded" not in next(t for t in report["hosts"]["web1"]["targets"] if t["path"] == "/srv/other/Dockerfile")
    assert report["summary"]["folded_findings"] == LINES - 5
    assert report["summary"]["findings"] == unbounded["summary"]["open"]
    assert report["summary"]["findings_by_rule"]["NRA002"] == LINES + 2


def test_every_format_says_how_many_were_folded(folded_run):
    _result, _unbounded, report = folded_run
    files = {fmt: text for fmt, (_name, text) in render_all(report, ("json", "junit", "sarif", "html", "text")).items()}
    words = f"{LINES - 5:,} more NRA002 findings on this target folded"
    sarif = json.loads(files["sarif"])
    notes = [r for r in sarif["runs"][0]["results"] if r.get("properties", {}).get("folded")]
    assert len(notes) == 1 and notes[0]["level"] == "note" and words in notes[0]["message"]["text"]
    assert notes[0]["ruleId"] == "NRA002" and "region" not in notes[0]["locations"][0]["physicalLocation"]
    junit = ET.fromstring(files["junit"])  # noqa: S314 - our own output
    failures = [f for f in junit.iter("failure") if words in (f.text or "")]
    assert len(failures) == 1 and f"(+{LINES - 1:,} more)" in failures[0].get("message")
    assert words in files["html"]
    assert f"Folded: {LINES - 5:,} finding(s)" in files["text"]
