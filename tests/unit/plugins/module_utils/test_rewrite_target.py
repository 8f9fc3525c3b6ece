"""Remediating a declared build whose target is not the last stage (compose ``build.target``): the fixes act on
that stage, or are declined with the reason; what is claimed fixed is re-evaluated on the target (no false claim)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from ansible_collections.refarch.containers.plugins.module_utils import _dockerfile_facts
from ansible_collections.refarch.containers.plugins.module_utils import _rewriter as R
from ansible_collections.refarch.containers.plugins.module_utils._rewrite import claims

REPO = Path(__file__).resolve().parents[4]
DATE = "2026-11-28"
MIXED = Path(os.environ.get("REFARCH_SHARED", REPO.parent / "shared")) / "mixed-corpus"

TWO_STAGES = """FROM node:22.11.0-bookworm-slim AS dev
WORKDIR /app
COPY . .
RUN npm install
EXPOSE 3000
CMD npm start

FROM node:22.11.0-bookworm-slim AS prod
WORKDIR /app
COPY --from=dev /app /app
USER node
EXPOSE 8080
CMD ["node", "server.js"]
"""
PROD = TWO_STAGES[TWO_STAGES.index("FROM node:22.11.0-bookworm-slim AS prod"):]
CONTEXT = {"package_json": {"scripts": {"start": "node server.js"}}, "evaluation_date": DATE,
           "context_files": ["package.json", "package-lock.json"]}


@pytest.fixture(scope="module")
def engine():
    from ansible_collections.refarch.containers.plugins.plugin_utils import _bundle  # noqa: PLC0415
    from ansible_collections.refarch.containers.plugins.plugin_utils._engine_embedded import (  # noqa: PLC0415
        EmbeddedEngine,
    )
    return EmbeddedEngine(_bundle.load_bundle(include_default=False, paths=[str(REPO / "policies")]),
                          backend="regorus")


def _facts(text: str, target, package_json=None):
    pj = json.dumps(package_json).encode() if package_json is not None else None
    return _dockerfile_facts.dockerfile_facts("/srv/app/Dockerfile", text.encode("utf-8", "surrogateescape"), None,
                                              pj, include_instructions=False, target=target)


def _rules(engine, doc) -> set[str]:
    return {f["rule_id"] for f in engine.evaluate([doc], DATE)[0]}


def test_fixes_act_on_the_target_stage_and_leave_the_last_stage_alone(engine):
    before = _rules(engine, _facts(TWO_STAGES, "dev", CONTEXT["package_json"]))
    assert {"NRA001", "NRA007", "NRA009", "NRA010", "NRA011"} <= before
    res = R.rewrite(TWO_STAGES, sorted(before), dict(CONTEXT, target="dev"))
    assert res["text"].endswith(PROD)  # the last stage, which this build does not build, is untouched
    status = {e["fix"]: e for e in res["fix_status"]}
    for fix in ("add_non_root_user", "add_init_process", "set_heap_limit", "replace_npm_start", "exec_form_cmd"):
        assert status[fix]["status"] == claims.APPLIED, status[fix]
    after = _rules(engine, _facts(res["text"], "dev", CONTEXT["package_json"]))
    out = claims.decide(res["fix_status"], sorted(before), after, evaluated="NRA000" not in after)
    assert {"NRA001", "NRA007", "NRA009", "NRA010", "NRA011"} <= set(out["rules_fixed"])
    assert not set(out["rules_fixed"]) & after


def test_a_fix_that_only_changes_the_last_stage_is_declined_for_an_earlier_target():
    res = R.rewrite(TWO_STAGES, ["split_multi_stage"], dict(CONTEXT, target="dev"))
    assert res["text"] == TWO_STAGES
    (entry,) = res["fix_status"]
    assert entry["status"] == claims.SKIPPED and entry["claims"] == []
    assert "builds stage 'dev' (line 1), not the last stage" in entry["reason"]
    # the last stage as the target: the fix decides as without a target
    last = R.rewrite(TWO_STAGES, ["split_multi_stage"], dict(CONTEXT, target="PROD"))
    plain = R.rewrite(TWO_STAGES, ["split_multi_stage"], CONTEXT)
    assert last["fix_status"] == plain["fix_status"]


def test_a_target_that_names_no_stage_declines_every_fix():
    res = R.rewrite(TWO_STAGES, "all", dict(CONTEXT, target="nosuch", dockerignore_text=None))
    assert res["text"] == TWO_STAGES
    for entry in res["fix_status"]:
        if entry["fix"] != "write_dockerignore":
            assert entry["status"] == claims.SKIPPED and "'nosuch' is not a stage" in entry["reason"], entry


def test_mixed_corpus_targets_are_remediated_without_a_false_claim(engine):
    """Each compose target of ../shared/mixed-corpus (labels.json) that is a Node.js image: the fixes for its
    findings, the rewrite re-evaluated as that target; every rule claimed fixed no longer fires there."""
    if not (MIXED / "labels.json").is_file():
        pytest.skip(f"the mixed-estate corpus is not at {MIXED} (set REFARCH_SHARED or check out ../shared)")
    entries = [e for e in json.loads((MIXED / "labels.json").read_text(encoding="utf-8"))
               if e.get("target") and e["is_node"]]
    assert entries
    not_last = fixed_not_last = 0
    for entry in entries:
        repo = MIXED / "repos" / entry["repo"]
        path = repo / entry["dockerfile"]
        context = repo / (entry.get("context") or ".")
        text = path.read_text(encoding="utf-8")
        pj = json.loads((context / "package.json").read_text()) if (context / "package.json").is_file() else None
        doc = _facts(text, entry["target"], pj)
        earlier = doc["final_stage"]["index"] != len(doc["stages"]) - 1
        not_last += earlier
        before = sorted({f["rule_id"] for f in engine.evaluate([doc], DATE)[0] if f.get("fix") not in (None, "manual")})
        res = R.rewrite(text, before, {"package_json": doc["package_json"], "evaluation_date": DATE,
                                       "target": entry["target"]})
        after = _rules(engine, _facts(res["text"], entry["target"], pj))
        out = claims.decide(res["fix_status"], before, after, evaluated="NRA000" not in after)
        assert not set(out["rules_fixed"]) & after, (entry, out)
        fixed_not_last += earlier and bool(out["rules_fixed"])  # without the target, the last stage was changed
        assert all(e["reason"] for e in res["fix_status"] if e["status"] == claims.SKIPPED), res["fix_status"]
    assert not_last >= 3  # backend, sh_admin and app of hoppscotch's prod.Dockerfile are earlier stages
    assert fixed_not_last == not_last
