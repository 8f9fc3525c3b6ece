"""Open the HTML dashboard in headless Chromium (Debian's ``chromium``) and check what a person would see.

The report is full of hostile strings (``<script>``, ``<img onerror>``, ANSI
escapes, ``]]>``, control characters).  The injected scripts would change
``document.title`` and set ``data-pwned`` on ``<body>``; the DOM Chromium dumps
after loading must show neither, must show the expected totals, and must hold
no element the renderer does not emit.  A positive control proves the
detection works: the same payload, unescaped and without the CSP, does run.

A screenshot is saved as ``tests/output/report-chromium.png`` (git-ignored).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "unit" / "plugins" / "plugin_utils"))

import report_samples as samples  # noqa: E402
from ansible_collections.refarch.containers.plugins.plugin_utils import _html, _report  # noqa: E402

OUTPUT = REPO / "tests" / "output"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--hide-scrollbars", "--mute-audio",
]


@pytest.fixture(scope="module")
def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("Debian's chromium is not installed (apt-get install -y chromium): cannot open the HTML report")


def run_chromium(binary: str, profile: Path, url: str, *args: str) -> subprocess.CompletedProcess:
    cmd = [binary, *FLAGS, f"--user-data-dir={profile}", *args, url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, f"chromium failed ({proc.returncode}): {proc.stderr[-2000:]}"
    return proc


class DomCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.by_id: dict[str, list[str]] = {}
        self.title: list[str] = []
        self._stack: list[str | None] = []
        self._in_title = False
        self._in_style = False

    VOID = frozenset({"meta", "col", "br", "img", "input", "link", "circle", "rect"})

    def handle_starttag(self, tag, attrs):
        attrs_d = dict(attrs)
        self.tags.append((tag, attrs_d))
        self._in_title = tag == "title"
        self._in_style = tag == "style"
        if tag not in self.VOID:
            self._stack.append(attrs_d.get("id"))

    def handle_endtag(self, tag):
        self._in_title = self._in_style = False
        if tag not in self.VOID and self._stack:
            self._stack.pop()

    def handle_data(self, data):
        if self._in_title:
            self.title.append(data)
        if self._in_style:
            return
        for ident in self._stack:
            if ident:
                self.by_id.setdefault(ident, []).append(data)


def dump(binary: str, profile: Path, page: Path) -> DomCollector:
    proc = run_chromium(binary, profile, page.as_uri(), "--dump-dom", "--virtual-time-budget=3000")
    assert "<body" in proc.stdout, f"no DOM dumped: {proc.stdout[:500]!r} {proc.stderr[-1000:]}"
    collector = DomCollector()
    collector.feed(proc.stdout)
    return collector


def hostile_report(previous=None) -> dict:
    return _report.build_report(samples.host_results(), engine="embedded", policy_revision="rev-1",
                                generated_at="2026-11-28T11:00:00Z", rules_catalog=samples.CATALOG,
                                previous=previous)


def test_positive_control_unescaped_payload_does_run(chromium, tmp_path):
    page = tmp_path / "control.html"
    page.write_text(f"<!DOCTYPE html><html><head><title>control</title></head><body>{samples.SCRIPT}{samples.IMG}"
                    "</body></html>", encoding="utf-8")
    dom = dump(chromium, tmp_path / "profile-control", page)
    assert "".join(dom.title) == "PWNED", "the detection does not work: an unescaped script did not change the title"


def test_csp_alone_blocks_the_payload(chromium, tmp_path):
    csp = "default-src 'none'; script-src 'none'"
    page = tmp_path / "csp.html"
    page.write_text(f'<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="{csp}">'
                    f"<title>csp</title></head><body>{samples.SCRIPT}{samples.IMG}</body></html>", encoding="utf-8")
    dom = dump(chromium, tmp_path / "profile-csp", page)
    assert "".join(dom.title) == "csp"


def test_dashboard_in_chromium_shows_totals_and_runs_nothing_injected(chromium, tmp_path):
    before = samples.host_results()
    before["web4"]["findings"] = []  # new this week
    before["web1"]["findings"] = [  # fixed since
        {"rule_id": "NRA010", "severity": "medium", "message": "CMD runs npm start", "line": 9,
         "target": {"kind": "dockerfile", "path": "/srv/app/Dockerfile"}}]
    first = _report.build_report(before, engine="embedded", policy_revision="rev-0",
                                 generated_at="2026-11-21T11:00:00Z", rules_catalog=samples.CATALOG)
    report = hostile_report(previous=first)
    page = tmp_path / "report.html"
    html_text = _html.render_html(report)
    page.write_text(html_text, encoding="utf-8")
    dom = dump(chromium, tmp_path / "profile", page)

    title = "".join(dom.title)
    assert "PWNED" not in title and title.startswith("Node.js container compliance")
    body = [a for t, a in dom.tags if t == "body"]
    assert body and "data-pwned" not in body[0], "an injected handler ran"
    tags = {t for t, _a in dom.tags}
    assert "script" not in tags and "img" not in tags and "iframe" not in tags, tags

    summary = report["summary"]

    def kpi(ident: str) -> str:
        return " ".join(dom.by_id[ident]).split()[0]

    assert kpi("kpi-hosts") == str(summary["hosts"]) == "8"
    assert kpi("kpi-targets") == str(summary["targets"])
    assert kpi("kpi-compliant") == str(summary["compliant_targets"])
    assert kpi("kpi-findings") == str(summary["findings"]) == str(samples.EXPECTED["findings"])
    assert kpi("kpi-waived") == str(summary["waived"])
    assert kpi("kpi-expired") == str(summary["expired_waivers"])
    severity = " ".join(" ".join(dom.by_id["chart-severity"]).split())
    for sev in _report.SEVERITIES:
        assert re.search(rf"\b{sev} {samples.EXPECTED[sev]}\b", severity), (sev, severity)
    assert kpi("diff-new") == "1" and kpi("diff-fixed") == "1"
    findings_text = " ".join(dom.by_id["findings"])
    assert samples.SCRIPT in findings_text, "the hostile text should be visible as text"

    OUTPUT.mkdir(parents=True, exist_ok=True)
    shot = OUTPUT / "report-chromium.png"
    shot.unlink(missing_ok=True)
    run_chromium(chromium, tmp_path / "profile-shot", page.as_uri(), f"--screenshot={shot}", "--window-size=1400,3400")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (OUTPUT / "report-chromium.html").write_text(html_text, encoding="utf-8")
