# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixes of the process: ``replace_npm_start`` (NRA010), ``exec_form_cmd`` (NRA011) and ``add_init_process`` (NRA007)
(``set_heap_limit``, NRA009, is in ``fix_heap.py``).

Part of the rewriter (``module_utils/_rewriter.py``); pure, standard library only."""
from __future__ import annotations

import re
import shlex

from ansible_collections.refarch.containers.plugins.module_utils._base_image import image_family
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.model import (
    _NODE_VALUE_FLAGS,
    _SHELL_META,
    _WARNING,
    NODE_IMAGE_DEFAULTS,
    FixContext,
    NotNeeded,
    Skip,
    _body,
    _Doc,
    _dumps_argv,
    _Edits,
    _user_is_root,
)
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.process_intent import (
    broken_exec_array,
    script_intent,
)
from ansible_collections.refarch.containers.plugins.module_utils._shellcmd import (
    INIT_PROGRAMS,
    PACKAGE_MANAGERS,
    installs_os_package,
    os_package_families,
    runs_package_manager,
)

# --------------------------------------------------------------------------- fix: npm start

#: JavaScript CLIs that serve an application in production: bin -> (package, required sub-command or None).
#: A start script running one becomes ``node node_modules/.bin/<bin> ...`` when the package is a
#: production dependency (the bin is a node script; node skips its ``#!`` line).
PRODUCTION_CLIS = {
    "next": ("next", ["start"]), "nuxt": ("nuxt", ["start"]), "nuxi": ("nuxi", ["start"]),
    "remix-serve": ("@remix-run/serve", None), "strapi": ("@strapi/strapi", ["start"]),
    "serve": ("serve", None), "http-server": ("http-server", None), "fastify": ("fastify-cli", ["start"]),
    "probot": ("probot", ["run"]), "moleculer-runner": ("moleculer", None), "sails": ("sails", ["lift"]),
}
#: Development servers and watchers: never turned into the container's process.
DEV_TOOLS = {"nodemon", "react-scripts", "vite", "webpack-dev-server", "ts-node-dev", "ng", "vue-cli-service",
             "gatsby", "parcel", "browser-sync", "live-server", "supervisor", "node-dev"}
_TOOL_REASON = "the %s script %r runs %r, not node; cannot replace it with a plain node command"


def _cli_argv(words: list, name: str, script: str, ctx: FixContext) -> tuple:
    """A script that runs a production CLI from node_modules/.bin -> ``node node_modules/.bin/<cli> ...``."""
    tool = words[0]
    if tool in DEV_TOOLS or (tool in PRODUCTION_CLIS and PRODUCTION_CLIS[tool][1]
                             and words[1:2] != PRODUCTION_CLIS[tool][1][:1]):
        return None, "the {} script {!r} runs a development tool ({})".format(name, script, " ".join(words[:2]))
    if tool not in PRODUCTION_CLIS:
        return None, _TOOL_REASON % (name, script, tool)
    deps = ctx.package_dependencies
    if deps is None:
        return None, f"the {name} script runs {tool} and the production dependencies are unknown"
    package = PRODUCTION_CLIS[tool][0]
    if package not in deps:
        return None, f"the {name} script runs {tool} but {package} is not a production dependency"
    return ["node", "node_modules/.bin/" + tool, *words[1:]], None


def _node_argv_from_script(script: str, name: str, ctx: FixContext | None = None) -> tuple:
    """Turn a package.json script into a node argv, or return (None, reason)."""
    if _SHELL_META.search(script.replace("\\", "")) or "\\" in script:
        return None, f"the {name} script {script!r} uses shell features"
    try:
        words = shlex.split(script)
    except ValueError:
        return None, f"the {name} script {script!r} cannot be split"
    if not words:
        return None, f"the {name} script is empty"
    if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        return None, f"the {name} script {script!r} sets environment variables"
    if words[0] != "node":
        return _cli_argv(words, name, script, ctx)
    k = 1
    while k < len(words) and words[k].startswith("-"):
        flag = words[k]
        if flag in ("-e", "--eval", "-p", "--print", "-i", "--interactive", "--watch", "--test"):
            return None, f"the {name} script {script!r} uses node {flag}"
        if flag in _NODE_VALUE_FLAGS:
            k += 1
        k += 1
    if k >= len(words):
        return None, f"the {name} script {script!r} names no entry file"
    return words, None


def _runner_script(argv: list) -> tuple:
    """For an npm/yarn/pnpm argv return (script name, extra args) or (None, reason)."""
    tool = argv[0].rsplit("/", 1)[-1]
    rest = list(argv[1:])
    extra = []
    if "--" in rest:
        idx = rest.index("--")
        rest, extra = rest[:idx], rest[idx + 1:]
    rest = [r for r in rest if r not in ("--silent", "-s", "--quiet", "-q")]
    if any(r.startswith("-") for r in rest):
        return None, f"{tool} is called with options {rest!r}"
    if rest[:1] == ["start"] and len(rest) == 1:
        return ("start", extra), None
    if rest[:1] in (["run"], ["run-script"]) and len(rest) == 2:
        return (rest[1], extra), None
    if tool == "yarn" and len(rest) == 1 and rest[0] not in ("install", "build"):
        return (rest[0], extra), None
    if tool == "pnpm" and len(rest) == 1 and rest[0] not in ("install", "i"):
        return (rest[0], extra), None
    return None, "cannot tell which script {!r} runs".format(" ".join(argv))


def _process_argv(doc: _Doc, ins: dict) -> tuple:
    """(argv, form) of a CMD/ENTRYPOINT; shell form gives a best-effort split."""
    value = list(ins.get("value") or [])
    if ins.get("json"):
        return value, "exec"
    command = " ".join(value)
    try:
        return shlex.split(command), "shell"
    except ValueError:
        return command.split(), "shell"


def _fix_replace_npm_start(doc: _Doc, ctx: FixContext):
    stage = doc.final
    if stage is None:
        return Skip("no FROM instruction")
    eff = doc.effective(stage)
    target = None
    for ins in (eff["entrypoint"], eff["cmd"]):
        if ins is None:
            continue
        argv, form = _process_argv(doc, ins)
        k = 0
        while k < len(argv) and (argv[k].rsplit("/", 1)[-1] in INIT_PROGRAMS or argv[k] == "--"):
            k += 1
        if k < len(argv) and argv[k].rsplit("/", 1)[-1] in PACKAGE_MANAGERS:
            target = (ins, argv, form, k)
            break
    if target is None:
        for ins in (eff["entrypoint"], eff["cmd"]):
            if ins is not None and runs_package_manager(" ".join(ins.get("value") or [])):
                return Skip(f"{ins['cmd']} at line {ins['start_line']} runs a package manager inside a shell command")
        return NotNeeded("the container is not started through npm, yarn or pnpm")
    ins, argv, form, k = target
    if form == "shell" and _SHELL_META.search(" ".join(ins.get("value") or [])):
        return Skip(f"the {ins['cmd']} at line {ins['start_line']} uses shell features")
    if ins["cmd"] == "ENTRYPOINT" and eff["cmd"] is not None and eff["cmd"] is not ins:
        return Skip(f"ENTRYPOINT at line {ins['start_line']} runs {argv[k]} and CMD adds arguments to it")
    script, reason = _runner_script(argv[k:])
    if script is None:
        return Skip(reason)
    name, extra = script
    pkg = ctx.package_json or {}
    if not pkg or not pkg.get("exists", True) or pkg.get("error"):
        return Skip("package.json is not available, so the start script is unknown")
    scripts = pkg.get("scripts") or {}
    for hook in ("pre" + name, "post" + name):
        if hook in scripts:
            return Skip(f"package.json has a {hook!r} script that {argv[k]} {name} runs and node would not")
    env, note = [], None
    if name in scripts:
        node_argv, reason = _node_argv_from_script(str(scripts[name]), name, ctx)
        if node_argv is None:
            env, node_argv, why = script_intent(str(scripts[name]), name,
                                                lambda text: _node_argv_from_script(text, name, ctx), ctx.read_file)
            if node_argv is None:
                return Skip(why or reason)
            note = why
            later = [i for i in stage.ins if i["cmd"] == "RUN" and i["start_line"] > ins["start_line"]]
            if env and (ins not in stage.ins or later):
                return Skip(f"the {name} script sets variables for the process, and ENV before "
                            f"{ins['cmd']} at line {ins['start_line']} would reach other steps of the build")
    elif name == "start" and pkg.get("main"):
        node_argv = ["node", str(pkg["main"])]
    else:
        return Skip("package.json has no {!r} script{}".format(name, " and no main" if name == "start" else ""))
    new_argv = argv[:k] + node_argv + extra
    edits = _Edits(doc)
    env_line = [edits.line("{} {}".format(doc.kw("ENV"), " ".join(f"{n}={v}" for n, v in env)))] if env else []
    edits.replace(ins["start_line"], ins["end_line"],
                  [*env_line, edits.line(f"{doc.raw_keyword(ins)} {_dumps_argv(new_argv)}")])
    return edits.noted(_WARNING + note if note else None)


# --------------------------------------------------------------------------- fix: exec form

def _exec_argv(command: str) -> tuple:
    command = command.strip()
    if command.startswith("exec "):
        command = command[5:].strip()
    if not command:
        return None, "the command is empty"
    if _SHELL_META.search(command):
        return None, "it uses shell features ({})".format(", ".join(sorted(set(_SHELL_META.findall(command)))))
    for word in re.findall(r"^\s*(\w+)=", command):
        return None, f"it sets the environment variable {word} for the command"
    try:
        words = shlex.split(command)
    except ValueError:
        return None, "its quoting cannot be split"
    return words, None


#: Parameter expansions (``$NAME``, ``${NAME}``, ``${NAME:-word}``): the only shell feature a command may use for
#: :func:`_exec_in_shell`.
_PARAMETER = re.compile(r"\$(?:\{[A-Za-z_][A-Za-z0-9_]*(?::?[-=+?][^}$`\\(){};&|<>]*)?\}|[A-Za-z_][A-Za-z0-9_]*)")
#: Words a shell runs itself (reserved words and built-ins): ``exec`` cannot run them as a program.
_SHELL_WORDS = frozenset({"if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac",
                          "function", "select", "time", "cd", "export", "set", "unset", "source", ".", "eval", "exec",
                          "exit", "return", "shift", "trap", "wait", "read", "readonly", "local", "alias", "ulimit",
                          "umask", "[[", "!", "{", "}", "command", "builtin", "declare", "typeset"})
#: Families whose images have ``/bin/sh`` (official node images, Debian or Alpine; UBI Node.js).
_SH_FAMILIES = ("node-debian", "node-alpine", "ubi-node", "ubi-node-minimal")


def _exec_in_shell(command: str) -> str | None:
    """``exec <command>`` when ``command`` is one simple command whose only shell features are parameter
    expansions (``--listen $HOST:$PORT``): run by the same shell, it expands them as before, and ``exec`` hands
    PID 1 to the program. None otherwise (lists, pipes, redirections, substitutions, globs, a leading variable
    assignment, a program named by a variable or that is a shell word)."""
    command = command.strip()
    rest, at = [], 0
    for ref in _PARAMETER.finditer(command):       # the text between the parameter references (not expanded)
        rest.append(command[at:ref.start()])
        at = ref.end()
    rest.append(command[at:])
    if not command or any(_SHELL_META.search(x) for x in rest) or re.match(r"^\w+=", command):
        return None
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if not words or words[0] in _SHELL_WORDS or "$" in words[0]:
        return None
    return "exec " + command


def _fix_exec_form_cmd(doc: _Doc, ctx: FixContext):
    stage = doc.final
    if stage is None:
        return Skip("no FROM instruction")
    eff = doc.effective(stage)
    edits = _Edits(doc)
    reasons, warnings = [], []
    shells = {"entrypoint": stage.state.entrypoint_shell, "cmd": stage.state.cmd_shell}
    family = image_family(doc.root_ref(stage))
    for ins in (eff["entrypoint"], eff["cmd"]):
        if ins is None:
            continue
        value = list(ins.get("value") or [])
        if ins.get("json"):
            if len(value) == 3 and value[0].rsplit("/", 1)[-1] in ("sh", "bash", "ash") and value[1] == "-c":
                command = value[2]
            else:
                continue
        else:
            command = " ".join(value)
        if ins["cmd"] == "ENTRYPOINT" and eff["cmd"] is not None and not ins.get("json"):
            reasons.append(f"shell-form ENTRYPOINT at line {ins['start_line']} ignores CMD; "
                           "in exec form CMD would be appended")
            continue
        meant = None if ins.get("json") else broken_exec_array(command)
        argv, reason = (meant, None) if meant else _exec_argv(command)
        wrapped = _exec_in_shell(command) if argv is None else None
        shell = list(value[:2]) if ins.get("json") else list(shells[ins["cmd"].lower()] or ["/bin/sh", "-c"])
        # an exec-form wrapper names its shell (it ran); a shell-form command runs in /bin/sh on a Linux image
        known_shell = shell[0].rsplit("/", 1)[-1] in ("sh", "bash", "ash", "dash", "zsh") and shell[1:] == ["-c"] \
            if ins.get("json") else shell == ["/bin/sh", "-c"] and family in _SH_FAMILIES
        if wrapped and known_shell and _runs_its_arguments(doc, eff, ins):
            # the command expands shell parameters: the same shell runs it, and exec hands PID 1 to the program
            edits.replace(ins["start_line"], ins["end_line"],
                          [edits.line(f"{doc.raw_keyword(ins)} {_dumps_argv([*shell, wrapped])}")])
            warnings.append(f"{ins['cmd']} at line {ins['start_line']} expands shell parameters ($...), so "
                            f"{shell[0]} -c still runs it, now with exec: the program replaces the shell as PID 1")
            continue
        if argv is None:
            reasons.append(f"{ins['cmd']} at line {ins['start_line']}: {reason}")
            continue
        if meant:
            warnings.append(f"{ins['cmd']} at line {ins['start_line']} is not a valid JSON array, so it ran as a "
                            "shell command; it is now the exec-form array it spells")
        edits.replace(ins["start_line"], ins["end_line"],
                      [edits.line(f"{doc.raw_keyword(ins)} {_dumps_argv(argv)}")])
    if not edits:
        if reasons:
            return Skip("; ".join(reasons))
        return NotNeeded("CMD and ENTRYPOINT are already in exec form")
    return edits.noted("; ".join(reasons) or (_WARNING + "; ".join(warnings) if warnings else None))


def _runs_its_arguments(doc: _Doc, eff: dict, ins: dict) -> bool:
    """False for a CMD under an exec-form ENTRYPOINT that is node or a package manager (it gets the shell and the
    command as its arguments, not as a command to run: wrapping the command changes nothing of that)."""
    entry = eff["entrypoint"]
    if ins["cmd"] != "CMD" or entry is None:
        return True
    argv, dummy = _process_argv(doc, entry)
    while argv and (argv[0].rsplit("/", 1)[-1] in INIT_PROGRAMS or argv[0].startswith("-")):
        argv = argv[1:]
    return not argv or argv[0].rsplit("/", 1)[-1] not in ({"node", "nodejs"} | set(PACKAGE_MANAGERS))


# --------------------------------------------------------------------------- fix: init process

def _init_install(family: str, tool: str) -> tuple:
    """(install command, binary path) for ``tool`` on ``family``; (None, reason) when unknown."""
    if family in ("node-debian", "debian"):
        return (f"apt-get update && apt-get install -y --no-install-recommends {tool} && "
                "rm -rf /var/lib/apt/lists/*", f"/usr/bin/{tool}")
    if family in ("node-alpine", "alpine"):
        return f"apk add --no-cache {tool}", ("/sbin/tini" if tool == "tini" else "/usr/bin/dumb-init")
    if family in ("ubi-node-minimal", "ubi-minimal"):
        return f"microdnf install -y {tool} && microdnf clean all", f"/usr/bin/{tool}"
    if family in ("ubi-node", "ubi"):
        return f"dnf install -y {tool} && dnf clean all", f"/usr/bin/{tool}"
    return None, f"no package manager known for this base image ({family})"


def _fix_add_init_process(doc: _Doc, ctx: FixContext):
    stage = doc.final
    if stage is None:
        return Skip("no FROM instruction")
    tool = ctx.init_tool or "tini"
    if tool not in ("tini", "dumb-init"):
        return Skip(f"unknown init tool {tool!r}")
    eff = doc.effective(stage)
    entry, cmd = eff["entrypoint"], eff["cmd"]
    for ins in (entry, cmd):
        if ins is not None:
            argv, dummy = _process_argv(doc, ins)
            if argv and argv[0].rsplit("/", 1)[-1] in INIT_PROGRAMS:
                return NotNeeded("{} already runs {} as PID 1".format(ins["cmd"], argv[0]))
    family = image_family(doc.root_ref(stage))
    restate = None
    if entry is None and cmd is None:
        if family not in ("node-debian", "node-alpine"):
            return Skip("the Dockerfile sets no CMD or ENTRYPOINT and the base image's defaults are unknown")
        # official node images: ENTRYPOINT ["docker-entrypoint.sh"] CMD ["node"]; keep them behind the init
        restate = NODE_IMAGE_DEFAULTS
    if entry is not None and not entry.get("json"):
        return Skip(f"ENTRYPOINT at line {entry['start_line']} is in shell form")
    if entry is None and cmd is not None and not cmd.get("json"):
        return Skip(f"CMD at line {cmd['start_line']} is in shell form (exec_form_cmd could not convert it)")
    at, before = stage.from_ins["end_line"], None
    parent_user = stage.parent.state.user if stage.parent is not None else None  # USER at the end of the parent
    inherited = " ".join(parent_user["value"]) if parent_user is not None else None
    if family == "unknown":
        # a base the rewriter does not know: the Dockerfile's own RUNs on it show its package manager; the install
        # goes right before the stage's own first RUN that uses it (as the user shown able to install), else as
        # root after the stage's first USER (the base's default user is not known)
        shown = doc.family_shown(stage)
        first = next((i for i in stage.ins if i["cmd"] == "RUN" and not i.get("json")
                      and shown in os_package_families(" ".join(i.get("value") or []))), None) if shown else None
        anchor = None if first is not None or not shown else doc.root_anchor(stage)
        if first is None and anchor is None:
            return Skip(f"no package manager known for this base image ({family})" + (
                "; its RUNs use " + ("apt-get" if shown == "debian" else "apk") + ", but not in this stage and no "
                "USER names the user it runs as" if shown else ""))
        family = shown
        if first is not None:
            before, inherited = first["start_line"], None
        else:
            at, inherited = anchor
    install, path = _init_install(family, tool)
    if install is None:
        return Skip(path)
    edits = _Edits(doc)
    installed = any(installs_os_package(" ".join(i.get("value") or []), tool)
                    for st in doc.chain(stage) for i in st.ins if i["cmd"] == "RUN")
    if not installed:
        lines = []
        if inherited is None and family.startswith("ubi-node"):
            inherited = "1001"
        if inherited is not None and _user_is_root(inherited) is not True:
            lines.append("{} 0".format(doc.kw("USER")))
        lines.append("{} {}".format(doc.kw("RUN"), install))
        if inherited is not None and _user_is_root(inherited) is not True:
            lines.append("{} {}".format(doc.kw("USER"), inherited))
        if before is not None:
            edits.insert_before(before, [edits.line(x) for x in lines])
        else:
            edits.insert_after(at, [edits.line(x) for x in lines])
    warning = None
    if not installed and family.startswith("ubi"):
        warning = (f"{_WARNING}{tool} is not in the UBI repositories; the install needs EPEL or a RHEL "
                   "subscription in the build (the rebuild verifies it)")
    prefix = [path, "--"]
    if restate is not None:
        last = stage.ins[-1]["end_line"] if stage.ins else stage.from_ins["end_line"]
        edits.insert_after(last, [edits.line("{} {}".format(doc.kw("ENTRYPOINT"), _dumps_argv(prefix + restate[0]))),
                                  edits.line("{} {}".format(doc.kw("CMD"), _dumps_argv(restate[1])))])
    elif entry is not None:
        argv = list(entry.get("value") or [])
        edits.replace(entry["start_line"], entry["end_line"],
                      [edits.line(f"{doc.raw_keyword(entry)} {_dumps_argv(prefix + argv)}")])
    else:
        new = [edits.line("{} {}".format(doc.kw("ENTRYPOINT"), _dumps_argv(prefix)))]
        if eff["cmd_stage"] is stage:
            edits.insert_before(cmd["start_line"], new)
        else:
            # CMD is inherited from an earlier stage: ENTRYPOINT would reset it, so repeat it.
            new += [edits.line(_body(x)) for x in doc.span(cmd)]
            last = stage.ins[-1]["end_line"] if stage.ins else stage.from_ins["end_line"]
            edits.insert_after(last, new)
    return edits.noted(warning)
