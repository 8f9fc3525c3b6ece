from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.refarch.containers.plugins.filter.remediation import remediation_plan


def _f(rule, fix, path="/srv/a/Dockerfile", kind="dockerfile", waived=False):
    return {"rule_id": rule, "fix": fix, "waived": waived,
            "target": {"kind": kind, "path": path, "sha256": "ab" * 32}}


RESULT = {
    "targets": [{"kind": "dockerfile", "path": "/srv/a/Dockerfile", "image": "localhost/a:1"}],
    "findings": [
        _f("NRA001", "add_non_root_user"), _f("NRA010", "replace_npm_start"), _f("NRA006", "manual"),
        _f("NRA002", "remap_privileged_ports", waived=True), _f("NRA001", "add_non_root_user", kind="image"),
        _f("NRA011", "exec_form_cmd", path="/srv/b/Dockerfile"),
    ],
}


def test_plan_groups_fixable_open_findings_by_file():
    plan = remediation_plan(RESULT)
    assert [p["path"] for p in plan] == ["/srv/a/Dockerfile", "/srv/b/Dockerfile"]
    first = plan[0]
    assert first["fixes"] == ["add_non_root_user", "replace_npm_start"]
    assert first["image"] == "localhost/a:1" and first["context"] == "/srv/a"
    assert first["sha256"] == "ab" * 32
    assert {f["rule_id"] for f in first["findings"]} == {"NRA001", "NRA010"}


def test_plan_respects_selection_by_rule_or_fix():
    assert [p["fixes"] for p in remediation_plan(RESULT, ["NRA010"])] == [["replace_npm_start"]]
    assert [p["path"] for p in remediation_plan(RESULT, "exec_form_cmd")] == ["/srv/b/Dockerfile"]
    assert remediation_plan(RESULT, []) == []


def test_plan_rejects_nonsense():
    with pytest.raises(AnsibleFilterError):
        remediation_plan(["not", "a", "dict"])
    with pytest.raises(AnsibleFilterError):
        remediation_plan(RESULT, 42)
