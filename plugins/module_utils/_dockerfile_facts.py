# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Normalized facts for one Dockerfile (``kind: dockerfile``), host side, stdlib only.

``dockerfile_facts()`` is pure: bytes in, one JSON-ready dict out, shaped exactly
as ``docs/contracts.md`` section 2 and ``policies/schema/facts.schema.json``
describe.  Every key is always present.  Secrets are redacted in the parsed
instructions first (``_redact.Redactor``) and everything else is derived from
the redacted instructions, so no derived field can carry a secret.

Build semantics follow BuildKit (the stages, FROM resolution and the state a stage inherits are
``_stages.Chain``, shared with the rewriter; this module renders them, redacted):

* global ARGs (before the first FROM) are visible in FROM only; a stage sees
  one only after re-declaring it (``ARG NAME``), which takes the global default;
* ENV overrides ARG of the same name; ENV values are expanded with the
  variables as they were *before* the instruction; ENV, WORKDIR, USER, SHELL,
  EXPOSE, ENTRYPOINT, CMD and HEALTHCHECK are inherited through ``FROM <stage>``;
* word expansion supports ``$V``, ``${V}``, ``${V:-w}``, ``${V-w}``,
  ``${V:+w}``, ``${V+w}``, quotes and the escape token; a variable whose value
  cannot be known on the host (base-image ENV, ARG without default) is left as
  written and the result flagged unresolved;
* ENTRYPOINT resets a CMD inherited from the parent stage; a shell-form
  ENTRYPOINT runs ``SHELL + [command]`` and ignores CMD.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import shlex
from re import Pattern
from typing import Any, Optional

from ansible_collections.refarch.containers.plugins.module_utils._base_image import base_analysis
from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_parser import (
    KNOWN_INSTRUCTIONS,
    keyword_shaped,
    parse_bytes,
    shown_word,
)
from ansible_collections.refarch.containers.plugins.module_utils._dockerignore import (
    dockerignore_coverage,
    parse_dockerignore,
)
from ansible_collections.refarch.containers.plugins.module_utils._expand import expand
from ansible_collections.refarch.containers.plugins.module_utils._lazy_re import lazy_re
from ansible_collections.refarch.containers.plugins.module_utils._node_scope import (
    dockerfile_node_scope,
    unknown_node_scope,
)
from ansible_collections.refarch.containers.plugins.module_utils._redact import (
    REDACTED,
    SECRET_NAME_RE,
    Redactor,
    _clean,
    _is_reference,
    is_secret_name,
)
from ansible_collections.refarch.containers.plugins.module_utils._shellcmd import (
    process_analysis,
    run_analysis,
    script_build_steps,
)
from ansible_collections.refarch.containers.plugins.module_utils._stages import (
    DEFAULT_SHELL,
    Chain,
    Stage,
    _flag_map,
)

SCHEMA_VERSION = "1.1"

_RULE_ID_RE = lazy_re(r"[A-Za-z]+[-_]?[0-9]+")
_PORT_RE = re.compile(r"^(\d+)(?:-(\d+))?(?:/([A-Za-z]+))?$")
_LINE_KEYS = ("user", "expose", "cmd", "entrypoint", "healthcheck", "env", "arg", "workdir",
              "copy", "add", "run", "shell", "label")
_LINE_KEY_OF = {k.upper(): k for k in _LINE_KEYS}  # instruction (upper case) -> its instruction_lines key
# Parser problems that mean the file could not be parsed at all (a decode error is
# only a problem: the parser still parses the text with replacement characters).
_FATAL_CODES = ("binary", "too_large")
_KNOWN_UPPER = frozenset(k.upper() for k in KNOWN_INSTRUCTIONS)
_STAGE_NAME_RE = lazy_re(r"^[A-Za-z][A-Za-z0-9_.-]{0,127}$")  # BuildKit's stage name grammar (any case)


# --------------------------------------------------------------------------
# small parsers
# --------------------------------------------------------------------------
def _uid(name: Optional[str]) -> Optional[int]:
    if name is None:
        return None
    if name == "root":
        return 0
    if name.isdigit():
        return int(name)
    return None


# shlex.split (posix, no comments) treats only quotes, the backslash and " \t\r\n" specially; a text without
# the first three and without any other whitespace splits into the same words by str.split()
_SHLEX_SPECIAL_RE = re.compile(r"[\"'\\]|(?![ \t\r\n])\s")


def _shell_split(cmd: str) -> list[str]:
    if _SHLEX_SPECIAL_RE.search(cmd) is None:
        return cmd.split()
    try:
        return shlex.split(cmd, comments=False, posix=True)
    except ValueError:
        return cmd.split()


