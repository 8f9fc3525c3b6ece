"""Hostile build descriptors: compose, bake and workflow files a stranger wrote into a scanned tree.

The host side (walk, bounded reads, redaction) runs in a child process with a timeout and an
address-space limit (``scanrun``), as for Dockerfiles; the controller's parser and the evaluation
of the declared builds run here, as the discovery action runs them.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import scanrun
from ansible_collections.refarch.containers.plugins.module_utils._discovery import scan_builds
from ansible_collections.refarch.containers.plugins.plugin_utils._descriptors import link_result

GOOD = "FROM node:22-bookworm-slim\nUSER node\nCMD [\"node\", \"server.js\"]\n"


def _evaluate(root: Path) -> dict:
    """Host scan in a child (descriptors on), then parse and evaluate the declared builds as the action does."""
    res = scanrun.scan([str(root)], descriptors=True)
    assert not res.timed_out, "the scan blocked: the child did not finish within its timeout"
    assert res.proc.returncode == 0, res.proc.stderr[-2000:]
    found = json.loads(res.proc.stdout)
    params = {"paths": [str(root)], "max_file_size": 1 << 20}
    return link_result(found, [str(root)], lambda builds: scan_builds(params, builds))


def _codes(out: dict) -> list[str]:
    return sorted({p["code"] for p in out["problems"]})


def test_alias_bomb_in_a_compose_file(case, tmp_path):
    c = case("compose file with a YAML alias bomb (billion laughs)",
             "refused before expansion: problem yaml_expansion (run incomplete: descriptor_unusable); the other "
             "Dockerfiles are evaluated")
    root = tmp_path / "root"
    (root / "ok").mkdir(parents=True)
    (root / "ok" / "Dockerfile").write_text(GOOD)
    bomb = "a: &a ['x','x','x','x','x','x','x','x','x']\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n"
        for i in range(24))
    (root / "docker-compose.yml").write_text(bomb)
    out = _evaluate(root)
    c.see(f"problems={_codes(out)}, documents={len(out['dockerfiles'])}")
    assert _codes(out) == ["yaml_expansion"]
    assert all(p.get("source") == "descriptor" for p in out["problems"])
    assert [d["path"] for d in out["dockerfiles"]] == [str(root / "ok" / "Dockerfile")]


def test_fifo_named_like_a_descriptor(case, tmp_path):
    c = case("FIFO named compose.yaml / docker-bake.hcl / a workflow",
             "never opened (the walk does not block); not a descriptor")
    root = tmp_path / "root"
    (root / ".github" / "workflows").mkdir(parents=True)
    for rel in ("compose.yaml", "docker-bake.hcl", ".github/workflows/ci.yml"):
        os.mkfifo(root / rel)
    (root / "Dockerfile").write_text(GOOD)
    out = _evaluate(root)
    c.see(f"descriptors={out.get('descriptors', [])}, documents={len(out['dockerfiles'])}")
    assert not out.get("descriptors") and len(out["dockerfiles"]) == 1


@pytest.mark.parametrize("dockerfile", ["/etc/shadow", "../../../../../../etc/shadow", "link/Dockerfile"])
def test_descriptor_pointing_out_of_the_root(case, tmp_path, dockerfile):
    c = case(f"compose dockerfile: {dockerfile}",
             "never read: context_outside_roots, or symlink_not_followed for a symlinked folder; no content")
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "Dockerfile").write_text("FROM node:20\nENV LEAK=zz-outside-canary\n")
    (root / "link").symlink_to(outside)
    (root / "compose.yaml").write_text(f"services:\n  s:\n    build:\n      context: .\n"
                                       f"      dockerfile: {dockerfile}\n")
    out = _evaluate(root)
    errors = {d["path"]: (d["error"] or {}).get("code") for d in out["dockerfiles"]}
    c.see(f"problems={_codes(out)}, documents={errors}")
    text = json.dumps(out)
    assert "zz-outside-canary" not in text and "root:" not in text.replace(str(root), "")
    if dockerfile.startswith("link/"):
        assert errors == {str(root / "link" / "Dockerfile"): "symlink_not_followed"}
    else:
        assert _codes(out) == ["context_outside_roots"] and errors == {}


def test_descriptor_naming_another_users_file_as_root(case, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("the owner rule applies to scans run as root")
    c = case("a user's compose file names another user's private file as its Dockerfile (scan as root)",
             "not opened: foreign_owner; content absent")
    root = tmp_path / "root"
    alice, bob = root / "alice", root / "bob"
    alice.mkdir(parents=True)
    bob.mkdir()
    (bob / "id_rsa").write_text("FROM node:20\nENV KEY=zz-bob-canary\n")
    os.chmod(bob / "id_rsa", 0o600)
    (alice / "compose.yaml").write_text("services:\n  s:\n    build: {context: ../bob, dockerfile: id_rsa}\n")
    for path, uid in ((alice, 1001), (alice / "compose.yaml", 1001), (bob, 1002), (bob / "id_rsa", 1002)):
        os.chown(path, uid, uid)
    out = _evaluate(root)
    [doc] = [d for d in out["dockerfiles"] if d["path"] == str(bob / "id_rsa")]
    c.see(f"error={(doc['error'] or {}).get('code')}")
    assert doc["error"]["code"] == "foreign_owner"
    assert "zz-bob-canary" not in json.dumps(out)
