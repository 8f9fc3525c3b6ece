"""Tests for the HTML dashboard (plugins/plugin_utils/_html.py): parsed back with html.parser."""
from __future__ import annotations

import base64
import hashlib
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

import report_samples as samples
from ansible_collections.refarch.containers.plugins.plugin_utils import _html, _report
from ansible_collections.refarch.containers.plugins.plugin_utils._report_sanitize import clean_text

# Every element the dashboard is allowed to contain; anything else came from data.
ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "main", "footer", "section", "div", "span", "h1",
    "h2", "h3", "b", "p", "ul", "li", "table", "thead", "tbody", "tr", "th", "td", "colgroup", "col", "details",
    "summary", "code", "a", "svg", "circle", "rect", "text",
    # the filter bar and its one script (checked by assert_safe to be the page's own)
    "script", "label", "select", "option", "input",
}
ALLOWED_ATTRS = {
    "lang", "charset", "http-equiv", "content", "name", "class", "id", "href", "open", "width", "height", "viewbox",
    "role", "aria-label", "aria-hidden", "cx", "cy", "r", "fill", "stroke", "stroke-width", "stroke-dasharray",
    "stroke-dashoffset", "transform", "x", "y", "rx", "text-anchor", "font-size", "font-weight",
    "data-r", "data-s", "data-h", "data-t", "hidden", "value", "type", "placeholder", "size", "aria-live",
}


class Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.by_id: dict[str, list[str]] = {}
        self._stack: list[str | None] = []
        self.styles: list[str] = []
        self.scripts: list[str] = []
        self._in_style = False
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs_d = dict(attrs)
        self.tags.append((tag, attrs_d))
        self._in_style = tag == "style"
        self._in_script = tag == "script"
        if tag not in ("meta", "col", "circle", "rect", "input"):
            self._stack.append(attrs_d.get("id"))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        self._in_style = self._in_script = False
        if tag not in ("meta", "col", "circle", "rect", "input") and self._stack:
            self._stack.pop()

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)
            return
        if self._in_script:
            self.scripts.append(data)
            return
        self.text.append(data)
        for ident in self._stack:
            if ident:
                self.by_id.setdefault(ident, []).append(data)


def build(results=None, previous=None, stamp="2026-11-28T11:00:00Z"):
    return _report.build_report(samples.host_results() if results is None else results, engine="embedded",
                                policy_revision="rev-1", generated_at=stamp, rules_catalog=samples.CATALOG,
                                previous=previous)


def parse(page: str) -> Collector:
    collector = Collector()
    collector.feed(page)
    collector.close()
    return collector


def assert_safe(page: str, collector: Collector) -> None:
    bad_tags = {t for t, _a in collector.tags} - ALLOWED_TAGS
    assert not bad_tags, f"unexpected elements: {bad_tags}"
    for tag, attrs in collector.tags:
        extra = set(attrs) - ALLOWED_ATTRS
        assert not extra, f"unexpected attributes on <{tag}>: {extra}"
        assert not any(a.startswith("on") for a in attrs)
        if "href" in attrs:
            assert attrs["href"].startswith("#host-") or attrs["href"] == "#findings", attrs["href"]
    # one script, the renderer's own filter (a constant: no data in it)
    assert [t for t, _a in collector.tags].count("script") == 1 and collector.scripts == [_html._JS]
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", page)


def test_no_injected_markup_and_hostile_text_is_shown_as_text():
    page = _html.render_html(build())
    c = parse(page)
    assert_safe(page, c)
    text = "".join(c.text)
    # the hostile strings are visible as text, with escape sequences and controls removed
    assert samples.SCRIPT in text and samples.IMG in text and "]]><!-- -->" in text
    assert "&lt;b&gt; &amp; &#60;script&#62;" in text  # entities shown literally, not decoded
    assert "evil-title" not in text and "[31m" not in text and "C1BOLD" in text
    assert "nulbelbsvtffesc" in text and "safeevil" in text
    assert '" onmouseover="' in text  # the quote break stayed inside text
    assert page.count("<script") == 1 and "&lt;script&gt;window.__pwned" in page


