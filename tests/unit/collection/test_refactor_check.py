"""tools/refactor_check.py: a worktree of HEAD (with the current plugins and policies over it) records the
same outputs as the current tree on policies/examples, and a changed record is reported."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
TOOL = [sys.executable, str(REPO / "tools" / "refactor_check.py")]


def test_refactor_check_identical_then_detects_a_change(tmp_path):
    out = tmp_path / "check"
    run = subprocess.run([*TOOL, "check", "--rev", "HEAD", "--overlay", "plugins,policies", "--sets", "examples",
                          "--out", str(out)], capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    index = json.loads((REPO / "policies" / "examples" / "index.json").read_text())
    assert f"IDENTICAL: {len(index['examples'])} records" in run.stdout
    record = json.loads((out / "head" / "examples" / "NRA001" / "bad_root.Dockerfile.json").read_text())
    assert {f["rule_id"] for f in record["findings"]} == {"NRA001"}
    assert record["facts"]["final_stage"]["user"]
    assert [a["fix"] for a in record["rewrite"]["applied"]] == ["add_non_root_user"]
    changed = out / "head" / "examples" / "NRA001" / "bad_root.Dockerfile.json"
    changed.write_text(changed.read_text().replace('"high"', '"low"', 1))
    run = subprocess.run([*TOOL, "compare", str(out / "base"), str(out / "head")], capture_output=True, text=True,
                         timeout=60, check=False)
    assert run.returncode == 1, run.stdout
    assert "differs: examples/NRA001/bad_root.Dockerfile.json" in run.stdout
    assert "DIFFERENT: 1 of" in run.stdout
