# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Node.js release table and the release arithmetic the base-image fix uses.

The table is the policy data's ``node_releases`` (``policies/refarch/config/data.json``, dated
``node_releases_date``), read from its generated copy ``module_utils/_node_release_table.py``; a table the
controller passes (``base_image_table["node_releases"]``, e.g. a run's ``refarch_policy_data``) overrides it line by
line, as ``refarch.lib.config`` merges settings for the rules.

Part of the rewriter (``module_utils/_rewriter.py``); pure, standard library only."""
from __future__ import annotations

from datetime import date

from ansible_collections.refarch.containers.plugins.module_utils._node_release_table import (
    NODE_RELEASES,
    NODE_RELEASES_DATE,
)
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.model import FixContext

#: What a user may allow the base-image fix beyond the default (``base_image_allow``): a move across more than
#: one LTS line, and a change of C library (Alpine's musl <-> Debian's glibc).
ALLOW_CHOICES = ("line_jump", "libc_change")


def _releases(ctx: FixContext) -> dict:
    table = ctx.base_image_table or {}
    given = table.get("node_releases") if isinstance(table, dict) else None
    if not isinstance(given, dict) or not given:
        return NODE_RELEASES
    return {**NODE_RELEASES, **given}


def table_date(ctx: FixContext) -> str:
    """The date of the release table in use (the data's ``node_releases_date``)."""
    table = ctx.base_image_table or {}
    given = table.get("node_releases_date") if isinstance(table, dict) else None
    return str(given) if given and table.get("node_releases") else NODE_RELEASES_DATE


def _codenames(ctx: FixContext) -> dict:
    names = {}
    for major, info in _releases(ctx).items():
        if isinstance(info, dict) and info.get("codename") and str(major).isdigit():
            names[str(info["codename"]).lower()] = int(major)
    return names


def _major_of(version: str | None, ctx: FixContext) -> int | None:
    if not version:
        return None
    if version[0].isdigit():
        return int(version.split(".")[0])
    return _codenames(ctx).get(version.lower())


def _eval_date(ctx: FixContext) -> str:
    value = ctx.evaluation_date
    return str(value) if value else date.today().isoformat()


def _info(major: int, ctx: FixContext) -> dict | None:
    info = _releases(ctx).get(str(major))
    return info if isinstance(info, dict) else None


def known(major: int, ctx: FixContext) -> bool:
    return _info(major, ctx) is not None


def is_lts(major: int, ctx: FixContext) -> bool:
    return bool((_info(major, ctx) or {}).get("lts_start"))


def active_lts(major: int, ctx: FixContext) -> bool:
    """An LTS line that is in LTS and not end-of-life on the evaluation date (what NRA013 accepts)."""
    info = _info(major, ctx) or {}
    today = _eval_date(ctx)
    lts, eol = info.get("lts_start"), info.get("eol")
    return bool(lts and lts <= today and (not eol or eol > today))


def _lts_majors(ctx: FixContext) -> list:
    return sorted(int(m) for m in _releases(ctx) if str(m).isdigit() and active_lts(int(m), ctx))


def newest_release(ctx: FixContext, lts_only: bool = False) -> int | None:
    """The newest line released (or in LTS, ``lts_only``) on the evaluation date: what ``latest``/``lts`` name."""
    today = _eval_date(ctx)
    key = "lts_start" if lts_only else "release"
    lines = [int(m) for m, i in _releases(ctx).items()
             if str(m).isdigit() and isinstance(i, dict) and i.get(key) and i[key] <= today]
    return max(lines) if lines else None


def latest_version(major: int, ctx: FixContext) -> str | None:
    """The newest release of a line on the table's date (``latest_version``), None when the table has none."""
    value = (_info(major, ctx) or {}).get("latest_version")
    if isinstance(value, str) and value.split(".")[0] == str(major):
        return value
    return None


def codename_of(major: int, ctx: FixContext) -> str | None:
    value = (_info(major, ctx) or {}).get("codename")
    return str(value).lower() if value else None


def lts_lines_crossed(old: int, new: int, ctx: FixContext) -> list:
    """The LTS lines a move from line ``old`` to line ``new`` crosses (those in (min, max]), in order."""
    low, high = sorted((old, new))
    return sorted(int(m) for m in _releases(ctx) if str(m).isdigit() and low < int(m) <= high and is_lts(int(m), ctx))


def node_line_problem(line, ctx: FixContext) -> str | None:
    """Why ``line`` (the ``node_line`` option) cannot be the target line, or None when it can."""
    text = str(line).strip()
    if not text.isdigit():
        return f"{text!r} is not a Node.js major version (such as 24)"
    major = int(text)
    if not known(major, ctx):
        return f"Node.js {major} is not in the release table (dated {table_date(ctx)})"
    if not is_lts(major, ctx):
        return f"Node.js {major} is not an LTS line"
    if not active_lts(major, ctx):
        info = _info(major, ctx) or {}
        return "Node.js {} is not in LTS on {} (LTS {} to {})".format(
            major, _eval_date(ctx), info.get("lts_start"), info.get("eol"))
    return None


def target_major(ctx: FixContext) -> tuple:
    """(the line to move to, None) or (None, why there is none): ``node_line`` when set, else the newest line
    in LTS on the evaluation date."""
    if ctx.node_line not in (None, ""):
        problem = node_line_problem(ctx.node_line, ctx)
        if problem:
            return None, f"node_line: {problem}"
        return int(str(ctx.node_line).strip()), None
    supported = _lts_majors(ctx)
    if not supported:
        return None, f"the Node.js release table (dated {table_date(ctx)}) has no line in LTS on {_eval_date(ctx)}"
    return supported[-1], None


def step_major(old: int, target: int, ctx: FixContext) -> tuple:
    """The line a move from ``old`` towards ``target`` may reach without crossing more than one LTS line, unless
    ``line_jump`` is allowed: (line or None, why the target is not reached or None)."""
    crossed = lts_lines_crossed(old, target, ctx)
    if len(crossed) <= 1 or "line_jump" in (ctx.base_image_allow or ()):
        return target, None
    why = ("Node.js {} -> {} crosses {} LTS lines ({}): the application's dependencies, lockfile and native modules "
           "may not work there; allow it with base_image_allow: [line_jump] (refarch_base_image_allow), or pick a "
           "closer line with node_line (refarch_node_line)").format(
        old, target, len(crossed), ", ".join(map(str, crossed)))
    step = crossed[0] if old < target else None
    if step is not None and active_lts(step, ctx):
        return step, f"moved to Node.js {step}, one LTS line up, not to {target}: {why}"
    return None, f"the Node.js line was not changed: {why}"
