"""Tests for ``refarch.containers.dockerfile_restore``: the rollback of dockerfile_remediate, on temp files."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.refarch.containers.plugins.modules import dockerfile_remediate, dockerfile_restore

DOCKERFILE = "FROM node:22-bookworm-slim\nWORKDIR /app\nCOPY . .\nEXPOSE 80\nCMD npm start\n"
PACKAGE = {"name": "app", "main": "index.js", "scripts": {"start": "node server.js"}}


def run(mod, args: dict, capsys, check_mode: bool = False) -> tuple:
    with patch_module_args(dict(args, _ansible_check_mode=check_mode)), pytest.raises(SystemExit) as exc:
        mod.main()
    return exc.value.code != 0, json.loads(capsys.readouterr().out)


@pytest.fixture
def remediated(tmp_path: Path, capsys) -> tuple:
    app = tmp_path / "root" / "app"
    app.mkdir(parents=True)
    (app / "package.json").write_text(json.dumps(PACKAGE))
    path = app / "Dockerfile"
    path.write_text(DOCKERFILE)
    os.chmod(path, 0o640)
    failed, res = run(dockerfile_remediate, {"path": str(path), "fixes": ["all"], "backup": True,
                                             "backup_dir": str(tmp_path / "backups"), "root": str(tmp_path / "root")},
                      capsys)
    assert not failed and res["changed"] and res["dockerignore_created"], res
    return path, res


def test_restore_is_byte_identical_with_mode(remediated, capsys):
    path, res = remediated
    args = {"path": str(path), "backup_file": res["backup_file"], "backup_sha256": res["sha256_before"]}
    failed, out = run(dockerfile_restore, args, capsys, check_mode=True)
    assert not failed and out["changed"] and path.read_text() != DOCKERFILE
    failed, out = run(dockerfile_restore, args, capsys)
    assert not failed and out["changed"] and out["sha256"] == res["sha256_before"], out
    assert path.read_text() == DOCKERFILE and (path.stat().st_mode & 0o7777) == 0o640
    failed, out = run(dockerfile_restore, args, capsys)
    assert not failed and not out["changed"]
    di = {"path": str(path.parent / ".dockerignore"), "state": "absent", "sha256": res["dockerignore_sha256_after"]}
    failed, out = run(dockerfile_restore, di, capsys)
    assert not failed and out["changed"] and not (path.parent / ".dockerignore").exists()
    assert sorted(os.listdir(path.parent)) == ["Dockerfile", "package.json"]


def test_planted_symlink_is_replaced_not_followed(remediated, capsys, tmp_path):
    path, res = remediated
    victim = tmp_path / "victim"
    victim.write_text("root only\n")
    path.unlink()
    path.symlink_to(victim)
    failed, out = run(dockerfile_restore, {"path": str(path), "backup_file": res["backup_file"],
                                           "backup_sha256": res["sha256_before"]}, capsys)
    assert not failed, out
    assert victim.read_text() == "root only\n" and not path.is_symlink() and path.read_text() == DOCKERFILE


def test_tampered_backup_and_changed_dockerignore_are_refused(remediated, capsys):
    path, res = remediated
    failed, out = run(dockerfile_restore, {"path": str(path), "backup_file": res["backup_file"],
                                           "backup_sha256": "0" * 64}, capsys)
    assert failed and out["refusal"]["code"] == "checksum_mismatch", out
    (path.parent / ".dockerignore").write_text("mine\n")
    failed, out = run(dockerfile_restore, {"path": str(path.parent / ".dockerignore"), "state": "absent",
                                           "sha256": res["dockerignore_sha256_after"]}, capsys)
    assert failed and out["refusal"]["code"] == "checksum_mismatch", out
    assert (path.parent / ".dockerignore").read_text() == "mine\n"
    # a backup outside a private directory is not trusted
    loose = path.parent / "loose~"
    loose.write_text(DOCKERFILE)
    os.chmod(path.parent, 0o777)  # noqa: S103 - the case under test
    failed, out = run(dockerfile_restore, {"path": str(path), "backup_file": str(loose),
                                           "backup_sha256": res["sha256_before"]}, capsys)
    assert failed and out["refusal"]["code"] == "unsafe_directory", out
