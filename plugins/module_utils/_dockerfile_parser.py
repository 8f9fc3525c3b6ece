# Copyright: (c) 2026, refarch.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Dockerfile parser with BuildKit's parsing semantics (standard library only).

The output follows ``docs/contracts.md`` section 1.  Every instruction carries
the field names of BuildKit's Python binding (the PyPI package ``dockerfile``),
which is the oracle of the differential test: ``cmd``, ``sub_cmd``, ``json``,
``original``, ``start_line``, ``end_line``, ``flags``, ``value``, ``heredocs``.

The behaviour was established by probing the binding (black-box), not from its
source.  Notable rules, all reproduced here:

* lines end at ``\\n``; trailing ``\\r`` characters are dropped; a UTF-8 BOM at
  the start of the file is ignored;
* a line whose first non-blank character is ``#`` is a comment, also inside a
  continuation (where it is dropped); blank lines inside a continuation are
  skipped;
* a line continues when it ends with the escape character (optionally followed
  by spaces/tabs) that is not itself preceded by the escape character;
* parser directives (``escape``, ``syntax``) are only read at the top of the
  file; the first line that is not a directive ends the header;
* keywords are matched case-insensitively, ``cmd`` keeps the case as written;
* heredocs (``<<EOF``, ``<<-EOF``, ``<<"EOF"``, ``3<<EOF``, several per line)
  for RUN/COPY/ADD in shell form; the bodies are attached to ``heredocs`` and
  appended to ``original``;
* exec form is recognised when the arguments start with a JSON array of strings
  (text after the closing bracket is ignored); anything else falls back to
  shell form; a JSON array with a non-string element is an error.

The parser never raises: whatever BuildKit would reject becomes an entry of
``problems`` and parsing goes on with a best-effort result.
"""

from __future__ import annotations

import json as _json
import re
from typing import Any, Optional

from ansible_collections.refarch.containers.plugins.module_utils._lazy_re import lazy_re

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_INSTRUCTIONS", "KNOWN_INSTRUCTIONS", "keyword_shaped", "parse",
           "parse_bytes", "shown_word"]

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
#: Far above any real Dockerfile (a few hundred instructions). Facts grow with instructions (about 275 bytes
#: of JSON each, 99,990 ``EXPOSE 80`` lines made 27.5 MB of facts and over 700 MB on the controller to
#: evaluate them); past the bound the file is a ``too_many_instructions`` problem (NRA000, never compliant).
DEFAULT_MAX_INSTRUCTIONS = 10_000
#: BuildKit's scanner refuses lines longer than this many bytes (``\\n`` excluded).
MAX_LINE_BYTES = 65535

KNOWN_INSTRUCTIONS = frozenset((
    "add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from", "healthcheck", "label",
    "maintainer", "onbuild", "run", "shell", "stopsignal", "user", "volume", "workdir",
))

# Characters Go's unicode.IsSpace accepts (Python's str.isspace() differs: it also
# accepts U+001C..U+001F).
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
            "\u2028\u2029\u202f\u205f\u3000"
_GO_SPACE_SET = frozenset(_GO_SPACE)
# The same test applied to single bytes read as Latin-1 code points.
_GO_SPACE_BYTES = "\t\n\v\f\r \x85\xa0"
_GO_SPACE_SPLIT_RE = re.compile("[" + _GO_SPACE + "]+")
_CMD_SPLIT_RE = lazy_re(r"[\t\v\f\r ]+")
_DIRECTIVE_RE = re.compile(r"#[\t\n\f\r ]*([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=")
_DIRECTIVE_WS = "\t\n\f\r "
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_JSON_TOKEN_RE = lazy_re(
    r'[ \t\n\r]*(?:'
    r'("(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*")'
    r'|(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)'
    r'|(true|false|null)'
    r'|([\[\]{},:]))'
)
_JSON_MAX_DEPTH = 10000
_FLOAT_MAX = 1.7976931348623157e308


def _no_constants(name: str) -> None:
    raise ValueError(f"not JSON: {name}")


_JSON_DECODER = _json.JSONDecoder(parse_constant=_no_constants, strict=True)

_HEREDOC_CMDS = frozenset(("run", "copy", "add"))
_MAYBE_JSON = frozenset(("run", "cmd", "entrypoint", "shell"))
_MAYBE_JSON_LIST = frozenset(("add", "copy", "volume"))
_WS_DELIMITED = frozenset(("expose", "from"))
_STRING = frozenset(("maintainer", "stopsignal", "user", "workdir"))
_NAME_VAL = frozenset(("env", "label"))
_EMPTY_JSON_OK = frozenset(("cmd", "entrypoint", "shell", "run"))
_MALFORMED_JSON = "not a valid JSON array of strings, so BuildKit treats it as shell form: {}"


class _LineError(Exception):
    """Raised inside instruction parsing for what BuildKit rejects (caught, becomes a problem)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# ---------------------------------------------------------------------------
