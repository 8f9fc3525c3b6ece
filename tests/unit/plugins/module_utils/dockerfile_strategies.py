# Copyright: (c) 2026, refarch.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hypothesis strategies that generate Dockerfile text.

They aim at the corners of BuildKit's parser rather than at valid builds:
parser directives (``syntax``, ``escape``, ``check``, unknown ones, blank lines
in the header), a BOM, CRLF, line continuations with either escape character
(trailing blanks, comment / blank / whitespace-only lines inside them),
heredocs (several per line, ``<<-``, quoted delimiters, file descriptors,
unterminated ones), exec vs shell form (valid, malformed and non-string JSON),
flags, ENV/LABEL in both forms, ONBUILD, unknown words and random "line soup"
from an alphabet of the characters the parser treats specially.

Reusable by a fuzz suite: :func:`dockerfiles` is the entry point; the smaller
strategies (:func:`instruction_text`, :func:`line_soup`) can be used alone.
"""

from __future__ import annotations

import json

from hypothesis import strategies as st

KEYWORDS = (
    "FROM", "RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME", "ENV", "LABEL", "ARG",
    "EXPOSE", "USER", "WORKDIR", "MAINTAINER", "STOPSIGNAL", "HEALTHCHECK", "ONBUILD",
)
UNKNOWN_WORDS = ("cd", "FROO", "npm", "apt-get", "Run2", "COPYx", "\\", "`", "--x")

# Characters that never produce bytes 0x85/0xA0 in UTF-8 (BuildKit's byte-wise flag
# scanner would cut them in half, and the binding then fails to decode its own
# output); those cases are covered by unit tests instead.
SAFE_UNICODE = ("é", "ü", "日本", "🚀", "ß")

SHELL_WORDS = (
    "echo", "hi", "&&", "npm", "ci", "--omit=dev", '"a b"', "'c d'", "$HOME", "${X:-y}", "\\$", "#nc",
    "[", "]", "-f", "x=y", "\\\\", "<<", "cat", "2>&1", "|", ";", "node", "server.js", "/app", ">",
    "'", '"', "=", "\\", "`", "``", "\t", "\\ ", "\\\t", "--", "-", '["a"]', "<<-", '\\"',
    *SAFE_UNICODE,
)

FLAGS = (
    "--from=build", "--chown=node:node", "--chmod=755", "--link", "--mount=type=cache,target=/root/.npm",
    "--mount=type=secret,id=npmrc,target=/root/.npmrc", "--platform=$BUILDPLATFORM", "--network=none",
    "--security=insecure", "--x=y", '--a="b c"', "--a='b c'", "--a=b\\ c", "--x=", "--", "--link=false",
    "--interval=5s", "--timeout=3s", "--start-period=1s", "--retries=3", "--parents", "--exclude=*.md",
    "--keep-git-dir=true", "--checksum=sha256:abc", '--q="', "--e\\", "--é=ü",
)

NAMES = ("EOF", "END", "FOO", "E_1", "eof", "X")

SOUP_ALPHABET = (
    " ", " ", "\t", "\\", "`", "#", '"', "'", "=", "[", "]", ",", "<", "<", "-", "a", "b", "E", "O", "F",
    "\r", "$", "{", "}", "\v", "\f", "1", "3", "R", "U", "N", "x", ":", "é", "日", "\u3000", "\u2028", "\x1c",
)

_keyword_case = st.sampled_from(("upper", "lower", "title", "mixed", "upper", "upper"))


def _case(word: str, how: str) -> str:
    if how == "upper":
        return word.upper()
    if how == "lower":
        return word.lower()
    if how == "title":
        return word.title()
    return "".join(c.lower() if i % 2 else c.upper() for i, c in enumerate(word))


@st.composite
def keyword(draw: st.DrawFn, word: str) -> str:
    """``word`` in a random letter case."""
    return _case(word, draw(_keyword_case))


def _one_in(n: int) -> st.SearchStrategy[int]:
    """0 with probability 1/n, otherwise a value in 1..n-1 (integers() favours the edges)."""
    return st.sampled_from(tuple(range(n)))


def _space() -> st.SearchStrategy[str]:
    return st.sampled_from((" ", " ", " ", "  ", "\t", " \t "))


@st.composite
def shell_text(draw: st.DrawFn) -> str:
    """Shell-form arguments: words that matter to quoting, escapes, comments and heredocs."""
    words = draw(st.lists(st.sampled_from(SHELL_WORDS), min_size=0, max_size=8))
    return "".join(w + draw(_space()) for w in words).rstrip(" ") if words else ""


@st.composite
def json_array(draw: st.DrawFn) -> str:
    """Exec-form text: valid arrays, arrays with junk after them, malformed and non-string arrays."""
    chars = st.characters(min_codepoint=32, max_codepoint=0x2FF, blacklist_characters="\x85\xa0")
    words = st.sampled_from(("node", "server.js", "-c", "npm start", "a b", "é", "\\", ""))
    items = draw(st.lists(st.one_of(words, st.text(alphabet=chars, max_size=6)), max_size=4))
    sep = draw(st.sampled_from((",", ", ", " , ")))
    text = "[" + sep.join(json.dumps(i, ensure_ascii=draw(st.booleans())) for i in items) + "]"
    variant = draw(st.sampled_from(("ok", "ok", "ok", "spaced", "junk", "no_close", "single", "trailing_comma",
                                    "non_string", "nested", "null", "nan", "tab_in_string")))
    if variant == "spaced":
        return "[ " + text[1:-1] + " ]"
    if variant == "junk":
        return text + draw(st.sampled_from((" x", "]", '["b"]', " # c")))
    if variant == "no_close":
        return text[:-1]
    if variant == "single":
        return text.replace('"', "'")
    if variant == "trailing_comma":
        return text[:-1] + ",]"
    if variant == "non_string":
        return text[:-1] + (sep if items else "") + "1]"
    if variant == "nested":
        return "[" + text + "]"
    if variant == "null":
        return "[null]"
    if variant == "nan":
        return "[NaN]"
    if variant == "tab_in_string":
        return '["a\tb"]'
    return text


@st.composite
def flags(draw: st.DrawFn) -> str:
    """Zero or more ``--flag`` words (with trailing blank)."""
    chosen = draw(st.lists(st.sampled_from(FLAGS), max_size=3))
    return "".join(f + draw(_space()) for f in chosen)


@st.composite
def env_args(draw: st.DrawFn) -> str:
    """ENV / LABEL arguments in the key=value form, the legacy ``k v`` form, and broken forms."""
    form = draw(st.sampled_from(("pairs", "pairs", "legacy", "broken", "empty")))
    if form == "legacy":
        return draw(st.sampled_from(("NODE_ENV", "a", "PATH"))) + draw(_space()) + draw(shell_text().filter(bool))
    if form == "empty":
        return ""
    values = ('production', '"a b"', "'c d'", "x\\ y", "", '"$PATH:/x"', "1", "é", '"a\\"b"', "'", '"')
    pairs = draw(st.lists(st.tuples(st.sampled_from(("NODE_ENV", "a", "b.c", '"q k"', "")), st.sampled_from(values)),
                          min_size=1, max_size=3))
    text = " ".join("{}={}".format(*kv) for kv in pairs)
    if form == "broken":
        text += " " + draw(st.sampled_from(("x", "y z", "=")))
    return text


@st.composite
def heredoc_marker(draw: st.DrawFn) -> tuple[str, str, bool]:
    """A heredoc opener and the delimiter it means: ``(marker, name, chomp)``."""
    name = draw(st.sampled_from(NAMES))
    chomp = draw(st.booleans())
    fd = draw(st.sampled_from(("", "", "", "3", "0", "10")))
    style = draw(st.sampled_from(("plain", "plain", "dq", "sq", "partial")))
    if style == "dq":
        word = f'"{name}"'
    elif style == "sq":
        word = f"'{name}'"
    elif style == "partial":
        word = name[0] + '"' + name[1:] + '"' if len(name) > 1 else f'"{name}"'
    else:
        word = name
    return fd + "<<" + ("-" if chomp else "") + word, name, chomp


@st.composite
def heredoc_body(draw: st.DrawFn, name: str, chomp: bool) -> list[str]:
    """Body lines plus the terminator (sometimes indented with tabs, sometimes a near miss)."""
    lines = draw(st.lists(st.sampled_from(("echo hi", "\tindented", "  spaced", "", "$X", name + " ", " " + name,
                                          "#!/bin/sh", "\\", "x \\", "é", "\t" + name + "x", "RUN a")),
                          max_size=4))
    term = ("\t" * draw(st.integers(0, 2)) if chomp else "") + name
    return [*lines, term]


@st.composite
def instruction_text(draw: st.DrawFn) -> tuple[str, list[str]]:
    """One logical instruction: ``(line, heredoc_lines)``."""
    kind = draw(st.sampled_from((*KEYWORDS, "HEREDOC", "HEREDOC", "UNKNOWN", "SOUP")))
    if kind == "SOUP":
        return draw(line_soup()), []
    if kind == "UNKNOWN":
        return draw(st.sampled_from(UNKNOWN_WORDS)) + draw(_space()) + draw(shell_text()), []
    if kind == "HEREDOC":
        cmd = draw(keyword(draw(st.sampled_from(("RUN", "RUN", "COPY", "ADD")))))
        markers = draw(st.lists(heredoc_marker(), min_size=1, max_size=3))
        parts = [cmd, draw(flags()).rstrip()]
        tail: list[str] = []
        for marker, name, chomp in markers:
            parts.append(draw(st.sampled_from(("", "cat", "python3", "sh -c"))))
            parts.append(marker)
            tail.extend(draw(heredoc_body(name, chomp)))
        if cmd.upper() != "RUN":
            parts.append(draw(st.sampled_from(("/app/", "/etc/x", ""))))
        if draw(_one_in(10)) == 0:
            tail = tail[:-1]  # unterminated
        return " ".join(p for p in parts if p), tail
    head = draw(keyword(kind)) + draw(_space())
    if kind in ("RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME"):
        body = draw(st.one_of(json_array(), shell_text(), shell_text()))
        return head + draw(flags()) + body, []
    if kind in ("ENV", "LABEL"):
        return head + draw(env_args()), []
    if kind == "ARG":
        return head + draw(st.sampled_from(("NODE_VERSION", "A=1", "B='x y'", 'C="1 2" D', "", "E= F=2"))), []
    if kind == "FROM":
        image = draw(st.sampled_from(("node:20", "node:20-alpine AS build", "${BASE}", "scratch", "build AS r", "")))
        return head + draw(flags()) + image, []
    if kind == "EXPOSE":
        return head + draw(st.sampled_from(("3000", "80/tcp 443", "${PORT}", "8080/udp  9229", ""))), []
    if kind == "HEALTHCHECK":
        rest = draw(st.one_of(st.just("NONE"), st.just(""),
                              st.builds(lambda f, b: f + "CMD " + b, flags(), st.one_of(json_array(), shell_text()))))
        return head + rest, []
    if kind == "ONBUILD":
        inner, tail = draw(instruction_text())
        return head + draw(flags()) + inner, tail
    # USER, WORKDIR, MAINTAINER, STOPSIGNAL
    return head + draw(shell_text()), []


@st.composite
def line_soup(draw: st.DrawFn) -> str:
    """A random line over the characters the parser treats specially."""
    return "".join(draw(st.lists(st.sampled_from(SOUP_ALPHABET), max_size=24)))


@st.composite
def continued(draw: st.DrawFn, line: str, escape: str) -> list[str]:
    """Split one logical line over several physical lines with the escape character."""
    if not line or draw(st.integers(0, 2)) == 0:
        return [line]
    cut_points = sorted(set(draw(st.lists(st.integers(1, len(line)), max_size=3))))
    out: list[str] = []
    prev = 0
    for cut in cut_points:
        out.append(line[prev:cut] + draw(st.sampled_from((escape, escape, " " + escape, escape + " ",
                                                          escape + "\t", escape + escape, "\\", "`"))))
        for dummy in range(draw(st.integers(0, 2))):
            out.append(draw(st.sampled_from(("", "  ", "\t", "# comment", "  # indented comment", "#",
                                             "# c " + escape))))
        prev = cut
    out.append(line[prev:])
    return out


@st.composite
def header(draw: st.DrawFn) -> tuple[list[str], str]:
    """Parser-directive header lines and the escape character they most likely select."""
    escape = draw(st.sampled_from(("\\", "\\", "`")))
    lines: list[str] = []
    candidates = ["# syntax=docker/dockerfile:1", f"#escape={escape}", "# check=skip=all",
                  "# foo=bar", "", "# just a comment", f"  #  ESCAPE  =  {escape}  ",
                  "# syntax = docker/dockerfile:1.7", "#!/usr/bin/env docker"]
    lines.extend(draw(st.lists(st.sampled_from(candidates), max_size=3, unique=True)))
    rare = draw(_one_in(20))
    if rare == 0:
        lines.insert(0, "# escape=x")  # invalid escape token
    elif rare == 1:
        lines.insert(0, "# syntax=a")  # a second syntax directive, if one follows
    if escape == "`" and draw(st.booleans()):
        lines.insert(0, "# escape=`")
    return lines, escape


@st.composite
def dockerfiles(draw: st.DrawFn) -> str:
    """A whole Dockerfile text (str) exercising every construct listed in the module docstring."""
    head, escape = draw(header())
    lines: list[str] = list(head)
    for dummy in range(draw(st.integers(0, 6) if draw(_one_in(20)) == 0 else st.integers(1, 6))):
        noise = draw(st.integers(0, 4))
        if noise == 0:
            lines.append(draw(st.sampled_from(("", "   ", "\t", "# comment", "   # hadolint ignore=DL3002",
                                               "# refarch:ignore NRA001 reason"))))
        line, tail = draw(instruction_text())
        indent = draw(st.sampled_from(("", "", "", "  ", "\t")))
        trailing = draw(st.sampled_from(("", "", "", " ", "\t", "\r")))
        lines.extend(draw(continued(indent + line + trailing, escape)))
        lines.extend(tail)
    newline = draw(st.sampled_from(("\n", "\n", "\r\n", "mixed")))
    if newline == "mixed":
        text = "".join(ln + draw(st.sampled_from(("\n", "\r\n"))) for ln in lines)
    else:
        text = newline.join(lines) + (newline if draw(st.booleans()) else "")
    if draw(_one_in(10)) == 0:
        text = "\ufeff" + text
    return text


@st.composite
def soup_dockerfiles(draw: st.DrawFn) -> str:
    """Whole files of random lines over :data:`SOUP_ALPHABET` with a keyword now and then."""
    lines = []
    for dummy in range(draw(st.integers(1, 8))):
        prefix = draw(st.sampled_from(("", "", "RUN ", "run <<", "COPY ", "ENV ", "ONBUILD RUN ", "CMD [", "# ",
                                       "HEALTHCHECK CMD ", "LABEL ", "ARG ", "FROM ")))
        lines.append(prefix + draw(line_soup()))
    return "\n".join(lines) + draw(st.sampled_from(("", "\n", "\r\n")))


_UNICODE_PREFIXES = ("RUN ", "ENV ", "LABEL ", "ARG ", "COPY ", "CMD ", "HEALTHCHECK ", "ONBUILD RUN ", "FROM ",
                     "USER ", "EXPOSE ", "RUN <<", "RUN --", "", "# ")


@st.composite
def unicode_dockerfiles(draw: st.DrawFn) -> str:
    """Lines of arbitrary Unicode (no surrogates, no NUL) after a keyword: Go-vs-Python whitespace rules.

    NUL is left out because the binding passes the text as a C string and stops
    at the first NUL (BuildKit itself would not).
    """
    chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
    lines = draw(st.lists(st.builds(lambda k, t: k + t, st.sampled_from(_UNICODE_PREFIXES),
                                    st.text(chars, max_size=20)), min_size=1, max_size=5))
    return "\n".join(lines)
