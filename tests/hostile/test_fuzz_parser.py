"""Fuzz the host-side parser and facts normalizer with hypothesis (coverage-guided shrinking, not atheris).

The budget comes from ``REFARCH_FUZZ_EXAMPLES`` (default 300 so ``make test``
stays fast; ``make fuzz`` sets 200000). Each example has a deadline, so a
pathological input that makes the parser slow is a failure that hypothesis
shrinks to a minimal Dockerfile. The properties: no exception, output
JSON-serializable, the facts document valid against ``facts.schema.json``,
and for the parser the contract's shape (problem codes from the documented
list, line spans inside the file).
"""
from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from pathlib import Path

import jsonschema
from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_facts import dockerfile_facts
from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_parser import parse, parse_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "unit" / "plugins" / "module_utils"))

import dockerfile_strategies as ds  # noqa: E402

EXAMPLES = int(os.environ.get("REFARCH_FUZZ_EXAMPLES", "300"))
SCHEMA = json.loads((REPO / "policies" / "schema" / "facts.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
PROBLEM_CODES = {
    "decode_error", "binary", "empty", "unknown_instruction", "unterminated_heredoc", "malformed_json",
    "missing_arguments", "no_from", "instruction_before_from", "too_large", "too_many_instructions",
    "invalid_directive", "syntax_error", "line_too_long", "parser_error",
}
SETTINGS = settings(max_examples=EXAMPLES, deadline=timedelta(seconds=2), derandomize=EXAMPLES <= 1000,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
                    database=None)

texts = st.one_of(ds.dockerfiles(), ds.soup_dockerfiles(), ds.unicode_dockerfiles(),
                  st.text(max_size=400), st.binary(max_size=400).map(lambda b: b.decode("latin-1")))
raw = st.one_of(st.binary(max_size=600), texts.map(lambda t: t.encode("utf-8", "surrogatepass")),
                st.tuples(texts, st.binary(max_size=8), texts).map(
                    lambda t: t[0].encode("utf-8", "surrogatepass") + t[1] + t[2].encode("utf-8", "surrogatepass")))


def _check_parse(result: dict, text_lines: int) -> None:
    json.dumps(result, allow_nan=False)
    assert set(result) >= {"directives", "escape", "instructions", "comments", "problems"}
    for problem in result["problems"]:
        assert problem["code"] in PROBLEM_CODES, problem
        assert problem["code"] != "parser_error", f"internal parser error: {problem}"
    for ins in result["instructions"]:
        assert 1 <= ins["start_line"] <= ins["end_line"] <= max(text_lines, 1) + 1, ins


@SETTINGS
@given(texts)
def test_fuzz_parse_text(case_record, text):
    result = parse(text)
    _check_parse(result, text.count("\n") + text.count("\r") + 1)


@SETTINGS
@given(raw)
def test_fuzz_parse_bytes(case_record, data):
    result = parse_bytes(data)
    _check_parse(result, data.count(b"\n") + data.count(b"\r") + 1)


@SETTINGS
@given(raw, st.one_of(st.none(), st.binary(max_size=200)), st.one_of(st.none(), st.binary(max_size=300)))
def test_fuzz_facts(case_record, data, dockerignore, package_json):
    doc = dockerfile_facts("/srv/app/Dockerfile", data, dockerignore, package_json)
    json.dumps(doc, allow_nan=False)
    errors = list(VALIDATOR.iter_errors(doc))
    assert not errors, f"not schema-valid: {errors[0].message} at {list(errors[0].path)}"