# small helpers


def _trim_continuation(line: str, escape: str) -> tuple[str, bool]:
    """Return ``(line, is_end_of_line)``; drop a trailing unescaped escape char."""
    t = line.rstrip(" \t")
    if t.endswith(escape) and (len(t) == 1 or t[-2] != escape):
        return t[:-1], False
    return line, True


def _as_latin1(s: str) -> str:
    """Map each UTF-8 byte of ``s`` to the code point of the same value (Go's ``rune(b[i])``)."""
    if s.isascii():
        return s
    return s.encode("utf-8", "surrogatepass").decode("latin-1")


def _from_latin1(s: str) -> str:
    if s.isascii():
        return s
    return s.encode("latin-1").decode("utf-8", "replace")


# ---------------------------------------------------------------------------
# flags (byte oriented, as BuildKit does it)

_FLAG_PLAIN_RE = re.compile("[^\t\n\v\f\r \x85\xa0'\"\\\\]+")


def _extract_flags(rest: str) -> tuple[str, list[str]]:
    """Split leading ``--flag`` words off ``rest``; return ``(args, flags)``.

    BuildKit reads this part byte by byte: a non-ASCII character in a flag comes
    out as one Latin-1 character per UTF-8 byte, and the bytes 0x85 / 0xA0 count
    as blanks.  This is reproduced on purpose.
    """
    if not rest.startswith("--"):
        return rest, []
    line = _as_latin1(rest)
    n = len(line)
    words: list[str] = []
    pos = 0
    word: list[str] = []
    blank_ok = False
    while True:
        # looking for the start of a word
        while pos < n and line[pos] in _GO_SPACE_BYTES:
            pos += 1
        if pos >= n:
            return "", words
        if not line.startswith("--", pos):
            return _from_latin1(line[pos:]), words
        word = []
        blank_ok = False
        quote = ""
        while True:
            if pos >= n:
                text = "".join(word)
                if text != "--" and (blank_ok or text):
                    words.append(text)
                return "", words
            ch = line[pos]
            if quote:
                if ch == quote:
                    quote = ""
                    pos += 1
                    continue
                if ch == "\\":
                    if pos + 1 == n:
                        quote = ""
                        pos += 1
                        continue
                    pos += 1
                    ch = line[pos]
                word.append(ch)
                pos += 1
                continue
            if ch in _GO_SPACE_BYTES:
                text = "".join(word)
                if text == "--":
                    return _from_latin1(line[pos:]), words
                if blank_ok or text:
                    words.append(text)
                break
            if ch in {"'", '"'}:
                quote = ch
                blank_ok = True
                pos += 1
                continue
            if ch == "\\":
                if pos + 1 == n:
                    pos += 1
                    continue
                pos += 1
                word.append(line[pos])
                pos += 1
                continue
            m = _FLAG_PLAIN_RE.match(line, pos)
            word.append(m.group(0))  # type: ignore[union-attr]
            pos = m.end()  # type: ignore[union-attr]


# ---------------------------------------------------------------------------
# JSON (exec form)

_NOT_JSON = 0
_JSON_OK = 1
_JSON_NOT_STRINGS = 2


