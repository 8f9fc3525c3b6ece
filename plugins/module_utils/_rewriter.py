# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Dockerfile rewriter: apply reference-architecture fixes by splicing line spans.

Pure functions over text and data (standard library only, no I/O).  The entry point is
:func:`rewrite` (``docs/contracts.md`` section 5)::

    rewrite(text, fixes, context) -> {"text", "dockerignore", "applied", "skipped"}

How it works
------------
The Dockerfile is parsed (``_dockerfile_parser.parse``; contract section 1) to get every
instruction's original line span.  A fix never re-renders the file: it produces *edits*
(replace lines ``a..b`` of the current text, or insert new lines before line ``a``).  Lines
no edit touches are kept byte for byte, comments, trailing whitespace and CRLF included.
New lines use the file's own newline style.  After each fix the text is parsed again, so
the next fix sees the current spans.

Fixes run in the fixed order of :data:`FIX_ORDER` whatever order they are asked in.  Each
fix is idempotent: on its own output it finds nothing to do.  Every fix that changes the
text is reported in ``applied`` with the original-file line numbers it replaced (or next
to which it inserted lines); every fix that was asked for but not applied is reported in
``skipped`` with the reason (``"not_needed": true`` when the file already complies).

Documented choices
------------------
* Non-root user: a numeric ``USER`` (Kubernetes ``runAsNonRoot`` can only verify a numeric
  user): ``1000`` on official node images (the image's ``node`` user), ``1001`` on UBI
  Node.js images (group 0, the OpenShift convention), ``65532`` on distroless, and on
  other Debian/Alpine/RHEL-family bases a user ``10001`` created with the family's tools.
  The ``USER`` goes after the last ``RUN``/``COPY``/``ADD`` of the final stage, so build
  steps keep running as before; an existing ``USER root``/``USER 0`` with no build step
  after it is replaced in place.  ``COPY``/``ADD`` instructions of the final stage that copy
  into the application directory (the ``WORKDIR``) get ``--chown`` so the application can
  still write where it could as root (caches, uploads, logs); copies to system paths stay
  root-owned.
* Heap limit: exec-form ``CMD`` does not expand variables, so the limit is passed through
  ``NODE_OPTIONS``: ``ARG MAX_NODE_MEMORY=<default>`` plus
  ``ENV MAX_NODE_MEMORY=${MAX_NODE_MEMORY} NODE_OPTIONS="--max-old-space-size=${MAX_NODE_MEMORY}"``.
  The value is set at build time (``--build-arg MAX_NODE_MEMORY=...``) and can be
  overridden at run time by setting ``NODE_OPTIONS``; ``CMD`` stays in exec form.
* Base image: an end-of-life or non-LTS Node.js major moves to the *lowest* supported LTS
  major above it (the smallest jump); ``latest``/untagged/``lts`` moves to the newest LTS
  line; Alpine moves to ``<version>-<codename>-slim`` when the stage's Alpine commands
  (``apk add`` of known packages, busybox ``adduser``/``addgroup``, ``wget``) can be
  translated, otherwise only the version moves and the rest is reported.  A digest is
  dropped when the tag changes.  A ``FROM`` built from ``ARG`` values is fixed by editing
  the ``ARG`` default.  The release table is data (``base_image_table``, the policy's
  ``node_releases``); :data:`DEFAULT_NODE_RELEASES` is only a fallback copy.
* Init process: installed with the family's package manager (apt-get / apk / microdnf /
  dnf, switching to ``USER 0`` for the install when the base runs as another user) right
  after ``FROM``; an exec-form ``ENTRYPOINT`` is prefixed; with no ``CMD``/``ENTRYPOINT`` on an
  official node image its defaults (``docker-entrypoint.sh`` + ``node``) are restated behind
  the init.
* npm start: the script must be ``node [flags] file [args]``; a script that runs a known
  production CLI (:data:`PRODUCTION_CLIS`, e.g. ``next start``) that is a production
  dependency becomes ``node node_modules/.bin/<cli> ...``.  Development tools, shell
  features, environment prefixes and pre/post hooks are skipped with the reason.
* Multi-stage: the original stage becomes the ``build`` stage unchanged; a
  ``production-dependencies`` stage ``FROM build`` prunes development dependencies
  (``npm prune --omit=dev``, ``pnpm prune --prod``, ``yarn install --production`` or
  ``yarn workspaces focus --all --production``); a ``runtime`` stage ``FROM`` the same base
  repeats the system set-up steps (without toolchain packages), copies the application
  directory (the final ``WORKDIR``) from the prune stage and repeats the runtime
  instructions (ENV, ARG, WORKDIR, USER, EXPOSE, HEALTHCHECK, CMD, ...).  Without a
  ``WORKDIR`` and without a build step, the runtime stage copies the sources from the
  context again and only ``node_modules`` from the prune stage.  A ``RUN`` whose effect on
  the runtime cannot be classified makes the fix skip.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from datetime import date

from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_parser import parse as parse_dockerfile
from ansible_collections.refarch.containers.plugins.module_utils._expand import expand
from ansible_collections.refarch.containers.plugins.module_utils._fix_rules import FIX_RULES
from ansible_collections.refarch.containers.plugins.module_utils._image_ref import ImageRef, image_ref_facts
from ansible_collections.refarch.containers.plugins.module_utils._shellcmd import PRODUCTION_RE, TOOLCHAIN_PACKAGES

__all__ = ["DEFAULT_NODE_RELEASES", "FIX_ORDER", "FIX_RULES", "RULE_FIXES", "rewrite"]

# --------------------------------------------------------------------------- constants

#: The order fixes run in (deterministic, whatever order they are asked in).
FIX_ORDER = (
    "replace_base_image",
    "exec_form_cmd",
    "replace_npm_start",
    "reorder_dependency_layers",
    "split_multi_stage",
    "remap_privileged_ports",
    "add_non_root_user",
    "add_init_process",
    "set_heap_limit",
    "write_dockerignore",
)

#: ``FIX_RULES`` (fix id -> the rule ids it remediates, contracts.md section 5) is generated from the rules'
#: METADATA by tools/gen_fix_rules.py.
#: rule id -> fix id (rules whose fix is ``manual`` are absent).
RULE_FIXES = {rule: fix for fix, rules in FIX_RULES.items() for rule in rules}

#: Fallback Node.js release table (major -> LTS start and end of life), mirroring
#: ``policies/refarch/config/data.json`` ``node_releases``.  The controller passes the
#: policy's own table; this one is only used when none is given.
DEFAULT_NODE_RELEASES = {
    "10": {"lts_start": "2018-10-30", "eol": "2021-04-30"},
    "12": {"lts_start": "2019-10-21", "eol": "2022-04-30"},
    "14": {"lts_start": "2020-10-27", "eol": "2023-04-30"},
    "16": {"lts_start": "2021-10-26", "eol": "2023-09-11"},
    "18": {"lts_start": "2022-10-25", "eol": "2025-04-30"},
    "20": {"lts_start": "2023-10-24", "eol": "2026-04-30"},
    "22": {"lts_start": "2024-10-29", "eol": "2027-04-30"},
    "24": {"lts_start": "2025-10-28", "eol": "2028-04-30"},
    "26": {"lts_start": "2026-10-20", "eol": "2029-04-30"},
}

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
_GLOBAL_INSTALL_RE = re.compile(r"\b(?:npm|pnpm)\s+(?:install|i|add)\b[^&;|]*\s(?:-g|--global)\b"
                                r"|\byarn\s+global\s+add\b")
_INIT_NAMES = {"tini", "dumb-init", "tini-static", "catatonit", "docker-init", "s6-svscan"}
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

