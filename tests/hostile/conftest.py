"""Fixtures of the hostile-input suite: every test here is marked ``hostile`` and records its case."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from casetable import Case, _merge, make_fixture  # noqa: E402

case = make_fixture("hostile")
# cases of the "hostile host" section: an unprivileged user plants links, FIFOs, hard links and swaps in a
# scanned directory while the playbooks run as root over SSH (remediation and scan side)
host_case = make_fixture("hostile_host")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.hostile)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture
def case_record(request):
    """One table row per fuzz target (hypothesis runs the test body many times)."""
    name = request.node.name.replace("test_fuzz_", "fuzz ")
    examples = int(os.environ.get("REFARCH_FUZZ_EXAMPLES", "300"))
    c = Case("hostile", f"{name.replace('_', ' ')}", "no exception, deadline 2 s per example, JSON-serializable, "
             "schema/contract-valid", request.node.nodeid)
    yield c
    rep = getattr(request.node, "rep_call", None)
    status = "passed" if rep is not None and rep.passed else "failed" if rep is not None and rep.failed else "not run"
    c.observed = f"{examples} examples: {status}"
    _merge([{"suite": c.suite, "case": c.name, "expected": c.expected, "observed": c.observed, "status": status,
             "test": c.test}])
