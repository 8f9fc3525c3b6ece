"""The severities and the report schema version are defined once (plugin_utils/_vocabulary.py).

Python code imports them; the places that cannot import Python (role argument specs, the
report role's gate, filter documentation, the report schema, the rule catalog generator,
the rule METADATA) must say the same, in the same order.
"""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import yaml
from ansible_collections.refarch.containers.plugins.plugin_utils import _vocabulary as V

REPO = Path(__file__).resolve().parents[4]
ASCENDING = list(V.SEVERITIES_ASCENDING)


def test_the_two_orders_and_the_rank_agree() -> None:
    assert list(V.SEVERITIES) == ["critical", "high", "medium", "low", "info"]
    assert ASCENDING == list(reversed(V.SEVERITIES))
    assert sorted(V.SEVERITY_RANK, key=V.SEVERITY_RANK.get) == ASCENDING
    assert [V.severity_rank(s) for s in V.SEVERITIES] == list(range(len(V.SEVERITIES)))
    assert V.normalize_severity("WARNING") == "medium" and V.normalize_severity(None) == "info"
    assert V.normalize_severity("bogus") == "info"


def test_no_python_file_writes_its_own_severity_list() -> None:
    written = re.compile(r"""\(\s*["'](?:critical|info)["']\s*,\s*["'](?:high|low)["']""")
    offenders = [str(p.relative_to(REPO)) for p in sorted((REPO / "plugins").rglob("*.py"))
                 if p.name != "_vocabulary.py" and written.search(p.read_text(encoding="utf-8"))]
    assert not offenders, f"severity lists outside _vocabulary.py: {offenders}"


def test_what_cannot_import_python_says_the_same() -> None:
    report_spec = yaml.safe_load((REPO / "roles/report/meta/argument_specs.yml").read_text(encoding="utf-8"))
    fail_on = report_spec["argument_specs"]["main"]["options"]["refarch_fail_on"]["choices"]
    assert fail_on == ["none", *ASCENDING]

    # the role's gate writes no severity order of its own: the report action counts with _vocabulary's
    role_tasks = (REPO / "roles/report/tasks/main.yml").read_text(encoding="utf-8")
    tasks = yaml.safe_load(role_tasks)
    report_task = next(t for t in tasks if "refarch.containers.report" in t)
    assert report_task["refarch.containers.report"]["fail_on"] == "{{ refarch_fail_on }}"
    assert not re.search(r"\b(?:critical|high|medium|low)\b\s*[,\]]", role_tasks), "a severity list in the role"
    from ansible_collections.refarch.containers.plugins.action.report import ARGUMENT_SPEC  # noqa: PLC0415
    assert ARGUMENT_SPEC["fail_on"]["choices"] == ["none", *ASCENDING]

    filter_doc = yaml.safe_load((REPO / "plugins/filter/findings_by_severity.yml").read_text(encoding="utf-8"))
    assert filter_doc["DOCUMENTATION"]["options"]["minimum"]["choices"] == ASCENDING

    schema = json.loads((REPO / "policies/schema/report.schema.json").read_text(encoding="utf-8"))
    assert schema["$defs"]["severity"]["enum"] == list(V.SEVERITIES)
    assert schema["$defs"]["severityCounts"]["required"] == list(V.SEVERITIES)
    assert re.fullmatch(schema["properties"]["schema_version"]["pattern"], V.SCHEMA_VERSION)

    generator = ast.parse((REPO / "tools/gen_rule_catalog.py").read_text(encoding="utf-8"))
    assigned = {t.id: n.value for n in generator.body if isinstance(n, ast.Assign)
                for t in n.targets if isinstance(t, ast.Name)}
    assert ast.literal_eval(assigned["SEVERITIES"]) == V.SEVERITIES

    catalog = json.loads((REPO / "policies/refarch/catalog/data.json").read_text(encoding="utf-8"))
    assert {r["severity"] for r in catalog["rules"].values()} <= set(V.SEVERITIES)
