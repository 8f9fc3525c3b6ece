"""Run host-side code (discovery, parser, facts) in a child process with a timeout and limits.

A hostile file must never hang or exhaust the host, so the suites never call
the walker in-process: a FIFO that blocks ``open`` would hang pytest itself.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / ".venv" / "collections"

_SCAN = """
import json, sys
sys.path.insert(0, {coll!r})
from ansible_collections.refarch.containers.plugins.module_utils import _discovery
params = json.loads(sys.argv[1])
json.dump(_discovery.scan(**params), sys.stdout)
"""

_FACTS = """
import json, resource, sys
sys.path.insert(0, {coll!r})
from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_facts import dockerfile_facts
data = open(sys.argv[1], "rb").read()
doc = dockerfile_facts(sys.argv[2], data)
text = json.dumps(doc)
sys.stdout.write(json.dumps({{"doc": doc, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}}))
"""


class ChildResult:
    def __init__(self, proc: subprocess.CompletedProcess | None, timed_out: bool) -> None:
        self.proc = proc
        self.timed_out = timed_out
        self.data: Any = None
        if proc is not None and proc.returncode == 0:
            self.data = json.loads(proc.stdout)

    def describe(self) -> str:
        if self.timed_out:
            return "child timed out"
        assert self.proc is not None
        return f"rc={self.proc.returncode} stderr={self.proc.stderr[-1500:]!r}"


def _limits(memory_mb: int | None, uid: int | None):
    def apply() -> None:
        if memory_mb:
            limit = memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
    return apply


def run_child(code: str, args: list[str], timeout: float, memory_mb: int | None = None,
              uid: int | None = None) -> ChildResult:
    """Run ``code`` in a fresh interpreter; a timeout is recorded, not raised."""
    try:
        # a child that drops to another uid runs the host's system python (the venv may sit under /root)
        python = "/usr/bin/python3" if uid is not None and os.path.exists("/usr/bin/python3") else sys.executable
        proc = subprocess.run([python, "-c", code.format(coll=str(COLLECTIONS)), *args],
                              capture_output=True, text=True, timeout=timeout,
                              preexec_fn=_limits(memory_mb, uid), check=False, cwd="/")
    except subprocess.TimeoutExpired:
        return ChildResult(None, True)
    return ChildResult(proc, False)


def scan(roots: list[str], timeout: float = 60, memory_mb: int | None = 2048, uid: int | None = None,
         **params: Any) -> ChildResult:
    """``_discovery.scan(roots, **params)`` in a child process."""
    return run_child(_SCAN, [json.dumps({"paths": roots, **params})], timeout, memory_mb, uid)


def facts(path: Path, timeout: float = 60, memory_mb: int | None = 1024, reported_path: str = "/srv/app/Dockerfile"
          ) -> ChildResult:
    """``dockerfile_facts`` over one file's bytes in a child process (JSON-serialized, peak RSS reported)."""
    return run_child(_FACTS, [str(path), reported_path], timeout, memory_mb)


def by_path(result: ChildResult) -> dict[str, dict]:
    assert result.data is not None, result.describe()
    return {d["path"]: d for d in result.data["dockerfiles"]}
