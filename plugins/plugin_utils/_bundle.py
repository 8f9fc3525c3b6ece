# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load a Rego policy bundle from directories, validate it and compute its revision.

A *bundle* here is the union of one or more policy directories: the collection's
``policies/`` (default) plus any user directories. Every ``*.rego`` file except
``*_test.rego`` is a module; every ``data.json`` file is a base document mounted
at its directory path relative to the policy root (as OPA does for bundles).

The revision is ``<manifest revision>+<content hash>``: the manifest revision
comes from the first ``.manifest`` found, the content hash is a SHA-256 over the
sorted SHA-256 digests of the module texts. It is defined over module *texts*
only (not file names) so that an OPA server, which reports each module's raw
text under its own id, can compute the same hash (see ``modules_hash``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ansible_collections.refarch.containers.plugins.plugin_utils._engine_base import EngineError

#: The collection's own bundle directory.
DEFAULT_POLICY_DIR = str(Path(__file__).resolve().parents[2] / "policies")

#: Query (data path) of the batch entry point, contracts.md section 3.
BATCH_QUERY = "data.refarch.main.batch"

_SKIP_DIRS = {".git", "node_modules", "__pycache__"}
_MAX_POLICY_FILES = 5000


@dataclass
class Bundle:
    """An in-memory policy bundle."""

    roots: list[str]
    modules: dict[str, str] = field(default_factory=dict)  # display path -> text
    data: dict[str, Any] = field(default_factory=dict)  # merged base documents
    data_files: dict[str, Any] = field(default_factory=dict)  # slash path ("refarch/config") -> document
    manifest_revision: str | None = None

    @property
    def content_hash(self) -> str:
        """SHA-256 over the module texts (order and names do not matter)."""
        return modules_hash(self.modules.values())

    @property
    def revision(self) -> str:
        """``<manifest revision or 'unversioned'>+<first 12 hex of the content hash>``."""
        return f"{self.manifest_revision or 'unversioned'}+{self.content_hash[:12]}"


def modules_hash(texts: Iterable[str]) -> str:
    """Hash a collection of Rego module texts independently of their order and names."""
    digests = sorted(hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts)
    return hashlib.sha256("\n".join(digests).encode("ascii")).hexdigest()


def _merge(dst: dict[str, Any], path: list[str], value: Any, origin: str) -> None:
    node = dst
    for part in path:
        nxt = node.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise EngineError("bundle", f"{origin}: data path {'/'.join(path)} conflicts with another data file")
        node = nxt
    if not isinstance(value, dict):
        if not path:
            raise EngineError("bundle", f"{origin}: a data.json at the bundle root must hold an object")
        parent = dst
        for part in path[:-1]:
            parent = parent[part]
        parent[path[-1]] = value
        return
    for key, val in value.items():
        if key in node and isinstance(node[key], dict) and isinstance(val, dict):
            _merge(node, [key], val, origin)
        elif key in node and node[key] != val:
            raise EngineError("bundle", f"{origin}: data key {'/'.join([*path, key])} is defined twice")
        else:
            node[key] = val


def load_bundle(paths: list[str] | None = None, include_default: bool = True) -> Bundle:
    """Load the policy directories into one :class:`Bundle`.

    ``paths`` are extra (user) policy directories or single ``.rego`` files; the
    collection's bundle comes first unless ``include_default`` is false.
    Raises :class:`EngineError` (cause ``bundle``) on a missing path, an
    unreadable file, invalid JSON or an empty bundle.
    """
    dirs: list[str] = ([DEFAULT_POLICY_DIR] if include_default else []) + list(paths or [])
    bundle = Bundle(roots=[])
    count = 0
    for raw in dirs:
        root = Path(os.path.expanduser(str(raw)))
        if not root.exists():
            raise EngineError("bundle", f"policy path {root} does not exist")
        if root.is_file():
            files = [root]
            base = root.parent
        else:
            base = root
            files = []
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
                for name in sorted(filenames):
                    files.append(Path(dirpath) / name)
            manifest = root / ".manifest"
            if manifest.is_file():
                try:
                    mdoc = json.loads(manifest.read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    raise EngineError("bundle", f"{manifest}: invalid manifest: {exc}") from exc
                if bundle.manifest_revision is None and mdoc.get("revision"):
                    bundle.manifest_revision = str(mdoc["revision"])
                for r in mdoc.get("roots") or []:
                    if r not in bundle.roots:
                        bundle.roots.append(r)
        for f in files:
            count += 1
            if count > _MAX_POLICY_FILES:
                raise EngineError("bundle", f"more than {_MAX_POLICY_FILES} files under the policy paths")
            if f.suffix == ".rego" and not f.name.endswith("_test.rego"):
                try:
                    bundle.modules[str(f)] = f.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError) as exc:
                    raise EngineError("bundle", f"{f}: cannot read policy: {exc}") from exc
            elif f.name == "data.json":
                try:
                    doc = json.loads(f.read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    raise EngineError("bundle", f"{f}: invalid data file: {exc}") from exc
                rel = [p for p in f.parent.relative_to(base).parts if p not in ("", ".")]
                _merge(bundle.data, rel, doc, str(f))
                bundle.data_files["/".join(rel)] = doc
    if not bundle.modules:
        raise EngineError("bundle", f"no Rego modules found under {', '.join(str(d) for d in dirs)}")
    if not bundle.roots:
        bundle.roots = ["refarch"]
    return bundle


def find_opa_binary(explicit: str | None = None) -> str | None:
    """Locate the ``opa`` binary: explicit path, ``$OPA``, the collection's ``.tools/bin``, ``PATH``."""
    candidates = [explicit, os.environ.get("OPA"), str(Path(DEFAULT_POLICY_DIR).parent / ".tools" / "bin" / "opa")]
    for cand in candidates:
        if cand and os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    return shutil.which("opa")


_REGOPY_LOC_RE = re.compile(r"--\s+(?P<file>[^\s:]+(?:\.rego)):(?P<line>\d+):(?P<col>\d+)")
_REGOPY_SEXPR_RE = re.compile(
    r"\(error \d+:(?P<file>[^|\n]+)\|(?P<off>\d+)\|\d+\s+\(errormsg \d+:(?P<msg>[^\n]*?)\)\s*$", re.MULTILINE)


#: regorus: ``--> file.rego:LINE:COL`` then the source excerpt, then ``error: message``.
_REGORUS_LOC_RE = re.compile(r"^\s*-->\s*(?P<file>.+?):(?P<line>\d+):(?P<col>\d+)\s*$")


def format_regorus_error(text: str) -> str | None:
    """``file:line: message`` entries from a regorus error text (None when it has no location)."""
    out: list[str] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = _REGORUS_LOC_RE.match(line)
        if not m:
            continue
        msg = "error"
        for cand in lines[i + 1:]:
            if _REGORUS_LOC_RE.match(cand):
                break
            stripped = cand.strip()
            if stripped.startswith("error:"):
                msg = stripped[len("error:"):].strip() or msg
                break
        out.append(f"{m.group('file')}:{m.group('line')}: {msg}")
    return "; ".join(dict.fromkeys(out)) if out else None


def format_engine_error(text: str, modules: dict[str, str] | None = None) -> str:
    """An embedded engine error (regorus or regopy) as ``file:line: message`` entries where possible."""
    return format_regorus_error(text) or format_regopy_error(text, modules)


def format_regopy_error(text: str, modules: dict[str, str] | None = None) -> str:
    """Turn a regopy error text into ``file:line: message`` entries where a location is given.

    regopy reports errors either as text (``-- file.rego:3:8``) or as an
    s-expression with a byte offset (``(error N:file.rego|72|2 (errormsg N:...))``);
    the offset is turned into a line number with the module text from ``modules``.
    """
    out: list[str] = []
    for m in _REGOPY_SEXPR_RE.finditer(text):
        fname, off = m.group("file"), int(m.group("off"))
        src = (modules or {}).get(fname)
        line = src[:off].count("\n") + 1 if src is not None else f"offset {off}"
        out.append(f"{fname}:{line}: {m.group('msg').strip()}")
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = _REGOPY_LOC_RE.search(line)
        if m:
            msg = ""
            for j in range(i - 1, -1, -1):
                cand = lines[j].strip()
                if cand and not cand.startswith(("--", "~", "Errors:")) and not _REGOPY_LOC_RE.search(cand):
                    msg = cand
                    break
            out.append(f"{m.group('file')}:{m.group('line')}: {msg or 'error'}")
    return "; ".join(dict.fromkeys(out)) if out else " ".join(text.split())[:1000]


def check_with_opa(paths: list[str], opa_binary: str | None = None, timeout: float = 120.0) -> list[str] | None:
    """Run ``opa check --strict`` over ``paths``.

    Returns ``None`` when no ``opa`` binary is available, ``[]`` when clean, and
    otherwise a list of ``file:line: message`` strings.
    """
    binary = find_opa_binary(opa_binary)
    if not binary:
        return None
    try:
        proc = subprocess.run(
            [binary, "check", "--strict", "--format", "json", *paths],
            capture_output=True, text=True, timeout=timeout, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EngineError("bundle", f"could not run {binary} check: {exc}") from exc
    if proc.returncode == 0:
        return []
    errors: list[str] = []
    try:
        doc = json.loads(proc.stdout or proc.stderr)
        for err in doc.get("errors", []):
            loc = err.get("location") or {}
            where = f"{loc.get('file', '?')}:{loc.get('row', '?')}" if loc else "?"
            errors.append(f"{where}: {err.get('message', '').strip()}")
    except ValueError:
        errors.append((proc.stderr or proc.stdout).strip() or f"opa check exited {proc.returncode}")
    return errors or [f"opa check exited {proc.returncode}"]


def validate_paths(paths: list[str], opa_binary: str | None = None) -> None:
    """Raise :class:`EngineError` (cause ``policy_syntax``) naming file and line when ``opa check`` fails."""
    errors = check_with_opa(paths, opa_binary)
    if errors:
        shown = "; ".join(errors[:10]) + (f" (and {len(errors) - 10} more)" if len(errors) > 10 else "")
        raise EngineError("policy_syntax", f"policy check failed: {shown}")
