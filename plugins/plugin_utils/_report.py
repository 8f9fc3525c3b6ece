# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The estate report (``report.json``): build, diff and merge (controller side, pure).

``build_report`` turns per-host results (what the evaluate step left for each
host: a status, the targets it scanned and the findings ``policy_check``
returned) into the one document every renderer (JUnit, SARIF, HTML, text)
reads.  ``merge_reports`` combines reports written by AWX job slices.
``diff_reports`` compares two reports by finding fingerprint.

All functions are pure: no I/O, no clock.  The shape is documented in
``docs/report-format.md`` and checked by ``policies/schema/report.schema.json``.
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.refarch.containers.plugins.plugin_utils._completeness import (
    count_by_reason,
    incomplete_reasons,
)
from ansible_collections.refarch.containers.plugins.plugin_utils._findings import weight
from ansible_collections.refarch.containers.plugins.plugin_utils._provenance import TOOL_NAME, merge_judged_by
from ansible_collections.refarch.containers.plugins.plugin_utils._vocabulary import (
    SCHEMA_VERSION,
    SEVERITIES,
    normalize_severity,
    severity_rank,
)

HOST_STATUSES: tuple[str, ...] = ("ok", "unreachable", "failed")
TARGET_KINDS: tuple[str, ...] = ("dockerfile", "image", "container")
#: A target's node scope (facts ``node_scope.classification``); ``not_node`` targets the run did not judge have
#: the status ``not_node`` (counted apart from compliant ones).
NODE_SCOPES: tuple[str, ...] = ("node", "not_node", "unknown")
TARGET_STATUSES: tuple[str, ...] = ("compliant", "noncompliant", "error", "not_node")
#: What happened to one Dockerfile in a remediation run (docs/contracts.md, the remediate role).
REMEDIATION_STATUSES: tuple[str, ...] = ("unchanged", "planned", "would_fail", "rewritten", "promoted", "rolled_back",
                                         "refused", "failed")
FINGERPRINT_VERSION = "v1"

_LINE_REF_RE = re.compile(r"\b(?:on\s+|at\s+)?lines?\s+\d+(?:\s*(?:-|\u2013|to|and)\s*\d+)?", re.IGNORECASE)


class ReportError(ValueError):
    """Raised when inputs cannot be turned into a report (bad shape, strict merge mismatch)."""


# --------------------------------------------------------------------------- helpers


def format_timestamp(value: Any) -> str:
    """Return an ISO 8601 UTC timestamp (``2026-11-28T11:35:00Z``) for a datetime or string.

    Naive datetimes are taken as UTC.  Strings are parsed and re-emitted so that
    every report spells time the same way; a string that does not parse raises
    :class:`ReportError`.
    """
    if isinstance(value, _dt.datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=_dt.UTC)
    elif isinstance(value, str) and value.strip():
        stamp = parse_timestamp(value)
    else:
        raise ReportError(f"generated_at must be a datetime or an ISO 8601 string, got {value!r}")
    stamp = stamp.astimezone(_dt.UTC)
    text = stamp.strftime("%Y-%m-%dT%H:%M:%S")
    if stamp.microsecond:
        text += f".{stamp.microsecond:06d}".rstrip("0")
    return text + "Z"


def parse_timestamp(value: str) -> _dt.datetime:
    """Parse an ISO 8601 timestamp (``Z`` or offset; naive = UTC) into an aware datetime."""
    text = str(value).strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        stamp = _dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise ReportError(f"not an ISO 8601 timestamp: {value!r}") from exc
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=_dt.UTC)


def target_locator(target: Mapping[str, Any] | None) -> str:
    """The stable, human-readable name of a target: its path, image reference or container name."""
    target = target or {}
    for key in ("path", "image", "container", "name", "id"):
        value = target.get(key)
        if value:
            return str(value)
    tags = target.get("repo_tags") or target.get("tags") or []
    if isinstance(tags, list) and tags:
        return str(tags[0])
    return ""


def _build_id(target: Mapping[str, Any]) -> str:
    build = target.get("build")
    return str(build.get("id") or "") if isinstance(build, Mapping) else ""


