"""Discovery walk and bounded reads (plugins/module_utils/_walker.py, _discovery.py)."""
from __future__ import annotations

import errno
import itertools
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from ansible_collections.refarch.containers.plugins.module_utils import _discovery, _discovery_pool, _walker
from ansible_collections.refarch.containers.plugins.module_utils._discovery import scan
from ansible_collections.refarch.containers.plugins.module_utils._walker import Matcher, read_bounded, walk

FROM = "FROM node:20\n"


@pytest.fixture(autouse=True)
def _no_hang():
    """Guard: a walk that blocks (for example on a FIFO) fails the test instead of hanging the run."""
    def _alarm(signum, frame):
        raise TimeoutError("the walk blocked")
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def _write(root: Path, rel: str, text: str = FROM) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


def _rel(root: Path, cands) -> list:
    return sorted(os.path.relpath(c.path, root) for c in cands)


def _docs(root: Path, **kw) -> dict:
    res = scan([str(root)], **kw)
    return {os.path.relpath(d["path"], root): d for d in res["dockerfiles"]}, res


def test_default_name_patterns(tmp_path):
    for rel in ("Dockerfile", "a/Containerfile", "b/app.Dockerfile", "c/Dockerfile.prod", "d/web.dockerfile",
                "e/Containerfile.dev", "f/dockerfile", "g/Dockerfile.dockerignore", "h/README.md",
                "i/NotADockerfile.txt"):
        _write(tmp_path, rel)
    found, problems, dummy = walk([str(tmp_path)])
    # the default patterns match in any case
    assert _rel(tmp_path, found) == ["Dockerfile", "a/Containerfile", "b/app.Dockerfile", "c/Dockerfile.prod",
                                     "d/web.dockerfile", "e/Containerfile.dev", "f/dockerfile"]
    assert problems == []
    found, dummy, dummy = walk([str(tmp_path)], Matcher(patterns=["Dockerfile"]))
    assert "f/dockerfile" not in _rel(tmp_path, found)
    found, dummy, dummy = walk([str(tmp_path)], Matcher(patterns=["Dockerfile"], case_insensitive=True))
    assert "f/dockerfile" in _rel(tmp_path, found)
    found, dummy, dummy = walk([str(tmp_path)], Matcher(patterns=["*.md"]))
    assert _rel(tmp_path, found) == ["h/README.md"]


def test_quick_name_test_never_skips_a_match():
    """The walk skips the name regex for a name that starts with no d/c and ends with no e (Matcher.quick): every
    name the default patterns or the descriptors match passes that test, whatever the case (also the letters that
    fold to ASCII ones under IGNORECASE), so nothing is skipped that the regex would have found."""
    # every character the regex reads as d, c or e in any case is one of "dDcCeE"
    for letter in "dce":
        folds = re.compile("(?i)" + letter)
        same = sorted(chr(i) for i in range(sys.maxunicode + 1) if folds.fullmatch(chr(i)))
        assert same == sorted(letter.upper() + letter)
    rng = random.Random(7)
    pieces = ["Dockerfile", "dockerfile", "DOCKERFILE", "Containerfile", "compose", "docker-compose", "docker-bake",
              ".", "-", "_", "yml", "yaml", "hcl", "json", "e", "E", "x", "\u212a", "\u017f", "\u0130", "\u0131"]
    names = ["".join(p) for p in itertools.product(pieces, repeat=2)]
    names += ["".join(rng.choice(pieces) for dummy in range(rng.randint(1, 5))) for dummy in range(20000)]
    for matcher in (Matcher(), Matcher(descriptors=True)):
        assert matcher.quick
        for name in names:
            if matcher.walk_re.match(name):
                assert name[0] in "dDcC" or name[-1] in "eE", name
    assert not Matcher(patterns=["*.md"]).quick


