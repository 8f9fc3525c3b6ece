"""image_info / container_info against a real docker engine that this test starts itself.

Debian's docker.io engine (installed with apt-get when missing) is started by hand with its own data
root and unix socket: ``dockerd --iptables=false --ip6tables=false --bridge=none``. The local base
image is moved over with ``podman save`` + ``docker load`` (no registry is reachable), app images are
built with the classic builder and ``--network none``, and containers are started with
``docker run -d``. The test skips (with dockerd's log) only when dockerd cannot start at all.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jsonschema
import pytest
from ansible_collections.refarch.containers.plugins.module_utils._runtime_scan import scan_containers, scan_images
from ansible_collections.refarch.containers.plugins.module_utils._start_probe import probe

REPO = Path(__file__).resolve().parents[2]
_SUPPORT = REPO / "tests" / "images" / "support.py"
BASES = ("docker.io/library/node:20-bookworm-slim", "localhost/refarch/node:20-bookworm-slim-tini")
CASES = ("root-user", "tini", "rebuilt", "privileged-port")


def _load_support():
    spec = importlib.util.spec_from_file_location("refarch_image_support", _SUPPORT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


S = _load_support()
VALIDATOR = jsonschema.Draft202012Validator(S.load_schema())


def _valid(doc: dict) -> None:
    errors = list(VALIDATOR.iter_errors(doc))
    assert not errors, [f"{e.message} at {list(e.path)}" for e in errors[:5]]


def _dockerd() -> str:
    found = shutil.which("dockerd") or ("/usr/sbin/dockerd" if os.path.exists("/usr/sbin/dockerd") else None)
    if found:
        return found
    proc = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "docker.io"], capture_output=True,
                          text=True, timeout=900, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"), check=False)
    found = shutil.which("dockerd") or ("/usr/sbin/dockerd" if os.path.exists("/usr/sbin/dockerd") else None)
    if not found:
        pytest.skip("dockerd is not installed and `apt-get install docker.io` failed: " + proc.stderr[-800:])
    return found


class Daemon:
    """A dockerd with its own data root and socket under a short temporary directory."""

    def __init__(self) -> None:
        # a unix socket path must stay under 108 bytes: keep the directory short
        self.dir = Path(tempfile.mkdtemp(prefix="rfd-", dir="/tmp"))
        self.sock = self.dir / "docker.sock"
        self.host = "unix://" + str(self.sock)
        self.log = self.dir / "dockerd.log"
        self.proc: subprocess.Popen | None = None
        self.docker = shutil.which("docker") or "/usr/bin/docker"

    def start(self, dockerd: str) -> None:
        argv = [dockerd, "--iptables=false", "--ip6tables=false", "--bridge=none",
                "--data-root", str(self.dir / "data"), "--host", self.host, "--exec-root", str(self.dir / "exec"),
                "--pidfile", str(self.dir / "pid")]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            if self.sock.exists() and self.cli(["version", "--format", "{{.Server.Version}}"], check=False)[0] == 0:
                return
            time.sleep(0.5)
        tail = self.log.read_text(errors="replace")[-1500:]
        self.stop()
        pytest.skip("dockerd could not start here: " + tail)

    def cli(self, args: list[str], check: bool = True, timeout: float = 600) -> tuple[int, str]:
        proc = subprocess.run([self.docker, "--host", self.host, *args], capture_output=True, text=True,
                              timeout=timeout, env=dict(os.environ, DOCKER_BUILDKIT="0"), check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed: {proc.stderr[-2000:]}")
        return proc.returncode, proc.stdout

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            ids = self.cli(["ps", "-aq"], check=False, timeout=60)[1].split()
            if ids:
                self.cli(["rm", "-f", *ids], check=False, timeout=120)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        subprocess.run(["umount", "-R", str(self.dir / "exec")], capture_output=True, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("starting dockerd needs root")
    S.require_base_images()
    dockerd = _dockerd()
    d = Daemon()
    d.start(dockerd)
    try:
        for ref in BASES:
            tar = d.dir / "base.tar"
            S.run(["podman", "save", "--format", "docker-archive", "-o", str(tar), ref], timeout=600)
            d.cli(["load", "-i", str(tar)])
            tar.unlink()
        work = tmp_path_factory.mktemp("dapps")
        built = {}
        for case in S.app_cases():
            if case.name in CASES:
                built[case.name] = S.build_app(case, work, engine=d.docker, extra_args=["--host", d.host],
                                               env={"DOCKER_BUILDKIT": "0"})
        ref = built["root-user"].case.ref
        d.cli(["run", "-d", "--name", "web-limited", "--init", "--memory", "256m", "-p", "18080:3000",
               "--restart", "on-failure:2", "-e", "NODE_OPTIONS=--max-old-space-size=512",
               "-e", "SESSION_SECRET=s3ss10n-v4lue", ref])
        d.cli(["run", "-d", "--name", "web-plain", "--network", "none", ref])
        d.cli(["run", "-d", "--name", "web-heap", "--network", "none", "--memory", "128m",
               built["tini"].case.ref])
        yield d, built
    finally:
        d.stop()


def test_images_through_docker(daemon):
    d, built = daemon
    result = scan_images({"runtime": "docker", "docker_host": str(d.sock), "include_history": True})
    (status,) = result["engines"]
    assert status["available"] is True and status["version"], status
    by_ref = {doc["image"]: doc for doc in result["images"]}
    for doc in result["images"]:
        _valid(doc)
        assert doc["engine"] == "docker" and doc["id"].startswith("sha256:")
    for name, app in built.items():
        doc = by_ref[app.case.ref]
        exp = app.case.expect
        assert doc["user"]["is_root"] is exp["is_root"]
        assert doc["process"]["command"] == exp["command"]
        if "init" in exp:
            assert doc["process"]["init"] == exp["init"]
        if "ports" in exp:
            assert [(p["port"], p["protocol"]) for p in doc["exposed_ports"]] == exp["ports"]
        if "healthcheck_interval" in exp:  # docker keeps HEALTHCHECK (podman needs --format docker)
            assert doc["healthcheck"]["interval_s"] == exp["healthcheck_interval"]
        for secret in exp.get("secrets", []):
            assert secret not in json.dumps(doc)
        if exp.get("dockerfile_link"):
            assert doc["dockerfile"]["sha256"] == app.dockerfile_sha256 and doc["dockerfile"]["valid"] is True
        assert doc["node"]["major"] == 20 and doc["node"]["source"] == "env"
        assert doc["history_count"] and len(doc["history"]) == doc["history_count"], name
    # the loaded base keeps its name in docker's short form; refs normalize it
    base = by_ref["node:20-bookworm-slim"]
    assert base["refs"][0]["registry"] == "docker.io" and base["refs"][0]["repository"] == "library/node"


def test_running_containers_through_docker(daemon):
    d, built = daemon
    result = scan_containers({"runtime": "docker", "docker_host": d.host})
    by_name = {c["name"]: c for c in result["containers"]}
    assert set(by_name) >= {"web-limited", "web-plain", "web-heap"}, by_name.keys()
    for doc in result["containers"]:
        _valid(doc)
        assert doc["running"] is True and doc["state"] == "running"
    lim = by_name["web-limited"]
    assert lim["init"]["flag"] is True and lim["init"]["effective"] is True
    assert lim["memory_limit"] == 256 * 1024 * 1024
    assert lim["heap_limit"]["mb"] == 512 and lim["heap_limit"]["source"] == "NODE_OPTIONS"
    assert lim["heap_exceeds_memory"] is True
    assert lim["published_ports"] == [{"container_port": 3000, "protocol": "tcp", "host_ip": None, "host_port": 18080}]
    assert lim["restart_policy"] == {"name": "on-failure", "maximum_retry_count": 2}
    assert lim["env"]["SESSION_SECRET"]["value"] == "<redacted>"
    assert "s3ss10n-v4lue" not in json.dumps(lim)
    assert lim["image_facts"]["image"] == built["root-user"].case.ref
    plain = by_name["web-plain"]
    assert plain["init"] == {"flag": False, "process": None, "effective": False}
    assert plain["memory_limit"] is None and plain["heap_exceeds_memory"] is None
    assert plain["user"]["is_root"] is True and plain["node"]["is_node"] is True
    heap = by_name["web-heap"]
    assert heap["process"]["init"] == "tini" and heap["init"]["effective"] is True
    assert heap["heap_limit"]["mb"] == 384 and heap["heap_exceeds_memory"] is True
    assert heap["user"]["name"] == "node"


def test_permission_denied_on_the_real_socket(daemon, tmp_path):
    d, _built = daemon
    if not shutil.which("runuser"):
        pytest.skip("runuser (util-linux) is needed to run the CLI as an unprivileged user")
    os.chmod(d.dir, 0o755)  # noqa: S103 - nobody may reach the socket path, not open the socket (root:root 0660)
    wrapper = tmp_path / "docker-as-nobody"
    wrapper.write_text(f'#!/bin/sh\nexec runuser -u nobody -- {d.docker} "$@"\n')
    wrapper.chmod(0o755)
    result = scan_images({"runtime": "docker", "executable": str(wrapper), "docker_host": d.host})
    (status,) = result["engines"]
    assert status["available"] is False and status["error_code"] == "permission_denied", status
    assert result["images"] == [] and "permission denied" in result["engine_error"].lower()


def test_daemon_stopped_midway_is_reported(daemon):
    _d, _built = daemon
    other = Daemon()  # a second, short-lived daemon that is gone before the scan
    try:
        other.start(_dockerd())
        other.stop()
        result = scan_containers({"runtime": "docker", "docker_host": other.host, "timeout": 20})
        (status,) = result["engines"]
        assert status["available"] is False and status["error_code"] == "daemon_unreachable"
    finally:
        other.stop()


def test_start_probe_through_docker(daemon, monkeypatch):
    """The start probe on docker: ``docker run -d --network none``, the HEALTHCHECK through ``docker exec``."""
    d, built = daemon
    monkeypatch.setenv("DOCKER_HOST", d.host)
    ok = probe("docker", d.docker, built["tini"].case.ref, seconds=2, timeout=90)
    assert ok["passed"] is True and ok["method"] == "docker run", ok
    assert ok["uids"] == [1000] and ok["expected_uid"] == 1000, ok      # USER node, from the image's /etc/passwd
    assert ok["healthcheck"] == {"ran": True, "passed": True, "tries": 1, "exit_code": 0}, ok
    root = probe("docker", d.docker, built["root-user"].case.ref, seconds=2, timeout=90)
    assert root["passed"] is False and "runs as root" in root["reason"], root
    assert root["ports_listening"] == ["3000/tcp"] and root["uids"] == [0], root
    left = d.cli(["ps", "--all", "--quiet", "--filter", "name=refarch-probe-"])[1].split()
    assert left == [], "the probe must remove its containers"
