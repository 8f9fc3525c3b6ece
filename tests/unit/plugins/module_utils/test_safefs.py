"""Descriptor-relative file access (plugins/module_utils/_safefs.py), on real files, without Ansible."""
from __future__ import annotations

import os
import signal
import stat
from pathlib import Path

import pytest
from ansible_collections.refarch.containers.plugins.module_utils import _safefs, _safefs_write
from ansible_collections.refarch.containers.plugins.module_utils._safefs import UnsafeFile


@pytest.fixture(autouse=True)
def _no_hang():
    """A read that blocks (a FIFO) fails the test instead of hanging the run."""
    def _alarm(signum, frame):
        raise TimeoutError("blocked")
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    app = tmp_path / "root" / "app"
    app.mkdir(parents=True)
    (app / "Dockerfile").write_text("FROM node:22\n")
    (tmp_path / "outside").write_text("secret\n")
    return tmp_path


def code_of(fn, *a, **kw) -> str:
    with pytest.raises(UnsafeFile) as exc:
        fn(*a, **kw)
    assert exc.value.code in _safefs.CODES, exc.value.code
    assert str(exc.value)
    return exc.value.code


def test_read_through_the_chain(tree):
    root = str(tree / "root")
    with _safefs.open_dir(root, str(tree / "root" / "app")) as d:
        data, st = _safefs.read_at(d.fd, "Dockerfile")
        assert data == b"FROM node:22\n" and stat.S_ISREG(st.st_mode)
        assert d.identity == (os.stat(tree / "root" / "app").st_dev, os.stat(tree / "root" / "app").st_ino)
        assert _safefs.read_at(d.fd, "missing", missing_ok=True) == (None, None)
        assert code_of(_safefs.read_at, d.fd, "missing") == "not_found"
        assert code_of(_safefs.read_at, d.fd, "../outside") == "not_under_root"


def test_symlinks_fifos_hardlinks_and_size_are_refused(tree):
    app = tree / "root" / "app"
    (app / "link").symlink_to(tree / "outside")
    os.mkfifo(app / "fifo")
    os.link(tree / "outside", app / "hard")
    (app / "big").write_bytes(b"x" * 100)
    with _safefs.open_dir(str(tree / "root"), str(app)) as d:
        assert code_of(_safefs.read_at, d.fd, "link") == "symlink"
        assert code_of(_safefs.read_at, d.fd, "fifo") == "not_regular_file"
        assert code_of(_safefs.read_at, d.fd, "hard") == "hardlink"
        assert _safefs.read_at(d.fd, "hard", allow_hardlinks=True)[0] == b"secret\n"
        assert code_of(_safefs.read_at, d.fd, "big", max_size=99) == "too_large"
        assert not _safefs.exists_regular(d.fd, "link") and _safefs.lexists(d.fd, "link")


def test_directory_symlink_below_the_root_is_refused_but_a_symlinked_root_is_followed(tree):
    (tree / "root" / "swapped").symlink_to(tree / "root" / "app")
    assert code_of(_safefs.open_dir, str(tree / "root"), str(tree / "root" / "swapped")) == "symlink"
    (tree / "rootlink").symlink_to(tree / "root")
    with _safefs.open_dir(str(tree / "rootlink"), str(tree / "rootlink" / "app")) as d:
        assert _safefs.read_at(d.fd, "Dockerfile")[0] == b"FROM node:22\n"
    assert code_of(_safefs.open_dir, str(tree / "root"), str(tree / "elsewhere")) == "not_under_root"
    assert code_of(_safefs.open_dir, str(tree / "root"), str(tree / "root" / ".." / "x")) == "not_under_root"
    assert _safefs.split_under("/", "/srv/app") == ["srv", "app"]
    assert _safefs.default_root("/srv/app/Dockerfile") == "/srv"


def test_expected_identity_and_recheck(tree):
    app = tree / "root" / "app"
    ident = (os.stat(app).st_dev, os.stat(app).st_ino)
    assert code_of(_safefs.open_dir, str(tree / "root"), str(app), expected=(ident[0], ident[1] + 1)) == "dir_changed"
    d = _safefs.open_dir(str(tree / "root"), str(app), expected=ident)
    try:
        d.recheck(ident)
        os.rename(app, tree / "root" / "moved")
        (tree / "root" / "app").symlink_to(tree)
        assert code_of(d.recheck) == "dir_changed"
        # nothing was written through the swapped path
        assert code_of(_safefs_write.replace_at, d, "Dockerfile", b"new") == "dir_changed"
        assert (tree / "root" / "moved" / "Dockerfile").read_bytes() == b"FROM node:22\n"
        assert not [n for n in os.listdir(tree / "root" / "moved") if n.endswith(_safefs_write.TMP_SUFFIX)]
    finally:
        d.close()


