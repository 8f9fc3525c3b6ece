# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The worker pool of a large scan (host side, stdlib only): forked workers build documents while the walk goes on.

Part of ``_discovery``, which imports it only once a walk has found enough Dockerfiles for workers to pay
off (``_discovery.PARALLEL_MIN_FILES``): a scan of a few files does not load it (start-up of the host
modules).
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import time
from typing import Any, Optional

from ansible_collections.refarch.containers.plugins.module_utils._discovery import _ENCODER, _build_part, _Part
from ansible_collections.refarch.containers.plugins.module_utils._walker import Candidate


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
