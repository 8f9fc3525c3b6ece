# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small parser for the part of HCL that ``docker-bake.hcl`` files use (controller side, pure).

What it reads: blocks (``target "app" { ... }``) with string or identifier labels, attributes
(``name = value``), strings (with HCL's escapes), heredocs, numbers, ``true``/``false``/``null``,
lists (``[...]``) and maps (``{ key = value, "key": value }``), and ``#``, ``//`` and ``/* */``
comments. What it does not evaluate, and says so instead of guessing: a string with an
interpolation or template directive (``"${TAG}"``, ``"%{if ...}"``), a variable reference
(``TAG``), a function call (``notequal("", TAG)``) and any expression with operators. Each such
value comes back as an :class:`Unknown` naming why, so the caller can turn it into a named
problem of the file. Syntax errors raise :class:`HCLError` with a line number and never quote
the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Lists and maps nested deeper than this are refused (a hostile file cannot exhaust the stack).
MAX_DEPTH = 64


class HCLError(ValueError):
    """The text is not HCL this parser reads; ``line`` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.reason = message


@dataclass(frozen=True)
class Unknown:
    """A value that cannot be known without evaluating HCL: ``kind`` is ``interpolation``,
    ``variable``, ``function`` or ``expression``; ``name`` the variable or function when there is one."""

    kind: str
    name: str = ""
    line: int = 0


@dataclass
class Block:
    type: str
    labels: list[str]
    attributes: dict[str, Any] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)
    line: int = 0


# token kinds
_IDENT, _STRING, _NUMBER, _PUNCT, _NL, _OP, _EOF = "ident", "string", "number", "punct", "nl", "op", "eof"
_PUNCT_CHARS = "{}[](),=:"
_IDENT_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_IDENT_CHARS = _IDENT_START | frozenset("0123456789-")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


@dataclass
class _Tok:
    kind: str
    value: Any
    line: int
    interpolated: bool = False


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    i, n, line = 0, len(text), 1
    while i < n:
        c = text[i]
        if c == "\n":
            out.append(_Tok(_NL, None, line))
            line += 1
            i += 1
        elif c in " \t\r\ufeff":
            i += 1
        elif c == "#" or text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise HCLError(line, "a /* comment is not closed")
            line += text.count("\n", i, end)
            i = end + 2
        elif c == '"':
            value, interpolated, i, line = _string(text, i + 1, line)
            out.append(_Tok(_STRING, value, line, interpolated))
        elif text.startswith("<<", i) and i + 2 < n and (text[i + 2] in _IDENT_START or text[i + 2] == "-"):
            j = i + 2 + (text[i + 2] == "-")
            k = j
            while k < n and text[k] in _IDENT_CHARS:
                k += 1
            marker = text[j:k]
            nl = text.find("\n", k)
            if not marker or nl < 0:
                raise HCLError(line, "a heredoc has no marker or no body")
            start_line = line
            body_lines: list[str] = []
            pos = nl + 1
            line += 1
            while True:
                if pos >= n:
                    raise HCLError(start_line, "a heredoc is not closed")
                end = text.find("\n", pos)
                end = n if end < 0 else end
                current = text[pos:end]
                if current.strip() == marker:
                    pos = end
                    break
                body_lines.append(current)
                pos = end + 1
                line += 1
            body = "\n".join(body_lines) + "\n"
            out.append(_Tok(_STRING, body, start_line, "${" in body.replace("$${", "") or "%{" in body))
            i = pos
        elif c in _IDENT_START:
            j = i + 1
            while j < n and text[j] in _IDENT_CHARS:
                j += 1
            out.append(_Tok(_IDENT, text[i:j], line))
            i = j
        elif c.isdigit():
            j = i + 1
            while j < n and (text[j].isdigit() or text[j] in ".eE+-") and not (
                    text[j] in "+-" and text[j - 1] not in "eE"):
                j += 1
            word = text[i:j]
            try:
                number: Any = int(word)
            except ValueError:
                try:
                    number = float(word)
                except ValueError as exc:
                    raise HCLError(line, "a number is malformed") from exc
            out.append(_Tok(_NUMBER, number, line))
            i = j
        elif c in _PUNCT_CHARS:
            out.append(_Tok(_PUNCT, c, line))
            i += 1
        elif c in "+-*/%!<>&|?.":
            out.append(_Tok(_OP, c, line))
            i += 1
        else:
            raise HCLError(line, f"unexpected character U+{ord(c):04X}")
    out.append(_Tok(_EOF, None, line))
    return out


def _string(text: str, i: int, line: int) -> tuple[str, bool, int, int]:
    """A quoted string from after its opening quote: (value, has interpolation, index after, line)."""
    parts: list[str] = []
    interpolated = False
    n = len(text)
    start_line = line
    while True:
        if i >= n or text[i] == "\n":
            raise HCLError(start_line, "a string is not closed on its line")
        c = text[i]
        if c == '"':
            return "".join(parts), interpolated, i + 1, line
        if c == "\\":
            if i + 1 >= n:
                raise HCLError(line, "a string ends in an escape")
            e = text[i + 1]
            if e in _ESCAPES:
                parts.append(_ESCAPES[e])
                i += 2
            elif e in "uU":
                width = 4 if e == "u" else 8
                digits = text[i + 2:i + 2 + width]
                try:
                    parts.append(chr(int(digits, 16)))
                except ValueError as exc:
                    raise HCLError(line, "a string has a malformed unicode escape") from exc
                i += 2 + width
            else:
                raise HCLError(line, "a string has an unknown escape")
        elif text.startswith("$${", i) or text.startswith("%%{", i):
            parts.append(text[i + 1:i + 3])
            i += 3
        elif text.startswith("${", i) or text.startswith("%{", i):
            interpolated = True
            depth = 0
            j = i + 2
            while j < n:  # skip to the matching brace (nested strings and braces included)
                ch = text[j]
                if ch == "\n":
                    line += 1
                elif ch == "{":
                    depth += 1
                elif ch == "}":
                    if depth == 0:
                        break
                    depth -= 1
                elif ch == '"':
                    j, line = _string(text, j + 1, line)[2:]
                    continue
                j += 1
            if j >= n:
                raise HCLError(line, "an interpolation is not closed")
            parts.append(text[i:j + 1])
            i = j + 1
        else:
            parts.append(c)
            i += 1


class _Parser:
    def __init__(self, tokens: list[_Tok]) -> None:
        self.toks = tokens
        self.pos = 0

    def peek(self) -> _Tok:
        return self.toks[self.pos]

    def next(self) -> _Tok:
        tok = self.toks[self.pos]
        if tok.kind != _EOF:
            self.pos += 1
        return tok

    def skip_nl(self) -> None:
        while self.peek().kind == _NL:
            self.pos += 1

    def expect(self, kind: str, value: Any = None) -> _Tok:
        tok = self.next()
        if tok.kind != kind or (value is not None and tok.value != value):
            want = repr(value) if value is not None else kind
            raise HCLError(tok.line, f"expected {want}")
        return tok

    def body(self, closing: bool, depth: int) -> tuple[dict[str, Any], list[Block]]:
        attrs: dict[str, Any] = {}
        blocks: list[Block] = []
        while True:
            self.skip_nl()
            tok = self.peek()
            if tok.kind == _EOF:
                if closing:
                    raise HCLError(tok.line, "a block is not closed")
                return attrs, blocks
            if tok.kind == _PUNCT and tok.value == "}":
                if not closing:
                    raise HCLError(tok.line, "unexpected '}'")
                self.next()
                return attrs, blocks
            if tok.kind != _IDENT:
                raise HCLError(tok.line, "expected an attribute or a block")
            name = self.next()
            after = self.peek()
            if after.kind == _PUNCT and after.value == "=":
                self.next()
                if name.value in attrs:
                    raise HCLError(name.line, "an attribute is set twice in one block")
                attrs[name.value] = self.expression(depth)
                end = self.peek()
                if end.kind not in (_NL, _EOF) and not (end.kind == _PUNCT and end.value == "}"):
                    raise HCLError(end.line, "expected the end of the line after an attribute")
                continue
            labels: list[str] = []
            while self.peek().kind in (_STRING, _IDENT):
                label = self.next()
                if label.kind == _STRING and label.interpolated:
                    raise HCLError(label.line, "a block label cannot use an interpolation")
                labels.append(label.value)
            self.expect(_PUNCT, "{")
            if depth >= MAX_DEPTH:
                raise HCLError(name.line, f"blocks are nested more than {MAX_DEPTH} deep")
            inner_attrs, inner_blocks = self.body(True, depth + 1)
            blocks.append(Block(name.value, labels, inner_attrs, inner_blocks, name.line))

    def expression(self, depth: int) -> Any:
        value = self.primary(depth)
        tok = self.peek()
        if tok.kind == _OP or (tok.kind == _PUNCT and tok.value == "["):
            # operators, conditionals, indexing, attribute access: not evaluated (named after what it starts with)
            self.skip_expression()
            return value if isinstance(value, Unknown) else Unknown("expression", line=tok.line)
        return value

    def skip_expression(self) -> None:
        depth = 0
        while True:
            tok = self.peek()
            if tok.kind == _EOF:
                return
            if tok.kind == _PUNCT and tok.value in "([{":
                depth += 1
            elif tok.kind == _PUNCT and tok.value in ")]}":
                if depth == 0:
                    return
                depth -= 1
            elif depth == 0 and (tok.kind == _NL or (tok.kind == _PUNCT and tok.value == ",")):
                return
            self.next()

    def primary(self, depth: int) -> Any:
        if depth >= MAX_DEPTH:
            raise HCLError(self.peek().line, f"values are nested more than {MAX_DEPTH} deep")
        tok = self.next()
        if tok.kind == _STRING:
            return Unknown("interpolation", line=tok.line) if tok.interpolated else tok.value
        if tok.kind == _NUMBER:
            return tok.value
        if tok.kind == _OP and tok.value in "-!":
            inner = self.primary(depth + 1)
            if tok.value == "-" and isinstance(inner, (int, float)) and not isinstance(inner, bool):
                return -inner
            return Unknown("expression", line=tok.line)
        if tok.kind == _IDENT:
            if tok.value in ("true", "false"):
                return tok.value == "true"
            if tok.value == "null":
                return None
            after = self.peek()
            if after.kind == _PUNCT and after.value == "(":
                self.next()
                self._skip_until(")", tok.line)
                return Unknown("function", tok.value, tok.line)
            if after.kind == _OP and after.value == ".":
                self.skip_expression()
            return Unknown("variable", tok.value, tok.line)
        if tok.kind == _PUNCT and tok.value == "[":
            items: list[Any] = []
            while True:
                self.skip_nl()
                if self.peek().kind == _PUNCT and self.peek().value == "]":
                    self.next()
                    return items
                if self.peek().kind == _IDENT and self.peek().value == "for":
                    self._skip_until("]", tok.line)
                    return Unknown("expression", line=tok.line)
                items.append(self.expression(depth + 1))
                self.skip_nl()
                sep = self.next()
                if sep.kind == _PUNCT and sep.value == "]":
                    return items
                if not (sep.kind == _PUNCT and sep.value == ","):
                    raise HCLError(sep.line, "expected ',' or ']' in a list")
        if tok.kind == _PUNCT and tok.value == "{":
            obj: dict[str, Any] = {}
            while True:
                self.skip_nl()
                key_tok = self.next()
                if key_tok.kind == _PUNCT and key_tok.value == "}":
                    return obj
                if key_tok.kind == _IDENT and key_tok.value == "for":
                    self._skip_until("}", tok.line)
                    return Unknown("expression", line=tok.line)
                if key_tok.kind not in (_IDENT, _STRING) or (key_tok.kind == _STRING and key_tok.interpolated):
                    raise HCLError(key_tok.line, "expected a key in a map")
                sep = self.next()
                if not (sep.kind == _PUNCT and sep.value in "=:"):
                    raise HCLError(sep.line, "expected '=' or ':' after a map key")
                obj[str(key_tok.value)] = self.expression(depth + 1)
                end = self.peek()
                if end.kind == _PUNCT and end.value == ",":
                    self.next()
                elif not (end.kind == _NL or (end.kind == _PUNCT and end.value == "}")):
                    raise HCLError(end.line, "expected ',', a new line or '}' in a map")
        raise HCLError(tok.line, "expected a value")

    def _skip_until(self, closing: str, line: int) -> None:
        """Skip a bracketed region whose opening bracket was just read, up to its ``closing``."""
        depth = 0
        while True:
            tok = self.next()
            if tok.kind == _EOF:
                raise HCLError(line, f"a bracket is not closed with {closing!r}")
            if tok.kind == _PUNCT and tok.value in "([{":
                depth += 1
                if depth > MAX_DEPTH:
                    raise HCLError(tok.line, f"values are nested more than {MAX_DEPTH} deep")
            elif tok.kind == _PUNCT and tok.value in ")]}":
                if depth == 0:
                    if tok.value != closing:
                        raise HCLError(tok.line, f"expected {closing!r}")
                    return
                depth -= 1


def parse(text: str) -> list[Block]:
    """The top-level blocks of ``text`` (top-level attributes come back as a block of type ``""``)."""
    attrs, blocks = _Parser(_tokens(text)).body(False, 0)
    if attrs:
        blocks.insert(0, Block("", [], attrs, [], 1))
    return blocks
