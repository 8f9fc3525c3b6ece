# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The .dockerignore glob's shortcuts (a pattern without a wildcard compared as a string, no regex for a pattern
whose literal ends cannot match) decide as the plain glob regex does, on patterns drawn at random."""
from __future__ import annotations

import random
import re

from ansible_collections.refarch.containers.plugins.module_utils import _dockerignore as di

_PATHS = ["node_modules", ".git", ".cache", "a", "a/b", "node_modules/x", ""]
_PIECES = [*"ab*?/.-_ +~[!#", "**", "node_modules", ".git", ".cache", "**/", "/**", "/*"]


def _oracle_glob(pattern: str, path: str) -> bool:
    """The glob written out one character at a time (``**`` any text, ``*``/``?`` within a segment)."""
    if not re.fullmatch(r"[A-Za-z0-9_.*?/@+=,~ -]+", pattern):
        return pattern == path
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] in "*?":
            out.append("[^/]*" if pattern[i] == "*" else "[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.fullmatch("".join(out), path, re.DOTALL) is not None


def _oracle_matches(pattern: str, path: str) -> bool:
    return (_oracle_glob(pattern, path) or (pattern.startswith("**/") and _oracle_glob(pattern[3:], path))
            or any(pattern.endswith(s) and _oracle_glob(pattern[:-len(s)], path) for s in ("/**", "/*")))


def test_glob_shortcuts_decide_as_the_regex():
    rng = random.Random(20261207)
    patterns = ["".join(rng.choice(_PIECES) for dummy in range(rng.randint(0, 6))) for dummy2 in range(5000)]
    patterns += ["*", "**", "node_modules", "node_modules/**", "**/node_modules", ".git*", "*.md", ".cach?", "?"]
    wrong = []
    for pattern in patterns:
        for path in [*_PATHS, pattern]:
            di._GLOB_CACHE.clear()  # both ways: decided before and after the pattern's regex is remembered
            first = di._ignore_matches(pattern, path)
            di._glob(pattern, "node_modules")
            if not first == di._ignore_matches(pattern, path) == _oracle_matches(pattern, path):
                wrong.append((pattern, path))
    assert wrong == []
