"""Test estates for the estate-scale integration tests and the estate benchmark.

Writes a different mix of Node.js Dockerfiles into each host's scan root,
makes one host's files unreadable for an unprivileged login, and starts an
SshEstate in a directory an unprivileged user can traverse (pytest's own
temporary root is private to root). Shared by tests/integration/test_estate_scan.py,
tests/integration/test_awx_runner.py and bench/estate/run.py.
"""
from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sshhosts import SshEstate, SshHost

GOOD = """\
# syntax=docker/dockerfile:1
FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev

FROM node:22-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production PORT=8080 MAX_OLD_SPACE=256
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --chown=node:node . .
USER node
EXPOSE 8080
HEALTHCHECK --interval=30s CMD ["node", "healthcheck.js"]
ENTRYPOINT ["tini", "--"]
CMD ["sh", "-c", "exec node --max-old-space-size=${MAX_OLD_SPACE} server.js"]
"""

ROOT_USER = """\
FROM node:20-bookworm
WORKDIR /usr/src/app
COPY . .
RUN npm install
EXPOSE 3000
CMD ["node", "index.js"]
"""

PORT_80 = """\
FROM node:22-bookworm-slim
WORKDIR /app
COPY package*.json ./
RUN npm ci
COPY . .
USER node
ENV PORT=80
EXPOSE 80
CMD ["node", "server.js"]
"""

NPM_START = """\
FROM node:20
WORKDIR /app
COPY . .
RUN npm install
USER node
EXPOSE 8080
CMD npm start
"""

ALPINE = """\
FROM node:20-alpine
WORKDIR /app
COPY package.json .
RUN npm install --production
COPY . .
USER node
CMD ["node", "app.js"]
"""

PM2 = """\
FROM node:18-bookworm
RUN npm install -g pm2
WORKDIR /app
COPY . .
RUN npm ci
USER root
EXPOSE 443
CMD ["pm2-runtime", "start", "ecosystem.config.js", "-i", "max"]
"""

LATEST = """\
FROM node:latest
COPY . /app
WORKDIR /app
RUN npm install
CMD node /app/server.js
"""

EOL_NODE = """\
FROM node:14-buster
WORKDIR /app
COPY . .
RUN npm ci
USER 1000
CMD ["node", "main.js"]
"""

UBI = """\
FROM registry.access.redhat.com/ubi9/nodejs-20:latest
COPY --chown=1001:0 package*.json ./
RUN npm ci --omit=dev
COPY --chown=1001:0 . .
EXPOSE 8080
CMD ["node", "server.js"]
"""

ARG_BASE = """\
ARG NODE_VERSION=22
FROM node:${NODE_VERSION}-bookworm-slim
WORKDIR /srv
COPY . .
RUN yarn install --frozen-lockfile
EXPOSE 1080
CMD yarn start
"""

FLAVOURS: dict[str, str] = {
    "good": GOOD,
    "root": ROOT_USER,
    "port80": PORT_80,
    "npmstart": NPM_START,
    "alpine": ALPINE,
    "pm2": PM2,
    "latest": LATEST,
    "eol": EOL_NODE,
    "ubi": UBI,
    "argbase": ARG_BASE,
}
NAMES = ("Dockerfile", "Containerfile", "app.Dockerfile", "Dockerfile.prod")