def _parse_json_array(rest: str) -> tuple[int, list[str]]:
    """Decode the first JSON value of ``rest`` the way Go's json.Decoder does."""
    if not rest.startswith("["):
        return _NOT_JSON, []
    # Fast path: Python's C decoder agrees with Go's on the syntax of strict JSON.
    try:
        value, _end = _JSON_DECODER.raw_decode(rest)
    except RecursionError:
        return _scan_json_array(rest)
    except ValueError:
        # invalid JSON, or (for a number of more than 4300 digits) a number Go cannot hold either
        return _NOT_JSON, []
    if not isinstance(value, list):
        return _NOT_JSON, []
    if all(isinstance(v, str) for v in value):
        return _JSON_OK, [_SURROGATE_RE.sub("\ufffd", v) if _SURROGATE_RE.search(v) else v for v in value]
    if _has_float_overflow(value):
        # Go cannot store the number in a float64: a decode error, so shell form.
        return _NOT_JSON, []
    return _JSON_NOT_STRINGS, []


def _has_float_overflow(value: Any) -> bool:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) > _FLOAT_MAX:
            return True
    return False


def _scan_json_array(rest: str) -> tuple[int, list[str]]:
    """Iterative JSON scanner for input too deeply nested for Python's decoder."""
    stack: list[str] = []
    state = "value"
    pos = 0
    top_strings: list[str] = []
    all_strings = True
    overflow = False
    match = _JSON_TOKEN_RE.match
    while True:
        m = match(rest, pos)
        if m is None:
            return _NOT_JSON, []
        pos = m.end()
        string, number, literal, punct = m.group(1), m.group(2), m.group(3), m.group(4)
        if state in ("value", "value_or_end"):
            if punct == "]" and state == "value_or_end":
                stack.pop()
                state = "after"
            elif punct in {"[", "{"}:
                if len(stack) == 1:
                    all_strings = False
                stack.append(punct)
                if len(stack) > _JSON_MAX_DEPTH:
                    return _NOT_JSON, []
                state = "value_or_end" if punct == "[" else "key_or_end"
            elif string is not None or number is not None or literal is not None:
                if len(stack) == 1:
                    if string is not None:
                        top_strings.append(string)
                    else:
                        all_strings = False
                if number is not None and float(number) in (float("inf"), float("-inf")):
                    overflow = True
                state = "after"
            else:
                return _NOT_JSON, []
        elif state in ("key", "key_or_end"):
            if punct == "}" and state == "key_or_end":
                stack.pop()
                state = "after"
            elif string is not None:
                state = "colon"
            else:
                return _NOT_JSON, []
        elif state == "colon":
            if punct != ":":
                return _NOT_JSON, []
            state = "value"
        elif punct == ",":
            state = "value" if stack[-1] == "[" else "key"
        elif (punct == "]" and stack[-1] == "[") or (punct == "}" and stack[-1] == "{"):
            stack.pop()
            state = "after"
        else:
            return _NOT_JSON, []
        if state == "after":
            if not stack:
                break
            state = "comma"
    if overflow:
        # Go cannot store the number in a float64: a decode error, so shell form.
        return _NOT_JSON, []
    if not all_strings:
        return _JSON_NOT_STRINGS, []
    out = []
    for tok in top_strings:
        s = _json.loads(tok)
        if _SURROGATE_RE.search(s):
            s = _SURROGATE_RE.sub("\ufffd", s)
        out.append(s)
    return _JSON_OK, out


def _looks_like_json(rest: str) -> bool:
    """Heuristic for the ``malformed_json`` problem (shell tests like ``[ -f x ]`` are not flagged)."""
    if rest.startswith('["') or rest.startswith("['"):
        return True
    if rest.startswith("[") and rest.endswith("]") and not (rest.startswith("[ ") and rest.endswith(" ]")):
        return True
    # "[ "a", "b"" and the like: a quoted first element followed by a comma
    return rest[1:].lstrip()[:1] in ('"', "'") and ('",' in rest or "'," in rest)


# ---------------------------------------------------------------------------
# argument parsers, one per instruction family


