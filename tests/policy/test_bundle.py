"""The policy bundle passes OPA's own gates: strict compile, tests with coverage, formatting and Regal."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from policy_paths import POLICIES, REPO

MIN_COVERAGE = 95.0


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=600, check=False)


def test_opa_check_strict_bundle(opa_bin: str) -> None:
    result = _run([opa_bin, "check", "--strict", "--bundle", str(POLICIES)])
    assert result.returncode == 0, f"opa check --strict failed:\n{result.stdout}{result.stderr}"


def test_opa_test_passes_with_coverage(opa_bin: str) -> None:
    # Bundle mode (-b): only data.json files are data, so JSON schemas and example
    # package.json files under policies/ are not loaded as policy data.
    result = _run([opa_bin, "test", "--bundle", str(POLICIES), "--coverage", "--format", "json"])
    assert result.returncode == 0, f"opa test failed:\n{result.stdout[-4000:]}{result.stderr}"
    report = json.loads(result.stdout)
    coverage = float(report["coverage"])
    print(f"rego coverage {coverage:.2f}%")
    assert coverage >= MIN_COVERAGE, f"coverage {coverage:.2f}% < {MIN_COVERAGE}%"


def test_opa_tests_fail_when_a_rule_is_broken(opa_bin: str, tmp_path) -> None:
    """The Rego tests can fail: a copy of the bundle with NRA001 disarmed must not pass."""
    copy = tmp_path / "policies"
    shutil.copytree(POLICIES, copy, ignore=shutil.ignore_patterns("examples", "schema"))
    rule = copy / "refarch/rules/nra001/nra001.rego"
    text = rule.read_text(encoding="utf-8")
    broken = text.replace(
        'findings(doc, ctx) := _dockerfile(doc, ctx) if doc.kind == "dockerfile"',
        'findings(doc, ctx) := set() if doc.kind == "dockerfile"',
    )
    assert broken != text, "NRA001 entry point not found; update this test"
    rule.write_text(broken, encoding="utf-8")
    result = _run([opa_bin, "test", "--bundle", str(copy), "--run", "nra001"])
    assert result.returncode != 0, "disarming NRA001 did not make its tests fail"


def test_opa_fmt_clean(opa_bin: str) -> None:
    result = _run([opa_bin, "fmt", "--list", str(POLICIES)])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"files need `opa fmt -w`:\n{result.stdout}"


def test_regal_lint_clean(regal_bin: str) -> None:
    result = _run([regal_bin, "lint", "--format", "json", str(POLICIES)])
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"regal did not produce a report:\n{result.stdout}{result.stderr}") from None
    violations = report.get("violations") or []
    listing = "\n".join(
        f"{v['location']['file']}:{v['location']['row']}: {v['category']}/{v['title']}: {v['description']}"
        for v in violations
    )
    assert result.returncode == 0 and not violations, f"regal lint found problems:\n{listing}{result.stderr}"


def test_catalog_in_sync() -> None:
    result = _run([sys.executable, str(REPO / "tools/gen_rule_catalog.py"), "--check"])
    assert result.returncode == 0, result.stderr


def test_rule_docs_in_sync() -> None:
    result = _run([sys.executable, str(REPO / "tools/gen_rule_docs.py"), "--check"])
    assert result.returncode == 0, result.stderr
