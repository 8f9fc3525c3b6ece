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

from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_facts import (
    dockerfile_facts,
    error_document,
)
from ansible_collections.refarch.containers.plugins.module_utils._redact import compile_secret_names
from ansible_collections.refarch.containers.plugins.module_utils._walker import (
    DEFAULT_EXCLUDES,
    DEFAULT_PATTERNS,
    Matcher,
    Reader,
    walk,
)

DEFAULT_MAX_FILE_SIZE = 1024 * 1024


# A .dockerignore / package.json that exists but was not read (refused, a FIFO, unreadable) is also a problem of
# its Dockerfile's document, so that it shows wherever problems do (not only inside the side-file entry).
_SIDE_NOT_PROBLEMS = ("not_found",)  # vanished between the listing and the read: as if it were not there


def _side(path: Optional[str], cache: dict[str, tuple[Optional[bytes], Optional[dict]]],
          reader: Reader, cand: Any) -> tuple[Optional[bytes], Optional[dict]]:
    """Read a side file (.dockerignore / package.json) once per path; (data, error)."""
    if path is None:
        return None, None
    hit = cache.get(path)
    if hit is not None:
        return hit
    here = path.rpartition("/")[0] or "/"
    # beside the Dockerfile: in the directory the walk listed (checked again), whose owner is the one compared
    res = reader.read_path(path, cand.dir_identity if here == (cand.path.rpartition("/")[0] or "/") else None,
                           here == cand.root)
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


def _document(cand: Any, cache: dict[str, tuple[Optional[bytes], Optional[dict]]], reader: Reader,
              names_re: Pattern[str], include_instructions: bool) -> dict[str, Any]:
    """Read one candidate once and build its document; never raises."""
    if cand.error is not None:
        doc = error_document(cand.path, cand.error[0], cand.error[1])
    else:
        # the name found: its directory is the one the walk listed (the scan root itself may be a symlink);
        # an in-root symlink is read at its resolved path, the owner rule looking at the link
        link = cand.path if cand.read_path != cand.path else None
        res = reader.read_path(cand.read_path, cand.dir_identity, (cand.path.rpartition("/")[0] or "/") == cand.root,
                               link)
        if res.error is not None:
            doc = error_document(cand.path, res.error[0], res.error[1], size=res.size, mtime=res.mtime)
        else:
            di, di_err = _side(cand.dockerignore, cache, reader, cand)
            pj, pj_err = _side(cand.package_json, cache, reader, cand)
            try:
                doc = dockerfile_facts(cand.path, res.data or b"", di, pj, mtime=res.mtime,
                                       dockerignore_path=cand.dockerignore, package_json_path=cand.package_json,
                                       dockerignore_error=di_err, package_json_error=pj_err, secret_names=names_re,
                                       include_instructions=include_instructions)
            except Exception as exc:  # never fail a host because of one file
                doc = error_document(cand.path, "internal_error",
                                     f"could not build facts for {cand.path}: {type(exc).__name__}: {exc}",
                                     size=res.size, mtime=res.mtime)
            else:
                for err in (di_err, pj_err):
                    if err is not None and err["code"] not in _SIDE_NOT_PROBLEMS:
                        doc["problems"].append({"line": None, "code": err["code"], "message": err["message"]})
    # where remediation must find this file again: its scan root and its directory's (st_dev, st_ino)
    doc["scan_root"] = cand.root
    doc["dir_identity"] = {"dev": cand.dir_identity[0], "ino": cand.dir_identity[1]} \
        if cand.dir_identity is not None else None
    if display_path(doc["path"]) != doc["path"]:
        doc = _sanitize(doc)
        doc["problems"].append({"line": None, "code": "undecodable_path",
                                "message": "the file's path is not valid UTF-8; undecodable bytes are shown as "
                                           "\\xNN escapes"})
    return doc


def _build_documents(candidates: list, read_options: tuple, names_re: Pattern[str],
                     include_instructions: bool) -> list[dict[str, Any]]:
    """Read each candidate once and build its document; side files are read once per path.

    ``read_options`` is ``(max_file_size, read_foreign_files, allow_hardlinks)`` (see ``Reader``).
    """
    cache: dict[str, tuple[Optional[bytes], Optional[dict]]] = {}
    with Reader(*read_options) as reader:
        return [_document(cand, cache, reader, names_re, include_instructions) for cand in candidates]


