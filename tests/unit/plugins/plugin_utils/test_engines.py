"""Engines: embedded (regorus and regopy backends, in a child process) and OPA (real server), on the fixture bundle."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from ansible_collections.refarch.containers.plugins.plugin_utils import _bundle
from ansible_collections.refarch.containers.plugins.plugin_utils._engine_base import EngineError, batches
from ansible_collections.refarch.containers.plugins.plugin_utils._engine_embedded import (
    MAX_WORKERS,
    WORKER,
    EmbeddedEngine,
)
from ansible_collections.refarch.containers.plugins.plugin_utils._engine_opa import OpaEngine
from opa_helpers import FIXTURES, FakeHttp, OpaServer, free_port, make_authz_bundle, make_tls

DATE = "2026-11-28"


@pytest.fixture(params=["regorus", "regopy"])
def backend(request) -> str:
    """Each embedded engine test runs on both backends (make setup installs both)."""
    return request.param


def fixture_bundle(*extra: str) -> _bundle.Bundle:
    return _bundle.load_bundle([str(FIXTURES / "bundle"), *[str(FIXTURES / e) for e in extra]],
                               include_default=False)


def make_docs(n: int) -> list[dict]:
    """Documents whose expected fixture findings follow from their content."""
    docs = []
    for i in range(n):
        uid = 0 if i % 3 == 0 else 1000 + i
        ports = [{"port": p, "line": 10 + k} for k, p in enumerate([80 + i, 8080, 22 if i % 2 else 3000])]
        docs.append({"final_stage": {"user": {"uid": uid, "name": "root" if uid == 0 else str(uid), "line": 5},
                                     "exposed_ports": ports}})
    return docs


def nested_lists(levels: int) -> list:
    """``[[[...]]]`` nested ``levels`` deep: deeper than the regorus backend reads (128)."""
    deep: list = []
    cursor = deep
    for _level in range(levels):
        cursor.append([])
        cursor = cursor[0]
    return deep


def expected(doc: dict, floor: int = 1024) -> list[tuple[str, int]]:
    out = []
    fs = doc["final_stage"]
    if fs["user"]["uid"] == 0:
        out.append(("FX001", fs["user"]["line"]))
    out += sorted(("FX002", p["line"]) for p in fs["exposed_ports"] if p["port"] < floor)
    return out


def keys(result: list[list[dict]]) -> list[list[tuple[str, int]]]:
    return [[(f["rule_id"], f["line"]) for f in doc] for doc in result]


# ---------------------------------------------------------------- bundle


def test_bundle_revision_and_content():
    b = fixture_bundle()
    assert b.manifest_revision == "fixture-1"
    assert b.revision.startswith("fixture-1+") and len(b.revision.split("+")[1]) == 12
    assert b.data["refarch"]["catalog"]["rules"]["FX001"]["severity"] == "high"
    assert all(not p.endswith("_test.rego") for p in b.modules)
    # the hash follows module texts, not file names
    assert _bundle.modules_hash(reversed(list(b.modules.values()))) == b.content_hash
    b2 = fixture_bundle("bad_syntax")
    assert b2.content_hash != b.content_hash


def test_bundle_missing_path_is_an_error(tmp_path):
    with pytest.raises(EngineError) as err:
        _bundle.load_bundle([str(tmp_path / "nope")], include_default=False)
    assert err.value.cause == "bundle" and "does not exist" in err.value.message
    with pytest.raises(EngineError, match="no Rego modules"):
        _bundle.load_bundle([str(tmp_path)], include_default=False)


def test_bundle_invalid_data_json(tmp_path):
    (tmp_path / "p.rego").write_text("package refarch.x\n\nimport rego.v1\n\na := 1\n")
    (tmp_path / "refarch").mkdir()
    (tmp_path / "refarch" / "data.json").write_text("{not json")
    with pytest.raises(EngineError, match="invalid data file"):
        _bundle.load_bundle([str(tmp_path)], include_default=False)


def test_batches_split():
    assert batches(list(range(5)), 2) == [[0, 1], [2, 3], [4]]
    assert batches(list(range(5)), None) == [list(range(5))]
    assert batches([], 3) == []


def _marker_line(path: Path) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if "SYNTAX-ERROR-HERE" in line)


def test_user_policy_syntax_error_names_file_and_line_with_opa_check(opa_bin):
    broken = FIXTURES / "bad_syntax" / "broken.rego"
    with pytest.raises(EngineError) as err:
        _bundle.validate_paths([str(FIXTURES / "bundle"), str(FIXTURES / "bad_syntax")], opa_bin)
    assert err.value.cause == "policy_syntax"
    assert f"broken.rego:{_marker_line(broken)}:" in err.value.message


# ---------------------------------------------------------------- embedded


@pytest.mark.parametrize("batch_size", [None, 1, 4])
def test_embedded_findings_follow_the_documents(batch_size, backend):
    docs = make_docs(9)
    engine = EmbeddedEngine(backend=backend, bundle=fixture_bundle(), batch_size=batch_size)
    result = engine.evaluate(docs, DATE, {})
    assert keys(result) == [expected(d) for d in docs]
    assert engine.stats["batches"] == len(batches(docs, batch_size))
    first = result[0][0]
    assert first["severity"] == "high" and first["fix"] == "add_non_root_user" and "DL3002" in first["related"]


def test_embedded_workers_share_the_documents_in_order(backend):
    docs = make_docs(60)
    engine = EmbeddedEngine(backend=backend, bundle=fixture_bundle(), workers=3)
    assert keys(engine.evaluate(docs, DATE, {})) == [expected(d) for d in docs]
    assert engine.stats["workers"] == 3 and engine.stats["batches"] == 3 and engine.stats["backend"] == backend
    # with batch_size the batches are shared out whole, still in order
    engine = EmbeddedEngine(backend=backend, bundle=fixture_bundle(), workers=2, batch_size=7)
    assert keys(engine.evaluate(docs, DATE, {})) == [expected(d) for d in docs]
    assert engine.stats["workers"] == 2 and engine.stats["batches"] == 9


def test_embedded_worker_count():
    engine = EmbeddedEngine(bundle=fixture_bundle())
    assert engine.worker_count(5) == 1  # a handful of documents does not repay a second worker
    assert 1 <= engine.worker_count(10_000) <= MAX_WORKERS
    assert EmbeddedEngine(bundle=fixture_bundle(), workers=8).worker_count(3) == 3
    with pytest.raises(EngineError) as err:
        EmbeddedEngine(bundle=fixture_bundle(), workers=-1)
    assert err.value.cause == "config"


def _failed(result: list[list[dict]]) -> list[int]:
    """Indexes of the documents the engine reported as failed (their one NRA000 finding)."""
    out = []
    for i, findings in enumerate(result):
        if any(f.get("engine_failure") for f in findings):
            assert [f["rule_id"] for f in findings] == ["NRA000"] and findings[0]["severity"] == "high"
            assert "not compliant" in findings[0]["message"] and findings[0]["advisory"] is False
            out.append(i)
    return out


def test_embedded_failure_in_one_workers_share_fails_that_document_only():
    """One document regorus cannot read, in the last of three shares: an NRA000 for it, the rest evaluated."""
    docs = make_docs(60)
    deep = nested_lists(300)
    docs[50]["extra"] = deep
    engine = EmbeddedEngine(bundle=fixture_bundle(), backend="regorus", workers=3)
    result = engine.evaluate(docs, DATE)
    assert _failed(result) == [50] and engine.stats["engine_failures"] == 1
    assert "nests deeper than the regorus backend reads" in result[50][0]["message"]
    assert result[50][0]["engine_failure"] == "eval_error"
    assert keys(result[:50] + result[51:]) == [expected(d) for d in docs[:50] + docs[51:]]


DOC_ERROR = FIXTURES / "doc_error_bundle"


def _boom_docs() -> list[dict]:
    docs = [{"n": i} for i in range(30)]
    docs[4]["boom"] = 0
    docs[29]["boom"] = 0
    return docs


@pytest.mark.parametrize("strict", [True, False])
def test_embedded_document_that_breaks_the_evaluation_is_evaluated_alone(backend, strict):
    """A real evaluation error on two documents (division by zero; a missing array element when not strict)."""
    engine = EmbeddedEngine(_bundle.load_bundle([str(DOC_ERROR)], include_default=False), backend=backend,
                            strict=strict)
    result = engine.evaluate(_boom_docs(), DATE)
    assert _failed(result) == [4, 29]
    assert all(r == [{"rule_id": "FX001", "line": 10, "message": "evaluated"}]
               for i, r in enumerate(result) if i not in (4, 29))


def test_opa_document_that_breaks_the_evaluation_is_evaluated_alone(opa_bin, backend):
    """The same documents through a real OPA server: the same documents fail, the others agree with embedded."""
    server = OpaServer(opa_bin, [str(DOC_ERROR)])
    try:
        bundle = _bundle.load_bundle([str(DOC_ERROR)], include_default=False)
        for strict in (True, False):
            opa = OpaEngine(bundle, server.url, strict=strict, batch_size=8).evaluate(_boom_docs(), DATE)
            embedded = EmbeddedEngine(bundle, backend=backend, strict=strict).evaluate(_boom_docs(), DATE)
            assert _failed(opa) == _failed(embedded) == [4, 29]
            assert [r for i, r in enumerate(opa) if i not in (4, 29)] == [
                r for i, r in enumerate(embedded) if i not in (4, 29)]
    finally:
        server.stop()


def test_document_that_cannot_be_sent_is_evaluated_alone(backend, fixture_server):
    """A document nested deeper than JSON encoding goes: an NRA000 for it on every engine, the rest evaluated."""
    docs = make_docs(5)
    docs[2]["extra"] = nested_lists(50_000)
    for engine in (EmbeddedEngine(fixture_bundle(), backend=backend), OpaEngine(fixture_bundle(), fixture_server.url)):
        result = engine.evaluate(docs, DATE)
        assert _failed(result) == [2] and "cannot be sent" in result[2][0]["message"], engine.name
        assert keys(result[:2] + result[3:]) == [expected(d) for d in docs[:2] + docs[3:]]


def test_line_separators_inside_strings_do_not_break_the_worker_protocol(backend):
    """U+2028, U+2029 and U+0085 in a value that comes back in a finding: one result per document, intact."""
    docs = make_docs(3)
    docs[0]["final_stage"]["user"]["name"] = "a\u2028b\u2029c\x85d\ne"
    result = EmbeddedEngine(fixture_bundle(), backend=backend).evaluate(docs, DATE)
    assert keys(result) == [expected(d) for d in docs] and not _failed(result)
    assert result[0][0]["message"] == "final stage runs as a\u2028b\u2029c\x85d\ne"


def test_embedded_config_override_reaches_the_policy(backend):
    docs = make_docs(4)
    result = EmbeddedEngine(backend=backend, bundle=fixture_bundle()).evaluate(docs, DATE, {"port_floor": 100})
    assert keys(result) == [expected(d, 100) for d in docs]


def test_embedded_no_documents(backend):
    assert EmbeddedEngine(backend=backend, bundle=fixture_bundle()).evaluate([], DATE) == []


def test_embedded_undefined_is_an_error(backend):
    b = _bundle.load_bundle([str(FIXTURES / "undefined_bundle")], include_default=False)
    with pytest.raises(EngineError) as err:
        EmbeddedEngine(backend=backend, bundle=b).evaluate(make_docs(2), DATE)
    assert err.value.cause == "undefined"
    assert "data.refarch.main.batch is undefined" in err.value.message


def test_embedded_builtin_error_is_an_error(backend):
    b = _bundle.load_bundle([str(FIXTURES / "error_bundle")], include_default=False)
    with pytest.raises(EngineError) as err:
        EmbeddedEngine(backend=backend, bundle=b, strict=True).evaluate(make_docs(2), DATE)
    assert err.value.cause == "eval_error" and "divide by zero" in err.value.message
    # Without strict errors the compiled query either raises or (OPA's default semantics) drops
    # the element; the short array is then caught as a bad result. Never "no findings".
    with pytest.raises(EngineError) as err:
        EmbeddedEngine(backend=backend, bundle=b).evaluate(make_docs(2), DATE)
    assert err.value.cause in ("bad_result", "eval_error")


def test_embedded_segfault_is_a_clear_error_not_a_dead_worker():
    # regopy 1.5.2 dies on a builtin evaluated under `with input as` (SIGSEGV when queried,
    # SIGABRT from an uncaught C++ exception when the query is compiled).
    with pytest.raises(EngineError) as err:
        EmbeddedEngine(fixture_bundle("crash_policy"), backend="regopy").evaluate(make_docs(2), DATE)
    assert err.value.cause == "crash" and ("SIGSEGV" in err.value.message or "SIGABRT" in err.value.message)
    assert "(regopy) crashed" in err.value.message
    # this process is still alive and the engine works again with a sane bundle
    assert keys(EmbeddedEngine(fixture_bundle()).evaluate(make_docs(1), DATE)) == [expected(make_docs(1)[0])]


def test_embedded_syntax_error_names_file_and_line_without_opa(backend):
    broken = FIXTURES / "bad_syntax" / "broken.rego"
    with pytest.raises(EngineError) as err:
        EmbeddedEngine(backend=backend, bundle=fixture_bundle("bad_syntax")).evaluate(make_docs(1), DATE)
    assert err.value.cause == "bundle"
    assert f"broken.rego:{_marker_line(broken)}:" in err.value.message


def test_embedded_killed_worker(tmp_path):
    # A "python" that is killed by SIGKILL as soon as it starts.
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\nkill -9 $$\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    with pytest.raises(EngineError) as err:
        EmbeddedEngine(fixture_bundle(), python=str(fake)).evaluate(make_docs(1), DATE)
    assert err.value.cause == "crash" and "SIGKILL" in err.value.message


def test_embedded_worker_garbage_output(tmp_path):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\ncat >/dev/null\necho 'not json'\nexit 0\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    with pytest.raises(EngineError) as err:
        EmbeddedEngine(fixture_bundle(), python=str(fake)).evaluate(make_docs(1), DATE)
    assert err.value.cause == "crash"


def test_embedded_timeout(backend):
    with pytest.raises(EngineError) as err:
        EmbeddedEngine(backend=backend, bundle=fixture_bundle(), timeout=0.001).evaluate(make_docs(2), DATE)
    assert err.value.cause == "timeout" and "did not finish" in err.value.message


def test_embedded_memory_bound(backend):
    with pytest.raises(EngineError) as err:
        EmbeddedEngine(backend=backend, bundle=fixture_bundle(), memory_mb=1).evaluate(make_docs(2), DATE)
    assert err.value.cause == "memory" and "1 MiB" in err.value.message


def test_embedded_backend_auto_prefers_regorus_and_reports_it():
    engine = EmbeddedEngine(fixture_bundle())
    assert keys(engine.evaluate(make_docs(3), DATE)) == [expected(d) for d in make_docs(3)]
    assert engine.stats["backend"] == "regorus"
    forced = EmbeddedEngine(fixture_bundle(), backend="regopy")
    forced.evaluate(make_docs(1), DATE)
    assert forced.stats["backend"] == "regopy"
    with pytest.raises(EngineError) as err:
        EmbeddedEngine(fixture_bundle(), backend="rust")
    assert err.value.cause == "config" and "auto, regorus, regopy" in err.value.message


def test_embedded_backend_reports_its_version_and_the_slow_fallback(tmp_path):
    from importlib import metadata  # noqa: PLC0415

    import refarch_regorus  # noqa: PLC0415 - what make setup built
    fast = EmbeddedEngine(fixture_bundle())
    fast.evaluate(make_docs(2), DATE)
    assert fast.stats["backend_version"] == refarch_regorus.regorus_version()
    assert "backend_fallback" not in fast.stats
    chosen = EmbeddedEngine(fixture_bundle(), backend="regopy")
    chosen.evaluate(make_docs(1), DATE)
    assert chosen.stats["backend_version"] == metadata.version("regopy")
    assert "backend_fallback" not in chosen.stats, "regopy chosen on purpose is no fallback"
    # A controller where the regorus binding is not importable (no wheel installed): auto takes regopy
    # and says why, so that every report can warn about the slow backend.
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "refarch_regorus.py").write_text("raise ImportError('no refarch_regorus wheel here')\n")
    python = tmp_path / "python"
    python.write_text(f"#!/bin/sh\nPYTHONPATH={shadow} exec {sys.executable} \"$@\"\n")
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    slow = EmbeddedEngine(fixture_bundle(), python=str(python))
    assert keys(slow.evaluate(make_docs(3), DATE)) == [expected(d) for d in make_docs(3)]
    assert slow.stats["backend"] == "regopy"
    assert "no refarch_regorus wheel here" in slow.stats["backend_fallback"]


def test_embedded_backend_missing_library_is_named(tmp_path):
    # A Python that has neither library (no site-packages): the worker names what it tried.
    bare = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
    env_python = tmp_path / "python"
    env_python.write_text(f"#!/bin/sh\nexec {bare} -I -S \"$@\"\n")
    env_python.chmod(env_python.stat().st_mode | stat.S_IEXEC)
    with pytest.raises(EngineError) as err:
        EmbeddedEngine(fixture_bundle(), backend="regorus", python=str(env_python)).evaluate(make_docs(1), DATE)
    assert err.value.cause == "missing_library" and "refarch_regorus" in err.value.message
    with pytest.raises(EngineError) as err:
        EmbeddedEngine(fixture_bundle(), python=str(env_python)).evaluate(make_docs(1), DATE)
    assert err.value.cause == "missing_library" and "refarch_regorus" in err.value.message
    assert "regopy" in err.value.message


def test_regorus_deeply_nested_input_is_a_named_error_not_a_pass():
    docs = make_docs(2)
    deep = nested_lists(300)
    docs[1]["extra"] = deep
    result = EmbeddedEngine(fixture_bundle(), backend="regorus").evaluate(docs, DATE)
    assert _failed(result) == [1] and "nests deeper than the regorus backend reads" in result[1][0]["message"]
    assert keys(result[:1]) == [expected(docs[0])]
    # every document failing (and the empty probe evaluating) is still per document, not a pass
    result = EmbeddedEngine(fixture_bundle(), backend="regorus").evaluate(docs[1:], DATE)
    assert _failed(result) == [0]
    # the regopy backend reads it
    assert keys(EmbeddedEngine(fixture_bundle(), backend="regopy").evaluate(docs, DATE)) == [
        expected(d) for d in docs]


def test_worker_rejects_bad_request():
    proc = subprocess.run([sys.executable, WORKER, "0"], input="{broken", capture_output=True, text=True,
                          timeout=60, check=False)
    event = json.loads(proc.stdout.splitlines()[-1])
    assert proc.returncode != 0 and event["event"] == "error" and event["cause"] == "bad_request"


@pytest.mark.parametrize(("body", "why"), [
    ('{"documents": []}\n', "ends after 1 of 2 inputs"),  # a request cut short is not evaluated in part
    ('{"documents": []}\n{"documents": []}', "ends after 1 of 2 inputs"),  # the last line unterminated
    ('{"documents": []}\n{"documents": []}\n{}\n', "more than 2 inputs"),
])
def test_worker_rejects_a_request_without_its_counted_inputs(body, why):
    # The inputs are read as they are evaluated: the first one is, then the request is found short.
    header = json.dumps({"modules": {"p.rego": "package refarch.main\n\nbatch := []\n"}, "data": {},
                         "query": "data.refarch.main.batch", "count": 2})
    proc = subprocess.run([sys.executable, WORKER, "0"], input=header + "\n" + body, capture_output=True,
                          text=True, timeout=60, check=False)
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode != 0 and events[-1]["cause"] == "bad_request" and why in events[-1]["message"], events
    assert not any(e["event"] == "done" for e in events)


# ---------------------------------------------------------------- OPA (real server)


def test_opa_preloaded_agrees_with_embedded(fixture_server, backend, opa_bin):
    docs = make_docs(7)
    bundle = fixture_bundle()
    embedded = EmbeddedEngine(backend=backend, bundle=bundle).evaluate(docs, DATE, {})
    engine = OpaEngine(bundle, fixture_server.url, batch_size=3)
    assert engine.evaluate(docs, DATE, {}) == embedded
    assert engine.policy_revision == bundle.revision
    assert engine.stats["batches"] == 3
    # the server's own version (its Config API), as `opa version` of the same binary prints it
    printed = subprocess.run([opa_bin, "version"], capture_output=True, text=True, check=True).stdout
    assert f"Version: {engine.stats['backend_version']}\n" in printed and engine.stats["backend"] == "opa"


def test_opa_push_mode_is_idempotent(empty_server):
    docs = make_docs(5)
    bundle = fixture_bundle()
    first = OpaEngine(bundle, empty_server.url, mode="push")
    result = first.evaluate(docs, DATE, {"port_floor": 100})
    assert first.stats["pushed"] is True
    assert keys(result) == [expected(d, 100) for d in docs]
    second = OpaEngine(bundle, empty_server.url, mode="push")
    assert second.evaluate(docs, DATE, {"port_floor": 100}) == result
    assert second.stats["pushed"] is False
    assert second.policy_revision == bundle.revision


def test_opa_revision_mismatch_is_refused(fixture_server):
    other = _bundle.load_bundle([str(FIXTURES / "undefined_bundle")], include_default=False)
    with pytest.raises(EngineError) as err:
        OpaEngine(other, fixture_server.url).evaluate(make_docs(1), DATE)
    assert err.value.cause == "revision"
    assert other.revision in err.value.message and "fixture-1+" in err.value.message


def test_opa_undefined_is_an_error(opa_bin):
    server = OpaServer(opa_bin, [str(FIXTURES / "undefined_bundle")])
    try:
        b = _bundle.load_bundle([str(FIXTURES / "undefined_bundle")], include_default=False)
        with pytest.raises(EngineError) as err:
            OpaEngine(b, server.url).evaluate(make_docs(2), DATE)
        assert err.value.cause == "undefined"
    finally:
        server.stop()


def test_opa_builtin_error_is_an_error(opa_bin):
    server = OpaServer(opa_bin, [str(FIXTURES / "error_bundle")])
    try:
        b = _bundle.load_bundle([str(FIXTURES / "error_bundle")], include_default=False)
        with pytest.raises(EngineError) as err:
            OpaEngine(b, server.url, strict=True).evaluate(make_docs(2), DATE)
        assert err.value.cause == "eval_error" and "divide by zero" in err.value.message
        with pytest.raises(EngineError) as err:
            OpaEngine(b, server.url).evaluate(make_docs(2), DATE)
        assert err.value.cause == "bad_result"
    finally:
        server.stop()


def test_opa_push_of_a_broken_user_policy_names_file_and_line(empty_server):
    broken = FIXTURES / "bad_syntax" / "broken.rego"
    with pytest.raises(EngineError) as err:
        OpaEngine(fixture_bundle("bad_syntax"), empty_server.url, mode="push").evaluate(make_docs(1), DATE)
    assert err.value.cause == "policy_syntax"
    assert f"broken.rego:{_marker_line(broken)}:" in err.value.message


def test_opa_connection_refused():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(EngineError) as err:
        OpaEngine(fixture_bundle(), url, retries=2, backoff=0.01).evaluate(make_docs(1), DATE)
    assert err.value.cause == "connection"
    assert "connection refused" in err.value.message and "3 attempt(s)" in err.value.message


def test_opa_http_500_fake_server():
    # FAKE server: a real OPA cannot be made to answer 500 for a healthy request.
    fake = FakeHttp(status=500, body=b'{"code":"internal_error","message":"boom"}')
    try:
        with pytest.raises(EngineError) as err:
            OpaEngine(fixture_bundle(), fake.url, retries=2, backoff=0.01,
                      check_revision=False).evaluate(make_docs(1), DATE)
        assert err.value.cause == "http" and "HTTP 500" in err.value.message and "boom" in err.value.message
        assert len(fake.requests) == 1  # a 500 is not retried
    finally:
        fake.stop()


def test_opa_http_503_is_retried_a_bounded_number_of_times():
    # FAKE server: a real OPA does not answer 503.
    fake = FakeHttp(status=503, body=b'{"message":"unavailable"}')
    try:
        with pytest.raises(EngineError) as err:
            OpaEngine(fixture_bundle(), fake.url, retries=2, backoff=0.01, token="s3cr3t",
                      check_revision=False).evaluate(make_docs(1), DATE)
        assert "HTTP 503" in err.value.message and "after 2 retries" in err.value.message
        assert len(fake.requests) == 3
        assert all(r["authorization"] == "Bearer s3cr3t" for r in fake.requests)
    finally:
        fake.stop()


def test_opa_slow_server_times_out():
    # FAKE server: answers after 2 s, the client waits 0.2 s.
    fake = FakeHttp(status=200, delay=2.0, body=b'{"result": [[]]}')
    try:
        with pytest.raises(EngineError) as err:
            OpaEngine(fixture_bundle(), fake.url, timeout=0.2, retries=1, backoff=0.01,
                      check_revision=False).evaluate(make_docs(1), DATE)
        assert err.value.cause == "timeout" and "2 attempt(s)" in err.value.message
    finally:
        fake.stop()


def test_opa_bad_result_shape_is_an_error():
    # FAKE server returning a result that is not one array per document, whatever it is asked (the empty
    # probe gets three arrays too): the engine's answer, not the documents'.
    fake = FakeHttp(status=200, body=b'{"result": [[], [], []]}')
    try:
        with pytest.raises(EngineError) as err:
            OpaEngine(fixture_bundle(), fake.url, check_revision=False).evaluate(make_docs(2), DATE)
        assert err.value.cause == "bad_result"
        # the batch, then the probe; no document alone
        assert sum(1 for r in fake.requests if r["method"] == "POST") == 2
    finally:
        fake.stop()


def test_opa_config_errors():
    with pytest.raises(EngineError, match="opa_url"):
        OpaEngine(fixture_bundle(), "ftp://x")
    with pytest.raises(EngineError, match="mode"):
        OpaEngine(fixture_bundle(), "http://127.0.0.1:1", mode="bogus")


def test_opa_url_prefix_and_tls_settings():
    engine = OpaEngine(fixture_bundle(), "https://opa.example.invalid:9443/opa", validate_certs=False)
    assert engine.client.root_url == "https://opa.example.invalid:9443/opa/v1"
    assert engine.client._session.verify is False
    ca = os.devnull
    engine = OpaEngine(fixture_bundle(), "https://opa.example.invalid", ca_file=ca)
    assert engine.client._session.verify == ca


def test_opa_tls_custom_ca_and_token(opa_bin, tmp_path, backend):
    """Real OPA over HTTPS (throw-away CA) with token authentication and basic authorization."""
    if not shutil.which("openssl"):
        pytest.skip("openssl CLI not available to make a test CA")
    tls = make_tls(tmp_path)
    authz = make_authz_bundle(tmp_path, "t0ken")
    server = OpaServer(opa_bin, [str(FIXTURES / "bundle"), authz], tls=tls,
                       extra=["--authentication=token", "--authorization=basic"])
    docs = make_docs(3)
    want = EmbeddedEngine(backend=backend, bundle=fixture_bundle()).evaluate(docs, DATE)
    both = _bundle.load_bundle([str(FIXTURES / "bundle"), authz], include_default=False)
    try:
        # two bundles on the server, the same two locally: the revision check passes
        ok = OpaEngine(both, server.url, token="t0ken", ca_file=tls[2])
        assert ok.evaluate(docs, DATE) == want
        assert ok.policy_revision == both.revision
        insecure = OpaEngine(fixture_bundle(), server.url, token="t0ken", validate_certs=False,
                             check_revision=False)
        assert insecure.evaluate(docs, DATE) == want
        with pytest.raises(EngineError) as err:
            OpaEngine(fixture_bundle(), server.url, token="t0ken", retries=0,
                      check_revision=False).evaluate(docs, DATE)
        assert err.value.cause == "tls"
        with pytest.raises(EngineError) as err:
            OpaEngine(fixture_bundle(), server.url, token="wrong", ca_file=tls[2], retries=0,
                      check_revision=False).evaluate(docs, DATE)
        assert err.value.cause == "http" and "401" in err.value.message and "opa_token" in err.value.message
    finally:
        server.stop()


def test_non_ascii_text_survives_both_engines(fixture_server, backend):
    name = "r\u00f6\u00f6t \U0001f600 \"q\" \\ \t"
    docs = [{"final_stage": {"user": {"uid": 0, "name": name, "line": 2}, "exposed_ports": []}}]
    embedded = EmbeddedEngine(backend=backend, bundle=fixture_bundle()).evaluate(docs, DATE)
    assert embedded[0][0]["message"] == f"final stage runs as {name}"
    assert OpaEngine(fixture_bundle(), fixture_server.url).evaluate(docs, DATE) == embedded


@pytest.mark.parametrize("workdir, fires", [("/\u00e4pp/\u00f6\u00fc\u00e9", False),
                                            ("/\u00e4pp/\u00f6\u00fc\u00e9x", True), ("/srv/app/x", True)])
def test_non_ascii_text_is_counted_and_compared_as_characters(fixture_server, backend, workdir, fires):
    """count and == on non-ASCII input: the same characters on every engine (regopy was sent \\u escapes)."""
    docs = [{"final_stage": {"user": {"uid": 1000, "name": "app", "line": 2}, "exposed_ports": [], "workdir": workdir}}]
    for config in ({}, {"flag_workdir": "/\u00e4pp/\u00f6\u00fc\u00e9"}):
        embedded = EmbeddedEngine(backend=backend, bundle=fixture_bundle()).evaluate(docs, DATE, config)
        assert OpaEngine(fixture_bundle(), fixture_server.url).evaluate(docs, DATE, config) == embedded
        flagged = fires or workdir == config.get("flag_workdir")
        assert [f["message"] for f in embedded[0]] == ([f"WORKDIR {workdir} has {len(workdir)} characters"]
                                                       if flagged else [])


@pytest.mark.parametrize("split", [True, False])
def test_embedded_findings_do_not_depend_on_the_other_documents(split, backend):
    docs = make_docs(6)
    together = EmbeddedEngine(backend=backend, bundle=fixture_bundle(), split=split).evaluate(docs, DATE)
    alone = [EmbeddedEngine(backend=backend, bundle=fixture_bundle(), split=split).evaluate([d], DATE)[0]
             for d in docs[:3]]
    assert together[:3] == alone
    assert keys(together) == [expected(d) for d in docs]
