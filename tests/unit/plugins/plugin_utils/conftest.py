"""Fixtures for the engine tests: the fixture bundle, a real OPA server."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from opa_helpers import FIXTURES, OpaServer, opa_binary


@pytest.fixture(scope="session")
def opa_bin() -> str:
    binary = opa_binary()
    if not binary:
        pytest.skip("no opa binary (set OPA=/path/to/opa or install it into .tools/bin)")
    return binary


@pytest.fixture(scope="session")
def fixture_server(opa_bin):
    """A real OPA server serving the fixture bundle."""
    server = OpaServer(opa_bin, [str(FIXTURES / "bundle")])
    yield server
    server.stop()


@pytest.fixture()
def empty_server(opa_bin):
    """A real OPA server with no policies (for push mode)."""
    server = OpaServer(opa_bin)
    yield server
    server.stop()
