# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one-pass pre-check of redaction (stdlib only): may any rule hide something in a text?

Redaction runs on every text of every file, and most texts hold no secret. Before the rules run, the
pre-checks say whether a by-name rule (``_secret_names._has_name_literal``, ``_redact._user_flag``) or a
value rule (``_secret_forms._value_suspect``) may hide anything; each of their tests needs some literal in
the lower-cased text. ``_maybe`` looks for all those literals in one regex pass (plus a few scans), so a
text that holds none of them is known clean without ~50 scans; where it says "maybe", the pre-checks
themselves decide, so every decision is theirs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from re import Pattern

from ansible_collections.refarch.containers.plugins.module_utils._lazy_re import lazy_re
from ansible_collections.refarch.containers.plugins.module_utils._secret_forms import _QUERY_NAMES, VALUE_TRIGGERS
from ansible_collections.refarch.containers.plugins.module_utils._secret_names import (
    _KEY_PREFIXES,
    _WORD_LITERALS,
    NAME_TRIGGERS,
)

# characters from the rarest to the most common in Dockerfiles (measured on a corpus, lower-cased)
_RARITY = "~?@z{}q()7+956$*4\\283[]&=,1_x:wjv0bfkghy\"#-.m/ultcidsaprnoe "


def _rare_first_re(literals: Iterable[str] = (), words: Iterable[str] = (), preceded: Iterable[tuple] = (),
                   raw: Iterable[tuple] = ()) -> Pattern[str]:
    """One regex (for lower-cased text) that finds any of ``literals``, of ``words`` as whole words (no
    ``[a-z0-9]`` on either side), of ``preceded`` (``(literal, fixed-width pattern just before it)``), or
    of ``raw`` (``(character, pattern after it)``).

    Each literal is found from its rarest character (``_RARITY``), what comes before that character checked
    by a look-behind: the regex starts with these characters only, so the engine skips every other position
    of a text in C and stops only at the few that hold one of them (one pass instead of one per literal).
    """
    alts: dict = {}

    def add(lit: str, before: str = "", word: bool = False) -> None:
        at = min(range(len(lit)), key=lambda i: _RARITY.index(lit[i]))
        pre = re.escape(lit[:at + 1])  # what the look-behinds see once the rare character is matched
        alt = f"(?<={before}{pre})" if before or at else ""
        if word:
            alt += f"(?<![a-z0-9]{pre})" + re.escape(lit[at + 1:]) + "(?![a-z0-9])"
        else:
            alt += re.escape(lit[at + 1:])
        alts.setdefault(lit[at], []).append(alt)

    literals = tuple(dict.fromkeys(literals))
    for lit in literals:  # a literal holding another one is found through it (webhook: hook)
        if not any(other != lit and other in lit for other in literals):
            add(lit)
    for lit in words:
        if lit not in literals:
            add(lit, word=True)
    for lit, before in preceded:
        add(lit, before)
    for char, after in raw:
        alts.setdefault(char, []).append(after)
    return lazy_re("|".join(re.escape(c) + "(?:" + "|".join(a) + ")" for c, a in alts.items()))


# The pre-checks' triggers whose every character is common in Dockerfiles: a str scan for each is cheaper than
# the regex engine stopping at each of their characters (a literal that holds one of these is found by it)
_TRIGGER_SCANS = ("pass", "secret", "cred", "dsn", "salt", "mc ", "openssl")
# What _has_name_literal, _user_flag and _value_suspect (but its long words) need, in one pass (see _maybe)
_TRIGGER_RE = _rare_first_re(
    [t for t in NAME_TRIGGERS + VALUE_TRIGGERS if not any(s in t for s in _TRIGGER_SCANS)], _WORD_LITERALS,
    [("key", p + sep) for p in _KEY_PREFIXES for sep in ("", "[_.-]")]  # _prefixed_name's names
    + [("string", "connection" + sep) for sep in ("", "[_.-]")],
    [("h", r"(?<=sh)ared[_.-]?access"), ("?", _QUERY_NAMES), ("&", _QUERY_NAMES)])


def _maybe(text: str, low: str) -> bool:
    """False: ``_has_name_literal``, ``_user_flag`` and every test of ``_value_suspect`` but the long words are
    certainly False for ``text`` (``low``: it lower-cased); one regex pass and a few scans instead of ~50 scans.

    Each of their tests needs one of ``NAME_TRIGGERS``, ``VALUE_TRIGGERS`` (in ``_TRIGGER_RE`` or
    ``_TRIGGER_SCANS``), a whole word of ``_WORD_LITERALS``, a name of ``_prefixed_name`` or a query parameter
    in ``low`` (an ASCII literal in ``text`` is one in ``text.lower()``); ``_QUERY_RE`` (case-insensitive, on
    ``text``) is only known to need its lower-cased form in ``low`` for ASCII text: other text is "maybe".
    """
    return (_TRIGGER_RE.search(low) is not None or "pass" in low or "secret" in low or "cred" in low
            or "dsn" in low or "salt" in low or "mc " in low or "openssl" in low or not text.isascii())
