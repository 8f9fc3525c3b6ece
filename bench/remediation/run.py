#!/usr/bin/env python3
"""Remediation benchmark: share of fixable corpus findings the rewriter fixes, and whether every claim holds.

For every Dockerfile in ``../shared/corpus`` (relative to the repository root):

1. build the facts document (``_dockerfile_facts.dockerfile_facts``, with the case's ``.dockerignore``
   and ``package.json``) and evaluate the policy bundle with the real OPA binary
   (``opa eval -b policies -I data.refarch.main.batch``);
2. ask the rewriter for the fixes the findings name (their ``fix`` field), with the case directory as the
   build context the port fix may read (``_context_files.ContextFiles``, as the module does on a host);
3. rebuild the facts from the rewritten Dockerfile and ``.dockerignore`` and decide the claims as the remediate
   role does: evaluate them with the embedded engine (regorus) and call ``_rewrite.claims.decide``;
4. check every claim independently: evaluate the rewritten facts with OPA (the other engine) and check each fix's
   precondition again (for NRA002: the rewritten file sets the variable the application is shown to read to the
   port it exposes, re-detected from the application's files).

A finding is *fixable* when its ``fix`` is not ``manual``. It counts as *fixed* when the decision reports its rule
fixed and that claim is not false; *gone* when its rule no longer fires, claimed or not (the figure this bench
printed before claims were checked). A *false claim* (counted per Dockerfile and rule) is a rule reported fixed
that still fires on the OPA re-evaluation or whose precondition fails (must be 0). *Refuted* counts claims the
rewriter made that the re-evaluation turned down (the decision then reports the fix partly applied). Findings that
appear only after the rewrite are *new*. Every skip reason and every partly-applied reason is tallied.

``--code-root PATH`` runs the rewriter of another checkout (e.g. ``git archive <base> | tar -x -C PATH``) with
this checkout's policies, engines and checks; a rewriter without ``fix_status`` is judged as the remediate role
of that revision judged it (every applied fix that was not partly applied claims its rules).

Usage: ``python bench/remediation/run.py [--opa PATH] [--date YYYY-MM-DD] [--code-root PATH] [--verbose]
[--base-image-allow line_jump,libc_change]`` (the last: what ``replace_base_image`` may do beyond its default, the
module's ``base_image_allow``; by default nothing, as the module).
The last line is ``RESULT fixed_pct=... fixable=... fixed=... partly_applied=... skipped=... false_claims=...
refuted=... new=... documents=... rewrite_errors=...``.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus" / "cases"
DEFAULT_OPA = os.environ.get("OPA") or str(REPO / ".tools" / "bin" / "opa")


COLLECTIONS = REPO / ".venv" / "collections"


def _link_collection() -> None:
    """Make ``ansible_collections.refarch.containers`` importable from this checkout (as tests/conftest.py does)."""
    link = COLLECTIONS / "ansible_collections" / "refarch" / "containers"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO, target_is_directory=True)
    if str(COLLECTIONS) not in sys.path:
        sys.path.insert(0, str(COLLECTIONS))


_link_collection()
from ansible_collections.refarch.containers.plugins.module_utils import (  # noqa: E402
    _dockerfile_facts,
    _rewriter,
)
from ansible_collections.refarch.containers.plugins.module_utils._context_files import ContextFiles  # noqa: E402
from ansible_collections.refarch.containers.plugins.module_utils._rewrite import app_port, claims  # noqa: E402
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.model import FixContext, _Doc  # noqa: E402


def evaluate(docs: list, opa: str, eval_date: str) -> list:
    """Evaluate facts documents with ``opa eval``; returns one list of findings per document."""
    payload = {"documents": docs, "evaluation_date": eval_date, "config": {}}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(payload, fh)
        name = fh.name
    try:
        proc = subprocess.run([opa, "eval", "-b", str(REPO / "policies"), "-i", name, "--format", "json",
                               "data.refarch.main.batch"], capture_output=True, text=True, check=False)
    finally:
        os.unlink(name)
    if proc.returncode != 0:
        raise RuntimeError(f"opa eval failed: {proc.stderr.strip()[:2000]} {proc.stdout.strip()[:2000]}")
    out = json.loads(proc.stdout)
    try:
        value = out["result"][0]["expressions"][0]["value"]
    except (KeyError, IndexError) as exc:
        raise RuntimeError("opa eval returned no decision for data.refarch.main.batch") from exc
    if len(value) != len(docs):
        raise RuntimeError(f"opa returned {len(value)} results for {len(docs)} documents")
    return value


def rewrite_context(case: Path, dockerignore_text, facts_doc: dict, eval_date: str, table: dict, *,
                    allow: tuple = ()) -> dict:
    """The context the remediation module builds on a host, from the case directory (``allow``: the module's
    ``base_image_allow``)."""
    return {
        "package_json": facts_doc.get("package_json"),
        "dockerignore": facts_doc.get("dockerignore"),
        "dockerignore_text": dockerignore_text,
        "context_files": sorted(p.name for p in case.iterdir()),
        "evaluation_date": eval_date,
        "base_image_table": table,
        "package_dependencies": _dependency_names(case / "package.json"),
        "base_image_allow": tuple(allow),
    }


def _dependency_names(path: Path):
    """Production dependency names of a package.json (None when it cannot be read)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        deps = data.get("dependencies") or {}
        return sorted(deps) if isinstance(deps, dict) else None
    except (OSError, ValueError, AttributeError):
        return None


