"""The remediation_claims filter over a real policy_check (embedded engine) of a rewrite's facts."""
from __future__ import annotations

from ansible_collections.refarch.containers.plugins.action.policy_check import run_policy_check
from ansible_collections.refarch.containers.plugins.filter.remediation import remediation_claims
from ansible_collections.refarch.containers.plugins.module_utils import _dockerfile_facts
from ansible_collections.refarch.containers.plugins.module_utils import _rewriter as R

PATH = "/srv/shop/Dockerfile"
TEXT = "FROM node:22-bookworm-slim\nWORKDIR /app\nCOPY . .\nEXPOSE 80\nCMD node server.js\n"
RULES = ["NRA001", "NRA002", "NRA011"]


def _module_result(text: str, fixes: list) -> dict:
    """What dockerfile_remediate returns for ``text`` (no application source: NRA002 cannot be shown)."""
    res = R.rewrite(text, fixes, {"evaluation_date": "2026-11-28"})
    facts = _dockerfile_facts.dockerfile_facts(PATH, res["text"].encode(), include_instructions=False)
    return {"changed": res["text"] != text, "applied": res["applied"], "declined": res["skipped"],
            "fix_status": res["fix_status"], "rewritten_facts": facts}


def test_rules_fixed_only_when_claimed_and_gone():
    rewrite = _module_result(TEXT, RULES)
    evaluation = run_policy_check({"facts": {"dockerfiles": [rewrite["rewritten_facts"]]}, "engine": "embedded",
                                   "fail_on": "none", "evaluation_date": "2026-11-28"}, "localhost")
    out = remediation_claims(rewrite, evaluation, RULES)
    assert out["evaluated"] is True
    assert out["rules_fixed"] == ["NRA001", "NRA011"]
    (nra002,) = out["not_fixed"]
    assert nra002["rule_id"] == "NRA002" and nra002["reason"].startswith("remap_privileged_ports: skipped (EXPOSE 80")
    assert {e["fix"]: e["status"] for e in out["fix_status"]} == {
        "exec_form_cmd": "applied", "remap_privileged_ports": "skipped", "add_non_root_user": "applied"}
    # a claim the evaluation refutes is not reported fixed, and the fix becomes partly applied
    rewrite["fix_status"][0]["claims"] = ["NRA011"]
    findings = [{"rule_id": "NRA011", "target": {"kind": "dockerfile", "path": PATH}, "waived": False}]
    out = remediation_claims(rewrite, {"findings": findings}, RULES)
    assert out["rules_fixed"] == ["NRA001"] and out["refuted"] == ["NRA011"]
    assert out["declined"][-1] == {"fix": "exec_form_cmd", "partial": True, "reason": (
        "partly applied: NRA011 still raised on the rewritten Dockerfile")}


def test_no_evaluation_fixes_nothing():
    rewrite = _module_result(TEXT, RULES)
    nra000 = [{"rule_id": "NRA000", "target": {"kind": "dockerfile", "path": PATH}, "waived": False}]
    for evaluation in ({"failed": True, "msg": "engine crashed"}, {"skipped": True}, {}, {"findings": nra000},
                       None):
        out = remediation_claims(rewrite, evaluation, RULES)
        assert out["rules_fixed"] == [] and out["evaluated"] is False, evaluation
        assert {n["rule_id"] for n in out["not_fixed"]} == set(RULES)
    unchanged = _module_result("FROM node:22\nUSER 1000\nCMD [\"node\", \"a.js\"]\n", ["NRA001"])
    unchanged.pop("rewritten_facts")
    assert remediation_claims(unchanged, {"findings": []}, ["NRA001"])["rules_fixed"] == []


def test_outcome_line_says_fixed_only_for_fixed_rules():
    from ansible_collections.refarch.containers.plugins.filter.remediation import (  # noqa: PLC0415
        remediation_outcome_line,
    )
    line = remediation_outcome_line({"path": PATH, "status": "promoted", "rules_fixed": ["NRA001"],
                                     "not_fixed": [{"rule_id": "NRA002", "reason": "skipped"}], "reason": "",
                                     "note": ""})
    assert line == f"{PATH}: promoted [NRA001] not fixed: NRA002"
    line = remediation_outcome_line({"path": PATH, "status": "rewritten", "rules_fixed": ["NRA001"], "reason": "",
                                     "other_builds": [{"build": "target worker: worker in compose.yaml",
                                                       "rules": ["NRA001", "NRA011"]}]})
    assert line == (f"{PATH}: rewritten [NRA001] - declared build target worker: worker in compose.yaml not "
                    "remediated (open: NRA001, NRA011)")
