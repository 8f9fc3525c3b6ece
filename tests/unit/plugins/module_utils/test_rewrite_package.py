"""The rewriter package: every fix answers with edits, Skip(reason) or NotNeeded(reason) on a typed context;
file sizes stay reviewable."""
from __future__ import annotations

import json
from pathlib import Path

from ansible_collections.refarch.containers.plugins.module_utils import _rewriter
from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_parser import parse
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.model import (
    FixContext,
    NotNeeded,
    Skip,
    _Doc,
    _Edits,
)

REPO = Path(__file__).resolve().parents[4]
EXAMPLES = REPO / "policies" / "examples"


def test_every_fix_answers_with_one_of_three_types():
    index = json.loads((EXAMPLES / "index.json").read_text())
    ctx = FixContext.of({"evaluation_date": index["evaluation_date"], "dockerignore_text": None},
                        list(_rewriter.FIX_ORDER))
    seen = set()
    for example in index["examples"]:
        doc = _Doc((EXAMPLES / example["path"]).read_text(encoding="utf-8", errors="surrogateescape"), parse)
        if not doc.stages:
            continue
        for fix, fixer in _rewriter._FIXERS.items():
            result = fixer(doc, ctx)
            assert isinstance(result, (_Edits, Skip, NotNeeded)), (example["path"], fix, result)
            assert not isinstance(result, (Skip, NotNeeded)) or result.reason, (example["path"], fix)
            seen.add(type(result).__name__)
    assert seen == {"_Edits", "Skip", "NotNeeded"}


def test_context_keeps_absent_and_given_options_apart():
    assert FixContext.of({}, []).port_offset == 8000 and not FixContext.of({}, []).dockerignore_read
    given = FixContext.of({"port_offset": None, "dockerignore_text": None, "unknown": 1}, ["exec_form_cmd"])
    assert given.port_offset is None and given.dockerignore_read and given.requested == ["exec_form_cmd"]


def test_no_python_file_in_plugins_over_900_lines():
    over = {str(p.relative_to(REPO)) for p in (REPO / "plugins").rglob("*.py")
            if "__pycache__" not in p.parts and len(p.read_text(encoding="utf-8").splitlines()) > 900}
    assert not over, sorted(over)