def _raw_args(instr: dict) -> str:
    """Instruction text after the keyword (and flags), as written."""
    original = instr.get("original") or ""
    parts = original.split(None, 1)
    text = parts[1] if len(parts) > 1 else ""
    if instr.get("cmd", "").upper() == "ONBUILD":
        parts = text.split(None, 1)
        text = parts[1] if len(parts) > 1 else ""
    for flag in instr.get("flags") or []:
        if text.startswith(flag):
            text = text[len(flag):].lstrip()
    return text.strip()


def _process(instr: dict) -> dict[str, Any]:
    value = list(instr.get("value") or [])
    if instr.get("json"):
        return {"form": "exec", "argv": value, "raw": _raw_args(instr), "line": instr["start_line"]}
    cmd = " ".join(value)
    return {"form": "shell", "argv": _shell_split(cmd), "raw": cmd, "line": instr["start_line"]}


def _package_json(path: Optional[str], data: Optional[bytes], error: Optional[dict],
                  redactor: Optional[Redactor] = None) -> dict:
    """The package.json entry; its shown strings are redacted when ``redactor`` is given (else by the caller)."""
    doc: dict[str, Any] = {"path": path, "exists": data is not None or error is not None, "error": error,
                           "name": None, "main": None, "scripts": {}, "engines": {},
                           "dependencies": None, "dev_dependencies": None, "type": None}
    if data is None:
        return doc
    try:
        text = data.decode("utf-8-sig")
        obj = json.loads(text)
    except UnicodeDecodeError as exc:
        doc["error"] = {"code": "decode_error", "message": f"package.json is not valid UTF-8: {exc.reason}"}
        return doc
    except ValueError as exc:
        # the decoder's own words and position only: its message never quotes the file
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        doc["error"] = {"code": "invalid_json", "message": f"package.json is not valid JSON: "
                                                           f"{getattr(exc, 'msg', 'not JSON')}{where}"}
        return doc
    if not isinstance(obj, dict):
        doc["error"] = {"code": "invalid_json", "message": "package.json top level is not an object"}
        return doc

    def _s(v: Any) -> Optional[str]:
        if v is None:
            return None
        return v if isinstance(v, str) else json.dumps(v, sort_keys=True)

    scripts = obj.get("scripts")
    for key in ("name", "main", "type"):
        doc[key] = _s(obj.get(key))
    if isinstance(scripts, dict):
        doc["scripts"] = {str(k): _s(v) or "" for k, v in scripts.items()}
    if redactor is not None and (redactor.secret_values or not _clean("\n".join(_side_texts(None, doc)))):
        _redact_side(None, doc, redactor)
    engines = obj.get("engines")
    if isinstance(engines, dict):
        doc["engines"] = {str(k): _s(v) for k, v in engines.items()}
    deps = obj.get("dependencies")
    doc["dependencies"] = len(deps) if isinstance(deps, dict) else 0
    dev = obj.get("devDependencies")
    doc["dev_dependencies"] = len(dev) if isinstance(dev, dict) else 0
    return doc


def _side_texts(di: Optional[dict], pj: Optional[dict]) -> list[str]:
    """The strings a document shows of its .dockerignore and package.json (what redaction checks)."""
    texts = list(di["patterns"]) if di else []
    if pj:
        texts += [pj[k] or "" for k in ("name", "main", "type")]
        texts += list(pj["scripts"].values())
    return texts


def _redact_side(di: Optional[dict], pj: Optional[dict], redactor: Redactor, values: bool = True) -> None:
    """Redact the shown strings of the .dockerignore and package.json entries in place.

    ``values`` False: the value rules are known to hide nothing in them (checked with the instructions).
    """
    if di and di["patterns"]:
        di["patterns"] = _redact_texts(di["patterns"], redactor, values)  # an ignore line can hold a secret
    if pj:
        for key in ("name", "main", "type"):
            if pj[key]:
                pj[key] = redactor.text(pj[key], "", values)
        scripts = _redact_texts(list(pj["scripts"].values()), redactor, values)
        pj["scripts"] = {k: scripts[i] for i, k in enumerate(pj["scripts"])}


