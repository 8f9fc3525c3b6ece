"""Console-safe text (plugins/module_utils/_printable.py)."""
from __future__ import annotations

import re

import pytest
from ansible_collections.refarch.containers.plugins.module_utils._printable import printable

_DECODE_RE = re.compile(r"\\(\\|x[0-9a-f]{2}|u[0-9a-f]{4})")


def _decode(text: str) -> str:
    """The inverse the docstring promises: ``\\\\`` -> ``\\``, ``\\xNN`` / ``\\uNNNN`` -> the character."""
    def one(m: re.Match[str]) -> str:
        body = m.group(1)
        return "\\" if body == "\\" else chr(int(body[1:], 16))
    return _DECODE_RE.sub(one, text)


HOSTILE = [
    "/srv/\x1b[2J\x1b[31mred",
    "/srv/\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07",
    "/srv/\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\",
    "a\u2028b\u2029c\x85d",
    "abc\u202egnp.exe",
    "x\u2066y\u2069z",
    "bell\x07del\x7fnul\x00",
    "csi8bit\x9b31m",
    "bytes\udcff\udc80",
    "tab\tcr\rlf\n",
    "\\x1b literal \\u2028 and \\\\ and trailing \\",
    "back\\\x1b slash before escape",
    "\ufeffbom",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_has_no_control_left_and_round_trips(text):
    out = printable(text)
    assert out.isprintable(), repr(out)
    assert not any(ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f for c in out)
    assert not set(out) & {"\u2028", "\u2029", "\u202e", "\u2066", "\u2069", "\ufeff"}
    out.encode("utf-8")  # no lone surrogate left
    assert _decode(out) == text


def test_visible_forms():
    assert printable("/srv/\x1b[2Jx") == "/srv/\\x1b[2Jx"
    assert printable("a\u2028b") == "a\\u2028b"
    assert printable("a\x85b") == "a\\x85b"
    assert printable("\u202e") == "\\u202e"
    assert printable("\x07") == "\\x07"
    assert printable("\udcff") == "\\udcff"


@pytest.mark.parametrize("text", [
    "/srv/app/Dockerfile",
    "/srv/приложение/Dockerfile",
    "/srv/应用/Dockerfile 🚀",
    "/srv/עברית/ملف",  # right-to-left scripts are text, not controls
    "RUN apt-get install -y curl \\",
    "C:\\temp\\new",
    "",
])
def test_ordinary_text_is_unchanged(text):
    assert printable(text) == text


def test_backslash_doubled_only_where_it_would_read_as_an_escape():
    assert printable("a\\x1b") == "a\\\\x1b"
    assert printable("a\\u2028") == "a\\\\u2028"
    assert printable("a\\\\b") == "a\\\\\\b"
    assert printable("a\\b") == "a\\b"


def test_keep_newlines():
    assert printable("one\ntwo\x1b[0m", keep_newlines=True) == "one\ntwo\\x1b[0m"
    assert printable("one\ntwo") == "one\\x0atwo"
    assert printable("cr\r\n", keep_newlines=True) == "cr\\x0d\n"


def test_non_strings():
    assert printable(None) == ""
    assert printable(42) == "42"
    assert printable(["\x1b"]) == "['\\\\x1b']"  # str() of a list already escapes; the backslash is doubled


def test_limit_cuts_the_text_not_an_escape():
    assert printable("abcdef", limit=4) == "abc\u2026"
    assert printable("ab\x1bcdef", limit=4) == "ab\\x1b\u2026"
    assert printable("abc", limit=3) == "abc"
