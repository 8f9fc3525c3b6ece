# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render every report format and write the files atomically (controller side).

Shared by the ``report`` and ``report_merge`` action plugins.  Rendering is
pure (:func:`render_all`); :func:`write_all` is the only function here that
touches the filesystem: each file is written to a temporary file in the
destination directory, flushed to disk and renamed over the old one, so a
reader (a web server, an AWX artifact collector) never sees a half-written
report.  ``report.json`` is written last: when it is new, the renders beside
it are too.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ansible_collections.refarch.containers.plugins.plugin_utils._html import render_html
from ansible_collections.refarch.containers.plugins.plugin_utils._junit import render_junit
from ansible_collections.refarch.containers.plugins.plugin_utils._report import ReportError, load_rules_catalog
from ansible_collections.refarch.containers.plugins.plugin_utils._sarif import render_sarif
from ansible_collections.refarch.containers.plugins.plugin_utils._text import render_text

FILE_NAMES = {
    "junit": "report.junit.xml",
    "sarif": "report.sarif",
    "html": "report.html",
    "text": "report.txt",
    "diff": "report.diff.json",
    "json": "report.json",
}
FORMATS = ("json", "junit", "sarif", "html", "text")
DEFAULT_FORMATS = ("json", "junit", "sarif", "html")
COLLECTION_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CATALOG = COLLECTION_ROOT / "policies" / "refarch" / "catalog" / "data.json"


