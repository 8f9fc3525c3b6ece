# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``.dockerignore`` files: their patterns and which paths they exclude (``analysis.dockerignore``).

Standard library only (runs on managed hosts).
"""
from __future__ import annotations

import re

from ansible_collections.refarch.containers.plugins.module_utils._lazy_re import lazy_re
from ansible_collections.refarch.containers.plugins.module_utils._shellcmd import STRIP_RE


def parse_dockerignore(data: bytes) -> list[str]:
    """Patterns of a ``.dockerignore``: comments and blank lines dropped, ``!`` kept."""
    text = data.decode("utf-8-sig", errors="strict")
    out = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        out.append(s)
    return out


# Paths whose .dockerignore coverage the host reports (the policy's required list may name others).
DOCKERIGNORE_PATHS = ("node_modules", ".git", ".cache")
_GLOB_SAFE_RE = re.compile(r"[A-Za-z0-9_.*?/@+=,~ -]+")
_GLOB_WILDCARD_RE = lazy_re(r"(\*\*|\*|\?)")
_GLOB_WILDCARDS = {"**": ".*", "*": "[^/]*", "?": "[^/]"}


_GLOB_CACHE: dict = {}


def _glob(pattern: str, path: str) -> bool:
    """OPA's glob.match(pattern, ["/"], path) for the plain patterns it is used on; others compare literally."""
    compiled = _GLOB_CACHE.get(pattern)
    if compiled is None:
        if not _glob_may_match(pattern, path):
            return False  # most patterns against the few paths asked: no regex compiled for them
        if len(_GLOB_CACHE) > 4096:  # .dockerignore patterns repeat across an estate; bound the cache anyway
            _GLOB_CACHE.clear()
        compiled = _GLOB_CACHE[pattern] = _glob_compile(pattern)
    if compiled is False:
        return pattern == path
    return compiled.fullmatch(path) is not None


def _glob_may_match(pattern: str, path: str) -> bool:
    """A necessary condition of ``_glob(pattern, path)``, without a regex: a ``/`` in the pattern needs one in
    the path, and the pattern's text before its first wildcard must start the path, the text after its last
    one end it (the regex begins and ends with them; a pattern compared literally passes when equal)."""
    if "/" in pattern and "/" not in path:
        return False
    star, quest = pattern.find("*"), pattern.find("?")
    first = min(star, quest) if star >= 0 and quest >= 0 else max(star, quest)
    if first < 0:
        return pattern == path
    last = max(pattern.rfind("*"), pattern.rfind("?"))
    return path.startswith(pattern[:first]) and path.endswith(pattern[last + 1:])


def _glob_compile(pattern: str):
    """The compiled regex for a glob pattern, or False when the pattern is compared literally."""
    if not _GLOB_SAFE_RE.fullmatch(pattern) or ("*" not in pattern and "?" not in pattern):
        return False  # without a wildcard, the regex would match the pattern itself and nothing else
    # wildcards (``**`` before ``*``, left to right) at the odd places, literal text escaped between them
    parts = _GLOB_WILDCARD_RE.split(pattern)
    return re.compile("".join(_GLOB_WILDCARDS[part] if i % 2 else re.escape(part) for i, part in enumerate(parts)),
                      re.DOTALL)


def _ignore_matches(pattern: str, path: str) -> bool:
    if "*" not in pattern and "?" not in pattern:
        return pattern == path  # what the globs below come to without a wildcard (most patterns)
    if _glob(pattern, path):
        return True
    if pattern.startswith("**/") and _glob(pattern[3:], path):
        return True
    return any(pattern.endswith(suffix) and _glob(pattern[:-len(suffix)], path) for suffix in ("/**", "/*"))


def _ignore_touches(pattern: str, path: str) -> bool:
    """A re-include that matches the path or a directory above it brings it back."""
    if _ignore_matches(pattern, path):
        return True
    first = pattern.split("/", maxsplit=1)[0]
    return "/" in pattern and first != "**" and _glob(first, path)


def _ignore_clean(pattern: str) -> str:
    p = STRIP_RE.sub("", pattern)
    p = p[1:] if p.startswith("/") else p
    p = p[2:] if p.startswith("./") else p
    return p[:-1] if p.endswith("/") else p


_COVERAGE_CACHE: dict = {}


def dockerignore_coverage(patterns: list, paths: tuple[str, ...] = DOCKERIGNORE_PATHS) -> dict[str, dict]:
    """Whether each path is excluded by the .dockerignore patterns (last match wins, ``!`` re-includes).

    ``{path: {"excluded": bool, "reincluded_by": [re-including patterns]}}``; pure. Remembered per
    pattern list (.dockerignore files repeat across an estate); every call returns new objects.
    """
    key = None
    if isinstance(paths, tuple) and all(isinstance(p, str) for p in patterns):
        key = (tuple(patterns), paths)
        hit = _COVERAGE_CACHE.get(key)
        if hit is not None:
            return {path: {"excluded": excluded, "reincluded_by": list(again)} for path, excluded, again in hit}
    out = _coverage(patterns, paths)
    if key is not None:
        if len(_COVERAGE_CACHE) > 1024:
            _COVERAGE_CACHE.clear()
        _COVERAGE_CACHE[key] = tuple((path, v["excluded"], tuple(v["reincluded_by"])) for path, v in out.items())
    return out


def _coverage(patterns: list, paths: tuple[str, ...]) -> dict[str, dict]:
    norm = []
    for index, raw in enumerate(patterns):
        if not isinstance(raw, str):
            continue
        text = STRIP_RE.sub("", raw)
        if not text or text.startswith("#"):
            continue
        negated = text.startswith("!")
        pattern = _ignore_clean(text[1:] if negated else text)
        if pattern:
            norm.append((index, negated, pattern))
    out = {}
    for path in paths:
        hits = [i for i, neg, pat in norm if not neg and _ignore_matches(pat, path)]
        again = [pat for i, neg, pat in norm if neg and _ignore_touches(pat, path)]
        excluded = bool(hits) and not any(neg and i > max(hits) and _ignore_touches(pat, path) for i, neg, pat in norm)
        out[path] = {"excluded": excluded, "reincluded_by": again}
    return out
