"""Privilege-aware reading: the owner rule (``_safefs.owner_refusal``, pure) and the scan's reads (``_walker.Reader``).

The rule's table is tested as a pure function. The reads are tested on real files owned by other uids
(``chown`` needs root: those tests skip otherwise); the uids need not exist.
"""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from ansible_collections.refarch.containers.plugins.module_utils._discovery import scan
from ansible_collections.refarch.containers.plugins.module_utils._safefs import owner_refusal
from ansible_collections.refarch.containers.plugins.module_utils._walker import Reader

ROOT, ALICE, MALLORY = 0, 40001, 40002
REG, DIR = stat.S_IFREG, stat.S_IFDIR


def st(uid: int, mode: int, nlink: int = 1) -> os.stat_result:
    return os.stat_result((mode, 1, 1, nlink, uid, uid, 10, 0, 0, 0))


# (case, file, directory, link owner or None, refused?)
TABLE = [
    ("own file in own directory", st(ALICE, REG | 0o600), st(ALICE, DIR | 0o700), None, False),
    ("root's file in a root-only directory", st(ROOT, REG | 0o600), st(ROOT, DIR | 0o755), None, False),
    ("root's 0644 file left in a user's directory (sudo cp)", st(ROOT, REG | 0o644), st(ALICE, DIR | 0o755),
     None, False),
    ("root's 0600 file in mallory's directory", st(ROOT, REG | 0o600), st(MALLORY, DIR | 0o755), None, True),
    ("another user's 0600 file in mallory's directory", st(ALICE, REG | 0o600), st(MALLORY, DIR | 0o755), None,
     True),
    ("a readable file with two names (hard link) in mallory's directory", st(ROOT, REG | 0o644, nlink=2),
     st(MALLORY, DIR | 0o755), None, True),
    ("own file with two names (allow_hardlinks decides)", st(ALICE, REG | 0o600, nlink=2), st(ALICE, DIR | 0o755),
     None, False),
    ("a user's 0600 file in a root-only directory (only root named it)", st(ALICE, REG | 0o600),
     st(ROOT, DIR | 0o755), None, False),
    ("a user's file with two names in a root-only directory (root made the link)", st(ALICE, REG | 0o600, nlink=2),
     st(ROOT, DIR | 0o755), None, False),
    ("a user's 0600 file in a world-writable root directory", st(ALICE, REG | 0o600), st(ROOT, DIR | 0o1777),
     None, True),
    ("a user's 0600 file in a group-writable root directory", st(ALICE, REG | 0o600), st(ROOT, DIR | 0o775),
     None, True),
    ("own symlink to own file", st(ALICE, REG | 0o600), st(ALICE, DIR | 0o755), ALICE, False),
    ("mallory's symlink to alice's key", st(ALICE, REG | 0o600), st(MALLORY, DIR | 0o755), MALLORY, True),
    ("mallory's symlink to a file readable by everyone (may sit in a 0700 directory)", st(ALICE, REG | 0o644),
     st(MALLORY, DIR | 0o755), MALLORY, True),
    ("mallory's symlink in alice's group-writable directory to alice's key", st(ALICE, REG | 0o600),
     st(ALICE, DIR | 0o775), MALLORY, True),
    ("root's symlink in a root-only directory to a user's file", st(ALICE, REG | 0o600), st(ROOT, DIR | 0o755),
     ROOT, False),
    ("root's symlink in mallory's directory to a root-only file", st(ROOT, REG | 0o600),
     st(MALLORY, DIR | 0o755), ROOT, True),
]


@pytest.mark.parametrize("name,file_st,dir_st,link_uid,refused", TABLE, ids=[t[0] for t in TABLE])
def test_owner_rule(name, file_st, dir_st, link_uid, refused):
    why = owner_refusal(file_st, dir_st, link_uid)
    assert (why is not None) is refused, why
    if refused:
        assert f"uid {file_st.st_uid if link_uid in (None, ROOT, dir_st.st_uid) else link_uid}" in why


# ------------------------------------------------------------------------------ real files (root only)
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to other uids needs root")
SECRET = "zqforeign-canary-0a1b2c"


def _own(path: Path, uid: int, mode: int) -> Path:
    os.chown(path, uid, uid, follow_symlinks=False)
    if not path.is_symlink():
        path.chmod(mode)
    return path