def facts_for(path: str, data: bytes, dockerignore, package_json) -> dict:
    return _dockerfile_facts.dockerfile_facts(path, data, dockerignore, package_json)


#: The rewriter of another checkout (``--code-root``), run in a child so that its modules are imported from there.
_CHILD = """
import json, os, sys, tempfile
root, tmp = sys.argv[1], tempfile.mkdtemp()
os.makedirs(os.path.join(tmp, "ansible_collections", "refarch"))
os.symlink(root, os.path.join(tmp, "ansible_collections", "refarch", "containers"))
sys.path.insert(0, tmp)
from ansible_collections.refarch.containers.plugins.module_utils import _rewriter as R
out = []
for job in json.load(sys.stdin):
    try:
        out.append(R.rewrite(job["text"], job["fixes"], job["context"]))
    except R.RewriteError as exc:
        out.append({"error": str(exc)})
json.dump(out, sys.stdout)
"""


def rewrite_all(jobs: list, code_root) -> list:
    """The rewriter's result for each ``(case, text, fixes, context)``; the port fix reads the case directory."""
    if code_root is not None:
        payload = [{"text": t, "fixes": f, "context": c} for _case, t, f, c in jobs]
        proc = subprocess.run([sys.executable, "-c", _CHILD, str(Path(code_root).resolve())], input=json.dumps(payload),
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"the rewriter of {code_root} failed: {proc.stderr[-2000:]}")
        return json.loads(proc.stdout)
    out = []
    for case, text, fixes, context in jobs:
        fd = os.open(case, os.O_RDONLY | os.O_DIRECTORY)
        reader = ContextFiles(fd, str(case))
        try:
            out.append(_rewriter.rewrite(text, fixes, dict(context, read_file=reader)))
        except _rewriter.RewriteError as exc:
            out.append({"error": str(exc)})
        finally:
            reader.close()
            os.close(fd)
    return out


def legacy_status(res: dict) -> list:
    """Claims as the remediate role made them before fix_status: every applied fix not partly applied."""
    partial = {s["fix"] for s in res.get("skipped") or [] if s.get("partial")}
    return [{"fix": a["fix"], "rule_ids": a.get("rule_ids") or [a["rule_id"]], "reason": "",
             "status": claims.PARTLY_APPLIED if a["fix"] in partial else claims.APPLIED,
             "claims": [] if a["fix"] in partial else list(a.get("rule_ids") or [a["rule_id"]])}
            for a in res.get("applied") or []]


