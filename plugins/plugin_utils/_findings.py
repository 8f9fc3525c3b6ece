# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn the engine's per-document findings into the controller's findings (contracts.md section 4).

Pure functions: add ``target``, apply waivers and pragmas, sort, summarize and
decide ``fail_on``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import posixpath
from typing import Any

from ansible_collections.refarch.containers.plugins.plugin_utils._scope import DEFAULT_MODE, target_scope
from ansible_collections.refarch.containers.plugins.plugin_utils._vocabulary import (
    SEVERITIES,
    SEVERITIES_ASCENDING,
    SEVERITY_RANK,
)
from ansible_collections.refarch.containers.plugins.plugin_utils._waivers import apply_waivers

FACT_LISTS = ("dockerfiles", "images", "containers")


def build_summary(build: Any) -> dict[str, Any] | None:
    """What a target says of the build a descriptor declares (None for the default evaluation).

    ``id`` tells two builds of one Dockerfile apart (context, target and arguments); ``declared_by``
    names the descriptors; ``image`` is the image the build tags, which links the Dockerfile to it.
    """
    if not isinstance(build, dict) or not build.get("declared"):
        return None
    args = build.get("args") if isinstance(build.get("args"), dict) else {}
    ident = json.dumps([build.get("context"), build.get("target"), sorted(args.items())], sort_keys=True)
    return {"id": hashlib.sha256(ident.encode("utf-8")).hexdigest()[:12], "target": build.get("target"),
            "context": build.get("context"), "image": build.get("image"), "args": dict(args),
            "declared_by": [dict(d) for d in build.get("declared_by") or [] if isinstance(d, dict)]}


def make_target(doc: dict[str, Any], host: str | None) -> dict[str, Any]:
    """The contract's ``target`` for a facts document (a declared build's Dockerfile also names its ``build``)."""
    kind = doc.get("kind") or "dockerfile"
    host = doc.get("host") or host
    if kind == "dockerfile":
        target = {"kind": kind, "host": host, "path": doc.get("path"), "sha256": doc.get("sha256")}
        build = build_summary(doc.get("build"))
        if build is not None:
            target["build"] = build
            if build["image"]:
                target["image"] = build["image"]
        return target
    tags = doc.get("repo_tags") or doc.get("tags") or []
    image = doc.get("image") or doc.get("reference") or (tags[0] if tags else None)
    if kind == "image":
        return {"kind": kind, "host": host, "image": image or doc.get("name"), "id": doc.get("id")}
    return {"kind": kind, "host": host, "name": doc.get("name"), "image": image, "id": doc.get("id")}


def scan_root_of(path: Any, roots: Any) -> str | None:
    """The root of ``roots`` that ``path`` lies under (the longest, so nested roots resolve); None if none."""
    if not path or not isinstance(roots, (list, tuple)):
        return None
    text = posixpath.normpath(str(path))
    best = None
    for root in roots:
        if not root:
            continue
        base = posixpath.normpath(str(root))
        inside = text == base or text.startswith(base.rstrip("/") + "/")
        if inside and (best is None or len(base) > len(best)):
            best = base
    return best


def target_entries(documents: list[dict[str, Any]], findings: list[dict[str, Any]],
                   host: str | None, roots: Any = None, node_scope: str = DEFAULT_MODE) -> list[dict[str, Any]]:
    """One entry per evaluated document (compliant ones too), for the estate report.

    A Dockerfile entry carries ``scan_root``: the document's own, else the one of ``roots``
    (the discovery's scan paths) it was found under. Every entry carries ``node_scope``: the
    document's classification and evidence, and whether a run in mode ``node_scope`` judged it.
    """
    open_counts: dict[tuple[str, str, str], int] = {}
    engine_failed: dict[tuple[str, str, str], str] = {}
    for finding in findings:
        key = target_key(finding.get("target") or {})
        if not finding.get("waived"):
            open_counts[key] = open_counts.get(key, 0) + weight(finding)
        if finding.get("engine_failure"):
            engine_failed[key] = str(finding.get("message") or "")
    entries = []
    for doc in documents:
        entry = make_target(doc, host)
        entry["problems"] = list(doc.get("problems") or [])
        entry["error"] = doc.get("error")
        if not entry["error"] and target_key(entry) in engine_failed:
            # not evaluated: the engine failed on this document alone (its NRA000 finding says how)
            entry["error"] = {"code": "engine_error", "message": engine_failed[target_key(entry)]}
        entry["open_findings"] = open_counts.get(target_key(entry), 0)
        entry["node_scope"] = target_scope(doc, node_scope)
        if entry["kind"] == "dockerfile":
            root = doc.get("scan_root") or scan_root_of(entry.get("path"), roots)
            if root:
                entry["scan_root"] = str(root)
        entries.append(entry)
    return entries


