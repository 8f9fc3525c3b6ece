# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shell command knowledge: what a RUN or a process command does.

Package-manager installs (and the production-only ones), build steps, OS package installs,
toolchain packages, shells, package managers and init wrappers of a process. The facts builder
reports the classification (``analysis.runs``, ``analysis.process``) and the rewriter reads it there; what a
fix needs beyond it (which package manager installs, the kind of each ``&&`` segment it moves or keeps) is
here too, below "the rewriter's reading": no module of ``_rewrite/`` holds a command pattern of its own
(tests/unit/plugins/module_utils/test_one_classification.py). What the node scope (``_node_scope.py``) reads is
at the end: how a RUN installs Node.js (:func:`node_installs`), the programs a process starts
(:func:`process_programs`), and which are Node.js or another runtime (:data:`NODE_PROGRAMS`,
:data:`NON_NODE_PROGRAMS`). The policy
side's copy of :data:`TOOLCHAIN_PACKAGES` (``policies/refarch/lib/shellcmd/shellcmd.rego``
``toolchain``) is tested equal to it, and so is its copy of :data:`BUILD_CLI_PACKAGES` (``build_clis``).
Standard library only (runs on managed hosts).

npm semantics the dependency-install reading follows: ``npm``/``pnpm``/``yarn`` install the project's
dependencies without devDependencies when ``NODE_ENV=production`` is in force (ENV or ARG of the stage,
an ``export``/assignment earlier in the same RUN, or a prefix assignment) or a production flag is given,
unless ``--include=dev``/``--production=false`` asks for them; an install that names packages
(``npm install undici@6``, ``yarn add x``, ``npm i -g typescript``) installs those packages, not the
project's dependencies (``package_installs``); ``pnpm fetch`` only fills the store from the lockfile.
"""
from __future__ import annotations

import posixpath
import re
from typing import Any, Optional

from ansible_collections.refarch.containers.plugins.module_utils._lazy_re import lazy_re

#: OS packages that make a compiler toolchain (NRA003: they belong in a build stage).
TOOLCHAIN_PACKAGES = frozenset({"build-essential", "build-base", "gcc", "g++", "gcc-c++", "make", "clang", "python",
                                "python2", "python3", "musl-dev", "libc6-dev"})

#: npm packages whose command builds or compiles an application (NRA003: installed in the runtime image,
#: by name or globally, they ship a build toolchain).
BUILD_CLI_PACKAGES = frozenset({"typescript", "ts-node", "@nestjs/cli", "@angular/cli", "@vue/cli", "@ionic/cli",
                                "webpack", "webpack-cli", "esbuild", "rollup", "parcel", "vite", "@babel/cli",
                                "@babel/core", "@swc/cli", "@swc/core", "tsup", "@vercel/ncc", "gulp", "gulp-cli",
                                "grunt-cli", "node-gyp", "nx", "lerna", "turbo"})

# Whitespace as RE2 (the policy engines' regex dialect) reads \s: no Unicode spaces, no \v.
_WS = "[\t\n\f\r ]"
_SEGMENT_SPLIT_RE = re.compile(r"&&|\|\||;|\|")
STRIP_RE = lazy_re(r"^[ \t\r\n]+|[ \t\r\n]+$")
_NPM_INSTALL_RE = re.compile(rf"(^|[\t\n\f\r /])(npm|pnpm){_WS}+(install|i|ci|add|isntall)({_WS}|$)")
_YARN_INSTALL_RE = lazy_re(
    rf"(^|[\t\n\f\r /])yarn({_WS}+(install|add))?({_WS}+-{{1,2}}[A-Za-z-]+(=[^\t\n\f\r ]*)?)*{_WS}*$")
_GLOBAL_RE = re.compile(rf"(^|{_WS})(-g|--global|--location[= ]global)({_WS}|$)")
PRODUCTION_RE = re.compile(
    rf"--omit[= ]dev|--production|--only[= ]prod|(^|{_WS})--prod({_WS}|$)|NODE_ENV=production")
_INSTALL_SHORT_RE = re.compile(rf"(npm|pnpm|yarn)({_WS}+[a-z]+)?")
# asks for devDependencies whatever NODE_ENV says
_DEV_FLAG_RE = re.compile(rf"--include[= ]dev|--production[= ]false|(^|{_WS})--prod[= ]false|--dev({_WS}|$)")
_YARN_ADD_RE = lazy_re(rf"(^|[\t\n\f\r /])yarn{_WS}+(global{_WS}+)?add({_WS}|$)")
_FETCH_RE = lazy_re(rf"(^|[\t\n\f\r /])pnpm{_WS}+fetch({_WS}|$)")
_PACKAGE_NAME_RE = lazy_re(r"@[^/@\s]+/[^@\s]+|[^@\s]+")  # an npm package spec up to its version
_INSTALL_VERBS = frozenset({"install", "i", "ci", "add", "isntall"})
_ASSIGN_RE = lazy_re(r"^[A-Za-z_][A-Za-z0-9_]*=")
_REDIRECT_RE = re.compile(r"^[0-9]*[<>&]|^#")
# options of npm/pnpm/yarn install that take the next word as their value (``--prefix /app``)
_VALUE_OPTIONS = {
    "npm": frozenset({"--prefix", "--registry", "--cache", "--loglevel", "--userconfig", "--workspace", "-w",
                      "--omit", "--include", "--only", "--tag", "--location", "--install-strategy", "-C"}),
    "pnpm": frozenset({"--filter", "-F", "--dir", "-C", "--registry", "--store-dir", "--virtual-store-dir",
                       "--loglevel", "--reporter", "--lockfile-dir", "--modules-dir", "--network-concurrency"}),
    "yarn": frozenset({"--cwd", "--modules-folder", "--cache-folder", "--network-timeout", "--mutex",
                       "--registry", "--global-folder", "--link-folder"}),
}
_BUILD_RE = lazy_re(
    rf"(^|[\t\n\f\r /])("
    rf"(npm|pnpm){_WS}+run(-script)?{_WS}+build[A-Za-z:_-]*|(yarn|pnpm){_WS}+(run{_WS}+)?build[A-Za-z:_-]*|"
    rf"(npx{_WS}+)?(tsc|webpack|vite{_WS}+build|next{_WS}+build|ng{_WS}+build|nest{_WS}+build|babel|esbuild|"
    rf"rollup|parcel{_WS}+build|node-gyp{_WS}+rebuild)"
    rf")({_WS}|$)")
#: OS package managers (their ``install``/``add`` installs OS packages).
OS_PACKAGE_MANAGERS = ("apt-get", "apt", "apk", "yum", "dnf", "microdnf", "zypper")
_OS_PM = "|".join(OS_PACKAGE_MANAGERS)
_OS_INSTALL_RE = re.compile(rf"(^|[\t\n\f\r /])({_OS_PM}){_WS}+(.*{_WS})?(install|add)({_WS}|$)")
_WORD_SPLIT_RE = re.compile(rf"{_WS}+")


def _segments(cmdline: str) -> list[str]:
    """Shell command segments split at ``&&``, ``||``, ``;``, ``|`` and newlines, blanks stripped."""
    if "&" not in cmdline and "|" not in cmdline and ";" not in cmdline and "\n" not in cmdline:
        seg = cmdline.strip(" \t\r\n")  # one segment (the common short RUN): no split needed
        return [seg] if seg else []
    out = []
    for raw in _SEGMENT_SPLIT_RE.split(cmdline.replace("\n", ";")):
        seg = raw.strip(" \t\r\n")  # STRIP_RE.sub("", raw), without the regex
        if seg:
            out.append(seg)
    return out


def _assignments(words: list[str], start: int) -> tuple[int, Optional[str], bool]:
    """Leading ``NAME=value`` words (after ``export``/``env``) from ``words[start]``: (index of the first
    other word, the NODE_ENV they set or "" when they set none, whether that value is known)."""
    i = start
    value, known = "", True
    while i < len(words):
        w = words[i]
        if w in ("export", "env") and i == start:
            i += 1
            continue
        if not _ASSIGN_RE.match(w):
            break
        name, dummy, val = w.partition("=")
        if name == "NODE_ENV":
            val = val.strip("\"'")
            value, known = val, "$" not in val and "`" not in val
        i += 1
    return i, value, known


def _install_args(words: list[str]) -> tuple[Optional[str], list[str]]:
    """The package manager of an install segment and the package words it names (``npm i -g a b@1`` ->
    ``("npm", ["a", "b@1"])``); words after a redirection or comment are not arguments."""
    for k, w in enumerate(words):
        tool = w.rsplit("/", 1)[-1]
        if tool in _VALUE_OPTIONS and k + 1 < len(words):
            break
    else:
        return None, []
    values = _VALUE_OPTIONS[tool]
    rest = words[k + 1:]
    if tool == "yarn" and rest[:1] == ["global"]:
        rest = rest[1:]
    if rest[:1] and rest[0] in _INSTALL_VERBS:
        rest = rest[1:]
    named: list[str] = []
    skip = False
    for w in rest:
        if skip:
            skip = False
            continue
        if _REDIRECT_RE.match(w):
            break
        if w.startswith("-"):
            skip = w in values
            continue
        if w not in (".", "./") and not w.startswith("$"):  # a variable may hold options: not a name
            named.append(w)
    return tool, named


def _package_name(spec: str) -> str:
    """``@nestjs/cli@10.1`` -> ``@nestjs/cli``; ``typescript@~5`` -> ``typescript``; paths and URLs as written."""
    spec = spec.strip("\"'")
    if not spec.startswith("@") and ("/" in spec or ":" in spec):
        return spec
    m = _PACKAGE_NAME_RE.match(spec)
    return m.group(0) if m else spec


#: files that say which dependencies a Node.js project installs (bind-mounted, they let an install run
#: before the source is copied).
MANIFEST_FILES = frozenset({"package.json", "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml",
                            "pnpm-workspace.yaml", ".npmrc", ".yarnrc", ".yarnrc.yml"})


def _manifest_mounts(flags: list) -> list[str]:
    """Sources of ``RUN --mount=type=bind,source=...`` (bind is the default type) that are package manifests."""
    out: list[str] = []
    if not flags:
        return out
    for f in flags:
        if not isinstance(f, str) or not f.startswith("--mount="):
            continue
        opts = {}
        for part in f[len("--mount="):].split(","):
            key, dummy, val = part.partition("=")
            opts[key.strip().lower()] = val.strip()
        source = opts.get("source", opts.get("src"))
        if opts.get("type", "bind") == "bind" and source and source.rsplit("/", 1)[-1] in MANIFEST_FILES:
            out.append(source)
    return sorted(set(out))


def _named_install(seg: str, yarn_add: Any) -> tuple[bool, list[str]]:
    """(global install, package names) of an install segment; no names: the project's dependencies."""
    global_ = bool(_GLOBAL_RE.search(seg)) or (bool(yarn_add) and yarn_add.group(2) is not None)
    dummy, packages = _install_args(_WORD_SPLIT_RE.split(seg))
    return global_, [_package_name(p) for p in packages]