def _tree(tmp_path: Path) -> Path:
    """A root spanning two users: home/alice (0700, a key) and home/mallory/app (mallory's)."""
    root = tmp_path / "home"
    (root / "alice" / ".ssh").mkdir(parents=True)
    (root / "mallory" / "app").mkdir(parents=True)
    key = root / "alice" / ".ssh" / "id_ed25519"
    key.write_text(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{SECRET}\n-----END OPENSSH PRIVATE KEY-----\n")
    for p in (root / "alice", root / "alice" / ".ssh", key):
        _own(p, ALICE, 0o700 if p.is_dir() else 0o600)
    for p in (root / "mallory", root / "mallory" / "app"):
        _own(p, MALLORY, 0o755)
    return root


@needs_root
def test_reader_refuses_a_foreign_file_before_reading_it(tmp_path):
    root = _tree(tmp_path)
    app = root / "mallory" / "app"
    (app / "mine").write_text("FROM node:22\n")
    _own(app / "mine", MALLORY, 0o600)
    (app / "theirs").write_text(SECRET)
    _own(app / "theirs", ALICE, 0o600)
    with Reader(1 << 20) as reader:
        assert reader.read_path(str(app / "mine")).data == b"FROM node:22\n"
        res = reader.read_path(str(app / "theirs"))
        assert res.data is None and res.error[0] == "foreign_owner" and SECRET not in res.error[1]
        assert f"uid {ALICE}" in res.error[1] and "read_foreign_files" in res.error[1]
    with Reader(1 << 20, read_foreign_files=True) as reader:
        assert reader.read_path(str(app / "theirs")).data == SECRET.encode()
    with Reader(1 << 20, euid=1000) as reader:  # not root: the kernel decides, the rule is off
        assert reader.read_path(str(app / "theirs")).data == SECRET.encode()


@needs_root
def test_reader_refuses_hard_links_unless_allowed(tmp_path):
    root = _tree(tmp_path)
    app = root / "mallory" / "app"
    os.link(root / "alice" / ".ssh" / "id_ed25519", app / "Dockerfile")
    (app / "own").write_text("FROM node:22\n")
    _own(app / "own", MALLORY, 0o644)
    os.link(app / "own", app / "own2")
    with Reader(1 << 20) as reader:
        res = reader.read_path(str(app / "Dockerfile"))
        assert res.error[0] == "hardlink" and "allow_hardlinks" in res.error[1]
        assert reader.read_path(str(app / "own")).error[0] == "hardlink"
    with Reader(1 << 20, allow_hardlinks=True) as reader:
        # hard links allowed: mallory's own file is read, alice's key still is not hers
        assert reader.read_path(str(app / "own")).data == b"FROM node:22\n"
        assert reader.read_path(str(app / "Dockerfile")).error[0] == "foreign_owner"


@needs_root
def test_reader_checks_the_directory_is_the_one_listed(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_text("x")
    other = os.stat(tmp_path)
    with Reader(100) as reader:
        res = reader.read_path(str(tmp_path / "a" / "f"), (other.st_dev, other.st_ino))
        assert res.error[0] == "dir_changed"
    os.rename(tmp_path / "a", tmp_path / "b")
    os.symlink("b", tmp_path / "a")
    with Reader(100) as reader:
        assert reader.read_path(str(tmp_path / "a" / "f")).error[0] == "dir_changed"


@needs_root
def test_scan_of_a_root_spanning_users(tmp_path):
    """The attack of issue 18 item 5, in process: every planted name is a per-file problem, nothing leaks."""
    root = _tree(tmp_path)
    app = root / "mallory" / "app"
    (app / "Dockerfile").symlink_to("../../alice/.ssh/id_ed25519")
    _own(app / "Dockerfile", MALLORY, 0)
    (app / "hard").mkdir()
    notes = root / "alice" / "notes"
    notes.write_text(SECRET)
    _own(notes, ALICE, 0o600)
    os.link(notes, app / "hard" / "Dockerfile")
    side = app / "side"
    side.mkdir()
    (side / "Dockerfile").write_text("FROM node:22\nUSER node\n")
    (side / "package.json").write_text(json.dumps({"scripts": {"start": SECRET}}))
    (side / ".dockerignore").write_text(SECRET + "\n")
    _own(side / "package.json", ALICE, 0o600)
    _own(side / ".dockerignore", ALICE, 0o600)
    _own(side / "Dockerfile", MALLORY, 0o644)
    _own(side, MALLORY, 0o755)
    _own(app / "hard", MALLORY, 0o755)
    res = scan([str(root)], workers=1)
    docs = {d["path"]: d for d in res["dockerfiles"]}
    assert SECRET not in json.dumps(res)
    assert docs[str(app / "Dockerfile")]["error"]["code"] == "foreign_owner"
    assert docs[str(app / "hard" / "Dockerfile")]["error"]["code"] == "hardlink"
    ok = docs[str(side / "Dockerfile")]
    assert ok["error"] is None and ok["final_stage"]["user"]["name"] == "node"
    assert ok["package_json"]["error"]["code"] == "foreign_owner"
    assert ok["dockerignore"]["error"]["code"] == "foreign_owner"
    assert sorted(p["code"] for p in ok["problems"]) == ["foreign_owner", "foreign_owner"]
    # the same scan with the options: read
    res = scan([str(root)], workers=1, read_foreign_files=True, allow_hardlinks=True)
    docs = {d["path"]: d for d in res["dockerfiles"]}
    assert docs[str(app / "Dockerfile")]["error"] is None
    assert docs[str(app / "hard" / "Dockerfile")]["error"] is None
    assert docs[str(side / "Dockerfile")]["package_json"]["scripts"] == {"start": SECRET}
