"""The OPA server failing under the ``opa`` engine: killed mid-scan, too slow, HTTP 500/502, wrong bundle.

Real OPA (``opa run --server``) for the kill and the revision cases; for 500s
and slowness a stdlib HTTP server, labelled as a fake (``opa_helpers.FakeHttp``), that only
answers with errors or late. Engine level: the evaluation raises an
``EngineError`` naming the cause after a bounded number of attempts (counted
on the fake). Playbook level: ``refarch.containers.scan`` over a real SSH host
with ``refarch_engine: opa`` writes the estate report with that host
``failed`` (message with the cause) and no target counted compliant.
"""
from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ansible_collections.refarch.containers.plugins.module_utils._facts import dockerfile_facts
from ansible_collections.refarch.containers.plugins.plugin_utils._bundle import load_bundle
from ansible_collections.refarch.containers.plugins.plugin_utils._engine_base import EngineError
from ansible_collections.refarch.containers.plugins.plugin_utils._engine_opa import OpaEngine

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "tests" / "hostile"))
sys.path.insert(0, str(REPO / "tests" / "unit" / "plugins" / "plugin_utils"))

from estate_fixtures import root_estate  # noqa: E402
from opa_helpers import FakeHttp, OpaServer, opa_binary  # noqa: E402
from playrun import run_playbook  # noqa: E402

DOCKERFILE = "FROM node:22-bookworm-slim\nUSER node\nCMD [\"node\", \"server.js\"]\n"


def _fake(mode: str, delay: float = 3.0) -> FakeHttp:
    """FAKE OPA (stdlib HTTP server, see opa_helpers.FakeHttp): an error status, or an answer that comes too late."""
    if mode == "slow":
        return FakeHttp(status=200, delay=delay, body=b'{"result": []}')
    return FakeHttp(status=int(mode))


def start_opa(bundle_dir: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """A real OPA server (opa_helpers.OpaServer) serving bundle_dir; ``log`` is kept for the call sites."""
    del log
    binary = opa_binary()
    if not binary:
        pytest.fail("OPA binary not found: run `make setup` (installs it under .tools/bin)")
    server = OpaServer(binary, bundles=[str(bundle_dir)], extra=["--skip-version-check", "--log-level", "error"])
    return server.proc, server.url


def other_bundle(tmp: Path) -> Path:
    """A copy of the bundle whose policy modules differ (a changed comment): another revision."""
    dest = tmp / "policies"
    shutil.copytree(REPO / "policies", dest, ignore=shutil.ignore_patterns("examples", "*_test.rego"))
    rego = sorted((dest / "refarch" / "main").glob("*.rego"))[0]
    rego.write_text(rego.read_text() + "\n# served by a different deployment\n")
    return dest


@pytest.fixture(scope="module")
def bundle():
    return load_bundle()


def _docs(n: int = 4) -> list[dict]:
    return [dockerfile_facts(f"/srv/app{i}/Dockerfile", DOCKERFILE.encode()) for i in range(n)]


@pytest.mark.parametrize("mode", ["500", "502", "slow"])
def test_engine_against_failing_server(case, bundle, mode):
    retries = 2
    labels = {"500": "OPA answering HTTP 500 (fake server)", "502": "OPA answering HTTP 502 (fake server)",
              "slow": "OPA slower than opa_timeout (fake server)"}
    c = case(labels[mode], "EngineError naming the cause; attempts bounded by retries (500: not retried)")
    fake = _fake(mode, delay=2.0)
    try:
        engine = OpaEngine(bundle, fake.url, timeout=0.5, retries=retries, backoff=0.05)
        start = time.monotonic()
        with pytest.raises(EngineError) as err:
            engine.evaluate(_docs(), "2026-11-28")
        took = time.monotonic() - start
    finally:
        fake.stop()
    c.see(f"cause={err.value.cause}, {len(fake.requests)} request(s), {took:.1f}s: {err.value.message[:70]!r}")
    expected_cause = {"500": "http", "502": "http", "slow": "timeout"}[mode]
    assert err.value.cause == expected_cause
    assert len(fake.requests) == (1 if mode == "500" else retries + 1)


def test_engine_server_killed_mid_scan(case, bundle, tmp_path):
    c = case("OPA server killed mid-scan (after the first batch)",
             "EngineError cause connection after bounded retries; no partial result returned")
    proc, url = start_opa(REPO / "policies", tmp_path / "opa.log")
    try:
        engine = OpaEngine(bundle, url, timeout=2, retries=2, backoff=0.05, batch_size=1)
        real = engine.client.query_rule
        calls = []

        def query_then_kill(*args, **kwargs):
            out = real(*args, **kwargs)
            calls.append(1)
            if len(calls) == 1:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)
            return out

        engine.client.query_rule = query_then_kill
        start = time.monotonic()
        with pytest.raises(EngineError) as err:
            engine.evaluate(_docs(4), "2026-11-28")
        took = time.monotonic() - start
    finally:
        if proc.poll() is None:
            proc.kill()
    c.see(f"cause={err.value.cause} after {len(calls)} good batch(es), {took:.1f}s")
    assert err.value.cause == "connection" and len(calls) == 1
    assert took < 30