def _redact_texts(texts: list[str], redactor: Redactor, values: bool) -> list[str]:
    """``[redactor.text(t, "", values) for t in texts]``, the texts it leaves unchanged skipped in runs.

    In order, a run of one-line texts is tested in one ``Redactor.clean``: when it holds, ``text`` would
    return each of them unchanged and learn nothing from them (so the next texts see the same secret
    values); otherwise the run is halved down to single texts, each redacted. Runs grow again after
    a clean one. A text with a line break is always redacted on its own (its continuations are joined).
    """
    if redactor.names_re is not SECRET_NAME_RE:  # clean() holds for no text with user supplied names
        return [redactor.text(t, "", values) for t in texts]
    out = list(texts)
    n = len(texts)
    i = 0
    run = 8
    while i < n:
        k = i
        while k < i + run and k < n and "\n" not in texts[k]:
            k += 1
        if k == i:  # a text with a line break
            out[i] = redactor.text(texts[i], "", values)
            i += 1
            continue
        if redactor.clean(texts[i:k], values):
            i = k
            run *= 2
        elif k - i == 1:
            out[i] = redactor.text(texts[i], "", values)
            i += 1
        else:
            run = max(1, (k - i) // 2)
    return out


def _dockerignore(path: Optional[str], data: Optional[bytes], error: Optional[dict],
                  redactor: Optional[Redactor] = None) -> dict:
    doc: dict[str, Any] = {"path": path, "exists": data is not None or error is not None,
                           "patterns": [], "error": error}
    if data is None:
        return doc
    try:
        doc["patterns"] = parse_dockerignore(data)
        if redactor is not None and (redactor.secret_values or not _clean("\n".join(doc["patterns"]))):
            _redact_side(doc, None, redactor)
    except UnicodeDecodeError as exc:
        doc["error"] = {"code": "decode_error", "message": f".dockerignore is not valid UTF-8: {exc.reason}"}
    return doc


def _pragmas(comments: list[dict], instrs: list[dict], redactor: Redactor, problems: list[dict]) -> list[dict]:
    out: list[dict] = []
    if not comments:
        return out
    starts = [ins["start_line"] for ins in instrs]
    k = 0
    for c in comments:
        text = (c.get("text") or "").lstrip().lstrip("#").strip()
        low = text.lower()
        line = c.get("line")
        if low.startswith("refarch:"):
            body = text[len("refarch:"):]
            kind, dummy, rest = body.partition(" ")
            kind = kind.lower()
            if kind not in ("ignore", "ignore-file"):
                problems.append({"line": line, "code": "invalid_pragma",
                                 "message": f"unknown refarch pragma {shown_word(kind)} "
                                            "(expected ignore or ignore-file)"})
                continue
            rules_part, sep, reason = rest.partition("reason=")
            reason_s = reason.strip().strip("\"'") if sep else None
            rules = [r.upper() for r in _RULE_ID_RE.findall(rules_part)]
            file_wide = kind == "ignore-file"
            source = "refarch"
        elif low.startswith("hadolint"):
            body = low[len("hadolint"):].strip()
            file_wide = body.startswith("global")
            if file_wide:
                body = body[len("global"):].strip()
            if not body.startswith("ignore="):
                continue
            rules = [r.strip().upper() for r in text.split("=", 1)[1].split(",") if r.strip()]
            reason_s = None
            source = "hadolint"
        else:
            continue
        if not rules:
            problems.append({"line": line, "code": "invalid_pragma", "message": "pragma names no rule ids"})
            continue
        applies: Optional[int] = None
        if not file_wide:
            while k < len(starts) and starts[k] <= (line or 0):
                k += 1
            if k >= len(starts):
                problems.append({"line": line, "code": "dangling_pragma",
                                 "message": f"{source} pragma is not followed by an instruction; ignored"})
                continue
            applies = starts[k]
        out.append({"line": line, "source": source, "rules": rules,
                    "reason": redactor.text(reason_s) if reason_s else None,
                    "applies_to_line": applies, "scope": "file" if file_wide else "line"})
    return out


# --------------------------------------------------------------------------
# stages
# --------------------------------------------------------------------------
class _Stage:
    """What the facts record of one stage besides its place in the chain and its build state
    (``stage``, a ``_stages.Stage``): rendered ENV/ARG entries, ports, HEALTHCHECK, copies, runs, lines."""

    __slots__ = ("args", "copies", "count", "env_eff", "env_own", "exposed", "healthcheck", "lines", "parent",
                 "runs", "stage", "user")

    def __init__(self, stage: Stage, parent: Optional[_Stage]) -> None:
        self.stage = stage
        self.parent = parent
        self.env_eff: dict[str, dict] = dict(parent.env_eff) if parent else {}
        self.env_own: dict[str, dict] = {}
        self.args: dict[str, dict] = {}
        self.user: Optional[dict] = None  # the USER of this stage itself
        self.healthcheck: Optional[dict] = parent.healthcheck if parent else None
        self.exposed: list[dict] = list(parent.exposed) if parent else []
        self.copies: list[dict] = []
        self.runs: list[dict] = []
        self.lines: dict[str, list[int]] = {}  # keyword -> lines; filled in for the final stage only
        self.count = 0


def _user_entry(raw: str, resolved: str, line: int) -> dict:
    name, sep, group = resolved.partition(":")
    return {"raw": raw, "name": name or None, "group": group if sep and group else None, "line": line}


def _ports(raw: str, env: dict[str, Optional[str]], escape: str, line: int, problems: list[dict]) -> list[dict]:
    text, unresolved = expand(raw, env, escape)
    out = []
    for tok in text.split() or [text]:
        m = _PORT_RE.match(tok)
        if unresolved or not m:
            if not unresolved:
                problems.append({"line": line, "code": "invalid_port",
                                 "message": f"EXPOSE {raw!r} is not a port, port range or port/protocol"})
            proto = tok.rpartition("/")[2].lower() if "/" in tok else "tcp"
            out.append({"port": None, "end_port": None, "protocol": proto, "raw": raw, "line": line,
                        "resolved": False})
            continue
        port = int(m.group(1))
        end = int(m.group(2)) if m.group(2) else port
        if not 0 < port <= end <= 65535:
            problems.append({"line": line, "code": "invalid_port",
                             "message": f"EXPOSE {raw!r} is outside 1-65535 or an empty range"})
        out.append({"port": port, "end_port": end, "protocol": (m.group(3) or "tcp").lower(), "raw": raw,
                    "line": line, "resolved": True})
    return out


def _run_entry(ins: dict) -> dict:
    value = list(ins.get("value") or [])
    if ins.get("json"):
        return {"line": ins["start_line"], "command": " ".join(value), "form": "exec", "argv": value,
                "heredocs": ins.get("heredocs") or [], "flags": ins.get("flags") or []}
    return {"line": ins["start_line"], "command": " ".join(value), "form": "shell", "argv": None,
            "heredocs": ins.get("heredocs") or [], "flags": ins.get("flags") or []}


def _copy_entry(cmd: str, ins: dict, variables: dict[str, Optional[str]], escape: str) -> dict:
    flags = _flag_map(ins.get("flags") or [])
    value = ins.get("value") or []
    words = list(value) if ins.get("json") else [expand(w, variables, escape)[0] for w in value]
    sources = words[:-1] if len(words) > 1 else []
    dest = words[-1] if words else None
    link = "link" in flags and (flags["link"] in (None, "", "true", "1"))
    return {"cmd": cmd, "line": ins["start_line"], "sources": sources, "dest": dest,
            "from": flags.get("from"), "chown": flags.get("chown"), "chmod": flags.get("chmod"), "link": link}


def _env_entry(value: Optional[str], line: int, name: str, names_re: Pattern[str]) -> dict:
    redacted = is_secret_name(name, names_re) or (value is not None and REDACTED in value)
    if redacted and value is not None and REDACTED not in value and not _is_reference(value):
        value = REDACTED
    return {"value": value, "line": line, "redacted": redacted}


def _effective_user(stage: Stage) -> dict:
    state = stage.state
    if state.user is None:
        return {"raw": None, "name": None, "group": None, "line": None, "source": "base", "uid": None}
    u = _user_entry(state.user["value"][0], state.user_name or "", state.user["start_line"])
    return {"raw": u["raw"], "name": u["name"], "group": u["group"], "line": u["line"],
            "source": "instruction" if state.user_stage == stage.index else "stage", "uid": _uid(u["name"])}


def _final_process(ep: Optional[dict], cmd: Optional[dict]) -> Optional[dict]:
    if ep is None and cmd is None:
        return None
    if ep is not None and ep["form"] == "shell":
        return {"argv": [*ep["_shell"], ep["raw"]], "form": "shell", "shell_command": ep["raw"],
                "line": ep["line"]}
    if ep is not None:
        argv = list(ep["argv"])
        line = ep["line"]
        if cmd is not None:
            argv += cmd["argv"] if cmd["form"] == "exec" else [*cmd["_shell"], cmd["raw"]]
            line = max(line, cmd["line"])
        return {"argv": argv, "form": "exec", "shell_command": None, "line": line}
    if cmd["form"] == "shell":
        return {"argv": [*cmd["_shell"], cmd["raw"]], "form": "shell", "shell_command": cmd["raw"],
                "line": cmd["line"]}
    return {"argv": list(cmd["argv"]), "form": "exec", "shell_command": None, "line": cmd["line"]}


def _process_of(ins: Optional[dict], shell: Optional[list]) -> Optional[dict]:
    """CMD or ENTRYPOINT as the facts show it, with the SHELL it was written under (``_shell``)."""
    if ins is None:
        return None
    proc = _process(ins)
    proc["_shell"] = list(shell or DEFAULT_SHELL)
    return proc


def _public_process(proc: Optional[dict]) -> Optional[dict]:
    if proc is None:
        return None
    return {"form": proc["form"], "argv": proc["argv"], "raw": proc["raw"], "line": proc["line"]}


# --------------------------------------------------------------------------
# documents
# --------------------------------------------------------------------------
def _empty_document(path: str, placeholders: bool = True) -> dict[str, Any]:
    """The document with every key in its place; ``placeholders`` False leaves None where ``dockerfile_facts``
    puts its own values (directives, side files, node scope) instead of building values it replaces."""
    context = posixpath.dirname(path) or "."
    if not placeholders:
        return {"schema_version": SCHEMA_VERSION, "kind": "dockerfile", "path": path, "name": posixpath.basename(path),
                "sha256": None, "size": None, "mtime": None, "context": context, "error": None, "directives": None,
                "instructions": [], "global_args": {}, "stages": [], "final_stage": None, "dockerignore": None,
                "package_json": None, "pragmas": [], "problems": [], "analysis": None, "target": None,
                "node_scope": None}
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "dockerfile",
        "path": path,
        "name": posixpath.basename(path),
        "sha256": None,
        "size": None,
        "mtime": None,
        "context": context,
        "error": None,
        "directives": {"syntax": None, "escape": "\\", "check": None},
        "instructions": [],
        "global_args": {},
        "stages": [],
        "final_stage": None,
        "dockerignore": {"path": None, "exists": False, "patterns": [], "error": None},
        "package_json": {"path": None, "exists": False, "error": None, "name": None, "main": None, "scripts": {},
                         "engines": {}, "dependencies": None, "dev_dependencies": None, "type": None},
        "pragmas": [],
        "problems": [],
        "analysis": None,
        "target": None,
        "node_scope": unknown_node_scope(_NOT_SCOPED),
    }


