# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Discovery: walk roots, read each Dockerfile once, build its facts (host side, stdlib only).

Shared by ``dockerfile_info`` (full documents) and ``dockerfile_facts``
(compact host summary).  One bad file never fails the scan: every per-file
problem becomes that file's document (``error`` set), every root/directory
problem a top-level ``problems`` entry.
"""

from __future__ import annotations

import gc
import json
import os
import threading
import time
from collections.abc import Iterable
from re import Pattern
from typing import Any, Optional

from ansible_collections.refarch.containers.plugins.module_utils._facts import (
    dockerfile_facts,
    error_document,
)
from ansible_collections.refarch.containers.plugins.module_utils._redact import compile_secret_names
from ansible_collections.refarch.containers.plugins.module_utils._walker import (
    DEFAULT_EXCLUDES,
    DEFAULT_PATTERNS,
    Matcher,
    read_bounded,
    walk,
)

DEFAULT_MAX_FILE_SIZE = 1024 * 1024


def _side(path: Optional[str], cache: dict[str, tuple[Optional[bytes], Optional[dict]]],
          max_size: int) -> tuple[Optional[bytes], Optional[dict]]:
    """Read a side file (.dockerignore / package.json) once per path; (data, error)."""
    if path is None:
        return None, None
    hit = cache.get(path)
    if hit is not None:
        return hit
    res = read_bounded(path, max_size)
    out = (res.data, {"code": res.error[0], "message": res.error[1]} if res.error else None)
    cache[path] = out
    return out


def display_path(path: str) -> str:
    """A path safe to return as JSON text.

    File names are bytes on POSIX; a name that is not valid UTF-8 arrives as a
    str with surrogate escapes, which Ansible refuses to serialize (the whole
    task would fail).  Such bytes are shown as ``\\xNN`` instead.
    """
    if path.isascii():
        return path
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")


def _sanitize(value: Any) -> Any:
    """Recursively replace strings that carry surrogate escapes (rare: only for undecodable file names)."""
    if isinstance(value, str):
        return display_path(value)
    if isinstance(value, list):
        return [_sanitize(v) for v in value]
    if isinstance(value, dict):
        return {_sanitize(k): _sanitize(v) for k, v in value.items()}
    return value


def _document(cand: Any, cache: dict[str, tuple[Optional[bytes], Optional[dict]]], max_file_size: int,
              names_re: Pattern[str], include_instructions: bool) -> dict[str, Any]:
    """Read one candidate once and build its document; never raises."""
    if cand.error is not None:
        doc = error_document(cand.path, cand.error[0], cand.error[1])
    else:
        res = read_bounded(cand.read_path, max_file_size)
        if res.error is not None:
            doc = error_document(cand.path, res.error[0], res.error[1], size=res.size, mtime=res.mtime)
        else:
            di, di_err = _side(cand.dockerignore, cache, max_file_size)
            pj, pj_err = _side(cand.package_json, cache, max_file_size)
            try:
                doc = dockerfile_facts(cand.path, res.data or b"", di, pj, mtime=res.mtime,
                                       dockerignore_path=cand.dockerignore, package_json_path=cand.package_json,
                                       dockerignore_error=di_err, package_json_error=pj_err, secret_names=names_re,
                                       include_instructions=include_instructions)
            except Exception as exc:  # never fail a host because of one file
                doc = error_document(cand.path, "internal_error",
                                     f"could not build facts for {cand.path}: {type(exc).__name__}: {exc}",
                                     size=res.size, mtime=res.mtime)
    if display_path(doc["path"]) != doc["path"]:
        doc = _sanitize(doc)
        doc["problems"].append({"line": None, "code": "undecodable_path",
                                "message": "the file's path is not valid UTF-8; undecodable bytes are shown as "
                                           "\\xNN escapes"})
    return doc


def _build_documents(candidates: list, max_file_size: int, names_re: Pattern[str],
                     include_instructions: bool) -> list[dict[str, Any]]:
    """Read each candidate once and build its document; side files are read once per path."""
    cache: dict[str, tuple[Optional[bytes], Optional[dict]]] = {}
    return [_document(cand, cache, max_file_size, names_re, include_instructions) for cand in candidates]


# ------------------------------------------------------------------------------------------------------
# Output forms and parallel building
#
# ``native``: the documents as Python objects. ``json``: the documents as one JSON text (what the module
# sends with output_encoding=json) plus the host summary. ``summary``: the host summary only.
# Every form is built from the same documents; the JSON text decodes to exactly the native documents.

# Below this many Dockerfiles a worker process costs more than it saves.
PARALLEL_MIN_FILES = 200
MAX_WORKERS = 4
# One encoder for the documents: they are acyclic trees of JSON types, built here (no cycle check needed).
_ENCODER = json.JSONEncoder(separators=(",", ":"), check_circular=False)


def _host_row(doc: dict[str, Any]) -> list:
    """What the host summary keeps of one document: ``[file entry, base image, problem codes]``."""
    fs = doc.get("final_stage") or {}
    user = fs.get("user") or {}
    base = canonical_image(fs.get("root_base"))
    entry = {
        "path": doc["path"],
        "sha256": doc["sha256"],
        "error": doc["error"]["code"] if doc["error"] else None,
        "stages": len(doc["stages"]),
        "base_image": base,
        "final_user": user.get("name") if user else None,
        "final_user_source": user.get("source") if user else None,
        "problems": len(doc["problems"]),
    }
    return [entry, base, [p["code"] for p in doc["problems"]], doc["error"] is not None, bool(doc["problems"])]


class _Part:
    """The documents of a run of consecutive candidates, in the form asked for, and their host rows."""

    __slots__ = ("docs", "rows", "text")

    def __init__(self, docs: Optional[list], text: Optional[str], rows: list) -> None:
        self.docs = docs    # native form
        self.text = text    # json form: the documents' JSON, comma separated, without brackets
        self.rows = rows


def _build_part(candidates: list, output: str, max_file_size: int, names_re: Pattern[str],
                include_instructions: bool) -> _Part:
    docs = _build_documents(candidates, max_file_size, names_re, include_instructions)
    rows = [_host_row(d) for d in docs]
    if output == "json":
        return _Part(None, _ENCODER.encode(docs)[1:-1], rows)
    return _Part(docs if output == "native" else None, None, rows)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _auto_workers(n_candidates: int) -> int:
    if n_candidates < PARALLEL_MIN_FILES or threading.active_count() > 1:
        return 1  # fork is only safe in a single-threaded process
    return max(1, min(_cpu_count(), MAX_WORKERS, n_candidates // (PARALLEL_MIN_FILES // 2)))


def _pack(part: _Part) -> bytes:
    """A worker's answer: ``<length of the documents' JSON>\\n<documents' JSON><host rows as JSON>`` (ASCII)."""
    text = part.text if part.text is not None else _ENCODER.encode(part.docs or [])[1:-1]
    docs = text.encode("ascii")
    return b"%d\n" % len(docs) + docs + _ENCODER.encode(part.rows).encode("ascii")