def _run_text(ins: dict) -> str:
    """A RUN's value words and heredoc bodies, joined (what ``run_analysis`` reads)."""
    parts = [v for v in ins.get("value") or [] if isinstance(v, str)]
    heredocs = ins.get("heredocs")
    if heredocs:
        parts += [h.get("content") for h in heredocs if isinstance(h.get("content"), str)]
    return parts[0] if len(parts) == 1 else " ".join(parts)


#: ``npm run <name>``, ``npm run-script <name>``, ``yarn [run] <name>``, ``pnpm [run] <name>`` at the start of a
#: segment (after a path to the program): the package.json script the segment runs (group ``name``)
_RUN_SCRIPT_RE = lazy_re(rf"^(\S*/)?(npm{_WS}+run(-script)?|pnpm({_WS}+run)?|yarn({_WS}+run)?)"
                         rf"(?:{_WS}+-[-A-Za-z]+)*{_WS}+(?P<name>[A-Za-z0-9][-A-Za-z0-9:_.]*)({_WS}|$)")


def script_build_steps(ins: dict, scripts: Optional[dict]) -> list[str]:
    """Build steps a RUN runs through the project's own ``package.json`` scripts (``scripts``): a segment that runs
    a script by name (``npm run compile``, ``pnpm bundle``) whose command is a build step as ``run_analysis``
    reads one (``tsc``, ``webpack``, ``next build``, ``npm run build`` ...). One level: the script's own command is
    read, not the scripts it runs. A script named like a build (``build*``) is reported by ``run_analysis``
    already; a name that is a package manager command (``yarn install``, ``pnpm add``) is not a script."""
    if not scripts or not isinstance(scripts, dict):
        return []
    steps: list[str] = []
    for step, name in _script_runs(_run_text(ins)):
        body = scripts.get(name)
        if isinstance(body, str) and _BUILD_RE.search(body) and step not in steps:
            steps.append(step)
    return steps


