# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller's words, defined once: severities and their order, the report schema version.

Every controller plugin (evaluation, report writers, filters, the refarch_summary callback)
reads these names from here instead of writing its own list.
"""

from __future__ import annotations

from typing import Any

#: Version of report.json (``policies/schema/report.schema.json``); a merge refuses another major.
SCHEMA_VERSION = "1.1"

#: Severities, most severe first: the order reports, tables and summaries list them in.
SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low", "info")

#: The same, least severe first: the order option choices and their messages list them in
#: (``fail_on: none, info, low ...``).
SEVERITIES_ASCENDING: tuple[str, ...] = tuple(reversed(SEVERITIES))

#: 0 for info ... 4 for critical: "at or above" comparisons (``fail_on``, ``findings_by_severity``).
SEVERITY_RANK: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES_ASCENDING)}

_SEVERITY_ALIASES = {
    "crit": "critical",
    "error": "high",
    "warning": "medium",
    "warn": "medium",
    "moderate": "medium",
    "note": "low",
    "informational": "info",
    "information": "info",
    "none": "info",
    "unknown": "info",
}


def normalize_severity(value: Any) -> str:
    """Map a severity spelling (``HIGH``, ``warning``, ``None``) onto :data:`SEVERITIES`."""
    text = str(value or "info").strip().lower()
    text = _SEVERITY_ALIASES.get(text, text)
    return text if text in SEVERITIES else "info"


def severity_rank(value: Any) -> int:
    """0 for critical ... 4 for info: sort key, most severe first."""
    return SEVERITIES.index(normalize_severity(value))
