# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fix ``set_heap_limit`` (NRA009): node's heap limit follows the container's memory limit at start.

A small POSIX ``sh`` script, written into the image by one ``RUN`` (no file is added to the build context), runs in
front of the command: it reads the container's memory limit (cgroup v2 ``memory.max``, else cgroup v1
``memory.limit_in_bytes``), appends ``--max-old-space-size=<HEAP_MEMORY_PERCENT % of it, in MiB>`` to
``NODE_OPTIONS`` (node takes the last one) and ``exec``s the command, so node keeps the PID the script had and the
signals an init (tini, dumb-init) forwards reach it. ``MAX_NODE_MEMORY`` (MiB), set at run time, is used instead of
the share; without a limit (or a value it cannot read) ``NODE_OPTIONS`` keeps the image's default
(``--max-old-space-size=<max_node_memory>``), which is also what NRA009 reads and what a process started without the
script (``docker exec``) gets. The script only needs ``sh``, ``read`` and shell arithmetic (busybox and dash).

When the script cannot be put in front of the command (a shell-form ENTRYPOINT or CMD, an ENTRYPOINT inherited from
an earlier stage, a base image that may have no ``sh``), the fix falls back to the constant default and is reported
partly applied with the reason.

Part of the rewriter (``module_utils/_rewriter.py``); pure, standard library only."""
from __future__ import annotations

import re

from ansible_collections.refarch.containers.plugins.module_utils._base_image import image_family
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.model import (
    DEFAULT_MAX_NODE_MEMORY,
    NODE_IMAGE_DEFAULTS,
    FixContext,
    NotNeeded,
    Skip,
    _body,
    _Doc,
    _dumps_argv,
    _Edits,
    _kv_pairs,
    _user_is_root,
)
from ansible_collections.refarch.containers.plugins.module_utils._shellcmd import HEAP_WRAPPER, INIT_PROGRAMS

#: Share of the container's memory limit the heap gets by default (the policy's ``heap_memory_ratio`` is the most
#: the container rule accepts: 0.75).
DEFAULT_HEAP_PERCENT = 75
#: The script, one line per element (no single quote: each line is written as a single-quoted printf argument).
HEAP_SCRIPT = (
    "#!/bin/sh",
    "# Set the heap limit of node from the memory limit of the container, then run the command (refarch.containers).",
    "# MAX_NODE_MEMORY (MiB) wins; else HEAP_MEMORY_PERCENT (default 75) % of the cgroup v2 or v1 limit;",
    "# without a limit NODE_OPTIONS is left as it is.",
    "heap=${MAX_NODE_MEMORY:-}",
    'if [ -z "$heap" ]; then',
    "  limit=",
    "  for f in /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes; do",
    '    if [ -r "$f" ]; then read -r limit < "$f"; break; fi',
    "  done",
    "  pct=${HEAP_MEMORY_PERCENT:-75}",
    '  case "$pct" in ""|*[!0-9]*) pct=75 ;; esac',
    '  case "$limit" in',
    '    ""|max|*[!0-9]*) ;;',
    '    *) if [ ${#limit} -le 15 ]; then heap=$(( limit / 1048576 * pct / 100 )); fi ;;',
    "  esac",
    "fi",
    'case "$heap" in',
    '  ""|0|*[!0-9]*) ;;',
    '  *) NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--max-old-space-size=$heap"; export NODE_OPTIONS ;;',
    "esac",
    'exec "$@"',
)
#: Families whose images have ``/bin/sh`` (official node images, Debian or Alpine; UBI Node.js).
_SHELL_FAMILIES = ("node-debian", "node-alpine", "ubi-node", "ubi-node-minimal")
_INIT_VALUE_OPTIONS = frozenset({"-p", "-e", "-r", "--rewrite"})


def _script_run(doc: _Doc) -> str:
    """The RUN that writes the script (printf of single-quoted lines, continued with the file's escape)."""
    cont = " " + doc.escape
    words = ["printf '%s\\n'"] + [f"'{line}'" for line in HEAP_SCRIPT]
    body = (cont + doc.nl + "      ").join(words)
    return f"{doc.kw('RUN')} {body} > {HEAP_WRAPPER} && chmod 0755 {HEAP_WRAPPER}"


def _after_init(argv: list) -> int:
    """Where the script goes in an ENTRYPOINT: after an init and its options (and ``--``), else first."""
    if not argv or argv[0].rsplit("/", 1)[-1] not in INIT_PROGRAMS:
        return 0
    i = 1
    while i < len(argv) and argv[i].startswith("-"):
        if argv[i] == "--":
            return i + 1
        i += 2 if argv[i] in _INIT_VALUE_OPTIONS else 1
    return i


def _script_anchor(doc: _Doc, stage, family: str):
    """(line after which the script's RUN goes, the USER in effect there as written (None: the base's)), or the
    reason why the script cannot be written. On a base the rewriter does not know, the Dockerfile must show /bin/sh
    (``_Doc.posix_shell_shown``) and name the user: the RUN goes after the stage's first USER (its default user is
    unknown)."""
    if family in _SHELL_FAMILIES:
        return stage.from_ins["end_line"], None
    why = f"the base image ({family}) may have no /bin/sh to run the start script"
    if not doc.posix_shell_shown(stage):
        return why
    anchor = doc.root_anchor(stage)
    if anchor is None:
        return why + " (it runs shell-form RUNs, but its default user is unknown and no USER names one)"
    return anchor


def _entrypoint_edit(doc: _Doc, stage, edits: _Edits, family: str) -> str | None:
    """Put the script in front of the command; returns why it cannot (None when done)."""
    anchor = _script_anchor(doc, stage, family)
    if isinstance(anchor, str):
        return anchor
    eff = doc.effective(stage)
    entry, cmd = eff["entrypoint"], eff["cmd"]
    if entry is not None:
        if not entry.get("json"):
            return f"ENTRYPOINT at line {entry['start_line']} is in shell form"
        if not any(i is entry for i in stage.ins):
            return "the ENTRYPOINT is inherited from an earlier stage"
        argv = list(entry.get("value") or [])
        at = _after_init(argv)
        edits.replace(entry["start_line"], entry["end_line"],
                      [edits.line(f"{doc.raw_keyword(entry)} {_dumps_argv([*argv[:at], HEAP_WRAPPER, *argv[at:]])}")])
        return None
    if cmd is None:
        if not family.startswith("node-"):
            return "the Dockerfile sets no CMD or ENTRYPOINT and the base image's defaults are unknown"
        last = stage.ins[-1]["end_line"] if stage.ins else stage.from_ins["end_line"]
        edits.insert_after(last, [
            edits.line("{} {}".format(doc.kw("ENTRYPOINT"), _dumps_argv([HEAP_WRAPPER, *NODE_IMAGE_DEFAULTS[0]]))),
            edits.line("{} {}".format(doc.kw("CMD"), _dumps_argv(NODE_IMAGE_DEFAULTS[1])))])
        return None
    if not cmd.get("json"):
        return f"CMD at line {cmd['start_line']} is in shell form"
    argv = list(cmd.get("value") or [])
    at = _after_init(argv)
    if at:  # the CMD starts the init (PID 1): the script goes behind it, in the CMD
        if eff["cmd_stage"] is not stage:
            return "the CMD that starts the init is inherited from an earlier stage"
        edits.replace(cmd["start_line"], cmd["end_line"],
                      [edits.line(f"{doc.raw_keyword(cmd)} {_dumps_argv([*argv[:at], HEAP_WRAPPER, *argv[at:]])}")])
        return None
    new = [edits.line("{} {}".format(doc.kw("ENTRYPOINT"), _dumps_argv([HEAP_WRAPPER])))]
    if eff["cmd_stage"] is stage:
        edits.insert_before(cmd["start_line"], new)
    else:  # CMD inherited from an earlier stage: ENTRYPOINT would reset it, so repeat it
        last = stage.ins[-1]["end_line"] if stage.ins else stage.from_ins["end_line"]
        edits.insert_after(last, new + [edits.line(_body(x)) for x in doc.span(cmd)])
    return None


def _root_lines(doc: _Doc, stage, family: str, command: str, inherited: str | None = None) -> list:
    """``command`` as a RUN as root: between ``USER 0`` and the inherited user when the base runs as another
    (``inherited``: the USER in effect where it goes, as written; None: the one the stage starts with)."""
    parent_user = stage.parent.state.user if stage.parent is not None else None  # USER at the end of the parent
    if inherited is None:
        inherited = " ".join(parent_user["value"]) if parent_user is not None else None
    if inherited is None and family.startswith("ubi-node"):
        inherited = "1001"
    if inherited is not None and _user_is_root(inherited) is not True:
        return ["{} 0".format(doc.kw("USER")), command, "{} {}".format(doc.kw("USER"), inherited)]
    return [command]


def _fix_set_heap_limit(doc: _Doc, ctx: FixContext):
    stage = doc.final
    if stage is None:
        return Skip("no FROM instruction")
    variables = doc.stage_vars(stage)
    eff = doc.effective(stage)
    # the NODE_OPTIONS the container runs with (ENV in effect in the final stage), as NRA009 reads it
    node_options = ((doc.facts["analysis"] or {}).get("process") or {}).get("node_options")
    if node_options and node_options["heap_limit"]:
        return NotNeeded("NODE_OPTIONS already sets --max-old-space-size")
    for ins in (eff["entrypoint"], eff["cmd"]):
        if ins is not None and any("max-old-space-size" in v for v in ins.get("value") or []):
            return Skip(f"{ins['cmd']} at line {ins['start_line']} already passes --max-old-space-size; "
                        "make it read an environment variable by hand")
    var = ctx.heap_variable or "MAX_NODE_MEMORY"
    default = str(ctx.max_node_memory or DEFAULT_MAX_NODE_MEMORY)
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", var) or not default.isdigit():
        return Skip("invalid heap_variable or max_node_memory option")
    edits = _Edits(doc)
    family = image_family(doc.root_ref(stage))
    why_constant = None if var == "MAX_NODE_MEMORY" else f"heap_variable {var} is not the start script's variable"
    if why_constant is None:
        why_constant = _entrypoint_edit(doc, stage, edits, family)
    prefix = "${NODE_OPTIONS} " if "NODE_OPTIONS" in variables else ""
    lines = []
    if why_constant is None:
        lines.append('{} HEAP_MEMORY_PERCENT={} NODE_OPTIONS="{}--max-old-space-size={}"'.format(
            doc.kw("ENV"), DEFAULT_HEAP_PERCENT, prefix, default))
        at, user = _script_anchor(doc, stage, family)
        edits.insert_after(at, [edits.line(x) for x in _root_lines(doc, stage, family, _script_run(doc), user)])
    else:
        edits = _Edits(doc)  # nothing of the start script
        node_options = f"{prefix}--max-old-space-size=${{{var}}}"
        if var not in variables:
            lines.append("{} {}={}".format(doc.kw("ARG"), var, default))
            lines.append('{env} {var}=${{{var}}} NODE_OPTIONS="{opts}"'.format(
                env=doc.kw("ENV"), var=var, opts=node_options))
        else:
            lines.append('{} NODE_OPTIONS="{}"'.format(doc.kw("ENV"), node_options))
    anchor = None
    for ins in stage.ins:
        # after the build steps, and after an ENV NODE_OPTIONS of the stage, which would override it
        if ins["cmd"] in ("RUN", "COPY", "ADD", "USER") or (
                ins["cmd"] == "ENV" and any(n == "NODE_OPTIONS" for n, dummy in _kv_pairs(ins))):
            anchor = ins["end_line"]
    if anchor is None:
        anchor = stage.from_ins["end_line"]
    edits.insert_after(anchor, [edits.line(x) for x in lines])
    if why_constant is not None:
        return edits.noted(f"the heap limit is the constant {default} MiB, not the container's memory "
                           f"({why_constant})")
    return edits