def _script_runs(text: str) -> tuple:
    """``((step, script name), ...)``: the segments of a RUN's text that run a package.json script by a name that
    is not a build by itself nor a package manager command (what ``script_build_steps`` then looks up), remembered
    per text as ``_RUN_READINGS``."""
    found = _SCRIPT_RUNS.get(text)
    if found is not None:
        return found
    runs = []
    if "npm" in text or "yarn" in text:  # else no segment names a package manager (pnpm holds npm): most RUNs
        for seg in _segments(text):
            if not ("npm" in seg or "yarn" in seg or "pnpm" in seg):
                continue
            m = _RUN_SCRIPT_RE.match(seg)
            if not m or _BUILD_RE.search(seg):
                continue
            name = m.group("name")
            if name not in _INSTALL_VERBS and name not in _PM_COMMANDS:
                runs.append((STRIP_RE.sub("", m.group(0)), name))
    found = tuple(runs)
    if len(text) <= _RUN_READING_MAX_TEXT:
        if len(_SCRIPT_RUNS) >= _RUN_READINGS_MAX:
            _SCRIPT_RUNS.clear()
        _SCRIPT_RUNS[text] = found
    return found


_SCRIPT_RUNS: dict = {}


#: package manager commands that are not package.json scripts (``yarn <name>``/``pnpm <name>`` runs a script only
#: when the name is not one of its own commands)
_PM_COMMANDS = frozenset({"install", "add", "remove", "ci", "prune", "cache", "config", "exec", "dlx", "fetch",
                          "rebuild", "link", "pack", "publish", "set", "global", "why", "list", "ls", "outdated",
                          "update", "upgrade", "audit", "init", "create", "store", "workspaces", "workspace", "run",
                          "start", "test", "version", "info", "dedupe", "env", "bin", "import", "setup", "deploy"})


