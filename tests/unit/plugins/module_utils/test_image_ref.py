"""One image-reference type and parser (``_image_ref.ImageRef.parse``) for the whole collection."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from ansible_collections.refarch.containers.plugins.module_utils._image_ref import ImageRef, image_ref_facts

REPO = Path(__file__).resolve().parents[4]
PLUGINS = REPO / "plugins"


@pytest.mark.parametrize("ref,registry,repository,tag,digest", [
    ("node", "docker.io", "library/node", None, None),
    ("node:20-bookworm-slim", "docker.io", "library/node", "20-bookworm-slim", None),
    ("bitnami/node:18", "docker.io", "bitnami/node", "18", None),
    ("docker.io/node:lts", "docker.io", "library/node", "lts", None),
    ("index.docker.io/library/node:20", "docker.io", "library/node", "20", None),
    ("registry.access.redhat.com/ubi9/nodejs-20:latest", "registry.access.redhat.com", "ubi9/nodejs-20",
     "latest", None),
    ("localhost:5000/app", "localhost:5000", "app", None, None),
    ("localhost/app:1", "localhost", "app", "1", None),
    ("node@sha256:" + "a" * 64, "docker.io", "library/node", None, "sha256:" + "a" * 64),
    ("node:20@sha256:" + "b" * 64, "docker.io", "library/node", "20", "sha256:" + "b" * 64),
    ("ghcr.io/o/r/img:1.2", "ghcr.io", "o/r/img", "1.2", None),
])
def test_image_ref_facts(ref, registry, repository, tag, digest):
    out = image_ref_facts(ref, ref, False)
    assert (out["registry"], out["repository"], out["tag"], out["digest"]) == (registry, repository, tag, digest)
    assert out["scratch"] is False


def test_split_scratch_and_unresolved():
    assert image_ref_facts("scratch", "scratch", False)["scratch"] is True
    out = image_ref_facts("${REG}/node:20", "${REG}/node:20", True)
    assert out["registry"] is None and out["repository"] is None and out["tag"] == "20" and out["unresolved"]
    out = image_ref_facts("node:${V}-alpine", "node:${V}-alpine", True)
    assert out["repository"] == "library/node" and out["tag"] == "${V}-alpine"


def test_parse_keeps_the_reference_as_written():
    assert ImageRef.parse("node:20") == ImageRef(None, "node", "20", None)
    assert ImageRef.parse("index.docker.io/node").docker() == ("docker.io", "library/node")
    assert ImageRef.parse("reg.io:5000/a/b:1@sha256:" + "c" * 64).name == "reg.io:5000/a/b"
    assert ImageRef.parse("team/app").docker() == ("docker.io", "team/app")
    assert ImageRef.parse("localhost:5000/app").tag is None
    assert ImageRef.parse("reg.io:5000/node:20@sha256:" + "d" * 64).tagged == "reg.io:5000/node:20"
    assert ImageRef.parse("node:").tag is None and ImageRef.parse("node@").digest is None


@pytest.mark.parametrize("ref", ["Node:1", "a b", "app@sha256:zz", "x;y", "", "a" * 256, "-x"])
def test_strict_parse_refuses_what_the_grammar_refuses(ref):
    with pytest.raises(ValueError):
        ImageRef.parse(ref, strict=True)


def test_strict_parse_accepts_the_grammar():
    for ref in ["node:20", "localhost:5000/team/app:1.2-x", "docker.io/library/node@sha256:" + "a" * 64, "Team/app"]:
        assert ImageRef.parse(ref, strict=True) == ImageRef.parse(ref)


_PARSER_NAME_RE = re.compile(r"(split|parse)_?(image_?)?ref|image_?(ref|reference)$|parse_reference", re.I)
# (method, separator): a digest split at "@", a tag split at the last ":"
_SPLITS = {("partition", "@"), ("rpartition", "@"), ("split", "@"), ("rsplit", "@"), ("find", "@"),
           ("rfind", "@"), ("index", "@"), ("rindex", "@"), ("rpartition", ":"), ("rsplit", ":"), ("rfind", ":"),
           ("rindex", ":")}


def _plugin_files():
    return sorted(p for p in PLUGINS.rglob("*.py") if "__pycache__" not in p.parts)


def test_exactly_one_image_reference_parser_in_plugins():
    """No function outside _image_ref.py is named like an image-reference parser, and no code outside it
    splits a string at ``@`` (the digest) or at its last ``:`` (the tag): every hand-made reference parser does."""
    named, at_splits = [], []
    for path in _plugin_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        own = path.name == "_image_ref.py"
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _PARSER_NAME_RE.search(node.name):
                if not own:
                    named.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name}")
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.args and isinstance(node.args[0], ast.Constant)
                    and (node.func.attr, node.args[0].value) in _SPLITS and not own):
                at_splits.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not named, f"image-reference parsers outside _image_ref.py: {named}"
    assert not at_splits, f"references split at '@' or the last ':' outside _image_ref.py: {at_splits}"
    tree = ast.parse((PLUGINS / "module_utils" / "_image_ref.py").read_text(encoding="utf-8"))
    parsers = [n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)
               and any(isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute) and c.func.attr == "partition"
                       and c.args and isinstance(c.args[0], ast.Constant) and c.args[0].value == "@"
                       for c in ast.walk(n))]
    assert parsers == ["parse"], parsers
