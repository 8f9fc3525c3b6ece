# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Text cleaning shared by the report renderers (controller side, pure).

Everything a report shows comes from files written by strangers: paths, image
tags, labels, messages.  Before any of it reaches a terminal, an XML document
or a browser it goes through :func:`clean_text`, which removes

* ANSI / VT100 escape sequences (CSI ``ESC [ ... final``, OSC ``ESC ] ... BEL|ST``,
  DCS/SOS/PM/APC strings, two-character ``ESC x`` sequences, and the 8-bit C1
  forms of the same introducers);
* every remaining C0/C1 control character except tab and newline (carriage
  returns become newlines);
* characters XML 1.0 forbids (lone surrogates, U+FFFE, U+FFFF);
* Unicode bidirectional overrides and isolates ("Trojan Source" reordering).

Escaping for a given output format (HTML entities, XML) is the renderer's job;
this module only guarantees the text is printable and well-formed.
"""

from __future__ import annotations

import re
from typing import Any

# CSI: ESC [ or 8-bit 0x9B, parameter bytes, intermediate bytes, one final byte.
_CSI = r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
# OSC / DCS / SOS / PM / APC strings, terminated by BEL or ST (ESC \ or 0x9C);
# an unterminated one runs to the end of the text.
_STRING = r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|$)"
# Any other two-character escape (ESC followed by one byte 0x20-0x7e).
_ESC2 = r"\x1b[ -~]?"
ANSI_RE = re.compile(f"{_CSI}|{_STRING}|{_ESC2}", re.DOTALL)

# C0 controls except \t and \n, DEL, C1 controls, surrogates, XML non-characters
# U+FFFE/U+FFFF, and the bidi embedding/override/isolate controls.
_FORBIDDEN_RE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u202a-\u202e\u2066-\u2069]"
)

MAX_FIELD_CHARS = 4000


def strip_ansi(text: str) -> str:
    """Remove ANSI escape sequences (7- and 8-bit forms) from ``text``."""
    return ANSI_RE.sub("", text)


def clean_text(value: Any, *, single_line: bool = False, limit: int | None = MAX_FIELD_CHARS) -> str:
    """Return ``value`` as printable text safe to place in any report format.

    ``None`` becomes the empty string and non-strings are converted with
    ``str``.  ``single_line`` folds newlines and tabs into spaces (table cells,
    terminal summaries).  ``limit`` truncates very long values with an ellipsis
    so a 5 MB line in a label cannot blow up a dashboard (``None`` = no limit).
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = strip_ansi(text)
    text = _FORBIDDEN_RE.sub("", text)
    if single_line:
        text = " ".join(text.split())
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)] + "\u2026"
    return text


def clean_tree(value: Any) -> Any:
    """Apply :func:`clean_text` (no length limit) to every string in a JSON-like tree.

    Dictionary keys are cleaned too.  Numbers, booleans and ``None`` pass through.
    """
    if isinstance(value, str):
        return clean_text(value, limit=None)
    if isinstance(value, dict):
        return {clean_text(k, limit=None): clean_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_tree(v) for v in value]
    return value