def run_analysis(ins: dict, final_chain: bool, node_env: Optional[str] = None) -> dict[str, Any]:
    """What one RUN instruction does for Node.js: dependency installs, build steps, OS packages.

    ``node_env``: the NODE_ENV in force when the RUN starts (the stage's ENV/ARG; None: not set or not
    known on the host)."""
    text = _run_text(ins)
    key = (text, node_env)
    reading = _RUN_READINGS.get(key)
    if reading is None:
        reading = _run_reading(text, node_env)
        if len(text) <= _RUN_READING_MAX_TEXT:
            if len(_RUN_READINGS) >= _RUN_READINGS_MAX:
                _RUN_READINGS.clear()
            _RUN_READINGS[key] = reading
    installs, dev, builds, packages, fetches, named = reading
    return {"line": ins["start_line"], "stage": ins.get("stage"), "final_chain": final_chain,
            "installs_dependencies": installs, "dev_dependency_installs": list(dev),
            "build_steps": list(builds), "os_packages": list(packages),
            "node_env": node_env, "fetches_dependencies": fetches,
            "manifest_mounts": _manifest_mounts(ins.get("flags")),
            "package_installs": [{"name": n, "global": g} for n, g in named]}


# run_analysis' reading of a RUN's text, remembered per (text, NODE_ENV): an estate repeats its RUN lines
# (npm ci, npm run build); bounded, and only short texts are kept. The texts are redacted ones.
_RUN_READINGS: dict = {}
_RUN_READINGS_MAX = 1024
_RUN_READING_MAX_TEXT = 2048


def _run_reading(text: str, node_env: Optional[str]) -> tuple:
    """``(installs_dependencies, dev installs, build steps, OS packages, fetches, named installs)`` of a RUN's text
    (its value words and heredoc bodies joined), all immutable (see run_analysis)."""
    segs = _segments(text)
    env_now = node_env
    installs: list[str] = []
    dev: list[str] = []
    named: set[tuple[str, bool]] = set()
    fetches = False
    for s in segs:
        seg_env = env_now
        if "NODE_ENV" in s:
            words = _WORD_SPLIT_RE.split(s)
            first, value, known = _assignments(words, 0)
            if value or not known:
                seg_env = value if known else None
                if first == len(words):  # only assignments: they stay for the rest of the RUN
                    env_now = seg_env
        # the substring tests only skip searches that cannot match (each regex needs that literal)
        if "pnpm" in s and "fetch" in s and _FETCH_RE.search(s):
            fetches = True
        yarn_add = "yarn" in s and "add" in s and _YARN_ADD_RE.search(s)
        if not (("npm" in s and _NPM_INSTALL_RE.search(s)) or yarn_add
                or ("yarn" in s and _YARN_INSTALL_RE.search(s))):
            continue
        global_, packages = _named_install(s, yarn_add)
        if global_ or packages:
            named.update((p, global_) for p in packages)
            continue
        installs.append(s)
        production = (seg_env == "production" or PRODUCTION_RE.search(s)) and not _DEV_FLAG_RE.search(s)
        if not production:
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
    return (bool(installs), tuple(sorted(dev)), tuple(sorted(builds)), tuple(packages), fetches,
            tuple(sorted(named)))


_SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh"})
#: Node.js package managers (a process started through one runs a package.json script).
PACKAGE_MANAGERS = frozenset({"npm", "yarn", "pnpm"})
#: init programs recognised in front of a process (argv[0] base name) by the rewriter and the image facts.
#: The start script the heap fix (``_rewrite/fix_heap.py``) puts in front of the command: it sets the heap limit and
#: ``exec``s its arguments, so the program is what follows it.
HEAP_WRAPPER = "/usr/local/bin/node-heap-from-cgroup"
_HEAP_WRAPPER_NAME = posixpath.basename(HEAP_WRAPPER)
INIT_PROGRAMS = frozenset({"tini", "tini-static", "dumb-init", "catatonit", "docker-init", "podman-init", "s6-svscan"})
_SHELL_C_RE = re.compile(r"-[a-z]*c")
_HEAP_RE = re.compile(r"--max[-_]old[-_]space[-_]size")
_HEAP_VAR_RE = re.compile(r"--max[-_]old[-_]space[-_]size[= ]?\$\{?[A-Za-z_]")
_NODE_OPTIONS_VAR_RE = re.compile(r"NODE_OPTIONS=[^\t\n\f\r ]*\$")


def _words(text: str) -> list[str]:
    if not text.isprintable() and ("\t" in text or "\n" in text or "\r" in text or "\f" in text):
        return [w for w in _WORD_SPLIT_RE.split(text) if w]
    # only spaces separate words (the common case; a printable text has no other blank): the same words without
    # the regex
    return [w for w in text.split(" ") if w] if " " in text else ([text] if text else [])


def _base(word: str) -> str:
    return word[word.rfind("/") + 1:]  # word.rsplit("/", 1)[-1] without the list


