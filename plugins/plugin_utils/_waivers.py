# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waivers: a waiver file and inline pragmas, applied on the controller after evaluation.

Waiver file (YAML or JSON): a list of entries, or a mapping with a ``waivers`` list::

    - id: legacy-port-80          # optional, defaults to waivers[<index>]
      rule: NRA002                # a rule id, a list of rule ids, or '*'
      host: 'web*'                # glob, optional (matches any host when absent)
      path: '/srv/legacy/*'       # glob on the Dockerfile path, optional
      image: 'registry/app:*'     # glob on the image reference, optional
      reason: nginx sidecar binds 80 until Q3
      owner: team-web
      expires: 2026-12-31         # ISO date; the waiver applies up to and including that day

A waiver applies to a finding when every selector it has matches. A waiver
whose ``expires`` is before the evaluation date does not apply; a finding it
would have waived carries ``waiver_expired``. Inline pragmas come from the
facts document's ``pragmas`` (contracts.md section 2).
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import json
from pathlib import Path
from typing import Any

ALLOWED_KEYS = {"id", "rule", "host", "path", "image", "reason", "owner", "expires"}
REQUIRED_KEYS = ("reason", "owner", "expires")


class WaiverError(ValueError):
    """The waiver file or list is invalid; the message lists every problem."""


def _parse_date(value: Any) -> _dt.date | None:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str):
        try:
            return _dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def parse_evaluation_date(value: Any) -> _dt.date:
    """Parse an ISO date (``YYYY-MM-DD``); raise :class:`ValueError` naming the bad value."""
    parsed = _parse_date(value)
    if parsed is None:
        raise ValueError(f"evaluation_date must be an ISO date (YYYY-MM-DD), got {value!r}")
    return parsed


def load_waiver_file(path: str) -> list[dict[str, Any]]:
    """Read a YAML or JSON waiver file and return its raw entries (validate with :func:`validate_waivers`)."""
    p = Path(path).expanduser()
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise WaiverError(f"cannot read waiver file {p}: {exc.strerror or exc}") from exc
    if p.suffix.lower() == ".json":
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise WaiverError(f"{p}: invalid JSON: {exc}") from exc
    else:
        try:
            import yaml  # noqa: PLC0415 - optional dependency, only for YAML files
        except ImportError as exc:  # pragma: no cover
            raise WaiverError("reading a YAML waiver file needs PyYAML") from exc
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise WaiverError(f"{p}: invalid YAML: {exc}") from exc
    if doc is None:
        return []
    if isinstance(doc, dict) and "waivers" in doc:
        doc = doc["waivers"]
    if not isinstance(doc, list):
        raise WaiverError(f"{p}: expected a list of waivers (or a mapping with a 'waivers' list)")
    return doc


def validate_waivers(entries: Any, source: str = "waivers") -> list[dict[str, Any]]:
    """Validate raw waiver entries and return normalized ones.

    Normalized: ``rules`` (list of ids, ``['*']`` for all), ``host``/``path``/``image``
    (glob or None), ``reason``, ``owner``, ``expires`` (ISO string), ``id``.
    Raises :class:`WaiverError` listing every problem as ``<source>[i]: ...``.
    """
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise WaiverError(f"{source}: expected a list of waivers, got {type(entries).__name__}")
    problems: list[str] = []
    out: list[dict[str, Any]] = []
    seen_ids: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"{source}[{i}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: expected a mapping, got {type(entry).__name__}")
            continue
        unknown = sorted(set(map(str, entry)) - ALLOWED_KEYS)
        if unknown:
            problems.append(f"{where}: unknown key(s) {', '.join(unknown)} "
                            f"(allowed: {', '.join(sorted(ALLOWED_KEYS))})")
        for key in REQUIRED_KEYS:
            val = entry.get(key)
            if val is None or (isinstance(val, str) and not val.strip()):
                problems.append(f"{where}: '{key}' is required")
        rule = entry.get("rule")
        rules: list[str] = []
        if rule is None:
            problems.append(f"{where}: 'rule' is required (a rule id, a list of ids, or '*')")
        elif isinstance(rule, str) and rule.strip():
            rules = [rule.strip()]
        elif isinstance(rule, list) and rule and all(isinstance(r, str) and r.strip() for r in rule):
            rules = [r.strip() for r in rule]
        else:
            problems.append(f"{where}: 'rule' must be a rule id, a non-empty list of rule ids, or '*'")
        for key in ("host", "path", "image", "id", "reason", "owner"):
            val = entry.get(key)
            if val is not None and not isinstance(val, str):
                problems.append(f"{where}: '{key}' must be a string")
        expires = entry.get("expires")
        exp_date = _parse_date(expires) if expires is not None else None
        if expires is not None and exp_date is None:
            problems.append(f"{where}: 'expires' must be an ISO date (YYYY-MM-DD), got {expires!r}")
        wid = str(entry.get("id") or where)
        if wid in seen_ids:
            problems.append(f"{where}: duplicate waiver id {wid!r}")
        seen_ids.add(wid)
        out.append({
            "id": wid, "rules": rules, "host": entry.get("host"), "path": entry.get("path"),
            "image": entry.get("image"), "reason": entry.get("reason"), "owner": entry.get("owner"),
            "expires": exp_date.isoformat() if exp_date else None,
        })
    if problems:
        raise WaiverError("invalid waivers: " + "; ".join(problems))
    return out


