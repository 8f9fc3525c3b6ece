"""dockerfile_remediate killed with SIGKILL at each step of its write.

The child (``remediate_child.py``) runs the module's ``main()`` and stops at
one step, telling the parent through a pipe; the parent sends SIGKILL there.
Whatever the step, the Dockerfile must be byte-for-byte the original or the
complete new version (computed by an uninterrupted run on an identical copy),
the backup (when made) must equal the original, and a new run afterwards must
not be blocked by what the dead run left behind.
"""
from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CHILD = HERE / "remediate_child.py"
DOCKERFILE = (
    "# app\n"
    "FROM node:22-bookworm-slim\n"
    "WORKDIR /app\n"
    "COPY package*.json ./\n"
    "RUN npm ci --omit=dev\n"
    "COPY . .\n"
    "EXPOSE 80\n"
    "CMD npm start\n"
) + "".join(f"LABEL filler{i}=\"{'x' * 60}\"\n" for i in range(200))   # big enough to cut in half
TMP_NAME = re.compile(r"\.Dockerfile\.\w+\.refarch\.tmp")
PACKAGE = {"name": "app", "main": "server.js", "scripts": {"start": "node server.js"}, "dependencies": {"express": "4"}}


def make_app(directory: Path) -> Path:
    directory.mkdir(parents=True)
    (directory / "package.json").write_text(json.dumps(PACKAGE))
    path = directory / "Dockerfile"
    path.write_text(DOCKERFILE)
    return path


def run_child(args: dict, step: str, timeout: float = 60) -> tuple[subprocess.Popen, str]:
    """Start the child; return it once it reached ``step`` (or finished)."""
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen([sys.executable, str(CHILD), json.dumps(args), step, str(write_fd)],
                            pass_fds=(write_fd,), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.close(write_fd)
    reached = ""
    ready, _w, _x = select.select([read_fd], [], [], timeout)
    if ready:
        reached = os.read(read_fd, 100).decode().strip()
    os.close(read_fd)
    return proc, reached


STEPS = ["after_backup", "during_temp_write", "before_move", "after_move"]


@pytest.mark.parametrize("step", STEPS)
def test_sigkill_at_each_step(case, tmp_path, new_version, step):
    c = case(f"remediation SIGKILLed {step.replace('_', ' ')}",
             "Dockerfile is the original or the complete new version; backup intact; next run not blocked")
    path = make_app(tmp_path / "app")
    backup_dir = tmp_path / "backups"
    args = {"path": str(path), "fixes": ["all"], "backup": True, "backup_dir": str(backup_dir)}
    proc, reached = run_child(args, step)
    try:
        detail = proc.stderr.read().decode()[-2000:] if proc.poll() is not None else "still running"
        assert reached == step, f"the child never reached {step}: {detail}"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    content = path.read_bytes()
    state = "original" if content == DOCKERFILE.encode() else "new version" if content == new_version else "MIXED"
    # backups live in the private backup directory, never in the build context
    backups = [p for p in backup_dir.iterdir() if "Dockerfile." in p.name and p.name.endswith("~")]
    leftovers = sorted(p.name for p in path.parent.iterdir()
                       if p.name not in ("Dockerfile", "package.json", ".dockerignore"))
    backup_ok = all(b.read_bytes() == DOCKERFILE.encode() for b in backups)
    shown = [TMP_NAME.sub(".Dockerfile.*.refarch.tmp", n) for n in leftovers]
    c.see(f"Dockerfile={state}, backups={len(backups)} (intact={backup_ok}), left behind={shown}")
    assert state != "MIXED", "the Dockerfile holds partial content"
    if step in ("during_temp_write", "before_move", "after_backup"):
        assert state == "original"
    else:
        assert state == "new version"
    assert backup_ok and (backups or step == "none")
    # the dead run must not block the next one (stale lock file, temp file)
    again, dummy = run_child(args, "none")
    out, err = again.communicate(timeout=120)
    result = json.loads(out) if out else {}
    c.see(f"rerun rc={again.returncode}, changed={result.get('changed')}")
    assert again.returncode == 0, (out + err).decode()[-2000:]
    assert path.read_bytes() == new_version
    shutil.rmtree(tmp_path / "app", ignore_errors=True)