def _after_flags(words: list[str]) -> list[str]:
    """Arguments of an init wrapper after its own options (``tini -s -- node a.js`` -> ``node a.js``)."""
    if "--" in words:
        return words[words.index("--") + 1:]
    for j, w in enumerate(words):
        if not w.startswith("-"):
            return words[j:]
    return []


def _peel(argv: list[str]) -> list[str]:
    """The program argv under ``sh -c``, ``exec``, ``env A=1`` and the heap fix's start script (it execs them)."""
    a = argv[1:] if argv and _base(argv[0]) == _HEAP_WRAPPER_NAME else argv
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
    if len(cmd) >= 2 and _base(cmd[0]) in PACKAGE_MANAGERS:
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
    proc = final.get("process")
    if not isinstance(proc, dict):
        proc = None
    argv = [a for a in proc.get("argv") or [] if isinstance(a, str)] if proc else []
    key = (tuple(argv), proc is not None and proc.get("form") == "shell")
    reading = _PROCESS_READINGS.get(key)
    if reading is None:
        reading = _process_reading(argv, key[1])
        if sum(map(len, argv)) <= _RUN_READING_MAX_TEXT:
            if len(_PROCESS_READINGS) >= _RUN_READINGS_MAX:
                _PROCESS_READINGS.clear()
            _PROCESS_READINGS[key] = reading
    tokens_t, text, shell, heap, calls, direct, as_init = reading
    shell = bool(proc) and shell
    tokens = list(tokens_t)
    line = proc.get("line") if proc and isinstance(proc.get("line"), int) else (
        (final.get("instruction_lines") or {}).get("from"))
    # the instruction that decides PID 1: the ENTRYPOINT when there is one (CMD only adds arguments)
    pid1 = line
    for p in (final.get("entrypoint"), final.get("cmd")):
        if isinstance(p, dict) and isinstance(p.get("line"), int):
            pid1 = p["line"]
            break
    opts = (final.get("env") or {}).get("NODE_OPTIONS") or {}
    value = opts.get("value")
    node_options = {"value": value, "words": _words(value), **_heap(value)} if isinstance(value, str) else None
    scripts = (doc.get("package_json") or {}).get("scripts") or {}
    return {
        "line": line, "pid1_line": pid1, "argv": argv, "first": _base(argv[0]) if argv else None, "tokens": tokens,
        "text": text,
        "through_shell": shell, "heap_limit": heap[0], "heap_limit_from_variable": heap[1],
        "node_options": node_options,
        "package_manager_calls": [{"word": w, "next": n} for w, n in calls],
        "direct": _process_view(list(direct), scripts),
        "as_init": _process_view(list(as_init), scripts),
    }


# process_analysis' reading of a command line, remembered per (argv, shell form) (see _RUN_READINGS)
_PROCESS_READINGS: dict = {}


def _process_reading(argv: list[str], shell_form: bool) -> tuple:
    """What process_analysis reads from the argv alone, immutable: ``(tokens, text, through a shell (with a
    process), (heap_limit, heap_limit_from_variable), package manager calls, direct command, init view command)``."""
    tokens: list[str] = []
    for a in argv:
        tokens += _words(a)
    text = " ".join(tokens)
    # through a shell: shell form, or a shell word followed by -c (only words starting with "-" can be -c)
    shell = shell_form or (len(argv) >= 3 and any(
        argv[i + 1][:1] == "-" and _base(argv[i]) in _SHELLS and _SHELL_C_RE.fullmatch(argv[i + 1])
        for i in range(len(argv) - 1)))
    heap = _heap(text)
    calls = tuple((tokens[i], tokens[i + 1]) for i in range(1, len(tokens) - 1) if _base(tokens[i]) in PACKAGE_MANAGERS)
    return (tuple(tokens), text, shell, (heap["heap_limit"], heap["heap_limit_from_variable"]), calls,
            tuple(_peel(argv)), tuple(_peel(_after_flags(argv[1:])) if argv else ()))


# --------------------------------------------------------------------------- the rewriter's reading
# What the fixes ask of a RUN before they move or drop it, beyond what ``run_analysis`` reports: which package
# manager installs the dependencies (the patterns above), and what kind of step each ``&&`` segment is, read
# the way the fixes write segments back (whitespace runs normalised to one space), so they can move, keep or
# drop it. Whether a RUN builds at all the fixes read from the facts (``analysis.runs``).

_AND_OTHER_OPERATORS_RE = lazy_re(r"\|\||;|\||`|\$\(")
_INSTALL_ONLY_SEGMENT_RE = lazy_re(r"^(npm\s+(ci|install|i)(\s+-[-\w=]+)*|yarn(\s+install)?(\s+-[-\w=]+)*"
                                   r"|pnpm\s+(install|i)(\s+-[-\w=]+)*|npm\s+cache\s+clean(\s+-[-\w=]+)*"
                                   r"|yarn\s+cache\s+clean|rm\s+-rf\s+\S*(cache|\.npm)\S*)$")
