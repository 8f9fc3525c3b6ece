# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for ``refarch.containers.report_merge``: merge report.json files from job slices.

Nothing runs on the managed host.  The documentation is in ``plugins/modules/report_merge.py``.
"""

from __future__ import annotations

import glob
import os
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.refarch.containers.plugins.plugin_utils._report import ReportError, merge_reports
from ansible_collections.refarch.containers.plugins.plugin_utils._report_writer import (
    FILE_NAMES,
    RENDER_OPTIONS,
    load_previous,
    read_json,
    render_and_write,
)

ARGUMENT_SPEC: dict[str, Any] = dict(
    RENDER_OPTIONS,
    src={"type": "list", "elements": "path", "required": True},
    strict={"type": "bool", "default": False},
)


def expand_sources(patterns: list[str]) -> list[str]:
    """Expand globs; a directory stands for its report.json.  Order: as given, each glob sorted, no duplicates."""
    paths: list[str] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches:
            raise ReportError(f"no report matches {pattern}")
        for match in matches:
            path = os.path.join(match, FILE_NAMES["json"]) if os.path.isdir(match) else match
            if path not in paths:
                paths.append(path)
    return paths


class ActionModule(ActionBase):
    """Merge several report.json files into one estate report and render it."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:
            sources = expand_sources(args["src"])
            previous, warnings = load_previous(args)
            reports = [read_json(p, "report") for p in sources]
            merged = merge_reports(reports, strict=args["strict"], previous=previous)
            result.update(render_and_write(merged, args, check_mode=bool(self._task.check_mode)))
        except ReportError as exc:
            raise AnsibleActionFail(f"refarch.containers.report_merge: {exc}") from exc
        result["sources"] = sources
        warnings += [f"report_merge: {m}" for m in merged["merge"]["mismatches"]]
        judged = merged.get("judged_by")
        warnings += list((judged or {}).get("warnings") or [])  # the slow fallback in a source report
        if warnings:
            result.setdefault("warnings", []).extend(warnings)
        result["judged_by"] = judged
        return result
