# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SARIF 2.1.0 rendering of ``report.json`` (controller side, pure).

One run per report.  ``tool.driver.rules`` comes from the rule catalog embedded
in the report (itself generated from the policy METADATA), so rule ids are the
stable ``NRA0xx`` ids and each rule carries ``security-severity`` (the number
code-scanning services sort by), tags, help text and its reference link.

Dockerfile findings get a ``physicalLocation`` whose URI is relative to a
configurable root under a ``uriBaseId`` (``originalUriBaseIds`` says where the
root is); paths outside the root stay absolute ``file://`` URIs.  Image and
container findings have no file: they get a ``logicalLocation`` instead.
Waived findings are kept, with a ``suppression`` (``inSource`` for Dockerfile
pragmas, ``external`` for waiver files).  ``partialFingerprints`` carries the
report's stable fingerprint.
"""

from __future__ import annotations

import posixpath
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from ansible_collections.refarch.containers.plugins.plugin_utils._completeness import OWN_ENTRY_REASONS
from ansible_collections.refarch.containers.plugins.plugin_utils._report import (
    build_label,
    folded_text,
    is_open,
    normalize_severity,
    target_locator,
)
from ansible_collections.refarch.containers.plugins.plugin_utils._report_sanitize import clean_text

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
TOOL_NAME = "refarch.containers"
TOOL_URI = "https://github.com/nodeshift/nodejs-reference-architecture/blob/main/docs/development/building-good-containers.md"
FINGERPRINT_KEY = "refarchFindingHash/v1"

# security-severity as code-scanning services read it: >= 9 critical, 7-8.9 high,
# 4-6.9 medium, 0.1-3.9 low.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}


def _t(value: Any, limit: int | None = 8000) -> str:
    return clean_text(value, limit=limit)


def _pascal(title: str, rule_id: str) -> str:
    words = [w for w in "".join(c if c.isalnum() else " " for c in title).split() if w]
    name = "".join(w[:1].upper() + w[1:] for w in words)
    return name or rule_id


def _rule_descriptor(rule_id: str, rule: Mapping[str, Any]) -> dict[str, Any]:
    severity = normalize_severity(rule.get("severity"))
    title = _t(rule.get("title") or rule_id, 500)
    description = _t(rule.get("description") or title)
    action = _t(rule.get("recommended_action") or "")
    links = [str(r) for r in rule.get("related_resources") or [] if str(r).startswith(("http://", "https://"))]
    help_lines = [description]
    if action:
        help_lines.append(f"Recommended action: {action}")
    if rule.get("fix"):
        help_lines.append(f"Automatic fix: {_t(rule['fix'], 200)}")
    markdown = [f"**{title}**", "", description]
    if action:
        markdown += ["", f"**Recommended action:** {action}"]
    if rule.get("fix"):
        markdown += ["", f"Automatic fix: `{_t(rule['fix'], 200)}` (refarch.containers.dockerfile_remediate)"]
    for link in links:
        markdown += ["", f"[Reference]({link})"]
    tags = ["security", "containers", "nodejs"]
    if rule.get("category"):
        tags.append(_t(rule["category"], 100))
    if rule.get("advisory"):
        tags.append("advisory")
    properties: dict[str, Any] = {
        "security-severity": SECURITY_SEVERITY[severity],
        "problem.severity": "recommendation" if severity in ("low", "info") else LEVEL[severity],
        "precision": "high",
        "severity": severity,
        "tags": list(dict.fromkeys(tags)),
    }
    aliases = [_t(a, 100) for a in rule.get("aliases") or []]
    if aliases:
        properties["aliases"] = aliases
    if rule.get("scope") in ("node", "neutral"):
        properties["scope"] = rule["scope"]  # node: judged on Node.js (and unknown) targets only
    descriptor: dict[str, Any] = {
        "id": rule_id,
        "name": _pascal(title, rule_id),
        "shortDescription": {"text": title},
        "fullDescription": {"text": description},
        "help": {"text": "\n".join(help_lines), "markdown": "\n".join(markdown)},
        "defaultConfiguration": {"level": LEVEL[severity], "enabled": True},
        "properties": properties,
    }
    if links:
        descriptor["helpUri"] = links[0]
    return descriptor


def _file_uri(path: str) -> str:
    return "file://" + quote(path if path.startswith("/") else "/" + path, safe="/")


def _under(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip("/") + "/")


def _scan_roots(report: Mapping[str, Any], root: str | None, uri_base_id: str) -> dict[str, str]:
    """``{scan root: uriBaseId}``: the ``root`` option and each Dockerfile target's ``scan_root``.

    One root is ``uri_base_id`` itself; several are ``uri_base_id`` + 1, 2, ... in path order.
    """
    roots = {posixpath.normpath(root)} if root else set()
    for entry in (report.get("hosts") or {}).values():
        for target in entry.get("targets") or []:
            if target.get("kind", "dockerfile") == "dockerfile" and target.get("scan_root"):
                roots.add(posixpath.normpath(str(target["scan_root"])))
    ordered = sorted(roots)
    if len(ordered) == 1:
        return {ordered[0]: uri_base_id}
    return {r: f"{uri_base_id}{n}" for n, r in enumerate(ordered, 1)}


def _artifact_location(path: str, host: str, roots: list[str], base_ids: Mapping[str, str], *, uri_base_id: str,
                       host_prefix: bool) -> dict[str, Any]:
    """Relative to the first of ``roots`` that holds ``path`` (under its uriBaseId), else absolute."""
    norm = posixpath.normpath(path) if path else ""
    for root in roots:
        base = posixpath.normpath(root)
        if _under(norm, base):
            rel = posixpath.relpath(norm, base)
            if host_prefix:
                rel = posixpath.join(host, rel)
            return {"uri": quote(rel, safe="/"), "uriBaseId": base_ids[base]}
    if host_prefix and not base_ids:
        return {"uri": quote(posixpath.join(host, norm.lstrip("/")), safe="/"), "uriBaseId": uri_base_id}
    return {"uri": _file_uri(norm)}


def _suppression(finding: Mapping[str, Any]) -> dict[str, Any]:
    waiver = finding.get("waiver") if isinstance(finding.get("waiver"), Mapping) else {}
    suppression: dict[str, Any] = {
        "kind": "inSource" if waiver.get("source") == "pragma" else "external",
        "status": "accepted",
        "justification": _t(waiver.get("reason") or "waived", 2000),
    }
    props = {k: _t(waiver.get(k), 500) for k in ("owner", "expires", "id", "source") if waiver.get(k)}
    if props:
        suppression["properties"] = props
    return suppression


def render_sarif(
    report: Mapping[str, Any],
    *,
    root: str | None = None,
    uri_base_id: str = "SCANROOT",
    host_prefix: bool = False,
    tool_version: str | None = None,
    category: str = "refarch.containers/estate",
) -> dict[str, Any]:
    """Render a report as a SARIF 2.1.0 log (a JSON-ready dict).

    A Dockerfile's URI is relative to its scan root (the target's ``scan_root``, the
    discovery root it was found under), or to ``root`` when given and the path lies
    under it; each root is a ``uriBaseId`` declared in ``originalUriBaseIds``
    (``uri_base_id`` when there is one root, numbered when there are several).  A
    path under no root stays an absolute ``file://`` URI.  ``host_prefix`` puts the
    host name in front of each relative path, so the same path on two hosts stays
    two artifacts.  ``category`` becomes the ``automationDetails.id`` prefix, followed
    by the host when the report has exactly one.
    """
    rules_in = dict(report.get("rules") or {})
    for _host, target_list in ((h, v.get("targets") or []) for h, v in (report.get("hosts") or {}).items()):
        for target in target_list:
            for finding in target.get("findings") or []:
                rules_in.setdefault(
                    str(finding.get("rule_id")), {"title": finding.get("title"), "severity": finding.get("severity")}
                )
    rule_ids = sorted(rules_in)
    descriptors = [_rule_descriptor(rid, rules_in[rid]) for rid in rule_ids]
    index = {rid: i for i, rid in enumerate(rule_ids)}

    base_ids = _scan_roots(report, root, uri_base_id)
    used_roots: set[str] = set()
    results: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []
    artifacts: list[dict[str, Any]] = []
    artifact_index: dict[tuple[str, str], int] = {}
    for host, entry in (report.get("hosts") or {}).items():
        if entry.get("status") != "ok":
            notifications.append(
                {
                    "level": "error",
                    "message": {
                        "text": _t(f"host {host} {entry.get('status')}: {entry.get('message') or 'no message'}")
                    },
                    "descriptor": {"id": f"host-{entry.get('status')}"},
                    "properties": {"host": _t(host, 500), "reason": _t(entry.get("reason") or "", 100),
                                   **{k: _t(v) for k, v in (entry.get("evidence") or {}).items()}},
                }
            )
        for target in entry.get("targets") or []:
            kind = str(target.get("kind") or "dockerfile")
            locator = target_locator(target)
            if target.get("error"):
                error = target["error"] if isinstance(target["error"], Mapping) else {"message": target["error"]}
                notifications.append(
                    {
                        "level": "error",
                        "message": {"text": _t(f"{host}: {locator}: {error.get('message') or 'could not be read'}")},
                        "descriptor": {"id": _t(error.get("code") or "target-error", 100)},
                        "properties": {"host": _t(host, 500)},
                    }
                )
            scope = target.get("node_scope") if isinstance(target.get("node_scope"), Mapping) else {}
            if target.get("status") == "not_node":
                # not judged: say so (a target without results is otherwise read as clean)
                why = "; ".join(str(e.get("detail") or "") for e in scope.get("evidence") or []
                                if isinstance(e, Mapping) and e.get("node") is False)
                text = f"{host}: {locator}: not Node.js, not judged" + (f" ({why})" if why else "")
                notifications.append({
                    "level": "note",
                    "message": {"text": _t(text)},
                    "descriptor": {"id": "not-node"},
                    "properties": {"host": _t(host, 500), "target": _t(locator, 2000), "nodeScope": "not_node"},
                })
            for raw_problem in target.get("problems") or []:
                problem = raw_problem if isinstance(raw_problem, Mapping) else {"message": raw_problem}
                notifications.append(
                    {
                        "level": "warning",
                        "message": {"text": _t(f"{host}: {locator}: {problem.get('message') or ''}")},
                        "descriptor": {"id": _t(problem.get("code") or "problem", 100)},
                        "properties": {"host": _t(host, 500)},
                    }
                )
            for finding in target.get("findings") or []:
                rule_id = str(finding.get("rule_id"))
                severity = normalize_severity(finding.get("severity"))
                location: dict[str, Any] = {}
                if kind == "dockerfile" and target.get("path"):
                    roots = [r for r in (root, target.get("scan_root")) if r]
                    art = _artifact_location(str(target["path"]), str(host), roots, base_ids,
                                             uri_base_id=uri_base_id, host_prefix=host_prefix)
                    used_roots.update(r for r, i in base_ids.items() if i == art.get("uriBaseId"))
                    key = (art["uri"], art.get("uriBaseId", ""))
                    if key not in artifact_index:
                        artifact_index[key] = len(artifacts)
                        artifact: dict[str, Any] = {"location": dict(art), "roles": ["analysisTarget"]}
                        if target.get("sha256"):
                            artifact["hashes"] = {"sha-256": _t(target["sha256"], 200)}
                        artifacts.append(artifact)
                    physical: dict[str, Any] = {"artifactLocation": dict(art, index=artifact_index[key])}
                    if isinstance(finding.get("line"), int) and finding["line"] >= 1:
                        physical["region"] = {"startLine": finding["line"]}
                    location["physicalLocation"] = physical
                else:
                    location["logicalLocations"] = [
                        {
                            "name": _t(locator, 1000),
                            "fullyQualifiedName": _t(f"{host}/{kind}/{locator}", 2000),
                            "kind": "resource",
                        }
                    ]
                message = _t(finding.get("message") or finding.get("title") or rule_id)
                if finding.get("fix"):
                    message += f" (fix: {_t(finding['fix'], 200)})"
                result: dict[str, Any] = {
                    "ruleId": rule_id,
                    "ruleIndex": index[rule_id],
                    "kind": "fail",
                    "level": LEVEL[severity],
                    "message": {"text": message},
                    "locations": [location],
                    "partialFingerprints": {FINGERPRINT_KEY: _t(finding.get("fingerprint") or "", 100)},
                    "properties": {
                        "host": _t(host, 500),
                        "targetKind": kind,
                        "target": _t(locator, 2000),
                        "severity": severity,
                        "advisory": bool(finding.get("advisory")),
                        "nodeScope": _t(scope.get("classification") or "unknown", 20),
                    },
                }
                if not finding.get("fingerprint"):
                    del result["partialFingerprints"]
                if target.get("sha256"):
                    result["properties"]["sha256"] = _t(target["sha256"], 200)
                if isinstance(target.get("build"), Mapping):
                    result["properties"]["build"] = _t(build_label(target), 2000)
                if finding.get("related"):
                    result["properties"]["related"] = [_t(r, 100) for r in finding["related"]]
                if finding.get("waiver_expired"):
                    expired = finding["waiver_expired"]
                    result["properties"]["waiverExpired"] = (
                        {k: _t(v, 500) for k, v in expired.items()} if isinstance(expired, Mapping) else True
                    )
                if not is_open(finding):
                    result["suppressions"] = [_suppression(finding)]
                results.append(result)
                if isinstance(finding.get("folded"), int) and finding["folded"] > 0:
                    # the findings of this rule beyond max_findings_per_rule: one note that says how many
                    note = {k: v for k, v in result.items() if k not in ("partialFingerprints", "message")}
                    note["level"] = "note"
                    note["message"] = {"text": folded_text(finding["folded"], rule_id)}
                    note["locations"] = [dict(location)]
                    physical = note["locations"][0].get("physicalLocation")
                    if physical:
                        note["locations"][0]["physicalLocation"] = {"artifactLocation": physical["artifactLocation"]}
                    note["properties"] = dict(result["properties"], folded=finding["folded"])
                    results.append(note)

    generated_at = str(report.get("generated_at") or "")
    statuses = [h.get("status") for h in (report.get("hosts") or {}).values()]
    summary = report.get("summary") if isinstance(report.get("summary"), Mapping) else {}
    for item in summary.get("incomplete_reasons") or []:
        if item.get("reason") in OWN_ENTRY_REASONS:
            # what the loop above has no notification for: unlisted directories, remediations not done
            notifications.append({
                "level": "error",
                "message": {"text": _t(f"{item.get('host')}: {item.get('target') or ''}: {item.get('detail') or ''}")},
                "descriptor": {"id": _t(item.get("reason"), 100)},
                "properties": {"host": _t(item.get("host"), 500), "reason": _t(item.get("reason"), 100)},
            })
    invocation: dict[str, Any] = {
        # the run outcome: false when the run did not check everything (summary.complete), never only on hosts
        "executionSuccessful": bool(summary.get("complete", True)) and all(s == "ok" for s in statuses),
        "toolExecutionNotifications": notifications,
    }
    if generated_at:
        invocation["endTimeUtc"] = generated_at
    judged = report.get("judged_by") if isinstance(report.get("judged_by"), Mapping) else {}
    # what judged: engine, backend and its version, policy revision, collection version (docs/report-format.md)
    invocation["properties"] = {
        key: _t(judged.get(key), 500) if judged.get(key) is not None else None
        for key in ("engine", "backend", "backend_version", "policy_revision", "collection_version", "opa_url")
    }
    invocation["properties"]["complete"] = bool(summary.get("complete", True))
    invocation["properties"]["incompleteByReason"] = dict(summary.get("incomplete_by_reason") or {})
    for warning in judged.get("warnings") or []:
        notifications.append({"level": "warning", "message": {"text": _t(warning)},
                              "descriptor": {"id": "engine-backend"}})
    hosts = list(report.get("hosts") or {})
    # one host: its name in the automation id, so the uploads of several hosts stay separate analyses
    automation = f"{category.rstrip('/')}/{_t(hosts[0], 200)}" if len(hosts) == 1 else category.rstrip("/")
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "informationUri": TOOL_URI,
                "rules": descriptors,
            }
        },
        "automationDetails": {
            "id": f"{automation}/{generated_at}",
            "guid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{category}/{generated_at}/{report.get('policy_revision')}")),
            "description": {"text": "refarch.containers estate scan"},
        },
        "invocations": [invocation],
        "artifacts": artifacts,
        "results": results,
        "columnKind": "unicodeCodePoints",
        "properties": {
            "engine": _t(report.get("engine"), 200),
            "policyRevision": _t(report.get("policy_revision"), 200),
            "reportSchemaVersion": _t(report.get("schema_version"), 50),
            # counts only: what was not checked is in the invocation's notifications, its text cleaned
            "summary": {k: v for k, v in summary.items() if k != "incomplete_reasons"},
        },
    }
    tool_version = tool_version or judged.get("collection_version")
    if tool_version and tool_version != "mixed":
        run["tool"]["driver"]["version"] = _t(tool_version, 100)
        run["tool"]["driver"]["semanticVersion"] = _t(tool_version, 100)
    if judged.get("backend"):
        # the Rego engine that evaluated the rules, as a tool extension (regorus, regopy or an OPA server)
        extension = {"name": _t(judged["backend"], 100)}
        if judged.get("backend_version"):
            extension["version"] = _t(judged["backend_version"], 100)
        run["tool"]["extensions"] = [extension]
    if used_roots:
        run["originalUriBaseIds"] = {
            base_ids[r]: {"uri": _file_uri(r.rstrip("/") + "/"), "description": {"text": f"scan root {_t(r, 1000)}"}}
            for r in sorted(used_roots)
        }
    elif root:
        base = posixpath.normpath(root).rstrip("/") + "/"
        run["originalUriBaseIds"] = {
            uri_base_id: {"uri": _file_uri(base), "description": {"text": "scan root on each host"}}
        }
    elif host_prefix:
        run["originalUriBaseIds"] = {uri_base_id: {"description": {"text": "estate root: <host>/<absolute path>"}}}
    return {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}