# ------------------------------------------------------------------------------------------------------
# Output forms and parallel building
#
# ``native``: the documents as Python objects. ``json``: the documents as one JSON text (what the module
# sends with output_encoding=json) plus the host summary. ``summary``: the host summary only.
# Every form is built from the same documents; the JSON text decodes to exactly the native documents.

# Worker processes start once the walk has found this many Dockerfiles: below, they cost more than they save.
PARALLEL_MIN_FILES = 100
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


def _build_part(candidates: list, output: str, read_options: tuple, names_re: Pattern[str],
                include_instructions: bool) -> _Part:
    docs = _build_documents(candidates, read_options, names_re, include_instructions)
    rows = [_host_row(d) for d in docs]
    if output == "json":
        return _Part(None, _ENCODER.encode(docs)[1:-1], rows)
    return _Part(docs if output == "native" else None, None, rows)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _auto_workers() -> int:
    """Worker processes to use besides this one (0: build everything here)."""
    if threading.active_count() > 1:
        return 0  # fork is only safe in a single-threaded process
    return max(0, min(_cpu_count(), MAX_WORKERS) - 1)


class _PoolStarter:
    """The walk's progress hook until it has found ``start_at`` candidates, then the worker pool's.

    The pool (``_discovery_pool._Pool``) is imported and made only then: a scan of a few files, the usual
    one on a host of an estate, does not load that module (start-up of the host modules).
    """

    __slots__ = ("args", "pool")

    def __init__(self, n_workers: int, start_at: int, output: str, args: tuple) -> None:
        self.args = (n_workers, start_at, output, args)
        self.pool: Any = None

    @property
    def started(self) -> bool:
        return self.pool is not None and self.pool.started

    def feed(self, found: list) -> None:
        if self.pool is None:
            if len(found) < self.args[1]:
                return
            from ansible_collections.refarch.containers.plugins.module_utils._discovery_pool import (  # noqa: PLC0415
                _Pool,
            )
            self.pool = _Pool(*self.args)
        self.pool.feed(found)

    def finish(self, candidates: list) -> list[_Part]:
        return self.pool.finish(candidates)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()


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
    read_foreign_files: bool = False,
    allow_hardlinks: bool = False,
    descriptors: bool = False,
) -> dict[str, Any]:
    """Scan ``paths`` and return ``{"dockerfiles": [...], "problems": [...], "summary": {...}}``.

    ``descriptors`` also finds the build descriptors (compose, bake, workflows) and returns their
    redacted text under ``descriptors`` (``_builds.read_descriptors``), for the controller to parse.

    ``output="json"`` returns the documents as one JSON text, ``dockerfiles_json``, plus the
    ``host_summary``, instead of ``dockerfiles``; ``output="summary"`` returns only the
    ``host_summary``. ``workers`` (default: one per CPU, up to ``MAX_WORKERS``, when there are at
    least ``PARALLEL_MIN_FILES`` Dockerfiles) builds the documents in forked processes; the result
    is the same whatever the number.

    Files are read as ``_walker.Reader`` reads them: no hard links unless ``allow_hardlinks``, and, run
    as root, no file that the owner of its directory could not read unless ``read_foreign_files``.

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
        return _scan(paths, names_re, patterns, excludes, case_insensitive, max_depth,
                     (max_file_size, read_foreign_files, allow_hardlinks), one_filesystem,
                     follow_symlinks_within_root, include_instructions, t0, output, workers, descriptors)
    finally:
        if gc_was_enabled:
            gc.enable()


def _scan(paths: Iterable[str], names_re: Pattern[str], patterns: Optional[list[str]],  # noqa: PLR0917
          excludes: Optional[list[str]], case_insensitive: bool, max_depth: Optional[int], read_options: tuple,
          one_filesystem: bool, follow_symlinks_within_root: bool, include_instructions: bool,
          t0: float, output: str, workers: Optional[int], descriptors: bool = False) -> dict[str, Any]:
    """``scan`` with the garbage collector already paused."""
    matcher = Matcher(patterns, excludes, case_insensitive, descriptors=descriptors)
    found_descriptors: Optional[list] = [] if descriptors else None
    paths = list(paths)
    args = (read_options, names_re, include_instructions)
    n_workers = _auto_workers() if workers is None else max(0, workers - 1)
    # workers only pay off on many files; an explicit number (tests) starts them at once
    pool = _PoolStarter(n_workers, PARALLEL_MIN_FILES if workers is None else 1, output, args) if n_workers else None
    try:
        candidates, problems, stats = walk(paths, matcher, max_depth=max_depth, one_filesystem=one_filesystem,
                                           follow_symlinks_within_root=follow_symlinks_within_root,
                                           progress=pool.feed if pool is not None else None,
                                           descriptors=found_descriptors)
        t_walk = time.monotonic()
        if pool is not None and pool.started:
            parts = pool.finish(candidates)
        else:
            parts = [_build_part(candidates, output, *args)]
    finally:
        if pool is not None:
            pool.close()  # no worker outlives the scan, whatever happened
    descriptor_docs: list = []
    if found_descriptors:
        # imported here, as in scan_builds: only a scan that found descriptors needs them (start-up)
        from ansible_collections.refarch.containers.plugins.module_utils._builds import (  # noqa: PLC0415
            read_descriptors,
        )
        descriptor_docs, more = read_descriptors(found_descriptors, read_options[1], read_options[2], names_re)
        problems.extend(more)
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
        native = {"dockerfiles": docs, "problems": problems, "summary": summary}
        if descriptors:
            native["descriptors"] = _sanitize(descriptor_docs)
        return native
    result: dict[str, Any] = {"problems": problems, "summary": summary}
    if descriptors:
        result["descriptors"] = _sanitize(descriptor_docs)
    if output == "json":
        # one join (the text is large: no intermediate copy)
        texts = [part.text for part in parts if part.text]
        result["dockerfiles_json"] = "".join(["[", *_interleave(texts, ","), "]"])
    result["host_summary"] = _summarize(rows, len(problems))
    return result


def _interleave(items: list, sep: str) -> list:
    """``items`` with ``sep`` between each two (``sep.join`` as a list, to join once with more)."""
    out = [sep] * (2 * len(items) - 1) if items else []
    out[0::2] = items
    return out


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
        read_foreign_files=dict(type="bool", default=False),
        allow_hardlinks=dict(type="bool", default=False),
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
        read_foreign_files=params.get("read_foreign_files", False),
        allow_hardlinks=params.get("allow_hardlinks", False),
        descriptors=params.get("descriptors", False),
    )


def scan_builds(params: dict[str, Any], builds: list[dict[str, Any]], output: str = "native") -> dict[str, Any]:
    """Evaluate the builds the controller found in the descriptors (``_builds.build_documents``).

    The result has the shape of ``scan``'s (``output`` native or json), documents in the order of ``builds``.
    """
    from ansible_collections.refarch.containers.plugins.module_utils._builds import (  # noqa: PLC0415
        build_documents,
    )
    t0 = time.monotonic()
    names_re = compile_secret_names(params.get("redact_names"))
    docs, problems = build_documents(builds, list(params["paths"]),
                                     (params["max_file_size"], params.get("read_foreign_files", False),
                                      params.get("allow_hardlinks", False)),
                                     names_re, params.get("include_instructions", True))
    docs = [_sanitize(d) for d in docs]
    problems = [_sanitize(p) for p in problems]
    rows = [_host_row(d) for d in docs]
    summary = {"roots": len(params["paths"]), "directories_scanned": 0, "files_seen": 0, "directories_pruned": 0,
               "dockerfiles": len(docs), "errors": sum(1 for r in rows if r[3]),
               "with_problems": sum(1 for r in rows if r[4]), "problems": len(problems), "walk_seconds": 0.0,
               "parse_seconds": round(time.monotonic() - t0, 4)}
    if output == "native":
        return {"dockerfiles": docs, "problems": problems, "summary": summary}
    return {"dockerfiles_json": _ENCODER.encode(docs), "problems": problems, "summary": summary,
            "host_summary": _summarize(rows, len(problems))}


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
