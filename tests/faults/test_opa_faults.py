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
from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_facts import dockerfile_facts
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


TOKEN = "zqOpaT0ken9Kf2LmQ8xW"  # the canary token: it must not show in any message
USERINFO_PW = "zqUrlPassw0rd7Hn"


@pytest.mark.parametrize("status", [500, 403])
def test_engine_error_body_echoing_the_token_is_masked(case, bundle, status):
    c = case(f"OPA answering HTTP {status} with a body that echoes the Authorization header (stdlib echo server)",
             "EngineError message without the token or the URL's user information")
    fake = FakeHttp(status=status, echo_headers=True)
    url = fake.url.replace("http://", f"http://opsuser:{USERINFO_PW}@")
    try:
        engine = OpaEngine(bundle, url, token=TOKEN, timeout=2, retries=0)
        with pytest.raises(EngineError) as err:
            engine.evaluate(_docs(1), "2026-11-28")
    finally:
        fake.stop()
    sent = fake.requests[0]["authorization"] or ""
    c.see(f"server saw the token: {TOKEN in sent}; message: {err.value.message[:120]!r}")
    assert TOKEN in sent, "the echo server must have received the token (or nothing is tested)"
    assert "headers were" in err.value.message, "the body must reach the message (or nothing is tested)"
    assert TOKEN not in err.value.message and USERINFO_PW not in err.value.message
    assert TOKEN not in str(err.value) and "opsuser" not in err.value.message


def test_engine_url_userinfo_masked_with_real_opa(case, bundle, tmp_path):
    c = case("refarch_opa_url with user:password@ against a real OPA (other revision: an error naming the URL)",
             "messages name the server without its user information")
    proc, url = start_opa(other_bundle(tmp_path), tmp_path / "opa.log")
    try:
        engine = OpaEngine(bundle, url.replace("http://", f"http://opsuser:{USERINFO_PW}@"), timeout=5, retries=0)
        with pytest.raises(EngineError) as err:
            engine.evaluate(_docs(1), "2026-11-28")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    c.see(f"cause={err.value.cause}: {err.value.message[:100]!r}")
    assert err.value.cause == "revision" and "127.0.0.1" in err.value.message
    assert USERINFO_PW not in err.value.message and "opsuser" not in err.value.message


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


def _scan(estate, name: str, url: str, **extra) -> tuple[dict, str]:
    work, inventory = estate
    run_dir = work / name
    run_dir.mkdir()
    run = run_playbook("refarch.containers.scan", inventory, run_dir, timeout=300, extra_vars={
        "refarch_engine": "opa", "refarch_opa_url": url, "refarch_opa_timeout": 1,
        "refarch_report_dir": str(run_dir / "report"), "refarch_evaluation_date": "2026-11-28", **extra})
    path = run_dir / "report" / "report.json"
    assert path.is_file(), f"no report.json (rc={run.returncode}):\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}"
    return json.loads(path.read_text()), run.stdout + run.stderr


def _outputs(run_dir: Path, console: str) -> dict[str, str]:
    blobs = {"console": console}
    blobs.update({p.name: p.read_text(errors="replace") for p in (run_dir / "report").glob("*") if p.is_file()})
    return blobs


@pytest.mark.integration
@pytest.mark.parametrize("fault", ["HTTP 500 echoing the Authorization header", "user:password@ in the URL"])
def test_scan_playbook_masks_opa_credentials(case, estate, tmp_path, fault):
    c = case(f"scan playbook, OPA {fault}", "neither the token nor the URL's password in the console or any "
             "report file; the host fails (echo) or is evaluated (real OPA)")
    proc = fake = None
    if fault.startswith("HTTP 500"):
        fake = FakeHttp(status=500, echo_headers=True)
        url = fake.url
    else:
        proc, url = start_opa(REPO / "policies", tmp_path / "opa.log")
    name = "mask" + str(abs(hash(fault)) % 1000)
    try:
        report, console = _scan(estate, name, url.replace("http://", f"http://opsuser:{USERINFO_PW}@"),
                                refarch_opa_token=TOKEN)
    finally:
        if fake:
            fake.stop()
        if proc and proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)
    blobs = _outputs(estate[0] / name, console)
    host = report["hosts"]["app1"]
    leaks = [k for k, text in blobs.items() if TOKEN in text or USERINFO_PW in text]
    c.see(f"status={host['status']}, {len(blobs)} outputs searched, leaks: {leaks or 'none'}")
    if fake:
        assert TOKEN in (fake.requests[0]["authorization"] or ""), "the token must have been sent (else no test)"
        assert host["status"] == "failed" and "headers were" in str(host.get("message")), host
    else:
        assert host["status"] == "ok", host
    assert len(blobs) >= 4
    assert not leaks, leaks


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
