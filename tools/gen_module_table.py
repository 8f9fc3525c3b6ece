"""Generate the README's table of modules and plugins from their DOCUMENTATION.

Every module in plugins/modules, the callback and the filters get a row: the name, where it
runs (the controller when its action plugin needs no connection, else the managed host) and
its ``short_description``. The table sits in README.md between two marker comments.

    python tools/gen_module_table.py          # write
    python tools/gen_module_table.py --check  # exit 1 when the README's table is stale
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
BEGIN = "<!-- BEGIN generated module table (tools/gen_module_table.py, make docs) -->"
END = "<!-- END generated module table -->"
_DOC_RE = re.compile(r'^DOCUMENTATION\s*=\s*r?("""|\'\'\')(.*?)\1', re.S | re.M)


def _doc(path: Path) -> dict:
    """The DOCUMENTATION block of a Python plugin, or of a YAML (filter) plugin's file."""
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".yml":
            return (yaml.safe_load(text) or {})["DOCUMENTATION"]
        found = _DOC_RE.search(text)
        if not found:
            raise ValueError("no DOCUMENTATION block")
        return yaml.safe_load(found.group(2))
    except (yaml.YAMLError, KeyError, ValueError) as exc:
        raise SystemExit(f"{path.relative_to(REPO)}: its DOCUMENTATION does not parse: {exc}") from exc


def _runs_on(name: str) -> str:
    action = REPO / "plugins" / "action" / f"{name}.py"
    if action.exists() and re.search(r"^\s*_requires_connection\s*=\s*False", action.read_text(), re.M):
        return "controller"
    return "managed host"


def _cell(text: object) -> str:
    return " ".join(str(text or "").split()).replace("|", "\\|")


def rows() -> list[str]:
    out = ["| name | kind | runs on | what it does |", "|---|---|---|---|"]
    for path in sorted((REPO / "plugins" / "modules").glob("*.py")):
        if path.name.startswith("_"):
            continue
        doc = _doc(path)
        out.append(f"| `refarch.containers.{path.stem}` | module | {_runs_on(path.stem)} | "
                   f"{_cell(doc.get('short_description'))} |")
    for path in sorted((REPO / "plugins" / "callback").glob("*.py")):
        doc = _doc(path)
        out.append(f"| `refarch.containers.{path.stem}` | callback | controller | "
                   f"{_cell(doc.get('short_description'))} |")
    for path in sorted((REPO / "plugins" / "filter").glob("*.yml")):
        doc = _doc(path)
        out.append(f"| `refarch.containers.{doc.get('name') or path.stem}` | filter | controller | "
                   f"{_cell(doc.get('short_description'))} |")
    return out


def render(readme: str) -> str:
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"README.md has no {BEGIN!r} ... {END!r} markers")
    return readme[:start] + BEGIN + "\n" + "\n".join(rows()) + "\n" + readme[end:]


def main(argv: list[str]) -> int:
    current = README.read_text(encoding="utf-8")
    wanted = render(current)
    if "--check" in argv:
        if wanted != current:
            print("README.md: the module table is stale (run make docs)")
            return 1
        return 0
    if wanted != current:
        README.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
