# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Embedded engine: a Rego library evaluated in an isolated child process.

Two backends (``backend``): ``regorus`` (the ``refarch_regorus`` extension over
Microsoft's Rust engine, built from ``native/refarch_regorus``) and ``regopy``
(rego-cpp); ``auto``, the default, takes regorus when the child can import it.
Neither runs inside the Ansible worker (regopy 1.5.2 can segfault, e.g. on a
builtin evaluated under ``with input as``; a native library can always abort):
a child Python process loads the bundle, evaluates every batch and streams JSON
lines back (see ``_rego_worker.py``). The child has a wall-clock timeout and an address-space
limit (``RLIMIT_AS``); a crash, a kill, a timeout, an error object or an
undefined result becomes an :class:`EngineError` naming the cause.

With regorus, each batch is one query. With regopy, the worker compiles the
batch query once and, by default, evaluates it for one document at a time
(``{"documents": [doc], ...}``): on the real bundle, regopy 1.5.2 returned
findings for some documents that depended on the *other* documents of the same
query (disagreeing with OPA on 18 of 114 corpus files), while per-document
queries agree with OPA on all of them and are faster. regorus agrees with OPA
on batched queries (engine conformance tests).
``batch_size`` still splits the documents into worker requests' batches.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ansible_collections.refarch.containers.plugins.plugin_utils._bundle import (
    BATCH_QUERY,
    Bundle,
    format_engine_error,
)
from ansible_collections.refarch.containers.plugins.plugin_utils._engine_base import (
    Engine,
    EngineError,
    validate_batch_result,
)

WORKER = str(Path(__file__).resolve().with_name("_rego_worker.py"))

DEFAULT_TIMEOUT = 600.0
DEFAULT_MEMORY_MB = 4096

#: At most this many workers evaluate at once, and each gets at least DOCS_PER_WORKER documents.
MAX_WORKERS = 4
DOCS_PER_WORKER = 24

#: Backends of the embedded engine; ``auto`` prefers regorus.
BACKENDS = ("auto", "regorus", "regopy")


