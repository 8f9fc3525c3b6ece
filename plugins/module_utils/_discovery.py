# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Discovery: walk roots, read each Dockerfile once, build its facts (host side, stdlib only).

Shared by ``dockerfile_info`` (full documents) and ``dockerfile_facts``
(compact host summary).  One bad file never fails the scan: every per-file
problem becomes that file's document (``error`` set), every root/directory
problem a top-level ``problems`` entry.
"""

from __future__ import annotations

import fcntl
import gc
import json
import os
import select
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
    Candidate,
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


def _pack(part: _Part) -> bytes:
    """A worker's answer: ``<length of the documents' JSON>\\n<documents' JSON><host rows as JSON>`` (ASCII)."""
    text = part.text if part.text is not None else _ENCODER.encode(part.docs or [])[1:-1]
    docs = text.encode("ascii")
    return b"".join((b"%d\n" % len(docs), docs, _ENCODER.encode(part.rows).encode("ascii")))


def _unpack(data: bytes, output: str) -> Optional[_Part]:
    """Decode a worker's answer; None when it is incomplete or malformed (the batch is then built here)."""
    try:
        nl = data.find(b"\n")
        head = data[:nl] if nl >= 0 else b""
        size = int(head) if head.isdigit() else -1
        start = nl + 1
        if size < 0 or start + size > len(data):
            return None
        with memoryview(data) as view:
            text = str(view[start:start + size], "ascii")  # decoded without an intermediate copy
        rows = json.loads(data[start + size:])
        docs = json.loads("[" + text + "]") if output == "native" else None
    except ValueError:
        return None
    if not isinstance(rows, list):
        return None
    return _Part(docs, text if output == "json" else None, rows)


def _frame(data: bytes) -> bytes:
    return b"".join((b"%d\n" % len(data), data))


def _take_frame(buf: bytearray) -> Optional[bytes]:
    """Cut one complete ``<length>\\n<data>`` frame off the front of ``buf``; None when incomplete."""
    nl = buf.find(b"\n", 0, 24)
    if nl < 0:
        if len(buf) >= 24:
            raise ValueError("bad frame")
        return None
    head = bytes(buf[:nl])
    if not head.isdigit():
        raise ValueError("bad frame")
    end = nl + 1 + int(head)
    if len(buf) < end:
        return None
    view = memoryview(buf)
    try:
        data = view[nl + 1:end].tobytes()  # one copy (a bytearray slice would be a second)
    finally:
        view.release()
    del buf[:end]
    return data


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_frame(fd: int, buf: bytearray) -> Optional[bytes]:
    """Blocking: the next frame from ``fd``, None at end of file."""
    while True:
        frame = _take_frame(buf)
        if frame is not None:
            return frame
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return None
        buf += chunk


def _cand_state(c: Any) -> list:
    return [c.path, c.root, c.read_path, list(c.error) if c.error else None, c.dockerignore, c.package_json, c.depth,
            list(c.dir_identity) if c.dir_identity else None]


def _cand_from_state(state: list) -> Candidate:
    path, root, read_path, error, dockerignore, package_json, depth, ident = state
    cand = Candidate(path, root, read_path, tuple(error) if error else None)
    cand.dockerignore = dockerignore
    cand.package_json = package_json
    cand.depth = depth
    cand.dir_identity = tuple(ident) if ident else None
    return cand


class _Worker:
    __slots__ = ("buf", "pending", "pid", "results", "tasks")

    def __init__(self, pid: int, tasks: int, results: int) -> None:
        self.pid = pid
        self.tasks = tasks        # write end: batches of candidates
        self.results = results    # read end (non-blocking): built parts
        self.buf = bytearray()
        self.pending: list[int] = []  # batch indices sent, answered in this order


