# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the runtime stage of a multi-stage split copies from the build (for ``split_multi_stage``, NRA003).

Copying the whole application directory into the runtime stage brings the sources, the tests and whatever else the
build context held. :func:`plan` decides the smaller set only when the facts show what the application needs:

* either ``package.json`` lists the package's ``files`` and they cover the entry point (the runtime copies those,
  with ``main``, as npm packs it), whether or not a build step runs, or a build step runs in the stage and the
  container's entry point (``node <file>`` in ``CMD``/``ENTRYPOINT``, or the
  ``package.json`` script ``npm start`` runs, as :func:`app_port.entry_points` finds it) lies in a directory the
  build produces: ``compilerOptions.outDir`` of the context's ``tsconfig.json``, or ``dist``, ``build``, ``out``,
  ``.output``;
* ``package.json`` is copied into the application directory and can be read, and declares no workspaces and no
  dependency on a local directory (both are linked from ``node_modules`` into the sources), and the context is not a
  Yarn Plug'n'Play project;
* no ``RUN`` creates, copies, moves or links files in the application directory besides installs and builds;
* every file of the application directory the ``CMD``/``ENTRYPOINT``/``HEALTHCHECK`` names is copied too (or is in
  the build output);
* the build context's top level can be listed, so what is left behind can be named.

Then the runtime stage copies ``package*.json`` (and the yarn/pnpm lockfile), production ``node_modules`` (when
``package.json`` declares dependencies), the build output directory, and the directories an application commonly
reads at run time (``public``, ``views``, ``static``, ``templates``, ``assets``, ``locales``, ``i18n``,
``prisma``, ``config``, ``migrations``) when the context holds them, and the files the process names. The fix names
what stays in the build stage.