def _parse_words(rest: str, escape: str) -> list[str]:
    """Split ``rest`` into words, quotes and escapes kept (ENV/LABEL/ARG)."""
    words: list[str] = []
    if "'" not in rest and '"' not in rest and escape not in rest:
        return [w for w in _GO_SPACE_SPLIT_RE.split(rest) if w]
    n = len(rest)
    pos = 0
    plain = re.compile("[^" + re.escape(_GO_SPACE + "'\"" + escape) + "]+")
    while True:
        while pos < n and rest[pos] in _GO_SPACE_SET:
            pos += 1
        if pos >= n:
            return words
        word: list[str] = []
        blank_ok = False
        quote = ""
        while True:
            if pos >= n:
                if blank_ok or word:
                    words.append("".join(word))
                return words
            ch = rest[pos]
            if quote:
                if ch == quote:
                    quote = ""
                    word.append(ch)
                    pos += 1
                    continue
                if ch == escape and quote != "'":
                    if pos + 1 == n:
                        quote = ""
                        pos += 1
                        continue
                    word.append(ch)
                    word.append(rest[pos + 1])
                    pos += 2
                    continue
                end = pos + 1
                while end < n and rest[end] != quote and rest[end] != escape:
                    end += 1
                word.append(rest[pos:end])
                pos = end
                continue
            if ch in _GO_SPACE_SET:
                joined = "".join(word)
                if blank_ok or joined:
                    words.append(joined)
                break
            if ch in {"'", '"'}:
                quote = ch
                blank_ok = True
                word.append(ch)
                pos += 1
                continue
            if ch == escape:
                if pos + 1 == n:
                    pos += 1
                    continue
                word.append(ch)
                word.append(rest[pos + 1])
                pos += 2
                continue
            m = plain.match(rest, pos)
            word.append(m.group(0))  # type: ignore[union-attr]
            pos = m.end()  # type: ignore[union-attr]


def _parse_name_val(rest: str, key: str, escape: str) -> list[str]:
    words = _parse_words(rest, escape)
    if not words:
        return []
    if "=" not in words[0]:
        parts = _CMD_SPLIT_RE.split(rest, 1)
        if len(parts) < 2:
            raise _LineError("missing_arguments", f"{key.upper()} must have two arguments")
        return [parts[0], parts[1]]
    out: list[str] = []
    bad = None
    for word in words:
        if "=" not in word:
            bad = bad or word
            out.extend((word, ""))
            continue
        k, v = word.split("=", 1)
        out.extend((k, v))
    if bad is not None:
        raise _PartialError("syntax_error",
                            f"can't find = in {_clip(bad, 40)!r}; {key.upper()} must be of the form name=value", out)
    return out


class _PartialError(_LineError):
    """A _LineError that still carries a best-effort value."""

    def __init__(self, code: str, message: str, value: list[str]) -> None:
        super().__init__(code, message)
        self.value = value


def _parse_maybe_json(rest: str, warn: list[tuple[str, str]]) -> tuple[list[str], bool]:
    if not rest:
        return [], False
    kind, items = _parse_json_array(rest)
    if kind == _JSON_OK:
        return items, True
    if kind == _JSON_NOT_STRINGS:
        raise _PartialError("syntax_error",
                            "when using JSON array syntax, arrays must be comprised of strings only", [rest])
    if rest.startswith("[") and _looks_like_json(rest):
        warn.append(("malformed_json", _MALFORMED_JSON.format(_clip(rest))))
    return [rest], False


def _parse_maybe_json_list(rest: str, warn: list[tuple[str, str]]) -> tuple[list[str], bool]:
    kind, items = _parse_json_array(rest)
    if kind == _JSON_OK:
        return items, True
    if kind == _JSON_NOT_STRINGS:
        raise _PartialError("syntax_error",
                            "when using JSON array syntax, arrays must be comprised of strings only",
                            _split_ws(rest))
    if rest.startswith("[") and _looks_like_json(rest):
        warn.append(("malformed_json", _MALFORMED_JSON.format(_clip(rest))))
    return _split_ws(rest), False


def _split_ws(rest: str) -> list[str]:
    if not rest:
        return []
    if "  " in rest or (not rest.isprintable() and ("\t" in rest or "\v" in rest or "\f" in rest or "\r" in rest)):
        return _CMD_SPLIT_RE.split(rest)
    return rest.split(" ")  # single spaces only: the same list without the regex


