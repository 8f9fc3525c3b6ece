"""Run ansible-playbook the way the integration suite does: tests/integration/harness.py."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from harness import REPO, ansible_env, run_playbook  # the suites share one runner

__all__ = ["REPO", "ansible_env", "run_playbook"]