def _family(ref: dict | None) -> str:
    """Base image family: node-debian, node-alpine, ubi-node, ubi, alpine, debian, distroless, scratch, unknown."""
    if ref is None:
        return "unknown"
    if ref["scratch"]:
        return "scratch"
    repo = ref["repository"].lower()
    tag = (ref["tag"] or "").lower()
    if repo in ("scratch", "library/scratch"):
        return "scratch"
    if "distroless" in repo or ref["registry"] == "cgr.dev":
        return "distroless"
    if repo == "library/node":
        if "windows" in tag or "nanoserver" in tag or "servercore" in tag:
            return "unknown"
        return "node-alpine" if "alpine" in tag else "node-debian"
    if re.search(r"(^|/)ubi\d*(-minimal)?/nodejs-\d+", repo) or (re.search(r"(^|/)nodejs-\d+(-minimal)?$", repo) and (
            "redhat" in ref["registry"] or "ubi" in repo)):
        return "ubi-node-minimal" if "minimal" in repo else "ubi-node"
    if re.search(r"(^|/)ubi\d*(-minimal|-micro)?$", repo):
        if repo.endswith("-micro"):
            return "unknown"
        return "ubi-minimal" if repo.endswith("-minimal") else "ubi"
    if repo in ("library/alpine",) or "alpine" in tag:
        return "alpine"
    if repo in ("library/debian", "library/ubuntu") or re.search(r"(bookworm|bullseye|buster|jammy|noble|focal)", tag):
        return "debian"
    return "unknown"


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
    """A parsed snapshot of the current text: lines, instructions and stages."""

    def __init__(self, text: str, parse):
        self.text = text
        self.lines = _split_lines(text)
        self.nl = _newline_of(self.lines)
        parsed = parse(text)
        self.escape = parsed.get("escape") or "\\"
        self.problems = parsed.get("problems") or []
        self.instructions = [dict(i) for i in parsed.get("instructions") or []]
        self.global_args = {}
        self.stages = []
        current = None
        for ins in self.instructions:
            ins["cmd"] = (ins.get("cmd") or "").upper()
            if ins["cmd"] == "FROM":
                current = self._new_stage(ins)
                self.stages.append(current)
            elif current is None:
                if ins["cmd"] == "ARG":
                    for item in ins.get("value") or []:
                        name, dummy, val = item.partition("=")
                        self.global_args[name] = val if "=" in item else None
            else:
                current["ins"].append(ins)
        lower = sum(1 for i in self.instructions if self.raw_keyword(i).islower())
        self.lower = bool(self.instructions) and lower > len(self.instructions) / 2

    # -- construction
    def _new_stage(self, ins: dict) -> dict:
        value = list(ins.get("value") or [])
        raw = value[0] if value else ""
        name = value[2] if len(value) >= 3 and value[1].lower() == "as" else None
        resolved, unresolved = expand(raw, {k: v for k, v in self.global_args.items() if v is not None})
        ok = not unresolved
        from_stage = None
        for st in self.stages:
            if st["name"] and st["name"].lower() == resolved.lower():
                from_stage = st["index"]
        if from_stage is None and resolved.isdigit() and int(resolved) < len(self.stages):
            from_stage = int(resolved)
        ref = None
        if from_stage is None and ok and resolved:
            ref = image_ref_facts(resolved, resolved, False)
            if None in (ref["registry"], ref["repository"]) and not ref["scratch"]:  # a "$" left: unknown image
                ref = None
        return {"index": len(self.stages), "name": name, "from_ins": ins, "ins": [], "base_raw": raw,
                "base_resolved": resolved if ok else None, "from_stage": from_stage, "ref": ref}

    # -- queries
    def raw_keyword(self, ins: dict) -> str:
        line = self.lines[ins["start_line"] - 1] if ins["start_line"] - 1 < len(self.lines) else ""
        match = re.match(r"\s*(\S+)", line)
        return match.group(1) if match else ins["cmd"]

    def kw(self, word: str) -> str:
        return word.lower() if self.lower else word.upper()

    def span(self, ins: dict) -> list:
        return self.lines[ins["start_line"] - 1:ins["end_line"]]

    def chain(self, stage: dict) -> list:
        """Stages from the external root to ``stage`` (following FROM <stage> links)."""
        out = [stage]
        seen = {stage["index"]}
        while out[0]["from_stage"] is not None and out[0]["from_stage"] not in seen:
            seen.add(out[0]["from_stage"])
            out.insert(0, self.stages[out[0]["from_stage"]])
        return out

    @property
    def final(self) -> dict | None:
        return self.stages[-1] if self.stages else None

    def root_ref(self, stage: dict) -> dict | None:
        return self.chain(stage)[0]["ref"]

    def stage_vars(self, stage: dict, upto_line: int | None = None) -> dict:
        """ARG/ENV values visible in ``stage`` (through its chain) before ``upto_line``."""
        variables = {}
        for st in self.chain(stage):
            for ins in st["ins"]:
                if upto_line is not None and st is stage and ins["start_line"] >= upto_line:
                    break
                if ins["cmd"] in ("ARG", "ENV"):
                    for name, val in _kv_pairs(ins):
                        value = self.global_args.get(name) if val is None and ins["cmd"] == "ARG" else val
                        if value is not None:
                            variables[name] = expand(value, variables)[0]
        return variables

    def effective(self, stage: dict) -> dict:
        """Effective USER, ENTRYPOINT and CMD instructions for ``stage`` (None = base default)."""
        state = {"user": None, "entrypoint": None, "cmd": None, "cmd_stage": None}
        for st in self.chain(stage):
            cmd_set = False
            for ins in st["ins"]:
                if ins["cmd"] == "USER":
                    state["user"] = ins
                elif ins["cmd"] == "CMD":
                    state["cmd"], state["cmd_stage"], cmd_set = ins, st, True
                elif ins["cmd"] == "ENTRYPOINT":
                    state["entrypoint"] = ins
                    if not cmd_set:
                        state["cmd"] = None
        return state

    def workdir(self, stage: dict, upto_line: int | None = None) -> str | None:
        """Effective WORKDIR before ``upto_line`` (UBI Node.js images default to /opt/app-root/src)."""
        wd = "/opt/app-root/src" if _family(self.root_ref(stage)).startswith("ubi-node") else None
        variables = self.stage_vars(stage)
        for st in self.chain(stage):
            for ins in st["ins"]:
                if upto_line is not None and st is stage and ins["start_line"] >= upto_line:
                    break
                if ins["cmd"] == "WORKDIR" and ins.get("value"):
                    val = expand(ins["value"][0], variables)[0]
                    wd = val if val.startswith("/") else (wd or "/").rstrip("/") + "/" + val
        return _norm_path(wd) if wd else None


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

class _Edits:
    """Collect edits on one snapshot: replace lines [start, end] or insert before ``start``."""

    def __init__(self, doc: _Doc):
        self.doc = doc
        self.items = []

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


# --------------------------------------------------------------------------- fix: non-root user

def _fix_add_non_root_user(doc: _Doc, ctx: dict):
    stage = doc.final
    if stage is None:
        return "skip", "no FROM instruction"
    eff = doc.effective(stage)
    family = _family(doc.root_ref(stage))
    user_ins = eff["user"]
    if user_ins is not None:
        raw = " ".join(user_ins.get("value") or [])
        is_root = _user_is_root(raw)
        if is_root is None:
            variables = doc.stage_vars(stage)
            resolved, unresolved = expand(raw, variables)
            ok = not unresolved
            if not ok:
                return "skip", f"the final USER (line {user_ins['start_line']}) uses a variable that cannot be resolved"
            is_root = _user_is_root(resolved)
        if not is_root:
            return None, f"the final stage already runs as a non-root user (line {user_ins['start_line']})"
    elif family.startswith("ubi-node"):
        return None, "the UBI Node.js base image already runs as user 1001"
    elif family == "distroless" and "nonroot" in ((doc.root_ref(stage) or {}).get("tag") or ""):
        return None, "the distroless :nonroot base runs as a non-root user"

    ids = dict(DEFAULT_USER_IDS)
    ids.update(ctx.get("user_ids") or {})
    create = []
    if family in ("node-debian", "node-alpine"):
        uid, gid = ids["node"]["uid"], ids["node"]["gid"]
    elif family.startswith("ubi-node"):
        uid, gid = ids["ubi"]["uid"], ids["ubi"]["gid"]
    elif family == "distroless":
        uid, gid = ids["distroless"]["uid"], ids["distroless"]["gid"]
    elif family in ("debian", "ubi", "alpine"):
        uid, gid = ids["other"]["uid"], ids["other"]["gid"]
        if family == "alpine":
            create = [f"{doc.kw('RUN')} addgroup -S -g {gid} app && adduser -S -D -H -u {uid} -G app app"]
        else:
            create = [f"{doc.kw('RUN')} groupadd --system --gid {gid} app && "
                      f"useradd --system --uid {uid} --gid {gid} --no-create-home app"]
    else:
        return "skip", "cannot tell how to create a user on base image {!r} ({})".format(
            stage["base_resolved"] or stage["base_raw"], family)
    # the base image's own user (node, UBI default, distroless nonroot) keeps its passwd group;
    # a user created here is named with its group explicitly
    user_line = f"{doc.kw('USER')} {uid}:{gid}" if create else f"{doc.kw('USER')} {uid}"

    edits = _Edits(doc)
    build_steps = [i for i in stage["ins"] if i["cmd"] in ("RUN", "COPY", "ADD")]
    last_build = build_steps[-1]["end_line"] if build_steps else stage["from_ins"]["end_line"]
    root_users = [i for i in stage["ins"] if i["cmd"] == "USER" and i is user_ins]
    if root_users and root_users[0]["start_line"] > last_build:
        ins = root_users[0]
        edits.replace(ins["start_line"], ins["end_line"], [edits.line(x) for x in [*create, user_line]])
    else:
        edits.insert_after(last_build, [edits.line(x) for x in [*create, user_line]])
    # --chown on copies into the application directory
    chown = f"--chown={uid}:{gid}"
    for ins in stage["ins"]:
        if ins["cmd"] not in ("COPY", "ADD"):
            continue
        if any(f.lower().startswith("--chown") for f in ins.get("flags") or []):
            continue
        value = ins.get("value") or []
        if len(value) < 2 or ins.get("heredocs"):
            continue
        dest = value[-1]
        wd = doc.workdir(stage, ins["start_line"])
        if dest.startswith("/"):
            if not wd or wd == "/" or not (_norm_path(dest) + "/").startswith(wd.rstrip("/") + "/"):
                continue
        elif not wd or wd == "/":
            continue
        first = doc.lines[ins["start_line"] - 1]
        match = re.match(r"(\s*\S+)", first)
        new_first = first[:match.end()] + " " + chown + first[match.end():]
        edits.replace(ins["start_line"], ins["start_line"], [new_first])
    return edits, None


# --------------------------------------------------------------------------- fix: ports

def _remap_port(port: int, port_map: dict, offset) -> int | None:
    if port in port_map:
        return port_map[port]
    if offset is None:
        return None
    return port + int(offset) if port + int(offset) < 65536 else None


