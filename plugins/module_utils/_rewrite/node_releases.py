# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Node.js release table (fallback copy of the policy's ``node_releases``) and the release arithmetic the base-
image fix uses.

Part of the rewriter (``module_utils/_rewriter.py``); pure, standard library only."""
from __future__ import annotations

from datetime import date

from ansible_collections.refarch.containers.plugins.module_utils._rewrite.model import FixContext

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

_NODE_CODENAMES = {"argon": 4, "boron": 6, "carbon": 8, "dubnium": 10, "erbium": 12, "fermium": 14, "gallium": 16,
                   "hydrogen": 18, "iron": 20, "jod": 22, "krypton": 24}


def _releases(ctx: FixContext) -> dict:
    table = ctx.base_image_table or {}
    releases = table.get("node_releases") if isinstance(table, dict) else None
    return releases or DEFAULT_NODE_RELEASES


def _codenames(ctx: FixContext) -> dict:
    names = dict(_NODE_CODENAMES)
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


def _lts_majors(ctx: FixContext) -> list:
    today = _eval_date(ctx)
    out = []
    for major, info in _releases(ctx).items():
        if not str(major).isdigit() or not isinstance(info, dict):
            continue
        lts, eol = info.get("lts_start"), info.get("eol")
        if lts and lts <= today and (not eol or eol > today):
            out.append(int(major))
    return sorted(out)


def _target_major(major: int | None, ctx: FixContext) -> int | None:
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
