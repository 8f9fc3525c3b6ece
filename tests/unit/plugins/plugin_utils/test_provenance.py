"""Every report names what judged it: engine, backend and its version, policy revision, collection version.

plugins/plugin_utils/_provenance.py builds the block; report.json carries it and JUnit, SARIF, HTML,
the text summary and the console callback render it, with a warning when the embedded engine ran on
regopy because regorus was not importable.
"""
from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import report_samples as samples
from ansible_collections.refarch.containers.plugins.callback.refarch_summary import format_summary
from ansible_collections.refarch.containers.plugins.plugin_utils import _html, _junit, _provenance, _report, _sarif
from ansible_collections.refarch.containers.plugins.plugin_utils._text import render_text
from test_report import validate

REPO = Path(__file__).resolve().parents[4]
STAMP = "2026-11-28T11:00:00Z"
FAST = {"backend": "regorus", "backend_version": "0.5.0"}
SLOW = {"backend": "regopy", "backend_version": "1.5.2", "backend_fallback": "refarch_regorus: No module named x"}


def build(judged: dict) -> dict:
    return _report.build_report(samples.host_results(), engine=judged["engine"], policy_revision="rev-1",
                                generated_at=STAMP, rules_catalog=samples.CATALOG, judged_by=judged)


def test_collection_version_comes_from_the_installed_manifest_then_galaxy_yml(tmp_path):
    assert _provenance.collection_version(tmp_path) is None
    (tmp_path / "galaxy.yml").write_text("namespace: refarch\nname: containers\nversion: '2.3.4'  # x\n")
    assert _provenance.collection_version(tmp_path) == "2.3.4"
    (tmp_path / "MANIFEST.json").write_text(json.dumps({"collection_info": {"version": "2.3.5"}}))
    assert _provenance.collection_version(tmp_path) == "2.3.5", "an installed collection's MANIFEST.json wins"
    # this checkout: the galaxy.yml version
    assert _provenance.collection_version() == str(yaml.safe_load((REPO / "galaxy.yml").read_text())["version"])


def test_opa_url_loses_credentials_query_and_fragment():
    url = "https://alice:s3cret@opa.example:8443/prefix?token=abc#frag"
    assert _provenance.safe_url(url) == "https://opa.example:8443/prefix"
    block = _provenance.judged_by("opa", {"backend": "opa", "backend_version": "1.22.3"}, "r1", opa_url=url,
                                  version="0.1.0")
    assert "s3cret" not in json.dumps(block) and "abc" not in json.dumps(block)
    assert block["warnings"] == []
    assert _provenance.describe(block) == ("opa engine (OPA server 1.22.3 at https://opa.example:8443/prefix), "
                                           "policy revision r1, refarch.containers 0.1.0")


def test_only_the_unchosen_regopy_fallback_warns():
    assert _provenance.judged_by("embedded", FAST, "r", version="1")["warnings"] == []
    chosen = _provenance.judged_by("embedded", {"backend": "regopy"}, "r", requested_backend="regopy", version="1")
    assert chosen["warnings"] == []
    (warning,) = _provenance.judged_by("embedded", SLOW, "r", requested_backend="auto", version="1")["warnings"]
    assert "regopy" in warning and "slow" in warning and "No module named x" in warning


def test_every_format_names_what_judged_and_warns_about_the_fallback():
    fast = build(_provenance.judged_by("embedded", FAST, "ignored", version="0.1.0"))
    slow = build(_provenance.judged_by("embedded", SLOW, "ignored", version="0.1.0"))
    for report in (fast, slow):
        validate(report)
        assert report["judged_by"]["policy_revision"] == report["policy_revision"] == "rev-1"
    assert fast["judged_by"]["backend"] == "regorus" and fast["judged_by"]["warnings"] == []
    assert len(slow["judged_by"]["warnings"]) == 1

    sarif = json.loads(json.dumps(_sarif.render_sarif(slow)))["runs"][0]
    driver = sarif["tool"]["driver"]
    assert driver["name"] == "refarch.containers" and driver["version"] == driver["semanticVersion"] == "0.1.0"
    assert sarif["tool"]["extensions"] == [{"name": "regopy", "version": "1.5.2"}]
    props = sarif["invocations"][0]["properties"]
    assert props["engine"] == "embedded" and props["backend"] == "regopy" and props["policy_revision"] == "rev-1"
    notes = sarif["invocations"][0]["toolExecutionNotifications"]
    assert any(n["level"] == "warning" and "slow fallback" in n["message"]["text"] for n in notes)
    assert not any("slow fallback" in n["message"]["text"]
                   for n in _sarif.render_sarif(fast)["runs"][0]["invocations"][0]["toolExecutionNotifications"])

    suite = ET.fromstring(_junit.render_junit(slow).split("\n", 1)[1]).find("testsuite")  # noqa: S314 - our own
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["backend"] == "regopy" and props["backend_version"] == "1.5.2"
    assert props["collection_version"] == "0.1.0" and "slow fallback" in props["warning"]

    page = _html.render_html(slow)
    assert '<span id="judged-backend">Backend <b>regopy 1.5.2</b></span>' in page
    assert '<span id="judged-collection">refarch.containers <b>0.1.0</b></span>' in page
    assert 'id="judged-warnings"' in page and 'id="judged-warnings"' not in _html.render_html(fast)

    text = render_text(slow)
    assert "Judged by: embedded engine (regopy 1.5.2), policy revision rev-1, refarch.containers 0.1.0" in text
    assert "WARNING: the embedded engine ran on regopy" in text

    lines = format_summary(slow["summary"], {}, judged=slow["judged_by"])
    judged = "  judged by: embedded engine (regopy 1.5.2), policy revision rev-1, refarch.containers 0.1.0"
    assert judged in lines, lines
    at = lines.index(judged)
    assert lines[at + 1].startswith("  WARNING: the embedded engine ran on regopy"), lines
    assert any(line.startswith("  Run: INCOMPLETE") for line in lines), "the run outcome line is still shown"


def test_merged_reports_keep_what_agrees_and_mark_what_differs():
    fast = build(_provenance.judged_by("embedded", FAST, "r", version="0.1.0"))
    slow = build(_provenance.judged_by("embedded", SLOW, "r", version="0.1.0"))
    same = _report.merge_reports([fast, fast])
    assert same["judged_by"] == fast["judged_by"]
    mixed = _report.merge_reports([fast, slow])
    validate(mixed)
    assert mixed["judged_by"]["backend"] == "mixed" and mixed["judged_by"]["collection_version"] == "0.1.0"
    assert mixed["judged_by"]["warnings"] == slow["judged_by"]["warnings"]
    assert [s["judged_by"]["backend"] for s in mixed["merge"]["sources"]] == ["regorus", "regopy"]
