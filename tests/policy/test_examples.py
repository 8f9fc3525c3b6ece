"""End to end over policies/examples: Dockerfile -> facts -> bundle -> exactly the expected rule ids.

Each example in policies/examples/index.json names the exact set of rule ids that must
fire. The facts come from the real host-side normalizer; the bundle runs in the real
OPA binary and, in a subprocess (rego-cpp can crash), in regopy; both must agree.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from policy_paths import POLICIES

EXAMPLES = POLICIES / "examples"
INDEX = json.loads((EXAMPLES / "index.json").read_text(encoding="utf-8"))


def _facts(facts_module: Any, dockerfile: Path) -> dict[str, Any]:
    context = dockerfile.parent
    ignore = context / ".dockerignore"
    package = context / "package.json"
    return facts_module.dockerfile_facts(
        str(dockerfile),
        dockerfile.read_bytes(),
        ignore.read_bytes() if ignore.exists() else None,
        package.read_bytes() if package.exists() else None,
    )


@pytest.fixture(scope="module")
def batch_input(facts_module: Any) -> dict[str, Any]:
    docs = [_facts(facts_module, EXAMPLES / e["path"]) for e in INDEX["examples"]]
    return {"documents": docs, "evaluation_date": INDEX["evaluation_date"]}


@pytest.fixture(scope="module")
def opa_results(opa_bin: str, batch_input: dict[str, Any], tmp_path_factory) -> list[list[dict[str, Any]]]:
    path = tmp_path_factory.mktemp("examples") / "input.json"
    path.write_text(json.dumps(batch_input), encoding="utf-8")
    result = subprocess.run(
        [
            opa_bin,
            "eval",
            "--bundle",
            str(POLICIES),
            "--input",
            str(path),
            "--format",
            "json",
            "data.refarch.main.batch",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    value = json.loads(result.stdout)["result"][0]["expressions"][0]["value"]
    assert len(value) == len(INDEX["examples"])
    return value


def test_every_rule_has_good_and_bad_examples() -> None:
    kinds: dict[str, set[str]] = {}
    for example in INDEX["examples"]:
        kinds.setdefault(example["rule"], set()).add(example["kind"])
    dockerfile_rules = {f"NRA{n:03d}" for n in range(0, 15)}
    missing = {rule for rule in dockerfile_rules if kinds.get(rule) != {"good", "bad"}}
    assert not missing, f"rules without both good and bad examples: {sorted(missing)}"


@pytest.mark.parametrize("index", range(len(INDEX["examples"])), ids=[e["path"] for e in INDEX["examples"]])
def test_example_fires_exactly_the_expected_rules(index: int, opa_results: list[list[dict[str, Any]]]) -> None:
    example = INDEX["examples"][index]
    findings = opa_results[index]
    got = sorted({f["rule_id"] for f in findings})
    detail = "\n".join(f"  {f['rule_id']} line {f['line']}: {f['message']}" for f in findings)
    assert got == example["expect"], f"{example['path']}: expected {example['expect']}, got {got}\n{detail}"
    for rule, lines in example.get("lines", {}).items():
        assert sorted(f["line"] for f in findings if f["rule_id"] == rule) == lines, f"{example['path']}:\n{detail}"
    for finding in findings:
        assert finding["message"], "empty message"
        assert finding["line"] is None or isinstance(finding["line"], int)


_REGOPY = r"""
import json, sys
from pathlib import Path
import regopy
root = Path(sys.argv[1])
interp = regopy.Interpreter()
for path in sorted(root.rglob("*.rego")):
    if not path.name.endswith("_test.rego"):
        interp.add_module(str(path.relative_to(root)), path.read_text(encoding="utf-8"))
data = {"refarch": {name: json.loads((root / "refarch" / name / "data.json").read_text(encoding="utf-8"))
                    for name in ("config", "catalog")}}
interp.add_data_json(json.dumps(data))
interp.set_input_term(Path(sys.argv[2]).read_text(encoding="utf-8"))
out = json.loads(str(interp.query("data.refarch.main.batch")))
print(json.dumps(out["expressions"][0]))
"""


def test_regopy_agrees_with_opa(batch_input: dict[str, Any], opa_results: list[Any], tmp_path: Path) -> None:
    pytest.importorskip("regopy")
    path = tmp_path / "input.json"
    path.write_text(json.dumps(batch_input), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", _REGOPY, str(POLICIES), str(path)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, f"regopy failed ({result.returncode}):\n{result.stderr[-3000:]}"
    assert json.loads(result.stdout) == opa_results
