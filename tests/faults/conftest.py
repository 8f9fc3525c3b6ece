"""Fixtures of the fault-injection suite: every test here is marked ``faults`` and records its case."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "hostile"))

from casetable import make_fixture  # noqa: E402

case = make_fixture("faults")
# the "Hostile host" section of docs/hostile-and-faults.md (shared with tests/hostile)
host_case = make_fixture("hostile_host")
# the "Fail-open" section: runs that could not check everything and must not exit 0 (test_fail_open.py)
open_case = make_fixture("fail_open")


@pytest.fixture(scope="session")
def new_version(tmp_path_factory) -> bytes:
    """The complete remediated Dockerfile, from an uninterrupted run on an identical copy."""
    from test_remediate_kill import DOCKERFILE, make_app, run_child  # noqa: PLC0415 - helpers of the kill tests

    path = make_app(tmp_path_factory.mktemp("reference") / "app")
    proc, dummy = run_child({"path": str(path), "fixes": ["all"], "backup": True,
                             "backup_dir": str(path.parent.parent / "backups")}, "none")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()[-2000:]
    result = json.loads(out)
    assert result["changed"], result
    new = path.read_bytes()
    assert new != DOCKERFILE.encode()
    return new


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.faults)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)