_NOT_SCOPED = "the Dockerfile could not be read or has no FROM"


def error_document(path: str, code: str, message: str, *, size: Optional[int] = None,
                   mtime: Optional[float] = None, sha256: Optional[str] = None) -> dict[str, Any]:
    """A ``kind: dockerfile`` document for a file that could not be read or parsed at all."""
    doc = _empty_document(path)
    doc["size"] = size
    doc["mtime"] = mtime
    doc["sha256"] = sha256
    doc["error"] = {"code": code, "message": message}
    doc["problems"] = [{"line": None, "code": code, "message": message}]
    return doc


def dockerfile_facts(
    path: str,
    data: bytes,
    dockerignore: Optional[bytes] = None,
    package_json: Optional[bytes] = None,
    *,
    mtime: Optional[float] = None,
    dockerignore_path: Optional[str] = None,
    package_json_path: Optional[str] = None,
    dockerignore_error: Optional[dict] = None,
    package_json_error: Optional[dict] = None,
    secret_names: Optional[Pattern[str]] = None,
    include_instructions: bool = True,
    parsed: Optional[dict] = None,
    target: Optional[str] = None,
    build_args: Optional[dict[str, Optional[str]]] = None,
) -> dict[str, Any]:
    """Build the ``kind: dockerfile`` facts document for one Dockerfile.

    :param path: absolute path of the Dockerfile on the host.
    :param data: its raw bytes (hashed as read; the remediation guard).
    :param dockerignore: bytes of the ``.dockerignore`` that applies, or None if absent.
    :param package_json: bytes of the context's ``package.json``, or None if absent.
    :param dockerignore_path: path reported for the ``.dockerignore`` (default: beside the context).
    :param dockerignore_error: ``{"code","message"}`` when it exists but could not be read.
    :param secret_names: compiled secret-name regex (``_redact.compile_secret_names``).
    :param include_instructions: False leaves ``instructions`` empty (large estates).
    :param parsed: a parser result to use instead of parsing ``data`` (tests).
    :param target: the stage built (``--target``; a stage name): it plays the role of the final stage.
        None builds the last stage. A name that is no stage is an ``unknown_target`` error (NRA000).
    :param build_args: ``--build-arg`` values (None: set, value unknown); they override ARG defaults.
    """
    names_re = secret_names or SECRET_NAME_RE
    doc = _empty_document(path, placeholders=False)
    context = doc["context"]
    doc["sha256"] = hashlib.sha256(data).hexdigest()
    doc["size"] = len(data)
    doc["mtime"] = mtime
    own = parsed is None  # the instructions are this call's own: redaction need not copy them
    if own:
        parsed = parse_bytes(data)
    redactor = Redactor(names_re)
    problems: list[dict] = [dict(p) for p in parsed.get("problems") or []]
    parsed_instrs = parsed.get("instructions") or []
    if None in [ins.get("cmd") for ins in parsed_instrs]:
        # An escape character continuing a line into nothing but blank lines and comments up to the
        # end of the file: BuildKit's parser returns it as an instruction with no command.
        for ins in parsed_instrs:
            if ins.get("cmd") is None:
                problems.append({"line": ins.get("start_line"), "code": "empty_continuation",
                                 "message": f"line {ins.get('start_line')}: a line continuation at the end of "
                                            "the file continues into nothing; it is not an instruction"})
        parsed_instrs = [ins for ins in parsed_instrs if ins.get("cmd") is not None]
    # the .dockerignore and package.json strings are checked with the instructions, in one test
    di_path = dockerignore_path or posixpath.join(context, ".dockerignore")
    doc["dockerignore"] = _dockerignore(di_path, dockerignore, dockerignore_error)
    pj_path = package_json_path or posixpath.join(context, "package.json")
    doc["package_json"] = _package_json(pj_path, package_json, package_json_error)
    instrs = redactor.instructions(parsed_instrs, _side_texts(doc["dockerignore"], doc["package_json"]), copy=not own)
    if not redactor.extra_clean or redactor.secret_values:
        side = _side_texts(doc["dockerignore"], doc["package_json"])
        if side and not redactor.clean(side, redactor.values_dirty):
            _redact_side(doc["dockerignore"], doc["package_json"], redactor, redactor.values_dirty)
    escape = parsed.get("escape") or "\\"
    directives = parsed.get("directives") or {}
    doc["directives"] = {"syntax": redactor.text(directives.get("syntax") or "") or directives.get("syntax"),
                         "escape": directives.get("escape") or escape,
                         "check": redactor.text(directives.get("check") or "") or directives.get("check")}
    for p in problems:
        if p.get("code") in _FATAL_CODES and doc["error"] is None:
            doc["error"] = {"code": p["code"], "message": redactor.text(p.get("message") or p["code"])}

    global_args: dict[str, Optional[str]] = {}
    stages: list[_Stage] = []
    st: Optional[_Stage] = None
    out_instrs: list[dict] = []
    node_envs: dict[int, Optional[str]] = {}  # RUN line -> NODE_ENV in force (ENV/ARG of the stage)

    def env_value(name: str, val: Optional[str], line: int) -> Optional[str]:
        entry = _env_entry(val, line, name, names_re)  # ENV values are kept redacted in the variables too
        st.env_own[name] = entry
        st.env_eff[name] = entry
        return entry["value"]

    chain = Chain(escape, problems, env_value=env_value, build_args=build_args)
    for ins in instrs:
        cmd = ins["cmd"].upper()
        if cmd not in _KNOWN_UPPER:
            cmd = _mask_unknown(ins)  # not a Dockerfile instruction: its content stays on the host
        ins["cmd"] = cmd
        if ins["sub_cmd"]:
            ins["sub_cmd"] = ins["sub_cmd"].upper()
        line = ins["start_line"]
        value = ins["value"]
        if cmd == "FROM":
            chain.add(ins)
            stage = chain.current
            st = _Stage(stage, stages[stage.from_stage] if stage.from_stage is not None else None)
            stages.append(st)
            ins["stage"] = stage.index
            out_instrs.append(ins)
            continue
        ins["stage"] = st.stage.index if st is not None else None
        out_instrs.append(ins)
        if st is None:
            for name, val in chain.add(ins):
                global_args[name] = _env_entry(val, line, name, names_re)["value"] if val is not None else None
            continue
        st.count += 1
        key = _LINE_KEY_OF.get(cmd)
        if key is not None:
            lines_for = st.lines.get(key)
            if lines_for is None:
                st.lines[key] = [line]
            else:
                lines_for.append(line)
        bound = chain.add(ins)
        state = st.stage.state
        if cmd == "ARG":
            for name, val in bound:
                st.args[name] = _env_entry(val, line, name, names_re)
        elif cmd == "USER" and value:
            st.user = _user_entry(value[0], state.user_name or "", line)
        elif cmd == "EXPOSE":
            for word in value:
                st.exposed.extend(_ports(word, state.vars, escape, line, problems))
        elif cmd == "HEALTHCHECK" and value:
            kind = value[0].upper()
            if kind == "NONE":
                hc = {"line": line, "none": True, "test": ["NONE"], "flags": list(ins.get("flags") or [])}
            elif ins.get("json"):
                hc = {"line": line, "none": False, "test": ["CMD", *value[1:]],
                      "flags": list(ins.get("flags") or [])}
            else:
                hc = {"line": line, "none": False, "test": ["CMD-SHELL", " ".join(value[1:])],
                      "flags": list(ins.get("flags") or [])}
            st.healthcheck = hc
        elif cmd in ("COPY", "ADD"):
            st.copies.append(_copy_entry(cmd, ins, state.vars, escape))
        elif cmd == "RUN":
            st.runs.append(_run_entry(ins))
            node_envs[line] = state.vars.get("NODE_ENV")

    doc["global_args"] = global_args
    doc["stages"] = [_stage_doc(s) for s in stages]
    final_st = _target_stage(stages, chain, target, doc, problems)
    # the final (target) stage and the ones it is built FROM
    final_chain = chain.chain(final_st.stage) if final_st is not None else []
    doc["final_stage"] = _final_doc(final_st, final_chain[0]) if final_st is not None else None
    doc["pragmas"] = _pragmas(parsed.get("comments") or [], out_instrs, redactor, problems)
    for p in problems:
        if p.get("message"):
            p["message"] = redactor.text(p["message"])
        p.setdefault("line", None)
    doc["problems"] = problems
    doc["analysis"] = analysis(doc, out_instrs, {s.index for s in final_chain}, node_envs)
    if doc["analysis"] is not None:
        doc["node_scope"] = dockerfile_node_scope(doc, out_instrs)
    else:
        doc["node_scope"] = unknown_node_scope(_NOT_SCOPED)
    doc["instructions"] = out_instrs if include_instructions else []
    return doc


