"""refarch.containers findings filters (findings_query, findings_by_severity, findings_summary)."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.refarch.containers.plugins.filter.findings import (
    FilterModule,
    findings_by_severity,
    findings_query,
    findings_summary,
)


def f(rule, severity, host="web1", path="/srv/a/Dockerfile", waived=False):
    return {"rule_id": rule, "severity": severity, "line": 3, "waived": waived,
            "target": {"kind": "dockerfile", "host": host, "path": path, "sha256": "x"}}


FINDINGS = [f("NRA001", "high"), f("NRA002", "medium", waived=True),
            f("NRA014", "critical", host="web2", path="/srv/b/Dockerfile"),
            f("NRA006", "info")]
RESULT = {"changed": False, "findings": FINDINGS, "summary": {}}


def test_registered_filters():
    assert set(FilterModule().filters()) == {"findings_query", "findings_by_severity", "findings_summary"}


def test_query_over_list_and_result():
    expr = "[?!waived && severity=='high'].target.path"
    assert findings_query(FINDINGS, expr) == ["/srv/a/Dockerfile"]
    assert findings_query(RESULT, "[?target.host=='web2'].rule_id") == ["NRA014"]
    with pytest.raises(AnsibleFilterError, match="JMESPath"):
        findings_query(FINDINGS, "[?")


def test_by_severity():
    assert [x["rule_id"] for x in findings_by_severity(RESULT, "high")] == ["NRA001", "NRA014"]
    assert [x["rule_id"] for x in findings_by_severity(FINDINGS, "medium", True)] == ["NRA001", "NRA002", "NRA014"]
    assert len(findings_by_severity(FINDINGS)) == 3
    with pytest.raises(AnsibleFilterError):
        findings_by_severity(FINDINGS, "urgent")


def test_summary():
    s = findings_summary(RESULT)
    assert s["open"] == 3 and s["waived"] == 1
    assert s["by_severity"] == {"critical": 1, "high": 1, "medium": 0, "low": 0, "info": 1}
    assert s["by_rule"] == {"NRA001": 1, "NRA006": 1, "NRA014": 1}
    assert s["by_host"] == {"web1": 2, "web2": 1}
    assert s["targets_with_findings"] == 2 and s["targets_with_open_findings"] == 2
    with pytest.raises(AnsibleFilterError):
        findings_summary("nope")
    with pytest.raises(AnsibleFilterError):
        findings_summary([1, 2])