def _fix_remap_privileged_ports(doc: _Doc, ctx: dict):
    stage = doc.final
    if stage is None:
        return "skip", "no FROM instruction"
    port_map = {int(k): int(v) for k, v in (ctx.get("port_map") or DEFAULT_PORT_MAP).items()}
    offset = ctx.get("port_offset", DEFAULT_PORT_OFFSET)
    floor = int(ctx.get("port_floor", 1024))
    edits = _Edits(doc)
    problems = []
    env_changes = {}   # (line) -> list of (name)
    for st in doc.chain(stage):
        variables = doc.stage_vars(st)
        for ins in st["ins"]:
            if ins["cmd"] == "EXPOSE":
                new_span = doc.span(ins)
                changed = False
                for token in ins.get("value") or []:
                    port_s = token.partition("/")[0]
                    if "$" in port_s:
                        resolved, unresolved = expand(port_s, variables)
                        ok = not unresolved
                        if ok and resolved.isdigit() and int(resolved) < floor:
                            names = [m.group(1) or m.group(4) for m in _VAR_RE.finditer(port_s)]
                            env_changes.setdefault(names[0], int(resolved))
                        elif not ok:
                            problems.append(f"EXPOSE {token} (line {ins['start_line']}) uses an unresolved variable")
                        continue
                    if "-" in port_s:
                        lo = port_s.split("-")[0]
                        if lo.isdigit() and int(lo) < floor:
                            problems.append(f"EXPOSE range {token} (line {ins['start_line']}) is not remapped")
                        continue
                    if not port_s.isdigit() or int(port_s) >= floor:
                        continue
                    new = _remap_port(int(port_s), port_map, offset)
                    if new is None:
                        problems.append(f"no mapping for port {port_s} (line {ins['start_line']})")
                        continue
                    pat = re.compile(rf"(?<![\w$./-]){re.escape(port_s)}(?=(/\w+)?(\s|\\|$))")
                    out = []
                    for k, raw in enumerate(new_span):
                        body = _body(raw)
                        if k == 0:
                            m = re.match(r"\s*\S+", body)
                            head, rest = body[:m.end()], body[m.end():]
                        else:
                            head, rest = "", body
                        rest = pat.sub(str(new), rest)
                        out.append(head + rest + _ending(raw))
                    if out != new_span:
                        new_span, changed = out, True
                if changed:
                    edits.replace(ins["start_line"], ins["end_line"], new_span)
    # ENV/ARG PORT values (and variables an EXPOSE refers to)
    for st in doc.chain(stage):
        for ins in st["ins"]:
            if ins["cmd"] not in ("ENV", "ARG"):
                continue
            new_span = doc.span(ins)
            changed = False
            for name, val in _kv_pairs(ins):
                if val is None or not (name in PORT_ENV_NAMES or name in env_changes):
                    continue
                if not val.strip('"\'').isdigit() or int(val.strip('"\'')) >= floor:
                    continue
                old = int(val.strip('"\''))
                new = _remap_port(old, port_map, offset)
                if new is None:
                    problems.append(f"no mapping for {name}={old} (line {ins['start_line']})")
                    continue
                pat_eq = re.compile(r"(\b" + re.escape(name) + r"\s*=\s*[\"']?)" + str(old) + r"(?=[\"']?(\s|\\|$))")
                pat_legacy = re.compile(r"^(\s*\S+\s+" + re.escape(name) + r"\s+[\"']?)" + str(old) + r"(?=[\"']?\s*$)")
                out = []
                for raw in new_span:
                    body = pat_eq.sub(lambda m, n=new: m.group(1) + str(n), _body(raw))
                    body = pat_legacy.sub(lambda m, n=new: m.group(1) + str(n), body)
                    out.append(body + _ending(raw))
                if out != new_span:
                    new_span, changed = out, True
            if changed:
                edits.replace(ins["start_line"], ins["end_line"], new_span)
    if not edits:
        if problems:
            return "skip", "; ".join(problems)
        return None, "no privileged port is exposed"
    return edits, ("; ".join(problems) or None)


# --------------------------------------------------------------------------- fix: npm start

_RUNNERS = {"npm", "yarn", "pnpm"}
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


def _cli_argv(words: list, name: str, script: str, ctx: dict) -> tuple:
    """A script that runs a production CLI from node_modules/.bin -> ``node node_modules/.bin/<cli> ...``."""
    tool = words[0]
    if tool in DEV_TOOLS or (tool in PRODUCTION_CLIS and PRODUCTION_CLIS[tool][1]
                             and words[1:2] != PRODUCTION_CLIS[tool][1][:1]):
        return None, "the {} script {!r} runs a development tool ({})".format(name, script, " ".join(words[:2]))
    if tool not in PRODUCTION_CLIS:
        return None, _TOOL_REASON % (name, script, tool)
    deps = ctx.get("package_dependencies")
    if deps is None:
        return None, f"the {name} script runs {tool} and the production dependencies are unknown"
    package = PRODUCTION_CLIS[tool][0]
    if package not in deps:
        return None, f"the {name} script runs {tool} but {package} is not a production dependency"
    return ["node", "node_modules/.bin/" + tool, *words[1:]], None


def _node_argv_from_script(script: str, name: str, ctx: dict | None = None) -> tuple:
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


def _fix_replace_npm_start(doc: _Doc, ctx: dict):
    stage = doc.final
    if stage is None:
        return "skip", "no FROM instruction"
    eff = doc.effective(stage)
    target = None
    for ins in (eff["entrypoint"], eff["cmd"]):
        if ins is None:
            continue
        argv, form = _process_argv(doc, ins)
        k = 0
        while k < len(argv) and (argv[k].rsplit("/", 1)[-1] in _INIT_NAMES or argv[k] == "--"):
            k += 1
        if k < len(argv) and argv[k].rsplit("/", 1)[-1] in _RUNNERS:
            target = (ins, argv, form, k)
            break
    if target is None:
        for ins in (eff["entrypoint"], eff["cmd"]):
            if ins is not None and re.search(r"(^|[\s/\"'])(npm|yarn|pnpm)\s", " ".join(ins.get("value") or [])):
                return "skip", f"{ins['cmd']} at line {ins['start_line']} runs a package manager inside a shell command"
        return None, "the container is not started through npm, yarn or pnpm"
    ins, argv, form, k = target
    if form == "shell" and _SHELL_META.search(" ".join(ins.get("value") or [])):
        return "skip", f"the {ins['cmd']} at line {ins['start_line']} uses shell features"
    if ins["cmd"] == "ENTRYPOINT" and eff["cmd"] is not None and eff["cmd"] is not ins:
        return "skip", f"ENTRYPOINT at line {ins['start_line']} runs {argv[k]} and CMD adds arguments to it"
    script, reason = _runner_script(argv[k:])
    if script is None:
        return "skip", reason
    name, extra = script
    pkg = ctx.get("package_json") or {}
    if not pkg or not pkg.get("exists", True) or pkg.get("error"):
        return "skip", "package.json is not available, so the start script is unknown"
    scripts = pkg.get("scripts") or {}
    for hook in ("pre" + name, "post" + name):
        if hook in scripts:
            return "skip", f"package.json has a {hook!r} script that {argv[k]} {name} runs and node would not"
    if name in scripts:
        node_argv, reason = _node_argv_from_script(str(scripts[name]), name, ctx)
        if node_argv is None:
            return "skip", reason
    elif name == "start" and pkg.get("main"):
        node_argv = ["node", str(pkg["main"])]
    else:
        return "skip", "package.json has no {!r} script{}".format(name, " and no main" if name == "start" else "")
    new_argv = argv[:k] + node_argv + extra
    edits = _Edits(doc)
    edits.replace(ins["start_line"], ins["end_line"],
                  [edits.line(f"{doc.raw_keyword(ins)} {_dumps_argv(new_argv)}")])
    return edits, None


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


def _fix_exec_form_cmd(doc: _Doc, ctx: dict):
    stage = doc.final
    if stage is None:
        return "skip", "no FROM instruction"
    eff = doc.effective(stage)
    edits = _Edits(doc)
    reasons = []
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
        argv, reason = _exec_argv(command)
        if argv is None:
            reasons.append(f"{ins['cmd']} at line {ins['start_line']}: {reason}")
            continue
        edits.replace(ins["start_line"], ins["end_line"],
                      [edits.line(f"{doc.raw_keyword(ins)} {_dumps_argv(argv)}")])
    if not edits:
        if reasons:
            return "skip", "; ".join(reasons)
        return None, "CMD and ENTRYPOINT are already in exec form"
    return edits, ("; ".join(reasons) or None)


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


def _fix_add_init_process(doc: _Doc, ctx: dict):
    stage = doc.final
    if stage is None:
        return "skip", "no FROM instruction"
    tool = ctx.get("init_tool") or "tini"
    if tool not in ("tini", "dumb-init"):
        return "skip", f"unknown init tool {tool!r}"
    eff = doc.effective(stage)
    entry, cmd = eff["entrypoint"], eff["cmd"]
    for ins in (entry, cmd):
        if ins is not None:
            argv, dummy = _process_argv(doc, ins)
            if argv and argv[0].rsplit("/", 1)[-1] in _INIT_NAMES:
                return None, "{} already runs {} as PID 1".format(ins["cmd"], argv[0])
    family = _family(doc.root_ref(stage))
    restate = None
    if entry is None and cmd is None:
        if family not in ("node-debian", "node-alpine"):
            return "skip", "the Dockerfile sets no CMD or ENTRYPOINT and the base image's defaults are unknown"
        # official node images: ENTRYPOINT ["docker-entrypoint.sh"] CMD ["node"]; keep them behind the init
        restate = NODE_IMAGE_DEFAULTS
    if entry is not None and not entry.get("json"):
        return "skip", f"ENTRYPOINT at line {entry['start_line']} is in shell form"
    if entry is None and cmd is not None and not cmd.get("json"):
        return "skip", f"CMD at line {cmd['start_line']} is in shell form (exec_form_cmd could not convert it)"
    install, path = _init_install(family, tool)
    if install is None:
        return "skip", path
    edits = _Edits(doc)
    pattern = re.compile(rf"\b(apt-get|apk|dnf|microdnf|yum)\b.*\b{re.escape(tool)}\b")
    installed = any(pattern.search(" ".join(i.get("value") or []))
                    for st in doc.chain(stage) for i in st["ins"] if i["cmd"] == "RUN")
    if not installed:
        lines = []
        inherited = None
        for st in doc.chain(stage)[:-1]:
            for i in st["ins"]:
                if i["cmd"] == "USER":
                    inherited = " ".join(i.get("value") or [])
        if inherited is None and family.startswith("ubi-node"):
            inherited = "1001"
        if inherited is not None and _user_is_root(inherited) is not True:
            lines.append("{} 0".format(doc.kw("USER")))
        lines.append("{} {}".format(doc.kw("RUN"), install))
        if inherited is not None and _user_is_root(inherited) is not True:
            lines.append("{} {}".format(doc.kw("USER"), inherited))
        edits.insert_after(stage["from_ins"]["end_line"], [edits.line(x) for x in lines])
    warning = None
    if not installed and family.startswith("ubi"):
        warning = (f"{_WARNING}{tool} is not in the UBI repositories; the install needs EPEL or a RHEL "
                   "subscription in the build (the rebuild verifies it)")
    prefix = [path, "--"]
    if restate is not None:
        last = stage["ins"][-1]["end_line"] if stage["ins"] else stage["from_ins"]["end_line"]
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
            last = stage["ins"][-1]["end_line"] if stage["ins"] else stage["from_ins"]["end_line"]
            edits.insert_after(last, new)
    return edits, warning