def _target_stage(stages: list[_Stage], chain: Chain, target: Optional[str], doc: dict,
                  problems: list[dict]) -> Optional[_Stage]:
    """The stage the image is built from: the ``target`` stage when one is named, else the last one."""
    doc["target"] = target
    if target is None or not stages:
        return stages[-1] if stages else None
    index = chain.by_name.get(target.lower())
    if index is None:
        shown = repr(target) if _STAGE_NAME_RE.match(target) else f"(a {len(target)}-character name, not shown)"
        message = f"the build target {shown} is not a stage of this Dockerfile"
        problems.append({"line": None, "code": "unknown_target", "message": message})
        if doc["error"] is None:
            doc["error"] = {"code": "unknown_target", "message": message}
        return None
    return stages[index]


def _mask_unknown(ins: dict) -> str:
    """Keep only the line span of a line that is not a Dockerfile instruction, and its first word when
    that is shaped like a keyword (``keyword_shaped``): the line may be anything, a key file's for one.
    Returns the command shown (the word in upper case, or ``?``)."""
    word = ins["cmd"]
    shown = word.upper() if keyword_shaped(word) else "?"
    ins.update(original=shown, sub_cmd=None, json=False, flags=[], value=[], heredocs=[])
    return shown


def _stage_doc(st: _Stage) -> dict:
    stage = st.stage
    return {"index": stage.index, "name": stage.key, "line": stage.line, "platform": stage.platform,
            "base": stage.base, "from_stage": stage.from_stage, "user": st.user, "workdir": stage.state.workdir,
            "env": st.env_own, "args": st.args, "instruction_count": st.count}


