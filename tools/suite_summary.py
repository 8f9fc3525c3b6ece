"""Print one summary line per test suite from pytest's JUnit XML.

A suite is the first directory under tests/ (unit, policy, integration, hostile,
faults). The last line is the plain `N passed, N failed, N skipped` count.
"""
from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections import defaultdict


def main(path: str) -> int:
    root = ET.parse(path).getroot()  # noqa: S314 - pytest's own report, written by this run
    suites: dict[str, dict] = defaultdict(lambda: {"passed": 0, "failed": 0, "skipped": 0, "failures": []})
    for case in root.iter("testcase"):
        classname = case.get("classname", "")
        parts = classname.split(".")
        suite = parts[1] if len(parts) > 1 and parts[0] == "tests" else (parts[0] or "other")
        entry = suites[suite]
        name = f"{classname}::{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            entry["failed"] += 1
            entry["failures"].append(name)
        elif case.find("skipped") is not None:
            entry["skipped"] += 1
        else:
            entry["passed"] += 1
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    for suite in sorted(suites):
        entry = suites[suite]
        cases = entry["passed"] + entry["failed"] + entry["skipped"]
        failures = ", ".join(entry["failures"][:20]) or "none"
        print(f"suite {suite}: cases={cases} passed={entry['passed']} failed={entry['failed']} "
              f"skipped={entry['skipped']} failures=[{failures}]")
        for key in totals:
            totals[key] += entry[key]
    print(f"pytest: {totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "tests/output/pytest.junit.xml"))
