"""The build context digest (module_utils/_build_context.py): ignore rules, links, what changes it.

Real directories under tmp_path; the ignore matcher is checked against BuildKit's documented examples and
the rules of moby's patternmatcher (last match wins, a matching parent excludes its tree, ``!`` re-includes).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from ansible_collections.refarch.containers.plugins.module_utils._build_context import (
    IgnorePatternError,
    IgnoreRules,
    context_digest,
    read_ignore_patterns,
)


def _rules(text: str) -> IgnoreRules:
    return IgnoreRules(read_ignore_patterns(text.encode()))


@pytest.mark.parametrize(("patterns", "path", "excluded"), [
    ("*/temp*", "somedir/temporary.txt", True),          # BuildKit's documented examples
    ("*/temp*", "temp", False),
    ("*/*/temp*", "somedir/subdir/temporary.txt", True),
    ("temp?", "temp1", True),
    ("temp?", "temp12", False),
    ("**/*.go", "a/b/c.go", True),
    ("**/*.go", "c.go", True),
    ("*.md\n!README.md", "README.md", False),
    ("*.md\n!README.md", "CHANGES.md", True),
    ("*.md\n!README*.md\nREADME-secret.md", "README-secret.md", True),
    ("node_modules", "node_modules/x/index.js", True),   # a matching parent excludes the tree
    ("/node_modules/", "node_modules", True),             # cleaned: leading and trailing slash
    ("./src/../dist", "dist/app.js", True),
    ("*.log", "logs/a.log", False),                       # anchored at the context root, not gitignore
    ("[ab].txt", "b.txt", True),
    ("[ab].txt", "c.txt", False),
    ("[a-c].txt", "b.txt", True),
    ("[a-c].txt", "-.txt", False),
    ("a\\*b", "a*b", True),
    ("a\\*b", "axb", False),
    ("file.(x)", "file.(x)", True),
    ("# node_modules", "node_modules", False),
    ("  .git  ", ".git/config", True),
    ("node_modules\n!node_modules/keep/x.js", "node_modules/keep/x.js", False),
    ("node_modules\n!node_modules/keep/x.js", "node_modules/keep/y.js", True),
])
def test_ignore_rules_follow_buildkit(patterns, path, excluded):
    assert _rules(patterns).excluded(path) is excluded


def test_invalid_pattern_is_an_error():
    with pytest.raises(IgnorePatternError):
        _rules("[z-a]")


def _app(root: Path) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "src" / "server.js").write_text("console.log(1)\n")
    (root / "package.json").write_text("{}\n")
    (root / "node_modules" / "dep").mkdir(parents=True)
    (root / "node_modules" / "dep" / "index.js").write_text("module.exports = 1\n")
    (root / "Dockerfile").write_text("FROM node:20\nCOPY . .\n")
    (root / ".dockerignore").write_text("node_modules\n.git\n")
    return root


def _digest(root: Path) -> dict:
    out = context_digest(str(root), str(root / "Dockerfile"))
    assert out["error"] is None, out
    return out


def test_source_changes_change_the_digest_and_ignored_files_do_not(tmp_path):
    root = _app(tmp_path / "app")
    first = _digest(root)
    assert first["digest"].startswith("sha256:") and first["entries"] >= 4
    assert first["ignore_files"] == [str(root / ".dockerignore")]
    assert _digest(root)["digest"] == first["digest"]                   # stable

    (root / "node_modules" / "dep" / "index.js").write_text("changed, but ignored\n")
    (root / "node_modules" / "new.js").write_text("also ignored\n")
    assert _digest(root)["digest"] == first["digest"]

    os.utime(root / "src" / "server.js", (1, 1))                         # times are not content
    assert _digest(root)["digest"] == first["digest"]

    (root / "src" / "server.js").write_text("console.log(2)\n")          # a source change
    second = _digest(root)
    assert second["digest"] != first["digest"]

    (root / "src" / "server.js").chmod(0o755)                            # a mode change (COPY keeps it)
    third = _digest(root)
    assert third["digest"] != second["digest"]

    (root / "src" / "extra").mkdir()                                     # an empty directory is copied too
    assert _digest(root)["digest"] != third["digest"]


def test_renaming_a_file_changes_the_digest(tmp_path):
    root = _app(tmp_path / "app")
    before = _digest(root)["digest"]
    (root / "src" / "server.js").rename(root / "src" / "main.js")
    assert _digest(root)["digest"] != before


def test_the_ignore_file_decides_what_counts(tmp_path):
    root = _app(tmp_path / "app")
    before = _digest(root)["digest"]
    (root / ".dockerignore").write_text("node_modules\n.git\n")        # same rules, same bytes
    assert _digest(root)["digest"] == before
    (root / ".dockerignore").write_text("node_modules\n.git\n# note\n")  # another ignore file: another digest
    commented = _digest(root)["digest"]
    assert commented != before
    (root / ".dockerignore").unlink()                                     # node_modules now in the context
    without = _digest(root)
    (root / "node_modules" / "dep" / "index.js").write_text("now it counts\n")
    assert _digest(root)["digest"] != without["digest"]


def test_a_path_is_left_out_only_when_every_ignore_file_excludes_it(tmp_path):
    root = _app(tmp_path / "app")
    (root / "Dockerfile.dockerignore").write_text("node_modules\n")     # BuildKit's; .dockerignore also there
    (root / ".dockerignore").write_text("node_modules\nsrc\n")          # podman's would leave src out
    out = _digest(root)
    assert set(out["ignore_files"]) == {str(root / "Dockerfile.dockerignore"), str(root / ".dockerignore")}
    before = out["digest"]
    (root / "src" / "server.js").write_text("changed\n")                # BuildKit sends src: it counts
    assert _digest(root)["digest"] != before
    (root / "node_modules" / "dep" / "index.js").write_text("x\n")      # both exclude it
    after = _digest(root)["digest"]
    assert _digest(root)["digest"] == after


def test_re_included_files_below_an_excluded_directory_count(tmp_path):
    root = _app(tmp_path / "app")
    (root / ".dockerignore").write_text("node_modules\n!node_modules/dep/index.js\n")
    before = _digest(root)["digest"]
    (root / "node_modules" / "dep" / "index.js").write_text("changed\n")
    assert _digest(root)["digest"] != before


def test_links_are_hashed_as_links_never_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("one\n")
    (outside / "dir").mkdir()
    (outside / "dir" / "big.bin").write_bytes(b"x" * 1000)
    root = _app(tmp_path / "app")
    (root / "link.txt").symlink_to(outside / "secret.txt")
    (root / "linkdir").symlink_to(outside / "dir", target_is_directory=True)
    first = _digest(root)
    (outside / "secret.txt").write_text("two\n")                        # the target changes: not read
    (outside / "dir" / "more.bin").write_bytes(b"y")
    second = _digest(root)
    assert second["digest"] == first["digest"]
    assert second["bytes"] == first["bytes"] and second["entries"] == first["entries"]
    (root / "link.txt").unlink()
    (root / "link.txt").symlink_to(outside / "dir")                     # the link itself changes: counted
    assert _digest(root)["digest"] != first["digest"]


def test_a_fifo_is_recorded_never_opened(tmp_path):
    root = _app(tmp_path / "app")
    os.mkfifo(root / "pipe")
    out = _digest(root)                                                 # returns: never blocks on the FIFO
    (root / "pipe").unlink()
    assert _digest(root)["digest"] != out["digest"]


def test_caps_give_no_digest_and_say_why(tmp_path):
    root = _app(tmp_path / "app")
    few = context_digest(str(root), str(root / "Dockerfile"), max_entries=2)
    assert few["digest"] is None and "more than 2 entries" in few["error"]
    small = context_digest(str(root), str(root / "Dockerfile"), max_bytes=10)
    assert small["digest"] is None and "more than 10 bytes" in small["error"]
    missing = context_digest(str(tmp_path / "nope"))
    assert missing["digest"] is None and "cannot open the build context" in missing["error"]
    (root / ".dockerignore").write_text("[z-a]\n")
    bad = context_digest(str(root), str(root / "Dockerfile"))
    assert bad["digest"] is None and "invalid ignore pattern" in bad["error"]


def test_a_symlinked_ignore_file_is_not_read(tmp_path):
    root = _app(tmp_path / "app")
    (tmp_path / "elsewhere").write_text("src\n")
    (root / ".dockerignore").unlink()
    (root / ".dockerignore").symlink_to(tmp_path / "elsewhere")
    out = context_digest(str(root), str(root / "Dockerfile"))
    assert out["digest"] is None and "symlink" in out["error"]
