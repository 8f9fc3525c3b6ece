"""Tests for ``refarch.containers.dockerfile_remediate`` run through its ``main()`` on temp files."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.refarch.containers.plugins.modules import dockerfile_remediate as mod

DOCKERFILE = (
    "# app image\n"
    "FROM node:22-bookworm-slim\n"
    "WORKDIR /app\n"
    "COPY package*.json ./\n"
    "RUN npm ci --omit=dev\n"
    "COPY . .\n"
    "EXPOSE 80\n"
    "CMD npm start\n"
)
#: the entry point the port fix reads: the app takes its port from PORT
SERVER = "const express = require('express')\nexpress().listen(process.env.PORT || 3000)\n"
PACKAGE = {"name": "app", "main": "index.js", "scripts": {"start": "node server.js"}, "dependencies": {"express": "4"}}


def run_module(args: dict, capsys, check_mode: bool = False, diff: bool = False) -> tuple:
    """Run main() with ``args``; return (failed, result)."""
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    with patch_module_args(args), pytest.raises(SystemExit) as exc:
        mod.main()
    result = json.loads(capsys.readouterr().out)
    return exc.value.code != 0, result


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def app(tmp_path: Path) -> Path:
    (tmp_path / "package.json").write_text(json.dumps(PACKAGE))
    (tmp_path / "server.js").write_text(SERVER)
    path = tmp_path / "Dockerfile"
    path.write_text(DOCKERFILE)
    return path


def test_check_mode_writes_nothing_and_shows_the_plan(app, capsys):
    before = app.read_bytes()
    stat = app.stat()
    failed, res = run_module({"path": str(app), "fixes": ["all"]}, capsys, check_mode=True, diff=True)
    assert not failed, res
    assert res["changed"] is True
    assert app.read_bytes() == before and app.stat().st_mtime_ns == stat.st_mtime_ns
    assert not (app.parent / ".dockerignore").exists()
    assert sorted(os.listdir(app.parent)) == ["Dockerfile", "package.json", "server.js"]   # no temp/lock/backup
    dockerfile_diff, ignore_diff = res["diff"]
    assert dockerfile_diff["before"] == DOCKERFILE
    assert 'CMD ["node", "server.js"]' in dockerfile_diff["after"] and "EXPOSE 8080" in dockerfile_diff["after"]
    assert dockerfile_diff["before_header"] == str(app)
    assert ignore_diff["after"].startswith("node_modules\n")
    assert res["sha256_after"] == sha(dockerfile_diff["after"].encode())
    assert res["sha256_before"] == sha(before)


def test_apply_backup_mode_and_second_run(app, capsys):
    os.chmod(app, 0o640)
    backups = app.parent.parent / "backups"
    failed, res = run_module({"path": str(app), "fixes": ["all"], "backup": True, "backup_dir": str(backups)}, capsys)
    assert not failed, res
    assert res["changed"] and res["dockerignore_changed"]
    text = app.read_text()
    assert sha(app.read_bytes()) == res["sha256_after"]
    assert text.startswith("# app image\nFROM node:22-bookworm-slim\n")
    assert 'CMD ["node", "server.js"]' in text
    assert Path(res["backup_file"]).read_text() == DOCKERFILE
    assert Path(res["backup_file"]).parent == backups and (backups.stat().st_mode & 0o077) == 0
    assert (Path(res["backup_file"]).stat().st_mode & 0o7777) == 0o640
    assert (app.stat().st_mode & 0o7777) == 0o640
    ignore = "node_modules\n.git\n.cache\nnpm-debug.log\n.dockerignore\n*.refarch.tmp\n"   # its own files too
    assert (app.parent / ".dockerignore").read_text() == ignore
    assert {a["fix"] for a in res["applied"]} >= {"replace_npm_start", "add_non_root_user", "exec_form_cmd"}
    again_failed, again = run_module({"path": str(app), "fixes": ["all"], "backup": True,
                                      "backup_dir": str(backups)}, capsys)
    assert not again_failed and again["changed"] is False and again["applied"] == []
    assert "backup_file" not in again


def test_sha_guard_refuses_and_leaves_the_file(app, capsys):
    before = app.read_bytes()
    failed, res = run_module({"path": str(app), "fixes": ["all"], "expected_sha256": "0" * 64}, capsys)
    assert failed and res.get("conflict") is True
    assert "changed since it was scanned" in res["msg"]
    assert app.read_bytes() == before
    assert sorted(os.listdir(app.parent)) == ["Dockerfile", "package.json", "server.js"]


def test_findings_select_the_fixes_and_carry_the_guard(app, capsys):
    digest = sha(app.read_bytes())
    target = {"kind": "dockerfile", "path": str(app), "sha256": digest}
    other = {"kind": "dockerfile", "path": "/elsewhere/Dockerfile", "sha256": "f" * 64}
    findings = [
        {"rule_id": "NRA002", "fix": "remap_privileged_ports", "target": target, "waived": False},
        {"rule_id": "NRA001", "fix": "add_non_root_user", "target": target, "waived": True},
        {"rule_id": "NRA006", "fix": "manual", "target": target},
        {"rule_id": "NRA010", "fix": "replace_npm_start", "target": other},
    ]
    failed, res = run_module({"path": str(app), "findings": findings}, capsys)
    assert not failed, res
    assert res["fixes"] == ["remap_privileged_ports"]
    # the app reads PORT (server.js): the variable is set and EXPOSE names the same port
    assert app.read_text() == DOCKERFILE.replace("EXPOSE 80", "ENV PORT=8080\nEXPOSE 8080")
    assert [(e["fix"], e["status"], e["claims"]) for e in res["fix_status"]] == [
        ("remap_privileged_ports", "applied", ["NRA002"])]
    assert "server.js line 2 reads process.env.PORT" in res["fix_status"][0]["precondition"]
    facts = res["rewritten_facts"]
    assert facts["path"] == str(app) and facts["final_stage"]["env"]["PORT"]["value"] == "8080"
    assert [p["port"] for p in facts["final_stage"]["exposed_ports"]] == [8080]
    # the same findings again: the file no longer has the scanned sha256, so the guard refuses
    failed, res = run_module({"path": str(app), "findings": findings}, capsys)
    assert failed and "changed since it was scanned" in res["msg"]


def test_rule_id_restriction_and_unknown_ids(app, capsys):
    failed, res = run_module({"path": str(app), "fixes": ["NRA011"]}, capsys)
    assert not failed and res["fixes"] == ["exec_form_cmd"]
    assert app.read_text().endswith('CMD ["npm", "start"]\n')
    failed, res = run_module({"path": str(app), "fixes": ["NRA999"]}, capsys)
    assert failed and "NRA999" in res["msg"] and "known fixes: replace_base_image" in res["msg"]
    # rule and fix ids in any case, as the remediate role's plan reads them
    failed, res = run_module({"path": str(app), "fixes": ["nra011", "EXEC_FORM_CMD"], "_ansible_check_mode": True},
                             capsys)
    assert not failed and res["fixes"] == ["exec_form_cmd"]


def test_lock_held_by_another_run_is_a_conflict(app, capsys):
    before = app.read_bytes()
    lock = mod._Lock(str(app))
    lock.acquire()
    try:
        failed, res = run_module({"path": str(app), "fixes": ["all"]}, capsys)
    finally:
        lock.release()
    assert failed and res["conflict"] is True and "in progress" in res["msg"]
    assert app.read_bytes() == before


def test_missing_file_fails_clearly(tmp_path, capsys):
    failed, res = run_module({"path": str(tmp_path / "Dockerfile"), "fixes": ["all"]}, capsys)
    assert failed and "is not a regular file" in res["msg"]


def _spawn(path: Path, expected: str) -> subprocess.Popen:
    args = {"path": str(path), "fixes": ["all"], "expected_sha256": expected}
    code = (
        "import sys, json\n"
        "from ansible.module_utils.testing import patch_module_args\n"
        "from ansible_collections.refarch.containers.plugins.modules import dockerfile_remediate as m\n"
        "with patch_module_args(json.loads(sys.argv[1])):\n"
        "    m.main()\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    return subprocess.Popen([sys.executable, "-c", code, json.dumps(args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


@pytest.mark.parametrize("attempt", range(3))
def test_concurrent_runs_one_wins_one_conflicts(app, attempt):
    original = app.read_bytes()
    expected = sha(original)
    procs = [_spawn(app, expected), _spawn(app, expected)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert out, err
        outs.append((p.returncode, json.loads(out)))
    winners = [r for rc, r in outs if rc == 0]
    losers = [r for rc, r in outs if rc != 0]
    assert len(winners) == 1 and len(losers) == 1, outs
    assert winners[0]["changed"] is True
    assert losers[0]["conflict"] is True
    assert "in progress" in losers[0]["msg"] or "changed since it was scanned" in losers[0]["msg"]
    assert sha(app.read_bytes()) == winners[0]["sha256_after"]   # exactly one run's content, nothing mixed
    assert sorted(os.listdir(app.parent)) == [".dockerignore", "Dockerfile", "package.json", "server.js"]


def test_secrets_stay_on_the_host(tmp_path, capsys):
    (tmp_path / "package.json").write_text(json.dumps(PACKAGE))
    (tmp_path / "server.js").write_text(SERVER)
    path = tmp_path / "Dockerfile"
    path.write_text("FROM node:22\nCOPY server.js ./\nENV NPM_TOKEN=s3cr3t-t0ken-value\nENV API_KEY abcdefgh1234\n"
                    "EXPOSE 80\n"
                    "CMD [\"node\", \"server.js\"]\n")
    failed, res = run_module({"path": str(path), "fixes": ["NRA002"]}, capsys, diff=True)
    assert not failed, res
    returned = json.dumps(res)
    assert "s3cr3t-t0ken-value" not in returned and "abcdefgh1234" not in returned
    assert "EXPOSE 8080" in res["diff"][0]["after"]
    on_disk = path.read_text()
    assert "ENV NPM_TOKEN=s3cr3t-t0ken-value\nENV API_KEY abcdefgh1234\n" in on_disk   # the file keeps them


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_owner_and_group_are_kept(app, capsys):
    os.chown(app, 1234, 2345)
    os.chmod(app, 0o604)
    failed, res = run_module({"path": str(app), "fixes": ["NRA002"], "backup": True,
                              "backup_dir": str(app.parent.parent / "backups")}, capsys)
    assert not failed and res["changed"], res
    bst = Path(res["backup_file"]).stat()
    assert (bst.st_uid, bst.st_gid, bst.st_mode & 0o7777) == (1234, 2345, 0o604)
    st = app.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (1234, 2345, 0o604)
    assert "EXPOSE 8080" in app.read_text()


@pytest.mark.parametrize("side", ["package.json", ".dockerignore", "Dockerfile.dockerignore"])
@pytest.mark.parametrize("kind", ["symlink", "fifo"])
def test_side_file_symlink_or_fifo_is_refused_in_check_mode_too(app, capsys, side, kind):
    victim = app.parent.parent / f"victim-{side}-{kind}"
    victim.write_text('{"scripts": {"start": "node stolen.js"}}\nVICTIMDATA\n')
    if side == "package.json":
        (app.parent / side).unlink()
    if kind == "symlink":
        (app.parent / side).symlink_to(victim)
    else:
        os.mkfifo(app.parent / side)
    before = app.read_bytes()
    for check in (True, False):
        args = {"path": str(app), "fixes": ["all"], "backup": True, "backup_dir": str(app.parent.parent / "backups")}
        failed, res = run_module(args, capsys, check_mode=check, diff=True)
        assert failed and res["refused"] is True, res
        assert res["refusal"]["code"] == ("symlink" if kind == "symlink" else "not_regular_file")
        assert res["msg"].startswith("refused: ") and side in res["msg"] and "nothing was written" in res["msg"]
        assert "VICTIMDATA" not in json.dumps(res) and "stolen" not in json.dumps(res)
    assert app.read_bytes() == before
    assert victim.read_text().endswith("VICTIMDATA\n")


def test_directory_swapped_since_the_scan_is_refused(app, capsys):
    scanned = app.parent.stat()
    ident = {"dev": scanned.st_dev, "ino": scanned.st_ino}
    root = str(app.parent.parent)
    failed, res = run_module({"path": str(app), "fixes": ["NRA002"], "root": root, "expected_dir_identity": ident},
                             capsys, check_mode=True)
    assert not failed and res["changed"], res
    # the directory is swapped for a copy elsewhere and a symlink to it
    moved = app.parent.parent / (app.parent.name + "-moved")
    os.rename(app.parent, moved)
    elsewhere = app.parent.parent / (app.parent.name + "-copy")
    elsewhere.mkdir()
    (elsewhere / "Dockerfile").write_bytes((moved / "Dockerfile").read_bytes())
    app.parent.symlink_to(elsewhere)
    failed, res = run_module({"path": str(app), "fixes": ["NRA002"], "root": root, "expected_dir_identity": ident},
                             capsys)
    assert failed and res["refused"] and res["refusal"]["code"] == "symlink", res
    # a real directory (not a link) that is not the scanned one
    app.parent.unlink()
    os.rename(elsewhere, app.parent)
    failed, res = run_module({"path": str(app), "fixes": ["NRA002"], "root": root, "expected_dir_identity": ident},
                             capsys)
    assert failed and res["refused"] and res["conflict"] and res["refusal"]["code"] == "dir_changed", res
    assert "changed since the scan" in res["msg"]
    assert "EXPOSE 80\n" in app.read_text() and "EXPOSE 80\n" in (moved / "Dockerfile").read_text()


def test_hard_linked_dockerfile_is_refused_unless_allowed(app, capsys):
    os.link(app, app.parent.parent / f"{app.parent.name}-hardlink")
    failed, res = run_module({"path": str(app), "fixes": ["NRA002"]}, capsys)
    assert failed and res["refusal"]["code"] == "hardlink", res
    failed, res = run_module({"path": str(app), "fixes": ["NRA002"], "allow_hardlinks": True}, capsys)
    assert not failed and res["changed"], res


def test_unsafe_backup_dir_is_refused_before_anything_is_written(app, capsys):
    backups = app.parent.parent / "open-backups"
    backups.mkdir(mode=0o777)
    os.chmod(backups, 0o777)  # noqa: S103 - the case under test
    before = app.read_bytes()
    failed, res = run_module({"path": str(app), "fixes": ["NRA002"], "backup": True, "backup_dir": str(backups)},
                             capsys)
    assert failed and "cannot back up" in res["msg"] and "writable" in res["msg"], res
    assert app.read_bytes() == before and not list(backups.iterdir())


def test_control_characters_in_the_path_are_escaped_in_messages_and_diff_headers(tmp_path, capsys):
    app = tmp_path / "\x1b[2J\x1b]8;;https:x\x07app"
    app.mkdir()
    (app / "package.json").write_text(json.dumps(PACKAGE))
    (app / "Dockerfile").write_text(DOCKERFILE)
    failed, res = run_module({"path": str(app / "Dockerfile"), "fixes": ["NRA002"]}, capsys, check_mode=True, diff=True)
    assert not failed, res
    headers = [d[k] for d in res["diff"] for k in ("before_header", "after_header")]
    assert headers and not any("\x1b" in h or "\x07" in h for h in headers), headers
    assert "\\x1b[2J" in res["diff"][0]["before_header"]
    os.mkfifo(app / ".dockerignore")
    failed, res = run_module({"path": str(app / "Dockerfile"), "fixes": ["NRA002"]}, capsys)
    assert failed and "\x1b" not in res["msg"] and "\\x1b" in res["msg"], res["msg"]


def test_rewritten_facts_describe_the_declared_build(tmp_path, capsys):
    """With a declared build's target, the facts returned for the controller's re-evaluation are that stage's."""
    (tmp_path / "server.js").write_text(SERVER)
    path = tmp_path / "Dockerfile"
    path.write_text("FROM node:22 AS app\nCOPY server.js ./\nEXPOSE 80\nCMD [\"node\", \"server.js\"]\n"
                    "FROM app AS debug\nCMD [\"node\", \"--inspect\", \"server.js\"]\n")
    failed, res = run_module({"path": str(path), "fixes": ["NRA002"], "build_target": "app"}, capsys)
    assert not failed, res
    assert res["rewritten_facts"]["final_stage"]["name"] == "app"
    assert [p["port"] for p in res["rewritten_facts"]["final_stage"]["exposed_ports"]] == [8080]