def _final_doc(st: _Stage, root: Stage) -> dict:
    stage = st.stage
    state = stage.state
    # every key in _LINE_KEYS order (a new empty list each), then the stage's own lines (its keys are among them)
    lines: dict[str, Any] = {"from": stage.line, "user": [], "expose": [], "cmd": [], "entrypoint": [],
                             "healthcheck": [], "env": [], "arg": [], "workdir": [], "copy": [], "add": [], "run": [],
                             "shell": [], "label": []}
    lines.update(st.lines)
    entrypoint = _process_of(state.entrypoint, state.entrypoint_shell)
    cmd = _process_of(state.cmd, state.cmd_shell)
    return {
        "index": stage.index,
        "name": stage.key,
        "base": stage.base,
        "root_base": root.base,
        "user": _effective_user(stage),
        "exposed_ports": st.exposed,
        "env": st.env_eff,
        "args": st.args,
        "workdir": state.workdir,
        "shell": state.shell,
        "entrypoint": _public_process(entrypoint),
        "cmd": _public_process(cmd),
        "process": _final_process(entrypoint, cmd),
        "healthcheck": st.healthcheck,
        "copies": st.copies,
        "runs": st.runs,
        "instruction_lines": lines,
    }


# --------------------------------------------------------------------------
# analysis: policy-neutral observations the rules would otherwise derive with string work
# --------------------------------------------------------------------------
_CONTEXT_SOURCES = frozenset({".", "./", "*", "./*", "./.", "/"})


