"""The .dockerignore fix answers with a typed result (DockerignoreText, Skip or NotNeeded), as the other fixes do,
and rewrite() reports each answer as before."""
from __future__ import annotations

from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_parser import parse
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.fix_dockerignore import (
    DockerignoreText,
    _fix_write_dockerignore,
)
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.model import FixContext, NotNeeded, Skip, _Doc
from ansible_collections.refarch.containers.plugins.module_utils._rewriter import rewrite


def _answer(dockerfile: str, dockerignore: str | None):
    ctx = FixContext.of({"dockerignore_text": dockerignore}, ["write_dockerignore"])
    return _fix_write_dockerignore(dockerignore, ctx, _Doc(dockerfile, parse))


def _skipped(dockerfile: str, dockerignore: str | None) -> dict:
    result = rewrite(dockerfile, ["write_dockerignore"], {"dockerignore_text": dockerignore})
    assert result["dockerignore"] is None and not result["applied"], result
    [entry] = result["skipped"]
    return entry


def test_each_answer_is_typed_and_reported():
    created = _answer("FROM node:22\n", None)
    own = ".dockerignore\n*.refarch.tmp\n"    # the remediation's own files
    assert created == DockerignoreText("node_modules\n.git\n.cache\nnpm-debug.log\n" + own, [], None)

    extended = _answer("FROM node:22\nCOPY node_modules /app/node_modules\n", "dist")
    assert isinstance(extended, DockerignoreText)
    assert extended.text == "dist\n.git\n.cache\nnpm-debug.log\n" + own and extended.lines == [1]
    assert extended.note == "line 2 copies node_modules from the build context, so it is not excluded"

    complete = "node_modules\n.git\n.cache\nnpm-debug.log\n"
    assert isinstance(_answer("FROM node:22\n", complete), NotNeeded)
    assert _skipped("FROM node:22\n", complete) == {
        "fix": "write_dockerignore", "not_needed": True,
        "reason": "not needed: .dockerignore already excludes node_modules, .git and .cache"}

    reincluded = _answer("FROM node:22\n", "*\n!.git\n")
    assert isinstance(reincluded, Skip) and "re-includes .git" in reincluded.reason
    assert _skipped("FROM node:22\n", "*\n!.git\n") == {
        "fix": "write_dockerignore", "not_needed": False, "reason": reincluded.reason}

    copies_all = "FROM node:22\nCOPY node_modules .git .cache npm-debug.log /app/\n"
    declined = _answer(copies_all, None)
    assert isinstance(declined, Skip) and declined.reason.startswith("line 2 copies node_modules")
    assert _skipped(copies_all, None) == {"fix": "write_dockerignore", "not_needed": False,
                                          "reason": declined.reason}
