"""dockerfile_info run by ansible-playbook over real SSH (issue 2).

Two real sshd hosts on loopback, each with its own tree of good, bad and
hostile files, plus one host nothing listens for. The facts must validate
against the schema, every problem must be reported per file, and no secret
value may appear in any output (module result, stdout with -vvv).
"""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import jsonschema
import pytest
from harness import REPO, run_playbook

pytestmark = pytest.mark.integration

CANARY_ENV = "canary-env-5f1c2d9e"
CANARY_ARG = "canary-arg-77ab310c"
CANARY_NPMRC = "canary-npmrc-0b9d4e12"

PLAYBOOK = """
- name: Discover
  hosts: all
  gather_facts: false
  tasks:
    - name: Scan
      refarch.containers.dockerfile_info:
        paths: ["{{ refarch_host_root }}/srv", "{{ refarch_host_root }}/does-not-exist"]
        publish_facts: true
      register: scan
      ignore_unreachable: true
    - name: Save
      ansible.builtin.copy:
        content: "{{ scan | combine({'published': published}) | to_nice_json }}"
        dest: "{{ out_dir }}/{{ inventory_hostname }}.json"
        mode: "0600"
      vars:
        published: "{{ ansible_facts['refarch_containers'] | default(None) }}"
      delegate_to: localhost
"""


def _tree(root: Path, flavour: str) -> dict[str, str]:
    """Write one host's files; returns {relative path: what we expect}."""
    srv = root / "srv"
    (srv / "good").mkdir(parents=True)
    (srv / "good" / "Dockerfile").write_text(
        "FROM node:22-bookworm-slim AS build\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\n"
        "FROM node:22-bookworm-slim\nCOPY --from=build --chown=node:node /app /app\nUSER node\nEXPOSE 8080\n"
        'CMD ["node", "/app/server.js"]\n'
    )
    (srv / "good" / ".dockerignore").write_text("node_modules\n.git\n.cache\n")
    (srv / "good" / "package.json").write_text(json.dumps({"name": "good", "scripts": {"start": "node server.js"}}))
    (srv / "secrets").mkdir()
    (srv / "secrets" / "Dockerfile").write_text(
        f"ARG NPM_TOKEN={CANARY_ARG}\nFROM node:20\nENV DB_PASSWORD={CANARY_ENV} PORT=80\n"
        f"RUN echo //registry.npmjs.org/:_authToken={CANARY_NPMRC} > .npmrc && npm ci\nEXPOSE 80\nCMD npm start\n"
    )
    (srv / "binary").mkdir()
    (srv / "binary" / "Dockerfile").write_bytes(b"FROM node\x00\x01\x02" * 50)
    (srv / "latin1").mkdir()
    (srv / "latin1" / "Containerfile").write_bytes("FROM node:20\nLABEL maintainer=\"Jos\xe9\"\n".encode("latin-1"))
    (srv / "heredoc").mkdir()
    (srv / "heredoc" / "Dockerfile").write_text("FROM node:20\nRUN <<EOF\necho never ends\n")
    (srv / "badjson").mkdir()
    (srv / "badjson" / "app.Dockerfile").write_text('FROM node:20\nCMD [\u201cnode\u201d, \u201cserver.js\u201d]\n')
    (srv / "node_modules" / "pkg").mkdir(parents=True)
    (srv / "node_modules" / "pkg" / "Dockerfile").write_text("FROM node:20\n")  # pruned
    (srv / "loop").mkdir()
    os.symlink("..", srv / "loop" / "up")  # a directory symlink loop
    os.symlink("/etc/shadow", srv / "loop" / "Dockerfile")  # points out of the root
    os.mkfifo(srv / "Dockerfile.fifo")  # must not block the walk
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(srv / "Dockerfile.sock"))
    sock.close()
    (srv / "big").mkdir()
    (srv / "big" / "Dockerfile").write_bytes(b"FROM node:20\n" + b"RUN true\n" * 400_000)  # 3.6 MB
    locked = srv / "locked"
    locked.mkdir()
    (locked / "Dockerfile").write_text("FROM node:20\n")
    return {"flavour": flavour}