def _context_copy(ins: dict) -> bool:
    """COPY/ADD of the whole build context (``COPY . .``), not from another stage."""
    value = ins.get("value") or []
    if ins["cmd"] not in ("COPY", "ADD") or len(value) < 2:
        return False
    flags = ins.get("flags")
    if flags and any(str(f).startswith("--from") for f in flags):
        return False
    if len(value) == 2:
        return value[0] in _CONTEXT_SOURCES
    return any(src in _CONTEXT_SOURCES for src in value[:-1])


def _unquote(s: str) -> str:
    for q in ('"', "'"):
        if s.startswith(q):
            s = s[1:]
            return s[:-1] if s.endswith(q) else s
    return s


def _cached_before(stages: list[dict], runs: list[dict], stage: int, line: int) -> list[int]:
    """Lines of the RUNs that prepare the project's dependencies from the manifests alone before the
    context copy at ``line`` of ``stage`` (earlier in that stage, or in a stage it is built FROM,
    transitively): ``pnpm fetch``, or an install whose manifests are bind-mounted."""
    parent = {s["index"]: s.get("from_stage") for s in stages}
    ancestors: set[int] = set()
    p = parent.get(stage)
    while p is not None and p not in ancestors:
        ancestors.add(p)
        p = parent.get(p)
    return [r["line"] for r in runs
            if (r["fetches_dependencies"] or (r["installs_dependencies"] and r["manifest_mounts"]))
            and (r["stage"] in ancestors or (r["stage"] == stage and r["line"] < line))]


