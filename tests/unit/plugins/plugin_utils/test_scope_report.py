"""Node scope from policy_check to every report format: a Node.js target, an unknown one and two targets that
are not Node.js (a Go binary on distroless, a static site that a Node.js stage builds for caddy), evaluated by
the real bundle in the real embedded engine in each node_scope mode, then rendered.
"""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from ansible.errors import AnsibleActionFail
from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_facts import dockerfile_facts
from ansible_collections.refarch.containers.plugins.plugin_utils import _html, _junit, _report, _sarif, _scope, _text
from ansible_collections.refarch.containers.plugins.plugin_utils._evaluation import run_policy_check

REPO = Path(__file__).resolve().parents[4]
SCHEMA = json.loads((REPO / "policies" / "schema" / "report.schema.json").read_text(encoding="utf-8"))
CATALOG = json.loads((REPO / "policies" / "refarch" / "catalog" / "data.json").read_text(encoding="utf-8"))
DATE = "2026-11-28"

GO = ('FROM golang:1.22 AS build\nRUN go build -o /server .\n'
      'FROM gcr.io/distroless/static\nCOPY --from=build /server /server\nEXPOSE 80\nENTRYPOINT /server\n')
WEB = ('FROM node:22.11.0-bookworm-slim AS build\nCOPY . .\nRUN npm ci && npm run build\n'
       'FROM caddy:2.8.4-alpine\nCOPY --from=build /app/dist /srv\nUSER 1000\nEXPOSE 8080\n'
       'CMD ["caddy", "file-server"]\n')
NODE = 'FROM node:22.11.0-bookworm-slim\nCOPY . .\nCMD ["npm", "start"]\n'
UNKNOWN = 'ARG BASE\nFROM ${BASE}\nUSER 1000\nCMD ["./start.sh"]\n'
NODE_RULES = {r for r, m in CATALOG["rules"].items() if m["scope"] == "node"}


@pytest.fixture(scope="module")
def documents() -> list[dict]:
    return [dockerfile_facts(f"/srv/{name}/Dockerfile", text.encode())
            for name, text in (("go", GO), ("web", WEB), ("api", NODE), ("legacy", UNKNOWN))]


@pytest.fixture(scope="module")
def results(documents) -> dict[str, dict]:
    return {mode: run_policy_check({"facts": {"dockerfiles": documents}, "evaluation_date": DATE,
                                    "node_scope": mode}, "web1")
            for mode in ("node", "neutral", "all")}


def _by_path(items: list[dict]) -> dict[str, dict]:
    return {t["target"]["path"] if "target" in t else t["path"]: t for t in items}


def _rules(result: dict, path: str) -> set[str]:
    return {f["rule_id"] for f in result["findings"] if f["target"]["path"] == path}


def test_policy_check_judges_by_mode(documents, results):
    assert [_scope.classification(d) for d in documents] == ["not_node", "not_node", "node", "unknown"]
    node, neutral, every = results["node"], results["neutral"], results["all"]
    for path in ("/srv/go/Dockerfile", "/srv/web/Dockerfile"):
        assert _rules(node, path) == set()
        assert _rules(neutral, path) and not _rules(neutral, path) & NODE_RULES
        assert _rules(every, path) & NODE_RULES
    for path in ("/srv/api/Dockerfile", "/srv/legacy/Dockerfile"):  # node and unknown: every rule, every mode
        assert _rules(node, path) & NODE_RULES and _rules(node, path) == _rules(every, path) == _rules(neutral, path)
    targets = _by_path(node["targets"])
    assert targets["/srv/go/Dockerfile"]["node_scope"]["judged"] is False
    assert targets["/srv/go/Dockerfile"]["node_scope"]["rules"] == []
    assert targets["/srv/api/Dockerfile"]["node_scope"] == {
        "classification": "node", "judged": True, "rules": ["neutral", "node"],
        "evidence": documents[2]["node_scope"]["evidence"]}
    assert _by_path(neutral["targets"])["/srv/go/Dockerfile"]["node_scope"]["rules"] == ["neutral"]
    assert node["summary"]["not_judged_targets"] == 2 and node["summary"]["compliant_targets"] == 0
    assert node["summary"]["targets_by_node_scope"] == {"node": 1, "not_node": 2, "unknown": 1}
    assert neutral["summary"]["not_judged_targets"] == 0
    assert node["msg"].endswith("0/4 target(s) compliant, 2 not Node.js (not judged)")


