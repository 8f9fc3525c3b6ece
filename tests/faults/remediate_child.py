"""Child process for the kill tests: run dockerfile_remediate's main() and pause at one step.

Usage: python remediate_child.py ARGS_JSON STEP FD

STEP is where the child stops and waits to be killed, after writing the step's
name to the pipe FD: ``after_backup`` (backup_local returned),
``during_temp_write`` (half of the new content written to the temp file and
flushed), ``before_move`` (temp file complete and synced, atomic_move not yet
called), ``after_move`` (atomic_move returned), or ``none`` (run to the end).
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

from ansible.module_utils import basic  # noqa: E402
from ansible.module_utils.testing import patch_module_args  # noqa: E402
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


real_backup = basic.AnsibleModule.backup_local
real_move = basic.AnsibleModule.atomic_move
real_fdopen = os.fdopen


def backup_local(self, fn):
    dest = real_backup(self, fn)
    pause("after_backup")
    return dest


def atomic_move(self, src, dest, *a, **kw):
    pause("before_move")
    out = real_move(self, src, dest, *a, **kw)
    pause("after_move")
    return out


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


basic.AnsibleModule.backup_local = backup_local
basic.AnsibleModule.atomic_move = atomic_move
os.fdopen = fdopen

with patch_module_args(args):
    mod.main()