def test_excludes_are_pruned(tmp_path):
    for rel in ("app/Dockerfile", "app/node_modules/pkg/Dockerfile", ".git/Dockerfile", "app/.cache1/Dockerfile",
                "vendor/x/Dockerfile", "keep/vendor/Dockerfile"):
        _write(tmp_path, rel)
    found, dummy, stats = walk([str(tmp_path)])
    assert _rel(tmp_path, found) == ["app/.cache1/Dockerfile", "app/Dockerfile", "keep/vendor/Dockerfile",
                                     "vendor/x/Dockerfile"]
    assert stats["pruned"] == 2
    m = Matcher(excludes=["node_modules", ".cache*", str(tmp_path / "vendor")])
    found, dummy, dummy = walk([str(tmp_path)], m)
    assert _rel(tmp_path, found) == [".git/Dockerfile", "app/Dockerfile", "keep/vendor/Dockerfile"]


def test_max_depth(tmp_path):
    for rel in ("Dockerfile", "a/Dockerfile", "a/b/Dockerfile", "a/b/c/Dockerfile"):
        _write(tmp_path, rel)
    assert _rel(tmp_path, walk([str(tmp_path)], max_depth=0)[0]) == ["Dockerfile"]
    assert _rel(tmp_path, walk([str(tmp_path)], max_depth=2)[0]) == ["Dockerfile", "a/Dockerfile", "a/b/Dockerfile"]
    assert len(walk([str(tmp_path)])[0]) == 4


def test_symlinked_dirs_never_followed_and_loops_terminate(tmp_path):
    _write(tmp_path, "real/Dockerfile")
    os.symlink(tmp_path / "real", tmp_path / "alias")
    os.symlink("..", tmp_path / "real" / "up")
    outside = Path(tempfile.mkdtemp())
    try:
        _write(outside, "Dockerfile")
        os.symlink(outside, tmp_path / "out")
        found, problems, dummy = walk([str(tmp_path)])
        assert _rel(tmp_path, found) == ["real/Dockerfile"]
        assert problems == []
    finally:
        (outside / "Dockerfile").unlink()
        outside.rmdir()


def test_symlinked_files(tmp_path):
    root = tmp_path / "root"
    _write(root, "src/Dockerfile.base")
    _write(tmp_path, "secret/Dockerfile", "FROM node\nENV X=marker-0f9e8d\n")
    os.symlink(root / "src" / "Dockerfile.base", root / "Dockerfile")           # inside: read
    os.symlink(tmp_path / "secret" / "Dockerfile", root / "src" / "Containerfile")  # outside: refused
    os.symlink("nowhere", root / "dangling.Dockerfile")                           # dangling
    os.symlink("loop2.Dockerfile", root / "loop1.Dockerfile")                     # file symlink loop
    os.symlink("loop1.Dockerfile", root / "loop2.Dockerfile")
    os.symlink(root / "src", root / "dir.Dockerfile")                               # points at a directory
    docs, res = _docs(root)
    assert docs["Dockerfile"]["error"] is None and docs["Dockerfile"]["stages"][0]["base"]["tag"] == "20"
    assert docs["src/Containerfile"]["error"]["code"] == "symlink_outside_root"
    assert "marker-0f9e8d" not in json.dumps(res)
    assert docs["dangling.Dockerfile"]["error"]["code"] == "broken_symlink"
    assert docs["loop1.Dockerfile"]["error"]["code"] == "symlink_loop"
    assert docs["loop2.Dockerfile"]["error"]["code"] == "symlink_loop"
    assert docs["dir.Dockerfile"]["error"]["code"] == "not_regular_file"
    # the target is also scanned under its own name: each name is its own build context
    assert docs["src/Dockerfile.base"]["error"] is None
    assert docs["src/Dockerfile.base"]["sha256"] == docs["Dockerfile"]["sha256"]
    docs, dummy = _docs(root, follow_symlinks_within_root=False)
    assert docs["Dockerfile"]["error"]["code"] == "symlink_not_followed"


