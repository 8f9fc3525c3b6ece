"""Facts on every real Dockerfile of ../shared/corpus: schema-valid, no exception, no secret leaks.

Also a differential check of the normaliser: facts built from BuildKit's own
parse (the ``dockerfile`` binding) equal facts built from the project's parser.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_facts import dockerfile_facts
from oracle_parser import binding_parse

REPO = Path(__file__).resolve().parents[4]
CORPUS = REPO.parent / "shared" / "corpus" / "cases"
SCHEMA = json.loads((REPO / "policies" / "schema" / "facts.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
CASES = sorted(p.name for p in CORPUS.iterdir()) if CORPUS.is_dir() else []
CANARIES = ("canary-env-a1b2c3", "canary-arg-d4e5f6", "canary-npmrc-0718aa", "canary-url-bb99cc",
            "canary-legacy-123abc", "canary-heredoc-456def")
_FROM_RE = re.compile(rb"^[ \t]*from[ \t]", re.I | re.M)


def _side(case: Path, name: str):
    p = case / name
    return p.read_bytes() if p.is_file() else None


def _facts(case: Path, data: bytes | None = None, **kw) -> dict:
    return dockerfile_facts(str(case / "Dockerfile"), data if data is not None else (case / "Dockerfile").read_bytes(),
                            _side(case, ".dockerignore"), _side(case, "package.json"), **kw)


@pytest.fixture(params=CASES or [None])
def case(request) -> Path:
    if request.param is None:
        pytest.skip(f"corpus not found at {CORPUS}")
    return CORPUS / request.param


def test_corpus_document_is_schema_valid(case):
    doc = _facts(case)
    errors = sorted(VALIDATOR.iter_errors(doc), key=str)
    assert not errors, f"{case.name}: {errors[0].message} at {list(errors[0].absolute_path)}"
    assert doc["error"] is None, doc["error"]
    assert doc["stages"] and doc["final_stage"]["index"] == len(doc["stages"]) - 1
    lines = {i["start_line"] for i in doc["instructions"]}
    fs = doc["final_stage"]
    for key, value in fs["instruction_lines"].items():
        for line in [value] if key == "from" else value:
            assert line in lines, (key, line)
    if (case / ".dockerignore").is_file():
        assert doc["dockerignore"]["exists"] and doc["dockerignore"]["error"] is None


def _inject_secrets(data: bytes) -> bytes:
    """Put canary secrets after every FROM line (ENV, legacy ENV, ARG, RUN with npmrc and URL, heredoc)."""
    eol = b"\r\n" if b"\r\n" in data else b"\n"
    lines = [
        b"ENV DB_PASSWORD=" + CANARIES[0].encode() + b" OTHER=1",
        b"ARG NPM_TOKEN=" + CANARIES[1].encode(),
        b"RUN echo //registry.npmjs.org/:_authToken=" + CANARIES[2].encode() + b" > .npmrc",
        b"RUN git clone https://bot:" + CANARIES[3].encode() + b"@git.example.com/x.git",
        b"ENV CLIENT_SECRET " + CANARIES[4].encode() + b" tail",
    ]
    block = eol.join(lines) + eol
    out = []
    pos = 0
    for m in _FROM_RE.finditer(data):
        end = data.find(b"\n", m.end())
        if end < 0:
            out.append(data[pos:] + eol)
            pos = len(data)
        else:
            out.append(data[pos:end + 1])
            pos = end + 1
        out.append(block)
    out.append(data[pos:])
    heredoc = (b"RUN <<EOF" + eol + b"echo _password=" + CANARIES[5].encode() + b" >> .npmrc" + eol + b"EOF" + eol)
    return b"".join(out) + eol + heredoc


def test_corpus_secrets_never_leak(case):
    data = _inject_secrets((case / "Dockerfile").read_bytes())
    doc = _facts(case, data)
    dumped = json.dumps(doc)
    for canary in CANARIES:
        assert canary not in dumped, f"{case.name}: {canary} leaked"
    assert not list(VALIDATOR.iter_errors(doc))
    fs = doc["final_stage"]
    assert fs["env"]["DB_PASSWORD"]["redacted"] is True


def test_facts_equal_from_buildkit_parse(case):
    data = (case / "Dockerfile").read_bytes()
    text = data.decode("utf-8-sig")
    try:
        oracle = binding_parse(text)
    except Exception as exc:  # BuildKit rejects the file: nothing to compare
        pytest.skip(f"BuildKit's parser rejects {case.name}: {exc}")
    ours = _facts(case)
    theirs = _facts(case, parsed=oracle)
    for key in ("problems", "pragmas"):  # depend on the project parser's problems/comments
        ours.pop(key)
        theirs.pop(key)
    assert ours == theirs
