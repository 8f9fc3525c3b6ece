"""Helpers for tests that need a real OPA server process or a small fake HTTP server."""
from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def opa_binary() -> str | None:
    """The real opa binary: $OPA, the checkout's .tools/bin/opa (make setup), or PATH."""
    repo = Path(__file__).resolve().parents[4]
    for cand in (os.environ.get("OPA"), str(repo / ".tools" / "bin" / "opa"), shutil.which("opa")):
        if cand and os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OpaServer:
    """A real `opa run --server` process on a free local port."""

    def __init__(self, binary: str, bundles: list[str] | None = None, extra: list[str] | None = None,
                 tls: tuple[str, str, str] | None = None) -> None:
        """``tls`` = (server cert, server key, CA file) serves HTTPS."""
        self.port = free_port()
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        context = None
        if tls:
            extra = [*(extra or []), "--tls-cert-file", tls[0], "--tls-private-key-file", tls[1]]
            context = ssl.create_default_context(cafile=tls[2])
        argv = [binary, "run", "--server", "--addr", f"127.0.0.1:{self.port}", *(extra or [])]
        for b in bundles or []:
            argv += ["-b", b]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"opa exited: {self.proc.stderr.read()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1,  # noqa: S310 - URL we built
                                            context=context) as resp:
                    if resp.status in (200, 401):
                        return
            except urllib.error.HTTPError as exc:
                if exc.code == 401:  # token authentication on: the server is up
                    return
                time.sleep(0.1)
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("opa server did not become healthy in 30s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class FakeHttp:
    """FAKE server (stdlib http.server), only for behaviour a real OPA cannot be made to show:
    HTTP 5xx answers and answers slower than the client timeout. Records requests."""

    def __init__(self, status: int = 500, delay: float = 0.0, body: bytes = b'{"code":"internal_error"}',
                 echo_headers: bool = False) -> None:
        """``echo_headers``: the body quotes every request header back (as some proxies' error pages do)."""
        self.requests: list[dict] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                outer.requests.append({"method": self.command, "path": self.path,
                                       "authorization": self.headers.get("Authorization")})
                if delay:
                    time.sleep(delay)
                answer = body
                if echo_headers:
                    seen = "; ".join(f"{k}: {v}" for k, v in self.headers.items())
                    answer = json.dumps({"code": "denied", "message": f"request refused, headers were {seen}"}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, *args) -> None:  # silence
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def make_tls(directory: Path) -> tuple[str, str, str]:
    """A throw-away CA and a server certificate for 127.0.0.1 (openssl CLI). Returns (cert, key, ca)."""
    d = Path(directory)

    def run(*argv: str) -> None:
        subprocess.run(["openssl", *argv], check=True, capture_output=True, cwd=d)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-subj", "/CN=refarch-test-ca", "-days", "2")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=127.0.0.1")
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "srv.pem", "-days", "2", "-extfile", "ext.cnf")
    return str(d / "srv.pem"), str(d / "srv.key"), str(d / "ca.pem")


AUTHZ_POLICY = """package system.authz

import rego.v1

default allow := false

allow if input.identity == "%s"
"""


def make_authz_bundle(directory: Path, token: str) -> str:
    """A bundle (roots ["system"]) that only lets requests with bearer ``token`` through."""
    d = Path(directory) / "authz"
    (d / "system" / "authz").mkdir(parents=True)
    (d / ".manifest").write_text('{"revision": "authz-1", "roots": ["system"]}')
    (d / "system" / "authz" / "authz.rego").write_text(AUTHZ_POLICY % token)
    return str(d)
