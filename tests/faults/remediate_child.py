"""Child process for the kill tests: run dockerfile_remediate's main() and pause at one step.

Usage: python remediate_child.py ARGS_JSON STEP FD

STEP is where the child stops and waits to be killed, after writing the step's
name to the pipe FD: ``after_backup`` (the module's backup returned),
``during_temp_write`` (half of the new content written to the temp file and
flushed), ``before_move`` (temp file complete and synced, the rename relative to
the directory descriptor not yet done), ``after_move`` (the rename returned), or
``none`` (run to the end).
With ``REFARCH_RESUME_FILE`` set, the child goes on once that file exists
(the parent changes the filesystem under it first).
The pauses wrap the real functions; nothing else in the module is changed.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / ".venv" / "collections"))

from ansible.module_utils.testing import patch_module_args  # noqa: E402
from ansible_collections.refarch.containers.plugins.module_utils import _safefs_write  # noqa: E402
from ansible_collections.refarch.containers.plugins.modules import dockerfile_remediate as mod  # noqa: E402

args, step, fd = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])


RESUME = os.environ.get("REFARCH_RESUME_FILE")


PAUSED: list[str] = []


def pause(name: str) -> None:
    if name == step and not PAUSED:     # only at the first time the step is reached (the Dockerfile's write)
        PAUSED.append(name)
        os.write(fd, (name + "\n").encode())
        os.close(fd)
        while True:       # wait for SIGKILL, or for the parent to let us go on (REFARCH_RESUME_FILE)
            if RESUME and os.path.exists(RESUME):
                return
            time.sleep(0.05)


real_backup = mod._backup
real_rename = _safefs_write.rename_at
real_fdopen = os.fdopen


def backup(*a, **kw):
    dest = real_backup(*a, **kw)
    pause("after_backup")
    return dest


def rename_at(dir_fd, src, dst):
    pause("before_move")
    real_rename(dir_fd, src, dst)
    pause("after_move")


class HalfWriter:
    def __init__(self, fh):
        self.fh = fh

    def write(self, data):
        half = len(data) // 2
        self.fh.write(data[:half])
        self.fh.flush()
        pause("during_temp_write")
        return self.fh.write(data[half:]) + half

    def __getattr__(self, name):
        return getattr(self.fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self.fh.__exit__(*exc)


def fdopen(fd_, *a, **kw):
    fh = real_fdopen(fd_, *a, **kw)
    try:
        target = os.readlink(f"/proc/self/fd/{fd_}")
    except OSError:
        target = ""
    return HalfWriter(fh) if target.endswith(".refarch.tmp") else fh


mod._backup = backup
_safefs_write.rename_at = rename_at
os.fdopen = fdopen

with patch_module_args(args):
    mod.main()
