# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run outcome: whether a scan or remediation checked what it was asked to (controller side, pure).

One definition of each reason a run is *incomplete* (:data:`REASONS`), of what a
user may accept (``refarch_allow_incomplete``: ``true`` or a list of reasons,
checked by :func:`accepted_reasons`), of how a report's hosts block yields the
reasons (:func:`incomplete_reasons`, used for ``summary.complete`` and
``summary.incomplete_reasons``) and of the one message the playbooks' gate fails
with (:func:`gate_message`). Every report format and the exit status read these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

#: Every reason a run is incomplete, with what it means (docs/report-format.md lists the same).
REASONS: dict[str, str] = {
    "host_unreachable": "a host could not be reached",
    "host_failed": "discovery failed on a host (the module could not run there or failed)",
    "directory_unreadable": "a directory under a scan root could not be listed (permission denied, I/O error)",
    "descriptor_unusable": ("a build descriptor (compose, bake, workflow) could not be read or used, or a build it "
                            "declares could not be evaluated as declared (a missing Dockerfile, a context outside "
                            "the scan roots, a value that depends on a variable, ...)"),
    "target_unreadable": ("a target could not be read or parsed at all (unreadable, permission_denied, "
                          "foreign_owner, not_regular_file, too_large, binary, ...): it was not evaluated"),
    "engine_failure": "the policy engine failed, for a whole host or for one document (NRA000)",
    "waivers_unusable": "a waiver file could not be read or is invalid",
    "policy_unusable": "the policy bundle or the policy data could not be used",
    "evaluation_failed": "the evaluation failed on a host for another reason",
    "remediation_failed": "a remediation failed",
    "remediation_refused": "a remediation was refused (the file or its directory was unsafe to write)",
    "remediation_rolled_back": "a rebuilt image did not pass and the Dockerfile was restored",
}

#: Reasons that no host status or target error already shows: the report formats list them on their own.
OWN_ENTRY_REASONS = ("directory_unreadable", "descriptor_unusable", "remediation_failed", "remediation_refused",
                     "remediation_rolled_back")
#: Directory problems of a scan that mean part of a root was not seen (a missing root is not one of them).
UNLISTED_DIRECTORY_CODES = frozenset({"permission_denied", "read_error"})
#: Host problems of build descriptors (``_descriptors``) carry this ``source``.
DESCRIPTOR_SOURCE = "descriptor"
#: Descriptor problems after which everything declared was still evaluated: a note, not a reason.
DESCRIPTOR_NOTE_CODES = frozenset({"conflicting_builds"})
#: A target error that is the engine's (its NRA000 finding), not the file's.
ENGINE_ERROR_CODE = "engine_error"
#: At most this many characters of a failed module's stderr / stdout are kept (the rest is cut, said so).
EVIDENCE_LIMIT = 4000


def accepted_reasons(value: Any, name: str = "refarch_allow_incomplete") -> frozenset[str]:
    """The reasons a user accepts: ``true`` = all, ``false``/empty = none, else a list of :data:`REASONS`.

    Raises ValueError naming ``name`` and the known reasons for anything else.
    """
    if value is None or value is False or value in ("", [], ()):
        return frozenset()
    if value is True:
        return frozenset(REASONS)
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "false", "no"):
        return frozenset(REASONS) if value.strip().lower() in ("true", "yes") else frozenset()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
        raise ValueError(f"{name} must be true, false or a list of reasons ({', '.join(REASONS)}), "
                         f"not {type(value).__name__}")
    unknown = sorted({i for i in items if i.strip().lower() not in REASONS})
    if unknown:
        raise ValueError(f"{name}: unknown reason(s) {', '.join(unknown)}; known: {', '.join(REASONS)}")
    return frozenset(i.strip().lower() for i in items)


def _entry(reason: str, host: str, target: str | None, detail: Any) -> dict[str, Any]:
    return {"reason": reason, "host": host, "target": target, "detail": str(detail or "")}