def _parse_healthcheck(rest: str, warn: list[tuple[str, str]]) -> tuple[list[str], bool]:
    # BuildKit looks for the end of the first word byte by byte (0x85/0xA0 bytes count as blanks).
    line = _as_latin1(rest)
    n = len(line)
    sep = 0
    while sep < n and line[sep] not in _GO_SPACE_BYTES:
        sep += 1
    nxt = sep
    while nxt < n and line[nxt] in _GO_SPACE_BYTES:
        nxt += 1
    if sep == 0:
        return [], False
    typ = _from_latin1(line[:sep])
    sub, is_json = _parse_maybe_json(_from_latin1(line[nxt:]), warn)
    return [typ, *sub], is_json


def _clip(s: str, n: int = 80) -> str:
    return s if len(s) <= n else s[:n] + "..."


# A word that may be quoted from a line that is not a Dockerfile instruction: shaped like an
# instruction keyword (ASCII letters only, as long as the longest keyword and a few more).
_SHOWN_WORD_RE = lazy_re(r"[A-Za-z]{1,16}\Z")


def keyword_shaped(word: str) -> bool:
    """Whether ``word`` looks like an instruction keyword (ASCII letters, at most 16)."""
    return _SHOWN_WORD_RE.match(word) is not None


def shown_word(word: str) -> str:
    """How a problem message quotes the first word of a line that is not a Dockerfile instruction.

    Such a line may be anything: a stray shell command, or a line of a key or password file that a
    symlink or hard link made the scan read. Only a word shaped like an instruction keyword (a typo
    such as ``RUNN``) is quoted; anything else (``-----BEGIN``, a base64 line, ``hunter2``, control
    characters) is described by its length, so no content of such a line leaves the host.
    """
    if keyword_shaped(word):
        return repr(word)
    return f"(a {len(word)}-character word, not shown)"


# ---------------------------------------------------------------------------
# one logical line -> instruction


# _node_from_line's results by (line, escape): the lines of an estate's Dockerfiles repeat (FROM node:20,
# COPY . ., RUN npm ci). Bounded; short lines without an error only; values and flags are copied out.
_LINE_NODES: dict = {}
_LINE_NODES_MAX = 4096
_LINE_NODE_MAX_TEXT = 512


def _node_from_line(line: str, escape: str, warn: list[tuple[str, str]]) -> tuple:
    """``_parse_line_node``, remembered for short lines (see ``_LINE_NODES``): new lists every time."""
    key = (line, escape)
    hit = _LINE_NODES.get(key)
    if hit is not None:
        cmd, lkey, sub_cmd, child_key, is_json, flags, value, warned = hit
        if warned:
            warn.extend(warned)
        return cmd, lkey, sub_cmd, child_key, is_json, list(flags), list(value), None
    mark = len(warn)
    node = _parse_line_node(line, escape, warn)
    if node[7] is None and len(line) <= _LINE_NODE_MAX_TEXT and all(isinstance(v, str) for v in node[6]) \
            and all(isinstance(f, str) for f in node[5]):
        if len(_LINE_NODES) >= _LINE_NODES_MAX:
            _LINE_NODES.clear()
        _LINE_NODES[key] = (*node[:5], tuple(node[5]), tuple(node[6]), tuple(warn[mark:]))
    return node