def _dump(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def render_all(
    report: Mapping[str, Any],
    formats: Sequence[str] = DEFAULT_FORMATS,
    *,
    sarif_options: Mapping[str, Any] | None = None,
    title: str | None = None,
) -> dict[str, tuple[str, str]]:
    """Render the requested formats: ``{format: (file name, text)}``, ``report.json`` last.

    A ``diff`` file is added when the report carries a diff and ``json`` is requested.
    """
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ReportError(f"unknown report format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    out: dict[str, tuple[str, str]] = {}
    if "junit" in formats:
        out["junit"] = (FILE_NAMES["junit"], render_junit(report))
    if "sarif" in formats:
        out["sarif"] = (FILE_NAMES["sarif"], _dump(render_sarif(report, **dict(sarif_options or {}))))
    if "html" in formats:
        out["html"] = (FILE_NAMES["html"], render_html(report, title=title))
    if "text" in formats:
        out["text"] = (FILE_NAMES["text"], render_text(report))
    if "json" in formats:
        if isinstance(report.get("diff"), Mapping):
            out["diff"] = (FILE_NAMES["diff"], _dump(report["diff"]))
        out["json"] = (FILE_NAMES["json"], _dump(report))
    return out


def plan(dest: str, rendered: Mapping[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """Describe what :func:`write_all` would do: path, size, sha256 and whether content changes."""
    entries = []
    for fmt, (name, text) in rendered.items():
        path = os.path.join(dest, name)
        data = text.encode("utf-8")
        digest = hashlib.sha256(data).hexdigest()
        changed = True
        try:
            with open(path, "rb") as handle:
                changed = hashlib.sha256(handle.read()).hexdigest() != digest
        except OSError:
            pass
        entries.append({"format": fmt, "path": path, "size": len(data), "sha256": digest, "changed": changed})
    return entries


def _atomic_write(path: str, data: bytes, mode: int) -> None:
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def write_all(dest: str, rendered: Mapping[str, tuple[str, str]], mode: int = 0o644) -> list[dict[str, Any]]:
    """Create ``dest`` if needed and write every rendered file atomically; return the plan that was carried out."""
    os.makedirs(dest, exist_ok=True)
    entries = plan(dest, rendered)
    for entry in entries:
        if entry["changed"]:
            name, text = rendered[entry["format"]]
            _atomic_write(os.path.join(dest, name), text.encode("utf-8"), mode)
    return entries


def read_json(path: str, what: str) -> Any:
    """Read a JSON file, raising :class:`ReportError` naming ``what`` and the path on failure."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError as exc:
        raise ReportError(f"{what} {path} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"cannot read {what} {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ReportError(f"{what} {path} is not valid JSON: {exc}") from exc


def load_catalog_option(value: Any) -> tuple[dict[str, Any], str | None, list[str]]:
    """Resolve the ``rules_catalog`` option: a mapping, a path, or None for the bundled catalog.

    Returns ``(catalog, revision, warnings)``: ``revision`` is the catalog's
    ``revision`` key when it has one (the policy bundle revision).  A missing
    bundled catalog is a warning (the report still comes out, rules are then
    described from the findings alone).
    """
    if isinstance(value, (Mapping, list)):
        raw = value
    elif value:
        raw = read_json(str(value), "rules catalog")
    elif DEFAULT_CATALOG.is_file():
        raw = read_json(str(DEFAULT_CATALOG), "rules catalog")
    else:
        return {}, None, [
            f"rule catalog {DEFAULT_CATALOG} not found: rule titles and descriptions come from the findings only"
        ]
    revision = raw.get("revision") if isinstance(raw, Mapping) else None
    return load_rules_catalog(raw), (str(revision) if revision else None), []


# --------------------------------------------------------------------------- shared by the action plugins

RENDER_OPTIONS: dict[str, Any] = {
    "dest": {"type": "path", "required": True},
    "formats": {"type": "list", "elements": "str", "choices": list(FORMATS), "default": list(DEFAULT_FORMATS)},
    "previous": {"type": "raw"},
    "diff_with_existing": {"type": "bool", "default": False},
    "sarif_root": {"type": "str"},
    "sarif_uri_base_id": {"type": "str", "default": "SCANROOT"},
    "sarif_host_prefix": {"type": "bool", "default": False},
    "sarif_category": {"type": "str", "default": "refarch.containers/estate"},
    "title": {"type": "str"},
    "mode": {"type": "raw", "default": "0644"},
    "return_content": {"type": "bool", "default": False},
    "top": {"type": "int", "default": 5},
}


def parse_mode(value: Any) -> int:
    """Accept ``'0644'``, ``'644'`` or an int (octal digits as written in YAML, or the number itself)."""
    if isinstance(value, int) and not isinstance(value, bool):
        mode = value
    else:
        try:
            mode = int(str(value), 8)
        except ValueError as exc:
            raise ReportError(f"mode must be an octal string such as '0644', got {value!r}") from exc
    if not 0 <= mode <= 0o7777:
        raise ReportError(f"mode {value!r} is out of range")
    return mode


def load_previous(args: Mapping[str, Any]) -> tuple[Any, list[str]]:
    """The previous report for the diff: ``previous`` (path or mapping), else ``dest``/report.json if asked."""
    previous = args.get("previous")
    if isinstance(previous, Mapping):
        return dict(previous), []
    if previous:
        return read_json(str(previous), "previous report"), []
    if args.get("diff_with_existing"):
        path = os.path.join(str(args["dest"]), FILE_NAMES["json"])
        if not os.path.exists(path):
            return None, [f"no diff: {path} does not exist yet (first run)"]
        return read_json(path, "previous report"), []
    return None, []


def render_and_write(report: Mapping[str, Any], args: Mapping[str, Any], *, check_mode: bool) -> dict[str, Any]:
    """Render the formats in ``args`` and write them into ``args['dest']`` (plan only in check mode).

    Returns the action result fields: changed, dest, files, summary, text,
    diff_counts, would_write (check mode), content (``return_content``).
    """
    sarif_options = {
        "root": args.get("sarif_root"),
        "uri_base_id": args.get("sarif_uri_base_id") or "SCANROOT",
        "host_prefix": bool(args.get("sarif_host_prefix")),
        "category": args.get("sarif_category") or "refarch.containers/estate",
    }
    rendered = render_all(report, args.get("formats") or DEFAULT_FORMATS, sarif_options=sarif_options,
                          title=args.get("title"))
    dest = str(args["dest"])
    result: dict[str, Any] = {}
    if check_mode:
        entries = plan(dest, rendered)
        result["would_write"] = entries
    else:
        mode = parse_mode(args.get("mode", "0644"))
        try:
            entries = write_all(dest, rendered, mode)
        except OSError as exc:
            raise ReportError(f"cannot write the report into {dest}: {exc}") from exc
    result["changed"] = any(e["changed"] for e in entries)
    result["dest"] = dest
    result["files"] = {e["format"]: e["path"] for e in entries}
    result["summary"] = report["summary"]
    result["text"] = render_text(report, top=int(args.get("top") or 5))
    if isinstance(report.get("diff"), Mapping):
        result["diff_counts"] = report["diff"]["counts"]
    if isinstance(report.get("merge"), Mapping):
        result["merge"] = {k: report["merge"][k] for k in ("conflicts", "mismatches", "consistent")}
    if args.get("return_content"):
        result["content"] = {fmt: text for fmt, (_name, text) in rendered.items()}
    return result