#: programs a build runs in the application directory: Node.js itself, its package managers and the build tools
#: whose steps ``run_analysis`` reports (``build_steps``)
NODE_BUILD_PROGRAMS = ("npm", "yarn", "pnpm", "npx", "node", "corepack", "tsc", "bower", "gulp", "grunt", "webpack",
                       "vite", "nest", "next", "ng", "babel", "esbuild", "rollup", "parcel", "node-gyp")
_BUILD_TOOL_SEGMENT_RE = lazy_re(r"^({})\b".format("|".join(NODE_BUILD_PROGRAMS)))
_APPDIR_SEGMENT_RE = lazy_re(r"^(chmod|chown|mkdir|rm|cp|mv|ln|touch)\b")
_NOOP_SEGMENT_RE = lazy_re(r"^(ls|cat|echo|whoami|pwd|env|printenv|id|which|true"
                           r"|node\s+(-v|--version)|npm\s+(-v|--version))\b")
_OS_HOUSEKEEPING_RE = lazy_re(
    r"^(apt-get\s+update|apt\s+update|apk\s+update|rm\s+-rf\s+/var/lib/apt/lists/\*?|"
    r"apt-get\s+clean|yum\s+clean\s+all|dnf\s+clean\s+all|microdnf\s+clean\s+all)$")
_SYSTEM_SEGMENT_RE = lazy_re(rf"^({_OS_PM}|useradd|groupadd|adduser|addgroup|"
                             r"update-ca-certificates|ln\s+-s\S*\s+/usr/share/zoneinfo)\b")
_RUNS_PACKAGE_MANAGER_RE = lazy_re(r"(^|[\s/\"'])(npm|yarn|pnpm)\s")
_YARN_BERRY_RE = lazy_re(r"yarn@[2-9]|yarn\s+set\s+version\s+(berry|stable|[2-9])")
_ALPINE_TOOLS_RE = lazy_re(r"\b(apk|adduser|addgroup|wget)\b|musl")
_ALPINE_ONLY_RE = lazy_re(r"\b(apk|wget)\b|musl")   # musl: a build for Alpine's C library (npm rebuild ...)
_APK_CACHE_RE = lazy_re(r"/var/cache/apk")
_APK_CACHE_CLEAN_RE = lazy_re(r"^rm -[rf]+ /var/cache/apk")


#: A Git hooks installer's command (husky, run as ``prepare`` by most projects that use it): it writes Git
#: configuration and the hooks directory when it runs in a Git working tree, and nothing the application reads.
_GIT_HOOKS_SEGMENT_RE = lazy_re(r"^((npx|pnpm exec|yarn) )?husky( install)?( [./\w-]+)?$|^is-ci$|^true$")


def only_installs_git_hooks(script: object) -> bool:
    """Whether a package.json install script (``prepare``, ``postinstall`` ...) only installs Git hooks
    (``husky``, ``husky install``, ``is-ci || husky install``, ``husky || true``): it neither reads the
    application's sources nor makes files the application reads."""
    if not isinstance(script, str) or not script.strip():
        return False
    parts = [re.sub(r"\s+", " ", p.strip()) for p in _SEGMENT_SPLIT_RE.split(script)]
    return all(_GIT_HOOKS_SEGMENT_RE.match(p) for p in parts) and any("husky" in p for p in parts)


def split_and(command: str) -> Optional[list[str]]:
    """Split a shell command on top-level ``&&``; None when it has other control operators."""
    if _AND_OTHER_OPERATORS_RE.search(command.replace("&&", "")):
        return None
    return [part.strip() for part in command.split("&&")]


def install_tool(command: str) -> Optional[str]:
    """The package manager (``npm``, ``pnpm`` or ``yarn``) a shell command uses to install the project's
    dependencies, global installs excluded; None when it installs none."""
    for seg in _segments(command):
        if _GLOBAL_RE.search(seg):
            continue
        match = _NPM_INSTALL_RE.search(seg)
        if match:
            return match.group(2)
        if _YARN_INSTALL_RE.search(seg):
            return "yarn"
    return None


def is_install_only_segment(segment: str) -> bool:
    """Whether a single-spaced ``&&`` segment only installs the project's dependencies or cleans the package
    manager's cache (what may move with the manifests before the source copy)."""
    return bool(_INSTALL_ONLY_SEGMENT_RE.match(segment))


def is_global_install(segment: str) -> bool:
    """Whether a segment installs npm packages globally (``npm i -g x``, ``yarn global add x``)."""
    yarn_add = "yarn" in segment and "add" in segment and _YARN_ADD_RE.search(segment)
    return bool((_NPM_INSTALL_RE.search(segment) or yarn_add) and _named_install(segment, yarn_add)[0])


def is_build_tool_segment(segment: str) -> bool:
    """Whether a single-spaced segment starts with a Node.js tool (its result lives in the app directory)."""
    return bool(_BUILD_TOOL_SEGMENT_RE.match(segment))


def is_appdir_segment(segment: str) -> bool:
    """Whether a segment starts with a file command (chmod, chown, mkdir, rm, cp, mv, ln, touch)."""
    return bool(_APPDIR_SEGMENT_RE.match(segment))


