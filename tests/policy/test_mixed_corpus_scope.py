"""Node scope on a real mixed estate: ../shared/mixed-corpus/labels.json, read at test time.

Every ``is_node: true`` entry (a Dockerfile, or one compose ``target`` of it, built from its
declared context) is classified ``node``; every ``is_node: false`` entry gets no finding of a
Node-specific rule (METADATA ``scope: node``, in the catalog), in the default mode (where it is
not judged at all) and in the ``neutral`` mode (where the neutral rules judge it). OPA, regorus
and regopy agree on every document in both modes.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from policy_paths import POLICIES, REPO

SHARED = Path(os.environ.get("REFARCH_SHARED", REPO.parent / "shared"))
MIXED = SHARED / "mixed-corpus"
DATE = "2026-11-28"
CATALOG = json.loads((POLICIES / "refarch" / "catalog" / "data.json").read_text(encoding="utf-8"))
NODE_RULES = {rule_id for rule_id, meta in CATALOG["rules"].items() if meta["scope"] == "node"}


def _labels() -> list[dict[str, Any]]:
    if not (MIXED / "labels.json").is_file():
        pytest.skip(f"the mixed-estate corpus is not at {MIXED} (set REFARCH_SHARED or check out ../shared)")
    return json.loads((MIXED / "labels.json").read_text(encoding="utf-8"))


def _paths(entry: dict[str, Any]) -> tuple[Path, Path]:
    """The Dockerfile and the build context of a labels entry (context: the one compose declares)."""
    repos = MIXED / "repos"
    name = entry["dockerfile"]
    dockerfile = repos / name if name.startswith(entry["repo"] + "/") else repos / entry["repo"] / name
    context = (repos / entry["repo"] / entry["context"]) if entry.get("context") else dockerfile.parent
    return dockerfile, context


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


@pytest.fixture(scope="module")
def cases(facts_module: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    out = []
    for entry in _labels():
        dockerfile, context = _paths(entry)
        doc = facts_module.dockerfile_facts(
            str(dockerfile), dockerfile.read_bytes(), _read(context / ".dockerignore"),
            _read(context / "package.json"), dockerignore_path=str(context / ".dockerignore"),
            package_json_path=str(context / "package.json"), target=entry.get("target"))
        assert doc["error"] is None, (entry, doc["error"])
        out.append((entry, doc))
    assert len(out) >= 20 and any(e["is_node"] for e, _doc in out) and not all(e["is_node"] for e, _doc in out)
    return out


def _opa(opa_bin: str, docs: list[dict[str, Any]], mode: str, tmp: Path) -> list[list[dict[str, Any]]]:
    path = tmp / f"input-{mode}.json"
    path.write_text(json.dumps({"documents": docs, "evaluation_date": DATE, "config": {"node_scope": mode}}))
    run = subprocess.run([opa_bin, "eval", "--bundle", str(POLICIES), "--input", str(path), "--format", "json",
                          "data.refarch.main.batch"], capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)["result"][0]["expressions"][0]["value"]


@pytest.fixture(scope="module")
def results(cases, opa_bin: str, tmp_path_factory) -> dict[str, list[list[dict[str, Any]]]]:
    tmp = tmp_path_factory.mktemp("mixed")
    docs = [doc for _entry, doc in cases]
    return {mode: _opa(opa_bin, docs, mode, tmp) for mode in ("node", "neutral", "all")}


def test_every_node_entry_is_classified_node(cases):
    wrong = [(e["dockerfile"], e.get("target"), d["node_scope"]) for e, d in cases
             if e["is_node"] and d["node_scope"]["classification"] != "node"]
    assert not wrong, wrong


def test_no_node_specific_finding_on_a_not_node_entry(cases, results):
    for mode in ("node", "neutral"):
        for (entry, doc), findings in zip(cases, results[mode], strict=True):
            if entry["is_node"]:
                continue
            node_findings = [f["rule_id"] for f in findings if f["rule_id"] in NODE_RULES]
            assert not node_findings, (mode, entry["dockerfile"], doc["node_scope"], node_findings)
            if mode == "node":
                assert findings == [], (entry["dockerfile"], findings)  # not judged at all
    # the test can fail: judged as everything, the same entries do get Node-specific findings
    judged_all = [f["rule_id"] for (e, _doc), fs in zip(cases, results["all"], strict=True) if not e["is_node"]
                  for f in fs if f["rule_id"] in NODE_RULES]
    assert judged_all, "mode all gave no Node-specific finding on the not-Node entries"


def test_node_entries_are_judged_with_node_rules(cases, results):
    for (entry, _doc), findings in zip(cases, results["node"], strict=True):
        if entry["is_node"]:
            assert findings == results["all"][cases.index((entry, _doc))], entry["dockerfile"]
    assert any(f["rule_id"] in NODE_RULES for (e, _doc), fs in zip(cases, results["node"], strict=True)
               if e["is_node"] for f in fs)


def test_neutral_messages_do_not_name_node_on_not_node_entries(cases, results):
    for (entry, _doc), findings in zip(cases, results["neutral"], strict=True):
        if not entry["is_node"]:
            for f in findings:
                assert "to node" not in f["message"] and "node;" not in f["message"], f


@pytest.mark.parametrize("backend", ["regorus", "regopy"])
def test_embedded_backends_agree_with_opa(cases, results, backend):
    if backend == "regorus":
        pytest.importorskip("refarch_regorus")
    else:
        pytest.importorskip("regopy")
    from ansible_collections.refarch.containers.plugins.plugin_utils._bundle import load_bundle  # noqa: PLC0415
    from ansible_collections.refarch.containers.plugins.plugin_utils._engine_embedded import (  # noqa: PLC0415
        EmbeddedEngine,
    )
    docs = [doc for _entry, doc in cases]
    engine = EmbeddedEngine(load_bundle(), backend=backend, timeout=900)
    for mode in ("node", "neutral"):
        assert engine.evaluate(docs, DATE, {"node_scope": mode}) == results[mode], (backend, mode)


def test_the_reports_reading_of_the_scope_matches_the_policy(cases, results):
    """plugin_utils/_scope says which targets and rule scopes a mode judges (for the reports); the policy decides
    it (refarch.lib.scope). On every entry and mode, the findings come only from the rule scopes _scope names."""
    from ansible_collections.refarch.containers.plugins.plugin_utils import _scope  # noqa: PLC0415
    seen = set()
    for mode in ("node", "neutral", "all"):
        for (_entry, doc), findings in zip(cases, results[mode], strict=True):
            scopes = {CATALOG["rules"][f["rule_id"]]["scope"] for f in findings if f["rule_id"] != "NRA000"}
            assert scopes <= set(_scope.rule_scopes(doc, mode)), (mode, doc["path"], scopes)
            if not _scope.judged(doc, mode):
                assert {f["rule_id"] for f in findings} <= {"NRA000"}
            seen.add((mode, tuple(_scope.rule_scopes(doc, mode))))
    assert ("node", ()) in seen and ("neutral", ("neutral",)) in seen and ("all", ("neutral", "node")) in seen