def _parse_line_node(line: str, escape: str, warn: list[tuple[str, str]]) -> tuple:
    """Parse one logical (joined) line.  Problems go to ``warn``.

    Returns ``(cmd, key, sub_cmd, child_key, json, flags, value, error)``: the keyword as written and lower-cased,
    an ONBUILD trigger's keyword as written and lower-cased, whether the value is JSON (exec form), the flags, the
    value, and the ``_LineError`` for what BuildKit rejects (None).
    """
    text = line.strip(_GO_SPACE)
    if not text.isprintable() and ("\t" in text or "\v" in text or "\f" in text or "\r" in text):
        parts = _CMD_SPLIT_RE.split(text, 1)
    else:  # only spaces can separate the keyword (the common case): the same split without the regex
        cmd, sep, rest = text.partition(" ")
        parts = [cmd, rest.lstrip(" ")] if sep else [cmd]
    cmd = parts[0]
    flags: list[str] = []
    rest = ""
    if len(parts) == 2:
        rest = parts[1]
        if rest.startswith("--"):  # _extract_flags returns any other text as it is, with no flags
            rest, flags = _extract_flags(rest)
        rest = rest.strip(_GO_SPACE)
    key = cmd.lower()
    sub_cmd: Optional[str] = None
    child_key: Optional[str] = None
    is_json = False
    value: list[str] = []
    error: Optional[_LineError] = None
    try:
        if key in _MAYBE_JSON:
            value, is_json = _parse_maybe_json(rest, warn)
        elif key in _MAYBE_JSON_LIST:
            value, is_json = _parse_maybe_json_list(rest, warn)
        elif key in _WS_DELIMITED:
            value = _split_ws(rest)
        elif key in _STRING:
            value = [rest] if rest else []
        elif key in _NAME_VAL:
            value = _parse_name_val(rest, key, escape)
        elif key == "arg":
            value = _parse_words(rest, escape)
        elif key == "healthcheck":
            value, is_json = _parse_healthcheck(rest, warn)
        elif key == "onbuild":
            if rest:
                child_cmd, child_key, child_sub, dummy, child_json, dummy, child_value, child_error = \
                    _node_from_line(rest, escape, warn)
                sub_cmd = child_cmd
                if child_error is not None:
                    raise child_error
                if child_key == "onbuild":
                    # the binding shows one empty value for a nested trigger that has arguments
                    value = [""] if child_sub is not None else []
                else:
                    is_json = child_json
                    value = child_value
        else:
            value = [""]
    except _PartialError as exc:
        value = exc.value
        error = exc
    except _LineError as exc:
        value = _split_ws(rest)
        error = exc
    return cmd, key, sub_cmd, child_key, is_json, flags, value, error


# ---------------------------------------------------------------------------
# public API


def _result(escape: str = "\\") -> dict[str, Any]:
    return {
        "directives": {"syntax": None, "escape": escape, "check": None},
        "escape": escape,
        "instructions": [],
        "comments": [],
        "problems": [],
    }


def _problem(line: Optional[int], code: str, message: str) -> dict[str, Any]:
    return {"line": line, "code": code, "message": message}


def parse(text: str, *, max_instructions: int = DEFAULT_MAX_INSTRUCTIONS,
          max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, Any]:
    """Parse Dockerfile ``text`` with BuildKit's semantics.

    :param text: the Dockerfile content (a leading BOM is ignored).
    :param max_instructions: stop after this many instructions (``too_many_instructions``).
    :param max_bytes: refuse larger input (``too_large``), measured in UTF-8 bytes.
    :returns: the dict described in ``docs/contracts.md`` section 1.  Never raises
        on any ``str`` input.
    """
    result = _result()
    try:
        if not isinstance(text, str):
            result["problems"].append(_problem(None, "decode_error", f"input is not text ({type(text).__name__})"))
            return result
        size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
        if size > max_bytes:
            result["problems"].append(_problem(None, "too_large",
                                               f"file is {size} bytes, more than the limit of {max_bytes}"))
            return result
        if not text.isascii() and _SURROGATE_RE.search(text):
            result["problems"].append(_problem(None, "decode_error", "text contains unpaired surrogate code points; "
                                               "they were replaced by U+FFFD"))
            text = _SURROGATE_RE.sub("\ufffd", text)
        _parse_into(result, text, max_instructions)
    except Exception as exc:  # pragma: no cover - defensive: the parser must never raise
        result["problems"].append(_problem(None, "parser_error", f"internal parser error: {type(exc).__name__}: {exc}"))
    return result


