"""Real SSH-managed hosts for integration tests.

Each host is a real ``sshd`` listening on its own loopback address
(127.0.0.N) and port, with its own host key, authorized key and scan root,
started by the test and stopped afterwards. Ansible reaches them over real SSH
exactly as it reaches an estate, host keys checked: the estate writes its own
``known_hosts`` with each host's key and the inventory points ssh at it with
strict checking on. The repository's ``ansible.cfg`` turns no check off, and
the tests need none turned off.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
SSH_KEYGEN = shutil.which("ssh-keygen") or "/usr/bin/ssh-keygen"


def _free_port(address: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


def _wait_listening(address: str, port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, port), timeout=0.5) as sock:
                if sock.recv(64).startswith(b"SSH-"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"sshd on {address}:{port} did not start within {timeout}s")


@dataclass
class SshHost:
    name: str
    address: str
    port: int
    root: Path                     # the host's own files (scan root etc.)
    process: subprocess.Popen | None = None
    log: Path | None = None
    vars: dict = field(default_factory=dict)
    known_hosts: Path | None = None  # the estate's known_hosts, which holds this host's key

    def inventory_vars(self, key: Path) -> dict:
        data = {
            "ansible_host": self.address,
            "ansible_port": self.port,
            "ansible_user": "root",
            "ansible_connection": "ssh",
            "ansible_ssh_private_key_file": str(key),
            "ansible_python_interpreter": "/usr/bin/python3",
            "refarch_host_root": str(self.root),
        }
        if self.known_hosts is not None:
            # the host's key is known in advance: check it strictly, and against this file only
            data["ansible_ssh_common_args"] = (f"-o UserKnownHostsFile={self.known_hosts} "
                                               "-o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes")
        data.update(self.vars)
        return data


class SshEstate:
    """A set of sshd processes on loopback, one per host, plus an inventory."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.hosts: list[SshHost] = []
        self.unreachable: list[SshHost] = []
        workdir.mkdir(parents=True, exist_ok=True)
        self.key = workdir / "id_ed25519"
        if not self.key.exists():
            subprocess.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-f", str(self.key)], check=True)
        self.authorized_keys = workdir / "authorized_keys"
        shutil.copy(f"{self.key}.pub", self.authorized_keys)
        os.chmod(self.authorized_keys, 0o600)
        self.known_hosts = workdir / "known_hosts"
        self.known_hosts.touch()
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)

    def add_host(self, name: str, index: int | None = None) -> SshHost:
        index = len(self.hosts) + len(self.unreachable) + 2 if index is None else index
        address = f"127.0.0.{index}"
        hostdir = self.workdir / name
        root = hostdir / "root"
        root.mkdir(parents=True, exist_ok=True)
        hostkey = hostdir / "ssh_host_ed25519_key"
        if not hostkey.exists():
            subprocess.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-f", str(hostkey)], check=True)
        port = _free_port(address)
        # ssh looks a host on a non-default port up as "[address]:port"
        key_type, key_data = Path(f"{hostkey}.pub").read_text().split()[:2]
        with open(self.known_hosts, "a", encoding="ascii") as known:
            known.write(f"[{address}]:{port} {key_type} {key_data}\n")
        config = hostdir / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"ListenAddress {address}:{port}",
                    f"HostKey {hostkey}",
                    f"PidFile {hostdir / 'sshd.pid'}",
                    f"AuthorizedKeysFile {self.authorized_keys}",
                    "PermitRootLogin prohibit-password",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    "StrictModes no",
                    "MaxSessions 50",
                    "MaxStartups 100:30:200",
                    "Subsystem sftp internal-sftp",
                    "LogLevel ERROR",
                    "",
                ]
            )
        )
        log = hostdir / "sshd.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=out, stderr=subprocess.STDOUT)
        host = SshHost(name=name, address=address, port=port, root=root, process=proc, log=log,
                       known_hosts=self.known_hosts)
        try:
            _wait_listening(address, port)
        except RuntimeError as exc:
            proc.kill()
            raise RuntimeError(f"{exc}; sshd log: {log.read_text(errors='replace')[-2000:]}") from exc
        self.hosts.append(host)
        return host

    def add_unreachable(self, name: str) -> SshHost:
        """A host in the inventory that nothing listens for (connection refused)."""
        index = len(self.hosts) + len(self.unreachable) + 2
        address = f"127.0.0.{index}"
        host = SshHost(name=name, address=address, port=_free_port(address), root=self.workdir / name / "root")
        self.unreachable.append(host)
        return host

    def inventory(self, extra_vars: dict | None = None) -> dict:
        hosts = {h.name: h.inventory_vars(self.key) for h in [*self.hosts, *self.unreachable]}
        for h in self.unreachable:
            hosts[h.name]["ansible_ssh_timeout"] = 3
        return {"all": {"hosts": hosts, "vars": dict(extra_vars or {})}}

    def write_inventory(self, path: Path, extra_vars: dict | None = None) -> Path:
        path.write_text(json.dumps(self.inventory(extra_vars), indent=2))
        return path

    def stop(self) -> None:
        for host in self.hosts:
            if host.process and host.process.poll() is None:
                host.process.send_signal(signal.SIGTERM)
                try:
                    host.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    host.process.kill()
