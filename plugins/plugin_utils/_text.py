# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The findings summary, rendered for report.txt and for the console (controller side, pure).

Counts by severity, the rules that fail most, the worst hosts, hosts that
could not be scanned and the change since the previous report.  Every value
from data is shown on one line with its control characters escaped
(``\\x1b[2J``, ``\\u2028``: module_utils/_printable.py), so a hostile path cannot
repaint the operator's terminal and still shows what is really there.

The parts both texts show are computed here once: a host's open findings by severity
(:func:`open_counts`), the rules that fail most (:func:`ranked_rules`), the worst hosts
(:func:`worst_hosts`), what judged the run (:func:`judged_lines`), the run outcome
(:func:`completeness_lines`) and the severity lists. Two layouts put them on lines:
:func:`render_text` (report.txt and the report module's ``text``) and :func:`format_summary`
(the refarch_summary callback's end-of-run lines, compact and indented under its head line;
it only knows the report's ``summary`` and what it saw of each host during the run).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ansible_collections.refarch.containers.plugins.module_utils._printable import printable
from ansible_collections.refarch.containers.plugins.plugin_utils._provenance import describe
from ansible_collections.refarch.containers.plugins.plugin_utils._report import (
    SEVERITIES,
    is_open,
    normalize_severity,
    severity_rank,
    target_locator,
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


def severity_list(counts: Mapping[str, Any]) -> str:
    """``critical 0, high 4, medium 18, low 11, info 4``: every severity, most severe first."""
    return ", ".join(f"{s} {counts.get(s, 0)}" for s in SEVERITIES)


def severity_detail(counts: Mapping[str, Any]) -> str:
    """``high 4, medium 18``: the severities that have a count."""
    return ", ".join(f"{s} {counts[s]}" for s in SEVERITIES if counts.get(s))


def worst_key(counts: Mapping[str, Any]) -> tuple[int, ...]:
    """Sort key of a host by its open findings: most critical first, then high, ..."""
    return tuple(-counts.get(s, 0) for s in SEVERITIES)


def open_counts(findings: Iterable[Any]) -> dict[str, int]:
    """Open (not waived) findings by severity, every severity, most severe first; a finding counts with those
    folded into it (``weight``)."""
    counts = dict.fromkeys(SEVERITIES, 0)
    for finding in findings:
        if isinstance(finding, Mapping) and is_open(finding):
            counts[normalize_severity(finding.get("severity"))] += weight(finding)
    return counts


def ranked_rules(by_rule: Mapping[str, Any], rules: Mapping[str, Any] | None = None) -> list[tuple[str, Any]]:
    """``(rule id, open findings)``, most findings first; ties by severity when ``rules`` (the report's rule
    catalog) gives it, then by rule id."""
    catalog = rules or {}
    return sorted(by_rule.items(), key=lambda item: (
        -int(item[1]), severity_rank((catalog.get(item[0]) or {}).get("severity")), str(item[0])))


def worst_hosts(tallies: Iterable[tuple[str, Mapping[str, int]]]) -> list[tuple[str, int, Mapping[str, int]]]:
    """``(host, open findings, counts by severity)`` of the hosts with open findings, worst first
    (:func:`worst_key`, then by name); ``tallies`` is ``(host, counts by severity)`` pairs."""
    worst = [(worst_key(counts), name, sum(counts.values()), counts) for name, counts in tallies]
    worst = [entry for entry in worst if entry[2]]
    worst.sort(key=lambda entry: (entry[0], entry[1]))
    return [(name, total, counts) for _key, name, total, counts in worst]


def judged_lines(judged: Any, label: str, indent: str = "") -> list[str]:
    """What judged the run (engine, backend, versions; :func:`_provenance.describe`) and its warnings, or nothing
    when ``judged`` is not the report's ``judged_by``."""
    if not isinstance(judged, Mapping):
        return []
    return [f"{indent}{label}: {_c(describe(judged), 300)}",
            *(f"{indent}WARNING: {_c(w, 400)}" for w in judged.get("warnings") or [])]


def node_scope_lines(report: Mapping[str, Any], *, top: int = 5) -> list[str]:
    """``Node scope: 12 node, 13 not Node.js, 0 unknown`` and the first not-judged targets with why."""
    summary = report.get("summary") or {}
    by_scope = summary.get("targets_by_node_scope")
    if not isinstance(by_scope, Mapping):
        return []
    lines = [f"Node scope: {by_scope.get('node', 0)} node, {by_scope.get('not_node', 0)} not Node.js, "
             f"{by_scope.get('unknown', 0)} unknown (judged as Node.js)"]
    skipped = []
    for name, host in sorted((report.get("hosts") or {}).items()):
        for target in host.get("targets") or []:
            if target.get("status") == "not_node":
                why = [e.get("detail") for e in (target.get("node_scope") or {}).get("evidence") or []
                       if e.get("node") is False]
                skipped.append(f"  {_c(name, 60)}:{_c(target_locator(target), 200)}"
                               + (f" ({shortened(why[0], 120)})" if why else ""))
    if skipped:
        lines.append("Not Node.js, not judged:")
        lines += skipped[:top] + ([f"  ... and {len(skipped) - top} more"] if len(skipped) > top else [])
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
        + (f"; {summary.get('not_node_targets')} not Node.js, not judged" if summary.get("not_node_targets") else "")
        + ")",
        *node_scope_lines(report, top=top),
        f"Open findings: {summary.get('findings', 0)} ("
        + severity_list(sev)
        + f"); waived {summary.get('waived', 0)}, expired waivers {summary.get('expired_waivers', 0)}",
    ]
    lines[1:1] = judged_lines(report.get("judged_by"), "Judged by")
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
        lines.append("Top rules:")
        for rule_id, count in ranked_rules(by_rule, rules)[:top]:
            rule = rules.get(rule_id) or {}
            lines.append(
                f"  {_c(rule_id, 40):<8} {count:>5}  {normalize_severity(rule.get('severity')):<8} "
                f"{_c(rule.get('title') or '', 70)}"
            )
    down = []
    tallies = []
    for name, host in (report.get("hosts") or {}).items():
        if host.get("status") != "ok":
            down.append(
                f"  {_c(name, 60)}: {_c(host.get('status'), 20)}: {shortened(host.get('message') or 'no message', 300)}"
            )
        tallies.append((name, open_counts(f for target in host.get("targets") or []
                                          for f in target.get("findings") or [])))
    worst = worst_hosts(tallies)
    if worst:
        lines.append("Worst hosts:")
        for name, total, counts in worst[:top]:
            detail = severity_detail(counts)
            lines.append(f"  {_c(name, 60):<24} {total:>5}  ({detail})")
    targets = []
    for name, host in (report.get("hosts") or {}).items():
        for target in host.get("targets") or []:
            open_rules = sorted({str(f.get("rule_id")) for f in target.get("findings") or [] if is_open(f)})
            if open_rules:
                n_open = sum(weight(f) for f in target.get("findings") or [] if is_open(f))
                where = target.get("path") or target.get("image") or target.get("name") or "?"
                build = target.get("build") if isinstance(target.get("build"), dict) else None
                if build:  # which declared build of the Dockerfile
                    where += f" [{build.get('target') or 'last stage'} @ {build.get('context')}]"
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


# --------------------------------------------------------------------------- the console summary
# (refarch_summary callback: the end-of-run lines, compact, from the report summary and per-host tallies)


def _hosts_text(names: list[str], every: int, top: int) -> str:
    if len(names) == every and every > 1:
        return f"every host ({every})"
    shown = ", ".join(_c(n, 60) for n in names[:top])
    return shown + (f" and {len(names) - top} more" if len(names) > top else "")


def _roots_lines(hosts: Mapping[str, Mapping[str, Any]], top: int = 5) -> list[str]:
    """``roots scanned`` per group of hosts that walked the same roots, and ``roots missing`` (or unusable) per root."""
    walked = {str(n): e for n, e in hosts.items() if "roots" in e}
    if not walked:
        return []
    scanned: dict[tuple, list[str]] = {}
    missing: dict[tuple, list[str]] = {}
    for name in sorted(walked):
        scanned.setdefault(tuple(walked[name]["roots"]), []).append(name)
        for root, code in sorted((walked[name].get("missing_roots") or {}).items()):
            missing.setdefault((root, code), []).append(name)
    lines = ["  roots scanned: " + "; ".join(
        f"{', '.join(_c(r, 120) for r in roots) or 'none'} on {_hosts_text(names, len(walked), top)}"
        for roots, names in sorted(scanned.items(), key=lambda item: -len(item[1])))]
    if missing:
        lines.append("  roots missing or unusable: " + "; ".join(
            f"{_c(root, 120)}{'' if code == 'root_not_found' else f' ({_c(code, 40)})'} on "
            f"{_hosts_text(names, len(walked), top)}" for (root, code), names in sorted(missing.items())))
    return lines


def format_summary(summary: Mapping[str, Any], hosts: Mapping[str, Mapping[str, Any]], top: int = 5,
                   files: Any = None, judged: Any = None) -> list[str]:
    """Render the end-of-run summary lines from a report ``summary`` and per-host tallies.

    ``summary`` has the shape of report.json's ``summary`` (hosts_by_status, targets, compliant_targets,
    findings, findings_by_severity, findings_by_rule, waived ...); ``hosts`` maps a host name to
    ``{"status": str, "message": str, "open": {severity: count}}`` as seen during the run (``open`` as
    :func:`open_counts` makes it); ``judged`` is the report's ``judged_by`` (engine, backend, versions,
    warnings). The callback prints these lines as they are. Pure.
    """
    by_status = summary.get("hosts_by_status") or {}
    if not by_status and hosts:
        for entry in hosts.values():
            by_status[entry.get("status", "ok")] = by_status.get(entry.get("status", "ok"), 0) + 1
    host_total = summary.get("hosts", sum(by_status.values()))
    compliant = summary.get("compliant_targets", 0)
    pct = summary.get("compliance_percent")
    line = (f"refarch summary: {host_total} hosts ({by_status.get('ok', 0)} ok, {by_status.get('unreachable', 0)} "
            f"unreachable, {by_status.get('failed', 0)} failed); {summary.get('targets', 0)} targets, "
            f"{compliant} compliant")
    if isinstance(pct, (int, float)):
        line += f" ({pct:g}%)"
    if summary.get("not_node_targets"):
        line += f", {summary['not_node_targets']} not Node.js (not judged)"
    lines = [line]
    if "complete" in summary:
        # the run outcome, the same story as the exit status (report.json summary.complete)
        where = (files or {}).get("json") if isinstance(files, Mapping) else None
        lines += ["  " + t for t in completeness_lines(summary, top=top, where=_c(where or "report.json", 300))]
    lines += judged_lines(judged, "judged by", "  ")
    severity = summary.get("findings_by_severity") or {}
    lines.append(
        f"  open findings: {summary.get('findings', sum(severity.values()))} ("
        + severity_list(severity)
        + f"); waived {summary.get('waived', 0)}"
    )
    by_rule = summary.get("findings_by_rule") or {}
    if by_rule:
        # no rule catalog here: ties go by rule id
        lines.append("  top rules: " + ", ".join(f"{_c(rule, 40)} {count}"
                                                 for rule, count in ranked_rules(by_rule)[:top]))
    worst = worst_hosts((str(name), entry.get("open") or {}) for name, entry in hosts.items())
    if worst:
        lines.append("  worst hosts: " + ", ".join(
            f"{_c(name, 60)} {total}" + (f" ({severity_detail(counts)})" if severity_detail(counts) else "")
            for name, total, counts in worst[:top]))
    down = sorted((str(n), e) for n, e in hosts.items() if e.get("status") not in (None, "ok"))
    if down:
        shown = ", ".join(f"{_c(name, 60)} ({_c(entry.get('status'), 20)})" for name, entry in down[:10])
        more = f" and {len(down) - 10} more" if len(down) > 10 else ""
        lines.append(f"  not scanned: {shown}{more}")
    lines += _roots_lines(hosts, top)
    if isinstance(files, Mapping):
        html = files.get("html") or files.get("report.html")
        if html:
            lines.append(f"  report: {_c(html, 300)}")
    elif isinstance(files, list):
        html = [f for f in files if str(f).endswith(".html")]
        if html:
            lines.append(f"  report: {_c(html[0], 300)}")
    return lines
