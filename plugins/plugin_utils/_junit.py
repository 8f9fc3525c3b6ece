# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""JUnit XML rendering of ``report.json`` (controller side, pure).

Layout, as CI servers (Jenkins, GitLab, AWX artifacts viewers) expect it:

* ``<testsuites>`` for the estate, one ``<testsuite>`` per host;
* one ``<testcase>`` per rule x target (``classname`` = the target's path or
  image, ``name`` = ``RULE_ID title``): passes when the target has no finding of
  the rule, ``<failure>`` for open findings (every finding with its line and
  fix in the body), ``<skipped>`` when all its findings are waived (the waiver
  reason is the message); a rule whose scope did not apply to the target (a
  Node.js rule on a target that is not Node.js) has no test case;
* a target classified ``not_node`` has a ``node scope`` test case: skipped when
  the run did not judge it (``refarch_node_scope: node``), with the evidence;
* an unreadable target gives an ``<error>`` test case, and so does an
  unreachable or failed host (its only test case).

Every string from data passes through :func:`clean_text`, which removes ANSI
sequences and the characters XML 1.0 forbids; ElementTree escapes the rest, so
``]]>``, ``<`` and ``&`` in messages stay text.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from ansible_collections.refarch.containers.plugins.plugin_utils._completeness import OWN_ENTRY_REASONS
from ansible_collections.refarch.containers.plugins.plugin_utils._report import (
    build_label,
    folded_text,
    is_open,
    target_locator,
    weight,
)
from ansible_collections.refarch.containers.plugins.plugin_utils._report_sanitize import clean_text


def _t(value: Any, limit: int | None = 4000) -> str:
    return clean_text(value, limit=limit)


def _rule_applies(rule: Mapping[str, Any], kind: str) -> bool:
    kinds = rule.get("kinds") or rule.get("targets") or rule.get("applies_to")
    if isinstance(kinds, list) and kinds:
        return kind in kinds
    return True


def _scope_text(scope: Mapping[str, Any]) -> str:
    """``not Node.js, not judged: caddy:2-alpine (an image of another runtime or server)``."""
    classification = str(scope.get("classification") or "unknown")
    head = {"node": "Node.js", "not_node": "not Node.js", "unknown": "unknown (judged as Node.js)"}.get(
        classification, classification)
    if scope.get("judged") is False:
        head += ", not judged"
    elif classification == "not_node" and "node" not in (scope.get("rules") or []):
        head += ", judged with the neutral rules only"
    details = [str(e.get("detail") or "") for e in scope.get("evidence") or [] if isinstance(e, Mapping)]
    return head + (": " + "; ".join(details[:8]) if details else "")


def _finding_line(finding: Mapping[str, Any]) -> str:
    where = f"line {finding['line']}: " if finding.get("line") is not None else ""
    text = f"[{finding.get('severity', 'info')}] {where}{finding.get('message', '')}"
    if finding.get("fix"):
        text += f"\n  fix: {finding['fix']}"
    if finding.get("waiver_expired"):
        expired = finding["waiver_expired"] if isinstance(finding["waiver_expired"], Mapping) else {}
        text += f"\n  waiver expired {expired.get('expires', '')}: {expired.get('reason', '')}".rstrip(": ")
    if isinstance(finding.get("folded"), int) and finding["folded"] > 0:
        text += f"\n{folded_text(finding['folded'], str(finding.get('rule_id')))}"
    return text


def _waiver_reason(finding: Mapping[str, Any]) -> str:
    waiver = finding.get("waiver") if isinstance(finding.get("waiver"), Mapping) else {}
    parts = [str(waiver.get("reason") or "waived")]
    if waiver.get("owner"):
        parts.append(f"owner {waiver['owner']}")
    if waiver.get("expires"):
        parts.append(f"expires {waiver['expires']}")
    if waiver.get("source"):
        parts.append(f"source {waiver['source']}")
    return "; ".join(parts)


def _testcase(suite: ET.Element, classname: str, name: str) -> ET.Element:
    return ET.SubElement(suite, "testcase", {"classname": _t(classname, 1000), "name": _t(name, 1000), "time": "0"})


