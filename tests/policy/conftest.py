"""Fixtures for the policy-bundle tests: the OPA and Regal binaries and repository paths."""

from __future__ import annotations

import importlib
import os
import shutil
import sys
from pathlib import Path

import pytest
from policy_paths import REPO

COLLECTIONS = REPO / ".venv" / "collections"


def _binary(env: str, candidates: list[Path], name: str) -> str | None:
    explicit = os.environ.get(env)
    if explicit:
        return explicit
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name)


@pytest.fixture(scope="session")
def opa_bin() -> str:
    """Path of the OPA binary: $OPA, else the repo's .tools/bin/opa (make setup), else PATH."""
    path = _binary("OPA", [REPO / ".tools/bin/opa"], "opa")
    if not path:
        pytest.fail("OPA binary not found: set OPA=/path/to/opa (make setup installs it under .tools/bin)")
    return path


@pytest.fixture(scope="session")
def regal_bin() -> str:
    """Path of the Regal binary: $REGAL, else the repo's .tools/bin/regal (make setup), else PATH."""
    path = _binary("REGAL", [REPO / ".tools/bin/regal"], "regal")
    if not path:
        pytest.fail("Regal binary not found: set REGAL=/path/to/regal (make setup installs it under .tools/bin)")
    return path


@pytest.fixture(scope="session")
def facts_module():
    """The host-side facts normalizer (plugins/module_utils/_dockerfile_facts.py) under its collection import path."""
    link = COLLECTIONS / "ansible_collections" / "refarch" / "containers"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO)
    if str(COLLECTIONS) not in sys.path:
        sys.path.insert(0, str(COLLECTIONS))
    return importlib.import_module("ansible_collections.refarch.containers.plugins.module_utils._dockerfile_facts")