def test_dockerfile_info_over_ssh(ssh_estate, tmp_path):
    estate = ssh_estate()
    hosts = [estate.add_host("web1"), estate.add_host("web2")]
    dead = estate.add_unreachable("dead1")
    for host in hosts:
        _tree(host.root, host.name)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    inventory = estate.write_inventory(tmp_path / "inventory.json", {"out_dir": str(out_dir)})
    playbook = tmp_path / "discover.yml"
    playbook.write_text(PLAYBOOK)

    result = run_playbook(str(playbook), inventory, tmp_path, args=["-vvv"])
    output = result.stdout + result.stderr
    assert "web1" in output and "web2" in output
    # one bad host (dead1) never fails the others
    assert result.returncode in (0, 4), output[-4000:]
    recap = {line.split()[0]: line for line in output.splitlines() if " : ok=" in line}
    assert "failed=0" in recap["web1"] and "failed=0" in recap["web2"]
    assert "ignored=1" in recap["dead1"], "the unreachable host is recorded, not fatal"

    schema = json.loads((REPO / "policies" / "schema" / "facts.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    for host in hosts:
        raw = (out_dir / f"{host.name}.json").read_text()
        for canary in (CANARY_ENV, CANARY_ARG, CANARY_NPMRC):
            assert canary not in raw, f"secret {canary} leaked into {host.name}'s result"
        data = json.loads(raw)
        # publish_facts: the host summary became ansible_facts['refarch_containers'] on the controller
        assert data["published"] == data["host_summary"] and data["published"]["dockerfile_count"] == len(
            data["dockerfiles"])
        docs = {Path(d["path"]).relative_to(host.root / "srv").as_posix(): d for d in data["dockerfiles"]}
        for doc in docs.values():
            errors = sorted(validator.iter_errors(doc), key=str)
            assert not errors, f"{doc['path']}: {errors[0].message}"
        # found what is there, pruned node_modules, never followed the loop or left the root
        assert "good/Dockerfile" in docs and "secrets/Dockerfile" in docs
        assert not any(p.startswith("node_modules/") for p in docs)
        assert not any("/up/" in p for p in docs)
        assert all(d["kind"] == "dockerfile" and len(d["sha256"]) == 64 for d in docs.values()
                   if d["error"] is None)
        good = docs["good/Dockerfile"]
        assert good["error"] is None and good["final_stage"]["user"]["name"] == "node"
        assert [p["port"] for p in good["final_stage"]["exposed_ports"]] == [8080]
        secrets_doc = docs["secrets/Dockerfile"]
        assert secrets_doc["final_stage"]["env"]["DB_PASSWORD"]["redacted"] is True
        assert secrets_doc["final_stage"]["env"]["PORT"]["value"] == "80"
        # bad files are per-file problems, not host failures
        assert docs["binary/Dockerfile"]["error"] is not None
        assert docs["heredoc/Dockerfile"]["problems"], "unterminated heredoc must be reported"
        assert any(p["code"] == "malformed_json" for p in docs["badjson/app.Dockerfile"]["problems"])
        assert docs["latin1/Containerfile"]["error"] is not None or docs["latin1/Containerfile"]["problems"]
        reported = json.dumps(data.get("problems", [])) + json.dumps([d.get("error") for d in docs.values()])
        assert "does-not-exist" in reported, "a missing root is reported"
        assert "loop/Dockerfile" not in docs or docs["loop/Dockerfile"]["error"] is not None
        assert "shadow" not in raw or "root:" not in raw
    for canary in (CANARY_ENV, CANARY_ARG, CANARY_NPMRC):
        assert canary not in output, f"secret {canary} leaked into -vvv output"
    assert json.loads((out_dir / f"{dead.name}.json").read_text())["unreachable"] is True