def render_junit_tree(report: Mapping[str, Any]) -> ET.Element:
    """Build the ``<testsuites>`` element for a report."""
    rules = report.get("rules") or {}
    root = ET.Element("testsuites", {"name": "refarch.containers"})
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    # an incomplete run is errors (not failures): reasons that no host or target test case reports already
    incomplete: dict[str, list[Mapping[str, Any]]] = {}
    for item in (report.get("summary") or {}).get("incomplete_reasons") or []:
        if item.get("reason") in OWN_ENTRY_REASONS:
            incomplete.setdefault(str(item.get("host")), []).append(item)
    for host_name, host in (report.get("hosts") or {}).items():
        suite = ET.SubElement(
            root,
            "testsuite",
            {"name": _t(host_name, 1000), "hostname": _t(host_name, 1000), "timestamp": _t(report.get("generated_at"))},
        )
        props = ET.SubElement(suite, "properties")
        for key in ("engine", "policy_revision", "schema_version"):
            ET.SubElement(props, "property", {"name": key, "value": _t(report.get(key))})
        judged = report.get("judged_by") if isinstance(report.get("judged_by"), Mapping) else {}
        for key in ("backend", "backend_version", "collection_version", "opa_url"):
            ET.SubElement(props, "property", {"name": key, "value": _t(judged.get(key) or "")})
        for warning in judged.get("warnings") or []:
            ET.SubElement(props, "property", {"name": "warning", "value": _t(warning, 1000)})
        ET.SubElement(props, "property", {"name": "host_status", "value": _t(host.get("status"))})
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        if host.get("status") != "ok":
            case = _testcase(suite, f"{host_name}.host", "host status")
            message = f"host {host.get('status')}: {host.get('message') or 'no message'}"
            err = ET.SubElement(case, "error", {"message": _t(message, 1000),
                                                "type": _t(host.get("reason") or host.get("status"))})
            evidence = host.get("evidence") or {}
            err.text = _t("\n".join([message] + [f"{k}:\n{v}" for k, v in evidence.items()]))
            counts["tests"] += 1
            counts["errors"] += 1
        for target in host.get("targets") or []:
            locator = target_locator(target) or "(unnamed target)"
            if isinstance(target.get("build"), Mapping):  # one Dockerfile, several declared builds: one case each
                locator += f" [{build_label(target)}]"
            kind = target.get("kind", "dockerfile")
            if target.get("error"):
                error = target["error"] if isinstance(target["error"], Mapping) else {"message": target["error"]}
                case = _testcase(suite, locator, "read and parse")
                err = ET.SubElement(
                    case,
                    "error",
                    {"message": _t(error.get("message"), 1000), "type": _t(error.get("code") or "error")},
                )
                err.text = _t(error.get("message"))
                counts["tests"] += 1
                counts["errors"] += 1
            scope = target.get("node_scope") if isinstance(target.get("node_scope"), Mapping) else {}
            applied = scope.get("rules") if isinstance(scope.get("rules"), list) else ["neutral", "node"]
            if scope.get("classification") == "not_node":
                # a target that is not Node.js: skipped when not judged, else judged by the neutral rules only
                case = _testcase(suite, locator, "node scope")
                counts["tests"] += 1
                if target.get("status") == "not_node":
                    ET.SubElement(case, "skipped", {"message": _t(_scope_text(scope), 1000)})
                    counts["skipped"] += 1
                else:
                    ET.SubElement(case, "system-out").text = _t(_scope_text(scope))
            by_rule: dict[str, list[Mapping[str, Any]]] = {}
            for finding in target.get("findings") or []:
                by_rule.setdefault(str(finding.get("rule_id")), []).append(finding)
            rule_ids = sorted({r for r, entry in rules.items() if _rule_applies(entry, kind)} | set(by_rule))
            for rule_id in rule_ids:
                if target.get("error") and rule_id not in by_rule:
                    continue  # nothing was checked: the error test case says so
                if rule_id not in by_rule and ((rules.get(rule_id) or {}).get("scope") or "neutral") not in applied:
                    continue  # not judged by this rule (node scope): the node scope test case says why
                title = (rules.get(rule_id) or {}).get("title") or ""
                case = _testcase(suite, locator, f"{rule_id} {title}".strip())
                counts["tests"] += 1
                findings = by_rule.get(rule_id, [])
                open_ = [f for f in findings if is_open(f)]
                if open_:
                    worst = open_[0]
                    message = worst.get("message", "")
                    total = sum(weight(f) for f in open_)
                    if total > 1:
                        message = f"{message} (+{total - 1:,} more)"
                    failure = ET.SubElement(
                        case, "failure", {"message": _t(message, 1000), "type": _t(worst.get("severity", "info"))}
                    )
                    body = [_finding_line(f) for f in open_]
                    body += [
                        f"waived: {_finding_line(f)}\n  reason: {_waiver_reason(f)}" for f in findings if not is_open(f)
                    ]
                    failure.text = _t("\n".join(body), 20000)
                    counts["failures"] += 1
                elif findings:
                    reasons = sorted({_waiver_reason(f) for f in findings})
                    ET.SubElement(case, "skipped", {"message": _t("waived: " + " | ".join(reasons), 1000)})
                    counts["skipped"] += 1
            for raw_problem in target.get("problems") or []:
                problem = raw_problem if isinstance(raw_problem, Mapping) else {"message": raw_problem}
                out = suite.find("system-out")
                if out is None:
                    out = ET.SubElement(suite, "system-out")
                    out.text = ""
                where = f":{problem['line']}" if problem.get("line") is not None else ""
                line = f"{locator}{where}: {problem.get('code') or 'problem'}: {problem.get('message', '')}"
                out.text += _t(line) + "\n"
        # what else this host did not do: a directory not listed, a remediation failed, refused or rolled back
        for item in incomplete.get(host_name, []):
            case = _testcase(suite, str(item.get("target") or host_name), item["reason"].replace("_", " "))
            text = f"{item['reason']}: {item.get('detail') or ''}"
            err = ET.SubElement(case, "error", {"message": _t(text, 1000), "type": _t(item["reason"])})
            err.text = _t(text)
            counts["tests"] += 1
            counts["errors"] += 1
        # keep <system-out> after the test cases, as the JUnit XSD orders it
        out = suite.find("system-out")
        if out is not None:
            suite.remove(out)
            suite.append(out)
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", "0")
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", "0")
    return root


def render_junit(report: Mapping[str, Any]) -> str:
    """Render a report as a JUnit XML document (UTF-8 text with an XML declaration)."""
    root = render_junit_tree(report)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
