# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one stage chain of a Dockerfile: stages, what each is built FROM, and the build state a stage
inherits (variables, USER, WORKDIR, SHELL, ENTRYPOINT and CMD). Used by the facts builder (over the
redacted instructions) and the rewriter (over the instructions as written). Pure, standard library only
(runs on managed hosts).

BuildKit's rules:

* global ARGs (before the first FROM) are visible in FROM only; a stage sees one only after re-declaring
  it (``ARG NAME``), which takes the global default; ARG defaults are expanded as they are declared;
* a FROM names an earlier stage by its name (case-insensitive; the last stage of that name), else an
  image; ``FROM <index>`` names an image, not a stage (BuildKit matches FROM against stage names only;
  an index works in ``COPY --from``; buildah 1.28 reads ``FROM 0`` as stage 0);
* ENV overrides ARG of the same name (Docker's documented rule, which the facts have always followed and
  buildah 1.28 builds by; BuildKit's dispatcher code lets a *later* ARG with a value replace an ENV for
  the build-time expansions). An ``ARG NAME`` without a default and without a global one keeps the value
  the stage already gave NAME in both builders; here it is unknown (None), the cautious reading. Either
  change would change facts and findings; the values of one ENV are expanded with the variables
  as they were *before* the instruction; through ``FROM <stage>`` a stage inherits ENV (not ARG), USER,
  WORKDIR, SHELL, ENTRYPOINT and CMD;
* ENTRYPOINT resets a CMD inherited from the parent stage.

