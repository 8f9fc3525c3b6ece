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
  root-owned. The ``WORKDIR`` itself and the final stage's ``VOLUME`` directories are given to
  the user with ``RUN chown`` (``_rewrite/runtime_user.py``; distroless has no shell: partly
  applied). The fix is skipped when the application binds a privileged port itself.
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
* Exec form: a shell-form ``CMD``/``ENTRYPOINT`` becomes the JSON array of its words; one that
  expands shell parameters (``$PORT``, ``${HOST:-0.0.0.0}``) and is otherwise one simple command
  keeps its shell and gains ``exec`` (``["/bin/sh", "-c", "exec <command>"]``; an exec-form
  ``sh -c`` wrapper keeps the shell it names), on a base whose image has ``/bin/sh``.
* npm start: the script must be ``node [flags] file [args]``; a script that runs a known
  production CLI (:data:`PRODUCTION_CLIS`, e.g. ``next start``) that is a production
  dependency becomes ``node node_modules/.bin/<cli> ...``.  Development tools, shell
  features, environment prefixes and pre/post hooks are skipped with the reason.
* Multi-stage: the original stage becomes the ``build`` stage unchanged; a
  ``production-dependencies`` stage ``FROM build`` prunes development dependencies
  (``npm prune --omit=dev``, ``pnpm prune --prod``, ``yarn install --production`` or
  ``yarn workspaces focus --all --production``); a ``runtime`` stage ``FROM`` the same base
  repeats the system set-up steps (without toolchain packages), copies from the prune stage
  what the application needs and repeats the runtime instructions (ENV, ARG, WORKDIR, USER,
  EXPOSE, HEALTHCHECK, CMD, ...); ``CMD``, ``ENTRYPOINT``, ``EXPOSE`` and ``HEALTHCHECK``
  leave the build stage.  What the runtime needs (``_rewrite/runtime_files.py``):
  ``package*.json`` (and the yarn/pnpm lockfile), production ``node_modules``, the build
  output directory that holds the entry point and the run-time directories the context has
  (``public``, ``views``, ...), when a build step runs and the entry point is in the build
  output.  Without a build step (the application runs from its sources) the runtime stage
  repeats the stage's own ``COPY`` instructions (the sources come from the context again,
  through the ``.dockerignore``) and copies only ``node_modules`` from the prune stage, when
  the install is shown to make nothing else (``runtime_files.sources``); otherwise the whole
  application directory (the final ``WORKDIR``), reported ``partly applied`` with the reason
  (without a ``WORKDIR``: the sources from the context, ``partly applied``).  A ``RUN`` whose
  effect on the runtime cannot be classified makes the fix skip.
