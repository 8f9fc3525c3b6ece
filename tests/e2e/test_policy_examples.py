"""Each rule's good and bad examples, end to end: Dockerfile -> facts -> engine -> findings.

``policies/examples/index.json`` lists every example with the exact set of rule
IDs that must fire; the Dockerfile is read with the .dockerignore and
package.json of its directory, as dockerfile_info would on a host.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from pipeline import evaluate, facts_for_dir

EXAMPLES = Path(__file__).resolve().parents[2] / "policies" / "examples"
INDEX = json.loads((EXAMPLES / "index.json").read_text())


def _facts(entry: dict) -> dict:
    path = EXAMPLES / entry["path"]
    return facts_for_dir(path.parent, path.name)


@pytest.fixture(scope="module")
def results() -> dict[str, list[dict]]:
    entries = INDEX["examples"]
    found = evaluate([_facts(e) for e in entries], INDEX["evaluation_date"])
    return {e["path"]: f for e, f in zip(entries, found, strict=True)}


def test_every_rule_has_good_and_bad_examples():
    kinds: dict[str, set[str]] = {}
    for entry in INDEX["examples"]:
        kinds.setdefault(entry["rule"], set()).add(entry["kind"])
        assert (EXAMPLES / entry["path"]).is_file(), entry["path"]
    dockerfile_rules = {f"NRA{n:03d}" for n in range(1, 15)}  # NRA015 judges images only
    assert dockerfile_rules <= set(kinds), sorted(dockerfile_rules - set(kinds))
    for rule, seen in kinds.items():
        assert seen == {"good", "bad"}, f"{rule} needs both a good and a bad example, has {sorted(seen)}"


@pytest.mark.parametrize("entry", INDEX["examples"], ids=[e["path"] for e in INDEX["examples"]])
def test_example(entry, results):
    findings = results[entry["path"]]
    got = sorted({f["rule_id"] for f in findings})
    assert got == sorted(entry["expect"]), json.dumps(findings, indent=1)[:3000]
    for rule, lines in entry.get("lines", {}).items():  # the instruction each finding points at
        assert sorted(f["line"] for f in findings if f["rule_id"] == rule) == lines, json.dumps(findings, indent=1)
    for finding in findings:
        assert finding["severity"] in {"info", "low", "medium", "high", "critical"}
        assert finding["title"] and finding["message"] and finding["fix"]
        file_level = finding["rule_id"] in {"NRA000", "NRA004"}
        if entry["kind"] == "bad" and finding["rule_id"] == entry["rule"] and not file_level:
            assert isinstance(finding["line"], int) and finding["line"] >= 1, finding
