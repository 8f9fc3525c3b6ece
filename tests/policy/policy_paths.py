"""Repository paths for the policy tests (a uniquely named module: several test folders have a conftest.py)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "policies"
