"""Per-document bounds: the parser's size and instruction limits, the engine's time and memory limits.

Exceeding a parser bound is a problem on that document (the others are
unaffected); exceeding an engine bound ends the evaluation within the bound
with an ``EngineError`` whose cause names it, which ``policy_check`` turns into
a task failure (the evaluate role then reports the host ``failed``, never
compliant) instead of a hung or killed controller.
"""
from __future__ import annotations

import time

import pytest
from ansible.errors import AnsibleActionFail
from ansible_collections.refarch.containers.plugins.action.policy_check import run_policy_check
from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_facts import dockerfile_facts
from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_parser import parse, parse_bytes
from ansible_collections.refarch.containers.plugins.plugin_utils._bundle import load_bundle
from ansible_collections.refarch.containers.plugins.plugin_utils._engine_base import EngineError
from ansible_collections.refarch.containers.plugins.plugin_utils._engine_embedded import EmbeddedEngine

GOOD = "FROM node:22-bookworm-slim\nUSER node\nEXPOSE 80\nCMD npm start\n"


def test_parser_max_bytes(case):
    c = case("parser max_bytes exceeded", "problem too_large on that document; nothing parsed past the bound")
    text = "FROM node:20\n" + "RUN echo hello world\n" * 200
    res = parse(text, max_bytes=1000)
    codes = [p["code"] for p in res["problems"]]
    res_b = parse_bytes(text.encode(), max_bytes=1000)
    c.see(f"parse: problems={codes}, instructions={len(res['instructions'])}; parse_bytes: "
          f"{[p['code'] for p in res_b['problems']]}")
    assert "too_large" in codes and "too_large" in [p["code"] for p in res_b["problems"]]
    assert len(res["instructions"]) < 200


def test_parser_max_instructions(case):
    c = case("parser max_instructions exceeded", "problem too_many_instructions; instruction list cut at the bound")
    res = parse("FROM node:20\n" + "RUN true\n" * 50, max_instructions=10)
    codes = [p["code"] for p in res["problems"]]
    c.see(f"problems={codes}, instructions={len(res['instructions'])}")
    assert "too_many_instructions" in codes and len(res["instructions"]) <= 10


def _docs(n: int) -> list[dict]:
    # One facts document, copied n times under different paths: enough work (thousands of
    # documents) that the fast backend still runs into the bounds below.
    doc = dockerfile_facts("/srv/app/Dockerfile", GOOD.encode())
    return [dict(doc, path=f"/srv/app{i}/Dockerfile") for i in range(n)]


@pytest.fixture(scope="module")
def bundle():
    return load_bundle()


def test_engine_timeout_is_bounded(case, bundle):
    c = case("embedded engine beyond its timeout", "EngineError cause timeout, returned within timeout + a few s")
    engine = EmbeddedEngine(bundle, timeout=0.3)
    start = time.monotonic()
    with pytest.raises(EngineError) as err:
        engine.evaluate(_docs(4000), "2026-11-28")
    took = time.monotonic() - start
    c.see(f"cause={err.value.cause}, after {took:.1f}s: {err.value.message[:80]}")
    assert err.value.cause == "timeout"
    assert took < 10, f"the timeout did not bound the evaluation ({took:.1f}s)"


def test_engine_memory_is_bounded(case, bundle):
    c = case("embedded engine beyond its memory limit", "worker killed; EngineError cause memory (or crash)")
    engine = EmbeddedEngine(bundle, memory_mb=25, timeout=120)
    with pytest.raises(EngineError) as err:
        engine.evaluate(_docs(4000), "2026-11-28")
    c.see(f"cause={err.value.cause}: {err.value.message[:90]}")
    assert err.value.cause in ("memory", "crash")


def test_policy_check_turns_engine_bound_into_failure(case):
    c = case("policy_check with an engine bound exceeded", "task fails with the cause; no findings, never compliant")
    docs = _docs(4000)
    with pytest.raises(AnsibleActionFail) as err:
        run_policy_check({"facts": docs, "engine": "embedded", "engine_timeout": 0.3, "fail_on": "none",
                          "evaluation_date": "2026-11-28"}, "web1")
    c.see(str(err.value)[:110])
    assert "timeout" in str(err.value)
    ok = run_policy_check({"facts": docs[:2], "engine": "embedded", "fail_on": "none",
                           "evaluation_date": "2026-11-28"}, "web1")
    assert ok["findings"], "control: the same documents evaluate with the default bounds"
