"""The rewriter's fix -> rules mapping is the catalog's (generated from the rules' METADATA ``fix``)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ansible_collections.refarch.containers.plugins.module_utils import _rewriter

REPO = Path(__file__).resolve().parents[4]


def test_fix_rules_generated_file_is_current():
    run = subprocess.run([sys.executable, str(REPO / "tools" / "gen_fix_rules.py"), "--check"], capture_output=True,
                         text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr


def test_every_catalog_fix_is_a_rewriter_fix_and_back():
    catalog = json.loads((REPO / "policies" / "refarch" / "catalog" / "data.json").read_text())["rules"]
    named = {rule: meta["fix"] for rule, meta in catalog.items() if meta["fix"] != "manual"}
    assert named == _rewriter.RULE_FIXES
    assert set(_rewriter.FIX_ORDER) == set(_rewriter.FIX_RULES)
