# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Short human summary of ``report.json`` for the terminal (controller side, pure).

Counts by severity, the rules that fail most, the worst hosts, hosts that
could not be scanned and the change since the previous report.  Every value
from data is shown on one line with its control characters escaped
(``\\x1b[2J``, ``\\u2028``: module_utils/_printable.py), so a hostile path cannot
repaint the operator's terminal and still shows what is really there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.refarch.containers.plugins.module_utils._printable import printable
from ansible_collections.refarch.containers.plugins.plugin_utils._provenance import describe
from ansible_collections.refarch.containers.plugins.plugin_utils._report import (
    SEVERITIES,
    is_open,
    normalize_severity,
    severity_rank,
    weight,
)


def _c(value: Any, limit: int = 120) -> str:
    return printable(value, limit=limit)


def shortened(value: Any, limit: int, where: str = "report.json") -> str:
    """``value`` escaped and, when longer than ``limit``, cut at a word boundary saying where the full text is."""
    text = "" if value is None else str(value)
    if len(text) <= limit:
        return printable(text)
    cut = text[:limit]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return printable(cut.rstrip()) + f" ... (cut; full text in {where})"


def completeness_lines(summary: Mapping[str, Any], *, top: int = 10, where: str = "report.json") -> list[str]:
    """The run outcome: complete, or INCOMPLETE with each reason, a count and where (first ``top``)."""
    if summary.get("complete", True):
        return ["Run: complete (every host reached, every target read and evaluated)"]
    by_reason = summary.get("incomplete_by_reason") or {}
    lines = ["Run: INCOMPLETE (" + ", ".join(f"{_c(r, 40)} {n}" for r, n in by_reason.items()) + ")"]
    reasons = list(summary.get("incomplete_reasons") or [])
    for item in reasons[:top]:
        place = _c(item.get("host"), 60) + (f":{_c(item.get('target'), 90)}" if item.get("target") else "")
        lines.append(f"  {_c(item.get('reason'), 40)}: {place}: {shortened(item.get('detail') or '', 200, where)}")
    total = sum(by_reason.values()) if by_reason else len(reasons)
    if total > top:
        lines.append(f"  ... and {total - top} more (see {where})")
    return lines


def render_text(report: Mapping[str, Any], *, top: int = 5) -> str:
    """Render a few lines of plain text (no colour) summarizing a report."""
    summary = report.get("summary") or {}
    hosts_by = summary.get("hosts_by_status") or {}
    sev = summary.get("findings_by_severity") or {}
    rules = report.get("rules") or {}
    checked = summary.get("compliant_targets", 0) + summary.get("noncompliant_targets", 0)
    pct = summary.get("compliance_percent")
    lines = [
        f"refarch.containers report {_c(report.get('generated_at'), 40)} "
        f"(engine {_c(report.get('engine'), 40)}, policy {_c(report.get('policy_revision') or 'unknown', 60)})",
        f"Hosts: {summary.get('hosts', 0)} ({hosts_by.get('ok', 0)} ok, {hosts_by.get('unreachable', 0)} unreachable, "
        f"{hosts_by.get('failed', 0)} failed)",
        *completeness_lines(summary),
        f"Targets: {summary.get('targets', 0)} ({summary.get('compliant_targets', 0)} of {checked} checked compliant"
        + (f", {pct:g}%" if isinstance(pct, (int, float)) else "")
        + (f"; {summary.get('error_targets')} unreadable" if summary.get("error_targets") else "")
        + ")",
        f"Open findings: {summary.get('findings', 0)} ("
        + ", ".join(f"{s} {sev.get(s, 0)}" for s in SEVERITIES)
        + f"); waived {summary.get('waived', 0)}, expired waivers {summary.get('expired_waivers', 0)}",
    ]
    judged = report.get("judged_by")
    if isinstance(judged, Mapping):
        lines.insert(1, f"Judged by: {_c(describe(judged), 300)}")
        lines[2:2] = [f"WARNING: {_c(w, 400)}" for w in judged.get("warnings") or []]
    if summary.get("folded_findings"):
        lines.append(f"Folded: {summary['folded_findings']:,} finding(s) counted above but not listed in the reports "
                     "(beyond max_findings_per_rule per rule and target)")
    remediation = summary.get("remediation")
    if isinstance(remediation, Mapping):
        tally = ", ".join(f"{_c(k, 20)} {v}" for k, v in (remediation.get("by_status") or {}).items() if v)
        lines.append(f"Remediation: {remediation.get('dockerfiles', 0)} Dockerfile(s)"
                     + (f" ({tally})" if tally else "")
                     + f"; {remediation.get('rules_fixed', 0)} rule finding(s) fixed on disk")
    by_rule = summary.get("findings_by_rule") or {}
    if by_rule:
        ranked = sorted(
            by_rule.items(), key=lambda i: (-i[1], severity_rank((rules.get(i[0]) or {}).get("severity")), i[0])
        )
        lines.append("Top rules:")
        for rule_id, count in ranked[:top]:
            rule = rules.get(rule_id) or {}
            lines.append(
                f"  {_c(rule_id, 40):<8} {count:>5}  {normalize_severity(rule.get('severity')):<8} "
                f"{_c(rule.get('title') or '', 70)}"
            )
    worst = []
    down = []
    for name, host in (report.get("hosts") or {}).items():
        if host.get("status") != "ok":
            down.append(
                f"  {_c(name, 60)}: {_c(host.get('status'), 20)}: {shortened(host.get('message') or 'no message', 300)}"
            )
        counts = {s: 0 for s in SEVERITIES}
        for target in host.get("targets") or []:
            for finding in target.get("findings") or []:
                if is_open(finding):
                    counts[normalize_severity(finding.get("severity"))] += weight(finding)
        total = sum(counts.values())
        if total:
            worst.append((tuple(-counts[s] for s in SEVERITIES), name, total, counts))
    if worst:
        worst.sort(key=lambda w: (w[0], w[1]))
        lines.append("Worst hosts:")
        for _key, name, total, counts in worst[:top]:
            detail = ", ".join(f"{s} {counts[s]}" for s in SEVERITIES if counts[s])
            lines.append(f"  {_c(name, 60):<24} {total:>5}  ({detail})")
    targets = []
    for name, host in (report.get("hosts") or {}).items():
        for target in host.get("targets") or []:
            open_rules = sorted({str(f.get("rule_id")) for f in target.get("findings") or [] if is_open(f)})
            if open_rules:
                n_open = sum(weight(f) for f in target.get("findings") or [] if is_open(f))
                where = target.get("path") or target.get("image") or target.get("name") or "?"
                targets.append((-n_open, name, where, n_open, open_rules))
    if targets:
        targets.sort()
        lines.append("Worst targets:")
        for _key, name, where, n_open, open_rules in targets[: top * 2]:
            lines.append(f"  {n_open:>3}  {_c(name, 40)}:{_c(where, 90)}  {_c(' '.join(open_rules), 120)}")
        if len(targets) > top * 2:
            lines.append(f"  ... and {len(targets) - top * 2} more (see report.html)")
    if down:
        lines.append("Not scanned:")
        lines.extend(down[: max(top, 10)])
        if len(down) > max(top, 10):
            lines.append(f"  ... and {len(down) - max(top, 10)} more")
    diff = report.get("diff")
    if isinstance(diff, Mapping):
        counts = diff.get("counts") or {}
        lines.append(
            f"Since {_c(diff.get('previous_generated_at'), 40)}: {counts.get('new', 0)} new, "
            f"{counts.get('fixed', 0)} fixed, "
            f"{counts.get('still_open', 0)} still open, {counts.get('waived', 0)} newly waived, "
            f"{counts.get('not_rechecked', 0)} not rechecked"
        )
    merge = report.get("merge")
    if isinstance(merge, Mapping):
        for mismatch in merge.get("mismatches") or []:
            lines.append(f"WARNING: {_c(mismatch, 200)}")
    return "\n".join(lines) + "\n"