_BASE_ANALYSES: dict = {}  # base_analysis without its line, by (registry, repository, tag): few base images


def _base_analysis(ref: dict, line: Optional[int]) -> dict[str, Any]:
    """``base_analysis(ref, line)`` (it reads the reference's registry, repository and tag only), remembered."""
    key = (ref.get("registry"), ref.get("repository"), ref.get("tag"))
    hit = _BASE_ANALYSES.get(key)
    if hit is None:
        hit = base_analysis(ref, None)
        if sum(len(k) for k in key if isinstance(k, str)) <= 1024:
            if len(_BASE_ANALYSES) >= 512:
                _BASE_ANALYSES.clear()
            _BASE_ANALYSES[key] = hit
    out = dict(hit)
    out["line"] = line
    return out


def analysis(doc: dict[str, Any], instructions: list[dict], chain: set[int],
             node_envs: Optional[dict[int, Optional[str]]] = None) -> Optional[dict[str, Any]]:
    """Policy-neutral observations over a Dockerfile document (``analysis`` key; None without a FROM).

    Pure. ``instructions`` are the document's (redacted) instructions, passed separately so the
    analysis is complete even when the document itself leaves them out. ``chain``: the indexes of the
    final stage and of every stage it is built FROM, transitively (``_stages.Chain.chain``).
    ``node_envs``: RUN start line -> the NODE_ENV in force when it runs (None: unset or unknown).
    A RUN's ``build_steps`` include the package.json scripts it runs that build (``_shellcmd.script_build_steps``,
    with the document's ``package_json`` scripts).
    """
    final = doc.get("final_stage")
    if not final:
        return None
    stages = doc.get("stages") or []
    root_line = next((s["line"] for s in stages if s["index"] in chain and s.get("from_stage") is None),
                     (final.get("instruction_lines") or {}).get("from"))
    runs = []
    labels: list[str] = []
    copy_lines: dict[int, int] = {}
    node_envs = node_envs or {}
    scripts = (doc.get("package_json") or {}).get("scripts")
    for ins in instructions:
        stage = ins.get("stage")
        if stage is None:
            continue
        cmd = ins["cmd"]
        if cmd == "RUN":
            run = run_analysis(ins, stage in chain, node_envs.get(ins["start_line"]))
            # a build step run through a package.json script of another name (npm run compile: tsc)
            extra = script_build_steps(ins, scripts) if scripts else None
            if extra:
                run = dict(run, build_steps=sorted(set(run["build_steps"]) | set(extra)))
            runs.append(run)
        elif cmd == "LABEL" and stage in chain:
            for raw_key in (ins.get("value") or [])[0::2]:
                key = _unquote(raw_key) if isinstance(raw_key, str) else raw_key
                if key not in labels:
                    labels.append(key)
        elif cmd in ("COPY", "ADD") and stage not in copy_lines and _context_copy(ins):
            copy_lines[stage] = ins["start_line"]
    return {
        "base": _base_analysis(final["root_base"], root_line),
        "final_chain": sorted(chain),
        "runs": runs,
        "context_copies": [{"stage": s, "line": ln, "cached_dependencies": _cached_before(stages, runs, s, ln)}
                           for s, ln in sorted(copy_lines.items())],
        "labels": labels,
        "process": process_analysis(doc),
        "dockerignore": dockerignore_coverage((doc.get("dockerignore") or {}).get("patterns") or []),
    }
