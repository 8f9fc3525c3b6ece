"""Fixtures that start the real parts integration tests need."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import REPO, tool
from sshhosts import SshEstate


@pytest.fixture(scope="session")
def ansible_playbook() -> str:
    return tool("ansible-playbook")


@pytest.fixture(scope="session")
def opa_binary() -> str:
    for candidate in (os.environ.get("OPA"), str(REPO / ".tools" / "bin" / "opa"), shutil.which("opa")):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail("OPA binary not found: run `make setup` (installs it under .tools/bin)")


@pytest.fixture
def ssh_estate(tmp_path_factory):
    """Factory for real sshd hosts on loopback; all are stopped at teardown."""
    if os.geteuid() != 0:
        pytest.skip("the SSH estate binds 127.0.0.N addresses and logs in as root: run the tests as root")
    estates: list[SshEstate] = []

    def make() -> SshEstate:
        estate = SshEstate(tmp_path_factory.mktemp("estate"))
        estates.append(estate)
        return estate

    yield make
    for estate in estates:
        estate.stop()
