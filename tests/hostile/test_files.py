"""Hostile files on a scanned host: special files, symlinks, huge or broken content, odd names, no permission.

Every scan runs in a child process with a timeout and an address-space limit
(``scanrun``): blocking on a FIFO or eating the host's memory shows up as a
timeout / crash of that child, and the test fails with the child's stderr.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import tempfile
from pathlib import Path

import jsonschema
import pytest
import scanrun
from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_parser import DEFAULT_MAX_INSTRUCTIONS

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "policies" / "schema" / "facts.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
GOOD = "FROM node:22-bookworm-slim\nUSER node\nCMD [\"node\", \"server.js\"]\n"


def _valid(doc: dict) -> None:
    errors = sorted(VALIDATOR.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, f"{doc['path']}: facts document not schema-valid: {errors[0].message} at {list(errors[0].path)}"


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "ok").mkdir(parents=True)
    (root / "ok" / "Dockerfile").write_text(GOOD)
    return root


def _scan_one(case, root: Path, **params) -> dict[str, dict]:
    res = scanrun.scan([str(root)], **params)
    assert not res.timed_out, "the scan blocked: the child did not finish within its timeout"
    docs = scanrun.by_path(res)
    for doc in docs.values():
        _valid(doc)
    ok = docs.get(str(root / "ok" / "Dockerfile"))
    assert ok is not None and ok["error"] is None, "the good Dockerfile beside the hostile one was not scanned"
    return docs


@pytest.mark.parametrize("kind", ["fifo", "socket", "device"])
def test_special_file_named_dockerfile_does_not_block(case, tmp_path, kind):
    c = case(f"{kind} named Dockerfile", "walk does not block or open it; document with error not_regular_file")
    root = _tree(tmp_path)
    target = root / kind / "Dockerfile"
    target.parent.mkdir()
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(target))
        sock.close()
    else:
        if os.geteuid() != 0:
            pytest.skip("mknod of a character device needs root")
        os.mknod(target, 0o644 | stat.S_IFCHR, os.makedev(1, 3))
    docs = _scan_one(c, root)
    doc = docs[str(target)]
    c.see(f"error={doc['error']['code'] if doc['error'] else None}, scan finished")
    assert doc["error"] and doc["error"]["code"] == "not_regular_file"
    assert doc["instructions"] == [] and doc["sha256"] in (None, "")


@pytest.mark.parametrize("where", ["/etc/shadow", "outside"])
def test_symlink_out_of_the_root_is_not_read(case, tmp_path, where):
    c = case(f"symlink Dockerfile -> {where}", "not followed or read; error symlink_outside_root; content absent")
    root = _tree(tmp_path)
    outside = tmp_path / "outside-secret"
    outside.write_text("FROM node:20\nENV LEAK=zz-outside-canary\n")
    dest = "/etc/shadow" if where == "/etc/shadow" else str(outside)
    link = root / "link" / "Dockerfile"
    link.parent.mkdir()
    link.symlink_to(dest)
    res = scanrun.scan([str(root)])
    docs = scanrun.by_path(res)
    doc = docs[str(link)]
    c.see(f"error={doc['error']['code'] if doc['error'] else None}")
    assert doc["error"] and doc["error"]["code"] == "symlink_outside_root"
    raw = res.proc.stdout
    assert "zz-outside-canary" not in raw and "root:" not in raw.replace(str(root), "")
    if Path("/etc/shadow").exists() and os.geteuid() == 0:
        first = Path("/etc/shadow").read_text().split(":", 1)[0] + ":"
        assert f'"{first}' not in raw


def test_symlink_loops(case, tmp_path):
    c = case("symlink loop (file and directory)", "walk terminates; the looping name gets error symlink_loop")
    root = _tree(tmp_path)
    (root / "loop").mkdir()
    (root / "loop" / "Dockerfile").symlink_to("Dockerfile")
    (root / "loop" / "d").mkdir()
    (root / "loop" / "d" / "up").symlink_to("..")
    (root / "loop" / "a").symlink_to("b")
    (root / "loop" / "b").symlink_to("a")
    docs = _scan_one(c, root)
    doc = docs[str(root / "loop" / "Dockerfile")]
    c.see(f"error={doc['error']['code'] if doc['error'] else None}; {len(docs)} documents")
    assert doc["error"] and doc["error"]["code"] == "symlink_loop"
    assert not any("/up/" in p for p in docs), "followed a directory symlink back into itself"


def test_fifo_read_directly_does_not_block(case, tmp_path):
    c = case("FIFO passed as the scan root's only file", "read_bounded refuses it without blocking")
    fifo = tmp_path / "Dockerfile"
    os.mkfifo(fifo)
    res = scanrun.scan([str(fifo)], timeout=30)
    assert not res.timed_out, "blocked on the FIFO"
    assert res.data is not None, res.describe()
    codes = [d["error"]["code"] for d in res.data["dockerfiles"] if d["error"]] + \
            [p["code"] for p in res.data["problems"]]
    c.see(f"codes={codes}")
    assert codes, "a FIFO given as a path must be reported"


def test_fifo_as_side_file_does_not_block(case, tmp_path):
    c = case("FIFO named .dockerignore / package.json", "not opened; side-file error recorded; Dockerfile scanned")
    root = _tree(tmp_path)
    app = root / "app"
    app.mkdir()
    (app / "Dockerfile").write_text(GOOD)
    os.mkfifo(app / ".dockerignore")
    os.mkfifo(app / "package.json")
    docs = _scan_one(c, root)
    doc = docs[str(app / "Dockerfile")]
    c.see(f"dockerignore.error={(doc['dockerignore']['error'] or {}).get('code')}, "
          f"package_json.error={(doc['package_json']['error'] or {}).get('code')}")
    assert doc["error"] is None
    assert doc["dockerignore"]["error"] and doc["package_json"]["error"]


def test_50mb_file(case, tmp_path):
    c = case("50 MB Dockerfile", "not read past max_file_size; error too_large; bounded memory")
    root = _tree(tmp_path)
    big = root / "big" / "Dockerfile"
    big.parent.mkdir()
    with open(big, "wb") as fh:
        fh.write(b"FROM node:20\n")
        line = b"RUN echo " + b"x" * 1000 + b"\n"
        for dummy in range(50 * 1024):
            fh.write(line)
    docs = _scan_one(c, root, memory_mb=512)
    doc = docs[str(big)]
    c.see(f"error={doc['error']['code'] if doc['error'] else None}")
    assert doc["error"] and doc["error"]["code"] == "too_large"


def test_single_5mb_line(case, tmp_path):
    c = case("single 5 MB line (max_file_size raised to 8 MB)", "parsed; problem line_too_long; document produced")
    root = _tree(tmp_path)
    path = root / "line" / "Dockerfile"
    path.parent.mkdir()
    path.write_bytes(b"FROM node:20\nRUN echo " + b"y" * (5 * 1024 * 1024) + b"\n")
    docs = _scan_one(c, root, max_file_size=8 * 1024 * 1024, timeout=120)
    doc = docs[str(path)]
    codes = sorted({p["code"] for p in doc["problems"]})
    c.see(f"error={doc['error']}, problems={codes}")
    assert doc["error"] is None and "line_too_long" in codes


def _write_facts_input(tmp_path: Path, text: bytes) -> Path:
    path = tmp_path / "Dockerfile"
    path.write_bytes(text)
    return path


@pytest.mark.parametrize("count,problem", [(DEFAULT_MAX_INSTRUCTIONS - 1, None),
                                           (DEFAULT_MAX_INSTRUCTIONS + 1, "too_many_instructions")])
def test_max_instructions(case, tmp_path, count, problem):
    c = case(f"{count + 1:,} instructions" + (" (over max_instructions)" if problem else " (the limit)"),
             "parsed within bounds" + (f"; problem {problem}, list cut at {DEFAULT_MAX_INSTRUCTIONS:,}" if problem
                                       else "; no limit problem"))
    path = _write_facts_input(tmp_path, b"FROM node:20\n" + b"RUN true\n" * count)
    res = scanrun.facts(path, timeout=120, memory_mb=2048)
    assert not res.timed_out and res.data is not None, res.describe()
    doc = res.data["doc"]
    _valid(dict(doc, instructions=doc["instructions"][:50]))  # the whole list: minutes of jsonschema
    codes = sorted({p["code"] for p in doc["problems"]})
    c.see(f"problems={codes}, instructions={len(doc['instructions'])}, peak {res.data['peak_rss_mib']} MiB")
    if problem:
        assert problem in codes
        assert len(doc["instructions"]) <= DEFAULT_MAX_INSTRUCTIONS
    else:
        assert "too_many_instructions" not in codes and len(doc["instructions"]) == count + 1


CONTENT_CASES = {
    "self-referencing ARG": ("ARG A=${A}\nARG B=${C}\nARG C=${B}\nFROM node:${A}${B}\nENV X=${X}:${X}\n"
                             "USER ${X}\nCMD [\"node\", \"s.js\"]\n", "document produced; references stay unresolved"),
    "deeply nested ARG default": ("ARG A=" + "${B:-" * 3000 + "x" + "}" * 3000 + "\nFROM node:${A}\n",
                                  "document produced; no recursion error"),
    "exponential ARG expansion (billion laughs)": (
        "ARG A0=xxxxxxxxxxxxxxxx\n" + "".join(f"ARG A{i + 1}=${{A{i}}}${{A{i}}}\n" for i in range(40))
        + "FROM node:${A40}\nENV B=${A40}\nUSER ${A40}\n",
        "bounded memory and time; expansion cut off with a problem, not an internal error"),
    "unterminated heredoc": ("FROM node:20\nRUN <<EOF\n" + "echo hi\n" * 2000, "problem unterminated_heredoc"),
    "NUL bytes": ("FROM node:20\x00\nRUN echo \x00\nCMD [\"node\",\x00\"x\"]\n", "error binary; not parsed"),
}


@pytest.mark.parametrize("name", list(CONTENT_CASES))
def test_hostile_content(case, tmp_path, name):
    text, expected = CONTENT_CASES[name]
    c = case(name, expected)
    path = _write_facts_input(tmp_path, text.encode("utf-8"))
    res = scanrun.facts(path, timeout=60, memory_mb=1024)
    assert not res.timed_out, "facts did not finish within 60 s"
    if res.data is None:
        c.see("child died: " + (res.proc.stderr.strip().splitlines() or ["?"])[-1][:200])
    assert res.data is not None, f"facts crashed or ran out of memory (1 GiB limit): {res.describe()}"
    doc = res.data["doc"]
    _valid(doc)
    codes = sorted({p["code"] for p in doc["problems"]})
    c.see(f"error={doc['error']['code'] if doc['error'] else None}, problems={codes}, "
          f"peak {res.data['peak_rss_mib']} MiB")
    if name == "NUL bytes":
        assert doc["error"] and doc["error"]["code"] == "binary"
    elif name == "unterminated heredoc":
        assert "unterminated_heredoc" in codes
    else:
        assert doc["error"] is None, doc["error"]
        assert doc["stages"], "the FROM line was lost"
        if name.startswith("exponential"):
            assert len(json.dumps(doc)) < 10 * 1024 * 1024, "expanded values were not bounded"


def test_invalid_utf8(case, tmp_path):
    c = case("invalid UTF-8", "parsed with U+FFFD; problem decode_error; no exception")
    path = _write_facts_input(tmp_path, b"FROM node:20\nLABEL x=\xff\xfe\xc3\x28\nUSER node\n")
    res = scanrun.facts(path)
    assert res.data is not None, res.describe()
    doc = res.data["doc"]
    _valid(doc)
    codes = sorted({p["code"] for p in doc["problems"]})
    c.see(f"error={doc['error']}, problems={codes}, user={doc['final_stage']['user']['name']}")
    assert doc["error"] is None and "decode_error" in codes
    assert doc["final_stage"]["user"]["name"] == "node"


NAMES = ["new\nline", "quote'single", 'quote"double', "sp ace", "$(touch PWNED)", "`touch PWNED`", "a;b|c&d>e",
         "<script>alert(1)<\\script>", "<img src=x onerror=alert(1)>", "\x1b[31mred", "-rf", "*?[x]"]


def test_odd_file_names(case, tmp_path):
    c = case("directory names with newline, quotes, spaces, shell metacharacters",
             "every Dockerfile found once under its exact path; nothing executed")
    root = _tree(tmp_path)
    expected = []
    for name in NAMES:
        d = root / name
        d.mkdir()
        (d / "Dockerfile").write_text(GOOD)
        expected.append(str(d / "Dockerfile"))
    odd = root / "odd"
    odd.mkdir()
    (odd / "Dockerfile.$(id)").write_text(GOOD)
    expected.append(str(odd / "Dockerfile.$(id)"))
    docs = _scan_one(c, root)
    found = [p for p in expected if p in docs and docs[p]["error"] is None]
    c.see(f"{len(found)}/{len(expected)} found")
    assert found == expected
    assert not list(root.rglob("PWNED")) and not Path("/PWNED").exists()


def test_undecodable_file_name(case, tmp_path):
    c = case("file name with invalid UTF-8 bytes", "found; path shown with \\xNN escapes; problem undecodable_path")
    root = _tree(tmp_path)
    bad = os.path.join(os.fsencode(root), b"bad\xff\xfedir")
    os.mkdir(bad)
    with open(os.path.join(bad, b"Dockerfile"), "wb") as fh:
        fh.write(GOOD.encode())
    docs = _scan_one(c, root)
    odd = [d for p, d in docs.items() if "bad" in p]
    shown = [Path(d["path"]).relative_to(root).as_posix() for d in odd]
    c.see(f"paths={shown}, problems={[p['code'] for d in odd for p in d['problems']]}")
    assert len(odd) == 1 and "undecodable_path" in [p["code"] for p in odd[0]["problems"]]
    json.dumps(odd[0], ensure_ascii=False).encode("utf-8")


def test_unreadable_directories_as_non_root(case, request):
    if os.geteuid() != 0:
        pytest.skip("switching to uid 65534 needs root")
    c = case("directories without r or x permission (scan as uid 65534)",
             "readable parts scanned; each blocked directory/file is a permission_denied problem; no crash")
    base = Path(tempfile.mkdtemp(prefix="refarch-perm-", dir="/tmp"))  # tmp_path's parents are 0700
    request.addfinalizer(lambda: shutil.rmtree(base, ignore_errors=True))
    root = base / "root"
    for sub in ("ok", "nor", "nox", "none", "nox/inner"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for sub in ("ok", "nor", "nox/inner", "none"):
        (root / sub / "Dockerfile").write_text(GOOD)
    (root / "ok" / "secret").mkdir()
    secret = root / "ok" / "secret" / "Dockerfile"
    secret.write_text(GOOD)
    for p in [base, root, *root.rglob("*")]:
        os.chown(p, 0, 0)
    os.chmod(base, 0o755)  # noqa: S103 - uid 65534 must traverse it
    os.chmod(root / "nor", 0o311)  # noqa: S103   # x but no r: cannot list
    os.chmod(root / "nox", 0o644)   # r but no x: cannot enter
    os.chmod(root / "none", 0o000)
    os.chmod(secret, 0o600)         # a root-only file in a readable directory
    res = scanrun.scan([str(root)], uid=65534)
    assert not res.timed_out
    assert res.data is not None, res.describe()
    docs = {d["path"]: d for d in res.data["dockerfiles"]}
    for doc in docs.values():
        _valid(doc)
    problems = res.data["problems"]
    codes = sorted({p["code"] for p in problems})
    c.see(f"documents={sorted(Path(p).relative_to(root).as_posix() for p in docs)}, scan problems={codes}, "
          f"secret error={docs.get(str(secret), {}).get('error')}")
    assert docs[str(root / "ok" / "Dockerfile")]["error"] is None
    assert docs[str(secret)]["error"]["code"] == "permission_denied"
    blocked = {p.get("path") for p in problems}
    assert str(root / "nor") in blocked and str(root / "none") in blocked, problems
    locked = (str(root / "nor"), str(root / "none"))
    assert all(p["code"] == "permission_denied" for p in problems if p.get("path") in locked)
