"""Two remediation runs on the same Dockerfile at once: one wins, the other reports the conflict.

Deterministic: run A stops right before its atomic move (holding the lock)
while run B starts; B must fail with ``conflict: true`` and write nothing;
then A finishes. The sha guard: a run whose ``expected_sha256`` is the
pre-remediation hash, started after another run rewrote the file, must refuse.
Racing: pairs of unsynchronised runs, many times; every time the file ends as
the complete new version and each loser says why.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from test_remediate_kill import (  # noqa: E402
    DOCKERFILE,
    make_app,
    run_child,
)


def finish(proc: subprocess.Popen) -> tuple[int, dict]:
    out, err = proc.communicate(timeout=120)
    try:
        return proc.returncode, json.loads(out)
    except ValueError:
        return proc.returncode, {"msg": f"no JSON result: {err[-1500:]!r}"}


def test_lock_conflict(case, tmp_path, new_version):
    c = case("two remediation runs at once (one paused before its move)",
             "second run fails with conflict=true and writes nothing; first completes; file = new version")
    path = make_app(tmp_path / "app")
    args = {"path": str(path), "fixes": ["all"], "backup": True, "backup_dir": str(tmp_path / "backups")}
    resume = tmp_path / "resume"
    os.environ["REFARCH_RESUME_FILE"] = str(resume)
    try:
        first, reached = run_child(args, "before_move")
    finally:
        del os.environ["REFARCH_RESUME_FILE"]
    assert reached == "before_move"
    second, dummy = run_child(args, "none")
    rc2, res2 = finish(second)
    between = path.read_bytes()
    resume.touch()
    rc1, res1 = finish(first)
    c.see(f"second: rc={rc2}, conflict={res2.get('conflict')}, msg={res2.get('msg', '')[:70]!r}; "
          f"first: rc={rc1}, changed={res1.get('changed')}")
    assert rc2 != 0 and res2.get("conflict") is True, res2
    assert between == DOCKERFILE.encode(), "the losing run wrote to the file"
    assert rc1 == 0 and res1["changed"], res1.get("msg")
    assert path.read_bytes() == new_version


def test_sha_guard_after_another_run(case, tmp_path, new_version):
    c = case("remediation with a stale expected_sha256 (file rewritten by another run)",
             "refuses with conflict=true; file left as the other run wrote it")
    path = make_app(tmp_path / "app")
    scanned = hashlib.sha256(path.read_bytes()).hexdigest()
    first, dummy = run_child({"path": str(path), "fixes": ["all"], "expected_sha256": scanned}, "none")
    rc1, _res1 = finish(first)
    second, dummy = run_child({"path": str(path), "fixes": ["all"], "expected_sha256": scanned}, "none")
    rc2, res2 = finish(second)
    c.see(f"first rc={rc1}; second rc={rc2}, conflict={res2.get('conflict')}, msg={res2.get('msg', '')[:60]!r}")
    assert rc1 == 0 and rc2 != 0 and res2.get("conflict") is True
    assert path.read_bytes() == new_version


def test_racing_runs(case, tmp_path, new_version):
    c = case("pairs of remediation runs racing (10 rounds)",
             "every round: file = complete new version; each run succeeds or reports a conflict")
    outcomes = []
    for i in range(10):
        path = make_app(tmp_path / f"app{i}")
        scanned = hashlib.sha256(path.read_bytes()).hexdigest()
        args = {"path": str(path), "fixes": ["all"], "expected_sha256": scanned}
        procs = [run_child(args, "none", timeout=0)[0] for dummy in range(2)]
        results = [finish(p) for p in procs]
        kinds = sorted("changed" if rc == 0 and r.get("changed") else "unchanged" if rc == 0 else
                       "conflict" if r.get("conflict") else "ERROR:" + r.get("msg", "")[:100] for rc, r in results)
        outcomes.append("/".join(kinds))
        assert path.read_bytes() == new_version, f"round {i}: file is not the new version"
        assert not any(k.startswith("ERROR") for k in kinds), kinds
        assert kinds.count("changed") == 1, kinds
    summary = {k: outcomes.count(k) for k in sorted(set(outcomes))}
    c.see(f"outcomes {summary}")