def test_replace_at_is_atomic_and_sets_mode_by_descriptor(tree):
    app = tree / "root" / "app"
    (app / "victim-link").symlink_to(tree / "outside")
    with _safefs.open_dir(str(tree / "root"), str(app)) as d:
        _safefs_write.replace_at(d, "Dockerfile", b"FROM node:24\n", mode=0o4640)
        # a symlink at the destination is replaced, not followed
        _safefs_write.replace_at(d, "victim-link", b"mine\n")
    assert (app / "Dockerfile").read_bytes() == b"FROM node:24\n"
    assert stat.S_IMODE(os.stat(app / "Dockerfile").st_mode) == 0o640
    assert (tree / "outside").read_text() == "secret\n" and not (app / "victim-link").is_symlink()
    assert sorted(os.listdir(app)) == ["Dockerfile", "victim-link"]


def test_create_exclusive_never_follows(tree):
    app = tree / "root" / "app"
    with _safefs.open_dir(str(tree / "root"), str(app)) as d:
        fd, name = _safefs_write.create_exclusive(d.fd, "x.", ".y")
        os.close(fd)
        assert name.startswith("x.") and name.endswith(".y") and len(name) > 10
        (app / "planted").symlink_to(tree / "outside")
        with pytest.raises(UnsafeFile):
            _safefs_write.write_new(d, "planted", b"overwrite")
    assert (tree / "outside").read_text() == "secret\n"


def test_unlink_at_only_what_was_written(tree):
    app = tree / "root" / "app"
    (app / ".dockerignore").write_text("node_modules\n")
    with _safefs.open_dir(str(tree / "root"), str(app)) as d:
        assert code_of(_safefs_write.unlink_at, d, ".dockerignore", "0" * 64) == "checksum_mismatch"
        assert _safefs_write.unlink_at(d, ".dockerignore", _safefs.sha256(b"node_modules\n"))
        assert not _safefs_write.unlink_at(d, ".dockerignore", "0" * 64)


def test_private_dir(tmp_path):
    private = tmp_path / "p" / "backups"
    with _safefs_write.open_private_dir(str(private)) as d:
        path = _safefs_write.write_new(d, _safefs_write.backup_name("/srv/app/Dockerfile"), b"orig", mode=0o640)
    assert stat.S_IMODE(os.stat(private).st_mode) & 0o077 == 0
    assert "srv%app%Dockerfile" in path and path.endswith("~")
    assert _safefs_write.read_private(path)[0] == b"orig"
    os.chmod(private, 0o777)  # noqa: S103 - the case under test
    assert code_of(_safefs_write.open_private_dir, str(private)) == "unsafe_directory"
    os.chmod(private, 0o700)
    (tmp_path / "link").symlink_to(private)
    assert code_of(_safefs_write.open_private_dir, str(tmp_path / "link")) == "symlink"
    if os.geteuid() == 0:
        other = tmp_path / "other"
        other.mkdir(mode=0o700)
        os.chown(other, 12345, 12345)
        assert code_of(_safefs_write.open_private_dir, str(other)) == "unsafe_directory"
        assert code_of(_safefs_write.open_private_dir, str(other / "below")) == "unsafe_directory"


def test_read_sizes_at_and_beyond_what_fstat_says(tmp_path):
    """The whole file at the cap; over it refused; a file longer than its st_size (as /proc files are) read to EOF."""
    (tmp_path / "exact").write_bytes(b"x" * 64)
    (tmp_path / "empty").write_bytes(b"")
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert _safefs.read_at(fd, "exact", max_size=64)[0] == b"x" * 64
        assert _safefs.read_at(fd, "empty", max_size=64)[0] == b""
        with pytest.raises(UnsafeFile) as exc:
            _safefs.read_at(fd, "exact", max_size=63)
        assert exc.value.code == "too_large"
    finally:
        os.close(fd)
    proc = os.open("/proc/self", os.O_RDONLY | os.O_DIRECTORY)
    try:
        st = os.stat("status", dir_fd=proc)
        assert st.st_size == 0, "the test needs a regular file whose st_size understates its content"
        data, _st = _safefs.read_at(proc, "status", max_size=1 << 20)
        assert data.startswith(b"Name:") and len(data) > 100
        with pytest.raises(UnsafeFile) as exc:
            _safefs.read_at(proc, "status", max_size=10)
        assert exc.value.code == "too_large" and "grew" in str(exc.value)
    finally:
        os.close(proc)
