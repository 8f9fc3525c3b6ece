#!/usr/bin/env python3
"""Generate policies/refarch/catalog/data.json and main.rego's rule list from the rule packages' METADATA.

The policy bundle cannot read its own annotations at evaluation time
(``rego.metadata.*`` is not available in every engine), so the metadata of each
``refarch.rules.*`` package (title, description, severity, fix, aliases ...) is
copied into ``data.refarch.catalog`` by this script.

The entry point (``policies/refarch/main/main.rego``) imports every rule package and
takes the union of their ``findings(doc, c)``. Rego cannot call a function through a
data reference (``data.refarch.rules[_].findings(doc, c)``), and discovering rules as
rules over ``input`` would need ``with input as`` per document, which regopy cannot
evaluate; so this script writes the two lists (the imports after the
``# rule packages:`` comment and the members of ``union({...})``) from the same
catalog. Adding a rule package touches no central file by hand: run this script.

Usage::

    tools/gen_rule_catalog.py            # rewrite the catalog
    tools/gen_rule_catalog.py --check    # exit 1 when the catalog is out of date
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
POLICIES = REPO / "policies"
CATALOG = POLICIES / "refarch" / "catalog" / "data.json"
MAIN = POLICIES / "refarch" / "main" / "main.rego"
_MAIN_IMPORTS_RE = re.compile(r"(# rule packages: [^\n]*\n)(?:import data\.refarch\.rules\.[a-z0-9_]+\n)+")
_MAIN_UNION_RE = re.compile(r"(else := union\(\{\n)(?:\t\{f \| some f in [a-z0-9_]+\.findings\(doc, c\)\},\n)+(\}\))")

REQUIRED_CUSTOM = ("id", "severity", "recommended_action", "fix", "aliases", "category", "advisory", "scope")
SEVERITIES = ("critical", "high", "medium", "low", "info")
# node: a Node.js rule, judged on node and unknown targets only; neutral: container hygiene, judged on every
# target (main.rego gates on it with data.refarch.catalog, see policies/refarch/lib/scope)
SCOPES = ("node", "neutral")
_PACKAGE_RE = re.compile(r"^package\s+([A-Za-z0-9_.]+)\s*$")


class MetadataError(ValueError):
    """A rule package's METADATA is missing or malformed."""


def package_metadata(path: Path) -> tuple[str, dict[str, Any]]:
    """Return (package name, METADATA mapping) of the package-scoped annotation in a .rego file.

    The METADATA block is the run of comment lines that starts with ``# METADATA``
    directly above the ``package`` line.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        match = _PACKAGE_RE.match(line)
        if not match:
            continue
        block: list[str] = []
        cursor = number - 1
        while cursor >= 0 and lines[cursor].startswith("#"):
            block.insert(0, lines[cursor])
            cursor -= 1
        if not block or block[0].strip() != "# METADATA":
            raise MetadataError(f"{path}: no '# METADATA' block directly above 'package {match.group(1)}'")
        text = "\n".join(_uncomment(raw) for raw in block[1:])
        try:
            meta = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise MetadataError(f"{path}: METADATA is not valid YAML: {exc}") from exc
        if not isinstance(meta, dict):
            raise MetadataError(f"{path}: METADATA must be a mapping")
        return match.group(1), meta
    raise MetadataError(f"{path}: no package line")


def _uncomment(line: str) -> str:
    body = line[1:]
    return body[1:] if body.startswith(" ") else body


def rule_entry(package: str, meta: dict[str, Any], path: Path) -> dict[str, Any]:
    """Validate one rule package's METADATA and return its catalog entry."""
    custom = meta.get("custom") or {}
    missing = [key for key in ("title", "description", "related_resources") if not meta.get(key)]
    missing += [f"custom.{key}" for key in REQUIRED_CUSTOM if key not in custom]
    if missing:
        raise MetadataError(f"{path}: METADATA lacks {', '.join(missing)}")
    if custom["severity"] not in SEVERITIES:
        raise MetadataError(f"{path}: severity {custom['severity']!r} is not one of {', '.join(SEVERITIES)}")
    if custom["scope"] not in SCOPES:
        raise MetadataError(f"{path}: scope {custom['scope']!r} is not one of {', '.join(SCOPES)}")
    if not isinstance(custom["aliases"], list):
        raise MetadataError(f"{path}: custom.aliases must be a list")
    expected_pkg = f"refarch.rules.{str(custom['id']).lower()}"
    if package != expected_pkg:
        raise MetadataError(f"{path}: custom.id {custom['id']} does not match package {package}")
    return {
        "id": custom["id"],
        "title": meta["title"],
        "description": " ".join(str(meta["description"]).split()),
        "severity": custom["severity"],
        "recommended_action": custom["recommended_action"],
        "fix": custom["fix"],
        "aliases": [str(a) for a in custom["aliases"]],
        "category": custom["category"],
        "advisory": bool(custom["advisory"]),
        "scope": custom["scope"],
        "related_resources": [
            {"ref": r.get("ref"), "description": r.get("description", "")} for r in meta["related_resources"]
        ],
        "package": package,
        "file": path.relative_to(REPO).as_posix(),
    }


