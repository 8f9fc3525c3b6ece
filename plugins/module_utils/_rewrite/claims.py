# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a rewrite may claim: each fix's status, its precondition, and which rules are fixed.

Each requested fix gets one status entry (``rewrite()["fix_status"]``, the module's ``fix_status``)::

    {"fix": "remap_privileged_ports", "rule_ids": ["NRA002"],
     "status": "applied" | "partly_applied" | "skipped" | "not_needed",
     "reason": "" | "why it was partly applied or skipped",
     "claims": ["NRA002"],          # rules the fix stands behind (empty unless applied or partly applied)
     "precondition": null | "what the fix relied on (checked again on the final text)"}

A rule is *fixed* only when (:func:`decide`) its fix claims it **and** the rewritten Dockerfile's facts, evaluated
with the same policies, no longer raise it. The evaluation runs on the controller (the remediate role calls
``policy_check`` on the ``rewritten_facts`` the module returns, then the ``remediation_claims`` filter calls
:func:`decide`); a failed evaluation fixes nothing. A fix whose claimed rule still fires is reported
``partly_applied`` with that reason.

Pure, standard library only (host and controller both import it).
"""
from __future__ import annotations

from ansible_collections.refarch.containers.plugins.module_utils._fix_rules import FIX_RULES

APPLIED, PARTLY_APPLIED, SKIPPED, NOT_NEEDED = "applied", "partly_applied", "skipped", "not_needed"
STATUSES = (APPLIED, PARTLY_APPLIED, SKIPPED, NOT_NEEDED)
_PARTLY = "partly applied: "
_NOT_NEEDED = "not needed: "
RULE_FIXES = {rule: fix for fix, rules in FIX_RULES.items() for rule in rules}


def check_precondition(fix: str, precondition: dict | None, facts: dict, floor: int = 1024) -> tuple:
    """(holds, why not) of a fix's precondition on the final text's facts.

    ``remap_privileged_ports``: the port variable the application reads is set (ENV) to the new port, the port is
    not privileged, no privileged port is exposed and an exposed port is that port. Other fixes decide their
    preconditions while they rewrite (they skip when one fails) and record none.
    """
    if fix != "remap_privileged_ports" or not precondition:
        return True, ""
    final = facts.get("final_stage") or {}
    var, port = precondition.get("variable"), precondition.get("port")
    value = str(((final.get("env") or {}).get(var) or {}).get("value") or "").strip("\"'")
    if value != str(port):
        return False, f"the final stage does not set {var}={port} (it sets {value or 'nothing'})"
    if not isinstance(port, int) or port < floor:
        return False, f"{var}={port} is a privileged port"
    exposed = [p.get("port") for p in final.get("exposed_ports") or []]
    low = [p for p in exposed if isinstance(p, int) and p < floor]
    if low:
        return False, "the final stage still exposes " + ", ".join(map(str, low))
    if exposed and port not in exposed:
        return False, f"EXPOSE does not name port {port}, which the application listens on"
    return True, ""


def fix_statuses(order: list, applied: list, skipped: list, preconditions: dict, facts_of_final=None, *,
                 floor: int = 1024) -> list:
    """One status entry per fix in ``order`` from the rewriter's ``applied``/``skipped`` lists.

    ``preconditions`` maps a fix to what it relied on; ``facts_of_final()`` gives the final text's facts for
    :func:`check_precondition` (called only when a fix recorded a precondition).
    """
    out = []
    for fix in order:
        rules = list(FIX_RULES.get(fix, []))
        done = next((a for a in applied if a.get("fix") == fix), None)
        notes = [s for s in skipped if s.get("fix") == fix]
        partial = next((s for s in notes if s.get("partial")), None)
        entry = {"fix": fix, "rule_ids": rules, "status": SKIPPED, "reason": "", "claims": [], "precondition": None}
        if done is not None:
            entry["status"] = PARTLY_APPLIED if partial else APPLIED
            entry["reason"] = partial["reason"][len(_PARTLY):] if partial and partial["reason"].startswith(_PARTLY) \
                else (partial or {}).get("reason", "")
            entry["claims"] = rules
            pre = preconditions.get(fix)
            if pre:
                entry["precondition"] = "the application reads {variable}, set to {port} ({evidence})".format(**pre)
                holds, why = check_precondition(fix, pre, facts_of_final() if facts_of_final else {}, floor)
                if not holds:
                    entry.update(status=PARTLY_APPLIED, claims=[],
                                 reason="; ".join(r for r in (entry["reason"], "precondition failed: " + why) if r))
        elif notes:
            first = notes[0]
            if first.get("not_needed"):
                entry["status"] = NOT_NEEDED
                reason = first.get("reason", "")
                entry["reason"] = reason[len(_NOT_NEEDED):] if reason.startswith(_NOT_NEEDED) else reason
            else:
                entry["reason"] = first.get("reason", "")
        out.append(entry)
    return out


def status_text(entry: dict) -> str:
    """``applied`` / ``partly applied (why)`` / ``skipped (why)`` / ``not needed (why)``."""
    word = entry.get("status", SKIPPED).replace("_", " ")
    return f"{word} ({entry['reason']})" if entry.get("reason") else word


def decide(fix_status: list, rules: list, rules_after, evaluated: bool = True) -> dict:
    """Which of ``rules`` (the rules the remediation meant to fix) are fixed.

    ``rules_after``: the rules the evaluation of the rewritten Dockerfile raises (not waived). ``evaluated`` is
    false when that evaluation failed: then nothing is fixed. Returns ``{"rules_fixed", "not_fixed": [{"rule_id",
    "reason"}], "fix_status": [entries, a claimed rule that still fires turning its fix partly_applied],
    "refuted": [rule ids a fix claimed that still fire]}``.
    """
    after = {str(r) for r in (rules_after or [])}
    by_fix = {e.get("fix"): dict(e) for e in fix_status or []}
    fixed, not_fixed, refuted = [], [], []
    for rule in sorted({str(r) for r in rules or []}):
        entry = by_fix.get(RULE_FIXES.get(rule))
        if not evaluated:
            not_fixed.append({"rule_id": rule, "reason": "the rewritten Dockerfile could not be re-evaluated"})
        elif entry is None or rule not in (entry.get("claims") or []):
            why = status_text(entry) if entry else "its fix was not requested"
            not_fixed.append({"rule_id": rule, "reason": f"{RULE_FIXES.get(rule, 'manual')}: {why}"})
        elif rule in after:
            refuted.append(rule)
            not_fixed.append({"rule_id": rule, "reason": "still raised on the rewritten Dockerfile"})
        else:
            fixed.append(rule)
    for entry in by_fix.values():
        still = [r for r in entry.get("claims") or [] if r in refuted]
        if still:
            why = ", ".join(still) + " still raised on the rewritten Dockerfile"
            entry["status"] = PARTLY_APPLIED
            entry["claims"] = [r for r in entry["claims"] if r not in still]
            entry["reason"] = "; ".join(r for r in (entry.get("reason"), why) if r)
    return {"rules_fixed": fixed, "not_fixed": not_fixed, "refuted": refuted,
            "fix_status": [by_fix[e.get("fix")] for e in fix_status or []]}
