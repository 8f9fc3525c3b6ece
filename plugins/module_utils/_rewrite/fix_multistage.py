# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fix ``split_multi_stage`` (NRA003): build, production-dependencies and runtime stages.

Part of the rewriter (``module_utils/_rewriter.py``); pure, standard library only."""
from __future__ import annotations

import re
import shlex

from ansible_collections.refarch.containers.plugins.module_utils._base_image import image_family
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.fix_dockerignore import (
    _copied_entries,
    _dockerignore_patterns,
    _pattern_covers,
)
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.fix_process import _process_argv
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.model import (
    FixContext,
    NotNeeded,
    Skip,
    _body,
    _Doc,
    _Edits,
    _ending,
    _node_tag_parts,
    _norm_path,
    _user_is_root,
)
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.node_releases import _major_of
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.runtime_files import RuntimeFiles, Sources
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.runtime_files import plan as runtime_plan
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.runtime_files import (
    sources as runtime_sources,
)
from ansible_collections.refarch.containers.plugins.module_utils._shellcmd import (
    BUILD_CLI_PACKAGES,
    INIT_PROGRAMS,
    TOOLCHAIN_PACKAGES,
    install_tool,
    is_appdir_segment,
    is_build_tool_segment,
    is_global_install,
    is_install_only_segment,
    is_noop_segment,
    is_os_housekeeping,
    is_os_package_install,
    is_system_segment,
    script_build_steps,
    split_and,
    uses_yarn_berry,
)
from ansible_collections.refarch.containers.plugins.module_utils._stages import Stage

# --------------------------------------------------------------------------- fix: multi-stage


def _run_command(ins: dict) -> str:
    """The command of a RUN as one string (heredoc bodies appended)."""
    value = list(ins.get("value") or [])
    text = " ".join(shlex.quote(v) for v in value) if ins.get("json") else " ".join(value)
    for doc in ins.get("heredocs") or []:
        text += "\n" + str(doc.get("content") or "")
    return text


def _classify_run(command: str, appdir: str) -> str:
    """``build`` (its result lives in the app directory), ``noop``, ``system`` or ``unknown``."""
    parts = split_and(command)
    if parts is None:
        return "unknown"
    kinds = set()
    for raw_part in parts:
        part = re.sub(r"\s+", " ", raw_part.strip())
        if is_global_install(part):
            kinds.add("system")
        elif is_build_tool_segment(part):
            kinds.add("build")
        elif is_noop_segment(part) and ">" not in part:
            kinds.add("noop")
        elif is_appdir_segment(part):
            paths = [w for w in part.split()[1:] if not w.startswith("-")]
            if part.startswith(("chmod", "chown")):
                paths = paths[1:]
            inside = all(not p.startswith("/") or (_norm_path(p) + "/").startswith(appdir.rstrip("/") + "/")
                         for p in paths)
            kinds.add("build" if inside else "system")
        else:
            kinds.add("system")
    kinds.discard("noop") if len(kinds) > 1 else None
    if len(kinds) == 1:
        return kinds.pop()
    return "unknown"


def _system_segments(command: str, appdir: str) -> list | None:
    """For a RUN mixing build and system segments, the system ones (None when some are neither)."""
    parts = split_and(command)
    if parts is None:
        return None
    system = []
    for part in parts:
        kind = _classify_run(part, appdir)
        if kind == "system":
            system.append(re.sub(r"\s+", " ", part.strip()))
        elif kind not in ("build", "noop"):
            return None
    return system or None


def _independent_of_app(command: str, appdir: str) -> bool:
    """True when a RUN only installs OS packages or global tools, creates users or touches system paths."""
    parts = split_and(command)
    if parts is None:
        return False
    for raw_part in parts:
        part = re.sub(r"\s+", " ", raw_part.strip())
        if is_system_segment(part) or is_global_install(part) or is_os_housekeeping(part):
            continue
        if is_appdir_segment(part) and part.split()[0] in ("mkdir", "chmod", "chown", "touch"):
            paths = [w for w in part.split()[1:] if not w.startswith("-")]
            if part.startswith(("chmod", "chown")):
                paths = paths[1:]
            if paths and all(p.startswith("/") and not (_norm_path(p) + "/").startswith(appdir.rstrip("/") + "/")
                             for p in paths) and appdir != "/":
                continue
        return False
    return True


def _strip_toolchain(command: str) -> tuple:
    """Remove toolchain packages from OS install segments: (new command or None to drop, changed)."""
    parts = split_and(command)
    if parts is None:
        return command, False
    out, changed = [], False
    for part in parts:
        norm = re.sub(r"\s+", " ", part.strip())
        if is_os_package_install(norm):
            words = norm.split(" ")
            kept = [w for w in words if w not in TOOLCHAIN_PACKAGES]
            if kept != words:
                changed = True
                idx = max(k for k, w in enumerate(kept) if w in ("install", "add"))
                if not [w for w in kept[idx + 1:] if not w.startswith("-")]:
                    continue
                norm = " ".join(kept)
        out.append(norm)
    if not changed:
        return command, False
    if all(is_os_housekeeping(p) for p in out):
        return None, True
    return " && ".join(out), True


def _prune_command(tool: str, ctx: FixContext, doc: _Doc, stage: Stage) -> str:
    ref = stage.ref or {}
    version, dummy = _node_tag_parts(ref.get("tag"))
    major = _major_of(version, ctx)
    if tool == "npm":
        return "npm prune --production" if major is not None and major < 16 else "npm prune --omit=dev"
    if tool == "pnpm":
        return "pnpm prune --prod"
    files = ctx.context_files or []
    text = "\n".join(_run_command(i) for i in stage.ins if i["cmd"] == "RUN")
    berry = ".yarnrc.yml" in files or uses_yarn_berry(text)
    if berry:
        return "yarn workspaces focus --all --production"
    return "yarn install --production --ignore-scripts --prefer-offline"


def _fix_split_multi_stage(doc: _Doc, ctx: FixContext):
    if len(doc.stages) != 1:
        final = doc.final
        building = _building_runs(doc, ctx)
        for st in doc.chain(final):
            for ins in st.ins:
                if ins["cmd"] == "RUN" and ins["start_line"] in building:
                    return Skip(f"the build already has {len(doc.stages)} stages and the runtime stage "
                                f"still builds (RUN at line {ins['start_line']}); move that step to a build "
                                "stage by hand")
        skip = _build_cli_skip(doc, doc.chain(final))
        return skip or NotNeeded(f"the build already has {len(doc.stages)} stages")
    stage = doc.stages[0]
    ins_list = stage.ins
    building = _building_runs(doc, ctx)
    build_runs = [i for i in ins_list if i["cmd"] == "RUN" and i["start_line"] in building]
    skip = _build_cli_skip(doc, [stage])
    if skip is not None:
        return skip
    if not build_runs:
        return NotNeeded("the single stage installs no development dependencies, build tools or build steps")
    family = image_family(stage.ref)
    # the runtime stage starts from the same base and the pruning runs where the build's own install ran: on a base
    # the rewriter does not know, the facts must classify the image as Node.js (what the split moves is Node's:
    # node_modules, the build output) and the Dockerfile must show a Linux image with /bin/sh (its shell-form RUNs)
    if family not in ("node-debian", "node-alpine", "ubi-node", "ubi-node-minimal") and not (
            (doc.facts.get("node_scope") or {}).get("classification") == "node" and doc.posix_shell_shown(stage)):
        base = stage.base_resolved or stage.base_raw
        return Skip(f"cannot tell what the runtime needs on base image {base!r}")
    appdir = doc.workdir(stage) or "/"
    has_build = any(r["build_steps"] for r in building.values())
    # mode B: no build step and no application directory: the runtime stage copies the sources
    # from the context again and only node_modules from the pruned build.
    mode_b = appdir == "/"
    if mode_b and has_build:
        return Skip("no WORKDIR and a build step: cannot tell which files the build produces")
    if mode_b and not any(_pattern_covers(p, "node_modules") for p in _dockerignore_patterns(ctx)
                          if not p.startswith("!")) and (
            "write_dockerignore" not in ctx.requested or _copied_entries(doc, ["node_modules"])):
        # write_dockerignore would add node_modules, unless a COPY takes it from the context by name
        return Skip("the runtime stage would copy the context again and .dockerignore does not exclude node_modules")
    installs = [i for i in ins_list if i["cmd"] == "RUN" and install_tool(_run_command(i))]
    tool = install_tool(_run_command(installs[0])) if installs else None
    eff = doc.effective(stage)
    for ins in (eff["entrypoint"], eff["cmd"]):
        if ins is not None:
            argv, dummy = _process_argv(doc, ins)
            while argv and (argv[0].rsplit("/", 1)[-1] in INIT_PROGRAMS or argv[0] == "--"):
                argv = argv[1:]
            if argv and (argv[0] == "pnpm" or (argv[0] == "yarn" and family.startswith("ubi"))):
                return Skip(f"the container starts with {argv[0]}, which only the build stage provides")
    picked = None if appdir == "/" else runtime_plan(doc, ctx, stage, appdir, tool=tool, has_build=has_build)
    # no build step: the application runs from its sources; take them from the build context again (the stage's
    # own COPYs, through the .dockerignore) and only production node_modules from the pruned build, when the install
    # is shown to make nothing else the application needs (runtime_files.sources)
    try_sources = mode_b or (not has_build and not isinstance(picked, RuntimeFiles))
    answer = runtime_sources(doc, ctx, stage, appdir, tool=tool, installs=installs) if try_sources else None
    why_not_sources = answer if isinstance(answer, str) else None
    modules = not isinstance(answer, Sources) or answer.modules
    from_context = mode_b or isinstance(answer, Sources)
    lines = _runtime_lines(doc, stage, appdir, from_context, modules)
    if isinstance(lines, Skip) and from_context and not mode_b:
        why_not_sources = lines.reason
        from_context, modules = False, True
        lines = _runtime_lines(doc, stage, appdir, False)
    if isinstance(lines, Skip):
        return lines
    runtime, chown = lines
    name = stage.name or "build"
    source = name
    from_ins = stage.from_ins
    kw_from = doc.raw_keyword(from_ins)
    platform = [f for f in from_ins.get("flags") or [] if f.startswith("--platform")]
    edits = _Edits(doc)
    if not stage.name:
        first = doc.lines[from_ins["end_line"] - 1]
        body = _body(first)
        stripped = body.rstrip()
        edits.replace(from_ins["end_line"], from_ins["end_line"],
                      [stripped + " " + doc.kw("AS") + " " + name + body[len(stripped):] + _ending(first)])
    new = [""]
    if tool is not None and modules:
        source = "production-dependencies"
        new.append("{} {} {} {}".format(kw_from, name, doc.kw("AS"), source))
        # the stage inherits the build's last USER; the install may have run as another (root, then USER node):
        # then prune as root, who may remove what any user installed (the stage is thrown away but for node_modules)
        last_user = _user_words(doc.effective(stage)["user"])
        if last_user is not None and _user_is_root(last_user) is not True and any(
                _user_words(doc._chain.state_at(stage, i["start_line"]).user) != last_user for i in installs):
            new.append("{} 0".format(doc.kw("USER")))
        new += ["{} {}".format(doc.kw("RUN"), _prune_command(tool, ctx, doc, stage)), ""]
    if mode_b and tool is None:
        return Skip("no WORKDIR and no dependency install: cannot tell what the runtime needs")
    copy = [doc.kw("COPY"), "--from=" + source] + ([chown] if chown else [])
    copies = []
    if from_context and why_not_sources is None:
        note = ("warning: the application runs from its sources (no build step): the runtime stage takes them from "
                "the build context again, as the build stage does (through .dockerignore), and "
                + ("only the production node_modules from the pruned build" if modules else
                   "nothing from the build (package.json declares no production dependencies)")
                + "; exclude what it does not read at run time (tests, docs) in .dockerignore")
    elif from_context:
        note = ("the runtime stage copies the sources from the build context again (no WORKDIR: what the "
                f"application needs cannot be shown: {why_not_sources})")
    elif isinstance(picked, RuntimeFiles):
        note = "warning: " + picked.note
        base = appdir.rstrip("/") + "/"
        copies = [" ".join([*copy, *(base + f for f in picked.files), base])]
        copies += [" ".join([*copy, base + d, base + d]) for d in picked.dirs]
    else:
        note = f"the runtime stage copies all of {appdir}: {picked}"
        if why_not_sources and why_not_sources not in picked:
            note += f"; the sources cannot be taken from the build context instead: {why_not_sources}"
        copies = [" ".join([*copy, appdir, appdir])]
    runtime = [y for x in runtime for y in (copies if x is None else [x])]
    new.append(" ".join([kw_from, *platform, stage.base_raw, doc.kw("AS"), "runtime"]))
    new.extend(runtime)
    last = ins_list[-1]["end_line"] if ins_list else from_ins["end_line"]
    edits.insert_after(last, [edits.line(x) for x in new])
    # the container's process, ports and health check belong to the runtime stage only (the runtime repeats them)
    previous_end = from_ins["end_line"]
    for ins in ins_list:
        if ins["cmd"] in RUNTIME_ONLY:
            start = ins["start_line"]
            while start - 1 > previous_end and not doc.lines[start - 2].strip():
                start -= 1          # with the blank lines before it
            edits.replace(start, ins["end_line"], [])
        previous_end = ins["end_line"]
    return edits.noted(note)


def _user_words(user: dict | None) -> str | None:
    """A USER instruction's value as written (None: no USER, the base image's user)."""
    return " ".join(user.get("value") or []) if user is not None else None


def _runtime_lines(doc: _Doc, stage: Stage, appdir: str, from_context: bool, modules: bool = True):
    """The runtime stage's instructions (None: where the copies from the build go) and the ``--chown`` flag of the
    application's copies, or a :class:`Skip`. ``from_context``: the application's own COPY instructions are
    repeated (its sources come from the build context again) and each dependency install becomes a copy of the
    pruned ``node_modules`` (none without ``modules``); otherwise the copies into ``appdir`` become one
    placeholder."""
    runtime = []
    app_copied = False
    chown = None
    for ins in stage.ins:
        cmd = ins["cmd"]
        raw = [_body(x) for x in doc.span(ins)]
        if cmd in ("COPY", "ADD"):
            flags = ins.get("flags") or []
            value = ins.get("value") or []
            if any(f.startswith("--from") for f in flags) or ins.get("heredocs"):
                runtime.extend(raw)
                continue
            wd = doc.workdir(stage, ins["start_line"]) or "/"
            dest = value[-1] if value else ""
            absdest = _norm_path(dest if dest.startswith("/") else wd + "/" + dest)
            if from_context:
                runtime.extend(raw)
                app_copied = True
                for f in flags:
                    if f.startswith("--chown"):
                        chown = f
            elif (absdest + "/").startswith(appdir.rstrip("/") + "/"):
                for f in flags:
                    if f.startswith("--chown"):
                        chown = f
                if not app_copied:
                    runtime.append(None)   # placeholder for the COPY --from=<prune stage>
                    app_copied = True
            else:
                runtime.extend(raw)
        elif cmd == "RUN":
            command = _run_command(ins)
            if ins.get("heredocs"):
                return Skip(f"cannot tell whether RUN at line {ins['start_line']} (heredoc) is needed at runtime")
            if from_context and modules and install_tool(command):
                wd = doc.workdir(stage, ins["start_line"]) or "/"
                modules = _norm_path(wd + "/node_modules")
                runtime.append(" ".join([doc.kw("COPY"), "--from=production-dependencies"] + ([chown] if chown else [])
                                        + [modules, modules]))
            kind = _classify_run(command, appdir)
            if kind in ("build", "noop"):
                if from_context and kind == "build" and not install_tool(command) and all(
                        is_install_only_segment(re.sub(r"\s+", " ", p.strip())) for p in split_and(command) or []):
                    continue        # cleans the package manager's cache: nothing the runtime needs
                if from_context and kind == "build" and not install_tool(command) and not all(
                        is_appdir_segment(p.strip()) for p in split_and(command) or [command]):
                    return Skip(f"cannot tell where RUN at line {ins['start_line']} writes")
                if from_context and kind == "build" and not install_tool(command):
                    runtime.extend(raw)
                continue
            if kind == "unknown":
                system = _system_segments(command, appdir)
                if system is None:
                    return Skip(f"cannot tell whether RUN at line {ins['start_line']} is needed at runtime")
                command = " && ".join(system)
                raw = None
            if app_copied and not _independent_of_app(command, appdir):
                return Skip(f"cannot tell whether RUN at line {ins['start_line']} is needed at runtime")
            new_command, changed = _strip_toolchain(command)
            if not changed and raw is not None:
                runtime.extend(raw)
            elif new_command is not None:
                flags = " ".join(ins.get("flags") or [])
                runtime.append(" ".join(x for x in (doc.raw_keyword(ins), flags, new_command) if x))
        elif cmd == "ONBUILD":
            return Skip(f"ONBUILD at line {ins['start_line']}")
        else:
            runtime.extend(raw)
    if not app_copied:
        return Skip("cannot tell which COPY brings the application in")
    return runtime, chown


#: Instructions that describe the running container: the split moves them out of the build stage.
RUNTIME_ONLY = ("CMD", "ENTRYPOINT", "EXPOSE", "HEALTHCHECK")


def _building_runs(doc: _Doc, ctx: FixContext) -> dict:
    """RUN start line -> the facts' reading of the RUN (``analysis.runs``), for the RUNs that do what NRA003
    reports in a runtime image: install development dependencies, run a build step or install toolchain
    packages. The fix decides with what the rule reads, so it splits what the rule reports: the build steps
    include the package.json scripts a RUN runs that build (``script_build_steps``, as the facts read them with
    the context's ``package.json``; the document's own facts are built without it)."""
    runs = ((doc.facts.get("analysis") or {}).get("runs")) or []
    scripts = (ctx.package_json or {}).get("scripts")
    if scripts:
        by_line = {i["start_line"]: i for i in doc.instructions if i["cmd"] == "RUN"}
        runs = [dict(r, build_steps=sorted({*r["build_steps"], *script_build_steps(by_line[r["line"]], scripts)}))
                if r["line"] in by_line else r for r in runs]
    return {r["line"]: r for r in runs
            if r["dev_dependency_installs"] or r["build_steps"] or TOOLCHAIN_PACKAGES & set(r["os_packages"])}


def _build_cli_skip(doc: _Doc, stages: list) -> Skip | None:
    """A Skip when a RUN of ``stages`` installs a build CLI by name (``npm i -g typescript``; the facts'
    ``package_installs``, as NRA003 reads them): the split moves dependency installs and build steps, not
    tools installed by name."""
    runs = {r["line"]: r for r in ((doc.facts.get("analysis") or {}).get("runs")) or []}
    for st in stages:
        for ins in st.ins:
            run = runs.get(ins["start_line"]) if ins["cmd"] == "RUN" else None
            clis = sorted({p["name"] for p in (run or {}).get("package_installs") or []
                           if p["name"] in BUILD_CLI_PACKAGES})
            if clis:
                return Skip(f"RUN at line {ins['start_line']} installs build tooling ({', '.join(clis)}) in the "
                            "runtime image; the split does not move tools installed by name: install them in a "
                            "build stage by hand")
    return None
