"""Embed policies/schema/image.schema.json's definitions into facts.schema.json.

facts.schema.json is the one schema users validate facts against (every kind);
the image and container definitions are maintained in image.schema.json and
copied in here under an ``img_`` prefix, so the two cannot drift and no
cross-file $ref resolution is needed.

    python tools/gen_schema.py          # write
    python tools/gen_schema.py --check  # exit 1 when facts.schema.json is stale
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FACTS = REPO / "policies" / "schema" / "facts.schema.json"
IMAGE = REPO / "policies" / "schema" / "image.schema.json"
PREFIX = "img_"


def _rewrite(node, names: set[str]):
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
                name = value[len("#/$defs/"):]
                out[key] = f"#/$defs/{PREFIX}{name}" if name in names else value
            else:
                out[key] = _rewrite(value, names)
        return out
    if isinstance(node, list):
        return [_rewrite(v, names) for v in node]
    return node


def build() -> dict:
    facts = json.loads(FACTS.read_text())
    image = json.loads(IMAGE.read_text())
    defs = {k: v for k, v in facts["$defs"].items() if not k.startswith(PREFIX)}
    names = set(image["$defs"])
    for name, definition in image["$defs"].items():
        defs[PREFIX + name] = _rewrite(definition, names)
    defs["image_document"] = {"$ref": f"#/$defs/{PREFIX}image_document"}
    defs["container_document"] = {"$ref": f"#/$defs/{PREFIX}container_document"}
    facts["$defs"] = defs
    return facts


def render(schema: dict) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = render(build())
    if "--check" in argv:
        if FACTS.read_text() != text:
            print("policies/schema/facts.schema.json is stale: run python tools/gen_schema.py")
            return 1
        return 0
    FACTS.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
