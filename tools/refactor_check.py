"""Byte-identical check for refactors: record what the host-side code produces, compare two records.

For every input Dockerfile of three sets it records one JSON file (sorted keys) holding

* ``facts``: the facts document (``dockerfile_facts``, with the ``.dockerignore`` and
  ``package.json`` of its directory),
* ``findings``: the findings of the shipped policy bundle in the embedded engine (regorus),
  evaluated on the examples' evaluation date,
* ``rewrite``: the rewriter's result with ``fixes: all`` (text, dockerignore, applied and
  skipped/declined lists, ``fix_status`` since #16) under the remediate module's default options, with the
  input's directory as the build context the port fix reads (``_context_files``, when the tree has it), or the
  error it raised.

Sets (``--sets``):

* ``examples``: every case of ``policies/examples/index.json``;
* ``bench``: the tree ``bench/discovery/run.py`` generates (its ``generate()``, deterministic),
  with ``--bench-projects`` projects (default 60 of the bench's 2,000: the bench cycles 3
  templates x 3 Node versions x 3 file names, so 60 projects cover every combination) in
  ``build/refactor-check/bench-tree`` (a fixed path: the facts hold the path);
* ``corpus``: every ``Dockerfile`` of ``../shared/corpus/cases`` (skipped with a message when absent).

A baseline comes from a ``git worktree`` of ``--rev`` (the revision before the refactor), with
``--overlay`` paths (files or directories) copied from the current tree over it: files other
people change at the same time in behaviour (by default ``plugins/module_utils/_redact.py``)
so that only the refactored code differs. Without ``--rev`` the current tree is recorded.

    .venv/bin/python tools/refactor_check.py record --rev abc123 --out build/refactor-check/base
    .venv/bin/python tools/refactor_check.py record --out build/refactor-check/head
    .venv/bin/python tools/refactor_check.py compare build/refactor-check/base build/refactor-check/head
    .venv/bin/python tools/refactor_check.py check --rev abc123      # both, then compare

Exit status: 0 identical, 1 different (the first differences are printed), 2 usage or set-up error.
"""
from __future__ import annotations

import argparse
import difflib
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "cases"
EXAMPLES = REPO / "policies" / "examples"
DEFAULT_OUT = REPO / "build" / "refactor-check"
DEFAULT_OVERLAY = ["plugins/module_utils/_redact.py"]
SETS = ("examples", "bench", "corpus")
# Module names the facts builder and the rewriter had or have (the first importable one is used).
FACTS_MODULES = ("_dockerfile_facts", "_facts")
REWRITER_MODULES = ("_rewriter", "_rewrite", "_remediation")
# The remediate module's defaults (dockerfile_remediate's argument spec).
REWRITE_OPTIONS = {"port_map": {80: 8080, 443: 8443}, "port_offset": 8000, "base_image_table": None,
                   "user_ids": None, "init_tool": "tini", "max_node_memory": 1024}


# ---------------------------------------------------------------- inputs (read from the current tree)

def _bench_tree(projects: int) -> Path:
    sys.path.insert(0, str(REPO / "bench" / "discovery"))
    try:
        run = importlib.import_module("run")
    finally:
        sys.path.pop(0)
    root = DEFAULT_OUT / "bench-tree"
    root.mkdir(parents=True, exist_ok=True)
    run.generate(root, projects)
    return root


def inputs(sets: list[str], projects: int) -> list[tuple[str, Path]]:
    """(record name, Dockerfile path) of every input, in a stable order."""
    out: list[tuple[str, Path]] = []
    for name in sets:
        if name == "examples":
            index = json.loads((EXAMPLES / "index.json").read_text(encoding="utf-8"))
            out += [(f"examples/{e['path']}", EXAMPLES / e["path"]) for e in index["examples"]]
        elif name == "corpus":
            if not CORPUS.is_dir():
                print(f"corpus: skipped, {CORPUS} not found", file=sys.stderr)
                continue
            out += [(f"corpus/{c.name}", c / "Dockerfile") for c in sorted(CORPUS.iterdir())
                    if (c / "Dockerfile").is_file()]
        elif name == "bench":
            root = _bench_tree(projects)
            found = []
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(d for d in dirnames if d not in ("node_modules", ".git"))
                for f in sorted(filenames):
                    if f in ("Dockerfile", "Containerfile") or f.endswith(".Dockerfile"):
                        found.append(Path(dirpath) / f)
            out += [(f"bench/{p.relative_to(root)}", p) for p in sorted(found)]
        else:
            raise SystemExit(f"unknown set {name!r}; use {', '.join(SETS)}")
    return out


