"""Open the HTML dashboard in headless Chromium (Debian's ``chromium``) and check what a person would see.

Estate scale: the demo estate's real report (the scan playbook over ``examples/estate``) and a
2,000-Dockerfile report made from it are opened with a filter preset in the URL fragment
(``#rule=...&severity=...&host=...``, ``#q=...``); the DOM Chromium dumps must hide exactly the
rows, targets and hosts that do not match (counted from report.json, not from the page), and with
JavaScript off nothing may be hidden.  Screenshots of both, filter applied, are saved in
``tests/output/`` (``report-demo-filtered.png``, ``report-estate-2000-filtered.png``, and
``report-estate-2000-nojs-filtered.png``: the same URL with the page's script taken out).

The report is full of hostile strings (``<script>``, ``<img onerror>``, ANSI
escapes, ``]]>``, control characters).  The injected scripts would change
``document.title`` and set ``data-pwned`` on ``<body>``; the DOM Chromium dumps
after loading must show neither, must show the expected totals, and must hold
no element the renderer does not emit.  A positive control proves the
detection works: the same payload, unescaped and without the CSP, does run.

A screenshot is saved as ``tests/output/report-chromium.png`` (git-ignored).
"""
from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from harness import run_playbook

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
    return dump_url(binary, profile, page.as_uri())


def dump_url(binary: str, profile: Path, url: str, *args: str) -> DomCollector:
    proc = run_chromium(binary, profile, url, *args, "--dump-dom", "--virtual-time-budget=5000")
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
    assert "img" not in tags and "iframe" not in tags, tags
    # the page's one script (its filter) is all there is, and it ran: the filter bar is shown
    assert [t for t, _a in dom.tags].count("script") == 1
    assert "hidden" not in next(a for t, a in dom.tags if a.get("id") == "filter")

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


# --------------------------------------------------------------------------- estate scale


def estate_report(demo: dict, targets: int, hosts: int = 16) -> dict:
    """A report of ``targets`` Dockerfiles over ``hosts`` hosts, each a copy of a demo target (findings included)."""
    base = [t for entry in demo["hosts"].values() for t in entry["targets"]]
    results: dict = {}
    for i in range(targets):
        host = f"node-{i % hosts:02d}.estate.example"
        source = base[i % len(base)]
        path = f"/srv/team-{i // len(base):03d}/" + source["path"].split("/estate/", 1)[1]
        entry = results.setdefault(host, {"status": "ok", "targets": [], "findings": []})
        entry["targets"].append({"kind": "dockerfile", "path": path, "sha256": source.get("sha256"),
                                 "scan_root": "/srv", "problems": source.get("problems") or [], "error": None})
        for finding in source["findings"]:
            copied = copy.deepcopy(finding)
            copied.pop("fingerprint", None)
            copied["target"] = dict(copied["target"], path=path, host=host)
            entry["findings"].append(copied)
    return _report.build_report(results, engine=demo["engine"], policy_revision=demo["policy_revision"],
                                generated_at=demo["generated_at"], rules_catalog=demo["rules"],
                                judged_by=demo["judged_by"])


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory) -> dict:
    """The demo estate's report, from a real scan (the README's main job)."""
    tmp = tmp_path_factory.mktemp("demo")
    inventory = tmp / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))
    proc = run_playbook("refarch.containers.scan", inventory, tmp,
                        extra_vars={"refarch_scan_paths": [str(REPO / "examples" / "estate")],
                                    "refarch_report_dir": str(tmp / "report"), "refarch_evaluation_date": "2026-11-28"})
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return json.loads((tmp / "report" / "report.json").read_text(encoding="utf-8"))


def rows(dom: DomCollector) -> list[dict]:
    return [a for t, a in dom.tags if t == "tr" and "data-r" in a]


def expected_rows(report: dict, rule=None, severity=None, host=None, text=None) -> int:
    """How many finding rows a filter must leave, counted from report.json."""
    return sum(1 for h, target, f in _report.iter_findings(report)
               if (rule is None or f["rule_id"] == rule) and (severity is None or f["severity"] == severity)
               and (host is None or h == host) and (text is None or text in target["path"]))