Otherwise (no build step and no ``files`` list: the application runs from its sources; an entry point outside the
build output, that cannot be found, or that a shell script starts; ``package.json`` or the context unreadable) the
answer is the reason. For an application that runs from its sources, :func:`sources` says whether the runtime stage
can take them from the build context again (the stage's own ``COPY`` instructions) and only production
``node_modules`` from the pruned build; when it cannot either, the split copies the whole directory and says so
(``partly applied``).

Pure: files are read through ``FixContext.read_file`` (the host's ``_context_files.ContextFiles``, bounded, links
never followed); the context's top level through its ``entries()``.
"""
from __future__ import annotations

import fnmatch
import json
import posixpath
import re
from typing import NamedTuple

from ansible_collections.refarch.containers.plugins.module_utils._rewrite import app_port
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.fix_dockerignore import (
    _copied_entries,
    _dockerignore_patterns,
    _pattern_covers,
)
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.model import (
    DOCKERIGNORE_ENTRIES,
    FixContext,
    _Doc,
    _norm_path,
)
from ansible_collections.refarch.containers.plugins.module_utils._shellcmd import (
    is_appdir_segment,
    is_global_install,
    is_install_only_segment,
    is_noop_segment,
    only_installs_git_hooks,
    split_and,
)
from ansible_collections.refarch.containers.plugins.module_utils._stages import Stage

#: Directories a build writes its output to, besides the ``outDir`` of ``tsconfig.json``.
BUILD_OUTPUT_DIRS = ("dist", "build", "out", ".output")
#: Directories an application commonly reads at run time: copied too when the build context has them.
RUNTIME_ASSET_DIRS = ("public", "views", "static", "templates", "assets", "locales", "i18n", "prisma", "config",
                      "migrations")
#: The lockfile of the package managers whose lockfile ``package*.json`` does not match.
LOCKFILES = {"yarn": "yarn.lock", "pnpm": "pnpm-lock.yaml"}
_DEPENDENCY_KEYS = ("dependencies", "optionalDependencies", "peerDependencies")
_SHOWN_NAME = re.compile(r"^[\w.@+-]{1,64}$")
_APP_FILE = re.compile(r"^(?:\./)?[\w.@-]+(?:/[\w.@-]+)*\.(?:[cm]?js|sh|json|ya?ml)$")
#: A dependency installed from a local path (``file:../lib``, ``link:``): node_modules links to it, unless it is a
#: tarball (extracted into node_modules).
_LINKED_SPEC = re.compile(r"^(?:file|link|portal|workspace):")
_TARBALL = re.compile(r"\.(?:tgz|tar\.gz|tar)$")


class RuntimeFiles(NamedTuple):
    """The runtime stage's copies: ``files`` (names or globs copied into the application directory), ``dirs``
    (directories copied as themselves, in order) and ``note`` (what stays in the build stage)."""

    files: list
    dirs: list
    note: str


def _ignored(name: str, patterns: list) -> bool:
    """Whether the .dockerignore ``patterns`` exclude the top-level ``name`` (the last matching pattern decides)."""
    out = False
    for pat in patterns:
        neg = pat.startswith("!")
        if _pattern_covers(pat[1:] if neg else pat, name):
            out = not neg
    return out


def _in_appdir(doc: _Doc, stage: Stage, entries: dict, patterns: list, appdir: str) -> set:
    """The context's top-level names the stage's COPY/ADD instructions put directly into ``appdir``."""
    shown = {n for n in entries if not _ignored(n, patterns)}
    out = set()
    for ins in stage.ins:
        if ins["cmd"] not in ("COPY", "ADD") or ins.get("heredocs") or \
                any(str(f).lower().startswith("--from") for f in ins.get("flags") or []):
            continue
        value = list(ins.get("value") or [])
        if len(value) < 2:
            continue
        wd = doc.workdir(stage, ins["start_line"]) or "/"
        dest = value[-1]
        dest_abs = _norm_path(dest if dest.startswith("/") else posixpath.join(wd, dest))
        into_dir = dest.endswith("/") or dest in (".", "./") or len(value) > 2 or dest_abs == appdir
        for src in value[:-1]:
            if "://" in src:
                continue
            rel = _norm_path(src).lstrip("/")
            if dest_abs == appdir and rel == "":
                out |= shown                        # COPY . <appdir>: the whole context
                continue
            if "/" in rel:
                continue                            # a file below the top level: not a top-level entry
            names = {n for n in shown if fnmatch.fnmatchcase(n, rel)} if set("*?[") & set(rel) else \
                ({rel} & shown)
            for name in names:
                target = posixpath.join(dest_abs, name) if into_dir else dest_abs
                if posixpath.dirname(target) == appdir:
                    out.add(posixpath.basename(target))
    return out


def _declared_files(pkg: dict, copied: set) -> list | None:
    """The top-level entries of ``package.json``'s ``files`` list that the application directory holds (with
    ``main``'s, which npm always packs), or None when there is no such list. Negations are ignored (more is copied);
    an entry the directory does not hold is left out (npm ignores it too)."""
    listed = pkg.get("files")
    if not isinstance(listed, list) or not listed or not all(isinstance(x, str) for x in listed):
        return None
    main = pkg.get("main") if isinstance(pkg.get("main"), str) else None
    out: list = []
    for pattern in [*listed, *([main] if main else [])]:
        if pattern.startswith("!"):
            continue
        first = _norm_path(pattern).lstrip("/").split("/", 1)[0]
        if not first:
            continue
        names = sorted(n for n in copied if fnmatch.fnmatchcase(n, first)) if set("*?[") & set(first) else \
            ([first] if first in copied else [])
        out += [n for n in names if n not in out and not fnmatch.fnmatchcase(n, "package*.json")]
    return out


def _appdir_writes(stage: Stage, appdir: str) -> str | None:
    """Why the runtime cannot be picked when a RUN creates, copies, moves or links files in ``appdir`` (what it makes
    there may be needed at run time), else None. Installs and build programs write their known outputs."""
    for ins in stage.ins:
        if ins["cmd"] != "RUN":
            continue
        for part in split_and(" ".join(str(v) for v in ins.get("value") or [])) or []:
            words = part.split()
            if not words or not is_appdir_segment(" ".join(words)) or words[0] == "rm":
                continue
            paths = [w for w in words[1:] if not w.startswith("-")][1 if words[0] in ("chmod", "chown") else 0:]
            if any(not p.startswith("/") or (_norm_path(p) + "/").startswith(appdir.rstrip("/") + "/")
                   for p in paths):
                return f"RUN at line {ins['start_line']} runs {words[0]} in {appdir}, which may make files it needs"
    return None


def _ts_out_dir(read, copied: set) -> str | None:
    """The first component of ``compilerOptions.outDir`` in the context's ``tsconfig.json``, or None."""
    if "tsconfig.json" not in copied:
        return None
    text, _why = read("tsconfig.json")
    if text is None:
        return None
    text = re.sub(r",(\s*[}\]])", r"\1", app_port.strip_comments(text))   # tsconfig allows trailing commas
    try:
        out = ((json.loads(text) or {}).get("compilerOptions") or {}).get("outDir")
    except (ValueError, AttributeError):
        return None
    if not isinstance(out, str):
        return None
    first = _norm_path(out).lstrip("/").split("/", 1)[0]
    return first or None


def _shown(names) -> str:
    names = sorted(names)
    plain = [n for n in names if _SHOWN_NAME.match(n)]
    more = len(names) - len(plain[:8])
    return ", ".join(plain[:8]) + (f" and {more} more" if more else "")


def _manifest(doc: _Doc, ctx: FixContext, stage: Stage, appdir: str):
    """``(package.json as a dict, the context's top-level entries, the names the stage copies into appdir)``, or the
    reason (a string) why the package cannot be shown to install into ``node_modules`` alone."""
    read = ctx.read_file
    entries = read.entries()
    if entries is None:
        return "the build context's top level cannot be listed"
    copied = _in_appdir(doc, stage, entries, _dockerignore_patterns(ctx), appdir)
    if "package.json" not in copied:
        return "the build context has no package.json" if entries.get("package.json") != "file" else \
            f"no COPY puts package.json into {appdir}"
    text, why = read("package.json")
    try:
        pkg = json.loads(text) if text is not None else None
    except ValueError:
        pkg, why = None, "it is not valid JSON"
    if not isinstance(pkg, dict):
        return f"package.json cannot be read: {why or 'its top level is not an object'}"
    if pkg.get("workspaces") or "pnpm-workspace.yaml" in entries:
        return "the package declares workspaces, whose packages node_modules links to in the sources"
    if ".pnp.cjs" in entries or ".yarnrc.yml" in entries:
        return "Yarn 2+ keeps the dependencies in .yarn (Plug'n'Play), not only in node_modules"
    linked = sorted(n for k in _DEPENDENCY_KEYS if isinstance(pkg.get(k), dict) for n, spec in pkg[k].items()
                    if isinstance(spec, str) and _LINKED_SPEC.match(spec) and not _TARBALL.search(spec))
    if linked:
        return f"the dependency {linked[0]} is a local directory, which node_modules links to in the sources"
    return pkg, entries, copied


def plan(doc: _Doc, ctx: FixContext, stage: Stage, appdir: str, *, tool: str | None, has_build: bool):
    """:class:`RuntimeFiles`, or the reason (a string) why the runtime stage must copy the whole ``appdir``."""
    no_build = "no build step: the application runs from its sources, and which of them it needs cannot be shown"
    if tool is None:
        return "no dependency install: cannot tell where the production node_modules come from"
    read = ctx.read_file
    lister = getattr(read, "entries", None)
    if read is None or lister is None:
        return no_build if not has_build else "the application's files were not read (no build context given)"
    manifest = _manifest(doc, ctx, stage, appdir)
    if isinstance(manifest, str):
        return manifest
    pkg, entries, copied = manifest
    declared = _declared_files(pkg, copied)
    if not has_build and declared is None:
        return no_build + " (package.json lists no files)"
    writes = _appdir_writes(stage, appdir)
    if writes:
        return writes
    entry, why = app_port.entry_points(doc.facts, ctx.package_json)
    if entry is None:
        return f"cannot find the entry point ({why})"
    container = _norm_path(entry if entry.startswith("/") else posixpath.join(appdir, entry))
    if not container.startswith(appdir.rstrip("/") + "/"):
        return f"the entry point {container} is not in {appdir}"
    rel = container[len(appdir.rstrip("/")) + 1:]
    out_dir = _ts_out_dir(read, copied) if has_build else None
    top = rel.split("/", 1)[0]
    built = has_build and "/" in rel and (top == out_dir or top in BUILD_OUTPUT_DIRS)
    if declared is not None:
        # the package's own list of its files (npm adds package.json and main): what it runs from
        dirs = ([top] if built and top not in declared else []) + declared
        if top not in dirs:
            return f"the entry point {rel} is not among the files package.json lists"
        why_note = f"package.json lists its files; {rel} is the entry point"
    elif not built:
        where = ", ".join(x + "/" for x in ([out_dir] if out_dir else []) + list(BUILD_OUTPUT_DIRS))
        return (f"the entry point {rel} is not in a build output directory ({where}), so it runs from the sources, "
                "and which of them it needs cannot be shown")
    else:
        dirs = [top]
        why_note = f"{top}/ holds the entry point {rel}"
    assets = [a for a in RUNTIME_ASSET_DIRS if a in copied and entries.get(a) == "dir" and a not in dirs]
    for ins in stage.ins:
        if ins["cmd"] not in ("HEALTHCHECK", "CMD", "ENTRYPOINT"):
            continue
        words = [str(v) for v in ins.get("value") or []]
        if not ins.get("json"):
            words = " ".join(words).split()
        if ins["cmd"] == "HEALTHCHECK":
            words = words[1:] if words[:1] == ["CMD"] else []
        for k, raw in enumerate(words):
            word = raw.strip("\"'")
            if k == 0 and "/" not in word:
                continue        # the program, found through PATH
            path = word[len(appdir.rstrip("/")) + 1:] if word.startswith(appdir.rstrip("/") + "/") else word
            if path.startswith("/") or not _APP_FILE.match(path):
                continue
            first = _norm_path(path).lstrip("/").split("/", 1)[0]
            if first in dirs or first in assets:
                continue
            if first not in copied:
                return (f"the {ins['cmd']} at line {ins['start_line']} names {path}, which is neither copied from "
                        "the context nor in the build output")
            assets.append(first)
    files = ["package*.json"]
    lock = LOCKFILES.get(tool or "")
    if lock and lock in copied:
        files.append(lock)
    needs_modules = any(isinstance(pkg.get(k), dict) and pkg.get(k) for k in _DEPENDENCY_KEYS)
    if needs_modules:
        dirs.insert(0, "node_modules")
    dirs += assets
    kept = {n for n in copied if not fnmatch.fnmatchcase(n, "package*.json") and n != lock and n not in dirs}
    what = ", ".join(files + [d + ("" if entries.get(d) == "file" else "/") for d in dirs])
    note = f"the runtime stage copies {what} from {appdir} ({why_note})"
    if kept:
        note += f"; left in the build stage: {_shown(kept)} (copy what the application reads at run time)"
    return RuntimeFiles(files, dirs, note)


#: The root package's scripts a plain ``npm install``/``npm ci`` (and yarn's, pnpm's) runs: they may make files
#: outside ``node_modules`` that the application reads.
INSTALL_SCRIPTS = ("preinstall", "install", "postinstall", "prepublish", "preprepare", "prepare", "postprepare")


def source_hooks(scripts: dict, names=INSTALL_SCRIPTS) -> list:
    """The install scripts among ``names`` that ``scripts`` (package.json's) declares and that may need the
    application's sources or make files outside ``node_modules``: all but those that only install Git hooks
    (``_shellcmd.only_installs_git_hooks``: husky as ``prepare``)."""
    return [s for s in names if s in scripts and not only_installs_git_hooks(scripts[s])]


class Sources(NamedTuple):
    """:func:`sources`' answer when the runtime stage takes the sources from the build context: ``modules`` says
    whether it copies production ``node_modules`` from the pruned build (False: ``package.json`` declares no
    production dependencies, so there are none to copy)."""

    modules: bool


def sources(doc: _Doc, ctx: FixContext, stage: Stage, appdir: str, *, tool: str | None, installs: list):
    """:class:`Sources` when an application without a build step can take its sources from the build context again
    (the stage's own ``COPY`` instructions, through the ``.dockerignore``) and only production ``node_modules``
    from the pruned build; else the reason (a string).

    That holds when the build stage's dependency install is the only thing that makes files the application needs:
    ``package.json`` is copied into ``appdir`` and can be read, declares no workspaces, no local-directory
    dependency and no install script of its own (``prepare``, ``postinstall`` ...; one that only installs Git hooks
    does not count, :func:`source_hooks`), and the
    context is not a Yarn Plug'n'Play project; every install RUN (``installs``) only installs the project's
    dependencies (no named packages; nothing else in the RUN but cache cleaning and global installs, which the
    runtime stage repeats as system steps) in ``appdir``; and the context's
    own ``node_modules`` does not reach the runtime stage (``.dockerignore`` excludes it, or ``write_dockerignore``
    adds it). The runtime image then holds exactly what the single stage held, minus the development dependencies
    and whatever the install left outside ``node_modules`` (caches, a generated lockfile).
    """
    if tool is None:
        return "no dependency install: cannot tell where the production node_modules come from"
    if ctx.read_file is None or getattr(ctx.read_file, "entries", None) is None:
        return "the application's files were not read (no build context given)"
    manifest = _manifest(doc, ctx, stage, appdir)
    if isinstance(manifest, str):
        return manifest
    pkg, entries, _copied = manifest
    scripts = pkg.get("scripts") if isinstance(pkg.get("scripts"), dict) else {}
    hooks = source_hooks(scripts)
    if hooks:
        return f"package.json's {', '.join(hooks)} script(s) run at install and may make files outside node_modules"
    modules = any(isinstance(pkg.get(k), dict) and pkg.get(k) for k in _DEPENDENCY_KEYS)
    for ins in installs:
        parts = split_and(re.sub(r"\s+", " ", " ".join(str(v) for v in ins.get("value") or [])).strip())
        if ins.get("heredocs") or not parts or not all(
                is_install_only_segment(p) or is_global_install(p) or (is_noop_segment(p) and ">" not in p)
                for p in parts):
            return (f"RUN at line {ins['start_line']} does more than install the project's dependencies, so its "
                    "results may lie outside node_modules")
        where = doc.workdir(stage, ins["start_line"]) or "/"
        if where != appdir:
            return f"RUN at line {ins['start_line']} installs in {where}, not in {appdir}"
    why = _context_modules(doc, ctx, stage, appdir, entries)
    return why if why is not None else Sources(modules)


def _context_modules(doc: _Doc, ctx: FixContext, stage: Stage, appdir: str, entries: dict) -> str | None:
    """None when no ``COPY``/``ADD`` of the stage can bring the build context's own ``node_modules`` into
    ``appdir/node_modules`` (or flatten it into ``appdir`` through a glob), else the reason."""
    patterns = _dockerignore_patterns(ctx)
    required = list(ctx.dockerignore_entries or DOCKERIGNORE_ENTRIES)
    will_add = ("write_dockerignore" in ctx.requested and ctx.dockerignore_read and "node_modules" in required
                and not _copied_entries(doc, ["node_modules"])
                and not any(_pattern_covers(p[1:].strip(), e) or p[1:].strip().lstrip("/").startswith(e + "/")
                            for p in patterns if p.startswith("!") for e in required))

    def excluded(path: str) -> bool:
        parts = path.split("/")
        if any(_ignored("/".join(parts[:k]), patterns) for k in range(1, len(parts) + 1)):
            return True
        return will_add and path == "node_modules"

    for ins in stage.ins:
        if ins["cmd"] not in ("COPY", "ADD") or ins.get("heredocs") or \
                any(str(f).lower().startswith("--from") for f in ins.get("flags") or []):
            continue
        value = [str(v) for v in ins.get("value") or []]
        wd = doc.workdir(stage, ins["start_line"]) or "/"
        dest = _norm_path(value[-1] if value[-1].startswith("/") else posixpath.join(wd, value[-1])) if value else "/"
        if appdir != dest and not appdir.startswith(dest.rstrip("/") + "/"):
            continue
        sub = appdir[len(dest.rstrip("/")):].strip("/")
        for src in value[:-1]:
            if "://" in src:
                continue
            rel = _norm_path(src).lstrip("/")
            if set("*?[") & set(rel):
                if "/" not in rel and fnmatch.fnmatchcase("node_modules", rel) and not excluded("node_modules"):
                    return (f"{ins['cmd']} at line {ins['start_line']} copies {src}, which takes the build "
                            "context's node_modules")
                continue
            if rel and entries.get(rel.split("/", 1)[0]) != "dir":
                continue        # a file (or nothing: the COPY fails) holds no node_modules
            path = posixpath.normpath(posixpath.join(rel or ".", sub or ".", "node_modules"))
            if not excluded(path):
                return (f"{ins['cmd']} at line {ins['start_line']} would copy the build context's {path} into the "
                        "runtime stage: .dockerignore does not exclude it")
    return None