def _unpack(data: bytes, output: str) -> Optional[_Part]:
    """Decode a worker's answer; None when it is incomplete or malformed (the chunk is then built here)."""
    try:
        head, sep, rest = data.partition(b"\n")
        size = int(head) if sep and head.isdigit() else -1
        if size < 0 or size > len(rest):
            return None
        text = rest[:size].decode("ascii")
        rows = json.loads(rest[size:])
        docs = json.loads("[" + text + "]") if output == "native" else None
    except ValueError:
        return None
    if not isinstance(rows, list):
        return None
    return _Part(docs, text if output == "json" else None, rows)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _build_parallel(candidates: list, workers: int, output: str, *args: Any) -> list[_Part]:
    """Build the parts of ``candidates`` with ``workers - 1`` forked processes and this one.

    The candidates are cut into consecutive chunks; this process builds the first while the
    workers build the others and send them back through a pipe, so the order is the walk order
    whatever finishes first. A chunk whose worker could not be started, died or sent something
    incomplete is built here instead: the result never depends on the workers. Every worker is
    reaped before returning, also when this process fails.
    """
    n = len(candidates)
    bounds = [n * i // workers for i in range(workers + 1)]
    chunks = [candidates[bounds[i]:bounds[i + 1]] for i in range(workers)]
    children: list[tuple[int, int, int]] = []  # (pid, read end, chunk index)
    parts: list[Optional[_Part]] = [None] * workers
    try:
        for index in range(1, workers):
            try:
                rfd, wfd = os.pipe()
            except OSError:
                break
            try:
                pid = os.fork()
            except OSError:
                os.close(rfd)
                os.close(wfd)
                break
            if pid == 0:  # worker: build, send, leave without running any exit handler of the parent
                status = 1
                try:
                    os.close(rfd)
                    for child in children:
                        os.close(child[1])
                    _write_all(wfd, _pack(_build_part(chunks[index], output, *args)))
                    status = 0
                finally:
                    os._exit(status)  # the worker never returns into the caller
            os.close(wfd)
            children.append((pid, rfd, index))
        parts[0] = _build_part(chunks[0], output, *args)
        for dummy, rfd, index in children:
            try:
                data = _read_all(rfd)
            except OSError:
                continue
            parts[index] = _unpack(data, output)
    finally:
        for pid, rfd, index in children:
            os.close(rfd)  # a worker still writing gets EPIPE and exits
            try:
                dummy, status = os.waitpid(pid, 0)
            except ChildProcessError:
                status = -1
            if status != 0:
                parts[index] = None
    return [part if part is not None else _build_part(chunks[i], output, *args) for i, part in enumerate(parts)]


def scan(  # noqa: PLR0917 - mirrors the module options one to one
    paths: Iterable[str],
    patterns: Optional[list[str]] = None,
    excludes: Optional[list[str]] = None,
    case_insensitive: bool = False,
    max_depth: Optional[int] = None,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    one_filesystem: bool = False,
    follow_symlinks_within_root: bool = True,
    include_instructions: bool = True,
    redact_names: Optional[list[str]] = None,
    *,
    output: str = "native",
    workers: Optional[int] = None,
) -> dict[str, Any]:
    """Scan ``paths`` and return ``{"dockerfiles": [...], "problems": [...], "summary": {...}}``.

    ``output="json"`` returns the documents as one JSON text, ``dockerfiles_json``, plus the
    ``host_summary``, instead of ``dockerfiles``; ``output="summary"`` returns only the
    ``host_summary``. ``workers`` (default: one per CPU, up to ``MAX_WORKERS``, when there are at
    least ``PARALLEL_MIN_FILES`` Dockerfiles) builds the documents in forked processes; the result
    is the same whatever the number.

    Raises ``ValueError`` only for invalid options (bad ``redact_names`` regex).
    """
    if output not in ("native", "json", "summary"):
        raise ValueError(f"unknown output form {output!r}")
    t0 = time.monotonic()
    names_re = compile_secret_names(redact_names)
    # Everything built here is acyclic and stays alive until the module returns:
    # the cyclic garbage collector would only rescan it over and over (measured:
    # a third of the parse time on 2,000 files).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _scan(paths, names_re, patterns, excludes, case_insensitive, max_depth, max_file_size,
                     one_filesystem, follow_symlinks_within_root, include_instructions, t0, output, workers)
    finally:
        if gc_was_enabled:
            gc.enable()