def _side(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


def _package_context(directory: Path) -> tuple:
    """The package.json part of the rewrite context, as dockerfile_remediate reads it."""
    path = directory / "package.json"
    data = _side(path)
    if data is None:
        return {"path": str(path), "exists": False, "error": None}, None
    try:
        doc = json.loads(data.decode("utf-8-sig"))
        if not isinstance(doc, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        return {"path": str(path), "exists": True, "error": {"code": "invalid_json", "message": str(exc)}}, None
    scripts = doc.get("scripts") if isinstance(doc.get("scripts"), dict) else {}
    deps = doc.get("dependencies") if isinstance(doc.get("dependencies"), dict) else {}
    pkg = {"path": str(path), "exists": True, "error": None, "name": doc.get("name"), "main": doc.get("main"),
           "scripts": {str(k): str(v) for k, v in scripts.items()}, "workspaces": doc.get("workspaces"),
           "engines": doc.get("engines") if isinstance(doc.get("engines"), dict) else {}}
    return pkg, sorted(deps)


# ---------------------------------------------------------------- recording (runs against --code-root)

def _import(code_root: Path, names: tuple, tmp: Path):
    link = tmp / "ansible_collections" / "refarch" / "containers"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(code_root)
        sys.path.insert(0, str(tmp))
    for name in names:
        try:
            return importlib.import_module(f"ansible_collections.refarch.containers.plugins.module_utils.{name}")
        except ModuleNotFoundError as exc:
            if not exc.name or not exc.name.endswith(name):
                raise
    raise SystemExit(f"none of {names} importable under {code_root}")


def dump(code_root: Path, out: Path, sets: list[str], projects: int) -> int:
    """Record every input's facts, findings and rewrite with the code under ``code_root``."""
    tmp = Path(tempfile.mkdtemp(prefix="refactor-check-"))
    try:
        facts_mod = _import(code_root, FACTS_MODULES, tmp)
        rewriter = _import(code_root, REWRITER_MODULES, tmp)
        try:  # the build context reader the port fix uses (#16); older trees have none
            context_files = _import(code_root, ("_context_files",), tmp)
        except SystemExit:
            context_files = None
        from ansible_collections.refarch.containers.plugins.plugin_utils import _bundle  # noqa: PLC0415
        from ansible_collections.refarch.containers.plugins.plugin_utils._engine_embedded import (  # noqa: PLC0415
            EmbeddedEngine,
        )
        date = json.loads((EXAMPLES / "index.json").read_text(encoding="utf-8"))["evaluation_date"]
        items = inputs(sets, projects)
        records: dict[str, dict] = {}
        for name, path in items:
            directory = path.parent
            data = path.read_bytes()
            di = _side(directory / ".dockerignore")
            facts = facts_mod.dockerfile_facts(str(path), data, di, _side(directory / "package.json"))
            package_json, deps = _package_context(directory)
            context = dict(REWRITE_OPTIONS, package_json=package_json, package_dependencies=deps,
                           evaluation_date=date, dockerignore_text=None if di is None else
                           di.decode("utf-8", "surrogateescape"),
                           context_files=sorted(n for n in rewriter.MANIFEST_CANDIDATES if (directory / n).is_file()))
            text = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
            fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
            if context_files is not None:   # the application's files, as dockerfile_remediate reads them
                context["read_file"] = context_files.ContextFiles(fd, str(directory))
            try:
                rewrite = rewriter.rewrite(text.decode("utf-8", "surrogateescape"), ["all"], context)
            except rewriter.RewriteError as exc:
                rewrite = {"error": str(exc)}
            finally:
                os.close(fd)
            records[name] = {"facts": facts, "rewrite": rewrite}
        bundle = _bundle.load_bundle(include_default=False, paths=[str(code_root / "policies")])
        engine = EmbeddedEngine(bundle, backend="regorus")
        names = list(records)
        findings = engine.evaluate([records[n]["facts"] for n in names], date)
        for n, f in zip(names, findings, strict=True):
            records[n]["findings"] = f
        shutil.rmtree(out, ignore_errors=True)
        for n, rec in records.items():
            target = out / (n + ".json")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(rec, sort_keys=True, indent=1, ensure_ascii=False,
                                         default=repr) + "\n", encoding="utf-8", errors="surrogateescape")
        (out / "RECORD").write_text(json.dumps({"code_root": str(code_root), "sets": sets, "inputs": len(records),
                                                "bench_projects": projects}) + "\n", encoding="utf-8")
        print(f"recorded {len(records)} inputs from {code_root} into {out}", file=sys.stderr)
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def record(out: Path, sets: list[str], projects: int, rev: str | None, overlay: list[str]) -> int:
    """Record with the current tree, or with a worktree of ``rev`` plus ``overlay`` from the current tree."""
    if not rev:
        return _run_dump(REPO, out, sets, projects)
    tmp = Path(tempfile.mkdtemp(prefix="refactor-base-"))
    tree = tmp / "tree"
    try:
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "--quiet", str(tree), rev],
                       check=True)
        for rel in overlay:
            src, dst = REPO / rel, tree / rel
            if src.is_dir():
                shutil.rmtree(dst, ignore_errors=True)
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
            elif src.is_file():
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)
            else:
                raise SystemExit(f"overlay path {rel} is not in the current tree")
        return _run_dump(tree, out, sets, projects)
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False)
        shutil.rmtree(tmp, ignore_errors=True)


