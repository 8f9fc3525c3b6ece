"""Tests for the JUnit XML renderer (plugins/plugin_utils/_junit.py): parsed back with xml.etree."""
from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

import report_samples as samples
from ansible_collections.refarch.containers.plugins.plugin_utils import _junit, _report

# Characters XML 1.0 does not allow (and ESC, which must be gone with its sequence).
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def build(results=None):
    return _report.build_report(samples.host_results() if results is None else results, engine="embedded",
                                policy_revision="rev-1", generated_at="2026-11-28T11:00:00Z",
                                rules_catalog=samples.CATALOG)


def parse(report):
    text = _junit.render_junit(report)
    assert not FORBIDDEN.search(text)
    return text, ET.fromstring(text.encode("utf-8"))  # noqa: S314 - our own output, parsed to check it


def suite(root, name):
    (found,) = [s for s in root.findall("testsuite") if s.get("name") == name]
    return found


def test_structure_one_suite_per_host_and_counts_add_up():
    report = build()
    _text, root = parse(report)
    suites = root.findall("testsuite")
    assert sorted(s.get("name") for s in suites) == sorted(report["hosts"])
    total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for s in suites:
        cases = s.findall("testcase")
        counted = {
            "tests": len(cases),
            "failures": sum(1 for c in cases if c.find("failure") is not None),
            "errors": sum(1 for c in cases if c.find("error") is not None),
            "skipped": sum(1 for c in cases if c.find("skipped") is not None),
        }
        assert {k: int(s.get(k)) for k in counted} == counted, s.get("name")
        for key, value in counted.items():
            total[key] += value
    assert {k: int(root.get(k)) for k in total} == total


def test_one_testcase_per_rule_and_target():
    report = build()
    _text, root = parse(report)
    web2 = suite(root, "web2")
    # two targets on web2, every catalog rule for each
    assert len(web2.findall("testcase")) == 2 * len(samples.CATALOG)
    names = {(c.get("classname"), c.get("name").split()[0]) for c in web2.findall("testcase")}
    assert ("/srv/api/Dockerfile", "NRA014") in names and ("registry.local/api:1.2", "NRA001") in names
    clean = suite(root, "web1")
    assert all(list(c) == [] for c in clean.findall("testcase")), "a clean target must only have passing cases"


def test_failures_carry_every_open_finding_with_line_and_fix():
    _text, root = parse(build())
    (case,) = [c for c in suite(root, "web2").findall("testcase")
               if c.get("classname") == "/srv/api/Dockerfile" and c.get("name").startswith("NRA002")]
    failure = case.find("failure")
    assert failure.get("type") == "medium"
    assert "line 7: EXPOSE 80" in failure.text and "line 8: EXPOSE 443" in failure.text
    assert "fix: remap_privileged_ports" in failure.text
    assert "(+1 more)" in failure.get("message")


def test_waived_is_skipped_with_reason_and_expired_waiver_fails():
    _text, root = parse(build())
    cases = {c.get("name").split()[0]: c for c in suite(root, "web3").findall("testcase")}
    skipped = cases["NRA010"].find("skipped")
    assert skipped is not None and "migration ticket OPS-12" in skipped.get("message")
    assert "expires 2026-12-10" in skipped.get("message")
    web4 = {c.get("name").split()[0]: c for c in suite(root, "web4").findall("testcase")}
    failure = web4["NRA001"].find("failure")
    assert failure is not None and "waiver expired 2026-01-31" in failure.text


def test_unreachable_failed_hosts_and_unreadable_targets_are_errors():
    _text, root = parse(build())
    for host, status in (("down1", "unreachable"), ("broken1", "failed")):
        (case,) = suite(root, host).findall("testcase")
        error = case.find("error")
        assert error is not None and error.get("type") == status
    files = suite(root, "files1").findall("testcase")
    assert len(files) == 1 and files[0].find("error").get("type") == "permission_denied"


def test_hostile_text_stays_text_and_xml_stays_valid():
    text, root = parse(build())
    hostile_host = f"hostile{samples.SCRIPT}"
    s = suite(root, hostile_host)
    (case,) = [c for c in s.findall("testcase") if c.get("name").startswith("NRA002")]
    body = case.find("failure").text
    assert samples.SCRIPT in body and "]]><!-- -->" in body and "&lt;b&gt;" in body
    assert "\x1b" not in text and "[31m" not in text and "evil-title" not in text
    assert "nulbelbsvtffesc" in body  # control characters removed, the letters around them kept
    assert "safeevil" in body  # bidi override removed
    assert "problem" in s.find("system-out").text or "malformed_json" in s.find("system-out").text


_text_strategy = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40) | st.text(
    alphabet="<>&\"']]\x00\x1b\x07\x0b\ufffe[m;", max_size=30
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(host=_text_strategy, path=_text_strategy, message=_text_strategy, reason=_text_strategy)
def test_any_text_gives_well_formed_junit(host, path, message, reason):
    results = {host or "h": {"status": "ok", "findings": [
        {"rule_id": "NRA001", "severity": "high", "message": message, "line": 1,
         "target": {"kind": "dockerfile", "path": "/" + path}},
        {"rule_id": "NRA002", "severity": "low", "message": message, "waived": True, "waiver": {"reason": reason},
         "target": {"kind": "dockerfile", "path": "/" + path}},
    ]}}
    _text, root = parse(build(results))
    assert int(root.get("failures")) == 1 and int(root.get("skipped")) == 1