def _scan(paths: Iterable[str], names_re: Pattern[str], patterns: Optional[list[str]],  # noqa: PLR0917
          excludes: Optional[list[str]], case_insensitive: bool, max_depth: Optional[int], max_file_size: int,
          one_filesystem: bool, follow_symlinks_within_root: bool, include_instructions: bool,
          t0: float, output: str, workers: Optional[int]) -> dict[str, Any]:
    """``scan`` with the garbage collector already paused."""
    matcher = Matcher(patterns, excludes, case_insensitive)
    paths = list(paths)
    candidates, problems, stats = walk(paths, matcher, max_depth=max_depth, one_filesystem=one_filesystem,
                                       follow_symlinks_within_root=follow_symlinks_within_root)
    t_walk = time.monotonic()
    count = _auto_workers(len(candidates)) if workers is None else max(1, min(workers, len(candidates) or 1))
    args = (max_file_size, names_re, include_instructions)
    if count > 1:
        parts = _build_parallel(candidates, count, output, *args)
    else:
        parts = [_build_part(candidates, output, *args)]
    t_end = time.monotonic()
    problems = [_sanitize(p) for p in problems]
    rows = [row for part in parts for row in part.rows]
    summary = {
        "roots": len(paths),
        "directories_scanned": stats["directories"],
        "files_seen": stats["files"],
        "directories_pruned": stats["pruned"],
        "dockerfiles": len(rows),
        "errors": sum(1 for row in rows if row[3]),
        "with_problems": sum(1 for row in rows if row[4]),
        "problems": len(problems),
        "walk_seconds": round(t_walk - t0, 4),
        "parse_seconds": round(t_end - t_walk, 4),
    }
    if output == "native":
        docs = parts[0].docs if len(parts) == 1 else [d for part in parts for d in part.docs]
        return {"dockerfiles": docs, "problems": problems, "summary": summary}
    result: dict[str, Any] = {"problems": problems, "summary": summary}
    if output == "json":
        result["dockerfiles_json"] = "[" + ",".join(part.text for part in parts if part.text) + "]"
    result["host_summary"] = _summarize(rows, len(problems))
    return result


