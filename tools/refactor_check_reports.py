#!/usr/bin/env python3
"""Controller-side outputs kept byte-identical across a refactor (issue 13, items 3-7).

    refactor_check_reports.py record DIR    # before: write the outputs under DIR
    refactor_check_reports.py compare DIR   # after: write them again and compare with DIR

What it records:

- ``examples/``: every policies/examples case evaluated by ``run_policy_check`` with the
  embedded engine on regorus and on regopy, one estate run (``run_estate_check``) and
  ``opa eval data.refarch.main.batch``; the facts are computed once at ``record`` time
  and stored, so a host-side change does not show up here (that is the host-side check's
  job, tools/refactor_check.py).
- ``demo/``: the scan playbook over examples/estate (tools/demo.sh's run) with the
  refarch_summary callback on: report.json, report.sarif, report.junit.xml, report.html,
  report.txt and the console output.

What it normalizes: the run's generated_at time stamp (and the SARIF guid made from it),
engine timings and memory peaks, and the policy revision hash (it changes when a .rego
file changes; it is printed so that a reviewer sees it).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "policies" / "examples"
VOLATILE_STATS = re.compile(r"(seconds|_mib|_ms)$")
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
GUID = re.compile(r'"guid": "[0-9a-f-]{36}"')
REVISION = re.compile(r"refarch-policies-([0-9.]+)\+[0-9a-f]{12}")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{REPO}/.venv/bin:{REPO}/.tools/bin:{env.get('PATH', '')}"
    env["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
    return env


def _text(value: str) -> str:
    value = STAMP.sub("<STAMP>", value)
    value = GUID.sub('"guid": "<GUID>"', value)
    return REVISION.sub(r"refarch-policies-\1+<REV>", value)


def _stable(value: Any) -> Any:
    """A task result without timings (engine_stats seconds, memory peaks)."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items()
                if not (isinstance(v, (int, float)) and VOLATILE_STATS.search(str(k)))}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _facts_docs(out: Path) -> list[dict[str, Any]]:
    """The examples' facts: made at record time (host-side code), read back at compare time."""
    path = out / "examples" / "facts.json"
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    sys.path.insert(0, str(REPO / ".venv" / "collections"))
    facts = None
    for name in ("_facts", "_dockerfile_facts"):
        try:
            facts = __import__(f"ansible_collections.refarch.containers.plugins.module_utils.{name}",
                               fromlist=["dockerfile_facts"])
            break
        except ImportError:
            continue
    index = json.loads((EXAMPLES / "index.json").read_text(encoding="utf-8"))
    docs = []
    for example in index["examples"]:
        dockerfile = EXAMPLES / example["path"]
        ignore, package = dockerfile.parent / ".dockerignore", dockerfile.parent / "package.json"
        docs.append(facts.dockerfile_facts(str(dockerfile), dockerfile.read_bytes(),
                                           ignore.read_bytes() if ignore.exists() else None,
                                           package.read_bytes() if package.exists() else None))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(docs, indent=1, sort_keys=True), encoding="utf-8")
    return docs


def record_examples(out: Path) -> None:
    """The controller's answers for every policies/examples case (embedded regorus and regopy, estate, OPA)."""
    sys.path.insert(0, str(REPO / ".venv" / "collections"))
    from ansible_collections.refarch.containers.plugins.action import policy_check  # noqa: PLC0415
    docs = _facts_docs(out)
    date = json.loads((EXAMPLES / "index.json").read_text(encoding="utf-8"))["evaluation_date"]
    target = out / "examples"
    for backend in ("regorus", "regopy"):
        args = {"facts": {"dockerfiles": docs}, "engine": "embedded", "embedded_backend": backend,
                "evaluation_date": date}
        result = policy_check.run_policy_check(args, "examples")
        (target / f"policy_check.{backend}.json").write_text(
            _text(json.dumps(_stable(result), indent=1, sort_keys=True)), encoding="utf-8")
    half = len(docs) // 2
    estate = policy_check.run_estate_check(
        {"engine": "embedded", "evaluation_date": date, "fail_on": "high"},
        {"h1": {"dockerfiles": docs[:half]}, "h2": {"dockerfiles": docs[half:]},
         "h3": {"unreachable": True, "msg": "x"}})
    (target / "estate.json").write_text(_text(json.dumps(_stable(estate), indent=1, sort_keys=True)),
                                        encoding="utf-8")
    input_path = target / "opa-input.json"
    input_path.write_text(json.dumps({"documents": docs, "evaluation_date": date}), encoding="utf-8")
    opa = subprocess.run([str(REPO / ".tools/bin/opa"), "eval", "--bundle", str(REPO / "policies"), "--input",
                          str(input_path), "--format", "json", "data.refarch.main.batch"],
                         capture_output=True, text=True, check=True, env=_env())
    value = json.loads(opa.stdout)["result"][0]["expressions"][0]["value"]
    (target / "opa-batch.json").write_text(json.dumps(value, indent=1, sort_keys=True), encoding="utf-8")
    input_path.unlink()


def record_demo(out: Path) -> None:
    """The scan playbook over examples/estate: every report file and the console."""
    target = out / "demo"
    reports = target / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    env = _env()
    env["ANSIBLE_CALLBACKS_ENABLED"] = "refarch.containers.refarch_summary"
    extra = json.dumps({"refarch_scan_paths": [str(REPO / "examples/estate")], "refarch_report_dir": str(reports)})
    run = subprocess.run(["ansible-playbook", "refarch.containers.scan", "-i", "examples/inventory.yml", "-e", extra],
                         capture_output=True, text=True, cwd=REPO, env=env, check=False)
    (target / "console.txt").write_text(_text(run.stdout.replace(str(out), "<OUT>")) + f"rc={run.returncode}\n",
                                        encoding="utf-8")
    for path in sorted(reports.iterdir()):
        path.write_text(_text(path.read_text(encoding="utf-8")), encoding="utf-8")


def record(out: Path) -> None:
    (out / "examples").mkdir(parents=True, exist_ok=True)
    record_examples(out)
    record_demo(out)


def compare(baseline: Path) -> int:
    now = baseline.parent / (baseline.name + ".now")
    if now.exists():
        subprocess.run(["rm", "-rf", str(now)], check=True)
    now.mkdir(parents=True)
    (now / "examples").mkdir()
    (now / "examples" / "facts.json").write_text((baseline / "examples" / "facts.json").read_text(encoding="utf-8"),
                                                 encoding="utf-8")
    record(now)
    differ = 0
    for path in sorted(p for p in baseline.rglob("*") if p.is_file()):
        rel = path.relative_to(baseline)
        other = now / rel
        same = other.exists() and other.read_bytes() == path.read_bytes()
        print(f"{'same' if same else 'DIFFERS'}  {rel}")
        differ += not same
    extra = sorted(str(p.relative_to(now)) for p in now.rglob("*") if p.is_file()
                   and not (baseline / p.relative_to(now)).exists())
    for rel in extra:
        print(f"NEW  {rel}")
    print(f"RESULT files={sum(1 for p in baseline.rglob('*') if p.is_file())} differ={differ} new={len(extra)}")
    return 1 if differ or extra else 0


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in ("record", "compare"):
        print(__doc__)
        return 2
    out = Path(argv[2]).resolve()
    if argv[1] == "record":
        record(out)
        print(f"recorded under {out}")
        return 0
    return compare(out)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
