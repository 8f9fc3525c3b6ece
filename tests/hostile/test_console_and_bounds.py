"""A hostile host's files through the real playbooks over SSH: the console, one file that breaks nothing, bounds.

One real sshd on loopback serves a host whose scan root holds

* ``big/Dockerfile``: 99,990 ``EXPOSE 80`` lines (1.0 MB, under the discovery size cap);
* three directories named by terminal escapes: ``ESC [2J ESC [31m`` (clear the screen, turn red), an
  OSC 8 hyperlink (``ESC ]8;;mailto:...BEL``) and an 8-bit CSI with U+2028 and U+202E;
* ``sep/``: a ``package.json`` whose start script holds U+2028, U+2029 and U+0085 (the NRA010 message
  quotes it), beside ``clean1/`` and ``clean2/``.

``refarch.containers.scan`` runs once while this process samples the playbook's whole process tree
(tests/hostile/proctree.py); ``refarch.containers.remediate --diff`` runs once over a second root
holding the three escape-named directories. Each test checks one outcome of those two runs.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))

from estate_fixtures import root_estate  # noqa: E402
from harness import ansible_env, tool  # noqa: E402
from playrun import run_playbook  # noqa: E402
from proctree import run_measured  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ESC_DIR = "\x1b[2J\x1b[31mred"
OSC_DIR = "\x1b]8;;mailto:x@evil.example\x07click\x1b]8;;\x07"  # no "/" in a file name
# 8-bit CSI (U+009B), a line separator and a right-to-left override: what JSON output leaves raw
C1_DIR = "c1\u009b31mcsi\u2028ls\u202egnp.exe"
HOSTILE_DIRS = (ESC_DIR, OSC_DIR, C1_DIR)
LINES = 99_990
SMALL = "FROM node:20\nCMD npm start\n"
SEP_DOCKERFILE = "FROM node:22-bookworm-slim\nUSER node\nWORKDIR /app\nCOPY . .\nCMD npm start\n"
SEP_SCRIPT = "node a\u2028b\u2029c\u0085d.js"
CLEAN = {
    "clean1": "FROM node:22-bookworm-slim\nUSER node\nWORKDIR /app\nCOPY . .\nEXPOSE 8080\n"
              "CMD [\"node\", \"server.js\"]\n",
    "clean2": "FROM node:20\nEXPOSE 80\nCMD node server.js\n",
}
#: Bytes that start or end a terminal control sequence (7-bit and 8-bit forms).
RAW_CONTROL = re.compile("[\x07\x1b\x9b\x9c\x9d\x90\x98\x9e\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
REPORT_LIMIT = 5 * 1024 * 1024
MEMORY_LIMIT_MIB = 300


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    work = tmp_path_factory.mktemp("console-bounds")
    with root_estate("refarch-console-") as ssh:
        host = ssh.add_host("web1")
        srv, srv2 = host.root / "srv", host.root / "srv2"
        (srv / "big").mkdir(parents=True)
        (srv / "big" / "Dockerfile").write_text("FROM node:20\n" + "EXPOSE 80\n" * LINES + 'CMD ["node", "a.js"]\n')
        for root in (srv, srv2):
            for name in HOSTILE_DIRS:
                (root / name).mkdir(parents=True)
                (root / name / "Dockerfile").write_text(SMALL)
        (srv / "sep").mkdir()
        (srv / "sep" / "Dockerfile").write_text(SEP_DOCKERFILE)
        (srv / "sep" / "package.json").write_text(json.dumps({"name": "sep", "scripts": {"start": SEP_SCRIPT}},
                                                             ensure_ascii=False), encoding="utf-8")
        for name, text in CLEAN.items():
            (srv / name).mkdir()
            (srv / name / "Dockerfile").write_text(text)
        inventory = ssh.write_inventory(work / "inventory.json")
        common = {"refarch_evaluation_date": "2026-11-28", "refarch_report_print_summary": True}
        scan_vars = work / "scan-vars.json"
        scan_vars.write_text(json.dumps(dict(common, refarch_scan_paths=[str(srv)],
                                             refarch_report_dir=str(work / "report"))))
        env = ansible_env(work, ANSIBLE_CALLBACKS_ENABLED="refarch.containers.refarch_summary")
        scan = run_measured([tool("ansible-playbook"), "-i", str(inventory), "refarch.containers.scan",
                             "-e", f"@{scan_vars}"], env=env, cwd=str(REPO), timeout=900)
        remediate = run_playbook(str(REPO / "playbooks" / "remediate.yml"), inventory, work, dict(
            common, refarch_scan_paths=[str(srv2)], refarch_report_dir=str(work / "report2"),
            refarch_remediate_backup_dir=str(work / "backups"),
            # fixes that apply whole here (chosen when the module's declined fixes were still returned as
            # "skipped", which Ansible showed as a skipped task without its diff; now renamed "declined")
            refarch_fixes=["NRA001", "NRA011"]), args=["--diff"],
            env_extra={"ANSIBLE_CALLBACKS_ENABLED": "refarch.containers.refarch_summary"})
        report = json.loads((work / "report" / "report.json").read_text(encoding="utf-8"))
        yield {"work": work, "srv": srv, "srv2": srv2, "scan": scan, "remediate": remediate, "report": report}


def _targets(report: dict) -> dict[str, dict]:
    return {t["path"]: t for h in report["hosts"].values() for t in h["targets"]}


def test_scan_ran(case, runs):
    c = case("hostile host: the scan over SSH of escapes, separators and 99,990 lines",
             "scan succeeds; every Dockerfile is a target")
    scan = runs["scan"]
    targets = _targets(runs["report"])
    c.see(f"rc={scan.returncode}; {len(targets)} targets")
    assert scan.returncode == 0, scan.stdout[-4000:] + scan.stderr[-3000:]
    assert len(targets) == 7, sorted(targets)


def test_repeated_lines_are_folded_and_bounded(case, runs):
    c = case("99,990 EXPOSE 80 lines in one Dockerfile (scan over SSH)",
             f"report files under 5 MB in all, controller process tree peak under {MEMORY_LIMIT_MIB} MB, "
             "the folding stated in every report format")
    scan, work = runs["scan"], runs["work"]
    files = {p.name: p for p in (work / "report").iterdir() if p.is_file()}
    total = sum(p.stat().st_size for p in files.values())
    big = _targets(runs["report"])[str(runs["srv"] / "big" / "Dockerfile")]
    folded = big.get("folded", {}).get("NRA002", 0)
    sizes = ", ".join(f"{n} {p.stat().st_size // 1024} KiB" for n, p in sorted(files.items()))
    c.see(f"reports {total / 1e6:.2f} MB ({sizes}); controller tree peak PSS {scan.peak_pss_mib:.0f} MiB "
          f"(sum of RSS {scan.peak_rss_sum_mib:.0f}, largest process {scan.peak_rss_max_mib:.0f}, "
          f"{scan.samples} samples); NRA002 listed "
          f"{sum(1 for f in big['findings'] if f['rule_id'] == 'NRA002')}, folded {folded:,}; "
          f"problems {[p.get('code') for p in big['problems']]}")
    assert scan.samples > 10, "the tree was not sampled"
    assert total < REPORT_LIMIT, total
    assert scan.peak_pss_mib < MEMORY_LIMIT_MIB, scan.peak_pss_mib
    assert folded > 9_000 and big["status"] == "noncompliant"
    assert sum(1 for f in big["findings"] if f["rule_id"] == "NRA002") == 20  # the default cap
    assert runs["report"]["summary"]["folded_findings"] >= folded
    words = f"{folded:,} more NRA002 findings on this target folded"
    for name in ("report.sarif", "report.junit.xml", "report.html"):
        assert words in files[name].read_text(encoding="utf-8"), name
    assert f"Folded: {runs['report']['summary']['folded_findings']:,}" in files["report.txt"].read_text()
    # past the parser's instruction bound the file is a named problem, never compliant
    assert "too_many_instructions" in [p.get("code") for p in big["problems"]]


def test_line_separators_in_a_package_json_break_nothing(case, runs):
    c = case("U+2028/U+2029/U+0085 in a package.json start script (scan over SSH)",
             "that target and its clean neighbours are evaluated normally; no engine failure")
    from ansible_collections.refarch.containers.plugins.action.policy_check import run_policy_check  # noqa: PLC0415
    from ansible_collections.refarch.containers.plugins.module_utils._discovery import scan  # noqa: PLC0415

    targets = _targets(runs["report"])
    seen = []
    for name in ("sep", *CLEAN):
        path = str(runs["srv"] / name / "Dockerfile")
        got = targets[path]
        # the same file evaluated here, alone: what its findings must be
        alone = run_policy_check({"facts": scan([str(runs["srv"] / name)])["dockerfiles"],
                                  "evaluation_date": "2026-11-28"}, "web1")
        want = [(f["rule_id"], f["line"], f["message"]) for f in alone["findings"]]
        have = [(f["rule_id"], f["line"], f["message"]) for f in got["findings"]]
        seen.append(f"{name}: {got['status']}, {len(have)} findings")
        assert got["error"] is None and not any(f.get("engine_failure") for f in got["findings"]), got
        assert have == want, name
    c.see("; ".join(seen))
    nra010 = next(f for f in targets[str(runs["srv"] / "sep" / "Dockerfile")]["findings"] if f["rule_id"] == "NRA010")
    assert SEP_SCRIPT in nra010["message"], "the separators must reach the engine's output (or nothing is tested)"
    assert runs["report"]["summary"]["hosts_by_status"]["ok"] == 1


def _console_check(c, proc, what: str) -> None:
    text = proc.stdout + proc.stderr
    raw = sorted({f"U+{ord(ch):04X}" for ch in RAW_CONTROL.findall(text)})
    # escaped (a JSON dump of a task result doubles the backslash)
    shown = [p for p in (r"\\{1,2}x1b\[2J", r"\\{1,2}x1b\]8;;mailto:x@evil\.example",
                         r"c1\\{1,2}x9b31mcsi\\{1,2}u2028ls\\{1,2}u202egnp") if re.search(p, text)]
    c.see(f"{what}: rc={proc.returncode}; raw control characters on the console: {raw or 'none'}; "
          f"escaped names shown: {len(shown)}/3")
    assert not raw, raw
    assert len(shown) == 3, "the hostile names must reach the console, escaped (or nothing is tested)"


def test_scan_console_has_no_raw_escapes(case, runs):
    c = case("directory names with ESC [2J, an OSC 8 hyperlink, 8-bit CSI, U+2028, U+202E: scan console",
             "no raw ESC/BEL/OSC/C1 byte on stdout or stderr; the names shown escaped (\\x1b)")
    _console_check(c, runs["scan"], "scan")


def test_remediate_console_has_no_raw_escapes(case, runs):
    c = case("directory names with ESC [2J, an OSC 8 hyperlink, 8-bit CSI, U+2028, U+202E: remediate --diff console",
             "no raw ESC/BEL/OSC/C1 byte in task names, loop labels, diff headers or messages; names shown escaped")
    proc = runs["remediate"]
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-3000:]
    rewritten = [p for p in runs["srv2"].rglob("Dockerfile") if p.read_text() != SMALL]
    c.see(f"{len(rewritten)}/3 Dockerfiles rewritten")
    assert len(rewritten) == 3, "remediation must have acted on both (or the diff headers were never printed)"
    assert "--- before" in proc.stdout or "+++ after" in proc.stdout, "no diff was printed"
    _console_check(c, proc, "remediate --diff")


def test_one_document_that_breaks_the_engine_fails_that_target_only(case, runs):
    c = case("a document the engine fails on (regorus: nested deeper than it reads) among the host's documents",
             "that target: one NRA000 engine-failure finding, status error (never compliant); the others as before")
    from ansible_collections.refarch.containers.plugins.action.policy_check import run_estate_check  # noqa: PLC0415
    from ansible_collections.refarch.containers.plugins.module_utils._discovery import scan  # noqa: PLC0415
    from ansible_collections.refarch.containers.plugins.plugin_utils._report import build_report  # noqa: PLC0415

    docs = scan([str(runs["srv"] / name) for name in ("sep", *CLEAN)])["dockerfiles"]
    deep: list = []
    cursor = deep
    for _level in range(300):
        cursor.append([])
        cursor = cursor[0]
    poisoned = [dict(docs[0], extra=deep), *docs[1:]]
    args = {"evaluation_date": "2026-11-28", "embedded_backend": "regorus"}
    before = run_estate_check(args, {"web1": {"dockerfiles": docs}})["host_results"]["web1"]
    after = run_estate_check(args, {"web1": {"dockerfiles": poisoned}})["host_results"]["web1"]
    report = build_report({"web1": after}, engine="embedded", policy_revision=None,
                          generated_at="2026-11-28T00:00:00Z", rules_catalog={})
    broken = docs[0]["path"]
    target = next(t for t in report["hosts"]["web1"]["targets"] if t["path"] == broken)
    c.see(f"host {after['status']}; broken target {target['status']}: "
          f"{[(f['rule_id'], f.get('engine_failure')) for f in target['findings']]}; "
          f"{report['summary']['error_targets']} error target(s), {report['summary']['compliant_targets']} compliant")
    assert after["status"] == "ok" and target["status"] == "error"
    assert [(f["rule_id"], f.get("engine_failure")) for f in target["findings"]] == [("NRA000", "eval_error")]
    assert [f for f in after["findings"] if f["target"]["path"] != broken] == [
        f for f in before["findings"] if f["target"]["path"] != broken]
