# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Self-contained HTML dashboard for ``report.json`` (controller side, pure).

The page needs nothing at view time: CSS is inline, charts are inline SVG, and
one small inline script filters the findings (by rule, severity, host and text;
presets from the URL: ``#rule=NRA001&severity=high&host=web1&q=npm``).  Without
JavaScript everything is still on the page: hosts and targets fold into
``<details>`` (folded from the start when the report is estate-sized), and the
filter bar stays hidden.  A Content-Security-Policy meta tag forbids every
script but that one (``script-src 'sha256-...'``, its hash), every network fetch
(``default-src 'none'``) and allows only the page's own stylesheet (by its
SHA-256 hash), so even a rendering bug could not make injected markup execute
or phone home.

Every value that comes from data (host names, paths, image tags, messages,
waiver reasons...) goes through :func:`_e`: ANSI escape sequences and control
characters are removed (:func:`clean_text`) and the rest is HTML-escaped,
quotes included.  No value from data is ever placed in an element name, an
attribute name, a URL, a ``style`` or a ``class`` (only, escaped, in the values of
``data-*`` attributes and ``<option>`` values the filter reads as text).
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import html
import math
from collections.abc import Iterable, Mapping
from typing import Any, Optional

from ansible_collections.refarch.containers.plugins.plugin_utils._html_assets import CSS as _CSS
from ansible_collections.refarch.containers.plugins.plugin_utils._html_assets import JS as _JS
from ansible_collections.refarch.containers.plugins.plugin_utils._report import (
    SEVERITIES,
    build_label,
    folded_text,
    is_open,
    normalize_severity,
    parse_timestamp,
    severity_rank,
    target_locator,
    weight,
)
from ansible_collections.refarch.containers.plugins.plugin_utils._report_sanitize import clean_text

SEVERITY_COLOURS = {
    "critical": "#7f1d1d",
    "high": "#dc2626",
    "medium": "#ea8a0c",
    "low": "#2563eb",
    "info": "#64748b",
}
STATUS_COLOURS = {"ok": "#16a34a", "unreachable": "#9333ea", "failed": "#dc2626"}
EXPIRY_WARNING_DAYS = 30
WAIVED_ROW = ' class="waived"'
#: Tables (hosts, waivers) longer than this start folded.
FOLD_ROWS = 50
#: Reports with more targets than this start with every host and target folded.
COLLAPSE_ABOVE = 200


def _e(value: Any, limit: int | None = 4000, single_line: bool = True) -> str:
    """Clean and HTML-escape a value from data."""
    return html.escape(clean_text(value, single_line=single_line, limit=limit), quote=True)


def _n(value: Any) -> str:
    """Format a number from data (never trusted as markup)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "0" if value is None else _e(value, 40)
    if isinstance(value, float):
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return str(value)


def _badge(css: str, text: str) -> str:
    # css is always one of this module's own class names, never data
    return f'<span class="badge {css}">{_e(text, 60)}</span>'


def _sev_badge(severity: Any) -> str:
    sev = normalize_severity(severity)
    return _badge(f"sev-{sev}", sev)


def _donut(parts: list[tuple[str, int, str]], centre: str, caption: str) -> str:
    """An SVG donut: ``parts`` = [(label, value, colour)]; colours are this module's constants."""
    total = sum(part[1] for part in parts)
    size, radius, stroke = 132, 52, 18
    circumference = 2 * math.pi * radius
    out = [
        f'<svg width="{size}" height="{size}" viewBox="0 0 {size} {size}" role="img" aria-label="{_e(caption)}">',
        f'<circle cx="66" cy="66" r="{radius}" fill="none" stroke="#e2e8f0" stroke-width="{stroke}"/>',
    ]
    offset = 0.0
    if total:
        for _label, value, colour in parts:
            if not value:
                continue
            length = circumference * value / total
            out.append(
                f'<circle cx="66" cy="66" r="{radius}" fill="none" stroke="{colour}" stroke-width="{stroke}" '
                f'stroke-dasharray="{length:.2f} {circumference - length:.2f}" stroke-dashoffset="{-offset:.2f}" '
                f'transform="rotate(-90 66 66)"/>'
            )
            offset += length
    out.append(
        '<text x="66" y="64" text-anchor="middle" font-size="24" font-weight="700" fill="#0f172a">'
        f"{_e(centre, 20)}</text>"
        f'<text x="66" y="84" text-anchor="middle" font-size="11" fill="#64748b">{_e(caption, 40)}</text></svg>'
    )
    legend = ["<ul class=\"legend\">"]
    for label, value, colour in parts:
        legend.append(
            f'<li><svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" rx="3" fill="{colour}"/>'
            f"</svg>{_e(label, 60)}<span class=\"n\">{_n(value)}</span></li>"
        )
    legend.append("</ul>")
    return f'<div class="chart">{"".join(out)}{"".join(legend)}</div>'


