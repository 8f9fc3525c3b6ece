# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which variable sets the port the application listens on (for ``remap_privileged_ports``, NRA002).

Changing ``EXPOSE 80`` to ``EXPOSE 8080`` fixes nothing when the application still binds 80 (and after
``add_non_root_user`` it cannot bind 80 at all). So the port fix needs evidence that the application takes its
port from an environment variable the Dockerfile can set:

1. :func:`entry_points` finds the entry point: ``node [flags] <file>`` in ``CMD``/``ENTRYPOINT`` (behind an init
   or ``docker-entrypoint.sh``), else the ``npm|yarn|pnpm start``/``run <script>`` script of ``package.json``
   (npm's default ``node server.js`` when there is no start script), ``node .`` -> ``main`` (or ``index.js``).
2. :func:`context_path` maps the container path to a path in the build context through the ``COPY``/``ADD``
   instructions of the final stage's chain, following ``COPY --from=<stage>`` into that stage; a file that comes
   from another image is not read. A compiled entry point that is not in the context (``dist/main.js``) is read
   from its TypeScript source when ``tsconfig.json``'s ``outDir`` holds it (:func:`_typescript_source`).
3. :func:`scan_source` reads a JavaScript/TypeScript source (comments removed, strings kept): the port
   variables it reads (``process.env.PORT``, ``process.env['APP_PORT']``, ``const { PORT = 3000 } =
   process.env``, with a ``||``/``??`` default), the ``listen(...)`` calls, a hard-coded port
   (``listen(80)``, ``listen({port: 80})``, ``const port = 80; app.listen(port)``), a port taken from a
   configuration object, and the local modules it requires or imports.
4. :func:`detect` follows local requires/imports from the entry point (breadth first, through the reader's
   budget) and decides: the application *follows* the variable ``V`` when the files read use exactly one port
   variable and no hard-coded or configuration port, and either a ``listen`` call takes its port from
   ``process.env`` or every local module they import could be read. Anything else (a hard-coded port, a config
   file, several variables, no listen call and no variable, an entry point that cannot be found or read) is not
   evidence: the answer says why, and the fix changes nothing for NRA002.

Pure: files are read through ``read(relpath) -> (text | None, why_not | None)`` (``FixContext.read_file``; the
host passes ``_context_files.ContextFiles``). The source text never leaves this module.
"""
from __future__ import annotations

import posixpath
import re
from typing import NamedTuple

from ansible_collections.refarch.containers.plugins.module_utils._rewrite.model import (
    _NODE_VALUE_FLAGS,
    _norm_path,
)

#: Environment variable names taken as a port variable (``PORT``, ``APP_PORT``, ``HTTP_PORT``, ...).
PORT_VAR_RE = re.compile(r"^[A-Z][A-Z0-9_]*PORT$|^PORT$")
_WRAPPERS = {"tini", "tini-static", "dumb-init", "catatonit", "docker-init", "docker-entrypoint.sh", "--", "-s", "-g"}
_SOURCE_EXTS = ("", ".js", ".cjs", ".mjs", ".ts", ".mts", ".cts", "/index.js", "/index.ts", "/index.mjs")
_ENV_READ = re.compile(r"\bprocess\s*\.\s*env\s*(?:\.\s*([A-Za-z_$][\w$]*)|\[\s*(['\"`])([A-Za-z_$][\w$]*)\2\s*\])")
_DESTRUCTURE = re.compile(r"\{([^{}]*)\}\s*=\s*process\s*\.\s*env\b")
_DEFAULT_AFTER = re.compile(r"\s*(?:,\s*10\s*)?\)?\s*(?:\|\||\?\?)\s*(['\"]?)(\d{1,5})\1(?!\w)")
_LISTEN = re.compile(r"\.\s*listen\s*\(")
_REQUIRE = re.compile(r"\brequire\s*\(\s*(['\"])(\.{1,2}/[^'\"]+)\1\s*\)"
                      r"|\bimport\s*\(\s*(['\"])(\.{1,2}/[^'\"]+)\3\s*\)"
                      r"|\b(?:import|export)\b[^'\";]*?\bfrom\s*(['\"])(\.{1,2}/[^'\"]+)\5"
                      r"|\bimport\s*(['\"])(\.{1,2}/[^'\"]+)\7")
_IDENT = r"[A-Za-z_$][\w$]*"


class PortEvidence(NamedTuple):
    """What :func:`detect` found. ``variable`` is set only when the application follows it."""

    variable: str | None
    default: int | None
    why: str
    files: tuple = ()
    #: the hard-coded listen ports found, ``((port, path, line), ...)`` (the non-root fix declines on a privileged one)
    hard_coded: tuple = ()


class SourceScan(NamedTuple):
    """What one source file says about ports (line numbers are the file's)."""

    env_reads: list      # [(name, default or None, line)]
    hard_coded: list     # [(port, line)]
    other: list          # [(text, line)]: listen ports from something else (configuration objects, ...)
    listens: int
    imports: list        # relative module specifiers
    env_listens: int = 0  # listen calls whose port comes from process.env


# ------------------------------------------------------------------------------------------- source text

def strip_comments(src: str) -> str:
    """``src`` with ``//`` and ``/* */`` comments blanked (newlines kept, so line numbers hold); string and template
    literals are kept as written (a ``//`` inside a string is not a comment)."""
    out, k, n = [], 0, len(src)
    while k < n:
        c = src[k]
        if c in "'\"`":
            j = k + 1
            while j < n and src[j] != c:
                if src[j] == "\\":
                    j += 1
                elif src[j] == "\n" and c != "`":
                    break
                j += 1
            out.append(src[k:j + 1])
            k = j + 1
        elif src.startswith("//", k):
            j = src.find("\n", k)
            j = n if j < 0 else j
            k = j
        elif src.startswith("/*", k):
            j = src.find("*/", k + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * src.count("\n", k, j))
            k = j
        else:
            out.append(c)
            k += 1
    return "".join(out)


def _line(src: str, pos: int) -> int:
    return src.count("\n", 0, pos) + 1


def _call_args(src: str, start: int) -> str:
    """The text between the parenthesis at ``start - 1`` and its match (bounded)."""
    depth, k = 1, start
    while k < len(src) and k - start < 2000:
        if src[k] in "([{":
            depth += 1
        elif src[k] in ")]}":
            depth -= 1
            if depth == 0:
                break
        k += 1
    return src[start:k]


def _first_arg(args: str) -> str:
    depth = 0
    for k, c in enumerate(args):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 0:
            return args[:k].strip()
    return args.strip()


def scan_source(text: str) -> SourceScan:
    """The port facts of one JavaScript/TypeScript source (see the module docstring)."""
    src = strip_comments(text)
    env_reads = []
    for m in _ENV_READ.finditer(src):
        name = m.group(1) or m.group(3)
        if PORT_VAR_RE.match(name or ""):
            d = _DEFAULT_AFTER.match(src, m.end())
            env_reads.append((name, int(d.group(2)) if d else None, _line(src, m.start())))
    for m in _DESTRUCTURE.finditer(src):
        for item in m.group(1).split(","):
            name, _eq, default = item.partition("=")
            name = name.split(":")[0].strip()
            if PORT_VAR_RE.match(name):
                default = default.strip().strip("'\"")
                env_reads.append((name, int(default) if default.isdigit() else None, _line(src, m.start())))
    hard_coded, other = [], []
    listens = env_listens = 0
    for m in _LISTEN.finditer(src):
        listens += 1
        line = _line(src, m.start())
        arg = _first_arg(_call_args(src, m.end()))
        obj = re.match(r"\{(.*)\}$", arg, re.S)
        if obj:
            port = re.search(r"\bport\s*:\s*([^,}]+)", obj.group(1))
            if not port:
                continue
            arg = port.group(1).strip()
        env_listens += _classify_port_expr(src, arg, line, env_reads=env_reads, hard_coded=hard_coded, other=other)
    imports = []
    for m in _REQUIRE.finditer(src):
        spec = m.group(2) or m.group(4) or m.group(6) or m.group(8)
        if spec and spec not in imports:
            imports.append(spec)
    return SourceScan(env_reads, hard_coded, other, listens, imports, env_listens)


_PLAIN_EXPR = re.compile(r"^[A-Za-z_$][\w$]*(?:\s*\.\s*[A-Za-z_$][\w$]*|\(\s*\)|\[\s*\d+\s*\])*$")


def _shown_expr(expr: str) -> str:
    """An expression as the reason may show it: identifiers and member paths only (``config.port``); anything else
    (a string literal, a call with arguments) is not echoed, so nothing from the source but names leaves the host."""
    expr = expr.strip()
    return expr if len(expr) <= 60 and _PLAIN_EXPR.match(expr) else "an expression"


def _classify_port_expr(src: str, arg: str, line: int, *, env_reads: list, hard_coded: list, other: list) -> bool:
    """Sort the port expression ``arg`` of a listen call: a literal, an env read (already counted), an identifier
    assigned in this file, or something else. True when the port comes from ``process.env``."""
    arg = re.sub(r"\s*(?:\|\||\?\?)\s*(['\"]?)\d{1,5}\1\s*$", "", arg.strip())   # a default after || or ??
    wrapped = re.match(r"^(?:parseInt|Number)\s*\((.*?)(?:,\s*\d+\s*)?\)$|^\+\s*(.*)$", arg, re.S)
    if wrapped:
        arg = (wrapped.group(1) if wrapped.group(1) is not None else wrapped.group(2)).strip()
    literal = re.match(r"^(['\"]?)(\d{1,5})\1$", arg)
    if literal:
        hard_coded.append((int(literal.group(2)), line))
        return False
    if _ENV_READ.search(arg):
        return True
    if arg == "" or re.match(r"^(?:undefined|null|0)$", arg):
        return False
    ident = re.match(rf"^({_IDENT})$", arg)
    if ident:
        name = ident.group(1)
        if any(n == name for n, _d, _l in env_reads):   # destructured from process.env
            return True
        values = [(m.group(1).strip(), _line(src, m.start())) for m in re.finditer(
            rf"(?<![\w$.]){re.escape(name)}\s*(?::\s*\w+\s*)?=(?![=>])\s*([^;\n]+)", src)]
        if any(_ENV_READ.search(v) for v, _l in values):
            return True   # scope-blind: one assignment from process.env is taken as the port's source
        for value, at in values:
            lit = re.match(r"^(?:parseInt\(|Number\()?\s*(['\"]?)(\d{1,5})\1\s*(?:,\s*10\s*)?\)?\s*,?$", value)
            if lit:
                hard_coded.append((int(lit.group(2)), at))
                return False
        other.append((_shown_expr(values[0][0] if values else name), values[0][1] if values else line))
        return False
    other.append((_shown_expr(arg), line))
    return False


# ------------------------------------------------------------------------------------------- entry point

def _script_entry(words: list) -> tuple:
    """(file or None, why) of ``node [flags] file ...`` words."""
    k = 0
    while k < len(words) and posixpath.basename(words[k]) in _WRAPPERS:
        k += 1
    if k >= len(words):
        return None, "the command runs no program"
    prog = posixpath.basename(words[k])
    if prog not in ("node", "nodejs"):
        return None, f"the command runs {prog!r}, not node with a script file"
    k += 1
    while k < len(words) and words[k].startswith("-"):
        flag = words[k].split("=", 1)[0]
        k += 2 if flag in _NODE_VALUE_FLAGS and "=" not in words[k] else 1
    if k >= len(words):
        return None, "node is started without a script file"
    return words[k], None


def entry_points(facts: dict, package_json: dict | None) -> tuple:
    """(container path of the entry script or None, why not). ``facts`` is the rewritten text's facts."""
    final = facts.get("final_stage") or {}
    process = final.get("process") or {}
    argv = list(process.get("argv") or [])
    if process.get("form") == "shell" or (len(argv) >= 3 and argv[1] == "-c"):
        text = process.get("shell_command") or (argv[2] if len(argv) >= 3 else "")
        if re.search(r"[|&;<>()$`]", text):
            return None, f"the container starts through a shell command ({text[:60]!r})"
        argv = text.split()
    if not argv:
        return None, "the Dockerfile sets no CMD or ENTRYPOINT"
    k = 0
    while k < len(argv) and posixpath.basename(argv[k]) in _WRAPPERS:
        k += 1
    words = argv[k:]
    prog = posixpath.basename(words[0]) if words else ""
    if re.search(r"\.[cm]?js$", prog):
        words = ["node", *words]   # the official images' docker-entrypoint.sh runs a script file with node
        prog = "node"
    pkg = package_json or {}
    scripts = pkg.get("scripts") or {}
    if prog in ("npm", "yarn", "pnpm"):
        rest = [w for w in words[1:] if not w.startswith("-")]
        name = rest[1] if rest[:1] in (["run"], ["run-script"]) and len(rest) > 1 else (rest[0] if rest else "")
        if not pkg.get("exists"):
            return None, "package.json is not available, so the start script is unknown"
        if name not in scripts:
            if name == "start" and prog == "npm":
                return "server.js", None   # npm's default start: node server.js
            return None, f"package.json has no {name!r} script"
        script = scripts[name]
        if re.search(r"[|&;<>()$`]", script):
            return None, f"the {name} script {script[:60]!r} uses shell features"
        words = script.split()
    path, why = _script_entry(words)
    if path is None:
        return None, why
    if path in (".", "./"):
        main = pkg.get("main") if isinstance(pkg.get("main"), str) else None
        path = main or "index.js"
    return path, None


def _named_stage(doc, ref: str):
    """The stage ``--from=<ref>`` names (by name or index), or None (an image)."""
    for st in doc.stages:
        if (st.name or "").lower() == ref.lower() or str(st.index) == ref:
            return st
    return None


def context_path(doc, stage, container_path: str, depth: int = 0) -> tuple:
    """(path in the build context, why not) of ``container_path`` (absolute, in the image) through the last
    COPY/ADD of ``stage``'s chain that puts something there, following ``COPY --from=<stage>`` into that stage."""
    target = _norm_path(container_path)
    copies = []
    for st in doc.chain(stage):
        for ins in st.ins:
            if ins["cmd"] in ("COPY", "ADD"):
                copies.append((st, ins))
    for st, ins in reversed(copies):
        value = list(ins.get("value") or [])
        if len(value) < 2 or ins.get("heredocs"):
            continue
        sources, dest = value[:-1], value[-1]
        wd = doc.workdir(st, ins["start_line"]) or "/"
        dest_abs = _norm_path(dest if dest.startswith("/") else posixpath.join(wd, dest))
        from_flag = next((f for f in ins.get("flags") or [] if f.lower().startswith("--from")), None)
        covers = target == dest_abs or target.startswith(dest_abs.rstrip("/") + "/")
        if not covers:
            continue
        tail = target[len(dest_abs):].lstrip("/")
        if from_flag:
            ref = from_flag.partition("=")[2]
            source = _named_stage(doc, ref)
            if source is None or depth > 8 or len(sources) != 1 or any(ch in sources[0] for ch in "*?["):
                return None, (f"{container_path} comes from {ref or 'another stage'} (line {ins['start_line']}), "
                              "not from the build context")
            src = _norm_path(sources[0])
            # a file copied into a directory keeps its name; a directory's content lands under the destination
            inner = src if not tail or posixpath.basename(src) == tail else posixpath.join(src, tail)
            return context_path(doc, source, inner, depth + 1)
        for src in reversed(sources):
            if "://" in src or any(ch in src for ch in "*?["):
                return None, f"{container_path} may come from {src!r} (line {ins['start_line']}), which is not read"
            rel = _norm_path(src).lstrip("/")
            if not tail:               # the destination is the file itself
                return rel or None, None if rel else f"cannot tell which file line {ins['start_line']} copies"
            if rel == "":
                return tail, None
            if posixpath.basename(rel) == tail:
                return rel, None
            return posixpath.join(rel, tail), None
    return None, f"no COPY or ADD puts {container_path} into the image"


# ------------------------------------------------------------------------------------------- decision

def _read_module(read, rel: str) -> tuple:
    """(text, the path read, why not) for a module specifier resolved to ``rel`` (extensions tried)."""
    last = None
    for ext in _SOURCE_EXTS:
        text, why = read(rel + ext)
        if text is not None:
            return text, rel + ext, None
        if last is None or "does not exist" not in why:
            last = why
        if why and "does not exist" not in why:
            break   # a refusal (symlink, FIFO, too large, budget) is the answer, not a reason to guess on
    return None, rel, last


def _typescript_source(read, rel: str):
    """(text, path) of the TypeScript source a compiled entry point comes from, or None.

    ``dist/main.js`` is not in the build context when the image build compiles it. With a ``tsconfig.json`` at the
    context root whose ``outDir`` holds ``rel``, the source is ``<rootDir>/<same path>.ts`` (``rootDir`` from the
    same file, else ``src`` or the context root, as ``tsc`` infers it); compiling keeps what it reads from
    ``process.env``.
    """
    config, _why = read("tsconfig.json")
    if config is None:
        return None
    config = strip_comments(config)
    out = re.search(r'"outDir"\s*:\s*"([^"]+)"', config)
    root = re.search(r'"rootDir"\s*:\s*"([^"]+)"', config)
    out_dir = _norm_path(out.group(1)).lstrip("/") if out else ""
    if not out_dir or not rel.startswith(out_dir + "/"):
        return None
    stem = re.sub(r"\.[cm]?js$", "", rel[len(out_dir) + 1:])
    for base in ([_norm_path(root.group(1)).lstrip("/")] if root else ["src", ""]):
        for ext in (".ts", ".mts", ".cts", "/index.ts"):
            text, _why = read(posixpath.join(base, stem) + ext)
            if text is not None:
                return text, posixpath.join(base, stem) + ext
    return None


def detect(doc, ctx) -> PortEvidence:
    """Whether the application's port follows an environment variable (see the module docstring)."""
    read = ctx.read_file
    if read is None:
        return PortEvidence(None, None, "the application's source was not read (no build context given)")
    stage = doc.final
    entry, why = entry_points(doc.facts, ctx.package_json)
    if entry is None:
        return PortEvidence(None, None, f"cannot find the entry point: {why}")
    wd = doc.workdir(stage) or "/"
    container = _norm_path(entry if entry.startswith("/") else posixpath.join(wd, entry))
    rel, why = context_path(doc, stage, container)
    if rel is None:
        return PortEvidence(None, None, f"the entry point {entry} cannot be read: {why}")
    text, first, why = _read_module(read, rel)
    if text is None and "does not exist" in (why or ""):
        text, first = _typescript_source(read, rel) or (None, first)
    if text is None:
        return PortEvidence(None, None, f"the entry point {entry} cannot be read: {why}")
    queue, seen, files = [(first, text)], {first}, []
    env_reads, hard, other, unread = [], [], [], []
    listens = env_listens = 0
    while queue:
        path, text = queue.pop(0)
        files.append(path)
        scan = scan_source(text)
        env_reads += [(n, d, path, ln) for n, d, ln in scan.env_reads]
        hard += [(p, path, ln) for p, ln in scan.hard_coded]
        other += [(t, path, ln) for t, ln in scan.other]
        listens += scan.listens
        env_listens += scan.env_listens
        for spec in scan.imports:
            rel = _norm_path(posixpath.join(posixpath.dirname(path), spec)).lstrip("/")
            if rel in seen or any(rel + ext in seen for ext in _SOURCE_EXTS):
                continue
            more, got, why = _read_module(read, rel)
            seen.add(got)
            if more is not None:
                queue.append((got, more))
            else:   # the port may be set there: not evidence
                unread.append(f"{path} imports {spec}, which cannot be read ({why})")
    files_t = tuple(files)
    if hard:
        port, path, line = hard[0]
        return PortEvidence(None, None, f"{path} line {line} listens on port {port} (hard-coded)", files_t,
                            tuple(hard))
    if other:
        expr, path, line = other[0]
        return PortEvidence(None, None, f"{path} line {line} takes the port from {expr!r}, not from an environment "
                                        "variable", files_t)
    if unread and not env_listens:
        # no listen call seen that takes its port from the environment, and the port may be set in a module that
        # could not be read: not evidence (a listen on process.env.* that was seen is, whatever else is imported)
        return PortEvidence(None, None, unread[0], files_t)
    names = sorted({n for n, _d, _p, _l in env_reads})
    if not names:
        why = "listens without reading a port variable" if listens else \
            "neither listens on a port nor reads a port variable"
        return PortEvidence(None, None, f"{', '.join(files_t)} {why}", files_t)
    if len(names) > 1:
        return PortEvidence(None, None, f"the application reads several port variables ({', '.join(names)})",
                            files_t)
    defaults = sorted({d for _n, d, _p, _l in env_reads if d is not None})
    name, _d, path, line = env_reads[0]
    return PortEvidence(name, defaults[0] if len(defaults) == 1 else None,
                        f"{path} line {line} reads process.env.{name}", files_t)