def test_the_fixes_act_on_the_declared_target_stage(tmp_path, capsys):
    """A declared build of an earlier stage: the fixes change that stage (not the last one), or are declined."""
    (tmp_path / "server.js").write_text(SERVER)
    path = tmp_path / "Dockerfile"
    debug = "FROM app AS debug\nCMD [\"node\", \"--inspect\", \"server.js\"]\n"
    path.write_text("FROM node:22-bookworm-slim AS app\nCOPY server.js ./\nCMD [\"node\", \"server.js\"]\n" + debug)
    failed, res = run_module({"path": str(path), "fixes": ["NRA007", "NRA003"], "build_target": "app"}, capsys)
    assert not failed, res
    text = path.read_text()
    assert text.endswith(debug) and text.index("/usr/bin/tini") < text.index("FROM app AS debug")
    assert res["rewritten_facts"]["final_stage"]["entrypoint"]["argv"][0] == "/usr/bin/tini"
    status = {e["fix"]: e["status"] for e in res["fix_status"]}
    assert status == {"add_init_process": "applied", "split_multi_stage": "skipped"}
    assert "not the last stage" in next(d["reason"] for d in res["declined"] if d["fix"] == "split_multi_stage")


def test_a_declared_build_context_is_where_the_fixes_read_and_write(tmp_path, capsys):
    """compose: context ., dockerfile docker/api.Dockerfile: package.json, the sources and the .dockerignore are the
    context's (BuildKit's ignore file for that build), not the Dockerfile folder's."""
    (tmp_path / "package.json").write_text(json.dumps(PACKAGE))
    (tmp_path / "server.js").write_text(SERVER)
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / ".dockerignore").write_text("not-used-for-this-build\n")
    path = tmp_path / "docker" / "api.Dockerfile"
    path.write_text(DOCKERFILE)
    args = {"path": str(path), "fixes": ["NRA010", "NRA004"], "root": str(tmp_path), "build_context": str(tmp_path)}
    failed, res = run_module(args, capsys, check_mode=True)
    assert not failed and res["changed"] is True and "would_fail" not in res, res
    assert not (tmp_path / ".dockerignore").exists()
    failed, res = run_module(args, capsys)
    assert not failed, res
    status = {e["fix"]: e["status"] for e in res["fix_status"]}
    assert status == {"replace_npm_start": "applied", "write_dockerignore": "applied"}, res["fix_status"]
    assert 'CMD ["node", "server.js"]' in path.read_text()
    assert res["dockerignore_path"] == str(tmp_path / ".dockerignore") and res["dockerignore_created"] is True
    assert "node_modules" in (tmp_path / ".dockerignore").read_text()
    assert (tmp_path / "docker" / ".dockerignore").read_text() == "not-used-for-this-build\n"
    assert res["rewritten_facts"]["package_json"]["path"] == str(tmp_path / "package.json")
    # a context reached through a symlink is refused, nothing written
    (tmp_path / "link").symlink_to(tmp_path)
    before = path.read_bytes()
    failed, res = run_module(dict(args, build_context=str(tmp_path / "link")), capsys)
    assert failed and res.get("refused") is True, res
    assert path.read_bytes() == before