def test_fifo_socket_never_opened(tmp_path):
    _write(tmp_path, "Dockerfile")
    os.mkfifo(tmp_path / "Dockerfile.fifo")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "Dockerfile.sock"))
    sock.close()
    docs, dummy = _docs(tmp_path)
    assert docs["Dockerfile"]["error"] is None
    assert docs["Dockerfile.fifo"]["error"]["code"] == "not_regular_file"
    assert docs["Dockerfile.sock"]["error"]["code"] == "not_regular_file"
    # and a direct read of a FIFO (swapped in after the walk) returns at once
    res = read_bounded(str(tmp_path / "Dockerfile.fifo"), 1000)
    assert res.data is None and res.error[0] == "not_regular_file"


def test_read_bounded_refuses_symlink_and_large(tmp_path):
    big = tmp_path / "big"
    big.write_bytes(b"x" * 5000)
    res = read_bounded(str(big), 4999)
    assert res.error[0] == "too_large" and res.size == 5000 and res.data is None
    assert read_bounded(str(big), 5000).data == b"x" * 5000
    os.symlink(big, tmp_path / "link")
    assert read_bounded(str(tmp_path / "link"), 10**6).error[0] == "symlink_not_followed"
    assert read_bounded(str(tmp_path / "missing"), 10).error[0] == "not_found"


def test_oversized_dockerfile_is_an_error_document(tmp_path):
    _write(tmp_path, "Dockerfile", FROM + "RUN true\n" * 2000)
    docs, dummy = _docs(tmp_path, max_file_size=1000)
    doc = docs["Dockerfile"]
    assert doc["error"]["code"] == "too_large" and doc["size"] > 1000 and doc["instructions"] == []


def test_missing_root_and_file_root(tmp_path):
    _write(tmp_path, "odd-name.txt")
    res = scan([str(tmp_path / "nope"), str(tmp_path / "odd-name.txt")])
    assert [p["code"] for p in res["problems"]] == ["root_not_found"]
    assert str(tmp_path / "nope") in res["problems"][0]["message"]
    assert [d["name"] for d in res["dockerfiles"]] == ["odd-name.txt"]


def test_overlapping_roots_scanned_once(tmp_path):
    _write(tmp_path, "a/Dockerfile")
    os.link(tmp_path / "a" / "Dockerfile", tmp_path / "a" / "Dockerfile.copy")
    found, dummy, dummy = walk([str(tmp_path / "a"), str(tmp_path), str(tmp_path / "a" / "Dockerfile"), str(tmp_path)])
    assert _rel(tmp_path, found) == ["a/Dockerfile", "a/Dockerfile.copy"]


def test_side_files_and_specific_dockerignore(tmp_path):
    _write(tmp_path, "app/Dockerfile")
    _write(tmp_path, "app/web.Dockerfile")
    _write(tmp_path, "app/.dockerignore", "node_modules\n")
    _write(tmp_path, "app/web.Dockerfile.dockerignore", "dist\n")
    _write(tmp_path, "app/package.json", '{"name": "x", "dependencies": {"a": "1"}}')
    docs, dummy = _docs(tmp_path)
    assert docs["app/Dockerfile"]["dockerignore"]["patterns"] == ["node_modules"]
    assert docs["app/web.Dockerfile"]["dockerignore"]["patterns"] == ["dist"]
    assert docs["app/web.Dockerfile"]["dockerignore"]["path"].endswith("web.Dockerfile.dockerignore")
    assert docs["app/Dockerfile"]["package_json"]["dependencies"] == 1


def test_side_files_read_once_per_directory(tmp_path, monkeypatch):
    for i in range(3):
        _write(tmp_path, f"app/s{i}.Dockerfile")
    _write(tmp_path, "app/package.json", "{}")
    calls = []
    real = _walker.Reader.read

    def counting(self, dir_fd, name, *args):
        calls.append(name)
        return real(self, dir_fd, name, *args)

    monkeypatch.setattr(_walker.Reader, "read", counting)
    scan([str(tmp_path)])
    assert calls.count("package.json") == 1 and len(calls) == 4