def _glob(pattern: str | None, value: Any) -> bool:
    if pattern is None:
        return True
    if value is None:
        return False
    return fnmatch.fnmatchcase(str(value), pattern)


def waiver_matches(waiver: dict[str, Any], finding: dict[str, Any]) -> bool:
    """True when every selector of ``waiver`` matches ``finding`` (rule and its target)."""
    rules = waiver["rules"]
    if "*" not in rules and finding.get("rule_id") not in rules:
        return False
    target = finding.get("target") or {}
    return (_glob(waiver.get("host"), target.get("host")) and _glob(waiver.get("path"), target.get("path"))
            and _glob(waiver.get("image"), target.get("image")))


def _public(waiver: dict[str, Any], source: str) -> dict[str, Any]:
    return {"source": source, "id": waiver.get("id"), "reason": waiver.get("reason"),
            "owner": waiver.get("owner"), "expires": waiver.get("expires")}


def pragma_waiver(finding: dict[str, Any], pragmas: list[dict[str, Any]], *, hadolint_pragmas: bool = True,
                  path: str | None = None) -> dict[str, Any] | None:
    """Return the contract's waiver object for the first inline pragma that covers ``finding``, else None.

    ``refarch`` pragmas name our rule ids (``*`` or an empty list = every rule); ``hadolint``
    pragmas name DL ids and cover a finding whose ``related`` aliases include one of them.
    A pragma with ``applies_to_line`` covers the finding on that line; without it, the whole file.
    """
    for pragma in pragmas or []:
        if not isinstance(pragma, dict):
            continue
        source = pragma.get("source")
        names = [str(r) for r in pragma.get("rules") or []]
        if source == "refarch":
            covered = not names or "*" in names or finding.get("rule_id") in names
        elif source == "hadolint":
            if not hadolint_pragmas:
                continue
            related = set(finding.get("related") or [])
            covered = bool(related.intersection(names))
        else:
            continue
        if not covered:
            continue
        applies = pragma.get("applies_to_line")
        if applies is not None and finding.get("line") != applies:
            continue
        line = pragma.get("line")
        reason = pragma.get("reason") or f"inline {source} pragma at line {line}"
        return {"source": "pragma", "id": f"{source}-pragma:{path or ''}:{line}", "reason": reason,
                "owner": None, "expires": None}
    return None


def apply_waivers(findings: list[dict[str, Any]], waivers: list[dict[str, Any]], evaluation_date: _dt.date,
                  pragmas_by_doc: dict[int, list[dict[str, Any]]] | None = None, *,
                  hadolint_pragmas: bool = True) -> dict[str, Any]:
    """Mark ``findings`` in place with ``waived`` / ``waiver`` / ``waiver_expired``.

    Each finding must carry ``target`` and the private key ``_doc`` (index of its
    facts document, used to find that document's pragmas). A valid (not expired)
    file waiver wins over a pragma; an expired waiver never applies. Returns
    ``{"expired": [waiver ids that matched while expired], "unused": [ids that matched nothing]}``.
    """
    used: set[str] = set()
    expired_hits: list[str] = []
    for finding in findings:
        finding["waived"] = False
        finding["waiver"] = None
        finding.pop("waiver_expired", None)
        active = None
        expired = None
        for waiver in waivers:
            if not waiver_matches(waiver, finding):
                continue
            used.add(waiver["id"])
            exp = _parse_date(waiver.get("expires"))
            if exp is not None and exp < evaluation_date:
                expired = expired or waiver
                continue
            active = waiver
            break
        if active is not None:
            finding["waived"] = True
            finding["waiver"] = _public(active, "file")
        else:
            pragmas = (pragmas_by_doc or {}).get(finding.get("_doc", -1)) or []
            pw = pragma_waiver(finding, pragmas, hadolint_pragmas=hadolint_pragmas,
                               path=(finding.get("target") or {}).get("path"))
            if pw is not None:
                finding["waived"] = True
                finding["waiver"] = pw
        if expired is not None and active is None:
            finding["waiver_expired"] = _public(expired, "file")
            if expired["id"] not in expired_hits:
                expired_hits.append(expired["id"])
    unused = [w["id"] for w in waivers if w["id"] not in used]
    return {"expired": expired_hits, "unused": unused}