def _signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def _rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` (0 when unknown)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _reap(proc: subprocess.Popen, *, block: bool) -> Any:
    """Collect the worker's exit status and resource usage (None while it still runs)."""
    if proc.returncode is not None:
        return None
    try:
        pid, status, usage = os.wait4(proc.pid, 0 if block else os.WNOHANG)
    except ChildProcessError:  # already collected elsewhere: its status is lost
        proc.returncode = -1
        return None
    if pid == 0:
        return None
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage


class EmbeddedEngine(Engine):
    """regorus or regopy in a child process."""

    name = "embedded"

    def __init__(self, bundle: Bundle, *, batch_size: int | None = None, timeout: float = DEFAULT_TIMEOUT,
                 memory_mb: int = DEFAULT_MEMORY_MB, python: str | None = None, query: str = BATCH_QUERY,
                 strict: bool = False, split: bool = True, backend: str = "auto", workers: int = 0) -> None:
        super().__init__(batch_size, strict)
        if workers < 0:
            raise EngineError("config", f"workers must be 0 (one per CPU, as the documents warrant) or more, "
                                        f"not {workers}")
        #: Worker processes evaluating at the same time (0: see :meth:`worker_count`).
        self.workers = workers
        if backend not in BACKENDS:
            raise EngineError("config", f"unknown embedded engine backend {backend!r}; "
                                        f"use one of {', '.join(BACKENDS)}")
        #: Requested backend; ``stats["backend"]`` names the one the worker used.
        self.backend = backend
        #: Evaluate one document per query inside the worker (see the module docstring).
        self.split = split
        self.bundle = bundle
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.python = python or sys.executable
        self.query = query

    @property
    def policy_revision(self) -> str:
        return self.bundle.revision

    def _request_lines(self, inputs: list[dict[str, Any]], keep_going: bool = False) -> Iterator[bytes]:
        """The worker's request line by line: a header, then one line of JSON per input (see ``_rego_worker``).

        Generated while the worker reads them, so that the worker starts, loads the bundle and
        evaluates the first inputs while the next ones are being encoded. Raises EngineError
        (``bad_result``) at a document JSON cannot carry.
        """
        header = {"modules": self.bundle.modules, "data": self.bundle.data, "query": self.query,
                  "count": len(inputs), "strict": self.strict, "split": self.split, "backend": self.backend}
        if keep_going:
            header["keep_going"] = True
        try:
            # ASCII JSON (ensure_ascii): no raw line break inside a line, whatever the documents hold.
            yield (json.dumps(header, separators=(",", ":")) + "\n").encode("ascii")
            for item in inputs:
                yield (json.dumps(item, separators=(",", ":")) + "\n").encode("ascii")
        except (ValueError, TypeError, RecursionError) as exc:
            # A document the worker cannot be sent (nested too deep, a value JSON has no form for).
            raise EngineError("bad_result", f"the documents cannot be sent to the embedded engine worker: "
                                            f"{type(exc).__name__}: {exc}") from None

    def worker_count(self, documents: int) -> int:
        """How many workers evaluate ``documents`` documents at once.

        ``workers`` when set; otherwise one per usable CPU (at most :data:`MAX_WORKERS`) as long as
        each gets :data:`DOCS_PER_WORKER` documents or more: a worker costs a Python start and a
        bundle load (about 35 ms), which a handful of documents does not repay.
        """
        if self.workers:
            return max(1, min(self.workers, documents))
        try:
            cpus = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):  # pragma: no cover - non-Linux
            cpus = os.cpu_count() or 1
        return max(1, min(cpus, MAX_WORKERS, documents // DOCS_PER_WORKER))

    def _parts(self, documents: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        """``batch_size`` batches when set; otherwise one batch per worker, in order."""
        if self.batch_size:
            return super()._parts(documents)
        count = self.worker_count(len(documents))
        size = -(-len(documents) // count)
        return [documents[i:i + size] for i in range(0, len(documents), size)]

    def _evaluate_inputs(self, inputs: list[dict[str, Any]]) -> list[Any]:
        """Evaluate the batches in up to :meth:`worker_count` workers at once, each with a share in order."""
        documents = sum(len(i.get("documents") or []) for i in inputs)
        count = max(1, min(len(inputs), self.worker_count(documents)))
        share = -(-len(inputs) // count)
        groups = [(start, inputs[start:start + share]) for start in range(0, len(inputs), share)]
        outcomes: list[Any] = [None] * len(groups)

        def run(n: int, start: int, group: list[dict[str, Any]]) -> None:
            try:
                outcomes[n] = self._run_worker(group, start, len(inputs))
            except EngineError as exc:
                outcomes[n] = exc

        if len(groups) == 1:
            run(0, *groups[0])  # one worker: no thread needed
        else:
            threads = [threading.Thread(target=run, args=(n, start, group), daemon=True)
                       for n, (start, group) in enumerate(groups)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        results: list[Any] = []
        peak = 0
        for outcome in outcomes:
            if isinstance(outcome, EngineError):
                raise outcome  # the first failing share, in document order
            if outcome is None:  # pragma: no cover - a thread that died without an answer
                raise EngineError("crash", "an embedded engine worker thread ended without a result")
            results.extend(outcome[0])
            peak = max(peak, outcome[1])
            if outcome[2]:
                self.stats["backend"] = outcome[2]
        self.stats.update(worker_peak_rss_mib=round(peak / 1048576, 1), workers=len(groups))
        return results

    def _evaluate_each(self, documents: list[dict[str, Any]], evaluation_date: str,
                       config: dict[str, Any] | None, failure: EngineError | None = None) -> list[Any]:
        """Each document alone, in one worker that goes on after a document fails.

        A worker that dies (a crash, the memory limit) is started again after the document it
        was evaluating, so a run costs one worker plus one per such document.
        """
        outcomes: dict[int, Any] = {}
        inputs: list[dict[str, Any]] = []
        sent: list[int] = []  # the document each input holds
        for i, doc in enumerate(documents):
            item = {"documents": [doc], "evaluation_date": evaluation_date, "config": dict(config or {})}
            try:
                json.dumps(item)
            except (ValueError, TypeError, RecursionError) as exc:
                outcomes[i] = EngineError("bad_result", f"the document cannot be sent to the embedded engine "
                                                        f"worker: {type(exc).__name__}: {exc}")
                continue
            inputs.append(item)
            sent.append(i)
        start = 0
        while start < len(inputs):
            partial: dict[int, Any] = {}
            failure: EngineError | None = None
            try:
                _results, peak, backend = self._run_worker(inputs[start:], start, len(inputs), keep_going=True,
                                                           partial=partial)
                if backend:
                    self.stats["backend"] = backend
                self.stats["worker_peak_rss_mib"] = max(self.stats.get("worker_peak_rss_mib") or 0,
                                                        round(peak / 1048576, 1))
            except EngineError as exc:
                if not exc.document:
                    raise
                failure = exc
            outcomes.update((sent[start + i], v) for i, v in partial.items())
            stuck = next((n for n in range(start, len(inputs)) if sent[n] not in outcomes), None)
            if stuck is None:
                break
            outcomes[sent[stuck]] = failure or EngineError("bad_result", "the embedded engine returned no result")
            start = stuck + 1
        out: list[Any] = []
        for i in range(len(documents)):
            value = outcomes[i]
            if isinstance(value, EngineError):
                out.append(value)
                continue
            try:
                out.extend(validate_batch_result(value, 1, f"embedded engine, document {i + 1}/{len(documents)}"))
            except EngineError as exc:
                out.append(exc)
        return out

    def _run_worker(self, inputs: list[dict[str, Any]], offset: int, total: int, *, keep_going: bool = False,
                    partial: dict[int, Any] | None = None) -> tuple[list[Any], int, str | None]:
        """One worker over ``inputs`` (batches ``offset``.. of ``total``): results, peak RSS, backend used.

        ``keep_going``: the worker evaluates every input even after one fails, and ``partial``
        receives each input's value or EngineError as read (also when the worker dies).
        """
        lines = self._request_lines(inputs, keep_going)
        try:
            proc = subprocess.Popen(
                [self.python, WORKER, str(int(self.memory_mb))],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )
        except OSError as exc:
            raise EngineError("crash", f"cannot start the embedded engine worker ({self.python}): {exc}") from exc
        chunks: dict[str, list[bytes]] = {"out": [], "err": []}
        unsent: list[EngineError] = []  # why the request could not be written in full

        def _write() -> None:
            try:
                for line in lines:
                    proc.stdin.write(line)  # type: ignore[union-attr]
                proc.stdin.close()  # type: ignore[union-attr]
            except EngineError as exc:
                unsent.append(exc)
                proc.kill()  # it must not evaluate a request cut short; the error below says why
            except (BrokenPipeError, OSError, ValueError):
                pass  # the worker died; its exit status tells why

        def _read(stream: Any, key: str) -> None:
            chunks[key].append(stream.read())

        threads = [threading.Thread(target=_write, daemon=True),
                   threading.Thread(target=_read, args=(proc.stdout, "out"), daemon=True),
                   threading.Thread(target=_read, args=(proc.stderr, "err"), daemon=True)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + self.timeout
        peak = 0
        killed_for: str | None = None
        delay = 0.0005
        while True:
            usage = _reap(proc, block=False)
            if proc.returncode is not None:
                # The kernel's own peak for the finished worker: a worker that ends between two
                # samples is held to the limit too.
                if usage is not None:
                    peak = max(peak, usage.ru_maxrss * 1024)
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                killed_for = "timeout"
            else:
                rss = _rss_bytes(proc.pid)
                peak = max(peak, rss)
                if self.memory_mb > 0 and rss > self.memory_mb * 1024 * 1024:
                    killed_for = "memory"
            if killed_for:
                proc.kill()
                _reap(proc, block=True)
                break
            # Wakes within a millisecond for a quick worker, then every 20 ms (or at the deadline).
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.02)
        if killed_for is None and self.memory_mb > 0 and peak > self.memory_mb * 1024 * 1024:
            killed_for = "memory"
        for t in threads:
            t.join(timeout=5)
        if unsent:
            raise unsent[0]
        stdout = b"".join(chunks["out"])
        stderr = b"".join(chunks["err"]).decode("utf-8", "replace")
        done = stdout.count(b'{"event":"result"')
        if killed_for and partial is not None:
            try:  # what the worker answered before it was stopped
                self._parse(proc.returncode, stdout, stderr, inputs, offset=offset, total=total, partial=partial)
            except EngineError:
                pass
        if killed_for == "timeout":
            raise EngineError("timeout", f"embedded engine did not finish within {self.timeout:g}s "
                              f"({offset + done}/{total} batches evaluated); raise the timeout or lower batch_size",
                              document=False)
        if killed_for == "memory":
            raise EngineError("memory", f"embedded engine worker exceeded the memory limit of {self.memory_mb} MiB "
                              f"({offset + done}/{total} batches evaluated); raise the limit or lower batch_size",
                              document=b'{"event":"loaded"' in stdout)
        results, backend = self._parse(proc.returncode, stdout, stderr, inputs, offset=offset, total=total,
                                       partial=partial)
        return results, peak, backend

    def _parse(self, returncode: int, stdout: bytes, stderr: str, inputs: list[dict[str, Any]], *,
               offset: int = 0, total: int | None = None,
               partial: dict[int, Any] | None = None) -> tuple[list[Any], str | None]:
        total = len(inputs) if total is None else total
        # With ``partial`` (keep_going), an input's error event is its outcome, not the run's end.
        results: dict[int, Any] = {} if partial is None else partial
        backend: str | None = None
        loaded = False
        finished = False
        # One event per line, framed on the byte b"\n" only: JSON text never holds a raw line feed,
        # while str.splitlines() would also split inside a string at U+2028, U+2029 or U+0085.
        for line in stdout.split(b"\n"):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if not isinstance(event, dict):
                continue
            kind = event.get("event")
            if kind == "loaded":
                loaded = True
                backend = str(event.get("backend", "regopy"))
                # which library judged, its version, and why auto did not take regorus (the slow fallback)
                self.stats["backend_version"] = event.get("version")
                if event.get("fallback"):
                    self.stats["backend_fallback"] = str(event["fallback"])[:500]
                else:
                    self.stats.pop("backend_fallback", None)
            elif kind == "result":
                results[int(event["index"])] = event.get("value")
            elif kind == "done":
                finished = True
            elif kind == "error":
                cause = event.get("cause", "eval_error")
                msg = event.get("message", "")
                if cause == "bundle":
                    raise EngineError("bundle", f"embedded engine could not load the policy bundle: "
                                                f"{format_engine_error(msg, self.bundle.modules)}")
                where = ""
                if "index" in event and partial is None:
                    where = f" in batch {offset + int(event['index']) + 1}/{total}"
                if cause == "eval_error":
                    msg = format_engine_error(msg, self.bundle.modules)
                error = EngineError(cause if cause in ("undefined", "memory", "missing_library", "bad_result")
                                    else "eval_error", f"embedded engine{where}: {msg}", document="index" in event)
                if partial is not None and "index" in event:
                    results[int(event["index"])] = error
                    continue
                raise error
        if returncode != 0 or not finished:
            tail = " ".join(stderr.strip().splitlines()[-3:])[:500]
            stage = "while loading the bundle" if not loaded else (
                f"while evaluating batch {offset + len(results) + 1}/{total}")
            if returncode < 0:
                sig = _signal_name(returncode)
                if "what():" in stderr:
                    hint = " (uncaught native exception)"
                elif sig in ("SIGKILL", "SIGABRT"):
                    hint = " (possibly the memory limit)"
                else:
                    hint = ""
                used = backend or self.backend
                raise EngineError("crash", f"embedded engine worker ({used}) crashed with {sig}{hint} {stage}"
                                  + (f"; stderr: {tail}" if tail else ""), document=loaded)
            cause = "memory" if "MemoryError" in stderr or "bad_alloc" in stderr else "crash"
            raise EngineError(cause, f"embedded engine worker exited with status {returncode} {stage}"
                              + (f"; stderr: {tail}" if tail else ""), document=loaded)
        missing = [i for i in range(len(inputs)) if i not in results]
        if missing:
            raise EngineError("bad_result", f"embedded engine returned no result for batch(es) {missing}")
        return [results[i] for i in range(len(inputs))], backend