def is_noop_segment(segment: str) -> bool:
    """Whether a single-spaced segment only prints or queries (``ls``, ``echo``, ``node -v``...)."""
    return bool(_NOOP_SEGMENT_RE.match(segment))


#: OS package managers -> the base image family whose images carry them (the families ``_base_image.image_family``
#: names and the rewriter installs packages on)
_PM_FAMILIES = {"apt-get": "debian", "apt": "debian", "apk": "alpine"}


def os_package_families(command: str) -> set:
    """The families (``debian``, ``alpine``) whose package manager a shell command installs OS packages with
    (``apt-get install``, ``apk add``), as ``run_analysis`` reads installs; other managers are not named."""
    out = set()
    for seg in _segments(command):
        if ("install" in seg or "add" in seg):
            m = _OS_INSTALL_RE.search(seg)
            if m and m.group(2) in _PM_FAMILIES:
                out.add(_PM_FAMILIES[m.group(2)])
    return out


def is_os_package_install(segment: str) -> bool:
    """Whether a segment installs OS packages (:data:`OS_PACKAGE_MANAGERS`), as ``run_analysis`` reads it."""
    return bool(_OS_INSTALL_RE.match(segment))


def is_os_housekeeping(segment: str) -> bool:
    """Whether a single-spaced segment only refreshes or cleans the OS package index."""
    return bool(_OS_HOUSEKEEPING_RE.match(segment))


def is_system_segment(segment: str) -> bool:
    """Whether a single-spaced segment changes the system, not the application (OS packages, users, CA
    certificates, time zone)."""
    return bool(_SYSTEM_SEGMENT_RE.match(segment))


def installs_os_package(command: str, package: str) -> bool:
    """Whether a shell command names ``package`` after an OS package manager (:data:`OS_PACKAGE_MANAGERS`)."""
    return bool(re.search(rf"\b({_OS_PM})\b.*\b{re.escape(package)}\b", command))


def runs_package_manager(text: str) -> bool:
    """Whether a command line (shell form) calls npm, yarn or pnpm somewhere in it."""
    return bool(_RUNS_PACKAGE_MANAGER_RE.search(text))


def uses_yarn_berry(text: str) -> bool:
    """Whether shell text pins Yarn 2+ (``yarn@3``, ``yarn set version berry``)."""
    return bool(_YARN_BERRY_RE.search(text))


def uses_alpine_tools(command: str) -> bool:
    """Whether a shell command uses tools that differ on Alpine (apk, busybox adduser/addgroup, wget) or builds for
    its C library (musl)."""
    return bool(_ALPINE_TOOLS_RE.search(command))


def relies_on_alpine(segment: str) -> bool:
    """Whether a segment that is not itself an apk/adduser/wget call still relies on them, on apk's cache or on
    Alpine's C library (``npm rebuild --platform=linuxmusl sharp``)."""
    first = re.sub(r"\s+", " ", segment.strip()).split(" ")[0]
    return bool(_ALPINE_ONLY_RE.search(segment)) or (bool(_APK_CACHE_RE.search(segment)) and not first == "rm")


def is_apk_cache_clean(segment: str) -> bool:
    """Whether a single-spaced segment removes apk's cache."""
    return bool(_APK_CACHE_CLEAN_RE.match(segment))


# --------------------------------------------------------------------------
# Node.js scope: what installs Node.js, which programs are Node.js and which are other runtimes
# (read by _node_scope.py, which classifies a target as node / not_node / unknown)
# --------------------------------------------------------------------------
#: Programs that mean "Node.js runs here" when they start the process.
NODE_PROGRAMS = frozenset({"node", "nodejs", "npm", "npx", "yarn", "pnpm", "corepack", "ts-node", "tsx", "nodemon",
                           "pm2", "pm2-runtime", "forever"})
#: Programs of other runtimes and servers: a process that starts one of them is not a Node.js process.
NON_NODE_PROGRAMS = frozenset({
    "python", "python2", "python3", "pypy", "pypy3", "gunicorn", "uvicorn", "hypercorn", "daphne", "celery",
    "locust", "flask", "django-admin", "uwsgi", "java", "jshell", "catalina.sh", "dotnet", "nginx", "caddy",
    "httpd", "apache2", "apache2ctl", "httpd-foreground", "haproxy", "envoy", "traefik", "php", "php-fpm",
    "ruby", "rails", "puma", "unicorn", "bundle", "perl", "go", "redis-server", "postgres", "mysqld", "mongod",
    "beam.smp", "erl", "elixir", "iex", "mix", "deno", "bun",
})
# OS packages that are Node.js (apk/apt/dnf/yum/zypper names, with a version or stream: nodejs=20.1-r0,
# nodejs:20, nodejs20, nodejs-current) or bring it as a dependency (npm).
_NODE_OS_PACKAGE_RE = lazy_re(r"^(nodejs([0-9]+)?(-current|-lts|-full)?|npm)([=:@/<>~].*)?$")
_NODE_VERSION_MANAGER_RE = lazy_re(
    rf"(^|[\t\n\f\r /;&|])("
    rf"nvm{_WS}+install|volta{_WS}+install{_WS}+(node|npm|yarn)|fnm{_WS}+install|"
    rf"asdf{_WS}+install{_WS}+nodejs|nodenv{_WS}+install|nodeenv{_WS}"
    rf")")