def write_app(directory: Path, flavour: str, name: str = "Dockerfile", dockerignore: bool = True) -> Path:
    """Write one Node.js service: a Dockerfile of ``flavour``, package.json and maybe .dockerignore."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(FLAVOURS[flavour])
    start = "yarn start" if flavour == "argbase" else "node server.js"
    (directory / "package.json").write_text(
        json.dumps({"name": directory.name, "main": "server.js", "scripts": {"start": start},
                    "engines": {"node": ">=20"}, "dependencies": {"express": "^4.19.0"}})
    )
    (directory / "server.js").write_text("require('http').createServer((q, s) => s.end('ok')).listen(8080);\n")
    if dockerignore:
        (directory / ".dockerignore").write_text("node_modules\n.git\n.cache\nnpm-debug.log\n")
    return path


def populate_host(root: Path, index: int, services: int = 4, noise_files: int = 30) -> list[Path]:
    """Give host number ``index`` its own mix of services below ``root/srv``; returns the Dockerfiles."""
    flavours = list(FLAVOURS)
    written = []
    srv = root / "srv"
    for n in range(services):
        flavour = flavours[(index * 3 + n) % len(flavours)]
        name = NAMES[(index + n) % len(NAMES)]
        written.append(write_app(srv / f"svc{n}-{flavour}", flavour, name, dockerignore=(index + n) % 3 != 0))
    # things the walk must step over: node_modules (pruned), .git, plain source files
    (srv / "svc0-extra" / "node_modules" / "left-pad").mkdir(parents=True, exist_ok=True)
    (srv / "svc0-extra" / "node_modules" / "left-pad" / "Dockerfile").write_text("FROM node:20\n")
    (srv / ".git" / "objects").mkdir(parents=True, exist_ok=True)
    (srv / ".git" / "objects" / "Dockerfile").write_text("FROM node:20\n")
    for n in range(noise_files):
        sub = srv / "lib" / f"mod{n % 5}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"file{n}.js").write_text(f"module.exports = {n};\n")
    return written


class LocalUser:
    """A throw-away local account for an unprivileged SSH login (created with useradd, removed at the end)."""

    def __init__(self, home: Path) -> None:
        self.name = f"rfscan{secrets.token_hex(3)}"
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        subprocess.run(["useradd", "--no-create-home", "--home-dir", str(home), "--shell", "/bin/bash",
                        "--no-user-group", "--gid", "nogroup", self.name], check=True, capture_output=True)
        # useradd leaves the password field "!" (locked); sshd without PAM refuses public-key logins
        # to locked accounts, so mark it "no password" instead.
        subprocess.run(["usermod", "-p", "*", self.name], check=True, capture_output=True)
        entry = pwd.getpwnam(self.name)
        self.uid, self.gid = entry.pw_uid, entry.pw_gid
        os.chown(home, self.uid, self.gid)

    def remove(self, wait: float = 20.0) -> None:
        """Delete the account; waits for its last SSH session to close, then forces it."""
        deadline = time.monotonic() + wait
        while True:
            done = subprocess.run(["userdel", self.name], check=False, capture_output=True, text=True)
            if done.returncode == 0 or "does not exist" in done.stderr:
                return
            if time.monotonic() > deadline:
                subprocess.run(["userdel", "--force", self.name], check=False, capture_output=True)
                return
            time.sleep(0.5)


def make_unreadable(root: Path, user: LocalUser) -> dict[str, Path]:
    """Files the unprivileged user cannot read: a chmod 000 directory, a root-only Dockerfile and a FIFO."""
    srv = root / "srv"
    locked_dir = srv / "locked-dir"
    write_app(locked_dir, "root")
    secret_file = write_app(srv / "root-only", "npmstart")
    fifo = srv / "fifo" / "Dockerfile"
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)
    for path in [root, *sorted(p for p in root.rglob("*"))]:
        if not path.is_symlink():
            os.chown(path, user.uid, user.gid)
    os.chown(secret_file, 0, 0)
    os.chmod(secret_file, 0o600)
    os.chmod(locked_dir, 0o000)
    return {"locked_dir": locked_dir, "secret_file": secret_file, "fifo": fifo}


def restore_permissions(root: Path) -> None:
    """Undo make_unreadable so the tree can be removed."""
    for dirpath, dirnames, _files in os.walk(root):
        for name in dirnames:
            try:
                os.chmod(Path(dirpath) / name, 0o755)  # noqa: S103 - test tree, removed next
            except OSError:
                pass


@contextmanager
def root_estate(prefix: str) -> Iterator[SshEstate]:
    """:func:`open_estate` for a pytest fixture: skips the tests unless they run as root."""
    import pytest  # noqa: PLC0415 - the benchmarks use this module without pytest

    if os.geteuid() != 0:
        pytest.skip("the SSH estate binds 127.0.0.N and logs in as root: run as root")
    with open_estate(prefix) as estate:
        yield estate


@contextmanager
def open_estate(prefix: str = "refarch-estate-") -> Iterator[SshEstate]:
    """An SshEstate in a fresh world-traversable directory under /tmp; stopped and removed at the end.

    The authorized_keys file is made world-readable because sshd reads it with the
    logging-in user's privileges.
    """
    workdir = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chmod(workdir, 0o755)  # noqa: S103 - the unprivileged login must traverse it
    estate = SshEstate(workdir)
    os.chmod(estate.authorized_keys, 0o644)
    try:
        yield estate
    finally:
        estate.stop()
        restore_permissions(workdir)
        shutil.rmtree(workdir, ignore_errors=True)


def unprivileged_host(estate: SshEstate, name: str, user: LocalUser) -> SshHost:
    """Add a host whose SSH login is ``user`` (so permission checks apply) with its own scan root."""
    host = estate.add_host(name)
    for parent in (host.root.parent, host.root):
        os.chmod(parent, 0o755)  # noqa: S103 - the unprivileged login must traverse it
    host.vars.update({
        "ansible_user": user.name,
        "ansible_remote_tmp": str(user.home / ".ansible-tmp"),
        # no ControlPersist master left behind: the account is deleted when the test ends
        "ansible_ssh_args": "-o ControlMaster=no",
    })
    return host
