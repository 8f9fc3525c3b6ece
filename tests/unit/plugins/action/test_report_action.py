"""The report and report_merge action plugins, run through ansible-playbook on the controller (localhost).

Checks the files written, check mode (nothing written, plan returned), idempotence
(same input, nothing rewritten), the diff against the report already in ``dest``,
merging slices, and clear failures on bad input.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugin_utils"))

import report_samples as samples
from ansible_collections.refarch.containers.plugins.plugin_utils import _report

REPO = Path(__file__).resolve().parents[4]
STAMP = "2026-11-28T11:00:00Z"
PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: run the action
      refarch.containers.{action}:
{args}
      register: out
      ignore_errors: true
    - name: save the result
      ansible.builtin.copy:
        content: "{{{{ out | to_json }}}}"
        dest: "{result}"
      check_mode: false
"""


def _collections_path() -> str:
    for candidate in (REPO / ".venv" / "collections",):
        if (candidate / "ansible_collections" / "refarch" / "containers").exists():
            return str(candidate)
    pytest.fail("the collection is not linked under .venv/collections (tests/conftest.py should do it)")


def run_action(tmp_path: Path, action: str, args: dict, *, check: bool = False, extra: dict | None = None) -> dict:
    result = tmp_path / f"result-{action}-{len(list(tmp_path.glob('result-*')))}.json"
    lines = "\n".join(f"        {k}: {json.dumps(v)}" if not isinstance(v, str) or not v.startswith("{{") else
                      f"        {k}: \"{v}\"" for k, v in args.items())
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK.format(action=action, args=lines, result=result), encoding="utf-8")
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)]
    if check:
        cmd.append("--check")
    if extra:
        varfile = tmp_path / "vars.json"
        varfile.write_text(json.dumps(extra), encoding="utf-8")
        cmd += ["-e", f"@{varfile}"]
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=_collections_path(), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert result.exists(), f"playbook did not finish:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(result.read_text(encoding="utf-8"))


def report_args(dest: Path, **more) -> dict:
    args = {"host_results": "{{ refarch_results }}", "dest": str(dest), "generated_at": STAMP,
            "engine": "embedded", "policy_revision": "rev-1", "rules_catalog": samples.CATALOG}
    args.update(more)
    return args


def test_check_mode_writes_nothing_and_says_what_it_would_write(tmp_path):
    dest = tmp_path / "report"
    extra = {"refarch_results": samples.host_results()}
    out = run_action(tmp_path, "report", report_args(dest), check=True, extra=extra)
    assert not out.get("failed"), out.get("msg")
    assert not dest.exists()
    assert out["changed"] is True
    assert sorted(e["format"] for e in out["would_write"]) == ["html", "json", "junit", "sarif"]
    assert all(e["path"].startswith(str(dest)) and e["size"] > 0 for e in out["would_write"])
    assert out["summary"]["findings"] == samples.EXPECTED["findings"]


def test_writes_all_formats_then_is_idempotent_then_diffs(tmp_path):
    dest = tmp_path / "report"
    extra = {"refarch_results": samples.host_results()}
    out = run_action(tmp_path, "report", report_args(dest), extra=extra)
    assert not out.get("failed"), out.get("msg")
    assert out["changed"] is True
    # the running collection's version (here a checkout: its galaxy.yml) is named in the report
    version = yaml.safe_load((REPO / "galaxy.yml").read_text(encoding="utf-8"))["version"]
    expected = _report.build_report(samples.host_results(), engine="embedded", policy_revision="rev-1",
                                    generated_at=STAMP, rules_catalog=samples.CATALOG,
                                    judged_by={"collection_version": version})
    written = json.loads((dest / "report.json").read_text(encoding="utf-8"))
    assert written == json.loads(json.dumps(expected))
    assert out["judged_by"] == written["judged_by"] and written["judged_by"]["collection_version"] == str(version)
    assert out["summary"] == expected["summary"]
    assert "Open findings: 8" in out["text"]
    ET.parse(dest / "report.junit.xml")  # noqa: S314 - our own output
    assert json.loads((dest / "report.sarif").read_text(encoding="utf-8"))["version"] == "2.1.0"
    assert "Content-Security-Policy" in (dest / "report.html").read_text(encoding="utf-8")
    assert oct((dest / "report.json").stat().st_mode & 0o777) == "0o644"
    assert not list(dest.glob(".report-*")), "temporary files left behind"

    again = run_action(tmp_path, "report", report_args(dest), extra=extra)
    assert again["changed"] is False

    changed = samples.host_results()
    changed["web4"]["findings"] = []
    args = report_args(dest, diff_with_existing=True, generated_at="2026-11-29T11:00:00Z")
    out = run_action(tmp_path, "report", args, extra={"refarch_results": changed})
    assert out["diff_counts"]["fixed"] == 1 and out["diff_counts"]["new"] == 0
    diff = json.loads((dest / "report.diff.json").read_text(encoding="utf-8"))
    assert diff["fixed"][0]["host"] == "web4"