def test_injected_permission_errors(tmp_path, monkeypatch):
    _write(tmp_path, "Dockerfile")
    _write(tmp_path, "sub/Dockerfile")
    real_scandir, real_open = os.scandir, os.open

    def scandir(path):
        if str(path).endswith("sub"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_scandir(path)

    def fake_open(path, flags, *a, **kw):
        # a directory is listed through os.open(dir) + os.scandir(fd) where the platform allows;
        # a file is read through os.open(name, dir_fd=...)
        if str(path).endswith(("Dockerfile", "sub")):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *a, **kw)

    monkeypatch.setattr(_walker.os, "scandir", scandir)
    monkeypatch.setattr(_walker.os, "open", fake_open)
    res = scan([str(tmp_path)])
    assert [p["code"] for p in res["problems"]] == ["permission_denied"]
    assert res["problems"][0]["path"].endswith("sub")
    assert res["dockerfiles"][0]["error"]["code"] == "permission_denied"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to an unprivileged uid")
def test_real_permission_denied_as_unprivileged_user():
    base = Path(tempfile.mkdtemp(prefix="refarch-perm-"))
    try:
        base.chmod(0o755)
        _write(base, "ok/Dockerfile")
        _write(base, "locked/Dockerfile")
        _write(base, "unreadable/Dockerfile")
        (base / "locked").chmod(0o000)
        (base / "unreadable" / "Dockerfile").chmod(0o000)
        code = (
            "import json, os, sys\n"
            "from ansible_collections.refarch.containers.plugins.module_utils._discovery import scan\n"
            "os.setgid(65534); os.setuid(65534)\n"
            "r = scan([sys.argv[1]])\n"
            "print(json.dumps({'problems': r['problems'], "
            "'docs': {d['path']: d['error'] for d in r['dockerfiles']}}))\n"
        )
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        out = subprocess.run([sys.executable, "-c", code, str(base)], capture_output=True, text=True, env=env,
                             timeout=120, check=False)
        assert out.returncode == 0, out.stderr
        data = json.loads(out.stdout)
        assert [(p["path"], p["code"]) for p in data["problems"]] == [(str(base / "locked"), "permission_denied")]
        assert data["docs"][str(base / "ok" / "Dockerfile")] is None
        assert data["docs"][str(base / "unreadable" / "Dockerfile")]["code"] == "permission_denied"
    finally:
        (base / "locked").chmod(0o755)
        subprocess.run(["rm", "-rf", str(base)], check=False)


def _try_mount(args) -> bool:
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", *args], capture_output=True, check=False).returncode == 0


def test_bind_mount_loop_and_one_filesystem(tmp_path):
    _write(tmp_path, "a/Dockerfile")
    (tmp_path / "a" / "loop").mkdir()
    (tmp_path / "a" / "tmpfs").mkdir()
    if not _try_mount(["--bind", str(tmp_path / "a"), str(tmp_path / "a" / "loop")]):
        pytest.skip("bind mounts are not permitted here")
    try:
        found, dummy, dummy = walk([str(tmp_path)])
        assert _rel(tmp_path, found) == ["a/Dockerfile"]  # the bind-mount loop is entered at most once
        if not _try_mount(["-t", "tmpfs", "tmpfs", str(tmp_path / "a" / "tmpfs")]):
            pytest.skip("tmpfs mounts are not permitted here")
        try:
            _write(tmp_path, "a/tmpfs/Dockerfile")
            assert "a/tmpfs/Dockerfile" in _rel(tmp_path, walk([str(tmp_path)])[0])
            assert "a/tmpfs/Dockerfile" not in _rel(tmp_path, walk([str(tmp_path)], one_filesystem=True)[0])
        finally:
            subprocess.run(["umount", str(tmp_path / "a" / "tmpfs")], check=False)
    finally:
        subprocess.run(["umount", str(tmp_path / "a" / "loop")], check=False)