def incomplete_reasons(hosts: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``[{reason, host, target, detail}]`` for everything a report's ``hosts`` block did not check."""
    out: list[dict[str, Any]] = []
    for name in sorted(hosts):
        host = hosts[name]
        status = host.get("status")
        if status == "unreachable":
            out.append(_entry("host_unreachable", name, None, host.get("message")))
        elif status != "ok":
            reason = str(host.get("reason") or "host_failed")
            out.append(_entry(reason if reason in REASONS else "host_failed", name, None, host.get("message")))
        for problem in host.get("problems") or []:
            if not isinstance(problem, Mapping):
                continue
            if problem.get("source") == DESCRIPTOR_SOURCE:
                if problem.get("code") not in DESCRIPTOR_NOTE_CODES:
                    out.append(_entry("descriptor_unusable", name, problem.get("path"),
                                      f"{problem.get('code')}: {problem.get('message')}"))
            elif problem.get("code") in UNLISTED_DIRECTORY_CODES:
                out.append(_entry("directory_unreadable", name, problem.get("path"), problem.get("message")))
        for target in host.get("targets") or []:
            error = target.get("error")
            locator = target.get("path") or target.get("image") or target.get("container") or target.get("id")
            if not error:
                # a declared build evaluated without its context (it could not be opened): not as declared
                out.extend(_entry("descriptor_unusable", name, locator, f"{p.get('code')}: {p.get('message')}")
                           for p in target.get("problems") or []
                           if isinstance(p, Mapping) and p.get("source") == DESCRIPTOR_SOURCE)
                continue
            code = error.get("code") if isinstance(error, Mapping) else None
            message = error.get("message") if isinstance(error, Mapping) else error
            reason = "engine_failure" if code == ENGINE_ERROR_CODE else "target_unreadable"
            out.append(_entry(reason, name, locator, f"{code}: {message}" if code else message))
        for entry in host.get("remediation") or []:
            status = entry.get("status")
            if status in ("failed", "refused", "rolled_back"):
                out.append(_entry(f"remediation_{status}", name, entry.get("path"), entry.get("reason")))
            elif status == "would_fail":  # check mode: the real run could not write this Dockerfile
                out.append(_entry("remediation_failed", name, entry.get("path"), entry.get("reason")))
    return out


def count_by_reason(reasons: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many of each reason, in :data:`REASONS` order (only those present)."""
    counts: dict[str, int] = {}
    for item in reasons:
        counts[item["reason"]] = counts.get(item["reason"], 0) + 1
    return {r: counts[r] for r in REASONS if r in counts}


def gate_message(reasons: Iterable[Mapping[str, Any]], where: str = "") -> str:
    """One message naming each reason once, with how many and where the first happened."""
    reasons = list(reasons)
    if not reasons:
        return ""
    parts = []
    for reason, count in count_by_reason(reasons).items():
        first = next(r for r in reasons if r["reason"] == reason)
        place = first["host"] + (f":{first['target']}" if first.get("target") else "")
        more = f" and {count - 1} more" if count > 1 else ""
        parts.append(f"{reason} ({place}{more})")
    text = "run incomplete: " + "; ".join(parts)
    return text + (f"; details in {where}" if where else "")


def failure_evidence(text: Any, limit: int = EVIDENCE_LIMIT) -> str:
    """A failed module's stderr or stdout as the report keeps it: redacted, control characters escaped, bounded."""
    from ansible_collections.refarch.containers.plugins.module_utils._printable import printable  # noqa: PLC0415
    from ansible_collections.refarch.containers.plugins.module_utils._redact import redact_text  # noqa: PLC0415

    if not text:
        return ""
    raw = text if isinstance(text, str) else str(text)
    # Redacted before it is cut (a secret cut in half may no longer look like one); what is
    # redacted is bounded too, far beyond the part that is kept.
    redacted = redact_text(raw[: limit * 4])
    if len(redacted) <= limit and len(raw) <= limit * 4:
        return printable(redacted, keep_newlines=True)
    kept = printable(redacted[:limit], keep_newlines=True)
    return kept + f"\n[... cut: the first {limit} of {len(raw)} characters kept]"