def build_catalog(policies: Path = POLICIES) -> dict[str, Any]:
    """Collect every ``refarch.rules.*`` package below ``policies`` into the catalog document."""
    rules: dict[str, Any] = {}
    for path in sorted((policies / "refarch" / "rules").rglob("*.rego")):
        if path.name.endswith("_test.rego"):
            continue
        if path.stem != path.parent.name:
            # companion files (nra001/nra001_image.rego) add bodies to the package; its METADATA is in nraNNN.rego
            continue
        package, meta = package_metadata(path)
        entry = rule_entry(package, meta, path)
        if entry["id"] in rules:
            raise MetadataError(f"{path}: rule id {entry['id']} is declared twice")
        rules[entry["id"]] = entry
    manifest = json.loads((policies / ".manifest").read_text(encoding="utf-8"))
    return {"revision": manifest.get("revision"), "rules": rules}


def render(catalog: dict[str, Any]) -> str:
    """Serialize deterministically (the --check comparison is textual)."""
    return json.dumps(catalog, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_main(catalog: dict[str, Any], text: str) -> str:
    """main.rego with its rule imports and its union written from the catalog (rule id order)."""
    names = [catalog["rules"][rule_id]["package"].rsplit(".", 1)[1] for rule_id in sorted(catalog["rules"])]
    if not _MAIN_IMPORTS_RE.search(text) or not _MAIN_UNION_RE.search(text):
        raise MetadataError(f"{MAIN}: no '# rule packages:' import list or 'else := union({{' list to write")
    text = _MAIN_IMPORTS_RE.sub(lambda m: m.group(1) + "".join(f"import data.refarch.rules.{n}\n" for n in names),
                                text, count=1)
    return _MAIN_UNION_RE.sub(lambda m: m.group(1) + "".join(f"\t{{f | some f in {n}.findings(doc, c)}},\n"
                                                              for n in names) + m.group(2), text, count=1)


def _write(path: Path, text: str, check: bool) -> bool:
    """Write ``text`` to ``path`` (or with ``check`` say whether it is current); True when current."""
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    if current == text:
        return True
    if check:
        print(f"{path.relative_to(REPO)} is out of date: run tools/gen_rule_catalog.py", file=sys.stderr)
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path.relative_to(REPO)}")
    return True


def main(argv: list[str] | None = None) -> int:
    """Entry point: write the catalog, or with --check report whether it is current."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the catalog or main.rego is out of date")
    args = parser.parse_args(argv)
    try:
        catalog = build_catalog()
        main_text = render_main(catalog, MAIN.read_text(encoding="utf-8"))
    except MetadataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    current = [_write(CATALOG, render(catalog), args.check), _write(MAIN, main_text, args.check)]
    return 0 if all(current) else 1


if __name__ == "__main__":
    sys.exit(main())
