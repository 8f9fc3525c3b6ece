"""One ``$VAR`` expander in plugins/ (``_expand.expand``), checked with ``ast``."""
from __future__ import annotations

import ast
import re
from pathlib import Path

from ansible_collections.refarch.containers.plugins.module_utils._expand import expand

PLUGINS = Path(__file__).resolve().parents[4] / "plugins"
_EXPANDER_NAME_RE = re.compile(r"^_*expand$|expand_?(var|word|arg|env)|(var|word)s?_?expan", re.I)


def _var_regexes(tree: ast.AST) -> set[str]:
    """Names bound to ``re.compile(...)`` of a pattern that matches a ``$VAR``/``${VAR...}`` reference."""
    names = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Attribute) and node.value.func.attr == "compile"
                and node.value.args and isinstance(node.value.args[0], ast.Constant)
                and isinstance(node.value.args[0].value, str)
                and "\\$" in node.value.args[0].value and "\\{" in node.value.args[0].value):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def test_exactly_one_variable_expander_in_plugins():
    """Outside _expand.py: no function named like an expander, and no substitution (``.sub``) with a
    variable-reference regex (what the rewriter's own regex expander was)."""
    found = []
    for path in sorted(PLUGINS.rglob("*.py")):
        if path.name == "_expand.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        regexes = _var_regexes(tree)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _EXPANDER_NAME_RE.search(node.name):
                found.append(f"{path.name}:{node.lineno} def {node.name}")
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "sub"
                    and isinstance(node.func.value, ast.Name) and node.func.value.id in regexes):
                found.append(f"{path.name}:{node.lineno} {node.func.value.id}.sub")
    assert not found, found
    tree = ast.parse((PLUGINS / "module_utils" / "_expand.py").read_text(encoding="utf-8"))
    assert [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")] == ["expand"]


def test_expander_reads_words_as_buildkit_does():
    assert expand('"/app"', {}) == ("/app", False)
    assert expand("${A-x}", {"A": ""}) == ("", False)
    assert expand("${A:-x}", {"A": ""}) == ("x", False)
    assert expand("$B/x", {}) == ("$B/x", True)
