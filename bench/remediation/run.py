#!/usr/bin/env python3
"""Remediation benchmark: share of fixable corpus findings the rewriter fixes automatically.

For every Dockerfile in ``../shared/corpus`` (relative to the repository root):

1. build the facts document (``_dockerfile_facts.dockerfile_facts``, with the case's ``.dockerignore``
   and ``package.json``) and evaluate the policy bundle with the real OPA binary
   (``opa eval -b policies -I data.refarch.main.batch``);
2. ask the rewriter for the fixes the findings name (their ``fix`` field);
3. rebuild the facts from the rewritten Dockerfile and ``.dockerignore`` and evaluate again.

A finding is *fixable* when its ``fix`` is not ``manual`` (advisory findings included when
they name a fix).  It counts as *fixed* when no finding of the same rule remains on the
re-evaluated document.  Findings that appear only after the rewrite are counted as
``new``.  Every skip reason is tallied.

Usage: ``python bench/remediation/run.py [--opa PATH] [--date YYYY-MM-DD] [--verbose]``.
The last line is ``RESULT fixed_pct=... fixable=... fixed=... skipped=... new=...``.
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
from ansible_collections.refarch.containers.plugins.module_utils import _dockerfile_facts, _rewriter  # noqa: E402


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


def rewrite_context(case: Path, dockerignore_text, facts_doc: dict, eval_date: str, table: dict) -> dict:
    """The context the remediation module builds on a host, from the case directory."""
    return {
        "package_json": facts_doc.get("package_json"),
        "dockerignore": facts_doc.get("dockerignore"),
        "dockerignore_text": dockerignore_text,
        "context_files": sorted(p.name for p in case.iterdir()),
        "evaluation_date": eval_date,
        "base_image_table": table,
        "package_dependencies": _dependency_names(case / "package.json"),
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--opa", default=DEFAULT_OPA)
    parser.add_argument("--date", default=datetime.date.today().isoformat())
    parser.add_argument("--verbose", action="store_true")
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

    after_docs, results = [], []
    errors = 0
    for (case, path, data, di, pj), doc, findings in zip(inputs, before_docs, before, strict=True):
        fixes = sorted({f["fix"] for f in findings if f.get("fix") and f["fix"] != "manual"})
        text = data.decode("utf-8", "surrogateescape")
        di_text = di.decode("utf-8", "replace") if di is not None else None
        try:
            res = _rewriter.rewrite(text, fixes, rewrite_context(case, di_text, doc, args.date, table)) \
                if fixes else {"text": text, "dockerignore": None, "applied": [], "skipped": []}
        except _rewriter.RewriteError as exc:
            errors += 1
            res = {"text": text, "dockerignore": None, "applied": [],
                   "skipped": [{"fix": f, "reason": f"rewrite error: {exc}"} for f in fixes]}
        new_di = res["dockerignore"].encode("utf-8") if res["dockerignore"] is not None else di
        after_docs.append(facts_for(path, res["text"].encode("utf-8", "surrogateescape"), new_di, pj))
        results.append(res)
    after = evaluate(after_docs, args.opa, args.date)

    fixable = fixed = new = 0
    skipped = 0
    reasons = collections.Counter()
    remaining = collections.Counter()
    by_rule = collections.Counter()
    by_rule_fixed = collections.Counter()
    for (case, *_), f_before, f_after, res in zip(inputs, before, after, results, strict=True):
        rules_after = {f["rule_id"] for f in f_after}
        rules_before = {f["rule_id"] for f in f_before}
        for f in f_before:
            if not f.get("fix") or f["fix"] == "manual":
                continue
            fixable += 1
            by_rule[f["rule_id"]] += 1
            if f["rule_id"] not in rules_after:
                fixed += 1
                by_rule_fixed[f["rule_id"]] += 1
            else:
                remaining[f["rule_id"]] += 1
                if args.verbose:
                    print("REMAINS {} {}: {}".format(case.name, f["rule_id"], f["message"][:100]))
        for f in f_after:
            if f["rule_id"] not in rules_before:
                new += 1
                print("NEW {} {} line {}: {}".format(case.name, f["rule_id"], f.get("line"), f["message"][:120]))
        for s in res["skipped"]:
            if s.get("not_needed"):
                continue
            skipped += 1
            reasons["{}: {}".format(s["fix"], re.sub(r"\d+", "N", s["reason"])[:140])] += 1
    print("fixable findings by rule (fixed/total):")
    for rule in sorted(by_rule):
        print(f"  {rule} {by_rule_fixed[rule]}/{by_rule[rule]}")
    print(f"skip reasons ({skipped} skips):")
    for reason, count in reasons.most_common():
        print(f"  {count:4d}  {reason}")
    pct = 100.0 * fixed / fixable if fixable else 100.0
    print(f"RESULT fixed_pct={pct:.1f} fixable={fixable} fixed={fixed} skipped={skipped} new={new} "
          f"documents={len(cases)} rewrite_errors={errors}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