class _Pool:
    """Builds the documents of a walk's candidates with this process and forked workers.

    Workers are started once the walk has found ``start_at`` candidates and get them
    in batches while the walk goes on (``feed``, the walk's progress hook); when the
    walk is over (``finish``) this process builds batches too, handing more to each
    worker as it answers, so the load balances itself whatever the other processes on
    the host are doing. Batches are consecutive runs of candidates, answered by index,
    so the documents come out in walk order whatever finishes first. A worker that
    cannot start, dies or answers garbage costs time, not documents: its batches are
    built here. Every worker is reaped before ``finish`` returns, also on failure.
    """

    BATCH = 32       # candidates per batch (a few milliseconds of work)
    MIN_BATCH = 4    # the smallest batch, at the end (see _tail_batch)
    AHEAD = 2        # batches queued per worker, so it never waits for this process
    PUMP_EVERY = 0.002  # seconds between two looks at the workers while walking

    def __init__(self, n_workers: int, start_at: int, output: str, args: tuple) -> None:
        self.n_workers = n_workers
        self.start_at = start_at
        self.output = output
        self.args = args
        self.workers: list[_Worker] = []
        self.started = False
        self.batches: list[tuple[int, int]] = []   # index -> (start, end) in the candidate list
        self.parts: dict[int, _Part] = {}
        self.retry: list[int] = []                 # batches to build here (their worker failed)
        self.next_start = 0                        # first candidate not in a batch yet
        self.last_pump = 0.0
        self.candidates: list = []

    # ---------------------------------------------------------------- workers
    def _start(self) -> None:
        self.started = True
        for dummy in range(self.n_workers):
            try:
                task_r, task_w = os.pipe()
            except OSError:
                return
            try:
                res_r, res_w = os.pipe()
            except OSError:
                os.close(task_r)
                os.close(task_w)
                return
            try:
                pid = os.fork()
            except OSError:
                for fd in (task_r, task_w, res_r, res_w):
                    os.close(fd)
                return
            if pid == 0:  # worker: serve batches until end of file, never return into the caller
                status = 1
                try:
                    os.close(task_w)
                    os.close(res_r)
                    for other in self.workers:
                        os.close(other.tasks)
                        os.close(other.results)
                    self._serve(task_r, res_w)
                    status = 0
                finally:
                    os._exit(status)
            os.close(task_r)
            os.close(res_w)
            os.set_blocking(res_r, False)
            os.set_blocking(task_w, False)
            if hasattr(fcntl, "F_SETPIPE_SZ"):
                try:  # room for a whole answer: the worker goes on while this process is busy
                    fcntl.fcntl(res_r, fcntl.F_SETPIPE_SZ, 1 << 20)
                except OSError:
                    pass
            self.workers.append(_Worker(pid, task_w, res_r))

    def _serve(self, task_r: int, res_w: int) -> None:
        buf = bytearray()
        while True:
            frame = _read_frame(task_r, buf)
            if frame is None:
                return
            cands = [_cand_from_state(s) for s in json.loads(frame)]
            _write_all(res_w, _frame(_pack(_build_part(cands, self.output, *self.args))))

    def _send(self, worker: _Worker, end: int) -> bool:
        """Hand ``candidates[next_start:end]`` to ``worker``; False (and the worker dropped) if it failed."""
        index = len(self.batches)
        start = self.next_start
        payload = _frame(_ENCODER.encode([_cand_state(c) for c in self.candidates[start:end]]).encode("ascii"))
        view = memoryview(payload)
        while view:
            try:
                view = view[os.write(worker.tasks, view):]
            except BlockingIOError:
                # The task pipe is full (very long paths): the worker may itself be waiting for us
                # to read its answer, so read while waiting for room.
                select.select([worker.results], [worker.tasks], [], 1.0)
                if not self._collect(worker):
                    return False
            except OSError:
                self._drop(worker)
                return False
        self.batches.append((start, end))
        self.next_start = end
        worker.pending.append(index)
        return True

    def _drop(self, worker: _Worker) -> None:
        """A worker that failed: its batches are built here."""
        if worker not in self.workers:
            return
        self.retry.extend(worker.pending)
        worker.pending = []
        self.workers.remove(worker)
        self._reap(worker)

    def _reap(self, worker: _Worker) -> None:
        for fd in (worker.tasks, worker.results):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            os.waitpid(worker.pid, 0)
        except ChildProcessError:
            pass

    def _collect(self, worker: _Worker) -> bool:
        """Read what ``worker`` has sent so far (non-blocking) and file its complete answers.

        False when the worker is gone (dropped: its batches are built here).
        """
        while True:
            try:
                chunk = os.read(worker.results, 1 << 20)
            except BlockingIOError:
                break
            except OSError:
                chunk = b""
            if not chunk:  # end of file: the worker is gone
                self._drop(worker)
                return False
            worker.buf += chunk
        while worker.pending:
            try:
                frame = _take_frame(worker.buf)
            except ValueError:
                self._drop(worker)
                return False
            if frame is None:
                return True
            index = worker.pending.pop(0)
            part = _unpack(frame, self.output)
            if part is None or len(part.rows) != self.batches[index][1] - self.batches[index][0]:
                self.retry.append(index)
            else:
                self.parts[index] = part
        return True

    def _pump(self, walking: bool, timeout: float = 0.0) -> None:
        """Collect answers, then top every worker up to ``AHEAD`` batches."""
        if not self.workers:
            return
        waiting = [w.results for w in self.workers if w.pending]
        if waiting:
            try:
                ready = select.select(waiting, [], [], timeout)[0]
            except InterruptedError:
                ready = []
            for worker in [w for w in self.workers if w.results in ready]:
                self._collect(worker)
        available = len(self.candidates)
        for worker in list(self.workers):
            while len(worker.pending) < self.AHEAD:
                end = min(self.next_start + (self.BATCH if walking else self._tail_batch()), available)
                if end <= self.next_start or (walking and end - self.next_start < self.BATCH):
                    break
                if not self._send(worker, end):
                    break

    def _tail_batch(self) -> int:
        """Batch size once the walk is over: smaller towards the end, so that no process waits long
        for another's last batch (every process gets a share of what is left, twice over)."""
        left = len(self.candidates) - self.next_start
        share = left // (2 * (self.AHEAD + 1) * (len(self.workers) + 1))
        return max(1, min(self.BATCH, max(self.MIN_BATCH, share)))

    def close(self) -> None:
        """Reap every worker: end of file on its tasks makes it exit, so does a write to us once we stop reading."""
        workers, self.workers = self.workers, []
        for worker in workers:
            self._reap(worker)

    # ---------------------------------------------------------------- driving
    def feed(self, found: list) -> None:
        """The walk's progress hook."""
        self.candidates = found
        if not self.started:
            if len(found) < self.start_at:
                return
            self._start()
        now = time.monotonic()
        if now - self.last_pump >= self.PUMP_EVERY:
            self.last_pump = now
            self._pump(walking=True)

    def finish(self, candidates: list) -> list[_Part]:
        """Build everything not built yet, here and in the workers; the parts in candidate order."""
        self.candidates = candidates
        try:
            while True:
                self._pump(walking=False)
                if self.retry:
                    index = self.retry.pop(0)
                    start, end = self.batches[index]
                    self.parts[index] = _build_part(candidates[start:end], self.output, *self.args)
                elif self.next_start < len(candidates):
                    start, end = self.next_start, min(self.next_start + self._tail_batch(), len(candidates))
                    self.batches.append((start, end))
                    self.next_start = end
                    self.parts[len(self.batches) - 1] = _build_part(candidates[start:end], self.output, *self.args)
                elif any(w.pending for w in self.workers):
                    self._pump(walking=False, timeout=1.0)
                else:
                    break
        finally:
            self.close()
        if not self.batches:
            return [_build_part(candidates, self.output, *self.args)]
        return [self.parts[i] for i in range(len(self.batches))]


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
    pool = _Pool(n_workers, PARALLEL_MIN_FILES if workers is None else 1, output, args) if n_workers else None
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
