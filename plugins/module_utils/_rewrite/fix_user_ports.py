# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixes ``add_non_root_user`` (NRA001) and ``remap_privileged_ports`` (NRA002).

Part of the rewriter (``module_utils/_rewriter.py``); pure, standard library only."""
from __future__ import annotations

import re

from ansible_collections.refarch.containers.plugins.module_utils._base_image import image_family
from ansible_collections.refarch.containers.plugins.module_utils._expand import expand
from ansible_collections.refarch.containers.plugins.module_utils._rewrite import runtime_user
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.model import (
    _VAR_RE,
    DEFAULT_PORT_MAP,
    DEFAULT_USER_IDS,
    PORT_ENV_NAMES,
    FixContext,
    NotNeeded,
    Skip,
    _body,
    _Doc,
    _Edits,
    _ending,
    _kv_pairs,
    _norm_path,
    _user_is_root,
)

# --------------------------------------------------------------------------- fix: non-root user


def _fix_add_non_root_user(doc: _Doc, ctx: FixContext):
    stage = doc.final
    if stage is None:
        return Skip("no FROM instruction")
    eff = doc.effective(stage)
    family = image_family(doc.root_ref(stage))
    user_ins = eff["user"]
    if user_ins is not None:
        raw = " ".join(user_ins.get("value") or [])
        is_root = _user_is_root(raw)
        if is_root is None:
            variables = doc.stage_vars(eff["user_stage"], user_ins["start_line"])  # as the USER line reads them
            resolved, unresolved = expand(raw, variables, doc.escape)
            ok = not unresolved
            if not ok:
                return Skip(f"the final USER (line {user_ins['start_line']}) uses a variable that cannot be resolved")
            is_root = _user_is_root(resolved)
        if not is_root:
            return NotNeeded(f"the final stage already runs as a non-root user (line {user_ins['start_line']})")
    elif family.startswith("ubi-node"):
        return NotNeeded("the UBI Node.js base image already runs as user 1001")
    elif family == "distroless" and "nonroot" in ((doc.root_ref(stage) or {}).get("tag") or ""):
        return NotNeeded("the distroless :nonroot base runs as a non-root user")

    bind = runtime_user.privileged_bind(doc, ctx)
    if bind:
        return Skip(f"{bind}: as a non-root user it could not bind that port and would not start; make it take its "
                    "port from a variable (process.env.PORT) and remediate again")
    ids = dict(DEFAULT_USER_IDS)
    ids.update(ctx.user_ids or {})
    create = []
    if family in ("node-debian", "node-alpine"):
        uid, gid = ids["node"]["uid"], ids["node"]["gid"]
    elif family.startswith("ubi-node"):
        uid, gid = ids["ubi"]["uid"], ids["ubi"]["gid"]
    elif family == "distroless":
        uid, gid = ids["distroless"]["uid"], ids["distroless"]["gid"]
    elif family == "ubi-minimal":
        # ubi-minimal has no useradd: its own package manager installs it
        uid, gid = ids["other"]["uid"], ids["other"]["gid"]
        create = [f"{doc.kw('RUN')} microdnf install -y shadow-utils && microdnf clean all && "
                  f"groupadd --system --gid {gid} app && useradd --system --uid {uid} --gid {gid} --no-create-home app"]
    elif family in ("debian", "ubi", "alpine"):
        uid, gid = ids["other"]["uid"], ids["other"]["gid"]
        if family == "alpine":
            create = [f"{doc.kw('RUN')} addgroup -S -g {gid} app && adduser -S -D -H -u {uid} -G app app"]
        else:
            create = [f"{doc.kw('RUN')} groupadd --system --gid {gid} app && "
                      f"useradd --system --uid {uid} --gid {gid} --no-create-home app"]
    else:
        base = stage.base_resolved or stage.base_raw
        return Skip(f"cannot tell how to create a user on base image {base!r} ({family})")
    # the base image's own user (node, UBI default, distroless nonroot) keeps its passwd group;
    # a user created here is named with its group explicitly
    user_line = f"{doc.kw('USER')} {uid}:{gid}" if create else f"{doc.kw('USER')} {uid}"

    edits = _Edits(doc)
    build_steps = [i for i in stage.ins if i["cmd"] in ("RUN", "COPY", "ADD")]
    last_build = build_steps[-1]["end_line"] if build_steps else stage.from_ins["end_line"]
    root_users = [i for i in stage.ins if i["cmd"] == "USER" and i is user_ins]
    in_place = bool(root_users and root_users[0]["start_line"] > last_build)
    at = root_users[0]["start_line"] if in_place else last_build + 1
    # the runtime user owns its WORKDIR and VOLUME directories (a distroless base has no shell to chown them)
    dirs, early, notes = runtime_user.owned_dirs(doc, stage, at)
    # made first: volumes, and a WORKDIR that a later WORKDIR instruction would create
    volumes = {d for _line, ds in early for d in ds} | {d for d in dirs if d != doc.workdir(stage, at)}
    own = []
    if family == "distroless":
        left = dirs + [d for _line, ds in early for d in ds]
        if left:
            notes.append(f"{', '.join(left)} stay owned by root: the distroless base has no shell to change their "
                         "owner (copy them with --chown from a build stage)")
        early = []
    else:
        own = runtime_user.ownership_runs(doc, dirs, uid, gid, make=tuple(volumes))
    steps = [*create, *own]
    if steps and not runtime_user.root_at(doc, stage, at):
        steps.insert(0, f"{doc.kw('USER')} 0")   # the user before this point is not root: the steps need root
    if in_place:
        ins = root_users[0]
        edits.replace(ins["start_line"], ins["end_line"], [edits.line(x) for x in [*steps, user_line]])
    else:
        edits.insert_after(last_build, [edits.line(x) for x in [*steps, user_line]])
    for line, paths in early:
        if runtime_user.root_at(doc, stage, line):
            edits.insert_before(line, [edits.line(x) for x in
                                       runtime_user.ownership_runs(doc, paths, uid, gid, make=tuple(paths))])
        else:
            notes.append(f"{', '.join(paths)} (VOLUME, line {line}) stay as they are: the user before it is not root")
    # --chown on copies into the application directory
    chown = f"--chown={uid}:{gid}"
    for ins in stage.ins:
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
    return edits.noted("; ".join(notes) or None)


# --------------------------------------------------------------------------- fix: ports

def _remap_port(port: int, port_map: dict, offset) -> int | None:
    if port in port_map:
        return port_map[port]
    if offset is None:
        return None
    return port + int(offset) if port + int(offset) < 65536 else None


def _fix_remap_privileged_ports(doc: _Doc, ctx: FixContext, env_names: frozenset = frozenset()):
    """Remap privileged EXPOSE ports and port variables (``PORT_ENV_NAMES`` and ``env_names``); the text edits
    only: ``fix_ports`` decides whether the application's port follows."""
    stage = doc.final
    if stage is None:
        return Skip("no FROM instruction")
    port_map = {int(k): int(v) for k, v in (ctx.port_map or DEFAULT_PORT_MAP).items()}
    offset = ctx.port_offset
    floor = int(ctx.port_floor)
    edits = _Edits(doc)
    problems = []
    env_changes = {}   # (line) -> list of (name)
    for st in doc.chain(stage):
        for ins in st.ins:
            if ins["cmd"] == "EXPOSE":
                new_span = doc.span(ins)
                changed = False
                for token in ins.get("value") or []:
                    port_s = token.partition("/")[0]
                    if "$" in port_s:
                        # the variables as the EXPOSE line reads them
                        resolved, unresolved = expand(port_s, doc.stage_vars(st, ins["start_line"]), doc.escape)
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
        for ins in st.ins:
            if ins["cmd"] not in ("ENV", "ARG"):
                continue
            new_span = doc.span(ins)
            changed = False
            for name, val in _kv_pairs(ins):
                if val is None or not (name in PORT_ENV_NAMES or name in env_names or name in env_changes):
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
            return Skip("; ".join(problems))
        return NotNeeded("no privileged port is exposed")
    return edits.noted("; ".join(problems) or None)
