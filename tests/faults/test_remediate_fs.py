"""Remediation on a full disk (ENOSPC) and on a read-only filesystem, before and between its steps.

The Dockerfile lives on its own small tmpfs (``mount -t tmpfs -o size=64k``).
The disk is filled, or the mount made read-only (``mount -o remount,ro``),
either before the run or while the child waits right after the backup (see
``remediate_child.py``). The module must fail with a message that says what
failed, and the original Dockerfile must be untouched.
"""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from test_remediate_kill import DOCKERFILE, make_app, run_child  # noqa: E402


@pytest.fixture
def small_fs(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(directory: Path) -> None:
    """Use up the filesystem's free space."""
    fd = os.open(directory / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC, exc
    finally:
        os.close(fd)
    for size in (1024, 256, 16, 1):   # the tail of the last page too
        try:
            with open(directory / f"filler{size}", "wb", buffering=0) as fh:
                while True:
                    fh.write(b"\0" * size)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc


def remount_ro(mnt: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)


def finish(proc: subprocess.Popen) -> tuple[int, dict]:
    out, err = proc.communicate(timeout=120)
    try:
        return proc.returncode, json.loads(out)
    except ValueError:
        last = (err.decode(errors="replace").strip().splitlines() or ["?"])[-1]
        return proc.returncode, {"msg": f"module crashed without a JSON result: {last[:200]}"}


CASES = {
    "disk full before the run (backup)": ("enospc", "before", True),
    "disk full during the temp write": ("enospc", "after_backup", True),
    "disk full, no backup": ("enospc", "before", False),
    "read-only filesystem before the run": ("rofs", "before", True),
    "read-only filesystem, check mode": ("rofs", "before", "check"),
}
# A read-only filesystem meets a run at its start only: a remount while the run is between steps
# would need the run's open files closed first (the kernel refuses with EBUSY while one is open for writing).


@pytest.mark.parametrize("name", list(CASES))
def test_fs_fault(case, small_fs, tmp_path, name):
    fault, when, backup = CASES[name]
    c = case(f"remediation: {name}", "module fails with a clear message; original Dockerfile untouched")
    path = make_app(small_fs / "app")
    # the backups go to a private directory on the same small filesystem, so they meet the fault too
    args = {"path": str(path), "fixes": ["all"], "backup": backup is True, "backup_dir": str(small_fs / "backups")}
    if backup == "check":
        args.update(_ansible_check_mode=True, _ansible_diff=True)
    resume = tmp_path / "resume"

    def inject() -> None:
        if fault == "enospc":
            fill(small_fs)
        else:
            remount_ro(small_fs)

    if when == "before":
        inject()
        proc, dummy = run_child(args, "none")
    else:
        os.environ["REFARCH_RESUME_FILE"] = str(resume)
        try:
            proc, reached = run_child(args, when)
        finally:
            del os.environ["REFARCH_RESUME_FILE"]
        assert reached == when, f"child did not reach {when}"
        inject()
        resume.touch()
    rc, result = finish(proc)
    content = path.read_bytes()
    if backup == "check":
        c.expected = ("check mode predicts the failure (would_fail names the read-only filesystem) with the planned "
                      "diff; nothing written")
        c.see(f"rc={rc}, changed={result.get('changed')}, diff={bool(result.get('diff'))}, "
              f"would_fail={result.get('would_fail')!r}, original intact={content == DOCKERFILE.encode()}")
        assert rc == 0 and result.get("changed") and result.get("diff"), result
        assert "read-only filesystem" in result.get("would_fail", "") and str(path.parent) in result["would_fail"]
        assert content == DOCKERFILE.encode()
        return
    c.see(f"rc={rc}, failed={result.get('failed')}, msg={result.get('msg', '')[:110]!r}, "
          f"original intact={content == DOCKERFILE.encode()}")
    assert rc != 0 and result.get("failed"), result
    assert content == DOCKERFILE.encode(), "the original Dockerfile was changed"
    msg = result.get("msg", "")
    words = ("space", "ENOSPC", "No space") if fault == "enospc" else ("Read-only", "read-only", "EROFS")
    assert str(path) in msg or "backup" in msg, msg
    assert any(w in msg for w in words), f"the message does not say why: {msg}"
    leftovers = [p.name for p in path.parent.iterdir() if p.name.endswith(".refarch.tmp")]
    c.see(f"temp files left={len(leftovers)}")
    assert not leftovers, leftovers


ATTRIBUTE_CASES = {
    "immutable Dockerfile (chattr +i)": ("Dockerfile", "+i", "is immutable"),
    "append-only directory (chattr +a)": (".", "+a", "is append-only"),
    "immutable directory (chattr +i)": (".", "+i", "is immutable"),
}


@pytest.mark.parametrize("name", list(ATTRIBUTE_CASES))
def test_check_mode_predicts_attribute_failure(case, tmp_path, name):
    """Check mode names the attribute that will make the real run fail; the real run does fail, writing nothing."""
    target, flag, words = ATTRIBUTE_CASES[name]
    c = case(f"remediation check mode: {name}",
             f"check mode says 'would fail: ... {words}' with the diff; the real run fails; nothing written")
    path = make_app(tmp_path / "app")
    attr_path = path if target == "Dockerfile" else path.parent
    proc = subprocess.run(["chattr", flag, str(attr_path)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.skip(f"chattr {flag} is not possible here: {proc.stderr.strip()}")
    try:
        args = {"path": str(path), "fixes": ["all"], "backup": False}
        rc, planned = finish(run_child(dict(args, _ansible_check_mode=True, _ansible_diff=True), "none")[0])
        rc_real, real = finish(run_child(args, "none")[0])
    finally:
        subprocess.run(["chattr", flag.replace("+", "-"), str(attr_path)], check=True)
    c.see(f"check: rc={rc}, changed={planned.get('changed')}, would_fail={planned.get('would_fail')!r}; "
          f"real: rc={rc_real}, msg={real.get('msg', '')[:100]!r}")
    assert rc == 0 and planned.get("changed") and planned.get("diff"), planned
    assert words in planned.get("would_fail", "") and str(attr_path) in planned["would_fail"], planned
    assert rc_real != 0 and real.get("failed"), real
    assert path.read_text() == DOCKERFILE


def test_check_mode_predicts_nothing_on_a_writable_directory(tmp_path):
    path = make_app(tmp_path / "app")
    rc, planned = finish(run_child({"path": str(path), "fixes": ["all"], "_ansible_check_mode": True}, "none")[0])
    assert rc == 0 and planned.get("changed") and "would_fail" not in planned, planned