# `n 20`, `n lts`, `n install 20` as a command of its own (the first word of a segment)
_N_RE = lazy_re(rf"^n{_WS}+(install{_WS}+)?(lts|latest|current|stable|auto|engine|v?[0-9][0-9.]*)({_WS}|$)")
_NODE_DIST_RE = lazy_re(r"nodejs\.org/(download/release|dist)/|unofficial-builds\.nodejs\.org|"
                        r"deb\.nodesource\.com|rpm\.nodesource\.com")


def node_os_package(word: str) -> bool:
    """Whether an OS package name (as an install command names it) is Node.js or brings it."""
    return bool(_NODE_OS_PACKAGE_RE.match(word))


def node_installs(ins: dict) -> list[str]:
    """How one RUN instruction installs Node.js: ``apk add nodejs``, ``nvm install``, a nodejs.org download ...

    Each entry is a short description of the step (package manager and package, or the tool);
    empty when the RUN installs no Node.js. Pure.
    """
    parts = [v for v in ins.get("value") or [] if isinstance(v, str)]
    parts += [h.get("content") for h in ins.get("heredocs") or [] if isinstance(h.get("content"), str)]
    text = " ".join(parts)
    # each test needs one of these literals: most RUNs are skipped here
    if not ("node" in text or "npm" in text or "nvm" in text or "volta" in text or "fnm" in text or "n " in text):
        return []
    found: list[str] = []
    for seg in _segments(text):
        if ("install" in seg or "add" in seg) and _OS_INSTALL_RE.search(seg):
            words = [w for w in _WORD_SPLIT_RE.split(seg) if w]
            manager = next((_base(w) for w in words if _base(w) in OS_PACKAGE_MANAGERS), words[0])
            for w in words:
                if not w.startswith("-") and node_os_package(w):
                    found.append(f"{manager} {'add' if manager == 'apk' else 'install'} {w}")
        m = _NODE_VERSION_MANAGER_RE.search(seg)
        if m:
            found.append(STRIP_RE.sub("", m.group(2)))
        elif _N_RE.match(seg):
            found.append(" ".join(_words(seg)[:2]))
        if _NODE_DIST_RE.search(seg):
            found.append("Node.js download (" + _NODE_DIST_RE.search(seg).group(0).rstrip("/") + ")")
    out: list[str] = []
    for f in found:
        if f not in out:
            out.append(f)
    return out


_ENTRYPOINT_SCRIPTS = frozenset({"docker-entrypoint.sh", "docker-entrypoint", _HEAP_WRAPPER_NAME})
_PROGRAM_SEGMENT_RE = re.compile(r"&&|\|\||;|\||(?<![<>&])&(?![>&])")
_INIT_VALUE_OPTIONS = frozenset({"-p", "-e", "-r", "--rewrite"})


def _program_index(words: list[str]) -> Optional[int]:
    """Index of the program a command's words start, past ``exec``, ``env A=1``, ``A=1``, inits with their
    options and the official images' ``docker-entrypoint.sh``; None when there is none."""
    i = 0
    while i < len(words):
        w = words[i].lstrip("(")
        base = _base(w)
        if w in _INIT_VALUE_OPTIONS:
            i += 2  # an init's option and its value (tini -p SIGTERM)
            continue
        if not w or w == "exec" or w.startswith("-") or ("=" in w and base == w):
            i += 1
            continue
        if base in ("env", "nohup", "setsid") or base in INIT_PROGRAMS or base in _ENTRYPOINT_SCRIPTS:
            i += 1
            continue
        if base in ("su-exec", "gosu"):
            i += 2  # and their user argument
            continue
        return i
    return None


def process_programs(argv: list[str]) -> list[str]:
    """The programs a process command line starts, in order: argv's program past init wrappers, env and the
    official images' ``docker-entrypoint.sh``, and under ``sh -c`` the first program of each command.

    ``["tini", "--", "node", "a.js"]`` -> ``["node"]``; ``["/bin/sh", "-c", "node a.mjs && caddy run"]`` ->
    ``["node", "caddy"]``. Pure.
    """
    words = [a for a in argv if isinstance(a, str)]
    i = _program_index(words)
    if i is None:
        return []
    prog = _base(words[i].lstrip("("))
    if prog in _SHELLS and i + 1 < len(words) and _SHELL_C_RE.fullmatch(words[i + 1]):
        out: list[str] = []
        for seg in _PROGRAM_SEGMENT_RE.split(" ".join(words[i + 2:])):
            seg_words = _words(seg)
            j = _program_index(seg_words)
            name = _base(seg_words[j].lstrip("(")) if j is not None else None
            if name and name not in out:
                out.append(name)
        return out or [prog]
    return [prog]
