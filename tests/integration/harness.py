"""Helpers shared by the integration tests: repository paths and running ansible-playbook.

Kept out of conftest.py so tests import them by a unique module name
(several test folders have a conftest.py).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"


def tool(name: str) -> str:
    for candidate in (VENV_BIN / name, Path(sys.executable).parent / name):
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} not found: run `make setup` first")
    return found


def ansible_env(tmp: Path, **extra: str) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".venv" / "collections"),
            "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-local"),
            "ANSIBLE_REMOTE_TEMP": "/tmp/.ansible-refarch-tmp",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "PATH": f"{VENV_BIN}:{env.get('PATH', '')}",
        }
    )
    env.update(extra)
    return env


def run_playbook(playbook: str, inventory: Path, tmp: Path, extra_vars: dict | None = None, *,
                 args: list[str] | None = None, env_extra: dict | None = None,
                 timeout: int = 900) -> subprocess.CompletedProcess:
    cmd = [tool("ansible-playbook"), "-i", str(inventory), playbook]
    if extra_vars:
        # through a JSON file, so nothing is shell-quoted; one file per run in the same directory
        vars_file = tmp / f"extra-vars-{len(list(tmp.glob('extra-vars-*')))}.json"
        vars_file.write_text(json.dumps(extra_vars))
        cmd += ["-e", f"@{vars_file}"]
    cmd += list(args or [])
    return subprocess.run(cmd, capture_output=True, text=True, env=ansible_env(tmp, **(env_extra or {})),
                          timeout=timeout, cwd=str(REPO), check=False)