def test_csp_allows_only_the_page_script_and_style():
    page = _html.render_html(build())
    c = parse(page)
    (meta,) = [a for t, a in c.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    policy = dict(p.strip().split(" ", 1) for p in meta["content"].split(";"))
    (script,) = c.scripts
    script_digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    assert policy["default-src"] == "'none'" and policy["script-src"] == f"'sha256-{script_digest}'"
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
    (style,) = c.styles
    digest = base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode("ascii")
    assert policy["style-src"] == f"'sha256-{digest}'"
    assert not any("style" in a for _t, a in c.tags), "inline style attributes would be blocked by the CSP"
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page


def test_totals_are_shown():
    report = build()
    c = parse(_html.render_html(report))
    summary = report["summary"]

    def kpi(ident):
        return " ".join(c.by_id[ident]).split()[0]

    assert kpi("kpi-hosts") == str(summary["hosts"])
    assert kpi("kpi-targets") == str(summary["targets"])
    assert kpi("kpi-compliant") == str(summary["compliant_targets"])
    assert kpi("kpi-findings") == str(summary["findings"])
    assert kpi("kpi-waived") == str(summary["waived"])
    assert kpi("kpi-expired") == str(summary["expired_waivers"])
    severity = " ".join(c.by_id["chart-severity"])
    for sev in _report.SEVERITIES:
        assert re.search(rf"\b{sev}\s+{summary['findings_by_severity'][sev]}\b", severity), sev


def test_every_finding_rule_fix_and_waiver_is_on_the_page():
    report = build()
    text = " ".join(" ".join(parse(_html.render_html(report)).text).split())
    for _host, _target, finding in _report.iter_findings(report):
        shown = " ".join(clean_text(finding["message"], single_line=True, limit=3000).split())
        assert shown in text, finding["message"][:60]
        if finding.get("fix"):
            assert finding["fix"] in text or finding["fix"] == "manual"
    assert "Add a USER instruction with a non-root user." in text  # recommended_action from the catalog
    assert "migration ticket OPS-12" in text and "2026-12-10" in text and "12 days left" in text
    assert "2026-01-31" in text and "expired" in text
    assert "ssh: connect to host 127.0.0.9 port 22: Connection refused" in text
    assert "Permission denied: /srv/secret/Dockerfile" in text
    for rule in samples.CATALOG.values():
        assert rule["title"] in text


def test_diff_section_when_a_previous_report_is_given():
    first = build(stamp="2026-11-27T11:00:00Z")
    results = samples.host_results()
    results["web2"]["findings"] = results["web2"]["findings"][1:]
    page = _html.render_html(build(results, previous=first))
    c = parse(page)
    assert "".join(c.by_id["diff-fixed"]).startswith("1")
    assert "".join(c.by_id["diff-new"]).startswith("0")
    assert "Changes since 2026-11-27T11:00:00Z" in " ".join(c.text)
    assert "diff-fixed" not in _html.render_html(first)


def test_title_option_is_escaped():
    c = parse(_html.render_html(build(), title=samples.SCRIPT))
    assert samples.SCRIPT in "".join(c.text)
    assert [t for t, _a in c.tags].count("script") == 1 and c.scripts == [_html._JS]


_hostile = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40) | st.text(
    alphabet="<>&\"'/=; \x00\x1b\x07[]m!-abcscript", max_size=40
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(host=_hostile, path=_hostile, message=_hostile, reason=_hostile, engine=_hostile)
def test_no_input_can_add_markup(host, path, message, reason, engine):
    results = {host or "h": {"status": "ok", "message": message, "findings": [
        {"rule_id": "NRA001", "severity": "high", "message": message, "line": 2,
         "target": {"kind": "dockerfile", "path": path}},
        {"rule_id": "NRA002", "severity": "low", "message": message, "waived": True,
         "waiver": {"reason": reason, "expires": reason, "owner": reason},
         "target": {"kind": "image", "image": path}},
    ]}, "down": {"status": "failed", "message": message}}
    report = _report.build_report(results, engine=engine, policy_revision=reason, generated_at="2026-11-28T00:00:00Z",
                                  rules_catalog=samples.CATALOG)
    page = _html.render_html(report)
    c = parse(page)
    assert_safe(page, c)
    text = " ".join(" ".join(c.text).split())
    assert " ".join(clean_text(message, single_line=True).split()) in text


def test_remediation_section_only_in_a_remediation_report_and_hostile_reasons_stay_text():
    assert 'id="remediation"' not in _html.render_html(build())
    results = samples.host_results()
    results["web1"]["remediation"] = [
        {"path": "/srv/a/Dockerfile", "status": "promoted", "rules_fixed": ["NRA001"], "fixes_applied": ["x"],
         "declined": [], "reason": "", "note": "kept", "rebuild": {"status": "promoted"}, "verified": True,
         "other_builds": [{"build": "target worker: worker in compose.yaml", "rules": ["NRA011"]}]},
        {"path": "/srv/b/Dockerfile", "status": "promoted", "rules_fixed": ["NRA001"], "fixes_applied": ["x"],
         "declined": [], "reason": "", "note": "not verified: not started", "rebuild": {"status": "promoted"}},
        {"path": "/srv/" + samples.SCRIPT + "/Dockerfile", "status": "rolled_back", "rules_fixed": [],
         "declined": [{"fix": "add_healthcheck", "reason": samples.IMG}], "reason": samples.SCRIPT,
         "rebuild": {"status": "rolled_back"}},
    ]
    page = _html.render_html(build(results))
    c = parse(page)
    assert_safe(page, c)
    section = "".join(c.by_id["remediation"])
    assert "Remediation" in section and "promoted" in section and "rolled_back" in section
    assert "/srv/a/Dockerfile" in section and "NRA001" in section and "add_healthcheck" in section
    assert section.count("promoted, verified") == 1 and section.count("promoted, not verified") == 1
    assert "declared build target worker: worker in compose.yaml not remediated (open: NRA011)" in section
    assert samples.SCRIPT in section and samples.IMG in section  # shown as text, never as markup
