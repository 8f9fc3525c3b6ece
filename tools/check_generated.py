"""Fail when a generated file (rule catalogue, rule reference, role READMEs, the README's module table) is stale."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GENERATORS = [
    "tools/gen_rule_catalog.py",
    "tools/gen_fix_rules.py",
    "tools/gen_node_releases.py",
    "tools/gen_rule_docs.py",
    "tools/gen_role_docs.py",
    "tools/gen_module_table.py",
    "tools/gen_fault_table.py",
    "tools/gen_schema.py",
]


def main() -> int:
    status = 0
    for gen in GENERATORS:
        path = REPO / gen
        if not path.exists():
            print(f"{gen}: missing")
            status = 1
            continue
        result = subprocess.run([sys.executable, str(path), "--check"], cwd=REPO, capture_output=True, text=True,
                                check=False)
        print(f"{gen} --check: {'current' if result.returncode == 0 else 'STALE'}")
        if result.returncode != 0:
            print(result.stdout + result.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