# --------------------------------------------------------------------------- fix: heap limit

def _fix_set_heap_limit(doc: _Doc, ctx: dict):
    stage = doc.final
    if stage is None:
        return "skip", "no FROM instruction"
    variables = doc.stage_vars(stage)
    eff = doc.effective(stage)
    if "max-old-space-size" in variables.get("NODE_OPTIONS", ""):
        return None, "NODE_OPTIONS already sets --max-old-space-size"
    for ins in (eff["entrypoint"], eff["cmd"]):
        if ins is not None and any("max-old-space-size" in v for v in ins.get("value") or []):
            return "skip", (f"{ins['cmd']} at line {ins['start_line']} already passes --max-old-space-size; "
                            "make it read an environment variable by hand")
    for st in doc.chain(stage):
        for ins in st["ins"]:
            if ins["cmd"] == "ENV" and any(n == "NODE_OPTIONS" for n, dummy in _kv_pairs(ins)):
                if "max-old-space-size" in " ".join(ins.get("value") or []):
                    return None, "NODE_OPTIONS already sets --max-old-space-size"
    var = ctx.get("heap_variable") or "MAX_NODE_MEMORY"
    default = str(ctx.get("max_node_memory") or DEFAULT_MAX_NODE_MEMORY)
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", var) or not default.isdigit():
        return "skip", "invalid heap_variable or max_node_memory option"
    node_options = f"--max-old-space-size=${{{var}}}"
    if "NODE_OPTIONS" in variables:
        node_options = "${NODE_OPTIONS} " + node_options
    edits = _Edits(doc)
    lines = []
    if var not in variables:
        lines.append("{} {}={}".format(doc.kw("ARG"), var, default))
        lines.append('{env} {var}=${{{var}}} NODE_OPTIONS="{opts}"'.format(
            env=doc.kw("ENV"), var=var, opts=node_options))
    else:
        lines.append('{} NODE_OPTIONS="{}"'.format(doc.kw("ENV"), node_options))
    anchor = None
    for ins in stage["ins"]:
        if ins["cmd"] in ("RUN", "COPY", "ADD", "USER"):
            anchor = ins["end_line"]
    if anchor is None:
        anchor = stage["from_ins"]["end_line"]
    edits.insert_after(anchor, [edits.line(x) for x in lines])
    return edits, None


# --------------------------------------------------------------------------- fix: layering

def _is_context_all(ins: dict) -> bool:
    value = ins.get("value") or []
    if ins["cmd"] not in ("COPY", "ADD") or any(f.startswith("--from") for f in ins.get("flags") or []):
        return False
    return len(value) >= 2 and any(s in (".", "./", "*", "./*") for s in value[:-1])


def _is_manifest_copy(ins: dict) -> bool:
    value = ins.get("value") or []
    if ins["cmd"] not in ("COPY", "ADD") or any(f.startswith("--from") for f in ins.get("flags") or []):
        return False
    return len(value) >= 2 and any(re.match(r"^(\./)?package[^/]*\.json$|^(\./)?package\*", s) for s in value[:-1])


_NPM_INSTALL_SEG = re.compile(r"(^|[\s/])(npm|pnpm)\s+(install|i|ci|add)(\s|$)")
_YARN_INSTALL_SEG = re.compile(r"(^|[\s/])yarn(\s+(install|add))?(\s+-{1,2}[A-Za-z-]+(=\S*)?)*\s*$")
_GLOBAL_FLAG = re.compile(r"(^|\s)(-g|--global|--location[= ]global)(\s|$)")


def _install_tool(command: str) -> str | None:
    """The package manager a RUN uses to install project dependencies (global installs excluded)."""
    for raw_seg in re.split(r"&&|\|\||;|\||\n", command):
        seg = raw_seg.strip()
        if _GLOBAL_FLAG.search(seg):
            continue
        match = _NPM_INSTALL_SEG.search(seg)
        if match:
            return match.group(2)
        if _YARN_INSTALL_SEG.search(seg):
            return "yarn"
    return None


def _split_and(command: str) -> list | None:
    """Split a shell command on top-level ``&&``; None when it has other control operators."""
    if re.search(r"\|\||;|\||`|\$\(", command.replace("&&", "")):
        return None
    return [part.strip() for part in command.split("&&")]


_INSTALL_SEGMENT = re.compile(r"^(npm\s+(ci|install|i)(\s+-[-\w=]+)*|yarn(\s+install)?(\s+-[-\w=]+)*"
                              r"|pnpm\s+(install|i)(\s+-[-\w=]+)*|npm\s+cache\s+clean(\s+-[-\w=]+)*"
                              r"|yarn\s+cache\s+clean|rm\s+-rf\s+\S*(cache|\.npm)\S*)$")


def _fix_reorder_dependency_layers(doc: _Doc, ctx: dict):
    edits = _Edits(doc)
    reasons = []
    pkg = ctx.get("package_json") or {}
    scripts = (pkg.get("scripts") or {}) if pkg else {}
    files = ctx.get("context_files")
    for stage in doc.stages:
        ins_list = stage["ins"]
        ctx_copy = next((i for i in ins_list if _is_context_all(i)), None)
        if ctx_copy is None:
            continue
        c_idx = ins_list.index(ctx_copy)
        install = None
        for i in ins_list[c_idx + 1:]:
            if i["cmd"] == "RUN" and not i.get("json") and _install_tool(" ".join(i.get("value") or [])):
                install = i
                break
        if install is None:
            continue
        r_idx = ins_list.index(install)
        if any(i["cmd"] == "RUN" and _install_tool(" ".join(i.get("value") or [])) for i in ins_list[:c_idx]):
            reasons.append(f"stage at line {stage['from_ins']['start_line']}: the install at line "
                           f"{install['start_line']} repeats the install done before the source copy; "
                           "remove or move it by hand")
            continue
        where = f"stage at line {stage['from_ins']['start_line']}"
        hooks = [h for h in ("preinstall", "install", "postinstall", "prepare") if h in scripts]
        if hooks:
            reasons.append("{}: package.json has {} script(s) that may need the source".format(where, ", ".join(hooks)))
            continue
        if pkg and pkg.get("workspaces"):
            reasons.append(f"{where}: package.json declares workspaces")
            continue
        between = ins_list[c_idx + 1:r_idx]
        bad = [i for i in between if i["cmd"] not in ("COPY", "ADD", "LABEL", "EXPOSE", "WORKDIR")]
        if bad:
            reasons.append(f"{where}: {bad[0]['cmd']} at line {bad[0]['start_line']} lies between the source "
                           "copy and the install")
            continue
        if install.get("heredocs"):
            reasons.append(f"{where}: install RUN at line {install['start_line']} uses a heredoc")
            continue
        wd_copy = doc.workdir(stage, ctx_copy["start_line"]) or "/"
        wd_install = doc.workdir(stage, install["start_line"]) or "/"
        src_dest = (ctx_copy.get("value") or [])[-1]
        if _norm_path(src_dest if src_dest.startswith("/") else wd_copy + "/" + src_dest) != wd_install:
            reasons.append(f"{where}: the install at line {install['start_line']} does not run where the "
                           "source is copied")
            continue
        if wd_copy != wd_install and any(
                not ((i.get("value") or ["/"])[-1]).startswith("/") for i in [ctx_copy, *between]
                if i["cmd"] in ("COPY", "ADD")):
            reasons.append(f"{where}: a relative COPY destination lies between the source copy and the install's "
                           "WORKDIR")
            continue
        command = " ".join(install.get("value") or [])
        parts = _split_and(command)
        if parts is None:
            reasons.append(f"{where}: install RUN at line {install['start_line']} uses shell operators other than &&")
            continue
        k = 0
        while k < len(parts) and _INSTALL_SEGMENT.match(re.sub(r"\s+", " ", parts[k])):
            k += 1
        if k == 0 or any(_install_tool(p) for p in parts[k:]):
            reasons.append(f"{where}: install RUN at line {install['start_line']} mixes the install with "
                           "other commands")
            continue
        tool = _install_tool(command)
        dest = (ctx_copy.get("value") or [])[-1]
        if not dest.endswith("/"):
            dest += "/"
        sources = ["package*.json"]
        lock = {"yarn": "yarn.lock", "pnpm": "pnpm-lock.yaml", "npm": "npm-shrinkwrap.json"}[tool]
        if files is not None:
            ignored = [p for p in _dockerignore_patterns(ctx) if not p.startswith("!")]
            sources += [f for f in MANIFEST_CANDIDATES
                        if f in files and not any(_pattern_covers(p, f) for p in ignored)]
        else:
            sources.append(lock + "*")
        manifest_present = any(_is_manifest_copy(i) for i in ins_list[:c_idx])
        flags = [f for f in ctx_copy.get("flags") or [] if f.startswith(("--chown", "--chmod"))]
        new = []
        if not manifest_present:
            new.append(edits.line(" ".join([doc.raw_keyword(ctx_copy), *flags, *sources, dest])))
        keyword = doc.raw_keyword(install)
        run_flags = " ".join(install.get("flags") or [])
        prefix = keyword + (" " + run_flags if run_flags else "")
        if wd_copy != wd_install:
            new.append(edits.line("{} {}".format(doc.kw("WORKDIR"), wd_install)))
        new.append(edits.line("{} {}".format(prefix, " && ".join(parts[:k]))))
        edits.insert_before(ctx_copy["start_line"], new)
        if k < len(parts):
            edits.replace(install["start_line"], install["end_line"],
                          [edits.line("{} {}".format(prefix, " && ".join(parts[k:])))])
        else:
            edits.replace(install["start_line"], install["end_line"], [])
    if not edits:
        if reasons:
            return "skip", "; ".join(reasons)
        return None, "dependencies are already installed before the source is copied"
    return edits, ("; ".join(reasons) or None)


