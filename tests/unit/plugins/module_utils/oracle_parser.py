"""Test helper: parser output (contracts.md section 1) built with BuildKit's binding.

``binding_parse(text)`` turns the PyPI ``dockerfile`` package's result into the
contract's dict shape (lists instead of tuples), so the facts normaliser can be
tested on exactly what BuildKit parses, independently of the project's parser.
"""
from __future__ import annotations

import re

import dockerfile

_DIRECTIVE_RE = re.compile(r"^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$")


def binding_parse(text: str) -> dict:
    """Contract-shaped parse result from BuildKit's own parser (raises on BuildKit errors)."""
    directives = {"syntax": None, "escape": "\\", "check": None}
    for line in text.splitlines():
        m = _DIRECTIVE_RE.match(line)
        if not m:
            break
        key = m.group(1).lower()
        if key in directives:
            directives[key] = m.group(2)
    comments = [{"line": i + 1, "text": ln.strip()} for i, ln in enumerate(text.splitlines())
                if ln.strip().startswith("#")]
    instructions = []
    for c in dockerfile.parse_string(text):
        instructions.append({
            "cmd": c.cmd.upper(), "sub_cmd": c.sub_cmd.upper() if c.sub_cmd else None, "json": c.json,
            "original": c.original, "start_line": c.start_line, "end_line": c.end_line,
            "flags": list(c.flags), "value": list(c.value),
            "heredocs": [{"name": h.name, "file_descriptor": h.file_descriptor, "content": h.content}
                         for h in c.heredocs],
        })
    return {"directives": directives, "escape": directives["escape"], "instructions": instructions,
            "comments": comments, "problems": []}
