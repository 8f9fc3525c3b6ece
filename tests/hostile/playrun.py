"""Run ansible-playbook the way the integration suite does (collection from the checkout, no colour)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"


def ansible_playbook() -> str:
    """Path of ansible-playbook (the project's venv first)."""
    for candidate in (VENV_BIN / "ansible-playbook", Path(sys.executable).parent / "ansible-playbook"):
        if candidate.exists():
            return str(candidate)
    found = shutil.which("ansible-playbook")
    if not found:
        raise RuntimeError("ansible-playbook not found: run `make setup` first")
    return found


def ansible_env(tmp: Path, **extra: str) -> dict:
    """Environment for a playbook run: the checkout's collection and config, no colour, private temp dirs."""
    env = dict(os.environ)
    env.update({
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".venv" / "collections"),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-local"),
        "ANSIBLE_REMOTE_TEMP": "/tmp/.ansible-refarch-tmp",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "PATH": f"{VENV_BIN}:{env.get('PATH', '')}",
    })
    env.update(extra)
    return env


def run_playbook(playbook: str, inventory: Path, tmp: Path, *, extra_vars: dict | None = None,
                 args: list[str] | None = None, env_extra: dict | None = None,
                 timeout: int = 600) -> subprocess.CompletedProcess:
    """Run one playbook; extra vars go through a JSON file so nothing is shell-quoted."""
    cmd = [ansible_playbook(), "-i", str(inventory), playbook]
    if extra_vars:
        vars_file = tmp / f"extra-vars-{len(list(tmp.glob('extra-vars-*')))}.json"
        vars_file.write_text(json.dumps(extra_vars))
        cmd += ["-e", f"@{vars_file}"]
    cmd += list(args or [])
    return subprocess.run(cmd, capture_output=True, text=True, env=ansible_env(tmp, **(env_extra or {})),
                          timeout=timeout, cwd=str(REPO), check=False)