def build_label(target: Mapping[str, Any] | None) -> str:
    """How a Dockerfile target is built, in words: the declared target, context and descriptor.

    Empty for a target that is not a Dockerfile; for a Dockerfile that no descriptor declares, its
    default evaluation (the last stage, from its own folder).
    """
    target = target or {}
    if str(target.get("kind") or "dockerfile") != "dockerfile":
        return ""
    build = target.get("build")
    if not isinstance(build, Mapping):
        return "last stage, context: its own folder (no build descriptor declares it)"
    parts = [f"target {build.get('target')}" if build.get("target") else "last stage",
             f"context {build.get('context')}"]
    declared = [d for d in build.get("declared_by") or [] if isinstance(d, Mapping)]
    if declared:
        first = declared[0]
        unit = {"compose": "service", "bake": "target", "workflow": "step"}.get(str(first.get("kind")), "build")
        more = f" and {len(declared) - 1} more" if len(declared) > 1 else ""
        parts.append(f"declared by {first.get('path')} ({unit} {first.get('name')}){more}")
    if build.get("image"):
        parts.append(f"image {build.get('image')}")
    return ", ".join(parts)


def _target_key(target: Mapping[str, Any]) -> tuple[str, str, str]:
    return (str(target.get("kind") or "dockerfile"), target_locator(target), _build_id(target))


def finding_fingerprint(finding: Mapping[str, Any], host: str, occurrence: int = 0) -> str:
    """Stable fingerprint of a finding: rule, host, target and line-independent message.

    Moving the offending instruction to another line keeps the fingerprint;
    changing the rule, host, file/image or what the message says changes it.
    ``occurrence`` separates identical findings in one target (0 for the first).
    """
    target = finding.get("target") or {}
    content = _LINE_REF_RE.sub("line", str(finding.get("message") or ""))
    content = " ".join(content.split())
    payload = [
        FINGERPRINT_VERSION,
        str(finding.get("rule_id") or ""),
        str(host),
        str(target.get("kind") or "dockerfile"),
        target_locator(target),
        content,
    ]
    if _build_id(target):  # one of several declared builds of a Dockerfile (the default keeps its fingerprint)
        payload.append("build:" + _build_id(target))
    if occurrence:
        payload.append(occurrence)
    return hashlib.sha256(json.dumps(payload, ensure_ascii=True).encode("ascii")).hexdigest()[:32]


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def folded_text(count: int, rule_id: str) -> str:
    """What every report format says for findings folded beyond max_findings_per_rule."""
    return (f"{count:,} more {rule_id} finding{'s' if count != 1 else ''} on this target folded "
            f"(counted, not listed: at most max_findings_per_rule per rule and target)")


def is_open(finding: Mapping[str, Any]) -> bool:
    """A finding counts against compliance unless it is waived (an expired waiver does not apply)."""
    return not bool(finding.get("waived"))


# --------------------------------------------------------------------------- rule catalog


def _related_resources(value: Any) -> list[str]:
    out: list[str] = []
    for item in _as_list(value):
        if isinstance(item, Mapping):
            ref = item.get("ref") or item.get("url") or item.get("href")
            if ref:
                out.append(str(ref))
        elif item:
            out.append(str(item))
    return out


