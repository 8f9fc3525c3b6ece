# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module-level regular expressions compiled on first use (stdlib only).

A host module is a new process on every run (AnsiballZ), so every ``re.compile`` at module level is paid
on every start, also for the expressions only some inputs need (a secret form, a rare base image, an
install command seldom seen). :func:`lazy_re` defers the compilation to the first use. After it the
compiled pattern's methods are the object's own attributes: ``X.search(text)`` then costs what it costs
on a compiled pattern (no Python-level call in between).

Only for patterns used through their methods and attributes (``search``, ``match``, ``finditer``,
``pattern``, ...): the object is not a ``re.Pattern`` (``re.sub(X, ...)``, ``isinstance`` and ``is``
tests would not see the compiled one).
"""

from __future__ import annotations

import re
from typing import Any

#: what the first use copies from the compiled pattern onto the object
_ATTRIBUTES = ("search", "match", "fullmatch", "finditer", "findall", "sub", "subn", "split", "scanner",
               "pattern", "flags", "groups", "groupindex")


class LazyPattern:
    """A regular expression compiled on its first use (see the module's documentation)."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._source = (pattern, flags)

    def __getattr__(self, name: str) -> Any:
        # only called for a name the object does not have yet: the first use
        if name.startswith("__") or name == "_source":
            raise AttributeError(name)
        compiled = re.compile(*self._source)
        for attr in _ATTRIBUTES:
            setattr(self, attr, getattr(compiled, attr))
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"lazy_re({self._source[0]!r}, {self._source[1]!r})"


def lazy_re(pattern: str, flags: int = 0) -> Any:
    """``re.compile(pattern, flags)``, done on the first use of the result (typed ``Any``: used as a Pattern)."""
    return LazyPattern(pattern, flags)
