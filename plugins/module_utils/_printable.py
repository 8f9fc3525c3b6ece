# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make text safe to print on a console or in a log line (stdlib only, pure).

Paths, image names and messages come from files written by strangers.  A
directory named ``ESC [ 2 J`` clears the operator's terminal, an OSC 8
sequence plants a hyperlink, a U+2028 splits a log line and a U+202E
reorders what is shown.  :func:`printable` replaces every such character by a
visible escape, so the text shows what is really there and nothing acts on
the terminal:

* C0 controls, DEL and C1 controls (U+0085 included) become ``\\xNN``;
* U+2028, U+2029, the bidi marks, embeddings, overrides and isolates
  (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069), the byte-order mark
  used as a zero-width character (U+FEFF) and lone surrogates (undecodable
  bytes kept with ``surrogateescape``) become ``\\uNNNN``;
* a backslash is doubled only where it would otherwise read as the start of
  one of these escapes (before ``x``, ``u``, another backslash, or an escaped
  character), so ordinary paths and shell lines keep their look while the
  result stays unambiguous.

Every other character, printable Unicode of any script included, is kept.
Report files use their own format's escaping (the report renderers); this is
for text meant for a console or a log line: callback output, task names and
loop labels (through the ``refarch.containers.printable`` filter) and module
messages.
"""

from __future__ import annotations

import re
from typing import Any

# Characters that act on a terminal or a line-oriented reader, or that reorder text.
_UNSAFE = (
    "\x00-\x1f\x7f-\x9f"  # C0, DEL, C1 (U+0085 NEL included)
    "\u061c\u200e\u200f"  # bidi marks
    "\u2028\u2029"  # line and paragraph separators
    "\u202a-\u202e\u2066-\u2069"  # bidi embeddings, overrides, isolates
    "\ufeff"  # zero-width no-break space / BOM
    "\ud800-\udfff"  # lone surrogates (surrogateescape'd bytes)
)
UNSAFE_RE = re.compile(f"[{_UNSAFE}]")
# A backslash that would read as an escape: before x, u, another backslash, or an escaped character.
_NEEDS_WORK_RE = re.compile(f"[{_UNSAFE}]|\\\\(?=[xu\\\\{_UNSAFE}])")


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    if char == "\\":
        return "\\\\"
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(value: Any, *, keep_newlines: bool = False, limit: int | None = None) -> str:
    """Return ``value`` as one printable string with control characters escaped.

    ``None`` becomes the empty string; other non-strings are converted with
    ``str``.  With ``keep_newlines`` a line feed (``\\n``) is kept as is (for a
    multi-line message printed line by line); every other control character,
    carriage return and tab included, is escaped.  ``limit`` shows at most that
    many characters of the text (then ``\u2026``; the escapes make the result longer).
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)]
        return printable(text, keep_newlines=keep_newlines) + "\u2026"
    if keep_newlines and "\n" in text:
        return "\n".join(printable(part) for part in text.split("\n"))
    if not _NEEDS_WORK_RE.search(text):
        return text
    return _NEEDS_WORK_RE.sub(_escape, text)