def _catalog_entry(rule_id: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    custom = raw.get("custom") if isinstance(raw.get("custom"), Mapping) else {}

    def pick(key: str, default: Any = None) -> Any:
        value = raw.get(key)
        if value in (None, "", []):
            value = custom.get(key)
        return default if value in (None, "", []) else value

    aliases = pick("aliases", []) or pick("related", [])
    return {
        "id": rule_id,
        "title": str(pick("title", rule_id)),
        "description": str(pick("description", "")),
        "severity": normalize_severity(pick("severity", "info")),
        "recommended_action": str(pick("recommended_action", "")),
        "fix": pick("fix"),
        "aliases": [str(a) for a in _as_list(aliases)],
        "related_resources": _related_resources(pick("related_resources", [])),
        "advisory": bool(pick("advisory", False)),
        "category": pick("category"),
        "scope": pick("scope"),
    }


def load_rules_catalog(data: Any) -> dict[str, dict[str, Any]]:
    """Normalize a rule catalog into ``{rule_id: entry}``.

    Accepts what ``policies/refarch/catalog/data.json`` may hold: a mapping keyed
    by rule id, the same under a ``rules`` (or ``catalog``) key, or a list of
    entries carrying ``id`` (or ``custom.id``).  Missing keys get defaults;
    anything that is not a rule entry is ignored.
    """
    if data is None:
        return {}
    if isinstance(data, Mapping):
        for wrapper in ("rules", "catalog"):
            inner = data.get(wrapper)
            if isinstance(inner, (Mapping, list)) and inner:
                return load_rules_catalog(inner)
        refarch = data.get("refarch")
        if isinstance(refarch, Mapping) and "catalog" in refarch:
            return load_rules_catalog(refarch["catalog"])
        items: Iterable[tuple[str, Any]] = data.items()
    elif isinstance(data, list):
        items = []
        for entry in data:
            if isinstance(entry, Mapping):
                custom = entry.get("custom") if isinstance(entry.get("custom"), Mapping) else {}
                rule_id = entry.get("id") or entry.get("rule_id") or custom.get("id")
                if rule_id:
                    items.append((str(rule_id), entry))
    else:
        raise ReportError(f"rules catalog must be a mapping or a list, got {type(data).__name__}")
    catalog: dict[str, dict[str, Any]] = {}
    for rule_id, raw in items:
        if isinstance(raw, Mapping):
            catalog[str(rule_id)] = _catalog_entry(str(rule_id), raw)
    return dict(sorted(catalog.items()))


# --------------------------------------------------------------------------- building


def _normalize_finding(raw: Mapping[str, Any], host: str) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ReportError(f"host {host!r}: a finding must be a mapping, got {type(raw).__name__}")
    finding = copy.deepcopy(dict(raw))
    target = dict(finding.get("target") or {})
    target.setdefault("kind", "dockerfile")
    target["host"] = host
    finding["target"] = target
    finding["rule_id"] = str(finding.get("rule_id") or "UNKNOWN")
    finding["severity"] = normalize_severity(finding.get("severity"))
    finding["title"] = str(finding.get("title") or finding["rule_id"])
    finding["message"] = str(finding.get("message") or "")
    finding["line"] = _int_or_none(finding.get("line"))
    finding.setdefault("fix", None)
    finding["related"] = [str(r) for r in _as_list(finding.get("related"))]
    finding["advisory"] = bool(finding.get("advisory", False))
    finding["waived"] = bool(finding.get("waived", False))
    folded = _int_or_none(finding.get("folded"))
    if folded and folded > 0:
        finding["folded"] = folded  # how many more findings of this rule on this target are not listed
    else:
        finding.pop("folded", None)
    finding.setdefault("waiver", None)
    finding.setdefault("waiver_expired", None)
    return finding


def _target_from_input(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Keep what a report needs from a target descriptor or a whole facts document."""
    kind = str(raw.get("kind") or "dockerfile")
    target: dict[str, Any] = {"kind": kind}
    if kind == "dockerfile":
        target["path"] = raw.get("path")
        if raw.get("scan_root"):
            target["scan_root"] = str(raw["scan_root"])
        if isinstance(raw.get("build"), Mapping):
            target["build"] = dict(raw["build"])
            if raw.get("image"):
                target["image"] = str(raw["image"])
    else:
        target["image"] = raw.get("image") or raw.get("name") or target_locator(raw) or None
        if raw.get("id"):
            target["id"] = raw.get("id")
        if kind == "container" and raw.get("container"):
            target["container"] = raw.get("container")
    target["sha256"] = raw.get("sha256")
    problems = [dict(p) if isinstance(p, Mapping) else {"message": str(p)} for p in _as_list(raw.get("problems"))]
    error = raw.get("error")
    if error:
        error = dict(error) if isinstance(error, Mapping) else {"code": "error", "message": str(error)}
    target["error"] = error or None
    target["problems"] = problems
    target["node_scope"] = _node_scope_entry(raw.get("node_scope"))
    return target


def _node_scope_entry(raw: Any) -> dict[str, Any]:
    """A target's node scope in the report: classification, evidence and whether the run judged it.

    A target without one (a report or facts from before the node scope) is ``unknown`` and judged.
    """
    raw = raw if isinstance(raw, Mapping) else {}
    classification = raw.get("classification")
    evidence = []
    for item in _as_list(raw.get("evidence")):
        if isinstance(item, Mapping):
            line, stage = _int_or_none(item.get("line")), _int_or_none(item.get("stage"))
            node = item.get("node")
            evidence.append({"signal": str(item.get("signal") or ""), "node": node if isinstance(node, bool) else None,
                             "line": line, "stage": stage, "detail": str(item.get("detail") or "")})
    judged = raw.get("judged") is not False
    rules = [str(r) for r in _as_list(raw.get("rules")) if r in ("neutral", "node")] if "rules" in raw else (
        ["neutral", "node"] if judged else [])
    return {"classification": classification if classification in NODE_SCOPES else "unknown",
            "evidence": evidence, "judged": judged, "rules": sorted(set(rules))}


def _finish_target(target: dict[str, Any]) -> dict[str, Any]:
    findings = sorted(
        target["findings"],
        key=lambda f: (f["rule_id"], f["line"] if f["line"] is not None else -1, f["message"]),
    )
    seen: dict[str, int] = {}
    host = ""
    for finding in findings:
        host = finding["target"]["host"]
        base = finding_fingerprint(finding, host)
        count = seen.get(base, 0)
        seen[base] = count + 1
        finding["fingerprint"] = finding_fingerprint(finding, host, count) if count else base
    target["findings"] = findings
    folded: dict[str, int] = {}
    for finding in findings:
        if finding.get("folded"):
            folded[finding["rule_id"]] = folded.get(finding["rule_id"], 0) + finding["folded"]
    if folded:
        target["folded"] = dict(sorted(folded.items()))
    blocking = [f for f in findings if is_open(f) and not f.get("advisory")]
    if target.get("error"):
        target["status"] = "error"
    elif blocking:
        target["status"] = "noncompliant"
    elif not target.get("node_scope", {}).get("judged", True):
        target["status"] = "not_node"  # not Node.js, not judged (node_scope mode node): never counted as compliant
    else:
        target["status"] = "compliant"
    return target


def _build_host(name: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ReportError(f"host {name!r}: result must be a mapping, got {type(raw).__name__}")
    status = str(raw.get("status") or "ok").strip().lower()
    message = raw.get("message")
    if status not in HOST_STATUSES:
        message = f"unknown host status {status!r}" + (f": {message}" if message else "")
        status = "failed"
    targets: dict[tuple[str, str, str], dict[str, Any]] = {}
    for item in _as_list(raw.get("targets")):
        if not isinstance(item, Mapping):
            raise ReportError(f"host {name!r}: a target must be a mapping, got {type(item).__name__}")
        target = _target_from_input(item)
        key = _target_key(target)
        if key in targets:
            targets[key]["problems"].extend(target["problems"])
            continue
        target["findings"] = []
        targets[key] = target
    for item in _as_list(raw.get("findings")):
        finding = _normalize_finding(item, name)
        key = _target_key(finding["target"])
        if key not in targets:
            described = _target_from_input(finding["target"])
            described["findings"] = []
            targets[key] = described
        targets[key]["findings"].append(finding)
    ordered = [_finish_target(targets[key]) for key in sorted(targets)]
    # Problems of the scan itself (a directory that could not be listed, a root that does not
    # exist): not tied to one target, but they must reach the report, never vanish.
    host_problems = [dict(p) if isinstance(p, Mapping) else {"message": str(p)} for p in _as_list(raw.get("problems"))]
    host = {"status": status, "message": str(message) if message else None, "targets": ordered,
            "problems": host_problems}
    if status != "ok" and raw.get("reason"):
        host["reason"] = str(raw["reason"])  # why it failed, in the incomplete-run vocabulary (_completeness)
    if raw.get("evidence"):
        # what the failed module wrote (stderr / stdout), already bounded, redacted and escaped
        host["evidence"] = {str(k): str(v) for k, v in dict(raw["evidence"]).items() if v}
    if raw.get("remediation") is not None:
        host["remediation"] = [_remediation_entry(name, item) for item in _as_list(raw.get("remediation"))]
    return host


def _text_list(value: Any) -> list[str]:
    return [str(v) for v in _as_list(value) if v not in (None, "")]


def _remediation_entry(host: str, raw: Any) -> dict[str, Any]:
    """One Dockerfile's remediation outcome (the remediate role's ``remediate_outcomes`` entry), normalized."""
    if not isinstance(raw, Mapping):
        raise ReportError(f"host {host!r}: a remediation outcome must be a mapping, got {type(raw).__name__}")
    status = str(raw.get("status") or "failed").strip().lower()
    reason = str(raw.get("reason") or "")
    if status not in REMEDIATION_STATUSES:
        reason = f"unknown remediation status {status!r}" + (f": {reason}" if reason else "")
        status = "failed"
    rebuild = raw.get("rebuild") if isinstance(raw.get("rebuild"), Mapping) else {}
    declined = []
    # "skipped" is the older name of this list (renamed: Ansible reads a result key "skipped" as a skipped task)
    for item in _as_list(raw.get("declined", raw.get("skipped"))):
        if isinstance(item, Mapping):
            declined.append({"fix": str(item.get("fix") or ""), "reason": str(item.get("reason") or "")})
    return {
        "path": str(raw.get("path") or ""),
        "image": str(raw.get("image") or "") or None,
        "status": status,
        "reason": reason,
        "note": str(raw.get("note") or ""),
        "fixes_applied": _text_list(raw.get("fixes_applied")),
        "rules_fixed": sorted(set(_text_list(raw.get("rules_fixed")))),
        "declined": declined,
        # one entry per requested fix: applied / partly_applied / skipped / not_needed, with the reason
        "fix_status": [{"fix": str(item.get("fix") or ""), "status": str(item.get("status") or "skipped"),
                        "reason": str(item.get("reason") or "")}
                       for item in _as_list(raw.get("fix_status")) if isinstance(item, Mapping)],
        # the Dockerfile's other declared builds, not remediated in this run: [{"build", "rules"}]
        "other_builds": [{"build": str(item.get("build") or ""), "rules": sorted(set(_text_list(item.get("rules"))))}
                         for item in _as_list(raw.get("other_builds")) if isinstance(item, Mapping)],
        "sha256_before": str(raw.get("sha256_before") or "") or None,
        "sha256_after": str(raw.get("sha256_after") or "") or None,
        "backup_file": str(raw.get("backup_file") or "") or None,
        "rebuild": str(rebuild.get("status") or "") or None,
        # the rebuilt image was built from the build context as it is now and was started (the rebuild role's
        # meaning); false when not rebuilt. A templated "True"/"False" string counts as what it says.
        "verified": boolean(raw.get("verified") or False, strict=False),
    }


def compute_summary(hosts: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Recompute the ``summary`` block from the ``hosts`` block of a report."""
    by_status = {s: 0 for s in HOST_STATUSES}
    by_kind: dict[str, int] = {k: 0 for k in TARGET_KINDS}
    by_severity = {s: 0 for s in SEVERITIES}
    by_rule: dict[str, int] = {}
    totals = {"targets": 0, "compliant": 0, "noncompliant": 0, "error": 0, "not_node": 0}
    by_scope = dict.fromkeys(NODE_SCOPES, 0)
    findings = waived = expired = advisory = problems = folded_total = 0
    for host in hosts.values():
        by_status[host.get("status", "failed")] = by_status.get(host.get("status", "failed"), 0) + 1
        problems += len(host.get("problems") or [])
        for target in host.get("targets", []):
            totals["targets"] += 1
            by_kind[target.get("kind", "dockerfile")] = by_kind.get(target.get("kind", "dockerfile"), 0) + 1
            totals[target.get("status", "error")] = totals.get(target.get("status", "error"), 0) + 1
            scope = (target.get("node_scope") or {}).get("classification")
            by_scope[scope if scope in by_scope else "unknown"] += 1
            problems += len(target.get("problems") or []) + (1 if target.get("error") else 0)
            for finding in target.get("findings", []):
                n = weight(finding)  # itself and the findings folded into it
                folded_total += n - 1
                if finding.get("waiver_expired"):
                    expired += n
                if not is_open(finding):
                    waived += n
                    continue
                findings += n
                if finding.get("advisory"):
                    advisory += n
                by_severity[normalize_severity(finding.get("severity"))] += n
                by_rule[finding["rule_id"]] = by_rule.get(finding["rule_id"], 0) + n
    checked = totals["compliant"] + totals["noncompliant"]
    summary = {
        "hosts": len(hosts),
        "hosts_by_status": by_status,
        "targets": totals["targets"],
        "targets_by_kind": by_kind,
        "compliant_targets": totals["compliant"],
        "noncompliant_targets": totals["noncompliant"],
        "error_targets": totals["error"],
        "not_node_targets": totals["not_node"],
        "targets_by_node_scope": by_scope,
        "compliance_percent": round(100.0 * totals["compliant"] / checked, 1) if checked else None,
        "findings": findings,
        "folded_findings": folded_total,
        "findings_by_severity": by_severity,
        "findings_by_rule": dict(sorted(by_rule.items())),
        "advisory": advisory,
        "waived": waived,
        "expired_waivers": expired,
        "problems": problems,
    }
    # Run outcome: complete when every host was reached, every target read and evaluated, waivers and
    # policy usable and every remediation done (docs/report-format.md, _completeness.REASONS).
    reasons = incomplete_reasons(hosts)
    summary["complete"] = not reasons
    summary["incomplete_by_reason"] = count_by_reason(reasons)
    summary["incomplete_reasons"] = reasons
    remediated = [entry for host in hosts.values() if "remediation" in host for entry in host["remediation"]]
    if any("remediation" in host for host in hosts.values()):
        by_outcome = dict.fromkeys(REMEDIATION_STATUSES, 0)
        for entry in remediated:
            by_outcome[entry.get("status", "failed")] = by_outcome.get(entry.get("status", "failed"), 0) + 1
        summary["remediation"] = {
            "dockerfiles": len(remediated),
            "by_status": by_outcome,
            "rules_fixed": sum(len(e.get("rules_fixed") or []) for e in remediated
                               if e.get("status") in ("rewritten", "promoted")),
        }
    return summary


def _rules_section(catalog: Mapping[str, Mapping[str, Any]], hosts: Mapping[str, Any]) -> dict[str, Any]:
    rules = {rule_id: dict(entry) for rule_id, entry in catalog.items()}
    for host in hosts.values():
        for target in host["targets"]:
            for finding in target["findings"]:
                if finding["rule_id"] not in rules:
                    rules[finding["rule_id"]] = _catalog_entry(
                        finding["rule_id"],
                        {
                            "title": finding.get("title"),
                            "severity": finding.get("severity"),
                            "fix": finding.get("fix"),
                            "aliases": finding.get("related"),
                            "advisory": finding.get("advisory"),
                            "category": finding.get("category"),
                        },
                    )
    return dict(sorted(rules.items()))


def _judged_by_block(engine: str, policy_revision: str | None, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The report's ``judged_by``: what the evaluation recorded, with the report's engine and revision."""
    given = given if isinstance(given, Mapping) else {}
    return {
        "tool": str(given.get("tool") or TOOL_NAME),
        "collection_version": None if given.get("collection_version") is None else str(given["collection_version"]),
        "engine": str(engine),
        "backend": None if given.get("backend") is None else str(given["backend"]),
        "backend_version": None if given.get("backend_version") is None else str(given["backend_version"]),
        "policy_revision": policy_revision,
        "opa_url": None if given.get("opa_url") is None else str(given["opa_url"]),
        "warnings": [str(w) for w in _as_list(given.get("warnings"))],
    }


def build_report(
    host_results: Mapping[str, Mapping[str, Any]],
    *,
    engine: str,
    policy_revision: str | None,
    generated_at: Any,
    rules_catalog: Any,
    previous: Mapping[str, Any] | None = None,
    judged_by: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build ``report.json`` from per-host results.

    ``host_results`` maps a host name to ``{"status": "ok"|"unreachable"|"failed",
    "message": str|None, "targets": [facts document or {kind, path|image, sha256,
    problems, error}], "findings": [finding]}``.  Findings are attached to the
    target their ``target`` names (a target only findings mention is added).
    ``rules_catalog`` is the rule catalog (see :func:`load_rules_catalog`); it is
    embedded as ``rules`` so every renderer works from the report alone.  With
    ``previous`` (an earlier report) a ``diff`` section is added.  ``judged_by``
    (``_provenance.judged_by``: backend, its version, collection version, warnings)
    becomes the report's ``judged_by`` block.
    """
    if not isinstance(host_results, Mapping):
        raise ReportError(f"host_results must be a mapping of host name to result, got {type(host_results).__name__}")
    ordered = sorted(host_results.items(), key=lambda i: str(i[0]))
    hosts = {str(name): _build_host(str(name), raw) for name, raw in ordered}
    catalog = load_rules_catalog(rules_catalog)
    revision = None if policy_revision is None else str(policy_revision)
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "generated_at": format_timestamp(generated_at),
        "engine": str(engine),
        "policy_revision": revision,
        "judged_by": _judged_by_block(str(engine), revision, judged_by),
        "summary": compute_summary(hosts),
        "rules": _rules_section(catalog, hosts),
        "hosts": hosts,
    }
    if previous is not None:
        report["diff"] = diff_reports(report, previous)
    return report


# --------------------------------------------------------------------------- iteration / diff


def iter_findings(report: Mapping[str, Any]) -> Iterable[tuple[str, Mapping[str, Any], Mapping[str, Any]]]:
    """Yield ``(host, target, finding)`` for every finding of a report, in report order."""
    for host_name, host in (report.get("hosts") or {}).items():
        for target in host.get("targets") or []:
            for finding in target.get("findings") or []:
                yield host_name, target, finding


def _diff_entry(host: str, target: Mapping[str, Any], finding: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "fingerprint": finding.get("fingerprint") or finding_fingerprint(finding, host),
        "rule_id": finding.get("rule_id"),
        "severity": normalize_severity(finding.get("severity")),
        "host": host,
        "kind": target.get("kind"),
        "target": target_locator(target),
        "line": finding.get("line"),
        "message": finding.get("message"),
    }


def diff_reports(current: Mapping[str, Any], previous: Mapping[str, Any]) -> dict[str, Any]:
    """Compare the open findings of two reports by fingerprint.

    ``new``: open now, not open before.  ``fixed``: open before, gone now on a
    host that was scanned (status ok) and a target that could be read.
    ``still_open``: open in both.  ``waived``: open before, waived now.
    ``not_rechecked``: open before on a host that
    is missing, unreachable or failed now (or a target that could not be read),
    so nothing is known about it: it is never counted as fixed.
    """
    if not isinstance(previous, Mapping) or not isinstance(previous.get("hosts"), Mapping):
        raise ReportError("previous report has no 'hosts' mapping: is it a report.json?")
    now: dict[str, dict[str, Any]] = {}
    waived_now: set[str] = set()
    for host, target, finding in iter_findings(current):
        entry = _diff_entry(host, target, finding)
        if is_open(finding):
            now[entry["fingerprint"]] = entry
        else:
            waived_now.add(entry["fingerprint"])
    before: dict[str, dict[str, Any]] = {}
    for host, target, finding in iter_findings(previous):
        if is_open(finding):
            entry = _diff_entry(host, target, finding)
            before[entry["fingerprint"]] = entry
    cur_hosts = current.get("hosts") or {}
    unreadable = {
        (host, target.get("kind"), target_locator(target))
        for host, h in cur_hosts.items()
        for target in h.get("targets") or []
        if target.get("error")
    }
    new = [now[fp] for fp in now if fp not in before]
    still = [now[fp] for fp in now if fp in before]
    fixed, unknown, waived = [], [], []
    for fp, entry in before.items():
        if fp in now:
            continue
        if fp in waived_now:
            waived.append(entry)
            continue
        host = cur_hosts.get(entry["host"])
        if host is None or host.get("status") != "ok" or (entry["host"], entry["kind"], entry["target"]) in unreadable:
            unknown.append(entry)
        else:
            fixed.append(entry)

    def order(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(entries, key=lambda e: (severity_rank(e["severity"]), e["host"], e["target"], e["rule_id"] or ""))

    return {
        "previous_generated_at": previous.get("generated_at"),
        "previous_policy_revision": previous.get("policy_revision"),
        "counts": {
            "new": len(new),
            "fixed": len(fixed),
            "still_open": len(still),
            "waived": len(waived),
            "not_rechecked": len(unknown),
        },
        "new": order(new),
        "fixed": order(fixed),
        "still_open": order(still),
        "waived": order(waived),
        "not_rechecked": order(unknown),
    }


# --------------------------------------------------------------------------- merging


def _check_report(report: Any, index: int) -> Mapping[str, Any]:
    if not isinstance(report, Mapping):
        raise ReportError(f"report #{index} is not a mapping")
    for key in ("schema_version", "generated_at", "hosts"):
        if key not in report:
            raise ReportError(f"report #{index} has no {key!r}: is it a report.json?")
    major = str(report["schema_version"]).split(".", 1)[0]
    if major != SCHEMA_VERSION.split(".", 1)[0]:
        raise ReportError(f"report #{index} has schema_version {report['schema_version']}, expected {SCHEMA_VERSION}")
    if not isinstance(report["hosts"], Mapping):
        raise ReportError(f"report #{index}: 'hosts' must be a mapping")
    return report


def merge_reports(
    reports: Sequence[Mapping[str, Any]],
    *,
    strict: bool = False,
    previous: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Merge reports from job slices into one estate report.

    Hosts are unioned.  A host present in several reports keeps the entry of the
    report with the newest ``generated_at`` (on a tie, the later report in the
    list) and the choice is recorded under ``merge.conflicts``.  The summary is
    recomputed; ``rules`` are unioned.  When the engines or policy revisions
    differ, ``merge.mismatches`` says so and ``engine`` / ``policy_revision``
    become ``"mixed"``; with ``strict=True`` that is a :class:`ReportError`.
    """
    if not reports:
        raise ReportError("nothing to merge: no reports given")
    checked = [_check_report(r, i) for i, r in enumerate(reports)]
    stamps = [parse_timestamp(str(r["generated_at"])) for r in checked]
    engines = sorted({str(r.get("engine")) for r in checked})
    revisions = sorted({str(r.get("policy_revision")) for r in checked})
    mismatches = []
    if len(engines) > 1:
        mismatches.append(f"engines differ between reports: {', '.join(engines)}")
    if len(revisions) > 1:
        mismatches.append(f"policy revisions differ between reports: {', '.join(revisions)}")
    if mismatches and strict:
        raise ReportError("; ".join(mismatches))

    chosen: dict[str, tuple[int, Mapping[str, Any]]] = {}
    conflicts = []
    for index, report in enumerate(checked):
        for name, entry in report["hosts"].items():
            if name in chosen:
                prior = chosen[name][0]
                keep = index if stamps[index] >= stamps[prior] else prior
                conflicts.append(
                    {
                        "host": name,
                        "kept": {"report": keep, "generated_at": checked[keep]["generated_at"]},
                        "dropped": {
                            "report": prior if keep == index else index,
                            "generated_at": checked[prior if keep == index else index]["generated_at"],
                        },
                    }
                )
                if keep == prior:
                    continue
            chosen[name] = (index, entry)
    hosts = {name: copy.deepcopy(dict(chosen[name][1])) for name in sorted(chosen)}
    rules: dict[str, Any] = {}
    for index in sorted(range(len(checked)), key=lambda i: stamps[i]):
        rules.update(copy.deepcopy(dict(checked[index].get("rules") or {})))
    newest = max(range(len(checked)), key=lambda i: (stamps[i], i))
    merged: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "generated_at": format_timestamp(stamps[newest]),
        "engine": engines[0] if len(engines) == 1 else "mixed",
        "policy_revision": checked[0].get("policy_revision") if len(revisions) == 1 else "mixed",
        "judged_by": merge_judged_by([r.get("judged_by") for r in checked]),
        "summary": compute_summary(hosts),
        "rules": dict(sorted(rules.items())),
        "hosts": hosts,
        "merge": {
            "sources": [
                {
                    "report": i,
                    "generated_at": r["generated_at"],
                    "engine": r.get("engine"),
                    "policy_revision": r.get("policy_revision"),
                    "judged_by": r.get("judged_by"),
                    "hosts": sorted(r["hosts"]),
                }
                for i, r in enumerate(checked)
            ],
            "conflicts": conflicts,
            "mismatches": mismatches,
            "consistent": not mismatches,
        },
    }
    if previous is not None:
        merged["diff"] = diff_reports(merged, previous)
    return merged