"""

from __future__ import annotations

from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_parser import parse as parse_dockerfile
from ansible_collections.refarch.containers.plugins.module_utils._fix_rules import FIX_RULES
from ansible_collections.refarch.containers.plugins.module_utils._node_release_table import (
    NODE_RELEASES as DEFAULT_NODE_RELEASES,
)
from ansible_collections.refarch.containers.plugins.module_utils._rewrite import claims
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.fix_base_image import _fix_replace_base_image
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.fix_dockerignore import (
    _fix_write_dockerignore,
)
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.fix_heap import _fix_set_heap_limit
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.fix_layers import (
    _fix_reorder_dependency_layers,
)
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.fix_multistage import _fix_split_multi_stage
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.fix_ports import fix_remap_privileged_ports
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.fix_process import (
    _fix_add_init_process,
    _fix_exec_form_cmd,
    _fix_replace_npm_start,
)
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.fix_user_ports import _fix_add_non_root_user
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.model import (
    _WARNING,
    MANIFEST_CANDIDATES,
    FixContext,
    NotNeeded,
    RewriteError,
    Skip,
    _apply,
    _Doc,
    _split_lines,
)
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.target import target_skip

# The public API (the module, the filters and the settings validation import it from here).
__all__ = ["DEFAULT_NODE_RELEASES", "FIX_ORDER", "FIX_RULES", "MANIFEST_CANDIDATES", "RULE_FIXES", "RewriteError",
           "normalize_fixes", "parse_fix_selection", "rewrite", "unknown_fixes_message"]

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

# --------------------------------------------------------------------------- driver

_FIXERS = {
    "add_non_root_user": _fix_add_non_root_user,
    "remap_privileged_ports": fix_remap_privileged_ports,
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
        ``user_ids``, ``init_tool`` (tini | dumb-init), ``max_node_memory``, ``heap_variable``, and ``target``
        (the stage a declared build builds: the fixes act on it, ``_rewrite/target.py``; None: the last stage).
    :param parse: parser with the contract-section-1 output; defaults to the collection's parser.
    :returns: ``{"text", "dockerignore", "applied", "skipped", "fix_status"}``; ``applied`` items carry
        ``fix``, ``rule_id``, ``rule_ids`` and ``lines`` (original line numbers replaced or next
        to which lines were inserted), ``skipped`` items ``fix`` and ``reason``; ``fix_status`` has one
        entry per requested fix (``_rewrite.claims``: applied / partly_applied / skipped / not_needed, the
        reason, the rules it claims and its precondition).
    """
    parse = parse or parse_dockerfile
    target = (context or {}).get("target") or None  # a declared build's stage (_rewrite/target.py)
    order, unknown = normalize_fixes(fixes)
    ctx = FixContext.of(context or {}, list(order))
    applied, skipped = [], []
    preconditions = {}
    for item in unknown:
        skipped.append({"fix": item, "reason": "unknown fix or rule id"})
    lines = _split_lines(text)
    origin = list(range(1, len(lines) + 1))
    dockerignore = None
    current = text
    for fix in order:
        rules = FIX_RULES[fix]
        if fix == "write_dockerignore" and not ctx.dockerignore_read:
            skipped.append({"fix": fix, "reason": "the .dockerignore was not read (no build context given)"})
            continue
        try:
            doc = _Doc(current, parse, target)
        except RewriteError:
            raise
        except Exception as exc:  # the parser must not crash; report instead of guessing
            raise RewriteError(f"cannot parse the Dockerfile: {exc}") from exc
        if fix == "write_dockerignore":
            # the Dockerfile as rewritten so far: what its COPYs take by name is not excluded
            answer = _fix_write_dockerignore(ctx.dockerignore_text, ctx, doc)
            if isinstance(answer, NotNeeded):
                skipped.append({"fix": fix, "reason": "not needed: " + answer.reason, "not_needed": True})
            elif isinstance(answer, Skip):
                # this fix's declined entries have always said not_needed: false (the others' omit it)
                skipped.append({"fix": fix, "reason": answer.reason, "not_needed": False})
            else:
                dockerignore = answer.text
                _record(applied, skipped, {"fix": fix, "rule_id": rules[0], "rule_ids": rules,
                                           "lines": answer.lines, "file": ".dockerignore"}, answer.note)
            continue
        if not doc.stages:
            skipped.append({"fix": fix, "reason": "the Dockerfile has no FROM instruction"})
            continue
        result = target_skip(doc, fix) or _FIXERS[fix](doc, ctx)
        if isinstance(result, NotNeeded):
            skipped.append({"fix": fix, "reason": "not needed: " + result.reason, "not_needed": True})
            continue
        if isinstance(result, Skip):
            skipped.append({"fix": fix, "reason": result.reason})
            continue
        note = result.note
        new_lines, new_origin, touched = _apply(lines, origin, result)
        new_text = "".join(new_lines)
        if new_text == current:
            skipped.append({"fix": fix, "reason": "not needed: the edit changed nothing", "not_needed": True})
            continue
        _record(applied, skipped, {"fix": fix, "rule_id": rules[0], "rule_ids": rules, "lines": sorted(touched)}, note)
        if getattr(result, "precondition", None):
            preconditions[fix] = result.precondition
        lines, origin, current = new_lines, new_origin, new_text
    status = claims.fix_statuses(order, applied, skipped, preconditions, lambda: _Doc(current, parse, target).facts,
                                 floor=int(ctx.port_floor or 1024))
    return {"text": current, "dockerignore": dockerignore, "applied": applied, "skipped": skipped,
            "fix_status": status}
