# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Heredocs of the Dockerfile parser (``<<EOF`` words of RUN/COPY/ADD, with BuildKit's rules). Part of
``_dockerfile_parser``, which imports it only when a line may open a heredoc (it is not compiled on every
start of a host module); standard library only."""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Optional

from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_parser import _GO_SPACE, _GO_SPACE_SET

_HEREDOC_PLAIN_RE = re.compile("[^" + _GO_SPACE + "'\"$\\\\]+|.", re.S)
_HEREDOC_WORD_RE = re.compile(r"([0-9]*)<<(-?)([^<]*)\Z")

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _dollar_brace_end(s: str, pos: int, depth: int = 0) -> int:
    """Index just after the ``${...}`` starting at ``pos`` (which holds ``$``), or -1 when BuildKit's
    shell lexer would refuse it (no name, an unsupported modifier such as ``#``/``%``/``/``, no ``}``).
    Nesting deeper than 100 levels is refused too (bounded recursion).
    """
    if depth > 100:
        return -1
    n = len(s)
    i = pos + 2
    start = i
    while i < n and s[i] in _NAME_CHARS:
        i += 1
    if i == start or i >= n:
        return -1
    if s[i] == "}":
        return i + 1
    if s[i] == ":":
        i += 2  # ':' and the modifier character after it
    elif s[i] in "-+?":
        i += 1
    else:
        return -1
    while i < n:
        c = s[i]
        if c == "}":
            return i + 1
        if c == "\\":
            i += 2
        elif c == "'":
            close = s.find("'", i + 1)
            if close < 0:
                return -1
            i = close + 1
        elif c == '"':
            i += 1
            while i < n and s[i] != '"':
                if s[i] == "\\":
                    i += 2
                elif s.startswith("${", i):
                    i = _dollar_brace_end(s, i, depth + 1)
                    if i < 0:
                        return -1
                else:
                    i += 1
            if i >= n:
                return -1
            i += 1
        elif s.startswith("${", i):
            i = _dollar_brace_end(s, i, depth + 1)
            if i < 0:
                return -1
        else:
            i += 1
    return -1


def _heredoc_line_words(line: str) -> Optional[list[str]]:
    """Split a line into shell words keeping quotes and escapes (``None`` on an unclosed quote)."""
    words: list[str] = []
    word: list[str] = []
    in_word = False
    n = len(line)
    pos = 0
    while pos < n:
        ch = line[pos]
        if ch == "'":
            end = line.find("'", pos + 1)
            if end < 0:
                return None
            word.append(line[pos:end + 1])
            in_word = True
            pos = end + 1
        elif ch == '"':
            end = pos + 1
            while end < n and line[end] != '"':
                if line[end] == "\\":
                    end += 2
                elif line.startswith("${", end):
                    end = _dollar_brace_end(line, end)
                    if end < 0:
                        return None
                else:
                    end += 1
            if end >= n:
                return None
            word.append(line[pos:end + 1])
            in_word = True
            pos = end + 1
        elif ch == "$" and line.startswith("${", pos):
            end = _dollar_brace_end(line, pos)
            if end < 0:
                return None
            # expanded text is split like unquoted text
            for c in line[pos:end]:
                if c in _GO_SPACE_SET:
                    if in_word and word:
                        words.append("".join(word))
                        word = []
                        in_word = False
                else:
                    word.append(c)
                    in_word = True
            pos = end
        elif ch == "\\":
            word.append(line[pos:pos + 2])
            in_word = True
            pos += 2
        elif ch in _GO_SPACE_SET:
            if in_word and word:
                words.append("".join(word))
                word = []
                in_word = False
            pos += 1
        else:
            m = _HEREDOC_PLAIN_RE.match(line, pos)
            word.append(m.group(0))  # type: ignore[union-attr]
            in_word = True
            pos = m.end()  # type: ignore[union-attr]
    if word:
        words.append("".join(word))
    return words


def _heredoc_name(rest: str) -> tuple[Optional[list[str]], Optional[str]]:
    """Unquote a heredoc delimiter; return ``(words, error)``."""
    words: list[str] = []
    word: list[str] = []
    n = len(rest)
    pos = 0
    while pos < n:
        ch = rest[pos]
        if ch == "'":
            end = rest.find("'", pos + 1)
            if end < 0:
                return None, "unexpected end of statement while looking for matching single-quote"
            word.append(rest[pos + 1:end])
            pos = end + 1
        elif ch == '"':
            pos += 1
            while pos < n and rest[pos] != '"':
                c = rest[pos]
                if rest.startswith("${", pos):
                    close = _dollar_brace_end(rest, pos)
                    if close < 0:
                        return None, f"failed to process {rest!r}: syntax error: missing '}}'"
                    word.append(rest[pos:close])
                    pos = close
                    continue
                if c == "\\" and pos + 1 < n and rest[pos + 1] in '"$\\':
                    word.append(rest[pos + 1])
                    pos += 2
                    continue
                if c == "\\" and pos + 1 == n:
                    pos += 1
                    continue
                word.append(c)
                pos += 1
            if pos >= n:
                return None, "unexpected end of statement while looking for matching double-quote"
            pos += 1
        elif ch == "$" and rest.startswith("${", pos):
            end = _dollar_brace_end(rest, pos)
            if end < 0:
                return None, f"failed to process {rest!r}: syntax error: missing '}}'"
            for c in rest[pos:end]:
                if c in _GO_SPACE_SET:
                    if word:
                        words.append("".join(word))
                        word = []
                else:
                    word.append(c)
            pos = end
        elif ch == "\\":
            if pos + 1 < n:
                word.append(rest[pos + 1])
            pos += 2
        elif ch in _GO_SPACE_SET:
            if word:
                words.append("".join(word))
                word = []
            pos += 1
        else:
            word.append(ch)
            pos += 1
    if word:
        words.append("".join(word))
    return words, None


def _heredocs_from_line(line: str) -> Iterator[tuple[Optional[dict[str, Any]], Optional[str]]]:
    """Yield ``(heredoc, None)`` for each heredoc a line opens, or ``(None, error)`` and stop.

    Each heredoc is ``{name, file_descriptor, chomp}``.  Lazy, so that a line with
    a huge number of openers costs nothing once one of them is unterminated.
    """
    words = _heredoc_line_words(line)
    if not words:
        return
    for w in words:
        if "<<" not in w:
            continue
        m = _HEREDOC_WORD_RE.match(w)
        if m is None or not m.group(3):
            continue
        names, err = _heredoc_name(m.group(3))
        if err is not None:
            yield None, err
            return
        if not names or len(names) != 1 or names[0] == "":
            continue
        fd = 0
        if m.group(1):
            fd = min(int(m.group(1)), 2 ** 64 - 1)
            if fd >= 2 ** 63:
                fd -= 2 ** 64
        yield {"name": names[0], "file_descriptor": fd, "chomp": m.group(2) == "-"}, None