def _run_dump(code_root: Path, out: Path, sets: list[str], projects: int) -> int:
    # a fresh interpreter: the code under test is imported from code_root only
    cmd = [sys.executable, str(Path(__file__).resolve()), "_dump", "--code-root", str(code_root), "--out", str(out),
           "--sets", ",".join(sets), "--bench-projects", str(projects)]
    return subprocess.run(cmd, check=False).returncode


# ---------------------------------------------------------------- comparing

def compare(a: Path, b: Path, show: int = 5) -> int:
    """0 when every record of ``a`` and ``b`` is byte-identical; 1 otherwise (differences printed)."""
    fa = {p.relative_to(a) for p in a.rglob("*.json")}
    fb = {p.relative_to(b) for p in b.rglob("*.json")}
    problems = [f"only in {a}: {p}" for p in sorted(fa - fb)] + [f"only in {b}: {p}" for p in sorted(fb - fa)]
    different = [p for p in sorted(fa & fb) if (a / p).read_bytes() != (b / p).read_bytes()]
    for line in problems[:show]:
        print(line)
    for p in different[:show]:
        print(f"differs: {p}")
        diff = difflib.unified_diff((a / p).read_text(errors="replace").splitlines(),
                                    (b / p).read_text(errors="replace").splitlines(), str(a / p), str(b / p),
                                    lineterm="", n=2)
        print("\n".join(list(diff)[:40]))
    total = len(fa | fb)
    if problems or different:
        print(f"DIFFERENT: {len(different)} of {total} records differ, {len(problems)} missing")
        return 1
    print(f"IDENTICAL: {total} records")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--sets", default=",".join(SETS), help="comma-separated: examples,bench,corpus")
        p.add_argument("--bench-projects", type=int, default=60)

    def base(p: argparse.ArgumentParser) -> None:
        p.add_argument("--rev", help="record a worktree of this revision (default: the current tree)")
        p.add_argument("--overlay", default=",".join(DEFAULT_OVERLAY),
                       help="comma-separated paths copied from the current tree over the worktree")

    p = sub.add_parser("record")
    p.add_argument("--out", type=Path, required=True)
    common(p)
    base(p)
    p = sub.add_parser("compare")
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    p = sub.add_parser("check", help="record --rev into OUT/base, the current tree into OUT/head, compare")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--reuse-base", action="store_true", help="keep an existing OUT/base")
    common(p)
    base(p)
    p = sub.add_parser("_dump")
    p.add_argument("--code-root", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    common(p)
    args = parser.parse_args(argv)
    if args.cmd == "compare":
        return compare(args.a, args.b)
    sets = [s for s in args.sets.split(",") if s]
    if args.cmd == "_dump":
        return dump(args.code_root.resolve(), args.out, sets, args.bench_projects)
    overlay = [s for s in args.overlay.split(",") if s]
    if args.cmd == "record":
        return record(args.out, sets, args.bench_projects, args.rev, overlay) and 2
    if not (args.reuse_base and (args.out / "base" / "RECORD").is_file()):
        if not args.rev:
            parser.error("check needs --rev (or --reuse-base with an existing base)")
        if record(args.out / "base", sets, args.bench_projects, args.rev, overlay):
            return 2
    if record(args.out / "head", sets, args.bench_projects, None, overlay):
        return 2
    return compare(args.out / "base", args.out / "head")


if __name__ == "__main__":
    sys.exit(main())