:class:`Chain` walks the instructions once, in order (:meth:`Chain.add`); :meth:`Chain.state_at` replays
a stage up to a line for the rewriter's questions ("which WORKDIR is in effect at this COPY").
"""
from __future__ import annotations

import posixpath
from typing import Any, Callable, Optional

from ansible_collections.refarch.containers.plugins.module_utils._expand import MAX_EXPANDED, expand
from ansible_collections.refarch.containers.plugins.module_utils._image_ref import image_ref_facts

DEFAULT_SHELL = ["/bin/sh", "-c"]
_NOTHING: list = []  # no bindings (never changed)
_STATE_CMDS = frozenset({"ARG", "ENV", "USER", "WORKDIR", "SHELL", "CMD", "ENTRYPOINT"})  # what _apply reads


class State:
    """The build state at one point of a stage (inherited through ``FROM <stage>``).

    ``vars``: ARG/ENV values in effect (None: declared, value unknown on the host); ``env``: the names
    ENV set (they win over ARG); ``user``: the USER instruction in effect, ``user_name`` its word
    expanded, ``user_stage`` the index of the stage that wrote it; ``entrypoint``/``cmd``: the
    instructions in effect, each with the SHELL it was written under (``*_shell``) and the stage
    that wrote it (``cmd_stage``); ``cmd_set``: this stage wrote a CMD.
    """

    __slots__ = ("cmd", "cmd_set", "cmd_shell", "cmd_stage", "entrypoint", "entrypoint_shell", "env", "shell",
                 "user", "user_name", "user_stage", "vars", "workdir")

    def __init__(self, parent: Optional[State] = None, workdir: Optional[str] = None) -> None:
        if parent is None:
            self.vars: dict[str, Optional[str]] = {}
            self.env: set[str] = set()
            self.user: Optional[dict] = None
            self.user_name: Optional[str] = None
            self.user_stage: Optional[int] = None
            self.workdir = workdir
            self.shell = list(DEFAULT_SHELL)
            self.entrypoint: Optional[dict] = None
            self.entrypoint_shell: Optional[list] = None
            self.cmd: Optional[dict] = None
            self.cmd_shell: Optional[list] = None
            self.cmd_stage: Optional[int] = None
        else:
            self.vars = {k: v for k, v in parent.vars.items() if k in parent.env}
            self.env = set(parent.env)
            self.user, self.user_name, self.user_stage = parent.user, parent.user_name, parent.user_stage
            self.workdir = parent.workdir
            self.shell = list(parent.shell)
            self.entrypoint, self.entrypoint_shell = parent.entrypoint, parent.entrypoint_shell
            self.cmd, self.cmd_shell, self.cmd_stage = parent.cmd, parent.cmd_shell, parent.cmd_stage
        self.cmd_set = False

    def known_vars(self) -> dict[str, str]:
        """The variables whose value is known."""
        return {k: v for k, v in self.vars.items() if v is not None}


class Stage:
    """One build stage: its FROM, its instructions, what it is built from and its state at the end.

    ``name`` as written (``key`` lower case, the name FROM and ``COPY --from`` match); ``resolved``: the
    base as expanded with the global ARGs, ``unresolved`` when a variable in it has no known value;
    ``from_stage``/``parent``: the earlier stage it is built FROM (None: an image); ``base``: the image
    reference as the facts hold it (:func:`image_ref_facts`; for a stage parent only raw and resolved).
    """

    __slots__ = ("_ref", "base", "base_raw", "from_ins", "from_stage", "index", "ins", "key", "line", "name", "parent",
                 "platform", "resolved", "state", "unresolved")

    def __init__(self, index: int, from_ins: dict) -> None:
        self.index = index
        self.from_ins = from_ins
        self.line = from_ins.get("start_line")
        self.ins: list[dict] = []
        self.name: Optional[str] = None
        self.key: Optional[str] = None
        self.base_raw = ""
        self.resolved = ""
        self.unresolved = False
        self.from_stage: Optional[int] = None
        self.parent: Optional[Stage] = None
        self.platform: Optional[str] = None
        self.base: dict[str, Any] = {}
        self.state: State = None  # type: ignore[assignment]  # set by Chain._from
        self._ref: Any = False  # not computed yet

    @property
    def base_resolved(self) -> Optional[str]:
        """The base as resolved, or None when a variable in it has no known value."""
        return None if self.unresolved else self.resolved

    @property
    def ref(self) -> Optional[dict[str, Any]]:
        """The base image as resolved (``raw`` too: the name as the build reads it) when it is an image and
        known (registry and repository, or scratch), else None."""
        if self._ref is False:
            ref = None
            if self.parent is None and not self.unresolved and self.resolved:
                ref = image_ref_facts(self.resolved, self.resolved, False)
                if None in (ref["registry"], ref["repository"]) and not ref["scratch"]:  # a "$" left: unknown
                    ref = None
            self._ref = ref
        return self._ref


def _stage_ref(raw: str, resolved: str) -> dict[str, Any]:
    return {"raw": raw, "resolved": resolved, "registry": None, "repository": None, "tag": None,
            "digest": None, "unresolved": False, "scratch": False}


_IMAGE_REFS: dict = {}  # image_ref_facts by its arguments (an estate names few base images)


def _remembered_base(raw: str, resolved: str, unresolved: bool) -> dict[str, Any]:
    """``image_ref_facts(raw, resolved, unresolved)``: a new dict of the same (scalar) values each time."""
    key = (raw, resolved, unresolved)
    ref = _IMAGE_REFS.get(key)
    if ref is None:
        ref = image_ref_facts(raw, resolved, unresolved)
        if len(raw) + len(resolved) <= 1024:
            if len(_IMAGE_REFS) >= 512:
                _IMAGE_REFS.clear()
            _IMAGE_REFS[key] = ref
    return dict(ref)


def _flag_map(flags: list[str]) -> dict[str, Optional[str]]:
    out: dict[str, Optional[str]] = {}
    for f in flags or []:
        key, sep, val = f.lstrip("-").partition("=")
        out[key.lower()] = val if sep else None
    return out


class Chain:
    """The stages of one Dockerfile, built by :meth:`add` over its instructions in order.

    ``build_args``: ``--build-arg`` values that override ARG defaults (None: set, value unknown).
    ``problems``: a list that gets the problems the facts report (``expansion_too_long``,
    ``unresolved_base``, ``duplicate_stage_name``), or None. ``base_workdir(stage)``: the WORKDIR an
    image sets (None: unknown, read as ``/``). ``env_value(name, value, line)``: the value an ENV keeps
    in the variables (the facts redact there), default the value itself.
    """

    def __init__(self, escape: str = "\\", problems: Optional[list] = None,
                 base_workdir: Optional[Callable[[Stage], Optional[str]]] = None,
                 env_value: Optional[Callable[[str, Optional[str], int], Optional[str]]] = None,
                 build_args: Optional[dict[str, Optional[str]]] = None) -> None:
        self.escape = escape
        #: ``--build-arg`` values (None: set, value unknown): they override ARG defaults, global and in a stage
        self.build_args = build_args or {}
        self.problems = problems
        self.base_workdir = base_workdir
        self.env_value = env_value
        #: global ARG values, expanded (None: no default)
        self.global_vars: dict[str, Optional[str]] = {}
        #: global ARG defaults as written (None: no default)
        self.global_defaults: dict[str, Optional[str]] = {}
        self.stages: list[Stage] = []
        #: the stage of the last instruction taken (None before the first FROM)
        self.current: Optional[Stage] = None
        self.by_name: dict[str, int] = {}
        self._cut: list[str] = []  # expansions stopped at MAX_EXPANDED (see expand)

    # -- walking
    def add(self, ins: dict) -> list:
        """Take the next instruction (``cmd`` upper case; its stage is then :attr:`current`, None before the
        first FROM); return the ARG/ENV ``(name, value)`` pairs it bound (values expanded, None unknown)."""
        cmd = ins["cmd"]
        if cmd == "FROM":
            self.current = self._from(ins)
            return _NOTHING
        st = self.current
        if st is None:
            bound = []
            if cmd == "ARG":
                for word in ins.get("value") or []:
                    name, sep, default = word.partition("=")
                    val = self._bounded(expand(default, self.global_vars, self.escape, cut=self._cut), name,
                                        ins["start_line"]) if sep else None
                    if name in self.build_args:
                        val = self.build_args[name]
                    self.global_vars[name] = val
                    self.global_defaults[name] = default if sep else None
                    bound.append((name, val))
            return bound
        st.ins.append(ins)
        if cmd in _STATE_CMDS:
            return self._apply(st.state, st.index, ins)
        return _NOTHING

    def _bounded(self, result: tuple[str, bool], name: str, line: int, report: bool = True) -> Optional[str]:
        """The value of an ARG/ENV expansion, or None (unknown) when ``expand`` had to stop."""
        text, _unresolved = result
        if self._cut:
            self._cut.clear()
            if report and self.problems is not None:
                self.problems.append({"line": line, "code": "expansion_too_long",
                                      "message": f"the value of {name} expands to more than {MAX_EXPANDED} "
                                                 "characters; it is treated as unknown"})
            return None
        return text

    def _from(self, ins: dict) -> Stage:
        value = ins.get("value") or []
        line = ins.get("start_line")
        st = Stage(len(self.stages), ins)
        raw = value[0] if value else ""
        if len(value) >= 3 and value[1].upper() == "AS":
            st.name = value[2]
            st.key = value[2].lower()
        st.base_raw = raw
        st.resolved, st.unresolved = expand(raw, self.global_vars, self.escape)
        parent_idx = self.by_name.get(st.resolved.lower()) if not st.unresolved else None
        flags = _flag_map(ins.get("flags") or [])
        if "platform" in flags and flags["platform"] is not None:
            st.platform = expand(flags["platform"], self.global_vars, self.escape)[0]
        if parent_idx is not None:
            st.from_stage = parent_idx
            st.parent = self.stages[parent_idx]
            st.base = _stage_ref(raw, st.resolved)
            st.state = State(st.parent.state)
        else:
            st.base = _remembered_base(raw, st.resolved, st.unresolved)
            if st.unresolved and self.problems is not None:
                self.problems.append({"line": line, "code": "unresolved_base",
                                      "message": f"FROM {raw!r} uses a variable with no known value on this host"})
            st.state = State(workdir=self.base_workdir(st) if self.base_workdir else None)
        if st.key:
            if st.key in self.by_name and self.problems is not None:
                self.problems.append({"line": line, "code": "duplicate_stage_name",
                                      "message": f"stage name {st.key!r} is used twice"})
            self.by_name[st.key] = st.index
        self.stages.append(st)
        return st

    def _apply(self, state: State, index: int, ins: dict, replay: bool = False) -> list:
        """Apply one instruction of stage ``index`` to ``state``; return the ARG/ENV pairs it bound.

        ``replay``: the instruction was applied before (:meth:`state_at`): no problem is reported again
        and ``env_value`` is not called."""
        cmd = ins["cmd"]
        value = ins.get("value") or []
        escape = self.escape
        line = ins["start_line"]
        bound = []
        if cmd == "ARG":
            for word in value:
                name, sep, default = word.partition("=")
                if sep:
                    val = self._bounded(expand(default, state.vars, escape, cut=self._cut), name, line, not replay)
                else:
                    val = self.global_vars.get(name)
                if name in self.build_args:
                    val = self.build_args[name]
                bound.append((name, val))
                if name not in state.env:
                    state.vars[name] = val
        elif cmd == "ENV":
            snapshot = dict(state.vars)
            for i in range(0, len(value) - 1, 2):
                name = value[i]
                val = self._bounded(expand(value[i + 1], snapshot, escape, cut=self._cut), name, line, not replay)
                bound.append((name, val))
                state.env.add(name)
                state.vars[name] = self.env_value(name, val, line) if self.env_value and not replay else val
        elif cmd == "USER" and value:
            state.user = ins
            state.user_name = expand(value[0], state.vars, escape)[0]
            state.user_stage = index
        elif cmd == "WORKDIR" and value:
            wd = expand(value[0], state.vars, escape)[0]
            if wd:
                state.workdir = posixpath.normpath(posixpath.join(state.workdir or "/", wd))
        elif cmd == "SHELL":
            if ins.get("json") and value:
                state.shell = list(value)
        elif cmd == "CMD":
            state.cmd, state.cmd_shell, state.cmd_stage = ins, list(state.shell), index
            state.cmd_set = True
        elif cmd == "ENTRYPOINT":
            state.entrypoint, state.entrypoint_shell = ins, list(state.shell)
            if not state.cmd_set:
                state.cmd = state.cmd_shell = state.cmd_stage = None
        return bound

    # -- questions
    def chain(self, stage: Stage) -> list[Stage]:
        """Stages from the external root to ``stage`` (following FROM <stage> links)."""
        out = [stage]
        while out[0].parent is not None:
            out.insert(0, out[0].parent)
        return out

    def state_at(self, stage: Stage, upto_line: Optional[int] = None) -> State:
        """The state of ``stage`` before the instruction at ``upto_line`` (None: at its end)."""
        if upto_line is None:
            return stage.state
        if stage.parent is not None:
            state = State(stage.parent.state)
        else:
            state = State(workdir=self.base_workdir(stage) if self.base_workdir else None)
        for ins in stage.ins:
            if ins["start_line"] >= upto_line:
                break
            self._apply(state, stage.index, ins, replay=True)
        return state
