"""The hostile-input / fault case table the two suites write as they run.

Each test declares its case through the ``case`` fixture (suite, case name,
expected outcome) and sets ``case.observed`` to what it really saw. At teardown
the entry is merged into ``tests/output/hostile-faults.json`` together with the
test's outcome (passed / failed / skipped), so ``tools/gen_fault_table.py``
renders ``docs/hostile-and-faults.md`` from what the tests observed, not from
what they were hoped to observe.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TABLE = Path(os.environ.get("REFARCH_FAULT_TABLE", REPO / "tests" / "output" / "hostile-faults.json"))


class Case:
    """One row of the table: the test fills ``observed``."""

    def __init__(self, suite: str, name: str, expected: str, test: str) -> None:
        self.suite = suite
        self.name = name
        self.expected = expected
        self.test = test
        self.observed = ""

    def see(self, text: str) -> None:
        """Append one observation (several steps of a case each add theirs)."""
        self.observed = f"{self.observed}; {text}" if self.observed else text


_NOISE = [
    (re.compile(r"/tmp/pytest-of-[^/\s]+/pytest-\d+/[^\s'\",)]*"), "<tmp>"),
    (re.compile(r"/tmp/refarch-[\w-]+/[^\s'\",)]*"), "<tmp>"),
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:<port>"),
    (re.compile(r"refarch-\w{12}\b"), "refarch-<sha12>"),
]


def clean(text: str) -> str:
    """Observed text without what differs from run to run (temp paths, ports, hashes)."""
    for pattern, repl in _NOISE:
        text = pattern.sub(repl, text)
    return text


def _merge(entries: list[dict]) -> None:
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    with open(TABLE.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            data = json.loads(TABLE.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {"cases": {}}
        for entry in entries:
            entry["observed"] = clean(entry["observed"])
            data["cases"][f"{entry['suite']}::{entry['case']}"] = entry
        tmp = TABLE.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, TABLE)


def outcome(item: pytest.Item) -> str:
    """passed / failed / skipped from the reports the hook below stored on the item."""
    reports = [getattr(item, f"rep_{when}", None) for when in ("setup", "call", "teardown")]
    reports = [r for r in reports if r is not None]
    if any(r.failed for r in reports):
        return "failed"
    if any(r.skipped for r in reports):
        return "skipped"
    return "passed" if any(r.when == "call" and r.passed for r in reports) else "not run"


def make_fixture(suite: str):
    """A ``case`` fixture factory bound to one suite (hostile / faults)."""

    @pytest.fixture
    def case(request):
        made: list[Case] = []

        def declare(name: str, expected: str) -> Case:
            c = Case(suite, name, expected, request.node.nodeid)
            made.append(c)
            return c

        yield declare
        status = outcome(request.node)
        if status == "not run":  # teardown of a passed call happens before rep_teardown exists
            status = "passed" if getattr(request.node, "rep_call", None) and request.node.rep_call.passed else status
        failure = ""
        rep = getattr(request.node, "rep_call", None)
        if status == "failed" and rep is not None and getattr(rep.longrepr, "reprcrash", None) is not None:
            failure = "FAILED: " + rep.longrepr.reprcrash.message.splitlines()[0][:300]
        _merge([{"suite": c.suite, "case": c.name, "expected": c.expected,
                 "observed": "; ".join(x for x in (c.observed, failure) if x) or "(nothing recorded)",
                 "status": status, "test": c.test} for c in made])

    return case