def test_node_scope_option_is_validated():
    with pytest.raises(AnsibleActionFail, match="node_scope must be one of node, neutral, all"):
        run_policy_check({"facts": {"dockerfiles": []}, "node_scope": "everything"}, "web1")


def _report_for(result: dict) -> dict:
    report = _report.build_report({"web1": result}, engine="embedded", policy_revision="rev",
                                  generated_at="2026-11-28T11:00:00Z", rules_catalog=CATALOG)
    errors = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(report), key=lambda e: e.json_path)
    assert not errors, errors[0]
    return report


def test_report_counts_not_node_targets_apart(results):
    report = _report_for(results["node"])
    statuses = {t["path"]: t["status"] for t in report["hosts"]["web1"]["targets"]}
    assert statuses == {"/srv/go/Dockerfile": "not_node", "/srv/web/Dockerfile": "not_node",
                        "/srv/api/Dockerfile": "noncompliant", "/srv/legacy/Dockerfile": "noncompliant"}
    summary = report["summary"]
    assert summary["not_node_targets"] == 2 and summary["compliant_targets"] == 0
    assert summary["compliance_percent"] == 0.0  # of the 2 judged, not of 4
    assert summary["targets_by_node_scope"] == {"node": 1, "not_node": 2, "unknown": 1}
    assert report["rules"]["NRA009"]["scope"] == "node" and report["rules"]["NRA001"]["scope"] == "neutral"
    neutral = _report_for(results["neutral"])
    assert neutral["summary"]["not_node_targets"] == 0
    assert {t["path"]: t["status"] for t in neutral["hosts"]["web1"]["targets"]}["/srv/go/Dockerfile"] == \
        "noncompliant"


def test_text_html_junit_sarif_show_the_scope(results):
    report = _report_for(results["node"])
    text = _text.render_text(report)
    assert "2 not Node.js, not judged" in text and "Node scope: 1 node, 2 not Node.js, 1 unknown" in text
    assert "web1:/srv/go/Dockerfile (gcr.io/distroless/static (an OS image without Node.js))" in text
    html = _html.render_html(report)
    assert 'id="kpi-not-node"' in html and "badge ns-not_node" in html and "badge ns-unknown" in html
    assert "Node scope: not_node (not judged)" in html and "caddy:2.8.4-alpine" in html

    root = ET.fromstring(_junit.render_junit(report).encode())  # noqa: S314 - our own output
    cases = [(c.get("classname"), c.get("name")) for c in root.iter("testcase")]
    go_cases = [name for cls, name in cases if cls == "/srv/go/Dockerfile"]
    assert go_cases == ["node scope"]
    (scope_case,) = [c for c in root.iter("testcase") if c.get("classname") == "/srv/go/Dockerfile"]
    assert scope_case.find("skipped").get("message") == (
        "not Node.js, not judged: gcr.io/distroless/static (an OS image without Node.js)")
    assert len([n for cls, n in cases if cls == "/srv/api/Dockerfile"]) == len(CATALOG["rules"])

    neutral_root = ET.fromstring(_junit.render_junit(_report_for(results["neutral"])).encode())  # noqa: S314
    go_neutral = {c.get("name").split()[0] for c in neutral_root.iter("testcase")
                  if c.get("classname") == "/srv/go/Dockerfile"}
    assert "NRA001" in go_neutral and "NRA009" not in go_neutral and "node" in go_neutral

    sarif = _sarif.render_sarif(report)
    run = sarif["runs"][0]
    notes = [n for n in run["invocations"][0]["toolExecutionNotifications"] if n["descriptor"]["id"] == "not-node"]
    assert len(notes) == 2 and "not Node.js, not judged" in notes[0]["message"]["text"]
    assert {r["properties"]["nodeScope"] for r in run["results"]} == {"node", "unknown"}
    assert run["properties"]["summary"]["not_node_targets"] == 2
    assert {d["id"]: d["properties"].get("scope") for d in run["tool"]["driver"]["rules"]}["NRA013"] == "node"