def parse_bytes(data: bytes, *, max_instructions: int = DEFAULT_MAX_INSTRUCTIONS,
                max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, Any]:
    """Parse raw Dockerfile bytes: size and binary checks, UTF-8 decoding, then :func:`parse`.

    :func:`parse` drops one leading BOM, as BuildKit does.

    Undecodable bytes are reported as ``decode_error`` and replaced by U+FFFD; a
    file containing NUL bytes is reported as ``binary`` and not parsed.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        return parse(data if isinstance(data, str) else None,  # type: ignore[arg-type]
                     max_instructions=max_instructions, max_bytes=max_bytes)
    data = bytes(data)
    if len(data) > max_bytes:
        result = _result()
        result["problems"].append(_problem(None, "too_large",
                                           f"file is {len(data)} bytes, more than the limit of {max_bytes}"))
        return result
    if b"\x00" in data:
        result = _result()
        hint = " (UTF-16 text?)" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        result["problems"].append(_problem(None, "binary", f"file contains NUL bytes; not a Dockerfile{hint}"))
        return result
    decode_problem = None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        decode_problem = _problem(line, "decode_error", f"not valid UTF-8 at byte {exc.start} (line {line}); "
                                  "undecodable bytes were replaced by U+FFFD")
        text = data.decode("utf-8", "replace")
    result = parse(text, max_instructions=max_instructions, max_bytes=max_bytes)
    if decode_problem is not None:
        result["problems"].insert(0, decode_problem)
    return result


def _directive(state: dict[str, Any], line: str, lineno: int, result: dict[str, Any]) -> None:
    """Feed one (left-trimmed) line to the parser-directive reader."""
    m = _DIRECTIVE_RE.match(line)
    value = None
    if m is not None:
        after = line[m.end():]
        value = after.strip(_DIRECTIVE_WS)
        if not value:
            value = after[-1:] or None
    if m is None or value is None:
        state["done"] = True
        return
    key = m.group(1).lower()
    if key == "check":
        # Newer BuildKit treats "check" as a directive; the oracle's BuildKit ends the
        # directive header here.  The value is still recorded for the policies.
        if result["directives"]["check"] is None:
            result["directives"]["check"] = value
        state["done"] = True
        return
    if key not in ("escape", "syntax"):
        state["done"] = True
        return
    if key in state["seen"]:
        result["problems"].append(_problem(lineno, "invalid_directive",
                                           f"only one {key} parser directive can be used"))
        return
    state["seen"].add(key)
    if key == "escape":
        if value not in ("`", "\\"):
            result["problems"].append(_problem(lineno, "invalid_directive",
                                               f"invalid escape token {shown_word(value)} does not match ` or \\"))
            return
        result["directives"]["escape"] = value
        result["escape"] = value
    else:
        result["directives"]["syntax"] = value


def _utf8_len_over(line: str, limit: int) -> bool:
    if len(line) <= limit // 4:
        return False
    if len(line) > limit:
        return True
    return len(line.encode("utf-8", "surrogatepass")) > limit


def _parse_into(result: dict[str, Any], text: str, max_instructions: int) -> None:
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    n = len(lines)
    problems: list[dict[str, Any]] = result["problems"]
    comments: list[dict[str, Any]] = result["comments"]
    instructions: list[dict[str, Any]] = result["instructions"]
    dstate: dict[str, Any] = {"done": False, "seen": set()}
    escape = "\\"
    i = 0
    long_lines_reported = 0

    def check_long(idx: int) -> None:
        nonlocal long_lines_reported
        if len(lines[idx]) > 16383 and long_lines_reported < 10 and _utf8_len_over(lines[idx], MAX_LINE_BYTES):
            long_lines_reported += 1
            problems.append(_problem(idx + 1, "line_too_long",
                                     f"line {idx + 1} is longer than {MAX_LINE_BYTES} bytes: BuildKit's parser "
                                     "refuses it (docker build fails)"))

    continued = (escape, " ", "\t")  # a line not ending in one of these is never continued
    while i < n:
        raw = lines[i]
        lineno = i + 1
        if len(raw) > 16383:
            check_long(i)
        i += 1
        s = raw.rstrip("\r")
        lead = s.lstrip(_GO_SPACE)
        if not dstate["done"]:
            _directive(dstate, lead, lineno, result)
            escape = result["escape"]
            continued = (escape, " ", "\t")
        if lead.startswith("#"):
            comments.append({"line": lineno, "text": lead.rstrip(_GO_SPACE)})
            continue
        line, eol = _trim_continuation(lead, escape) if lead.endswith(continued) else (lead, True)
        if eol and line == "":
            continue
        start = lineno
        while not eol and i < n:
            if len(lines[i]) > 16383:
                check_long(i)
            s = lines[i].rstrip("\r")
            i += 1
            ls = s.lstrip(_GO_SPACE)
            if ls.startswith("#"):
                comments.append({"line": i, "text": ls.rstrip(_GO_SPACE)})
                continue
            if ls == "":
                continue
            part, eol = _trim_continuation(s, escape)
            line += part
        if len(instructions) >= max_instructions:
            problems.append(_problem(start, "too_many_instructions",
                                     f"more than {max_instructions} instructions; the rest of the file "
                                     "was not parsed"))
            return
        warn: list[tuple[str, str]] = []
        cmd, key, sub_cmd, child_key, is_json, flags, value, err = _node_from_line(line, escape, warn)
        for code, message in warn:
            problems.append(_problem(start, code, message))
        if err is not None:
            problems.append(_problem(start, err.code, err.message))
        if key not in KNOWN_INSTRUCTIONS:
            problems.append(_problem(start, "unknown_instruction", f"unknown instruction {shown_word(cmd)}"))
        elif key == "onbuild" and sub_cmd is not None and child_key not in KNOWN_INSTRUCTIONS:
            problems.append(_problem(start, "unknown_instruction",
                                     f"unknown ONBUILD trigger instruction {shown_word(sub_cmd)}"))
        elif err is None and not value and not (is_json and key in _EMPTY_JSON_OK):
            problems.append(_problem(start, "missing_arguments", f"{key.upper()} has no arguments"))
        heredocs: list[dict[str, Any]] = []
        heredoc_key = child_key if key == "onbuild" else key
        if heredoc_key in _HEREDOC_CMDS and not is_json and "<<" in line:
            # imported here: only a line that may open a heredoc needs it (start-up of the host modules)
            from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_heredoc import (  # noqa: PLC0415
                _heredocs_from_line,
            )
            for doc, herr in _heredocs_from_line(line):
                if doc is None:
                    problems.append(_problem(start, "syntax_error", herr or "bad heredoc"))
                    break
                name = doc["name"]
                chomp = doc["chomp"]
                body: list[str] = []
                terminated = False
                while i < n:
                    raw = lines[i]
                    i += 1
                    candidate = raw.rstrip("\r")
                    if chomp:
                        candidate = candidate.lstrip("\t")
                    if candidate == name:
                        terminated = True
                        break
                    body.append(raw)
                    body.append("\n")
                heredocs.append({"name": name, "file_descriptor": doc["file_descriptor"], "content": "".join(body)})
                if not terminated:
                    problems.append(_problem(start, "unterminated_heredoc",
                                             f"heredoc {_clip(name, 40)!r} opened on line {start} is never closed"))
                    break
        original = line
        if heredocs and key != "onbuild":
            original = line + "\n" + "".join(h["content"] + h["name"] + "\n" for h in heredocs)
        else:
            heredocs = [] if key == "onbuild" else heredocs
        instructions.append({
            # the binding turns an empty keyword (a line holding only an escape character) into None
            "cmd": cmd or None,
            "sub_cmd": sub_cmd,
            "json": is_json,
            "original": original or None,
            "start_line": start,
            "end_line": i,
            "flags": flags,
            "value": value,
            "heredocs": heredocs,
        })
    if not instructions:
        problems.append(_problem(None, "empty", "no instructions"))
        return
    _structure_problems(instructions, problems)


def _structure_problems(instructions: list[dict[str, Any]], problems: list[dict[str, Any]]) -> None:
    first_from = None
    for idx, ins in enumerate(instructions):
        if (ins["cmd"] or "").lower() == "from":
            first_from = idx
            break
    if first_from is None:
        problems.append(_problem(None, "no_from", "no FROM instruction"))
        return
    for ins in instructions[:first_from]:
        key = (ins["cmd"] or "").lower()
        if key != "arg" and key in KNOWN_INSTRUCTIONS:
            problems.append(_problem(ins["start_line"], "instruction_before_from",
                                     f"{key.upper()} before the first FROM (only ARG may come first)"))
