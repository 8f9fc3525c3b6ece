# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fix ``reorder_dependency_layers`` (NRA005): dependency manifests copied and installed before the sources.

Part of the rewriter (``module_utils/_rewriter.py``); pure, standard library only."""
from __future__ import annotations

import re

from ansible_collections.refarch.containers.plugins.module_utils._rewrite.fix_dockerignore import (
    _dockerignore_patterns,
    _pattern_covers,
)
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.fix_multistage import _independent_of_app
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.model import (
    MANIFEST_CANDIDATES,
    FixContext,
    NotNeeded,
    Skip,
    _Doc,
    _Edits,
    _norm_path,
)
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.runtime_files import source_hooks
from ansible_collections.refarch.containers.plugins.module_utils._shellcmd import (
    install_tool,
    is_install_only_segment,
    is_noop_segment,
    split_and,
)

# --------------------------------------------------------------------------- fix: layering


def _is_manifest_copy(ins: dict) -> bool:
    value = ins.get("value") or []
    if ins["cmd"] not in ("COPY", "ADD") or any(f.startswith("--from") for f in ins.get("flags") or []):
        return False
    return len(value) >= 2 and any(re.match(r"^(\./)?package[^/]*\.json$|^(\./)?package\*", s) for s in value[:-1])


def source_free(ins: dict, appdir: str) -> bool:
    """Whether an instruction between the source copy and the install does not read the source: WORKDIR, LABEL,
    EXPOSE, ENV, ARG, USER, or a RUN that only installs OS packages or global tools or prints (no heredoc)."""
    if ins["cmd"] in ("WORKDIR", "LABEL", "EXPOSE", "ENV", "ARG", "USER"):
        return True
    if ins["cmd"] != "RUN" or ins.get("heredocs") or ins.get("json"):
        return False
    command = " ".join(ins.get("value") or [])
    parts = split_and(command)
    return (bool(parts) and ">" not in command and all(
        is_noop_segment(re.sub(r"\s+", " ", p.strip())) for p in parts)) or _independent_of_app(command, appdir)


def _fix_reorder_dependency_layers(doc: _Doc, ctx: FixContext):
    edits = _Edits(doc)
    reasons = []
    pkg = ctx.package_json or {}
    scripts = (pkg.get("scripts") or {}) if pkg else {}
    files = ctx.context_files
    # the first COPY of the whole build context in each stage, as NRA005 finds it (the facts' analysis)
    # (a copy after which the dependencies were prepared from the manifests alone, pnpm fetch or an install from
    # bind-mounted manifests, is the cached pattern NRA005 accepts: nothing to reorder)
    context_copies = {c["stage"]: c["line"] for c in (doc.facts["analysis"] or {}).get("context_copies") or []
                      if not c.get("cached_dependencies")}
    for stage in doc.stages:
        ins_list = stage.ins
        ctx_copy = next((i for i in ins_list if i["start_line"] == context_copies.get(stage.index)), None)
        if ctx_copy is None:
            continue
        c_idx = ins_list.index(ctx_copy)
        install = None
        for i in ins_list[c_idx + 1:]:
            if i["cmd"] == "RUN" and not i.get("json") and install_tool(" ".join(i.get("value") or [])):
                install = i
                break
        if install is None:
            continue
        r_idx = ins_list.index(install)
        if any(i["cmd"] == "RUN" and install_tool(" ".join(i.get("value") or [])) for i in ins_list[:c_idx]):
            reasons.append(f"stage at line {stage.from_ins['start_line']}: the install at line "
                           f"{install['start_line']} repeats the install done before the source copy; "
                           "remove or move it by hand")
            continue
        where = f"stage at line {stage.from_ins['start_line']}"
        hooks = source_hooks(scripts, ("preinstall", "install", "postinstall", "prepare"))
        if hooks:
            reasons.append("{}: package.json has {} script(s) that may need the source".format(where, ", ".join(hooks)))
            continue
        if pkg and pkg.get("workspaces"):
            reasons.append(f"{where}: package.json declares workspaces")
            continue
        between = ins_list[c_idx + 1:r_idx]
        bad = [i for i in between if i["cmd"] not in ("COPY", "ADD", "LABEL", "EXPOSE", "WORKDIR")]
        # steps that do not read the source (ENV, ARG, OS packages, global tools) let the source copy move down to
        # after the install instead (a copy that uses a variable would then see the ENV/ARG it did not see)
        move_copy = bool(bad) and "$" not in " ".join(ctx_copy.get("value") or []) and not ctx_copy.get("heredocs") \
            and all(source_free(i, doc.workdir(stage, install["start_line"]) or "/") for i in between)
        if bad and not move_copy:
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
        if not move_copy and wd_copy != wd_install and any(
                not ((i.get("value") or ["/"])[-1]).startswith("/") for i in [ctx_copy, *between]
                if i["cmd"] in ("COPY", "ADD")):
            reasons.append(f"{where}: a relative COPY destination lies between the source copy and the install's "
                           "WORKDIR")
            continue
        command = " ".join(install.get("value") or [])
        parts = split_and(command)
        if parts is None:
            reasons.append(f"{where}: install RUN at line {install['start_line']} uses shell operators other than &&")
            continue
        k = 0
        while k < len(parts) and is_install_only_segment(re.sub(r"\s+", " ", parts[k])):
            k += 1
        if k == 0 or any(install_tool(p) for p in parts[k:]):
            reasons.append(f"{where}: install RUN at line {install['start_line']} mixes the install with "
                           "other commands")
            continue
        tool = install_tool(command)
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
        if move_copy:
            # the manifests take the source copy's place; the source copy follows the install (absolute destination:
            # a WORKDIR may lie between)
            keyword = doc.raw_keyword(ctx_copy)
            manifest = [] if manifest_present else [edits.line(" ".join([keyword, *flags, *sources, dest]))]
            edits.replace(ctx_copy["start_line"], ctx_copy["end_line"], manifest)
            copy_flags = list(ctx_copy.get("flags") or [])
            moved = edits.line(" ".join([keyword, *copy_flags, *(ctx_copy.get("value") or [])[:-1], wd_install]))
            prefix = doc.raw_keyword(install) + (" " + " ".join(install.get("flags") or [])
                                                 if install.get("flags") else "")
            if k < len(parts):
                edits.replace(install["start_line"], install["end_line"],
                              [edits.line("{} {}".format(prefix, " && ".join(parts[:k]))), moved,
                               edits.line("{} {}".format(prefix, " && ".join(parts[k:])))])
            else:
                edits.insert_after(install["end_line"], [moved])
            continue
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
            return Skip("; ".join(reasons))
        return NotNeeded("dependencies are already installed before the source is copied")
    return edits.noted("; ".join(reasons) or None)
