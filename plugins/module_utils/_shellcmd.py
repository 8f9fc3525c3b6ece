# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shell command knowledge: what a RUN or a process command does.

Package-manager installs (and the production-only ones), build steps, OS package installs,
toolchain packages, shells, package managers and init wrappers of a process. The facts builder
reports the classification (``analysis.runs``, ``analysis.process``); the rewriter takes
:data:`PRODUCTION_RE` and :data:`TOOLCHAIN_PACKAGES` from here (its segment patterns in
``_rewrite/fix_layers.py`` and ``_rewrite/fix_multistage.py`` are still its own: they read
Python's whitespace class and other tool lists, and unifying them changes what the fixes do). The policy
side's copy of :data:`TOOLCHAIN_PACKAGES` (``policies/refarch/lib/shellcmd/shellcmd.rego``
``toolchain``) is tested equal to it. Standard library only (runs on managed hosts).
"""
from __future__ import annotations

import re
from typing import Any, Optional

#: OS packages that make a compiler toolchain (NRA003: they belong in a build stage).
TOOLCHAIN_PACKAGES = frozenset({"build-essential", "build-base", "gcc", "g++", "gcc-c++", "make", "clang", "python",
                                "python2", "python3", "musl-dev", "libc6-dev"})

# Whitespace as RE2 (the policy engines' regex dialect) reads \s: no Unicode spaces, no \v.
_WS = "[\t\n\f\r ]"
_SEGMENT_SPLIT_RE = re.compile(r"&&|\|\||;|\|")
STRIP_RE = re.compile(r"^[ \t\r\n]+|[ \t\r\n]+$")
_NPM_INSTALL_RE = re.compile(rf"(^|[\t\n\f\r /])(npm|pnpm){_WS}+(install|i|ci|add|isntall)({_WS}|$)")
_YARN_INSTALL_RE = re.compile(
    rf"(^|[\t\n\f\r /])yarn({_WS}+(install|add))?({_WS}+-{{1,2}}[A-Za-z-]+(=[^\t\n\f\r ]*)?)*{_WS}*$")
_GLOBAL_RE = re.compile(rf"(^|{_WS})(-g|--global|--location[= ]global)({_WS}|$)")
PRODUCTION_RE = re.compile(
    rf"--omit[= ]dev|--production|--only[= ]prod|(^|{_WS})--prod({_WS}|$)|NODE_ENV=production")
_INSTALL_SHORT_RE = re.compile(rf"(npm|pnpm|yarn)({_WS}+[a-z]+)?")
_BUILD_RE = re.compile(
    rf"(^|[\t\n\f\r /])("
    rf"(npm|pnpm){_WS}+run(-script)?{_WS}+build[A-Za-z:_-]*|yarn{_WS}+(run{_WS}+)?build[A-Za-z:_-]*|"
    rf"(npx{_WS}+)?(tsc|webpack|vite{_WS}+build|next{_WS}+build|ng{_WS}+build|nest{_WS}+build|babel|esbuild|"
    rf"rollup|parcel{_WS}+build|node-gyp{_WS}+rebuild)"
    rf")({_WS}|$)")
_OS_INSTALL_RE = re.compile(
    rf"(^|[\t\n\f\r /])(apt-get|apt|apk|yum|dnf|microdnf|zypper){_WS}+(.*{_WS})?(install|add)({_WS}|$)")
_WORD_SPLIT_RE = re.compile(rf"{_WS}+")


def _segments(cmdline: str) -> list[str]:
    """Shell command segments split at ``&&``, ``||``, ``;``, ``|`` and newlines, blanks stripped."""
    out = []
    for raw in _SEGMENT_SPLIT_RE.split(cmdline.replace("\n", ";")):
        seg = STRIP_RE.sub("", raw)
        if seg:
            out.append(seg)
    return out


def run_analysis(ins: dict, final_chain: bool) -> dict[str, Any]:
    """What one RUN instruction does for Node.js: dependency installs, build steps, OS packages."""
    parts = [v for v in ins.get("value") or [] if isinstance(v, str)]
    parts += [h.get("content") for h in ins.get("heredocs") or [] if isinstance(h.get("content"), str)]
    segs = _segments(" ".join(parts))
    # the substring tests only skip searches that cannot match (each regex needs that literal)
    installs = [s for s in segs if (("npm" in s and _NPM_INSTALL_RE.search(s))
                                    or ("yarn" in s and _YARN_INSTALL_RE.search(s)))
                and not _GLOBAL_RE.search(s)]
    dev: list[str] = []
    for s in installs:
        if not PRODUCTION_RE.search(s):
            m = _INSTALL_SHORT_RE.search(s)
            short = m.group(0) if m else s
            if short not in dev:
                dev.append(short)
    builds: list[str] = []
    for s in segs:
        if not ("build" in s or "tsc" in s or "webpack" in s or "babel" in s or "rollup" in s):
            continue
        m = _BUILD_RE.search(s)
        if m:
            step = STRIP_RE.sub("", m.group(0))
            if step not in builds:
                builds.append(step)
    packages = sorted({w for s in segs if ("install" in s or "add" in s) and _OS_INSTALL_RE.search(s)
                       for w in _WORD_SPLIT_RE.split(s)
                       if w and not w.startswith("-")})
    return {"line": ins["start_line"], "stage": ins.get("stage"), "final_chain": final_chain,
            "installs_dependencies": bool(installs), "dev_dependency_installs": sorted(dev),
            "build_steps": sorted(builds), "os_packages": packages}


_SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh"})
_PACKAGE_MANAGERS = frozenset({"npm", "yarn", "pnpm"})
_SHELL_C_RE = re.compile(r"-[a-z]*c")
_HEAP_RE = re.compile(r"--max[-_]old[-_]space[-_]size")
_HEAP_VAR_RE = re.compile(r"--max[-_]old[-_]space[-_]size[= ]?\$\{?[A-Za-z_]")
_NODE_OPTIONS_VAR_RE = re.compile(r"NODE_OPTIONS=[^\t\n\f\r ]*\$")


def _words(text: str) -> list[str]:
    return [w for w in _WORD_SPLIT_RE.split(text) if w]


def _base(word: str) -> str:
    return word.rsplit("/", maxsplit=1)[-1]


def _after_flags(words: list[str]) -> list[str]:
    """Arguments of an init wrapper after its own options (``tini -s -- node a.js`` -> ``node a.js``)."""
    if "--" in words:
        return words[words.index("--") + 1:]
    for j, w in enumerate(words):
        if not w.startswith("-"):
            return words[j:]
    return []


def _peel(argv: list[str]) -> list[str]:
    """The program argv under ``sh -c``, ``exec`` and ``env A=1`` wrappers."""
    a = argv
    if len(a) >= 3 and _base(a[0]) in _SHELLS and _SHELL_C_RE.fullmatch(a[1]):
        a = _words(a[2])
    if a and a[0] == "exec":
        a = a[1:]
    if a and _base(a[0]) == "env":
        plain = [j for j in range(1, len(a)) if "=" not in a[j] and not a[j].startswith("-")]
        if plain:
            a = a[plain[0]:]
    return a


def _script_name(cmd: list[str]) -> Optional[str]:
    if cmd[1] in ("start", "test", "restart", "stop"):
        return cmd[1]
    if cmd[1] in ("run", "run-script", "rum", "urn"):
        return cmd[2] if len(cmd) >= 3 else None
    return cmd[1] if _base(cmd[0]) in ("pnpm", "yarn") else None


def _heap(text: str) -> dict[str, bool]:
    if "--max" not in text:  # both patterns start with it
        return {"heap_limit": False, "heap_limit_from_variable": False}
    return {"heap_limit": bool(_HEAP_RE.search(text)), "heap_limit_from_variable": bool(_HEAP_VAR_RE.search(text))}


def _process_view(cmd: list[str], scripts: dict) -> dict[str, Any]:
    """The program a process runs and the package.json script it starts through npm/yarn/pnpm."""
    script = None
    if len(cmd) >= 2 and _base(cmd[0]) in _PACKAGE_MANAGERS:
        name = _script_name(cmd)
        text = scripts.get(name) if name is not None else None
        if isinstance(text, str):
            script = {"name": name, "text": text, "words": _words(text), **_heap(text),
                      "node_options_from_variable": bool(_NODE_OPTIONS_VAR_RE.search(text))}
    return {"command": cmd, "program": _base(cmd[0]) if cmd else None, "script": script}


def process_analysis(doc: dict[str, Any]) -> dict[str, Any]:
    """What the final stage runs (``analysis.process``): words, wrappers, package.json script, heap flags.

    ``direct`` reads argv[0] as the program; ``as_init`` reads it as an init wrapper (tini, dumb-init,
    ...) and looks past its options: the policy picks the view from its list of init programs.
    """
    final = doc["final_stage"]
    proc = final.get("process") if isinstance(final.get("process"), dict) else None
    argv = [a for a in (proc or {}).get("argv") or [] if isinstance(a, str)]
    tokens = [w for a in argv for w in _words(a)]
    text = " ".join(tokens)
    shell = bool(proc) and (proc.get("form") == "shell" or (len(argv) >= 3 and any(
        _base(x) in _SHELLS and i + 1 < len(argv) and _SHELL_C_RE.fullmatch(argv[i + 1])
        for i, x in enumerate(argv))))
    line = proc.get("line") if proc and isinstance(proc.get("line"), int) else (
        (final.get("instruction_lines") or {}).get("from"))
    opts = (final.get("env") or {}).get("NODE_OPTIONS") or {}
    value = opts.get("value")
    node_options = {"value": value, "words": _words(value), **_heap(value)} if isinstance(value, str) else None
    scripts = (doc.get("package_json") or {}).get("scripts") or {}
    return {
        "line": line, "argv": argv, "first": _base(argv[0]) if argv else None, "tokens": tokens, "text": text,
        "through_shell": shell, **_heap(text), "node_options": node_options,
        "package_manager_calls": [{"word": tokens[i], "next": tokens[i + 1]} for i in range(1, len(tokens) - 1)
                                  if _base(tokens[i]) in _PACKAGE_MANAGERS],
        "direct": _process_view(_peel(argv), scripts),
        "as_init": _process_view(_peel(_after_flags(argv[1:])) if argv else [], scripts),
    }
