# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the non-root fix (``add_non_root_user``, NRA001) checks and adds besides the ``USER`` line.

* :func:`privileged_bind`: the application binds a privileged port itself (a hard-coded ``listen(80)``, or a port
  variable the final stage leaves unset whose default is privileged). A non-root user could not bind it and the
  container would not start, so the fix declines with that reason (the image is still rebuilt for the other rules).
  The application's files are read like the port fix reads them (``app_port.detect``); without them (no build
  context) nothing is known and nothing is declined.
* :func:`owned_dirs`: the directories the runtime user must own so the application can write where it could as
  root: the final ``WORKDIR`` (created ``root:root 0755`` by ``WORKDIR``, whatever ``COPY --chown`` copies into it)
  and the directories the final stage declares with ``VOLUME`` (a volume starts with the image's ownership). System
  directories (``/``, ``/usr``, ``/tmp``, ...) and paths built from variables are left alone, with a note.
* :func:`ownership_runs`: the ``RUN`` lines that give those directories to the user with the base image's own
  ``chown``; a base without a shell (distroless) cannot run them, which the fix reports as partly applied.

Part of the rewriter (``module_utils/_rewriter.py``); pure, standard library only.
"""
from __future__ import annotations

import posixpath
import shlex

from ansible_collections.refarch.containers.plugins.module_utils._rewrite import app_port
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.model import (
    FixContext,
    _Doc,
    _norm_path,
    _user_is_root,
)

#: Directories never given to the application's user (the image's own, shared by every program in it).
SYSTEM_DIRS = frozenset("/" + d for d in (
    "", "bin", "boot", "dev", "etc", "home", "lib", "lib32", "lib64", "media", "mnt", "opt", "proc", "root", "run",
    "sbin", "sys", "tmp", "usr", "usr/bin", "usr/lib", "usr/local", "usr/local/bin", "usr/local/lib",
    "usr/sbin", "usr/share", "usr/src", "var", "var/lib", "var/log", "var/tmp"))


def privileged_bind(doc: _Doc, ctx: FixContext) -> str | None:
    """Why the application cannot run as a non-root user because of its port, or None (no evidence either way
    counts as None: the fix then goes ahead as before)."""
    if ctx.read_file is None or doc.final is None:
        return None
    floor = int(ctx.port_floor or 1024)
    evidence = app_port.detect(doc, ctx)
    for port, path, line in evidence.hard_coded:
        if port < floor:
            return f"the application binds privileged port {port} itself ({path} line {line})"
    var = evidence.variable
    if var is None:
        return None
    final_env = (doc.facts.get("final_stage") or {}).get("env") or {}
    if var in final_env:
        value = str((final_env.get(var) or {}).get("value") or "").strip("\"'")
        if value.isdigit() and int(value) < floor:
            return f"the application listens on {var}, which the Dockerfile sets to privileged port {value}"
        return None
    if evidence.default is not None and evidence.default < floor:
        return (f"the application listens on {var}, unset in the Dockerfile, so on its default: privileged port "
                f"{evidence.default} ({evidence.why})")
    return None


def _volume_paths(ins: dict) -> list:
    return [str(v) for v in ins.get("value") or [] if str(v).strip()]


def owned_dirs(doc: _Doc, stage, insert_at: int) -> tuple:
    """(directories to own in the ``RUN`` before line ``insert_at``, ``[(VOLUME line, [directories])]`` declared
    before ``insert_at`` (owned right before their ``VOLUME``), notes on directories left alone).

    A directory a ``RUN`` of the final stage already ``chown``s is taken as handled."""
    notes, here, early = [], [], []
    runs = " ".join(" ".join(doc.span(i)) for i in stage.ins if i["cmd"] == "RUN")

    def wanted(path: str, what: str) -> str | None:
        if "$" in path:
            notes.append(f"the {what} {path} uses a variable, so its owner is not changed")
            return None
        norm = _norm_path(path if path.startswith("/") else posixpath.join(doc.workdir(stage) or "/", path))
        if norm in SYSTEM_DIRS:
            notes.append(f"the {what} {norm} is a system directory, so its owner is not changed")
            return None
        if "chown" in runs and norm in runs.split():
            return None
        return norm

    workdir = doc.workdir(stage)
    if workdir:
        wd = wanted(workdir, "WORKDIR")
        if wd:
            here.append(wd)
    for ins in stage.ins:
        if ins["cmd"] != "VOLUME":
            continue
        paths = [p for p in (wanted(v, "VOLUME") for v in _volume_paths(ins)) if p and p not in here]
        if not paths:
            continue
        if ins["start_line"] >= insert_at:
            here += [p for p in paths if p not in here]
        else:
            early.append((ins["start_line"], paths))
    return here, early, notes


def root_at(doc: _Doc, stage, line: int) -> bool:
    """Whether the instructions before ``line`` of ``stage`` run as root (an unknown user counts as not root)."""
    state = doc._chain.state_at(stage, line)
    if state.user is None:
        return True    # the base image's default: the families that get here run as root
    name = state.user_name if state.user_name is not None else " ".join(state.user.get("value") or [])
    return _user_is_root(str(name)) is True


def ownership_runs(doc: _Doc, dirs: list, uid: int, gid: int, *, make: tuple = ()) -> list:
    """The ``RUN`` line giving ``dirs`` to ``uid:gid`` (``make``: those created first), or nothing."""
    if not dirs:
        return []
    quoted = " ".join(shlex.quote(d) for d in dirs)
    made = [d for d in dirs if d in make]
    prefix = f"mkdir -p {' '.join(shlex.quote(d) for d in made)} && " if made else ""
    return [f"{doc.kw('RUN')} {prefix}chown {uid}:{gid} {quoted}"]