def port_follows(case: Path, text: str, context: dict, floor: int = 1024) -> tuple:
    """(holds, why not): the rewritten file sets the port variable the application is shown to read (re-detected
    from the case's files) to the one port it exposes, and that port is not privileged."""
    fd = os.open(case, os.O_RDONLY | os.O_DIRECTORY)
    reader = ContextFiles(fd, str(case))
    try:
        doc = _Doc(text, _rewriter.parse_dockerfile)
        evidence = app_port.detect(doc, FixContext.of(dict(context, read_file=reader), []))
    finally:
        reader.close()
        os.close(fd)
    if evidence.variable is None:
        return False, evidence.why
    final = doc.facts.get("final_stage") or {}
    value = str(((final.get("env") or {}).get(evidence.variable) or {}).get("value") or "")
    exposed = [p.get("port") for p in final.get("exposed_ports") or []]
    if not value.isdigit() or int(value) < floor:
        return False, f"{evidence.variable} is {value or 'not set'}"
    if any(isinstance(p, int) and p < floor for p in exposed) or (exposed and int(value) not in exposed):
        return False, f"EXPOSE {exposed} does not match {evidence.variable}={value}"
    return True, ""


def embedded_engine():
    from ansible_collections.refarch.containers.plugins.plugin_utils import _bundle  # noqa: PLC0415
    from ansible_collections.refarch.containers.plugins.plugin_utils._engine_embedded import (  # noqa: PLC0415
        EmbeddedEngine,
    )
    return EmbeddedEngine(_bundle.load_bundle(include_default=False, paths=[str(REPO / "policies")]),
                          backend="regorus")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--opa", default=DEFAULT_OPA)
    parser.add_argument("--date", default=datetime.date.today().isoformat())
    parser.add_argument("--code-root", help="run the rewriter of this checkout (the policies stay this one's)")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--base-image-allow", default="", type=lambda v: tuple(x for x in v.split(",") if x),
                        help="what replace_base_image may do beyond its default, as the module's base_image_allow "
                             "(line_jump,libc_change); default: nothing, the module's default")
    args = parser.parse_args(argv)
    if not CORPUS.is_dir():
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 2
    table = json.loads((REPO / "policies" / "refarch" / "config" / "data.json").read_text())
    cases = sorted(p for p in CORPUS.iterdir() if (p / "Dockerfile").is_file())
    before_docs, inputs = [], []
    for case in cases:
        data = (case / "Dockerfile").read_bytes()
        di = (case / ".dockerignore").read_bytes() if (case / ".dockerignore").is_file() else None
        pj = (case / "package.json").read_bytes() if (case / "package.json").is_file() else None
        path = f"/srv/{case.name}/Dockerfile"
        before_docs.append(facts_for(path, data, di, pj))
        inputs.append((case, path, data, di, pj))
    before = evaluate(before_docs, args.opa, args.date)

    jobs = []
    for (case, _path, data, di, _pj), doc, findings in zip(inputs, before_docs, before, strict=True):
        fixes = sorted({f["fix"] for f in findings if f.get("fix") and f["fix"] != "manual"})
        di_text = di.decode("utf-8", "replace") if di is not None else None
        jobs.append((case, data.decode("utf-8", "surrogateescape"), fixes,
                     rewrite_context(case, di_text, doc, args.date, table, allow=args.base_image_allow)))
    todo = [k for k, job in enumerate(jobs) if job[2]]
    done = dict(zip(todo, rewrite_all([jobs[k] for k in todo], args.code_root), strict=True))
    after_docs, results = [], []
    errors = 0
    for k, (_case, path, _data, di, pj) in enumerate(inputs):
        res = done.get(k) or {"text": jobs[k][1], "dockerignore": None, "applied": [], "skipped": []}
        if "error" in res:
            errors += 1
            res = {"text": jobs[k][1], "dockerignore": None, "applied": [],
                   "skipped": [{"fix": f, "reason": f"rewrite error: {res['error']}"} for f in jobs[k][2]]}
        new_di = res["dockerignore"].encode("utf-8") if res["dockerignore"] is not None else di
        after_docs.append(facts_for(path, res["text"].encode("utf-8", "surrogateescape"), new_di, pj))
        results.append(res)
    after = evaluate(after_docs, args.opa, args.date)            # the check (OPA)
    decided_on = embedded_engine().evaluate(after_docs, args.date)  # what the remediate role decides on

    fixable = fixed = gone = new = skipped = partly = false_claims = refuted = 0
    reasons = collections.Counter()
    partly_reasons = collections.Counter()
    by_rule = collections.Counter()
    by_rule_fixed = collections.Counter()
    legacy = False
    for (case, *_), f_before, f_after, f_decided, res, job in zip(inputs, before, after, decided_on, results, jobs,
                                                                   strict=True):
        rules_after = {f["rule_id"] for f in f_after if not f.get("waived")}
        rules_before = {f["rule_id"] for f in f_before}
        wanted = sorted({f["rule_id"] for f in f_before if f.get("fix") and f["fix"] != "manual"})
        status = res.get("fix_status")
        if status is None:
            legacy, status = True, legacy_status(res)
        decided = {f["rule_id"] for f in f_decided if not f.get("waived")}
        decision = claims.decide(status, wanted, decided, "NRA000" not in decided)
        refuted += len(decision["refuted"])
        false = set()
        for rule in decision["rules_fixed"]:
            why = ""
            if rule in rules_after:
                why = "still fires (OPA)"
            elif rule == "NRA002":
                holds, why = port_follows(case, res["text"], job[3])
                why = "" if holds else "precondition fails: " + why
            if why:
                false.add(rule)
                false_claims += 1
                print(f"FALSE CLAIM {case.name} {rule}: {why}")
        for f in f_before:
            if not f.get("fix") or f["fix"] == "manual":
                continue
            fixable += 1
            by_rule[f["rule_id"]] += 1
            gone += f["rule_id"] not in rules_after
            if f["rule_id"] in decision["rules_fixed"] and f["rule_id"] not in false:
                fixed += 1
                by_rule_fixed[f["rule_id"]] += 1
            elif args.verbose:
                print("NOT FIXED {} {}: {}".format(case.name, f["rule_id"], f["message"][:100]))
        for f in f_after:
            if f["rule_id"] not in rules_before:
                new += 1
                print("NEW {} {} line {}: {}".format(case.name, f["rule_id"], f.get("line"), f["message"][:120]))
        for e in decision["fix_status"]:
            if e["status"] == claims.PARTLY_APPLIED:
                partly += 1
                partly_reasons["{}: {}".format(e["fix"], re.sub(r"\d+", "N", e.get("reason") or "")[:140])] += 1
        for s in res["skipped"]:
            if s.get("not_needed") or s.get("partial"):
                continue
            skipped += 1
            reasons["{}: {}".format(s["fix"], re.sub(r"\d+", "N", s["reason"])[:140])] += 1
    print("fixable findings by rule (reported fixed/total):")
    for rule in sorted(by_rule):
        print(f"  {rule} {by_rule_fixed[rule]}/{by_rule[rule]}")
    print(f"skip reasons ({skipped} skips):")
    for reason, count in reasons.most_common():
        print(f"  {count:4d}  {reason}")
    print(f"partly applied reasons ({partly} fixes):")
    for reason, count in partly_reasons.most_common():
        print(f"  {count:4d}  {reason}")
    pct = 100.0 * fixed / fixable if fixable else 100.0
    gone_pct = 100.0 * gone / fixable if fixable else 100.0
    print(f"claims judged as {'the remediate role of that revision did (no fix_status)' if legacy else 'decide()'}")
    print(f"base_image_allow: {','.join(args.base_image_allow) or 'nothing (the default)'}")
    print(f"RESULT fixed_pct={pct:.1f} fixable={fixable} fixed={fixed} gone_pct={gone_pct:.1f} "
          f"partly_applied={partly} skipped={skipped} false_claims={false_claims} refuted={refuted} new={new} "
          f"documents={len(cases)} rewrite_errors={errors}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