def test_summary_line_counts_not_node(results):
    report = _report_for(results["node"])
    lines = _text.format_summary(report["summary"], {})
    assert lines[0].endswith(", 2 not Node.js (not judged)")


def test_refarch_node_scope_is_checked_before_any_host():
    from ansible_collections.refarch.containers.plugins.plugin_utils._settings import validate  # noqa: PLC0415
    errors, warnings = validate({"refarch_node_scope": {"extra vars": "everything"},
                                 "refarch_node_scopes": {"": "all"}}, "scan")
    assert errors == ["refarch_node_scope: 'everything' is not one of node, neutral, all (set for extra vars)"]
    assert warnings == ["refarch_node_scopes: unknown variable; did you mean refarch_node_scope?"]
    assert validate({"refarch_node_scope": {"web1": "neutral"}}, "remediate") == ([], [])


def test_rebuild_probe_is_node_whatever_the_candidate():
    from ansible_collections.refarch.containers.plugins.filter.remediation import rebuild_probe  # noqa: PLC0415
    from ansible_collections.refarch.containers.plugins.module_utils._image_facts import image_facts  # noqa: PLC0415
    candidate = image_facts({"Id": "sha256:" + "1" * 64, "Config": {"Cmd": ["python", "app.py"]}})
    assert candidate["node_scope"]["classification"] == "not_node"
    for variant in (0, 1):
        assert rebuild_probe(candidate, variant)["node_scope"]["classification"] == "node"


def _rule_rows(html: str) -> dict[str, tuple[int, str]]:
    """``rule -> (targets failing, compliance %)`` from the dashboard's "Compliance by rule" table."""
    section = html[html.index('<section id="rules">'):]
    section = section[:section.index("</section>")]
    rows = {}
    for row in section.split("<tr>")[2:]:
        cells = [c.split("<")[0] for c in row.split('<td class="num">')[1:]]
        rows[row.split("</td>")[0].rsplit(">", 1)[-1]] = (int(cells[0]), cells[-1])
    return rows


@pytest.mark.parametrize("mode", ["node", "neutral", "all"])
def test_compliance_by_rule_counts_only_the_targets_the_rule_judged(results, mode):
    """A not-Node.js target the run did not judge (or judged with the neutral rules only) is not counted as
    compliant with the rules that did not judge it."""
    report = _report_for(results[mode])
    targets = report["hosts"]["web1"]["targets"]
    html = _html.render_html(report)
    judged = [t for t in targets if t["node_scope"]["rules"]]
    assert f"{len(judged)} judged targets" in html
    rows = _rule_rows(html)
    assert set(rows) == set(CATALOG["rules"])
    for rid, meta in CATALOG["rules"].items():
        applicable = [t for t in judged if meta["scope"] in t["node_scope"]["rules"]]
        failing = [t for t in applicable if any(f["rule_id"] == rid for f in t["findings"])]
        assert rows[rid][0] == len(failing), rid
        expected = f"{(len(applicable) - len(failing)) * 100 / len(applicable):.0f}%" if applicable else "n/a"
        assert rows[rid][1] == expected, (rid, rows[rid], len(applicable))
    if mode == "node":  # 2 of the 4 targets are not Node.js and not judged: a node rule is judged on 2
        assert len(judged) == 2
