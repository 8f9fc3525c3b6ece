"""Command classification lives in one place (``module_utils/_shellcmd.py``): no module of the rewriter
compiles a regular expression that names a package manager or a build tool (found with ``ast``)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[4]
MODULE_UTILS = REPO / "plugins" / "module_utils"
REWRITE = MODULE_UTILS / "_rewrite"

#: package managers and build tools whose names say a pattern classifies commands
TOOLS = ("npm", "npx", "yarn", "pnpm", "corepack", "apt-get", "apt", "apk", "dnf", "microdnf", "yum", "zypper",
         "tsc", "webpack", "vite", "esbuild", "rollup", "babel", "parcel", "gulp", "grunt", "node-gyp", "wget")
_TOOL_RE = re.compile(r"(?<![A-Za-z0-9_])({})(?![A-Za-z0-9_])".format("|".join(re.escape(t) for t in TOOLS)))
_RE_FUNCTIONS = {"compile", "search", "match", "fullmatch", "sub", "subn", "split", "findall", "finditer"}


def _text(node: ast.AST, names: dict) -> str:
    """The literal text a pattern argument is built from (string constants, f-string parts, ``+``, and
    module-level names bound to such text)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_text(v, names) for v in node.values)
    if isinstance(node, ast.FormattedValue):
        return _text(node.value, names)
    if isinstance(node, ast.BinOp):
        return _text(node.left, names) + " " + _text(node.right, names)
    if isinstance(node, ast.Name):
        return names.get(node.id, "")
    if isinstance(node, ast.Call):  # "|".join([...]), str.format(...)
        return " ".join(_text(a, names) for a in [*node.args, getattr(node.func, "value", node.func)])
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return " ".join(_text(e, names) for e in node.elts)
    return ""


def tool_patterns(source: str) -> list[tuple[int, str]]:
    """(line, tool name) of every ``re.<function>(pattern, ...)`` or ``lazy_re(pattern, ...)`` call (``_lazy_re``:
    compiled on first use) whose pattern names a tool, in order."""
    tree = ast.parse(source)
    names: dict = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            names[node.targets[0].id] = _text(node.value, names)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and (
                (isinstance(node.func, ast.Attribute) and node.func.attr in _RE_FUNCTIONS
                 and isinstance(node.func.value, ast.Name) and node.func.value.id == "re")
                or (isinstance(node.func, ast.Name) and node.func.id == "lazy_re")):
            # regex escapes (\b, \s) are not letters of a name
            m = _TOOL_RE.search(re.sub(r"\\[A-Za-z]", " ", _text(node.args[0], names)))
            if m:
                found.append((node.lineno, m.group(1)))
    return sorted(found)


def test_the_detector_finds_tool_patterns():
    sample = ('import re\nX = r"apk"\nA = re.compile(r"^(npm|yarn)\\b")\nB = re.search(rf"\\b{X}\\b", s)\n'
              'C = re.match(r"^(ls|cat)\\b", s)\nD = lazy_re(r"yum")\n')
    assert tool_patterns(sample) == [(3, "npm"), (4, "apk"), (6, "yum")]
    # and on the real place where the classification lives
    assert len(tool_patterns((MODULE_UTILS / "_shellcmd.py").read_text(encoding="utf-8"))) >= 10


def test_no_rewriter_module_classifies_commands_itself():
    modules = sorted(REWRITE.glob("*.py"))
    assert len(modules) >= 8
    offenders = {str(p.relative_to(REPO)): hits for p in modules
                 if (hits := tool_patterns(p.read_text(encoding="utf-8")))}
    assert offenders == {}, f"move these patterns into module_utils/_shellcmd.py: {offenders}"


def test_the_rewriter_reads_installs_with_the_facts_patterns():
    from ansible_collections.refarch.containers.plugins.module_utils._shellcmd import (  # noqa: PLC0415
        install_tool,
        is_global_install,
        run_analysis,
    )
    # (command, the package manager installing the project's dependencies, what the facts see it install)
    for command, tool, facts_see in [
            ("npm ci", "npm", "dependencies"), ("cd /app && pnpm i --frozen-lockfile", "pnpm", "dependencies"),
            ("yarn", "yarn", "dependencies"), ("npm isntall", "npm", "dependencies"), ("npm\vci", None, None),
            ("npm i -g typescript", None, "packages"), ("npm i --location=global nx", None, "packages"),
            ("apt-get install -y make", None, None)]:
        assert install_tool(command) == tool, command
        facts = run_analysis({"start_line": 1, "value": [command]}, True)
        seen = "dependencies" if facts["installs_dependencies"] else "packages" if facts["package_installs"] else None
        assert seen == facts_see, command
    assert is_global_install("npm i --location=global nx") and is_global_install("yarn global add nx")
    assert not is_global_install("npm install --global=false") and not is_global_install("npm ci")


def test_one_list_of_os_package_managers():
    from ansible_collections.refarch.containers.plugins.module_utils._shellcmd import (  # noqa: PLC0415
        OS_PACKAGE_MANAGERS,
        installs_os_package,
        is_os_package_install,
        is_system_segment,
        run_analysis,
    )
    for pm in OS_PACKAGE_MANAGERS:
        segment = f"{pm} install -y tini"
        assert is_os_package_install(segment) and is_system_segment(segment) and installs_os_package(segment, "tini")
        assert "tini" in run_analysis({"start_line": 1, "value": [segment]}, True)["os_packages"]
    assert not is_os_package_install("npm install tini") and not installs_os_package("npm i tini", "tini")


def test_one_list_of_init_programs():
    from ansible_collections.refarch.containers.plugins.module_utils import _image_facts, _rewriter  # noqa: PLC0415
    from ansible_collections.refarch.containers.plugins.module_utils._shellcmd import INIT_PROGRAMS  # noqa: PLC0415
    assert _image_facts.INITS is INIT_PROGRAMS
    out = _rewriter.rewrite('FROM node:22\nENTRYPOINT ["/usr/bin/podman-init", "--"]\nCMD ["node", "a.js"]\n',
                            ["add_init_process"], {"evaluation_date": "2026-11-28"})
    assert out["applied"] == [] and out["skipped"][0].get("not_needed"), out