# --------------------------------------------------------------------------- fix: multi-stage

_BUILD_CMD = re.compile(r"^(npm|yarn|pnpm|npx|node|tsc|bower|gulp|grunt|webpack|vite|nest|next|ng|corepack)\b")
_APPDIR_CMD = re.compile(r"^(chmod|chown|mkdir|rm|cp|mv|ln|touch)\b")
_NOOP_CMD = re.compile(r"^(ls|cat|echo|whoami|pwd|env|printenv|id|which|true"
                       r"|node\s+(-v|--version)|npm\s+(-v|--version))\b")
_OS_PKG_SEGMENT = re.compile(r"^(apt-get|apt|apk|yum|dnf|microdnf|zypper)\b(.*\s)?(install|add)(\s|$)")
_OS_HOUSEKEEPING = re.compile(r"^(apt-get\s+update|apt\s+update|apk\s+update|rm\s+-rf\s+/var/lib/apt/lists/\*?|"
                              r"apt-get\s+clean|yum\s+clean\s+all|dnf\s+clean\s+all|microdnf\s+clean\s+all)$")


def _run_command(ins: dict) -> str:
    """The command of a RUN as one string (heredoc bodies appended)."""
    value = list(ins.get("value") or [])
    text = " ".join(shlex.quote(v) for v in value) if ins.get("json") else " ".join(value)
    for doc in ins.get("heredocs") or []:
        text += "\n" + str(doc.get("content") or "")
    return text


def _classify_run(command: str, appdir: str) -> str:
    """``build`` (its result lives in the app directory), ``noop``, ``system`` or ``unknown``."""
    parts = _split_and(command)
    if parts is None:
        return "unknown"
    kinds = set()
    for raw_part in parts:
        part = re.sub(r"\s+", " ", raw_part.strip())
        if _GLOBAL_INSTALL_RE.search(part):
            kinds.add("system")
        elif _BUILD_CMD.match(part):
            kinds.add("build")
        elif _NOOP_CMD.match(part) and ">" not in part:
            kinds.add("noop")
        elif _APPDIR_CMD.match(part):
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


_SYSTEM_SEGMENT = re.compile(r"^(apt-get|apt|apk|yum|dnf|microdnf|zypper|useradd|groupadd|adduser|addgroup|"
                             r"update-ca-certificates|ln\s+-s\S*\s+/usr/share/zoneinfo)\b")


def _system_segments(command: str, appdir: str) -> list | None:
    """For a RUN mixing build and system segments, the system ones (None when some are neither)."""
    parts = _split_and(command)
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
    parts = _split_and(command)
    if parts is None:
        return False
    for raw_part in parts:
        part = re.sub(r"\s+", " ", raw_part.strip())
        if _SYSTEM_SEGMENT.match(part) or _GLOBAL_INSTALL_RE.search(part) or _OS_HOUSEKEEPING.match(part):
            continue
        if _APPDIR_CMD.match(part) and part.split()[0] in ("mkdir", "chmod", "chown", "touch"):
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
    parts = _split_and(command)
    if parts is None:
        return command, False
    out, changed = [], False
    for part in parts:
        norm = re.sub(r"\s+", " ", part.strip())
        if _OS_PKG_SEGMENT.match(norm):
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
    if all(_OS_HOUSEKEEPING.match(p) for p in out):
        return None, True
    return " && ".join(out), True


def _prune_command(tool: str, ctx: dict, doc: _Doc, stage: dict) -> str:
    ref = stage["ref"] or {}
    version, dummy = _node_tag_parts(ref.get("tag"))
    major = _major_of(version, ctx)
    if tool == "npm":
        return "npm prune --production" if major is not None and major < 16 else "npm prune --omit=dev"
    if tool == "pnpm":
        return "pnpm prune --prod"
    files = ctx.get("context_files") or []
    text = "\n".join(_run_command(i) for i in stage["ins"] if i["cmd"] == "RUN")
    berry = ".yarnrc.yml" in files or re.search(r"yarn@[2-9]|yarn\s+set\s+version\s+(berry|stable|[2-9])", text)
    if berry:
        return "yarn workspaces focus --all --production"
    return "yarn install --production --ignore-scripts --prefer-offline"


def _fix_split_multi_stage(doc: _Doc, ctx: dict):
    if len(doc.stages) != 1:
        final = doc.final
        for st in doc.chain(final):
            for ins in st["ins"]:
                if ins["cmd"] != "RUN":
                    continue
                command = _run_command(ins)
                dev = _install_tool(command) and not PRODUCTION_RE.search(command)
                if dev or _BUILD_STEP_RE.search(command) or _toolchain_in(command):
                    return "skip", (f"the build already has {len(doc.stages)} stages and the runtime stage "
                                    f"still builds (RUN at line {ins['start_line']}); move that step to a build "
                                    "stage by hand")
        return None, f"the build already has {len(doc.stages)} stages"
    stage = doc.stages[0]
    ins_list = stage["ins"]
    build_runs = [i for i in ins_list if i["cmd"] == "RUN" and (
        (_install_tool(_run_command(i)) and not PRODUCTION_RE.search(_run_command(i)))
        or _BUILD_STEP_RE.search(_run_command(i)) or _toolchain_in(_run_command(i)))]
    if not build_runs:
        return None, "the single stage installs no development dependencies, build tools or build steps"
    family = _family(stage["ref"])
    if family not in ("node-debian", "node-alpine", "ubi-node", "ubi-node-minimal"):
        base = stage["base_resolved"] or stage["base_raw"]
        return "skip", f"cannot tell what the runtime needs on base image {base!r}"
    appdir = doc.workdir(stage) or "/"
    has_build = any(_BUILD_STEP_RE.search(_run_command(i)) for i in ins_list if i["cmd"] == "RUN")
    # mode B: no build step and no application directory: the runtime stage copies the sources
    # from the context again and only node_modules from the pruned build.
    mode_b = appdir == "/"
    if mode_b and has_build:
        return "skip", "no WORKDIR and a build step: cannot tell which files the build produces"
    if mode_b and not any(_pattern_covers(p, "node_modules") for p in _dockerignore_patterns(ctx)
                          if not p.startswith("!")) and (
            "write_dockerignore" not in ctx.get("_requested", ()) or _copied_entries(doc, ["node_modules"])):
        # write_dockerignore would add node_modules, unless a COPY takes it from the context by name
        return "skip", "the runtime stage would copy the context again and .dockerignore does not exclude node_modules"
    installs = [i for i in ins_list if i["cmd"] == "RUN" and _install_tool(_run_command(i))]
    tool = _install_tool(_run_command(installs[0])) if installs else None
    eff = doc.effective(stage)
    for ins in (eff["entrypoint"], eff["cmd"]):
        if ins is not None:
            argv, dummy = _process_argv(doc, ins)
            while argv and (argv[0].rsplit("/", 1)[-1] in _INIT_NAMES or argv[0] == "--"):
                argv = argv[1:]
            if argv and (argv[0] == "pnpm" or (argv[0] == "yarn" and family.startswith("ubi"))):
                return "skip", f"the container starts with {argv[0]}, which only the build stage provides"
    runtime = []
    app_copied = False
    chown = None
    for ins in ins_list:
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
            if mode_b:
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
                return "skip", f"cannot tell whether RUN at line {ins['start_line']} (heredoc) is needed at runtime"
            if mode_b and _install_tool(command):
                wd = doc.workdir(stage, ins["start_line"]) or "/"
                modules = _norm_path(wd + "/node_modules")
                runtime.append(" ".join([doc.kw("COPY"), "--from=production-dependencies"] + ([chown] if chown else [])
                                        + [modules, modules]))
            kind = _classify_run(command, appdir)
            if kind in ("build", "noop"):
                if mode_b and kind == "build" and not _install_tool(command) and not all(
                        _APPDIR_CMD.match(p.strip()) for p in _split_and(command) or [command]):
                    return "skip", f"cannot tell where RUN at line {ins['start_line']} writes"
                if mode_b and kind == "build" and not _install_tool(command):
                    runtime.extend(raw)
                continue
            if kind == "unknown":
                system = _system_segments(command, appdir)
                if system is None:
                    return "skip", f"cannot tell whether RUN at line {ins['start_line']} is needed at runtime"
                command = " && ".join(system)
                raw = None
            if app_copied and not _independent_of_app(command, appdir):
                return "skip", f"cannot tell whether RUN at line {ins['start_line']} is needed at runtime"
            new_command, changed = _strip_toolchain(command)
            if not changed and raw is not None:
                runtime.extend(raw)
            elif new_command is not None:
                flags = " ".join(ins.get("flags") or [])
                runtime.append(" ".join(x for x in (doc.raw_keyword(ins), flags, new_command) if x))
        elif cmd == "ONBUILD":
            return "skip", f"ONBUILD at line {ins['start_line']}"
        else:
            runtime.extend(raw)
    if not app_copied:
        return "skip", "cannot tell which COPY brings the application in"
    name = stage["name"] or "build"
    source = name
    from_ins = stage["from_ins"]
    kw_from = doc.raw_keyword(from_ins)
    platform = [f for f in from_ins.get("flags") or [] if f.startswith("--platform")]
    edits = _Edits(doc)
    if not stage["name"]:
        first = doc.lines[from_ins["end_line"] - 1]
        body = _body(first)
        stripped = body.rstrip()
        edits.replace(from_ins["end_line"], from_ins["end_line"],
                      [stripped + " " + doc.kw("AS") + " " + name + body[len(stripped):] + _ending(first)])
    new = [""]
    if tool is not None:
        source = "production-dependencies"
        new += ["{} {} {} {}".format(kw_from, name, doc.kw("AS"), source),
                "{} {}".format(doc.kw("RUN"), _prune_command(tool, ctx, doc, stage)), ""]
    if mode_b and tool is None:
        return "skip", "no WORKDIR and no dependency install: cannot tell what the runtime needs"
    copy_line = " ".join([doc.kw("COPY"), "--from=" + source] + ([chown] if chown else []) + [appdir, appdir])
    runtime = [copy_line if x is None else x for x in runtime]
    new.append(" ".join([kw_from, *platform, stage["base_raw"], doc.kw("AS"), "runtime"]))
    new.extend(runtime)
    last = ins_list[-1]["end_line"] if ins_list else from_ins["end_line"]
    edits.insert_after(last, [edits.line(x) for x in new])
    return edits, None