def check_filtered(dom: DomCollector, report: dict, want: int) -> None:
    total = len(list(_report.iter_findings(report)))
    shown = [a for a in rows(dom) if "hidden" not in a]
    assert len(rows(dom)) == total, "every finding is on the page"
    assert 0 < len(shown) == want < total
    assert " ".join(dom.by_id["filter-count"]).strip() == f"{want} of {total} findings match"
    body = next(a for t, a in dom.tags if t == "body")
    assert body["data-filtered"] == str(want)
    hosts = [a for t, a in dom.tags if t == "details" and "host" in (a.get("class") or "").split()]
    assert any("hidden" in a for a in hosts) or len({a["data-h"] for a in hosts}) == 1


def test_filter_and_folding_at_estate_scale(chromium, tmp_path, demo_report):
    OUTPUT.mkdir(parents=True, exist_ok=True)
    estate = estate_report(demo_report, 2000)
    assert estate["summary"]["targets"] == 2000
    pages = {}
    for name, report in (("demo", demo_report), ("estate-2000", estate)):
        page = tmp_path / f"report-{name}.html"
        page.write_text(_html.render_html(report), encoding="utf-8")
        pages[name] = page
    size = pages["estate-2000"].stat().st_size
    findings = estate["summary"]["findings"]
    print(f"2,000-Dockerfile report: {findings} findings, {size} bytes ({size // findings} per finding)")
    assert size < 400 * findings, "the page should cost well under 400 bytes per finding"

    # the demo estate: every high NRA001 finding, nothing else
    url = pages["demo"].as_uri() + "#rule=NRA001&severity=high"
    dom = dump_url(chromium, tmp_path / "p1", url)
    check_filtered(dom, demo_report, expected_rows(demo_report, rule="NRA001", severity="high"))
    assert all(a["data-r"] == "NRA001" and a["data-s"] == "high" for a in rows(dom) if "hidden" not in a)

    # 2,000 Dockerfiles: one rule, one severity, one host; then free text (a team's folder)
    host = next(h for h in sorted(estate["hosts"]) if expected_rows(estate, rule="NRA001", severity="high", host=h))
    url = pages["estate-2000"].as_uri() + f"#rule=NRA001&severity=high&host={host}"
    dom = dump_url(chromium, tmp_path / "p2", url)
    check_filtered(dom, estate, expected_rows(estate, rule="NRA001", severity="high", host=host))
    hosts = {a["data-h"]: a for t, a in dom.tags if t == "details" and "data-h" in a}
    assert [h for h, a in hosts.items() if "hidden" not in a] == [host]
    assert "open" in hosts[host], "the matching host unfolds"
    dom = dump_url(chromium, tmp_path / "p3", pages["estate-2000"].as_uri() + "?q=team-007/")
    check_filtered(dom, estate, expected_rows(estate, text="team-007/"))

    # JavaScript off (headless Chromium needs scripting to dump or shoot, so: the same page with its one
    # script taken out): the filter bar stays hidden, nothing else is, every finding is in the page
    text = pages["estate-2000"].read_text(encoding="utf-8")
    assert text.count(f"<script>{_html._JS}</script>") == 1
    pages["estate-2000-nojs"] = tmp_path / "report-estate-2000-nojs.html"
    pages["estate-2000-nojs"].write_text(text.replace(f"<script>{_html._JS}</script>", ""), encoding="utf-8")
    dom = dump_url(chromium, tmp_path / "p4", pages["estate-2000-nojs"].as_uri() + "#rule=NRA001")
    assert "hidden" in next(a for t, a in dom.tags if a.get("id") == "filter")
    assert len(rows(dom)) == findings + estate["summary"]["waived"]
    assert not [a for t, a in dom.tags if "hidden" in a and a.get("id") != "filter"]
    # estate-sized: hosts and targets start folded (a small report opens what has findings)
    assert not [a for t, a in dom.tags if t == "details" and "open" in a and "data-t" in a]

    for name, fragment in (("demo", "#rule=NRA001&severity=high"),
                           ("estate-2000", f"#rule=NRA001&severity=high&host={host}"),
                           ("estate-2000-nojs", "#rule=NRA001")):
        shot = OUTPUT / f"report-{name}-filtered.png"
        shot.unlink(missing_ok=True)
        run_chromium(chromium, tmp_path / f"shot-{name}", pages[name].as_uri() + fragment,
                     f"--screenshot={shot}", "--window-size=1400,3600", "--virtual-time-budget=5000")
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20000
