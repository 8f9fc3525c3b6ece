# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rewriter's document and edit model: the parsed Dockerfile (``_Doc``: stages, chain, variables, effective
user/process), line edits (``_Edits``) and how they are spliced (``_apply``), text helpers (the base
image family is ``_base_image.image_family``).

Part of the rewriter (``module_utils/_rewriter.py``); pure, standard library only."""
from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

from ansible_collections.refarch.containers.plugins.module_utils._base_image import image_family
from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_facts import dockerfile_facts
from ansible_collections.refarch.containers.plugins.module_utils._shellcmd import os_package_families
from ansible_collections.refarch.containers.plugins.module_utils._stages import Chain, Stage

DEFAULT_PORT_MAP = {80: 8080, 443: 8443}
DEFAULT_PORT_OFFSET = 8000
DEFAULT_MAX_NODE_MEMORY = "1024"
DEFAULT_DEBIAN_CODENAME = "bookworm"
DEFAULT_USER_IDS = {
    "node": {"uid": 1000, "gid": 1000},
    "ubi": {"uid": 1001, "gid": 0},
    "distroless": {"uid": 65532, "gid": 65532},
    "other": {"uid": 10001, "gid": 10001},
}
#: ENTRYPOINT and CMD of the official node images (docker-library/node), restated behind the init process
#: when a Dockerfile sets neither.
NODE_IMAGE_DEFAULTS = (["docker-entrypoint.sh"], ["node"])
DOCKERIGNORE_ENTRIES = ("node_modules", ".git", ".cache", "npm-debug.log")
PORT_ENV_NAMES = {"PORT", "HTTP_PORT", "HTTPS_PORT", "APP_PORT", "SERVER_PORT", "LISTEN_PORT", "NODE_PORT"}
MANIFEST_CANDIDATES = ("yarn.lock", "pnpm-lock.yaml", "npm-shrinkwrap.json", ".npmrc", ".yarnrc", ".yarnrc.yml")

_SHELL_META = re.compile(r"[|&;<>()$`*?\[\]{}~\\\n#!]")
_VAR_RE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")
_NODE_VALUE_FLAGS = {"-r", "--require", "--import", "--loader", "--experimental-loader", "--env-file", "-C",
                     "--conditions", "--title", "--inspect-port"}


_WARNING = "warning: "


class RewriteError(ValueError):
    """Raised when the input cannot be rewritten at all (no parser, unparsable text)."""


# --------------------------------------------------------------------------- text helpers

def _split_lines(text: str) -> list:
    """Split keeping line endings; only ``\\n`` (and ``\\r\\n``) end a line."""
    if not text:
        return []
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _newline_of(lines: list) -> str:
    crlf = sum(1 for line in lines if line.endswith("\r\n"))
    lf = sum(1 for line in lines if line.endswith("\n")) - crlf
    return "\r\n" if crlf > lf else "\n"


def _body(line: str) -> str:
    """A raw line without its line ending."""
    if line.endswith("\r\n"):
        return line[:-2]
    if line.endswith("\n"):
        return line[:-1]
    return line


def _ending(line: str) -> str:
    return line[len(_body(line)):]


def _dumps_argv(argv: list) -> str:
    return json.dumps(list(argv), ensure_ascii=False)


# --------------------------------------------------------------------------- image refs

def _node_tag_parts(tag: str | None) -> tuple:
    """Split an official node tag into (version, variant): ``20.11-alpine3.19`` -> (``20.11``, ``alpine3.19``)."""
    if not tag:
        return None, None
    match = re.match(r"^(\d+(?:\.\d+){0,2}|lts|current|latest)(?:-(.+))?$", tag)
    if match:
        return match.group(1), match.group(2)
    return None, tag


# --------------------------------------------------------------------------- document model

class _Doc:
    """A parsed snapshot of the current text: lines, instructions and stages (the one stage chain,
    ``_stages.Chain``, over the instructions as written: values the fixes write back are the file's own)."""

    def __init__(self, text: str, parse, target: str | None = None):
        #: the stage a declared build builds (``--target``; None: the last stage): ``final`` is that stage
        self.target = target
        self.text = text
        self.lines = _split_lines(text)
        self.nl = _newline_of(self.lines)
        parsed = parse(text)
        self.escape = parsed.get("escape") or "\\"
        self.problems = parsed.get("problems") or []
        self.instructions = [dict(i) for i in parsed.get("instructions") or []]
        self._chain = Chain(self.escape, base_workdir=_image_workdir)
        for ins in self.instructions:
            ins["cmd"] = (ins.get("cmd") or "").upper()
            self._chain.add(ins)
        self.stages: list[Stage] = self._chain.stages
        #: global ARG defaults as written (None: no default)
        self.global_args = self._chain.global_defaults
        lower = sum(1 for i in self.instructions if self.raw_keyword(i).islower())
        self.lower = bool(self.instructions) and lower > len(self.instructions) / 2
        self._facts: dict | None = None

    @property
    def facts(self) -> dict:
        """The facts document of this text (``dockerfile_facts``, built on first use): the fixes decide with
        what it holds (its analysis, as the rules that report the findings read it). It is redacted, so the
        text a fix writes comes from ``lines`` and the instructions, never from it."""
        if self._facts is None:
            self._facts = dockerfile_facts("Dockerfile", self.text.encode("utf-8", "surrogateescape"),
                                           include_instructions=False, target=self.target)
        return self._facts

    # -- queries
    def raw_keyword(self, ins: dict) -> str:
        line = self.lines[ins["start_line"] - 1] if ins["start_line"] - 1 < len(self.lines) else ""
        match = re.match(r"\s*(\S+)", line)
        return match.group(1) if match else ins["cmd"]

    def kw(self, word: str) -> str:
        return word.lower() if self.lower else word.upper()

    def span(self, ins: dict) -> list:
        return self.lines[ins["start_line"] - 1:ins["end_line"]]

    def chain(self, stage: Stage) -> list:
        """Stages from the external root to ``stage`` (following FROM <stage> links)."""
        return self._chain.chain(stage)

    @property
    def final(self) -> Stage | None:
        """The stage the image is built from: the ``target`` stage (None when no stage has that name), else the last."""
        if self.target is None:
            return self.stages[-1] if self.stages else None
        index = self._chain.by_name.get(self.target.lower())
        return self.stages[index] if index is not None else None

    def root_ref(self, stage: Stage) -> dict | None:
        return self.chain(stage)[0].ref

    def stage_vars(self, stage: Stage, upto_line: int | None = None) -> dict:
        """ARG/ENV values known in ``stage`` before ``upto_line`` (None: at its end)."""
        return self._chain.state_at(stage, upto_line).known_vars()

    def effective(self, stage: Stage) -> dict:
        """Effective USER, ENTRYPOINT and CMD instructions for ``stage`` (None = base default) and the stages
        that wrote the USER and the CMD."""
        state = stage.state
        return {"user": state.user, "entrypoint": state.entrypoint, "cmd": state.cmd,
                "user_stage": self.stages[state.user_stage] if state.user is not None else None,
                "cmd_stage": self.stages[state.cmd_stage] if state.cmd is not None else None}

    def _same_base_runs(self, stage: Stage):
        """The shell-form RUNs that show what ``stage``'s base image holds, or None when nothing can be shown: RUNs
        of every stage chain built from the same base reference with no ``SHELL`` of its own (they ran in
        ``/bin/sh -c``). None when ``stage``'s chain declares a ``SHELL``, the file uses the backtick escape, the
        base may be a Windows image (its shell form runs ``cmd``) or is scratch or distroless."""
        chain = self.chain(stage)
        root = chain[0]
        ref = root.ref
        if ref is None or image_family(ref) in ("scratch", "distroless") or self.escape != "\\":
            return None
        named = "{} {}".format(ref.get("repository") or "", ref.get("tag") or "").lower()
        platform = " ".join(root.from_ins.get("flags") or []).lower()
        if any(w in named for w in ("windows", "nanoserver", "servercore", "-nano")) or "windows" in platform:
            return None

        def shell(ins_list: list) -> bool:
            return not any(i["cmd"] == "SHELL" for i in ins_list)

        if not shell([i for st in chain for i in st.ins]):
            return None
        base = root.base_resolved or root.base_raw
        runs = []
        for other in self.stages:
            other_chain = self.chain(other)
            if (other_chain[0].base_resolved or other_chain[0].base_raw) != base:
                continue
            instructions = [i for st in other_chain for i in st.ins]
            if shell(instructions):
                runs += [i for i in instructions if i["cmd"] == "RUN" and not i.get("json") and i not in runs]
        return runs

    def posix_shell_shown(self, stage: Stage) -> bool:
        """Whether this Dockerfile shows that ``stage``'s image runs ``/bin/sh`` (for a base image whose family the
        rewriter does not know): a shell-form ``RUN`` on the same base image (in ``stage``'s chain or in another
        stage built from the same reference) runs in ``/bin/sh -c`` on a Linux image, so the build fails without
        it (:meth:`_same_base_runs`)."""
        return bool(self._same_base_runs(stage))

    def family_shown(self, stage: Stage) -> str | None:
        """The family (``debian``, ``alpine``) whose package manager this Dockerfile's own RUNs use on ``stage``'s
        base image (``apt-get install``, ``apk add``: the build fails without it), for a base image the rewriter
        does not know; None when none or both are used or nothing can be shown (:meth:`_same_base_runs`)."""
        families = set()
        for ins in self._same_base_runs(stage) or []:
            families |= os_package_families(" ".join(v for v in ins.get("value") or [] if isinstance(v, str)))
        return families.pop() if len(families) == 1 else None

    def root_anchor(self, stage: Stage):
        """(line after which a RUN as root goes, the USER in effect there as written) on a base image whose default
        user is not known: right after ``stage``'s first ``USER`` with a literal value; None when it has none."""
        user = next((i for i in stage.ins if i["cmd"] == "USER"), None)
        if user is None or not user.get("value") or "$" in " ".join(user["value"]):
            return None
        return user["end_line"], " ".join(user["value"])

    def workdir(self, stage: Stage, upto_line: int | None = None) -> str | None:
        """Effective WORKDIR before ``upto_line`` (UBI Node.js images default to /opt/app-root/src)."""
        wd = self._chain.state_at(stage, upto_line).workdir
        return _norm_path(wd) if wd else None


def _image_workdir(stage: Stage) -> str | None:
    """The WORKDIR the base image of a root stage sets, where the rewriter knows it."""
    return "/opt/app-root/src" if image_family(stage.ref).startswith("ubi-node") else None


def _kv_pairs(ins: dict) -> list:
    """(name, value) pairs of an ARG/ENV instruction (binding value layout)."""
    value = list(ins.get("value") or [])
    out = []
    if ins["cmd"] == "ENV":
        for k in range(0, len(value) - 1, 2):
            out.append((value[k], value[k + 1]))
    else:
        for item in value:
            name, eq, val = item.partition("=")
            out.append((name, val if eq else None))
    return out


def _norm_path(path: str) -> str:
    parts = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/" + "/".join(parts)


def _user_is_root(raw: str) -> bool | None:
    """True for root/0 (any group), False for another user, None when it uses a variable."""
    if "$" in raw:
        return None
    name = raw.split(":", 1)[0].strip()
    return name in ("root", "0")


# --------------------------------------------------------------------------- edits

class Skip(NamedTuple):
    """A fix's answer when it cannot be applied: ``reason`` says why (reported as declined)."""

    reason: str


class NotNeeded(NamedTuple):
    """A fix's answer when the file already complies: ``reason`` says why."""

    reason: str


class FixContext(NamedTuple):
    """What a fix knows besides the Dockerfile (``rewrite``'s ``context``, see its docstring)."""

    package_json: dict | None = None
    package_dependencies: list | None = None
    dockerignore: dict | None = None
    dockerignore_text: str | None = None
    #: whether the .dockerignore was read (``dockerignore_text`` given, None for a missing file)
    dockerignore_read: bool = False
    dockerignore_entries: list | None = None
    #: the ignore file's name (``.dockerignore`` or ``<Dockerfile>.dockerignore``), excluded when the fix writes it
    dockerignore_name: str | None = None
    context_files: list | None = None
    evaluation_date: str | None = None
    port_map: dict | None = None
    port_offset: int | None = DEFAULT_PORT_OFFSET
    port_floor: int | None = 1024
    base_image_table: dict | None = None
    #: the Node.js line base images move to (None: the newest line in LTS on the evaluation date)
    node_line: Any = None
    #: what the base-image fix may do beyond the default (``node_releases.ALLOW_CHOICES``)
    base_image_allow: tuple = ()
    #: the rule ids the findings raise (None: not known, judged as the bundled policy would)
    rule_ids: Any = None
    user_ids: dict | None = None
    init_tool: str | None = None
    max_node_memory: Any = None
    heap_variable: str | None = None
    #: ``read(relpath) -> (text | None, why_not | None)`` over the build context (the host's
    #: ``_context_files.ContextFiles``), None when the application's files cannot be read
    read_file: Any = None
    #: the fixes asked for, in FIX_ORDER
    requested: tuple = ()

    @classmethod
    def of(cls, context: dict, requested: list) -> FixContext:
        known = {k: context[k] for k in cls._fields if k in context and k not in ("dockerignore_read", "requested")}
        return cls(**known, dockerignore_read="dockerignore_text" in context, requested=requested)


class _Edits:
    """Collect edits on one snapshot: replace lines [start, end] or insert before ``start``."""

    def __init__(self, doc: _Doc):
        self.doc = doc
        self.items = []
        #: What the report says beside the applied fix (a warning, the parts left undone), or None.
        self.note = None
        #: What the fix relied on, checked again on the final text (``claims.check_precondition``), or None.
        self.precondition = None

    def noted(self, note: str | None) -> _Edits:
        """These edits with ``note`` (what a fix returns when it changes the file)."""
        self.note = note
        return self

    def replace(self, start: int, end: int, new_lines: list) -> None:
        self.items.append((start, end, list(new_lines)))

    def insert_before(self, line: int, new_lines: list) -> None:
        self.items.append((line, line - 1, list(new_lines)))

    def insert_after(self, line: int, new_lines: list) -> None:
        self.items.append((line + 1, line, list(new_lines)))

    def line(self, body: str) -> str:
        return body + self.doc.nl

    def __bool__(self) -> bool:
        return bool(self.items)


def _apply(lines: list, origin: list, edits: _Edits) -> tuple:
    """Apply edits bottom-up; return (lines, origin, touched original line numbers)."""
    items = sorted(edits.items, key=lambda e: (e[0], e[1]))
    for a, b in zip(items, items[1:], strict=False):  # noqa: RUF007 - Python 3.9 hosts lack pairwise
        if a[1] >= b[0] and not (a[1] < a[0] and b[1] < b[0] and a[0] == b[0]):
            raise RewriteError(f"internal error: overlapping edits at lines {a[0]} and {b[0]}")
    lines, origin = list(lines), list(origin)
    touched = set()
    nl = _newline_of(lines)
    order = {id(e): k for k, e in enumerate(edits.items)}
    # bottom-up; at one position the edit added first ends up first
    for start, end, replacement in sorted(items, key=lambda e: (e[0], e[1], order[id(e)]), reverse=True):
        new = list(replacement)
        if end >= start:
            touched.update(o for o in origin[start - 1:end] if o is not None)
            if end == len(lines) and not _ending(lines[-1]) and new and _ending(new[-1]):
                new[-1] = _body(new[-1])
        else:
            anchor = origin[start - 2] if start - 2 >= 0 and start - 2 < len(origin) else None
            if anchor is None and start - 1 < len(origin):
                anchor = origin[start - 1]
            if anchor is not None:
                touched.add(anchor)
            if start - 1 == len(lines) and lines and not _ending(lines[-1]):
                lines[-1] = lines[-1] + nl
                if origin[-1] is not None:
                    touched.add(origin[-1])
        lines[start - 1:end] = new
        origin[start - 1:end] = [None] * len(new)
    for k in range(len(lines) - 1):
        if not _ending(lines[k]):   # a former last line that now has lines after it
            lines[k] += nl
            if origin[k] is not None:
                touched.add(origin[k])
    return lines, origin, touched