_BUILD_STEP_RE = re.compile(r"(^|[\s/])((npm|pnpm)\s+run(-script)?\s+build[A-Za-z:_-]*"
                            r"|yarn\s+(run\s+)?build[A-Za-z:_-]*"
                            r"|(npx\s+)?(tsc|webpack|vite\s+build|next\s+build|ng\s+build|nest\s+build))(\s|$)")


def _toolchain_in(command: str) -> bool:
    parts = _split_and(command) or [command]
    return any(_OS_PKG_SEGMENT.match(re.sub(r"\s+", " ", p.strip())) and
               TOOLCHAIN_PACKAGES & set(p.split()) for p in parts)


# --------------------------------------------------------------------------- fix: base image

_NODE_CODENAMES = {"argon": 4, "boron": 6, "carbon": 8, "dubnium": 10, "erbium": 12, "fermium": 14, "gallium": 16,
                   "hydrogen": 18, "iron": 20, "jod": 22, "krypton": 24}
_DEBIAN_VARIANT = re.compile(r"^(slim|bookworm|bullseye|buster|stretch|jessie|trixie|wheezy)(-slim)?$")
#: Alpine package -> Debian package for the translations the base-image fix may do ("" = not needed on Debian).
APK_TO_APT = {"python3": "python3", "make": "make", "g++": "g++", "gcc": "gcc", "git": "git", "bash": "bash",
              "tini": "tini", "dumb-init": "dumb-init", "curl": "curl", "wget": "wget", "openssl": "openssl",
              "ca-certificates": "ca-certificates", "build-base": "build-essential", "libc6-compat": "",
              "tzdata": "tzdata", "openssh-client": "openssh-client", "zip": "zip", "unzip": "unzip",
              "jq": "jq", "python2": "python2", "musl-dev": "libc6-dev", "linux-headers": "linux-libc-dev",
              "libstdc++": "", "libgcc": "", "ffmpeg": "ffmpeg", "imagemagick": "imagemagick",
              "graphicsmagick": "graphicsmagick", "vips-dev": "libvips-dev", "chromium": "chromium"}


def _releases(ctx: dict) -> dict:
    table = ctx.get("base_image_table") or {}
    releases = table.get("node_releases") if isinstance(table, dict) else None
    return releases or DEFAULT_NODE_RELEASES


def _codenames(ctx: dict) -> dict:
    names = dict(_NODE_CODENAMES)
    for major, info in _releases(ctx).items():
        if isinstance(info, dict) and info.get("codename") and str(major).isdigit():
            names[str(info["codename"]).lower()] = int(major)
    return names


def _major_of(version: str | None, ctx: dict) -> int | None:
    if not version:
        return None
    if version[0].isdigit():
        return int(version.split(".")[0])
    return _codenames(ctx).get(version.lower())


def _eval_date(ctx: dict) -> str:
    value = ctx.get("evaluation_date")
    return str(value) if value else date.today().isoformat()


def _lts_majors(ctx: dict) -> list:
    today = _eval_date(ctx)
    out = []
    for major, info in _releases(ctx).items():
        if not str(major).isdigit() or not isinstance(info, dict):
            continue
        lts, eol = info.get("lts_start"), info.get("eol")
        if lts and lts <= today and (not eol or eol > today):
            out.append(int(major))
    return sorted(out)


def _target_major(major: int | None, ctx: dict) -> int | None:
    """The supported LTS major to move to: itself when fine, the lowest LTS above, or the newest."""
    supported = _lts_majors(ctx)
    if not supported:
        return None
    if major is None:
        return supported[-1]
    if major in supported:
        return major
    above = [m for m in supported if m > major]
    return above[0] if above else supported[-1]


def _new_node_tag(tag: str | None, ctx: dict) -> tuple:
    """(new official node tag, None), (None, reason) or (None, None) when the tag is fine."""
    codename = (ctx.get("base_image_table") or {}).get("debian_codename") or DEFAULT_DEBIAN_CODENAME
    version, variant = _node_tag_parts(tag)
    if version is None and variant is not None:
        head, dummy, rest = variant.partition("-")
        if head.lower() in _codenames(ctx):
            version, variant = head.lower(), rest or None
    if variant and not (variant.startswith("alpine") or _DEBIAN_VARIANT.match(variant)):
        return None, f"unrecognised node tag {tag!r}"
    major = _major_of(version, ctx)
    if version and version[0].isalpha() and version not in ("latest", "lts", "current") and major is None:
        return None, f"unrecognised node tag {tag!r}"
    new_major = _target_major(major, ctx)
    if new_major is None:
        return None, f"the Node.js release table has no supported LTS line on {_eval_date(ctx)}"
    new_version = version if (major == new_major and version and version[0].isdigit()) else str(new_major)
    new_variant = variant
    if variant and variant.startswith("alpine"):
        new_variant = codename + "-slim"
    elif variant and new_version != version and variant != "slim":
        new_variant = codename + ("-slim" if variant.endswith("slim") else "")
    new_tag = new_version + ("-" + new_variant if new_variant else "")
    if new_tag == tag:
        return None, None
    return new_tag, None


def _name_as_written(ref: dict) -> str:
    """The image name without tag and digest, spelled as in the Dockerfile."""
    raw = ref.get("raw") or ""
    if raw:
        return ImageRef.parse(raw).name
    registry = "" if ref["registry"] == "docker.io" else ref["registry"] + "/"
    repo = ref["repository"][len("library/"):] if ref["registry"] == "docker.io" else ref["repository"]
    return registry + repo


def _new_base(ref: dict, ctx: dict) -> tuple:
    """(new image reference, None), (None, reason) or (None, None) when the base is fine."""
    family = _family(ref)
    if family in ("node-debian", "node-alpine"):
        tag, reason = _new_node_tag(ref["tag"], ctx)
        if tag is None:
            return None, reason
        return f"{_name_as_written(ref)}:{tag}", None
    if family.startswith("ubi-node"):
        match = re.search(r"nodejs-(\d+)", ref["repository"])
        major = int(match.group(1))
        new_major = _target_major(major, ctx)
        tag = ref["tag"]
        new_tag = tag if tag and tag != "latest" else "1"
        repo = ref["repository"]
        if new_major is not None and new_major != major:
            repo = repo.replace(f"nodejs-{major}", f"nodejs-{new_major}")
            new_tag = "1"
        if repo == ref["repository"] and new_tag == tag:
            return None, None
        name = _name_as_written(ref)
        return "{}{}:{}".format(name[:len(name) - len(ref["repository"])], repo, new_tag), None
    return None, "base image {}/{} is not an official node or UBI Node.js image; choose a replacement by hand".format(
        ref["registry"], ref["repository"])


def _keep_alpine(ref: dict, new: str, ctx: dict) -> str | None:
    """The version-only change for an Alpine node image that cannot move to Debian (None = nothing)."""
    version = _node_tag_parts(ImageRef.parse(new).tag)[0]
    old_version, old_variant = _node_tag_parts(ref["tag"])
    if version is None or old_variant is None:
        return None
    keep = old_variant if version == old_version else "alpine"
    tag = version + "-" + keep
    if tag == ref["tag"]:
        return None
    return ImageRef.parse(new).name + ":" + tag