def test_bad_files_never_fail_the_scan(tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "Dockerfile").write_bytes(b"FROM node\x00\x01" * 100)
    (tmp_path / "latin").mkdir()
    (tmp_path / "latin" / "Dockerfile").write_bytes("FROM node:20\nLABEL a=\"Jos\xe9\"\n".encode("latin-1"))
    _write(tmp_path, "heredoc/Dockerfile", "FROM node:20\nRUN <<EOF\necho never ends\n")
    _write(tmp_path, "json/Dockerfile", "FROM node:20\nCMD [\"node\", \n")
    _write(tmp_path, "empty/Dockerfile", "")
    docs, res = _docs(tmp_path)
    assert docs["bin/Dockerfile"]["error"]["code"] == "binary"
    assert any(p["code"] == "decode_error" for p in docs["latin/Dockerfile"]["problems"])
    assert any(p["code"] == "unterminated_heredoc" for p in docs["heredoc/Dockerfile"]["problems"])
    assert docs["json/Dockerfile"]["final_stage"] is not None
    assert docs["empty/Dockerfile"]["final_stage"] is None and docs["empty/Dockerfile"]["problems"]
    assert res["summary"]["dockerfiles"] == 5 and res["summary"]["errors"] == 1


def test_invalid_redact_pattern_is_an_option_error(tmp_path):
    with pytest.raises(ValueError):
        scan([str(tmp_path)], redact_names=["("])


def test_undecodable_file_names_are_escaped(tmp_path):
    bad_dir = os.fsencode(tmp_path) + b"/caf\xe9"
    os.mkdir(bad_dir)
    with open(bad_dir + b"/Dockerfile", "w") as fh:
        fh.write(FROM)
    os.mkdir(bad_dir + b"/locked\xff")
    res = scan([str(tmp_path)])
    # Ansible refuses strings with surrogate escapes: everything must encode as strict UTF-8
    json.dumps(res, ensure_ascii=False).encode("utf-8")
    (doc,) = res["dockerfiles"]
    assert doc["path"] == str(tmp_path) + "/caf\\xe9/Dockerfile" and doc["error"] is None
    assert any(p["code"] == "undecodable_path" for p in doc["problems"])


def test_backups_and_leftovers_are_not_dockerfiles(tmp_path):
    """Remediation backups (Dockerfile.<pid>.<date>~) and editor/patch leftovers are not scanned twice."""
    matcher = _walker.Matcher()
    for name in ("Dockerfile.1234.2026-11-28@10:00:00~", "Dockerfile.orig", "Dockerfile.bak", "Dockerfile.rej",
                 "Dockerfile.swp", "Dockerfile.x1.tmp", "Dockerfile.dockerignore"):
        assert not matcher.is_dockerfile(name), name
    for name in ("Dockerfile", "Dockerfile.prod", "api.Dockerfile", "Containerfile"):
        assert matcher.is_dockerfile(name), name


# ------------------------------------------------------------------ output forms and worker processes
def _mixed_estate(root: Path, count: int = 24) -> None:
    """Dockerfiles of every kind (normal, secret, binary, too large, undecodable name), side files shared."""
    for i in range(count):
        kind = i % 6
        if kind == 0:
            _write(root, f"p{i}/Dockerfile", f"FROM node:{18 + i % 3}\nENV API_TOKEN=s3cret-{i}\nUSER node\n"
                                             'CMD ["node", "a.js"]\n')
            _write(root, f"p{i}/package.json", '{"name": "x", "scripts": {"start": "node a.js"}}')
            _write(root, f"p{i}/.dockerignore", "node_modules\n.git\n")
        elif kind == 1:
            (root / f"p{i}").mkdir(parents=True)
            (root / f"p{i}" / "Dockerfile").write_bytes(b"FROM x\x00")
        elif kind == 2:
            _write(root, f"p{i}/api.Dockerfile", "FROM node:20 AS b\nRUN npm ci\nFROM b\nEXPOSE 80 99999\n")
            _write(root, f"p{i}/Containerfile", "ARG BASE\nFROM $BASE\nCMD npm start\n")
        elif kind == 3:
            _write(root, f"p{i}/Dockerfile", "FROM node\n" + "RUN echo x\n" * 200)
        elif kind == 4:
            d = os.fsencode(root) + b"/p%d-caf\xe9" % i
            os.mkdir(d)
            with open(d + b"/Dockerfile", "wb") as fh:
                fh.write(b"FROM node\nRUN echo \xff\n")
        else:
            _write(root, f"p{i}/Dockerfile.dev", "FROM node:20\nCOPY <<EOF /x\nhello\n")


