# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one ``$VAR`` expander: variables and quotes of one Dockerfile word, with BuildKit's word rules
(its shell lexer's subset: ``$V``, ``${V}``, ``${V:-w}``, ``${V-w}``, ``${V:+w}``, ``${V+w}``,
``${V:?w}``, nested words, quotes and the escape character; pattern operators are left as
written). Used by the facts builder and the rewriter. Standard library only (runs on managed hosts).
"""
from __future__ import annotations

from typing import Optional

_MAX_NESTING = 16  # ${A:-${B:-...}} levels evaluated; deeper is left as written
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


def _find_close(word: str, i: int) -> int:
    """Index of the ``}`` closing a ``${`` whose body starts at ``i`` (nesting aware), or -1."""
    depth = 1
    n = len(word)
    while i < n:
        c = word[i]
        if c == "$" and i + 1 < n and word[i + 1] == "{":
            depth += 1
            i += 2
            continue
        if c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


# Longest value a variable expansion may produce. ARGs that reference each other twice
# (A1=${A0}${A0}, A2=${A1}${A1}, ...) double in size per line; past this the value is
# treated as unknown and the document gets an ``expansion_too_long`` problem.
MAX_EXPANDED = 65536


def expand(word: str, env: dict[str, Optional[str]], escape: str = "\\", _depth: int = 0,
           cut: Optional[list] = None) -> tuple[str, bool]:
    """Expand variables and remove quotes in one Dockerfile word.

    ``env`` maps names to known values; ``None`` means declared but unknown.
    Returns ``(text, unresolved)``.  Unknown references stay as written.  An
    expansion longer than ``MAX_EXPANDED`` stops early and returns the word as
    written, unresolved; ``cut`` (a list) then gets an entry.
    """
    if "$" not in word and '"' not in word and "'" not in word and escape not in word:
        return word, False
    out: list[str] = []
    unresolved = False
    total = 0
    i = 0
    n = len(word)
    while i < n and total <= MAX_EXPANDED:
        ch = word[i]
        if ch == escape:
            if i + 1 < n:
                out.append(word[i + 1])
                i += 2
            else:
                out.append(ch)
                i += 1
        elif ch == "'":
            j = word.find("'", i + 1)
            if j < 0:
                out.append(word[i + 1:])
                break
            out.append(word[i + 1:j])
            i = j + 1
        elif ch == '"':
            i += 1
            while i < n and word[i] != '"':
                c = word[i]
                if c == escape and i + 1 < n and word[i + 1] in ('"', "$", escape):
                    out.append(word[i + 1])
                    i += 2
                elif c == "$":
                    text, i, unr = _dollar(word, i, env, escape, _depth)
                    out.append(text)
                    total += len(text)
                    if total > MAX_EXPANDED:
                        break
                    unresolved = unresolved or unr
                else:
                    out.append(c)
                    i += 1
            i += 1
        elif ch == "$":
            text, i, unr = _dollar(word, i, env, escape, _depth)
            out.append(text)
            total += len(text)
            unresolved = unresolved or unr
        else:
            out.append(ch)
            i += 1
    if total > MAX_EXPANDED:
        if cut is not None:
            cut.append(word)
        return word, True
    return "".join(out), unresolved


def _dollar(word: str, i: int, env: dict[str, Optional[str]], escape: str, depth: int) -> tuple[str, int, bool]:
    """Expand the ``$`` reference at ``word[i]``; return (text, next index, unresolved)."""
    n = len(word)
    if i + 1 < n and word[i + 1] == "{":
        close = _find_close(word, i + 2)
        if close < 0:
            return word[i:], n, True
        body = word[i + 2:close]
        raw = word[i:close + 1]
        if depth >= _MAX_NESTING:  # hostile nesting: leave it as written
            return raw, close + 1, True
        j = 0
        while j < len(body) and body[j] in _NAME_CHARS:
            j += 1
        name = body[:j]
        rest = body[j:]
        known = name in env and env[name] is not None
        value = env.get(name) if known else None
        if not name:
            return raw, close + 1, True
        if not rest:
            return (value, close + 1, False) if known else (raw, close + 1, True)
        colon = rest.startswith(":")
        op = rest[1:2] if colon else rest[:1]
        arg = rest[2:] if colon else rest[1:]
        if op == "-":
            if known and (value or not colon):
                return value, close + 1, False
            text, unr = expand(arg, env, escape, depth + 1)
            return text, close + 1, unr
        if op == "+":
            if known:
                if value or not colon:
                    text, unr = expand(arg, env, escape, depth + 1)
                    return text, close + 1, unr
                return "", close + 1, False
            return "", close + 1, True
        if op == "?":
            return (value, close + 1, False) if known else (raw, close + 1, True)
        # pattern operators (#, %, /): not evaluated on the host
        return raw, close + 1, True
    j = i + 1
    while j < n and word[j] in _NAME_CHARS:
        j += 1
    if j == i + 1:
        return "$", i + 1, False
    name = word[i + 1:j]
    if name in env and env[name] is not None:
        return env[name], j, False
    return word[i:j], j, True