def _translate_alpine_run(command: str) -> tuple:
    """Translate a RUN command from Alpine to Debian tools: (new command, None) or (None, reason)."""
    parts = _split_and(command)
    if parts is None:
        return None, "it uses shell operators other than &&"
    out, needs = [], []
    for part in parts:
        words = re.sub(r"\s+", " ", part.strip()).split(" ")
        if words[0] == "apk":
            if words[1:] == ["update"]:
                continue
            if "add" not in words:
                return None, "`{}` has no Debian equivalent here".format(" ".join(words))
            opts = [w for w in words[1:] if w.startswith("-")]
            if any(o not in ("--no-cache", "--update", "-U", "--virtual", "-t") for o in opts):
                return None, "apk options {} cannot be translated".format(" ".join(opts))
            pkgs = [w for w in words[words.index("add") + 1:] if not w.startswith("-")]
            if "--virtual" in words or "-t" in words:
                pkgs = pkgs[1:]
            mapped = []
            for pkg in pkgs:
                name = re.split(r"[=<>~]", pkg)[0]
                if name not in APK_TO_APT:
                    return None, f"no known Debian package for Alpine package {pkg!r}"
                if APK_TO_APT[name]:
                    mapped.append(APK_TO_APT[name])
            if mapped:
                out.append("apt-get update && apt-get install -y --no-install-recommends {} && "
                           "rm -rf /var/lib/apt/lists/*".format(" ".join(mapped)))
        elif words[0] in ("adduser", "addgroup"):
            translated = _translate_busybox_user(words)
            if translated is None:
                return None, "`{}` uses options the fix cannot translate".format(" ".join(words))
            out.append(translated)
        elif words[0] == "wget" and "wget" not in needs:
            needs.append("wget")
            out.append(" ".join(words))
        elif re.search(r"\b(apk|wget)\b", part) or (re.search(r"/var/cache/apk", part) and not words[0] == "rm"):
            return None, f"`{part.strip()}` relies on Alpine tools"
        elif re.match(r"^rm -[rf]+ /var/cache/apk", " ".join(words)):
            continue
        else:
            out.append(part.strip())
    if needs:
        first = next(k for k, x in enumerate(out) if x.startswith("wget "))
        out.insert(first, "apt-get update && apt-get install -y --no-install-recommends wget ca-certificates && "
                          "rm -rf /var/lib/apt/lists/*")
    return " && ".join(out), None


_BUSYBOX_USER_OPTS = {"-D": ("--disabled-password", False), "-S": ("--system", False),
                      "-H": ("--no-create-home", False),
                      "-u": ("--uid", True), "-G": ("--ingroup", True), "-h": ("--home", True), "-s": ("--shell", True),
                      "-g": (None, True)}


def _translate_busybox_user(words: list) -> str | None:
    """busybox ``adduser``/``addgroup`` -> Debian's (long options are shared); None when unknown."""
    out = [words[0]]
    k = 1
    system = False
    while k < len(words):
        w = words[k]
        if w.startswith("--"):
            out.append(w)
            system = system or w == "--system"
        elif w.startswith("-") and len(w) > 1:
            for pos, ch in enumerate(w[1:]):
                opt = "-" + ch
                if words[0] == "addgroup" and opt == "-g":
                    long_opt, takes = "--gid", True
                elif opt in _BUSYBOX_USER_OPTS:
                    long_opt, takes = _BUSYBOX_USER_OPTS[opt]
                else:
                    return None
                if takes:
                    if pos != len(w) - 2 or k + 1 >= len(words):
                        return None
                    k += 1
                    if long_opt:
                        out += [long_opt, words[k]]
                    elif words[0] == "adduser":
                        out += ["--gecos", shlex.quote(words[k])]
                else:
                    out.append(long_opt)
                    system = system or long_opt == "--system"
        else:
            out.append(w)
        k += 1
    if words[0] == "adduser" and "--gecos" not in out and not system:
        out[1:1] = ["--gecos", "''"]
    return " ".join(out)


def _alpine_translations(doc: _Doc, stage: dict) -> tuple:
    """Edits moving the stages based on ``stage`` from Alpine to Debian tools: (list, None) or (None, reason)."""
    out = []
    for st in doc.stages:
        if stage["index"] not in [c["index"] for c in doc.chain(st)]:
            continue
        for ins in st["ins"]:
            text = " ".join(ins.get("value") or [])
            if ins["cmd"] == "RUN" and re.search(r"\b(apk|adduser|addgroup|wget)\b", text):
                if ins.get("json") or ins.get("heredocs"):
                    return None, f"RUN at line {ins['start_line']} uses Alpine tools"
                new, reason = _translate_alpine_run(text)
                if new is None:
                    return None, f"RUN at line {ins['start_line']}: {reason}"
                flags = " ".join(ins.get("flags") or [])
                out.append((ins, [" ".join(x for x in (doc.raw_keyword(ins), flags, new) if x)] if new else []))
            elif ins["cmd"] in ("ENTRYPOINT", "CMD") and ins.get("json") and "/sbin/tini" in (ins.get("value") or []):
                argv = ["/usr/bin/tini" if v == "/sbin/tini" else v for v in ins["value"]]
                out.append((ins, [f"{doc.raw_keyword(ins)} {_dumps_argv(argv)}"]))
    return out, None


def _fix_replace_base_image(doc: _Doc, ctx: dict):
    edits = _Edits(doc)
    reasons = []
    arg_edits = {}
    for stage in doc.stages:
        if stage["from_stage"] is not None:
            continue
        raw = stage["base_raw"]
        line_no = stage["from_ins"]["start_line"]
        if stage["base_resolved"] is None:
            reasons.append(f"FROM at line {line_no} uses an unresolved variable")
            continue
        ref = stage["ref"]
        if ref is None or _family(ref) == "scratch":
            continue
        new, reason = _new_base(ref, ctx)
        if new is None:
            if reason:
                reasons.append(f"FROM at line {line_no}: {reason}")
            continue
        translations = []
        if _family(ref) == "node-alpine" and "alpine" not in new:
            translations, reason = _alpine_translations(doc, stage)
            if translations is None:
                reasons.append(f"FROM at line {line_no}: moving from Alpine to Debian needs a manual change ({reason})")
                translations = []
                new = _keep_alpine(ref, new, ctx)
                if new is None:
                    continue
        from_edits = []
        if "$" not in raw:
            from_edits.append((line_no, raw, new))
        else:
            found = list(_VAR_RE.finditer(raw))
            if len(found) != 1 or found[0].group(2):
                reasons.append(f"FROM at line {line_no} combines variables in a way the fix cannot edit")
                continue
            m = found[0]
            name = m.group(1) or m.group(4)
            prefix, suffix = raw[:m.start()], raw[m.end():]
            value = doc.global_args.get(name)
            arg_ins = _global_arg_ins(doc, name)
            if value is None or arg_ins is None:
                reasons.append(f"FROM at line {line_no}: ARG {name} has no default to edit")
                continue
            if new.startswith(prefix) and new.endswith(suffix) and len(new) >= len(prefix) + len(suffix):
                arg_edits[arg_ins["start_line"]] = (arg_ins, name, value, new[len(prefix):len(new) - len(suffix)])
            else:
                nv, nvar = _node_tag_parts(ImageRef.parse(new).tag)
                ov, dummy = _node_tag_parts(ref["tag"])
                resolved = ImageRef.parse(stage["base_resolved"]).tagged
                if ov != value or nv is None or not resolved.endswith(":" + ref["tag"]):
                    reasons.append(f"FROM at line {line_no}: cannot tell which part of {raw!r} ARG {name} holds")
                    continue
                new_raw = resolved[:-len(ref["tag"])] + "${{{}}}{}".format(name, ("-" + nvar) if nvar else "")
                if expand(new_raw, {name: nv})[0] != ImageRef.parse(new).tagged or not prefix or prefix not in new_raw:
                    reasons.append(f"FROM at line {line_no}: cannot rewrite {raw!r}")
                    continue
                if nv != value:
                    arg_edits[arg_ins["start_line"]] = (arg_ins, name, value, nv)
                from_edits.append((line_no, raw, new_raw))
        for number, old, replacement in from_edits:
            line = doc.lines[number - 1]
            idx = line.find(old)
            if idx < 0:
                reasons.append(f"FROM at line {number} spans lines; edit it by hand")
                continue
            edits.replace(number, number, [line[:idx] + replacement + line[idx + len(old):]])
        for ins, new_lines in translations:
            edits.replace(ins["start_line"], ins["end_line"], [edits.line(x) for x in new_lines])
    for arg_ins, name, old, new_value in arg_edits.values():
        span = doc.span(arg_ins)
        pat = re.compile(rf"(\b{re.escape(name)}=[\"']?){re.escape(old)}(?=[\"']?(\s|\\|$))")
        out = [pat.sub(lambda mm, v=new_value: mm.group(1) + v, _body(x), count=1) + _ending(x) for x in span]
        if out == span:
            reasons.append(f"ARG {name} at line {arg_ins['start_line']} could not be edited")
            continue
        edits.replace(arg_ins["start_line"], arg_ins["end_line"], out)
    if not edits:
        if reasons:
            return "skip", "; ".join(reasons)
        return None, "base images already follow the recommendations"
    return edits, ("; ".join(reasons) or None)


def _global_arg_ins(doc: _Doc, name: str) -> dict | None:
    found = None
    for ins in doc.instructions:
        if ins["cmd"] == "FROM":
            break
        if ins["cmd"] == "ARG" and any(n == name for n, dummy in _kv_pairs(ins)):
            found = ins
    return found


# --------------------------------------------------------------------------- fix: .dockerignore

def _pattern_covers(pattern: str, entry: str) -> bool:
    p = pattern.strip()
    if p.startswith("/"):
        p = p[1:]
    p = p.rstrip("/")
    if not p:
        return False
    candidates = [p]
    while candidates[-1].startswith("**/"):
        candidates.append(candidates[-1][3:])
    return any(fnmatch.fnmatchcase(entry, c) for c in candidates) or p in ("**", "*")


def _dockerignore_patterns(ctx: dict) -> list:
    """Patterns of the build context's .dockerignore (from its text, else from the facts)."""
    text = ctx.get("dockerignore_text")
    if text is not None:
        bodies = (_body(x).strip() for x in _split_lines(text))
        return [b for b in bodies if b and not b.startswith("#")]
    facts = ctx.get("dockerignore") or {}
    return list(facts.get("patterns") or [])