def test_merge_slices_and_refuse_mismatch_when_strict(tmp_path):
    results = samples.host_results()
    names = sorted(results)
    for i, (engine, part) in enumerate((("embedded", names[:4]), ("opa", names[4:]))):
        rep = _report.build_report({h: results[h] for h in part}, engine=engine, policy_revision="rev-1",
                                   generated_at=f"2026-11-28T10:0{i}:00Z", rules_catalog=samples.CATALOG)
        (tmp_path / f"slice{i}").mkdir()
        (tmp_path / f"slice{i}" / "report.json").write_text(json.dumps(rep), encoding="utf-8")
    dest = tmp_path / "estate"
    out = run_action(tmp_path, "report_merge", {"src": [str(tmp_path / "slice*")], "dest": str(dest)})
    assert not out.get("failed"), out.get("msg")
    assert out["summary"]["hosts"] == len(names)
    assert out["summary"]["findings"] == samples.EXPECTED["findings"]
    assert len(out["sources"]) == 2
    assert any("engines differ" in w for w in out.get("warnings", []))
    merged = json.loads((dest / "report.json").read_text(encoding="utf-8"))
    assert merged["engine"] == "mixed" and sorted(merged["hosts"]) == names

    strict = run_action(tmp_path, "report_merge", {"src": [str(tmp_path / "slice*")], "dest": str(tmp_path / "x"),
                                                   "strict": True})
    assert strict.get("failed") and "engines differ" in strict["msg"]
    assert not (tmp_path / "x").exists()


def test_bad_input_fails_with_a_clear_message(tmp_path):
    out = run_action(tmp_path, "report", report_args(tmp_path / "r", generated_at="not a date"),
                     extra={"refarch_results": samples.host_results()})
    assert out.get("failed") and "ISO 8601" in out["msg"]
    out = run_action(tmp_path, "report_merge", {"src": [str(tmp_path / "nothing-*.json")], "dest": str(tmp_path / "m")})
    assert out.get("failed") and "no report matches" in out["msg"]
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    out = run_action(tmp_path, "report_merge", {"src": [str(tmp_path / "bad.json")], "dest": str(tmp_path / "m")})
    assert out.get("failed") and "not valid JSON" in out["msg"]


def test_results_from_reads_an_estate_evaluation_registered_on_the_controller(tmp_path):
    """results_from: the same report as host_results, read from the named variable; a wrong name is an error."""
    by_dict = run_action(tmp_path, "report", report_args(tmp_path / "a"),
                         extra={"refarch_results": samples.host_results()})
    args = report_args(tmp_path / "b")
    del args["host_results"]
    by_name = run_action(tmp_path, "report", dict(args, results_from="estate"),
                         extra={"estate": {"host_results": samples.host_results(), "summary": {}}})
    assert not by_name.get("failed"), by_name.get("msg")
    assert by_name["summary"] == by_dict["summary"]
    assert json.loads((tmp_path / "b" / "report.json").read_text()) == json.loads(
        (tmp_path / "a" / "report.json").read_text())
    wrong = run_action(tmp_path, "report", dict(args, results_from="refarch_results"),
                       extra={"refarch_results": samples.host_results()})
    assert wrong.get("failed") and "does not hold an estate evaluation" in wrong["msg"]