def _bar(fraction: float | None, colour: str = "#16a34a", width: int = 140) -> str:
    """A small horizontal bar (SVG) showing ``fraction`` (0..1); empty track when None."""
    track = f'<rect width="{width}" height="10" rx="5" fill="#e2e8f0"/>'
    fill = ""
    if fraction is not None:
        w = max(0.0, min(1.0, fraction)) * width
        if w > 0:
            fill = f'<rect width="{w:.1f}" height="10" rx="5" fill="{colour}"/>'
    return f'<svg width="{width}" height="10" aria-hidden="true">{track}{fill}</svg>'


def _stacked(counts: Mapping[str, int], width: int = 140) -> str:
    total = sum(counts.get(s, 0) for s in SEVERITIES)
    parts = [f'<rect width="{width}" height="10" rx="5" fill="#e2e8f0"/>']
    x = 0.0
    if total:
        for sev in SEVERITIES:
            value = counts.get(sev, 0)
            if value:
                w = width * value / total
                parts.append(f'<rect x="{x:.1f}" width="{w:.1f}" height="10" fill="{SEVERITY_COLOURS[sev]}"/>')
                x += w
    return f'<svg width="{width}" height="10" aria-hidden="true">{"".join(parts)}</svg>'


def _pct(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _pct_text(fraction: float | None) -> str:
    return "n/a" if fraction is None else f"{fraction * 100:.0f}%"


def _report_date(report: Mapping[str, Any]) -> _dt.date | None:
    try:
        return parse_timestamp(str(report.get("generated_at"))).date()
    except ValueError:
        return None


def _waiver_status(expires: Any, today: _dt.date | None) -> tuple[str, str]:
    if not expires or today is None:
        return "st-active", "active"
    try:
        day = _dt.date.fromisoformat(str(expires)[:10])
    except ValueError:
        return "st-active", "active"
    days = (day - today).days
    if days < 0:
        return "st-expired", "expired"
    if days <= EXPIRY_WARNING_DAYS:
        return "st-expiring", f"{days} days left"
    return "st-active", "active"


def _all(report: Mapping[str, Any]) -> Iterable[tuple[str, Mapping[str, Any], Mapping[str, Any]]]:
    for host, entry in (report.get("hosts") or {}).items():
        for target in entry.get("targets") or []:
            for finding in target.get("findings") or []:
                yield host, target, finding


def _section_kpis(summary: Mapping[str, Any]) -> str:
    hosts_by = summary.get("hosts_by_status") or {}
    sev = summary.get("findings_by_severity") or {}
    compliant, targets = summary.get("compliant_targets", 0), summary.get("targets", 0)
    checked = compliant + summary.get("noncompliant_targets", 0)
    down = hosts_by.get("unreachable", 0) + hosts_by.get("failed", 0)
    scopes = summary.get("targets_by_node_scope") or {}
    cards = [
        ("kpi-hosts", "Hosts", _n(summary.get("hosts", 0)),
         f"{_n(hosts_by.get('ok', 0))} ok · {_n(hosts_by.get('unreachable', 0))} unreachable · "
         f"{_n(hosts_by.get('failed', 0))} failed", "warn" if down else ""),
        ("kpi-targets", "Targets", _n(targets),
         " · ".join(f"{_n(v)} {_e(k)}" for k, v in (summary.get("targets_by_kind") or {}).items() if v) or "none found",
         ""),
        ("kpi-compliant", "Compliant targets", _n(compliant),
         f"{_pct_text(_pct(compliant, checked))} of {_n(checked)} checked"
         + (f" · {_n(summary.get('error_targets', 0))} unreadable" if summary.get("error_targets") else ""),
         "good" if checked and compliant == checked else ""),
        ("kpi-findings", "Open findings", _n(summary.get("findings", 0)),
         f"{_n(sev.get('critical', 0))} critical · {_n(sev.get('high', 0))} high",
         "bad" if summary.get("findings") else "good"),
        ("kpi-not-node", "Not Node.js", _n(summary.get("not_node_targets", 0)),
         f"not judged · {_n(scopes.get('node', 0))} node · {_n(scopes.get('unknown', 0))} unknown", ""),
        ("kpi-waived", "Waived", _n(summary.get("waived", 0)), "accepted by a waiver", ""),
        ("kpi-expired", "Expired waivers", _n(summary.get("expired_waivers", 0)), "findings open again",
         "warn" if summary.get("expired_waivers") else ""),
    ]
    out = ['<section class="kpis" aria-label="Totals">']
    for ident, label, value, sub, tone in cards:
        out.append(
            f'<div class="kpi {tone}" id="{ident}"><div class="kpi-value">{value}</div>'
            f'<div class="kpi-label">{label}</div><div class="kpi-sub">{sub}</div></div>'
        )
    out.append("</section>")
    return "".join(out)


def _section_charts(summary: Mapping[str, Any]) -> str:
    sev = summary.get("findings_by_severity") or {}
    sev_parts = [(s, int(sev.get(s, 0) or 0), SEVERITY_COLOURS[s]) for s in SEVERITIES]
    compliant = int(summary.get("compliant_targets", 0) or 0)
    noncompliant = int(summary.get("noncompliant_targets", 0) or 0)
    errors = int(summary.get("error_targets", 0) or 0)
    checked = compliant + noncompliant
    comp_parts = [("compliant", compliant, "#16a34a"), ("non-compliant", noncompliant, "#dc2626"),
                  ("unreadable", errors, "#b45309"),
                  ("not Node.js", int(summary.get("not_node_targets", 0) or 0), "#94a3b8")]
    hosts = summary.get("hosts_by_status") or {}
    host_parts = [(s, int(hosts.get(s, 0) or 0), STATUS_COLOURS[s]) for s in ("ok", "unreachable", "failed")]
    return (
        '<section class="panels">'
        f'<div class="panel" id="chart-compliance"><h2>Target compliance</h2>'
        f'{_donut(comp_parts, _pct_text(_pct(compliant, checked)), "compliant")}</div>'
        f'<div class="panel" id="chart-severity"><h2>Open findings by severity</h2>'
        f'{_donut(sev_parts, _n(summary.get("findings", 0)), "open findings")}</div>'
        f'<div class="panel" id="chart-hosts"><h2>Host status</h2>'
        f'{_donut(host_parts, _n(summary.get("hosts", 0)), "hosts")}</div>'
        "</section>"
    )


def _section_rules(report: Mapping[str, Any]) -> str:
    rules = report.get("rules") or {}
    # (kind, rule scopes that judged it or None for every scope) of each target a rule could have judged: a
    # target in error was not evaluated, a not-Node.js target the run did not judge is judged by no rule.
    judged: list[tuple[str, Optional[frozenset]]] = []
    affected: dict[str, set] = {}
    waived: dict[str, int] = {}
    open_count: dict[str, int] = {}
    for host, entry in (report.get("hosts") or {}).items():
        for target in entry.get("targets") or []:
            if target.get("status") != "error":
                scope = target.get("node_scope")
                scopes = scope.get("rules") if isinstance(scope, dict) else None
                judged.append((target.get("kind", "dockerfile"),
                               frozenset(str(s) for s in scopes) if isinstance(scopes, list) else None))
            for finding in target.get("findings") or []:
                rid = str(finding.get("rule_id"))
                if is_open(finding):
                    open_count[rid] = open_count.get(rid, 0) + weight(finding)
                    affected.setdefault(rid, set()).add((host, target.get("kind"), target_locator(target)))
                else:
                    waived[rid] = waived.get(rid, 0) + weight(finding)
    checked = sum(1 for _kind, scopes in judged if scopes is None or scopes)
    rule_ids = set(rules) | set(open_count) | set(waived)
    rows = []

    def order(rid: str) -> tuple:
        return (-len(affected.get(rid, ())), severity_rank((rules.get(rid) or {}).get("severity")), rid)

    for rid in sorted(rule_ids, key=order):
        rule = rules.get(rid) or {}
        kinds = rule.get("kinds") or rule.get("targets")
        kinds = set(kinds) if isinstance(kinds, list) and kinds else None
        rule_scope = rule.get("scope")
        applicable = sum(1 for kind, scopes in judged
                         if (kinds is None or kind in kinds)
                         and (scopes is None or (rule_scope in scopes if rule_scope else bool(scopes))))
        bad = len(affected.get(rid, ()))
        fraction = _pct(max(applicable - bad, 0), applicable)
        colour = "#16a34a" if not bad else ("#ea8a0c" if (fraction or 0) >= 0.8 else "#dc2626")
        advisory = ' <span class="muted">(advisory)</span>' if rule.get("advisory") else ""
        rows.append(
            f"<tr><td class=\"mono nowrap\">{_e(rid, 80)}</td><td>{_e(rule.get('title') or rid, 300)}{advisory}"
            + (f'<div class="muted small">{_e(rule["recommended_action"], 600)}</div>'
               if rule.get("recommended_action") else "")
            + "</td>"
            f"<td>{_sev_badge(rule.get('severity'))}</td>"
            f"<td class=\"num\">{_n(bad)}</td><td class=\"num\">{_n(open_count.get(rid, 0))}</td>"
            f"<td class=\"num\">{_n(waived.get(rid, 0))}</td>"
            f"<td class=\"bar\">{_bar(fraction, colour)}</td><td class=\"num\">{_pct_text(fraction)}</td></tr>"
        )
    if not rows:
        return (
            '<section id="rules"><h2>Compliance by rule</h2>'
            '<div class="empty">No rules in the report.</div></section>'
        )
    return (
        f'<section id="rules"><h2>Compliance by rule<span class="count">{_n(len(rows))} rules · '
        f'{_n(checked)} judged targets</span></h2><div class="tw"><table><thead><tr>'
        "<th>Rule</th><th>Recommendation</th>"
        '<th>Severity</th><th class="num">Targets failing</th><th class="num">Open</th><th class="num">Waived</th>'
        '<th>Compliance</th><th class="num">%</th></tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table></div></section>"
    )


def _unfold(rows: int) -> str:
    """`` open`` for a ``<details>`` section short enough to show unfolded."""
    return " open" if rows <= FOLD_ROWS else ""


def _section_hosts(report: Mapping[str, Any]) -> str:
    rows = []
    for index, (host, entry) in enumerate((report.get("hosts") or {}).items()):
        targets = entry.get("targets") or []
        compliant = sum(1 for t in targets if t.get("status") == "compliant")
        checked = sum(1 for t in targets if t.get("status") in ("compliant", "noncompliant"))
        sev = {s: 0 for s in SEVERITIES}
        for target in targets:
            for finding in target.get("findings") or []:
                if is_open(finding):
                    sev[normalize_severity(finding.get("severity"))] += weight(finding)
        status = str(entry.get("status") or "failed")
        status_css = f"st-{status}" if status in STATUS_COLOURS else "st-failed"
        fraction = _pct(compliant, checked) if status == "ok" else None
        message = f'<div class="muted small">{_e(entry.get("message"), 160)}</div>' if entry.get("message") else ""
        rows.append(
            f'<tr><td class="host"><a class="mono" href="#host-{index}">{_e(host, 300)}</a>{message}</td>'
            f"<td>{_badge(status_css, status)}</td>"
            f'<td class="num">{_n(len(targets))}</td><td class="num">{_n(compliant)}</td>'
            f'<td class="num">{_n(sum(sev.values()))}</td><td class="bar">{_stacked(sev, 120)}</td>'
            f'<td class="bar">{_bar(fraction, width=120)}</td><td class="num">{_pct_text(fraction)}</td></tr>'
        )
    if not rows:
        return (
            '<section id="hosts"><h2>Compliance by host</h2>'
            '<div class="empty">No hosts in the report.</div></section>'
        )
    return (
        f'<section id="hosts"><details class="sec"{_unfold(len(rows))}><summary><h2>Compliance by host'
        f'<span class="count">{_n(len(rows))} hosts</span></h2></summary>'
        '<div class="tw"><table><thead><tr><th>Host</th><th>Status</th><th class="num">Targets</th>'
        '<th class="num">Compliant</th>'
        '<th class="num">Open findings</th><th>By severity</th><th>Compliance</th>'
        '<th class="num">%</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table></div></details></section>"
    )


def _section_diff(report: Mapping[str, Any]) -> str:
    diff = report.get("diff")
    if not isinstance(diff, Mapping):
        return ""
    counts = diff.get("counts") or {}
    rows = []
    for bucket, css, label in (("new", "st-new", "new"), ("fixed", "st-fixed", "fixed"),
                               ("waived", "st-waived", "now waived"), ("not_rechecked", "st-unknown", "not rechecked")):
        for entry in diff.get(bucket) or []:
            line = f":{_n(entry.get('line'))}" if entry.get("line") is not None else ""
            rows.append(
                f"<tr><td>{_badge(css, label)}</td><td>{_sev_badge(entry.get('severity'))}</td>"
                f"<td class=\"mono\">{_e(entry.get('rule_id'), 80)}</td>"
                f"<td class=\"mono\">{_e(entry.get('host'), 300)}</td>"
                f"<td class=\"mono\">{_e(entry.get('target'), 1000)}{line}</td>"
                f"<td class=\"pre\">{_e(entry.get('message'), 2000, False)}</td></tr>"
            )
    table = (
        '<div class="tw"><table><thead><tr><th>Change</th><th>Severity</th><th>Rule</th><th>Host</th>'
        "<th>Target</th><th>Message</th>"
        "</tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>"
        if rows else '<div class="empty">No new or fixed findings.</div>'
    )
    return (
        f'<section id="diff"><h2>Changes since '
        f'{_e(diff.get("previous_generated_at") or "the previous report", 80)}</h2>'
        f'<div class="kpis">'
        f'<div class="kpi bad" id="diff-new"><div class="kpi-value">{_n(counts.get("new", 0))}</div>'
        f'<div class="kpi-label">New</div></div>'
        f'<div class="kpi good" id="diff-fixed"><div class="kpi-value">{_n(counts.get("fixed", 0))}</div>'
        f'<div class="kpi-label">Fixed</div></div>'
        f'<div class="kpi" id="diff-still-open"><div class="kpi-value">{_n(counts.get("still_open", 0))}</div>'
        f'<div class="kpi-label">Still open</div></div>'
        f'<div class="kpi" id="diff-waived"><div class="kpi-value">{_n(counts.get("waived", 0))}</div>'
        f'<div class="kpi-label">Now waived</div></div>'
        f'<div class="kpi" id="diff-not-rechecked"><div class="kpi-value">{_n(counts.get("not_rechecked", 0))}</div>'
        f'<div class="kpi-label">Not rechecked</div><div class="kpi-sub">host down or file unreadable</div></div>'
        f'</div><div class="gap"></div>{table}</section>'
    )


def _fix_cell(finding: Mapping[str, Any]) -> str:
    """The fix id (the recommended action is said once per rule, in the rules table: pages stay small)."""
    if finding.get("fix") and finding.get("fix") != "manual":
        return f"<code>{_e(finding['fix'], 100)}</code>"
    return '<span class="muted">manual</span>' if finding.get("fix") == "manual" else '<span class="muted">-</span>'


def _scope_parts(target: Mapping[str, Any]) -> tuple[str, str]:
    """The target's node scope as a badge and a line with its evidence (``+`` Node.js, ``-`` not); nothing without."""
    scope = target.get("node_scope") if isinstance(target.get("node_scope"), Mapping) else {}
    kind = scope.get("classification")
    if kind not in ("node", "not_node", "unknown"):
        return "", ""
    marks = {True: "+", False: "-"}
    evidence = "; ".join(f"{marks.get(e.get('node'), '·')} {_e(e.get('detail'), 300)}"
                         for e in (scope.get("evidence") or [])[:8] if isinstance(e, Mapping))
    return (_badge("ns-" + kind, {"node": "node", "not_node": "not node", "unknown": "node?"}[kind]),
            f'<div class="muted small">Node scope: {_e(kind, 20)}{"" if scope.get("judged", True) else " (not judged)"}'
            + (f" — {evidence}" if evidence else "") + "</div>")


def _section_findings(report: Mapping[str, Any]) -> str:
    blocks = []
    # an estate-sized report starts with every host and target folded (its summary line still says
    # how many open findings it holds); a small one opens those with something to see
    small = sum(len(e.get("targets") or []) for e in (report.get("hosts") or {}).values()) <= COLLAPSE_ABOVE
    for index, (host, entry) in enumerate((report.get("hosts") or {}).items()):
        status = str(entry.get("status") or "failed")
        status_css = f"st-{status}" if status in STATUS_COLOURS else "st-failed"
        targets = entry.get("targets") or []
        open_total = sum(weight(f) for t in targets for f in t.get("findings") or [] if is_open(f))
        inner = []
        if status != "ok":
            inner.append(
                f'<div class="target"><div class="note">Host {_e(status, 40)}: '
                f'<span class="pre">{_e(entry.get("message") or "no message", 2000, False)}</span>'
                "</div></div>"
            )
        host_problems = entry.get("problems") or []
        if host_problems:
            items = "".join(
                f'<li><span class="mono">{_e(p.get("path") or "", 1000)}</span> {_e(p.get("code") or "", 60)}: '
                f'{_e(p.get("message") or "", 1000)}</li>'
                for p in (x if isinstance(x, Mapping) else {"message": x} for x in host_problems[:200])
            )
            inner.append(f'<div class="target"><div class="note">Scan problems on this host '
                         f'({len(host_problems)}):<ul>{items}</ul></div></div>')
        for target in targets:
            kind = str(target.get("kind") or "dockerfile")
            t_status = str(target.get("status") or "error")
            sha = target.get("sha256") or target.get("id")
            t_open = sum(weight(f) for f in target.get("findings") or [] if is_open(f))
            head = (
                f'<summary class="thead">{_badge("kind", kind)}<span class="mono tpath">'
                f'{_e(target_locator(target), 1000)}</span>'
                + _badge("st-" + t_status if t_status in ("compliant", "noncompliant", "error", "not_node")
                         else "st-error", t_status.replace("_", " "))
                + _scope_parts(target)[0]
                + (f'<span class="sha mono">sha256 {_e(str(sha)[:19], 40)}</span>' if sha else "")
                + f'<span class="right">{_n(t_open)} open</span></summary>'
            )
            body = [_scope_parts(target)[1]]
            built = build_label(target)
            if built:  # how the Dockerfile is built: the declared target, context and descriptor
                body.append(f'<div class="muted small">Built as: {_e(built, 2000)}</div>')
            if target.get("error"):
                error = target["error"] if isinstance(target["error"], Mapping) else {"message": target["error"]}
                body.append(f'<div class="note">Could not be checked: {_e(error.get("message"), 2000)}</div>')
            findings = sorted(
                target.get("findings") or [],
                key=lambda f: (
                    not is_open(f), severity_rank(f.get("severity")), f.get("line") or 0, str(f.get("rule_id"))
                ),
            )
            if findings:
                rows = []
                for finding in findings:
                    waived = not is_open(finding)
                    note = ""
                    if waived:
                        waiver = finding.get("waiver") if isinstance(finding.get("waiver"), Mapping) else {}
                        note = f'<div class="muted">waived: {_e(waiver.get("reason") or "no reason given", 600)}</div>'
                    elif finding.get("waiver_expired"):
                        expired = finding["waiver_expired"] if isinstance(finding["waiver_expired"], Mapping) else {}
                        note = f'<div>{_badge("st-expired", "waiver expired")} {_e(expired.get("expires"), 40)}</div>'
                    if isinstance(finding.get("folded"), int) and finding["folded"] > 0:
                        folded = folded_text(finding["folded"], str(finding.get("rule_id")))
                        note += f'<div class="muted">{_e(folded, 300)}</div>'
                    line_text = _n(finding.get("line")) if finding.get("line") is not None else "-"
                    sev = normalize_severity(finding.get("severity"))  # one of SEVERITIES: markup-safe
                    # data-r / data-s: what the filter script matches (escaped values, never markup)
                    rows.append(
                        f'<tr{WAIVED_ROW if waived else ""} data-r="{_e(finding.get("rule_id"), 80)}" '
                        f'data-s="{sev}"><td><b class="badge sev-{sev}">{sev}</b>'
                        + (f" {_badge('st-waived', 'waived')}" if waived else "")
                        + f'</td><td>{_e(finding.get("rule_id"), 80)}</td><td>{line_text}</td>'
                        f'<td>{_e(finding.get("message"), 3000, False)}{note}</td>'
                        f"<td>{_fix_cell(finding)}</td></tr>"
                    )
                body.append(
                    '<div class="tw"><table class="f"><thead><tr><th>Severity</th><th>Rule</th><th>Line</th>'
                    "<th>Finding</th><th>Fix</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>"
                )
            elif t_status == "not_node":
                body.append('<div class="empty">Not Node.js: not judged (refarch_node_scope: node).</div>')
            elif not target.get("error"):
                body.append('<div class="empty">No findings.</div>')
            for raw_problem in target.get("problems") or []:
                problem = raw_problem if isinstance(raw_problem, Mapping) else {"message": raw_problem}
                where = f"line {_n(problem.get('line'))}: " if problem.get("line") is not None else ""
                body.append(
                    f'<div class="muted small">Parse note ({_e(problem.get("code") or "problem", 60)}): '
                    f"{where}{_e(problem.get('message'), 1000)}</div>"
                )
            unfold = " open" if small and (t_open or target.get("error")) else ""
            inner.append(f'<details class="target" data-t="{_e(target_locator(target), 1000)}"{unfold}>'
                         f'{head}{"".join(body)}</details>')
        if not targets and status == "ok":
            inner.append('<div class="target"><div class="empty">No targets found on this host.</div></div>')
        trouble = status != "ok" or any(t.get("error") for t in targets)
        expand = " open" if status != "ok" or (small and (open_total or trouble)) else ""
        blocks.append(
            f'<details class="host" id="host-{index}" data-h="{_e(host, 300)}"{expand}><summary>'
            f'<h3 class="mono">{_e(host, 300)}</h3>'
            f"{_badge(status_css, status)}<span class=\"right\">{_n(len(targets))} targets · "
            f"{_n(open_total)} open findings</span></summary>{''.join(inner)}</details>"
        )
    content = "".join(blocks) or '<div class="empty">No hosts.</div>'
    return f'<section id="findings"><h2>Findings by host</h2>{content}</section>'


def _filter_bar(report: Mapping[str, Any]) -> str:
    """Rule, severity, host and text filters over the findings (top of the page, sticky); ``hidden`` until
    the page's script shows it.

    Without JavaScript the bar stays hidden and every finding is on the page (hosts and targets fold
    into ``<details>``); the script only hides rows that do not match.  Presets come from the URL:
    ``report.html#rule=NRA001&severity=high&host=web1&q=npm`` (or the same as a query string).
    """
    rules = report.get("rules") or {}
    rule_ids = sorted(set(rules) | {str(f.get("rule_id")) for _h, _t, f in _all(report)})
    options = "".join(
        f'<option value="{_e(r, 80)}">{_e(r, 80)} {_e((rules.get(r) or {}).get("title") or "", 120)}</option>'
        for r in rule_ids
    )
    severities = "".join(f'<option value="{s}">{s}</option>' for s in SEVERITIES)
    hosts = "".join(f'<option value="{_e(h, 300)}">{_e(h, 300)}</option>' for h in (report.get("hosts") or {}))
    return (
        '<div class="filter" id="filter" role="search" hidden>'
        f'<label>Rule <select id="f-rule"><option value="">all rules</option>{options}</select></label>'
        f'<label>Severity <select id="f-severity"><option value="">all</option>{severities}</select></label>'
        f'<label>Host <select id="f-host"><option value="">all hosts</option>{hosts}</select></label>'
        '<label>Text <input id="f-q" type="search" placeholder="path, message, fix..." size="28"></label>'
        '<span id="filter-count" aria-live="polite"></span>'
        '<a href="#findings">to the findings</a></div>'
    )


def _section_waivers(report: Mapping[str, Any]) -> str:
    today = _report_date(report)
    rows = []
    for host, target, finding in _all(report):
        waiver = finding.get("waiver") if not is_open(finding) else None
        expired = finding.get("waiver_expired")
        record = waiver if isinstance(waiver, Mapping) else (expired if isinstance(expired, Mapping) else None)
        if record is None and not (waiver or expired):
            continue
        record = record or {}
        if expired and is_open(finding):
            css, label = "st-expired", "expired"
        else:
            css, label = _waiver_status(record.get("expires"), today)
        line = f":{_n(finding.get('line'))}" if finding.get("line") is not None else ""
        rows.append(
            (
                0 if label == "expired" else (1 if css == "st-expiring" else 2),
                f"<tr><td class=\"nowrap\">{_badge(css, label)}</td>"
                f"<td class=\"mono nowrap\">{_e(finding.get('rule_id'), 80)}</td>"
                f"<td class=\"mono\">{_e(host, 120)}</td>"
                f"<td class=\"mono\">{_e(target_locator(target), 300)}{line}</td>"
                f"<td class=\"pre\">{_e(record.get('reason') or '-', 600, False)}</td>"
                f"<td>{_e(record.get('owner') or '-', 60)}</td>"
                f"<td class=\"mono nowrap\">{_e(record.get('expires') or 'never', 40)}</td>"
                f"<td class=\"nowrap\">{_e(record.get('source') or '-', 40)}</td></tr>",
            )
        )
    if not rows:
        return '<section id="waivers"><h2>Waivers</h2><div class="empty">No waivers applied.</div></section>'
    rows.sort(key=lambda r: r[0])
    return (
        f'<section id="waivers"><details class="sec"{_unfold(len(rows))}><summary><h2>Waivers'
        f'<span class="count">{_n(len(rows))}</span></h2></summary>'
        '<div class="tw"><table class="fixed"><colgroup><col class="c-status"><col class="c-rule">'
        '<col class="c-host"><col class="c-target"><col><col class="c-owner"><col class="c-date"><col class="c-src">'
        "</colgroup><thead><tr>"
        "<th>Status</th><th>Rule</th><th>Host</th><th>Target</th><th>Reason</th><th>Owner</th><th>Expires</th>"
        "<th>Source</th></tr></thead><tbody>" + "".join(r[1] for r in rows)
        + "</tbody></table></div></details></section>"
    )


_REMEDIATION_BADGES = {
    "promoted": "st-fixed", "rewritten": "st-fixed", "planned": "st-open", "unchanged": "st-waived",
    "rolled_back": "st-failed", "refused": "st-failed", "failed": "st-failed", "would_fail": "st-failed",
}


def _rebuild_cell(entry: Mapping[str, Any]) -> str:
    """The rebuild column: what happened to the image, and whether the promoted one was verified."""
    rebuild = entry.get("rebuild")
    if not rebuild:
        return "-"
    if rebuild == "promoted":
        return "promoted, verified" if entry.get("verified") is True else "promoted, not verified"
    return str(rebuild)


def _section_remediation(report: Mapping[str, Any]) -> str:
    """What a remediation run did to each Dockerfile (only in the report of such a run)."""
    counts = (report.get("summary") or {}).get("remediation")
    if not isinstance(counts, Mapping):
        return ""
    rows = []
    for host_name, host in sorted((report.get("hosts") or {}).items()):
        for entry in host.get("remediation") or []:
            status = str(entry.get("status") or "failed")
            fixed = ", ".join(entry.get("rules_fixed") or []) or "-"
            declined = "; ".join(f"{s.get('fix')}: {s.get('reason')}" for s in entry.get("declined") or [])
            others = "; ".join(f"declared build {o.get('build')} not remediated (open: "
                               f"{', '.join(o.get('rules') or [])})" for o in entry.get("other_builds") or [])
            detail = " — ".join(t for t in (entry.get("reason"), entry.get("note"), declined, others) if t) or "-"
            rows.append(
                f"<tr><td class=\"nowrap\">{_badge(_REMEDIATION_BADGES.get(status, 'st-failed'), status)}</td>"
                f"<td class=\"mono\">{_e(host_name, 120)}</td>"
                f"<td class=\"mono\">{_e(entry.get('path'), 300)}</td>"
                f"<td class=\"mono\">{_e(fixed, 300)}</td>"
                f"<td class=\"mono\">{_e(_rebuild_cell(entry), 60)}</td>"
                f"<td class=\"pre\">{_e(detail, 800, False)}</td></tr>"
            )
    by_status = counts.get("by_status") or {}
    tally = ", ".join(f"{_e(k, 20)} {_n(v)}" for k, v in by_status.items() if v) or "nothing to do"
    if not rows:
        return ('<section id="remediation"><h2>Remediation</h2>'
                '<div class="empty">No Dockerfile needed a fix this run.</div></section>')
    return (
        f'<section id="remediation"><h2>Remediation<span class="count">{_n(len(rows))}</span></h2>'
        f'<p>{tally}; {_n(counts.get("rules_fixed") or 0)} rule finding(s) fixed on disk.</p>'
        '<div class="tw"><table class="fixed"><colgroup><col class="c-status"><col class="c-host">'
        '<col class="c-target"><col class="c-fix"><col class="c-date"><col></colgroup><thead><tr>'
        "<th>Outcome</th><th>Host</th><th>Dockerfile</th><th>Rules fixed</th><th>Rebuild</th><th>Details</th>"
        "</tr></thead><tbody>" + "".join(rows) + "</tbody></table></div></section>"
    )


def _section_merge(report: Mapping[str, Any]) -> str:
    merge = report.get("merge")
    if not isinstance(merge, Mapping) or not (merge.get("mismatches") or merge.get("conflicts")):
        return ""
    items = [f"<li>{_e(m, 500)}</li>" for m in merge.get("mismatches") or []]
    items += [
        f"<li>host <span class=\"mono\">{_e(c.get('host'), 300)}</span> was in several slices; kept the result from "
        f"{_e((c.get('kept') or {}).get('generated_at'), 40)}</li>"
        for c in merge.get("conflicts") or []
    ]
    return f'<section id="merge"><div class="note"><b>Merged report.</b><ul>{"".join(items)}</ul></div></section>'


def _judged_meta(report: Mapping[str, Any]) -> str:
    """Header items naming the backend (and its version), the OPA server and the collection version."""
    judged = report.get("judged_by") if isinstance(report.get("judged_by"), Mapping) else {}
    backend = " ".join(str(judged[k]) for k in ("backend", "backend_version") if judged.get(k)) or "unknown"
    out = f'<span id="judged-backend">Backend <b>{_e(backend, 120)}</b></span>'
    if judged.get("opa_url"):
        out += f'<span>OPA <b>{_e(judged["opa_url"], 200)}</b></span>'
    return out + (f'<span id="judged-collection">refarch.containers '
                  f'<b>{_e(judged.get("collection_version") or "unknown", 60)}</b></span>')


def _section_judged_warnings(report: Mapping[str, Any]) -> str:
    """The engine's warnings (the slow regopy fallback) above everything else."""
    judged = report.get("judged_by") if isinstance(report.get("judged_by"), Mapping) else {}
    items = "".join(f"<li>{_e(w, 1000)}</li>" for w in judged.get("warnings") or [])
    return f'<section id="judged-warnings"><div class="note"><b>Warning</b><ul>{items}</ul></div></section>' \
        if items else ""


def _section_incomplete(summary: Mapping[str, Any]) -> str:
    """A banner at the top when the run did not check everything: each reason, how many, the first places."""
    if summary.get("complete", True):
        return ""
    by_reason = summary.get("incomplete_by_reason") or {}
    reasons = list(summary.get("incomplete_reasons") or [])
    items = []
    for reason, count in by_reason.items():
        places = [r for r in reasons if r.get("reason") == reason][:5]
        texts = [f"{r.get('host')}" + (f":{r.get('target')}" if r.get("target") else "")
                 + (f" — {r.get('detail')}" if r.get("detail") else "") for r in places]
        where = "; ".join(_e(text, 600) for text in texts)
        more = f" (and {count - len(places)} more)" if count > len(places) else ""
        items.append(f"<li><b>{_e(reason, 60)}</b> ({count}): {where}{more}</li>")
    return ('<section id="incomplete"><div class="note incomplete"><b>Run incomplete</b>: not everything was '
            f"checked, so this report is not a full compliance verdict.<ul>{''.join(items)}</ul></div></section>")


def _csp(style_hash: str, script_hash: str) -> str:
    return (
        f"default-src 'none'; script-src 'sha256-{script_hash}'; object-src 'none'; base-uri 'none'; "
        "form-action 'none'; "
        f"img-src data:; font-src 'none'; connect-src 'none'; style-src 'sha256-{style_hash}'"
    )


def render_html(report: Mapping[str, Any], *, title: str | None = None) -> str:
    """Render a report as one self-contained HTML page (one inline filter script, no external resources)."""
    summary = report.get("summary") or {}
    heading = title or "Node.js container compliance"
    digest = base64.b64encode(hashlib.sha256(_CSS.encode("utf-8")).digest()).decode("ascii")
    script_digest = base64.b64encode(hashlib.sha256(_JS.encode("utf-8")).digest()).decode("ascii")
    meta = (
        f'<span>Generated <b>{_e(report.get("generated_at"), 40)}</b></span>'
        f'<span>Engine <b>{_e(report.get("engine"), 60)}</b></span>'
        + _judged_meta(report)
        + f'<span>Policy revision <b>{_e(report.get("policy_revision") or "unknown", 80)}</b></span>'
        f'<span>Report schema <b>{_e(report.get("schema_version"), 20)}</b></span>'
    )
    body = "".join(
        [
            _section_incomplete(summary),
            _section_judged_warnings(report),
            _filter_bar(report),
            _section_kpis(summary),
            _section_merge(report),
            _section_charts(summary),
            _section_diff(report),
            _section_rules(report),
            _section_hosts(report),
            _section_remediation(report),
            _section_findings(report),
            _section_waivers(report),
        ]
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_csp(digest, script_digest)}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(heading, 200)} \u2014 {_e(report.get('generated_at'), 40)}</title>"
        f"<style>{_CSS}</style></head><body>"
        f'<header class="top"><h1>{_e(heading, 200)}</h1><div class="meta">{meta}</div></header>'
        f"<main>{body}</main>"
        '<footer>refarch.containers \u00b7 Node.js reference architecture: Building Good Containers '
        "\u00b7 rendered from report.json</footer>"
        f"<script>{_JS}</script></body></html>\n"
    )