def _no_child_left() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def _count_worker_answers(monkeypatch) -> list:
    """A list that grows by one for every batch answer a worker sends back."""
    answers: list = []
    real_unpack = _discovery_pool._unpack

    def counting_unpack(data, output):
        answers.append(output)
        return real_unpack(data, output)
    monkeypatch.setattr(_discovery_pool, "_unpack", counting_unpack)
    return answers


@pytest.mark.parametrize("workers,batch", [(2, 32), (2, 1), (3, 2), (5, 3)])
def test_workers_give_the_same_result_in_every_form(tmp_path, monkeypatch, workers, batch):
    """Batches go to workers while the walk runs and after it; the documents come out in walk order."""
    monkeypatch.setattr(_discovery_pool._Pool, "BATCH", batch)
    monkeypatch.setattr(_discovery_pool._Pool, "PUMP_EVERY", 0.0)
    _mixed_estate(tmp_path)
    serial = scan([str(tmp_path)], workers=1)
    answers = _count_worker_answers(monkeypatch)
    parallel = scan([str(tmp_path)], workers=workers)
    assert answers, "no batch was built by a worker"
    assert json.dumps(parallel["dockerfiles"]) == json.dumps(serial["dockerfiles"])
    assert parallel["problems"] == serial["problems"]
    for res in (serial, parallel):
        for key in ("walk_seconds", "parse_seconds"):
            res["summary"].pop(key)
    assert parallel["summary"] == serial["summary"]
    encoded = scan([str(tmp_path)], output="json", workers=workers)
    assert "dockerfiles" not in encoded
    assert encoded["dockerfiles_json"] == json.dumps(serial["dockerfiles"], separators=(",", ":"))
    summary = scan([str(tmp_path)], output="summary", workers=workers)
    assert "dockerfiles" not in summary and "dockerfiles_json" not in summary
    expected = _discovery.host_summary(serial)
    for hs in (encoded["host_summary"], summary["host_summary"]):
        assert {k: v for k, v in hs.items() if k != "scanned_at"} == \
            {k: v for k, v in expected.items() if k != "scanned_at"}
    assert _no_child_left()


def test_json_output_of_an_empty_scan(tmp_path):
    res = scan([str(tmp_path)], output="json", workers=3)
    assert res["dockerfiles_json"] == "[]" and res["host_summary"]["dockerfile_count"] == 0
    with pytest.raises(ValueError):
        scan([str(tmp_path)], output="yaml")


@pytest.mark.parametrize("failure", ["fork", "crash", "garbage", "exit"])
def test_failing_workers_fall_back_to_this_process(tmp_path, monkeypatch, failure):
    """A worker that cannot start, dies or answers nonsense costs time, never documents."""
    _mixed_estate(tmp_path, 12)
    serial = scan([str(tmp_path)], workers=1)
    me = os.getpid()
    if failure == "fork":
        def no_fork():
            raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
        monkeypatch.setattr(_discovery.os, "fork", no_fork)
    else:
        real_pack = _discovery_pool._pack

        def bad_pack(part):
            if os.getpid() == me:
                return real_pack(part)
            if failure == "crash":
                raise RuntimeError("worker bug")
            if failure == "exit":
                os._exit(0)  # clean exit, nothing sent
            return b"12\n[{" + b"x" * 40
        monkeypatch.setattr(_discovery_pool, "_pack", bad_pack)
    monkeypatch.setattr(_discovery_pool._Pool, "BATCH", 2)
    res = scan([str(tmp_path)], workers=3)
    assert json.dumps(res["dockerfiles"]) == json.dumps(serial["dockerfiles"])
    assert _no_child_left()


