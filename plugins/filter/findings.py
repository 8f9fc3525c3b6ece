# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over policy_check findings: JMESPath queries, summaries, severity selection.

Documentation of each filter lives beside this file (``findings_query.yml``, ...).
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.refarch.containers.plugins.plugin_utils._vocabulary import (
    SEVERITIES,
    SEVERITIES_ASCENDING,
    SEVERITY_RANK,
)

try:
    import jmespath
    HAS_JMESPATH = True
except ImportError:  # pragma: no cover - depends on the environment
    HAS_JMESPATH = False


def _findings(value: Any, name: str) -> list[dict[str, Any]]:
    if isinstance(value, dict) and "findings" in value:  # a registered policy_check result
        value = value["findings"]
    if not isinstance(value, list) or not all(isinstance(f, dict) for f in value):
        raise AnsibleFilterError(f"{name}: expected a list of findings or a policy_check result")
    return value


def findings_query(value: Any, expression: str) -> Any:
    """Evaluate a JMESPath ``expression`` over the findings list."""
    if not HAS_JMESPATH:
        raise AnsibleFilterError("findings_query needs the jmespath Python library on the controller")
    data = _findings(value, "findings_query")
    try:
        return jmespath.search(expression, data)
    except jmespath.exceptions.JMESPathError as exc:
        raise AnsibleFilterError(f"findings_query: invalid JMESPath expression {expression!r}: {exc}") from exc


def findings_by_severity(value: Any, minimum: str = "info", include_waived: bool = False) -> list[dict[str, Any]]:
    """Findings whose severity is ``minimum`` or higher (waived ones only when ``include_waived``)."""
    if minimum not in SEVERITIES_ASCENDING:
        raise AnsibleFilterError(f"findings_by_severity: minimum must be one of {', '.join(SEVERITIES_ASCENDING)}")
    floor = SEVERITIES_ASCENDING.index(minimum)
    out = []
    for f in _findings(value, "findings_by_severity"):
        sev = str(f.get("severity"))
        rank = SEVERITY_RANK.get(sev, SEVERITY_RANK["critical"])
        if rank >= floor and (include_waived or not f.get("waived")):
            out.append(f)
    return out


def findings_summary(value: Any) -> dict[str, Any]:
    """Counts of open findings by severity, rule and host, plus waived and target counts."""
    by_severity = dict.fromkeys(SEVERITIES, 0)
    by_rule: dict[str, int] = {}
    by_host: dict[str, int] = {}
    targets: set[tuple[str, str]] = set()
    failing: set[tuple[str, str]] = set()
    waived = 0
    for f in _findings(value, "findings_summary"):
        t = f.get("target") or {}
        key = (str(t.get("host")), str(t.get("path") or t.get("image") or t.get("name") or t.get("id")))
        targets.add(key)
        if f.get("waived"):
            waived += 1
            continue
        sev = str(f.get("severity") or "info")
        by_severity[sev] = by_severity.get(sev, 0) + 1
        rid = str(f.get("rule_id"))
        by_rule[rid] = by_rule.get(rid, 0) + 1
        by_host[key[0]] = by_host.get(key[0], 0) + 1
        failing.add(key)
    return {"open": sum(by_severity.values()), "waived": waived, "by_severity": by_severity,
            "by_rule": dict(sorted(by_rule.items())), "by_host": dict(sorted(by_host.items())),
            "targets_with_findings": len(targets), "targets_with_open_findings": len(failing)}


class FilterModule:
    """refarch.containers findings filters."""

    def filters(self) -> dict[str, Any]:
        """Map filter names to functions."""
        return {
            "findings_query": findings_query,
            "findings_by_severity": findings_by_severity,
            "findings_summary": findings_summary,
        }