def target_key(target: dict[str, Any]) -> tuple[str, str, str]:
    """Stable sort key of a target."""
    ident = target.get("path") or target.get("name") or target.get("image") or target.get("id") or ""
    build = target.get("build")
    if isinstance(build, dict) and build.get("id"):  # one Dockerfile, several declared builds
        ident = f"{ident}#{build['id']}"
    return (str(target.get("host") or ""), str(target.get("kind") or ""), str(ident))


def finding_sort_key(finding: dict[str, Any]) -> tuple[Any, ...]:
    """Sort findings by target, then rule id, then line (file-level findings first)."""
    line = finding.get("line")
    return (*target_key(finding.get("target") or {}), str(finding.get("rule_id")),
            line if isinstance(line, int) else -1, str(finding.get("message") or ""))


#: Findings of one rule listed per target (and waiver state) unless told otherwise; the rest are folded.
DEFAULT_MAX_FINDINGS_PER_RULE = 20


def weight(finding: dict[str, Any]) -> int:
    """How many findings ``finding`` stands for: itself and the ones folded into it."""
    folded = finding.get("folded")
    return 1 + (folded if isinstance(folded, int) and folded > 0 else 0)


def fold_findings(findings: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """Keep at most ``limit`` findings per target, rule and waiver state (``0``: all), in order.

    The last one kept of a group carries ``folded``: how many more of that rule the target has
    (same rule, severity and waiver state, later lines). A Dockerfile with 99,990 ``EXPOSE 80``
    lines then costs the controller and the reports ``limit`` findings, not 99,990.
    """
    if not limit or limit <= 0:
        return findings
    counts: dict[tuple[Any, ...], int] = {}
    carriers: dict[tuple[Any, ...], dict[str, Any]] = {}
    kept: list[dict[str, Any]] = []
    for f in findings:
        key = (target_key(f.get("target") or {}), str(f.get("rule_id")), bool(f.get("waived")))
        seen = counts.get(key, 0)
        counts[key] = seen + 1
        if seen < limit:
            kept.append(f)
            carriers[key] = f
        else:
            carriers[key]["folded"] = int(carriers[key].get("folded") or 0) + weight(f)
    return kept


def enrich(documents: list[dict[str, Any]], raw: list[list[dict[str, Any]]], host: str | None, *,
           waivers: list[dict[str, Any]], evaluation_date: _dt.date,
           hadolint_pragmas: bool = True, max_per_rule: int = 0) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Return ``(findings, waiver_report)`` for engine output ``raw`` aligned with ``documents``.

    ``max_per_rule``: see :func:`fold_findings` (applied after waivers, so a folded finding's
    waiver state is known).
    """
    if len(raw) != len(documents):
        raise ValueError(f"engine output has {len(raw)} entries for {len(documents)} documents")
    findings: list[dict[str, Any]] = []
    pragmas: dict[int, list[dict[str, Any]]] = {}
    for i, (doc, items) in enumerate(zip(documents, raw, strict=True)):
        target = make_target(doc, host)
        pragmas[i] = [p for p in (doc.get("pragmas") or []) if isinstance(p, dict)]
        for item in items:
            f = dict(item)
            f["target"] = dict(target)
            f["_doc"] = i
            findings.append(f)
    report = apply_waivers(findings, waivers, evaluation_date, pragmas, hadolint_pragmas=hadolint_pragmas)
    for f in findings:
        f.pop("_doc", None)
    findings.sort(key=finding_sort_key)
    return fold_findings(findings, max_per_rule), report


def summarize(documents: list[dict[str, Any]], findings: list[dict[str, Any]], host: str | None,
              waiver_report: dict[str, Any] | None = None, node_scope: str = DEFAULT_MODE) -> dict[str, Any]:
    """Counts over findings: open (not waived) by severity and by rule, targets, compliance, waivers.

    A target is compliant when it was judged and has no open finding other than advisory ones; a
    target the node scope did not judge (``not_node`` in mode ``node``) is counted apart
    (``not_judged_targets``) unless it has an open finding (NRA000). Folded findings count
    (``folded``: how many are not listed).
    """
    by_severity = dict.fromkeys(SEVERITIES, 0)
    by_rule: dict[str, int] = {}
    waived = {"file": 0, "pragma": 0}
    failing_targets: set[tuple[str, str, str]] = set()
    open_count = 0
    total = 0
    for f in findings:
        n = weight(f)
        total += n
        if f.get("waived"):
            src = (f.get("waiver") or {}).get("source", "file")
            waived[src] = waived.get(src, 0) + n
            continue
        open_count += n
        sev = str(f.get("severity") or "info")
        by_severity[sev] = by_severity.get(sev, 0) + n
        by_rule[str(f.get("rule_id"))] = by_rule.get(str(f.get("rule_id")), 0) + n
        if not f.get("advisory"):
            failing_targets.add(target_key(f.get("target") or {}))
    keys = {target_key(make_target(d, host)) for d in documents}
    by_kind: dict[str, int] = {}
    by_scope = {"node": 0, "not_node": 0, "unknown": 0}
    not_judged: set[tuple[str, str, str]] = set()
    for d in documents:
        by_kind[d.get("kind") or "dockerfile"] = by_kind.get(d.get("kind") or "dockerfile", 0) + 1
        scope = target_scope(d, node_scope)
        by_scope[scope["classification"]] += 1
        if not scope["judged"]:
            not_judged.add(target_key(make_target(d, host)))
    not_judged -= failing_targets
    waiver_report = waiver_report or {}
    return {
        "total": total,
        "folded": total - len(findings),
        "open": open_count,
        "by_severity": by_severity,
        "by_rule": dict(sorted(by_rule.items())),
        "targets": len(documents),
        "targets_by_kind": by_kind,
        "compliant_targets": len(keys - failing_targets - not_judged),
        "non_compliant_targets": len(keys & failing_targets),
        "not_judged_targets": len(not_judged),
        "targets_by_node_scope": by_scope,
        "waived": waived["file"] + waived["pragma"],
        "waived_by_source": waived,
        "expired_waivers": list(waiver_report.get("expired", [])),
        "unused_waivers": list(waiver_report.get("unused", [])),
    }


def over_threshold(findings: list[dict[str, Any]], fail_on: str) -> list[dict[str, Any]]:
    """Open findings whose severity is at or above ``fail_on`` (``none`` disables)."""
    if fail_on in (None, "", "none"):
        return []
    if fail_on not in SEVERITY_RANK:
        raise ValueError(f"fail_on must be one of none, {', '.join(SEVERITIES_ASCENDING)}; got {fail_on!r}")
    floor = SEVERITY_RANK[fail_on]
    return [f for f in findings if not f.get("waived")
            and SEVERITY_RANK.get(str(f.get("severity")), SEVERITY_RANK["critical"]) >= floor]


def collect_documents(facts: Any) -> list[dict[str, Any]]:
    """Accept a facts document, a list of them, or registered results, and return the documents.

    Registered results are mappings holding ``dockerfiles`` / ``images`` /
    ``containers`` lists, or loop results under ``results``. Raises ``ValueError``
    on anything else so that bad input is never evaluated as "nothing to check".
    """
    docs: list[dict[str, Any]] = []

    def walk(obj: Any, where: str) -> None:
        if isinstance(obj, list):
            for n, item in enumerate(obj):
                walk(item, f"{where}[{n}]")
            return
        if not isinstance(obj, dict):
            raise ValueError(f"{where}: expected a facts document or a registered result, got {type(obj).__name__}")
        if "kind" in obj and "schema_version" in obj:
            docs.append(obj)
            return
        if obj.get("failed") or obj.get("unreachable"):
            # Checked first: a failed result may still carry (empty) document lists, which must
            # never be read as "nothing to check".
            raise ValueError(f"{where}: a registered result that failed or was unreachable holds no facts "
                             f"({obj.get('msg', 'no message')})")
        found = False
        for key in FACT_LISTS:
            encoded = obj.get(f"{key}_json")
            if isinstance(encoded, str):
                # dockerfile_info(output_encoding=json): the documents as one JSON string
                found = True
                try:
                    decoded = json.loads(encoded)
                except ValueError as exc:
                    raise ValueError(f"{where}.{key}_json: not valid JSON ({exc})") from exc
                if not isinstance(decoded, list):
                    raise ValueError(f"{where}.{key}_json: expected a JSON list of facts documents")
                walk(decoded, f"{where}.{key}_json")
            if key in obj:
                found = True
                if not isinstance(obj[key], list):
                    raise ValueError(f"{where}.{key}: expected a list of facts documents")
                walk(obj[key], f"{where}.{key}")
        if "results" in obj and isinstance(obj["results"], list):
            found = True
            walk(obj["results"], f"{where}.results")
        if not found:
            if obj.get("skipped"):
                return
            raise ValueError(f"{where}: not a facts document (needs kind and schema_version) nor a result with "
                             f"{', '.join(FACT_LISTS)}")

    walk(facts, "facts")
    return docs