def test_workers_only_with_several_cpus_and_many_files(tmp_path, monkeypatch):
    monkeypatch.setattr(_discovery, "_cpu_count", lambda: 2)
    assert _discovery._auto_workers() == 1
    monkeypatch.setattr(_discovery, "_cpu_count", lambda: 16)
    assert _discovery._auto_workers() == _discovery.MAX_WORKERS - 1
    monkeypatch.setattr(_discovery, "_cpu_count", lambda: 1)
    assert _discovery._auto_workers() == 0
    # a small scan never forks, whatever the CPUs
    monkeypatch.setattr(_discovery, "_cpu_count", lambda: 4)
    _mixed_estate(tmp_path, 12)

    def no_fork():
        raise AssertionError("forked for a small scan")
    monkeypatch.setattr(_discovery.os, "fork", no_fork)
    assert scan([str(tmp_path)])["summary"]["dockerfiles"] == 14


def test_workers_with_answers_and_batches_larger_than_a_pipe(tmp_path, monkeypatch):
    """Long paths and big documents: neither side may block writing while the other waits for it."""
    monkeypatch.setattr(_discovery_pool._Pool, "BATCH", 40)
    deep = tmp_path.joinpath(*[f"d{i:02d}" * 60 for i in range(12)])  # ~2,200 characters
    deep.mkdir(parents=True)
    text = "FROM node:20\n" + "".join(f"RUN echo {'x' * 200} {i}\n" for i in range(150))
    for i in range(80):
        (deep / f"s{i:02d}.Dockerfile").write_text(text)
    serial = scan([str(tmp_path)], workers=1, output="json")
    answers = _count_worker_answers(monkeypatch)

    def deadlock(signum, frame):
        raise RuntimeError("the scan and its worker are waiting for each other")
    signal.signal(signal.SIGALRM, deadlock)  # not an OSError, which the scan would take for a failed worker
    signal.alarm(30)
    parallel = scan([str(tmp_path)], workers=2, output="json")
    signal.alarm(0)
    assert parallel["dockerfiles_json"] == serial["dockerfiles_json"]
    assert answers, "the worker's answers never arrived"
    assert _no_child_left()


def test_no_worker_outlives_a_failing_scan(tmp_path, monkeypatch):
    """An exception while walking (here from the progress hook, after the workers started) reaps them."""
    monkeypatch.setattr(_discovery_pool._Pool, "BATCH", 2)
    monkeypatch.setattr(_discovery_pool._Pool, "PUMP_EVERY", 0.0)
    _mixed_estate(tmp_path, 12)
    real_pump = _discovery_pool._Pool._pump
    calls = []

    def failing_pump(self, walking, timeout=0.0):
        calls.append(walking)
        if len(calls) == 3:
            raise RuntimeError("boom")
        return real_pump(self, walking, timeout)
    monkeypatch.setattr(_discovery_pool._Pool, "_pump", failing_pump)
    with pytest.raises(RuntimeError, match="boom"):
        scan([str(tmp_path)], workers=3)
    assert _no_child_left()


def test_documents_carry_scan_root_and_directory_identity(tmp_path):
    """What remediation needs to find the scanned directory again (and refuse another one)."""
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "Dockerfile").write_text(FROM)
    (tmp_path / "Containerfile").write_text(FROM)
    (tmp_path / "link").symlink_to(tmp_path / "a")
    docs = {d["path"]: d for d in scan([str(tmp_path / "link"), str(tmp_path)])["dockerfiles"]}
    for path, root in ((str(tmp_path / "link" / "b" / "Dockerfile"), str(tmp_path / "link")),
                       (str(tmp_path / "Containerfile"), str(tmp_path))):
        st = os.stat(os.path.dirname(path))
        assert docs[path]["scan_root"] == root
        assert docs[path]["dir_identity"] == {"dev": st.st_dev, "ino": st.st_ino}
    single = scan([str(tmp_path / "a" / "b" / "Dockerfile")])["dockerfiles"][0]
    st = os.stat(tmp_path / "a" / "b")
    assert single["scan_root"] == str(tmp_path / "a" / "b")
    assert single["dir_identity"] == {"dev": st.st_dev, "ino": st.st_ino}