def test_engine_different_revision(case, bundle, tmp_path):
    c = case("OPA serving a different bundle revision", "EngineError cause revision; nothing evaluated")
    proc, url = start_opa(other_bundle(tmp_path), tmp_path / "opa.log")
    try:
        engine = OpaEngine(bundle, url, timeout=5, retries=0)
        with pytest.raises(EngineError) as err:
            engine.evaluate(_docs(), "2026-11-28")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    c.see(f"cause={err.value.cause}: {err.value.message[:90]!r}")
    assert err.value.cause == "revision"


@pytest.fixture(scope="module")
def estate(tmp_path_factory):
    work = tmp_path_factory.mktemp("opa-faults")
    with root_estate("refarch-opafault-") as ssh:
        host = ssh.add_host("app1")
        for name in ("good", "bad"):
            (host.root / "srv" / name).mkdir(parents=True)
        (host.root / "srv" / "good" / "Dockerfile").write_text(DOCKERFILE)
        (host.root / "srv" / "bad" / "Dockerfile").write_text("FROM node:latest\nCMD npm start\n")
        inventory = ssh.write_inventory(work / "inventory.json",
                                        {"refarch_scan_paths": ["{{ refarch_host_root }}/srv"]})
        yield work, inventory


def _scan(estate, name: str, url: str) -> tuple[dict, str]:
    work, inventory = estate
    run_dir = work / name
    run_dir.mkdir()
    run = run_playbook("refarch.containers.scan", inventory, run_dir, timeout=300, extra_vars={
        "refarch_engine": "opa", "refarch_opa_url": url, "refarch_opa_timeout": 1,
        "refarch_report_dir": str(run_dir / "report"), "refarch_evaluation_date": "2026-11-28"})
    path = run_dir / "report" / "report.json"
    assert path.is_file(), f"no report.json (rc={run.returncode}):\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}"
    return json.loads(path.read_text()), run.stdout


@pytest.mark.integration
@pytest.mark.parametrize("fault", ["HTTP 500 (fake server)", "slow (fake server)", "server killed",
                                   "different bundle revision"])
def test_scan_playbook_reports_evaluation_failure(case, estate, tmp_path, fault):
    c = case(f"scan playbook, OPA {fault}", "report written; host status failed with the cause; 0 compliant")
    proc = fake = None
    if fault.startswith("HTTP 500"):
        fake = _fake("500")
        url = fake.url
    elif fault.startswith("slow"):
        fake = _fake("slow", delay=5.0)
        url = fake.url
    elif fault == "server killed":
        proc, url = start_opa(REPO / "policies", tmp_path / "opa.log")
        proc.kill()
        proc.wait(timeout=10)
    else:
        proc, url = start_opa(other_bundle(tmp_path), tmp_path / "opa.log")
    try:
        report, _stdout = _scan(estate, fault.split()[0].lower() + str(abs(hash(fault)) % 1000), url)
    finally:
        if fake:
            fake.stop()
        if proc and proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)
    host = report["hosts"]["app1"]
    c.see(f"status={host['status']}, message={str(host.get('message'))[:90]!r}, "
          f"compliant={report['summary'].get('compliant_targets')}, requests={len(fake.requests) if fake else 'n/a'}")
    assert host["status"] == "failed", host
    assert report["summary"]["compliant_targets"] == 0
    assert "opa" in str(host.get("message")).lower()
    if fake:
        assert len(fake.requests) <= 4 * 2, f"unbounded retries: {len(fake.requests)} requests"