def discovery_argument_spec() -> dict[str, Any]:
    """Module options shared by ``dockerfile_info`` and ``dockerfile_facts`` (documented in both)."""
    return dict(
        paths=dict(type="list", elements="path", required=True),
        patterns=dict(type="list", elements="str", default=list(DEFAULT_PATTERNS)),
        case_insensitive=dict(type="bool", default=False),
        excludes=dict(type="list", elements="str", default=list(DEFAULT_EXCLUDES)),
        max_depth=dict(type="int"),
        max_file_size=dict(type="int", default=DEFAULT_MAX_FILE_SIZE),
        one_filesystem=dict(type="bool", default=False),
        follow_symlinks_within_root=dict(type="bool", default=True),
        include_instructions=dict(type="bool", default=True),
        redact_names=dict(type="list", elements="str", default=[], no_log=False),
    )


def scan_from_params(params: dict[str, Any], output: str = "native") -> dict[str, Any]:
    """Validate module parameters and run ``scan`` (``output`` as there); invalid values raise ``ValueError``."""
    if params.get("max_depth") is not None and params["max_depth"] < 0:
        raise ValueError(f"max_depth must be 0 or more, got {params['max_depth']}")
    if params["max_file_size"] <= 0:
        raise ValueError(f"max_file_size must be a positive number of bytes, got {params['max_file_size']}")
    if not params["patterns"]:
        raise ValueError("patterns must name at least one file name pattern")
    return scan(
        params["paths"],
        patterns=params["patterns"],
        excludes=params["excludes"],
        case_insensitive=params["case_insensitive"],
        max_depth=params.get("max_depth"),
        max_file_size=params["max_file_size"],
        one_filesystem=params["one_filesystem"],
        follow_symlinks_within_root=params["follow_symlinks_within_root"],
        include_instructions=params.get("include_instructions", True),
        redact_names=params["redact_names"],
        output=output,
    )


def canonical_image(ref: Optional[dict[str, Any]]) -> Optional[str]:
    """``registry/repository[:tag][@digest]`` of an ImageRef: ``node:20`` and ``docker.io/library/node:20`` agree."""
    if not ref:
        return None
    if ref.get("scratch"):
        return "scratch"
    if not ref.get("registry") or not ref.get("repository"):
        return ref.get("resolved") or None
    out = f"{ref['registry']}/{ref['repository']}"
    if ref.get("tag"):
        out += ":" + ref["tag"]
    if ref.get("digest"):
        out += "@" + ref["digest"]
    return out


def host_summary(result: dict[str, Any]) -> dict[str, Any]:
    """Compact per-host summary of a ``scan`` result (for ``ansible_facts['refarch_containers']``)."""
    if "host_summary" in result:
        return result["host_summary"]
    return _summarize([_host_row(d) for d in result["dockerfiles"]], len(result["problems"]))


def _summarize(rows: list, scan_problems: int) -> dict[str, Any]:
    files = []
    bases: dict[str, int] = {}
    problem_codes: dict[str, int] = {}
    for row in rows:
        entry, base, codes = row[0], row[1], row[2]
        if base:
            bases[base] = bases.get(base, 0) + 1
        for code in codes:
            problem_codes[code] = problem_codes.get(code, 0) + 1
        files.append(entry)
    return {
        "schema_version": "1.0",
        "scanned_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "dockerfile_count": len(files),
        "error_count": sum(1 for f in files if f["error"]),
        "problem_counts": problem_codes,
        "scan_problems": scan_problems,
        "base_images": bases,
        "dockerfiles": files,
    }
