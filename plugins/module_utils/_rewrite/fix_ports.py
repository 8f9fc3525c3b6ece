# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fix ``remap_privileged_ports`` (NRA002): move the port through the variable the application reads.

A privileged port in ``EXPOSE`` (or in a port variable the Dockerfile sets) is changed only when the application
is shown to take its port from one environment variable (:func:`app_port.detect`, which reads the entry point
on the host): then the port variable is set (``ENV PORT=8080``, added when the Dockerfile does not set it) and
``EXPOSE`` names the same port. When the Dockerfile already sets that variable to an unprivileged port, the
application listens there, so ``EXPOSE`` takes that port. When the application's port cannot be shown to follow
(a hard-coded ``listen(80)``, a port from a configuration file, an entry point that cannot be found or read,
several privileged ports for one variable), nothing is changed for NRA002 and the reason is returned.

The applied fix carries its precondition (``Edits.precondition``: the variable and the port), which
``claims.check_precondition`` checks again on the final text.

Part of the rewriter (``module_utils/_rewriter.py``); pure, standard library only.
"""
from __future__ import annotations

from ansible_collections.refarch.containers.plugins.module_utils._rewrite import app_port
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.fix_user_ports import (
    _fix_remap_privileged_ports,
    _remap_port,
)
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.model import (
    DEFAULT_PORT_MAP,
    PORT_ENV_NAMES,
    FixContext,
    NotNeeded,
    Skip,
    _Doc,
)


def _is_port_var(name: str) -> bool:
    return name in PORT_ENV_NAMES or bool(app_port.PORT_VAR_RE.match(name))


def privileged_use(facts: dict, floor: int) -> tuple:
    """(privileged exposed ports, {port variable: privileged value}) of the final stage in ``facts``."""
    final = facts.get("final_stage") or {}
    exposed = sorted({p["port"] for p in final.get("exposed_ports") or []
                      if isinstance(p.get("port"), int) and p["port"] < floor})
    env = {}
    for name, entry in (final.get("env") or {}).items():
        value = str((entry or {}).get("value") or "").strip("\"'")
        if _is_port_var(name) and value.isdigit() and int(value) < floor:
            env[name] = int(value)
    return exposed, env


def fix_remap_privileged_ports(doc: _Doc, ctx: FixContext):
    stage = doc.final
    if stage is None:
        return Skip("no FROM instruction")
    floor = int(ctx.port_floor)
    exposed, env = privileged_use(doc.facts, floor)
    if not exposed and not env:
        # nothing readable is privileged: the text fix says "not needed" or why it cannot tell
        return _fix_remap_privileged_ports(doc, ctx)
    shown = ", ".join([f"EXPOSE {p}" for p in exposed] + [f"{n}={v}" for n, v in sorted(env.items())])
    evidence = app_port.detect(doc, ctx)
    if evidence.variable is None:
        return Skip(f"{shown} left unchanged: the application's port cannot be shown to follow an environment "
                    f"variable ({evidence.why})")
    var = evidence.variable
    others = sorted(n for n in env if n != var)
    if others:
        return Skip(f"{shown} left unchanged: the application reads {var}, not {', '.join(others)}")
    olds = sorted(set(exposed) | ({env[var]} if var in env else set()))
    if len(olds) > 1:
        return Skip(f"{shown} left unchanged: the application takes one port from {var} but the Dockerfile uses "
                    f"several privileged ports ({', '.join(map(str, olds))})")
    old = olds[0]
    final_env = (doc.facts.get("final_stage") or {}).get("env") or {}
    current = str((final_env.get(var) or {}).get("value") or "").strip("\"'") if var in final_env else None
    if current is not None and not current.isdigit():
        return Skip(f"{shown} left unchanged: {var} is set to a value that is not a port number")
    if current is not None and int(current) >= floor:
        new = int(current)   # the application listens on the port the Dockerfile gives it
    else:
        port_map = {int(k): int(v) for k, v in (ctx.port_map or DEFAULT_PORT_MAP).items()}
        new = _remap_port(old, port_map, ctx.port_offset)
        if new is None:
            return Skip(f"{shown} left unchanged: no mapping for port {old}")
    result = _fix_remap_privileged_ports(doc, ctx._replace(port_map={old: new}, port_offset=None),
                                         env_names=frozenset({var}))
    if isinstance(result, Skip):
        return result
    if isinstance(result, NotNeeded):
        return Skip(f"{shown} left unchanged: no line to change was found")
    if current is None:
        # the application reads the variable but the Dockerfile does not set it (or only as a build ARG)
        line = f"{doc.kw('ENV')} {var}={new}"
        expose_lines = [i["start_line"] for i in stage.ins if i["cmd"] == "EXPOSE"]
        if expose_lines:
            result.insert_before(expose_lines[0], [result.line(line)])
        else:
            result.insert_after(stage.from_ins["end_line"], [result.line(line)])
    result.precondition = {"variable": var, "port": new, "evidence": evidence.why}
    return result
