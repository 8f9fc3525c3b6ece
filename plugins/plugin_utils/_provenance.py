# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What judged a scan: the engine, its backend and version, the policy revision, the collection.

Every report (JSON, SARIF, JUnit, HTML, the console summary) names these, so a
reader can tell a regorus run from the slow regopy fallback, and an OPA server's
answer from the embedded engine's.  :func:`judged_by` builds the block from
what the engine recorded (its ``stats``); :func:`collection_version` reads the
version of the collection that is actually running (the ``MANIFEST.json`` of the
installed collection, else the ``galaxy.yml`` of a source checkout), never a
version typed into a playbook.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

#: The collection this file belongs to (an installed collection or a checkout).
COLLECTION_ROOT = Path(__file__).resolve().parents[2]
TOOL_NAME = "refarch.containers"

#: The warning every report carries when the embedded engine fell back to regopy.
SLOW_FALLBACK = ("the embedded engine ran on regopy, the slow fallback (about 10x slower): the fast regorus "
                 "backend (the refarch_regorus wheel) is not importable on the controller; install it as the "
                 "README's install section says, or set embedded_backend=regopy to choose regopy on purpose")

_VERSION_RE = re.compile(r"^\s*version\s*:\s*['\"]?([^'\"#\s]+)", re.MULTILINE)


def collection_version(root: Path = COLLECTION_ROOT) -> str | None:
    """The running collection's version: ``MANIFEST.json`` (installed), else ``galaxy.yml`` (checkout)."""
    try:
        manifest = json.loads((root / "MANIFEST.json").read_text(encoding="utf-8"))
        version = (manifest.get("collection_info") or {}).get("version")
        if version:
            return str(version)
    except (OSError, ValueError, AttributeError):
        pass
    try:
        found = _VERSION_RE.search((root / "galaxy.yml").read_text(encoding="utf-8"))
    except OSError:
        return None
    return found.group(1) if found else None


def safe_url(url: Any) -> str | None:
    """``url`` without user information, query or fragment (where credentials could hide)."""
    if not url:
        return None
    try:
        parts = urlsplit(str(url))
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(unparsable URL)"
    return urlunsplit((parts.scheme, host + port, parts.path, "", ""))


def judged_by(engine: str, stats: Mapping[str, Any] | None, policy_revision: Any, *,
              requested_backend: str | None = None, opa_url: Any = None,
              version: str | None = None) -> dict[str, Any]:
    """The ``judged_by`` block of a result and of ``report.json``.

    ``stats`` is the engine's ``stats`` (``backend``, ``backend_version``,
    ``backend_fallback``); ``requested_backend`` the ``embedded_backend`` option.
    ``version`` is the collection version (read with :func:`collection_version` when None).
    """
    stats = stats or {}
    backend = stats.get("backend")
    block: dict[str, Any] = {
        "tool": TOOL_NAME,
        "collection_version": version if version is not None else collection_version(),
        "engine": str(engine),
        "backend": str(backend) if backend else None,
        "backend_version": str(stats["backend_version"]) if stats.get("backend_version") else None,
        "policy_revision": None if policy_revision in (None, "") else str(policy_revision),
        "opa_url": safe_url(opa_url) if engine == "opa" else None,
        "warnings": [],
    }
    if engine == "embedded" and backend == "regopy" and requested_backend in (None, "", "auto"):
        reason = stats.get("backend_fallback")
        block["warnings"].append(SLOW_FALLBACK + (f" ({reason})" if reason else ""))
    return block


def describe(block: Mapping[str, Any] | None) -> str:
    """One line naming what judged: ``embedded engine (regorus 0.5.0), policy abc, refarch.containers 0.1.0``."""
    if not isinstance(block, Mapping):
        return "unknown engine"
    engine = str(block.get("engine") or "unknown")
    backend = block.get("backend")
    version = block.get("backend_version")
    if engine == "opa":
        server = "OPA server" + (f" {version}" if version else "")
        inner = f"{server} at {block['opa_url']}" if block.get("opa_url") else server
    else:
        inner = " ".join(str(x) for x in (backend or "backend unknown", version) if x)
    text = f"{engine} engine ({inner}), policy revision {block.get('policy_revision') or 'unknown'}"
    return f"{text}, {block.get('tool') or TOOL_NAME} {block.get('collection_version') or 'version unknown'}"


def merge_judged_by(blocks: list[Mapping[str, Any] | None]) -> dict[str, Any] | None:
    """One block for a merged report: each field kept when every source agrees, else ``"mixed"``."""
    present = [dict(b) for b in blocks if isinstance(b, Mapping)]
    if not present:
        return None
    merged: dict[str, Any] = {}
    for key in ("tool", "collection_version", "engine", "backend", "backend_version", "policy_revision", "opa_url"):
        values = {json.dumps(b.get(key)) for b in present}
        merged[key] = present[0].get(key) if len(values) == 1 and len(present) == len(blocks) else "mixed"
    merged["warnings"] = list(dict.fromkeys(w for b in present for w in b.get("warnings") or []))
    return merged