_GLOB_CHARS = frozenset("*?[")


def _copied_entries(doc: _Doc, entries: list) -> dict:
    """Entries that a COPY or ADD takes from the build context by name: ``{entry: line}``.

    Excluding such an entry in the .dockerignore would make that instruction fail (or copy
    less), so the fix leaves it alone. Only the first path component of a source counts, the
    way an unanchored .dockerignore pattern matches from the context root; ``.``, ``*`` and
    the like copy the whole context, which is what the exclusion is for.
    """
    found: dict = {}
    for ins in doc.instructions:
        flags = ins.get("flags") or []
        if ins["cmd"] not in ("COPY", "ADD") or any(str(f).lower().startswith("--from") for f in flags):
            continue
        for arg in list(ins.get("value") or [])[:-1]:
            src = str(arg)
            if src.startswith("<<") or "://" in src or src.startswith("git@"):
                continue
            first = src.lstrip("/").removeprefix("./").split("/", 1)[0]
            if not first or first in (".", "..") or first.strip("*.") == "":
                continue
            for entry in entries:
                hit = first == entry or (bool(_GLOB_CHARS & set(first)) and fnmatch.fnmatchcase(entry, first))
                if hit and entry not in found:
                    found[entry] = ins.get("start_line")
    return found


def _fix_write_dockerignore(doc_text: str | None, ctx: dict, doc: _Doc) -> tuple:
    """Return (new text or None, reason, touched line numbers, note on entries left out).

    ``doc`` is the Dockerfile as rewritten so far: entries its COPY/ADD instructions take from
    the context by name are not excluded (see :func:`_copied_entries`).
    """
    text = doc_text
    lines = _split_lines(text or "")
    patterns = []
    for line in lines:
        body = _body(line).strip()
        if body and not body.startswith("#"):
            patterns.append(body)
    required = list(ctx.get("dockerignore_entries") or DOCKERIGNORE_ENTRIES)
    for pat in patterns:
        if pat.startswith("!"):
            inner = pat[1:].strip()
            for entry in required:
                if _pattern_covers(inner, entry) or inner.lstrip("/").startswith(entry + "/"):
                    return None, f"the .dockerignore re-includes {entry} with {pat!r}; not overriding it", [], None
    missing = [e for e in required if not any(_pattern_covers(p, e) for p in patterns if not p.startswith("!"))]
    if not missing:
        return None, None, [], None
    copied = _copied_entries(doc, missing)
    note = None
    if copied:
        note = "; ".join(f"line {line} copies {entry} from the build context, so it is not excluded"
                         for entry, line in copied.items())
        missing = [e for e in missing if e not in copied]
        if not missing:
            return None, note, [], None
    nl = _newline_of(lines) if lines else "\n"
    out = list(lines)
    touched = []
    if out and not _ending(out[-1]):
        out[-1] += nl
        touched.append(len(out))
    out += [e + nl for e in missing]
    return "".join(out), None, touched or ([len(lines)] if lines else []), note


# --------------------------------------------------------------------------- driver

_FIXERS = {
    "add_non_root_user": _fix_add_non_root_user,
    "remap_privileged_ports": _fix_remap_privileged_ports,
    "replace_npm_start": _fix_replace_npm_start,
    "add_init_process": _fix_add_init_process,
    "split_multi_stage": _fix_split_multi_stage,
    "reorder_dependency_layers": _fix_reorder_dependency_layers,
    "replace_base_image": _fix_replace_base_image,
    "set_heap_limit": _fix_set_heap_limit,
    "exec_form_cmd": _fix_exec_form_cmd,
}


def parse_fix_selection(fixes) -> dict:
    """The one reading of a fix selection (``refarch_fixes``, the module's ``fixes``): ``all``, or fix ids and rule
    ids in any case, as a list or a comma-separated string.

    Returns ``{"all": bool, "fixes": set of fix ids, "rules": set of rule ids, "unknown": [entries as given]}``;
    ``manual`` (the fix of rules with no automatic fix) selects nothing and is not unknown.
    """
    if isinstance(fixes, str):
        fixes = fixes.split(",")
    elif not isinstance(fixes, (list, tuple)):
        fixes = [] if fixes is None else [fixes]
    out = {"all": False, "fixes": set(), "rules": set(), "unknown": []}
    for item in fixes:
        key = str(item).strip()
        if not key:
            continue
        if key.lower() == "all":
            out["all"] = True
        elif key.lower() in FIX_RULES:
            out["fixes"].add(key.lower())
        elif key.upper() in RULE_FIXES:
            out["rules"].add(key.upper())
        elif key.lower() != "manual":
            out["unknown"].append(key)
    return out


def unknown_fixes_message(unknown: list, name: str = "fixes") -> str:
    """The message for unknown entries of a fix selection, with the known fix and rule ids."""
    return "{}: unknown fix or rule id(s) {} (known fixes: {}; rules: {}; or all)".format(
        name, ", ".join(unknown), ", ".join(FIX_ORDER), ", ".join(sorted(RULE_FIXES)))


def normalize_fixes(fixes) -> tuple:
    """Map a fix selection (:func:`parse_fix_selection`) to known fix ids in :data:`FIX_ORDER` order.

    Returns (fix ids, unknown entries).
    """
    sel = parse_fix_selection(fixes)
    wanted = set(FIX_ORDER) if sel["all"] else sel["fixes"] | {RULE_FIXES[r] for r in sel["rules"]}
    return [f for f in FIX_ORDER if f in wanted], sel["unknown"]


def _record(applied: list, skipped: list, entry: dict, note: str | None) -> None:
    """Add an applied fix; a note says it was partly applied (also listed under skipped) or warns."""
    if note and note.startswith(_WARNING):
        entry["warning"] = note[len(_WARNING):]
    elif note:
        entry["note"] = note
        skipped.append({"fix": entry["fix"], "reason": "partly applied: " + note, "partial": True})
    applied.append(entry)


def rewrite(text: str, fixes: list, context: dict | None = None, parse=None) -> dict:
    """Apply ``fixes`` to Dockerfile ``text``; pure (no I/O).

    :param text: the Dockerfile as read (newline styles and whitespace are preserved).
    :param fixes: fix ids, rule ids or ``"all"``; they run in :data:`FIX_ORDER` order.
    :param context: ``package_json`` and ``dockerignore`` facts (contract section 2),
        ``dockerignore_text`` (raw text of the .dockerignore, None when absent; when the key is
        missing the .dockerignore is not touched), ``context_files`` (names present in the build
        context among :data:`MANIFEST_CANDIDATES`, None = unknown), ``evaluation_date`` and the
        options ``port_map``, ``port_offset`` (None = leave other privileged ports), ``port_floor``,
        ``base_image_table`` (``{"node_releases": {...}, "debian_codename": "bookworm"}``),
        ``user_ids``, ``init_tool`` (tini | dumb-init), ``max_node_memory``, ``heap_variable``.
    :param parse: parser with the contract-section-1 output; defaults to the collection's parser.
    :returns: ``{"text", "dockerignore", "applied", "skipped"}``; ``applied`` items carry
        ``fix``, ``rule_id``, ``rule_ids`` and ``lines`` (original line numbers replaced or next
        to which lines were inserted), ``skipped`` items ``fix`` and ``reason``.
    """
    context = dict(context or {})
    parse = parse or parse_dockerfile
    order, unknown = normalize_fixes(fixes)
    context["_requested"] = list(order)
    applied, skipped = [], []
    for item in unknown:
        skipped.append({"fix": item, "reason": "unknown fix or rule id"})
    lines = _split_lines(text)
    origin = list(range(1, len(lines) + 1))
    dockerignore = None
    current = text
    for fix in order:
        rules = FIX_RULES[fix]
        if fix == "write_dockerignore" and "dockerignore_text" not in context:
            skipped.append({"fix": fix, "reason": "the .dockerignore was not read (no build context given)"})
            continue
        try:
            doc = _Doc(current, parse)
        except RewriteError:
            raise
        except Exception as exc:  # the parser must not crash; report instead of guessing
            raise RewriteError(f"cannot parse the Dockerfile: {exc}") from exc
        if fix == "write_dockerignore":
            # the Dockerfile as rewritten so far: what its COPYs take by name is not excluded
            new, reason, touched, note = _fix_write_dockerignore(context.get("dockerignore_text"), context, doc)
            if new is None:
                skipped.append({"fix": fix, "reason": reason or "not needed: .dockerignore already excludes "
                                "node_modules, .git and .cache", "not_needed": reason is None})
            else:
                dockerignore = new
                _record(applied, skipped, {"fix": fix, "rule_id": rules[0], "rule_ids": rules, "lines": touched,
                                           "file": ".dockerignore"}, note)
            continue
        if not doc.stages:
            skipped.append({"fix": fix, "reason": "the Dockerfile has no FROM instruction"})
            continue
        result, note = _FIXERS[fix](doc, context)
        if result is None:
            skipped.append({"fix": fix, "reason": "not needed: " + note, "not_needed": True})
            continue
        if result == "skip":
            skipped.append({"fix": fix, "reason": note})
            continue
        new_lines, new_origin, touched = _apply(lines, origin, result)
        new_text = "".join(new_lines)
        if new_text == current:
            skipped.append({"fix": fix, "reason": "not needed: the edit changed nothing", "not_needed": True})
            continue
        _record(applied, skipped, {"fix": fix, "rule_id": rules[0], "rule_ids": rules, "lines": sorted(touched)}, note)
        lines, origin, current = new_lines, new_origin, new_text
    return {"text": current, "dockerignore": dockerignore, "applied": applied, "skipped": skipped}
