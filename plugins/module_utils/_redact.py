# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secret detection and redaction for host-side facts (stdlib only).

Nothing that looks like a secret may leave the managed host.  The facts
normalizer redacts the parsed instructions *before* it derives anything from
them, so every derived field (stage env, resolved values, process argv) only
ever sees redacted text.  Every text is redacted as a whole *logical* text:
a line continuation (``\\`` + newline) is joined before the rules look at it
and the redaction is mapped back onto the physical lines, so a secret split by
a continuation is hidden on both lines.

Two families of rules, each giving the spans of text to replace by
``<redacted>``:

**By name** (``SECRET_NAME_RE``): the value of an ENV/ARG/LABEL, a
``NAME=value`` word, a ``--flag value`` / ``--flag=value`` option, a JSON or
YAML key, an exec-form ``["--token", "value"]`` pair, an ``npm/yarn/pnpm
(config) set`` or ``aws configure set`` setting, an HTTP header, when the name
looks secret (password, pass, pwd, pw, secret, token, api key, private key,
credential, auth -- not author --, access/account key, pat, webhook, dsn,
cookie, salt, bearer, jwt, ...).

**By value**: the forms a value alone shows to be secret (private keys, URL userinfo, header
credentials, CLI password options, webhook URLs, known token formats, high-entropy words) are
recognised in ``_secret_forms``; the secret names and the placeholders (values that are never
secret) are defined in ``_secret_names``.

``redact_text`` applies both families to free text; ``Redactor`` to parsed
Dockerfile instructions (and remembers every secret value it found so that the
same value is hidden wherever else it appears, even truncated);
``_redact_spans.redact_argv`` to argument vectors (the word after a secret option is secret).
``_redact_dockerfile.redact_dockerfile`` applies a ``Redactor`` to a whole Dockerfile text, keeping its
line structure (remediation diffs; a module of its own so that a scan does not load it).

This module holds the quick tests that tell whether any rule may hide anything in a text (most texts: nothing);
the rules' spans and their replacement are in ``_redact_spans``, imported only when a text may hold a secret, so
that a scan of files with nothing to hide does not load it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from itertools import accumulate
from re import Pattern
from typing import Optional

from ansible_collections.refarch.containers.plugins.module_utils._lazy_re import lazy_re
from ansible_collections.refarch.containers.plugins.module_utils._secret_checks import _maybe
from ansible_collections.refarch.containers.plugins.module_utils._secret_forms import (
    _long_word_suspect,
    _value_suspect,
)
from ansible_collections.refarch.containers.plugins.module_utils._secret_names import (
    SECRET_NAME_FRAGMENTS,
    SECRET_NAME_RE,
    _has_name_literal,
    compile_secret_names,
    is_placeholder,
    is_secret_name,
)

__all__ = ["REDACTED", "SECRET_NAME_FRAGMENTS", "SECRET_NAME_RE", "Redactor", "compile_secret_names",
           "is_placeholder", "is_secret_name", "redact_literals", "redact_text"]

REDACTED = "<redacted>"

_USER_FLAG_RE = lazy_re(r"(?<![\w-])(?:-u|-U|--user|--proxy-user)(?:=|[ \t]+)\S*:")

# a line continuation: the escape character, optional trailing blanks, the newline
_CONTINUATION_RE = lazy_re(r"\\[ \t]*\r?\n")


def _is_reference(value: str) -> bool:
    """True when a value carries no secret (kept for the callers that use the old name): ``is_placeholder``."""
    return is_placeholder(value)


def _joined(text: str) -> tuple[str, list]:
    """``text`` without line continuations, and the continuations removed (start, end) in ``text``."""
    cuts = [m.span() for m in _CONTINUATION_RE.finditer(text)]
    if not cuts:
        return text, cuts
    parts = []
    at = 0
    for s, e in cuts:
        parts.append(text[at:s])
        at = e
    parts.append(text[at:])
    return "".join(parts), cuts


def redact_text(text: str, names_re: Pattern[str] = SECRET_NAME_RE, context: str = "") -> str:
    """Redact secrets in free text (RUN lines, heredocs, scripts, messages), by name and by value.

    Line continuations are joined first, so a secret split over two lines is hidden on both.
    """
    if not text:
        return text
    joined, cuts = _joined(text) if "\n" in text else (text, [])
    if names_re is SECRET_NAME_RE and _clean(joined):
        # Fast path (hot: most lines): no built-in secret name fragment anywhere in the text, so no
        # NAME=value / --flag / Authorization match can be secret, and no value rule applies.
        return text
    from ansible_collections.refarch.containers.plugins.module_utils._redact_spans import (  # noqa: PLC0415
        _apply,
        secret_spans,
    )
    return _apply(text, secret_spans(joined, names_re, context), cuts)


def _clean(text: str) -> bool:
    """True when ``redact_text`` (built-in names) would certainly leave ``text`` unchanged."""
    # the same tests as redact_text's fast path: name fragments, -u user:password, value rules
    low = text.lower()
    if not _maybe(text, low):
        return not _long_word_suspect(text)
    return not _has_name_literal(text, low) and not _user_flag(text) and not _value_suspect(text, low)


def _user_flag(text: str) -> bool:
    """``_USER_FLAG_RE`` finds a match (every alternative contains ``-u`` or ``-U``: tested first, it is cheaper)."""
    return ("-u" in text or "-U" in text) and _USER_FLAG_RE.search(text) is not None


def _all_clean(instrs: list) -> bool:
    """True when ``_clean`` holds for every text ``Redactor.instructions`` checks, in one test."""
    kinds = _dirty_kinds(instrs)
    return kinds is not None and not kinds[0] and not kinds[1]


def _dirty_kinds(instrs: list, extra: Iterable[str] = ()) -> Optional[tuple]:
    """``(names, values)``: whether the by-name / by-value rules may hide anything in the instructions.

    The texts (originals, exec-form values and flags, heredoc bodies) are joined with newlines
    and tested once: a name fragment, a ``-u user:password`` match or a value rule's trigger in any
    one text is also one in the joined text (none of them needs more than one line, and a newline
    before a flag satisfies its look-behind as the start of a text does). A kind that is False
    for the joined text is False for each text. None (the caller then checks each text for both)
    when the texts are not all strings.
    """
    tj = _joined_texts(instrs, extra)
    return None if tj is None else _kinds(tj[0], tj[0].lower())


def _kinds(joined: str, low: str) -> tuple:
    """``_dirty_kinds`` of texts already joined (``low``: ``joined`` lower-cased)."""
    if not _maybe(joined, low):
        return False, _long_word_suspect(joined)
    return (_has_name_literal(joined, low) or _user_flag(joined)), _value_suspect(joined, low)


def _joined_texts(instrs: list, extra: Iterable[str] = ()) -> Optional[tuple]:
    """``(joined, texts)``: the texts ``_dirty_kinds`` tests, joined with newlines, and the texts (see ``_ends``);
    None when they are not all strings."""
    texts: list = []
    for instr in instrs:
        texts.append(instr["original"])
        if instr["json"]:
            texts += instr["value"]
            texts += instr["flags"]
        for h in instr["heredocs"]:
            texts.append(h["content"])
    texts += extra
    try:
        return "\n".join(texts), texts
    except TypeError:
        return None


def _ends(instrs: list, texts: list) -> list:
    """For each instruction, the offset in the joined texts (``_joined_texts``) where its own texts end (they
    are consecutive, in that order)."""
    lengths = list(accumulate(map(len, texts)))  # the texts' lengths so far; the k-th text ends k newlines later
    ends = []
    k = 0
    for instr in instrs:
        k += 1 + (len(instr["value"]) + len(instr["flags"]) if instr["json"] else 0) + len(instr["heredocs"])
        ends.append(lengths[k - 1] + k - 1)
    return ends


# Every test of ``_has_name_literal`` and ``_user_flag`` needs one of these in the text itself (the first in
# its lower-cased form, "passw"/"passphrase"/"storepass"/... through "pass"; the last two as they are):
# see _name_suspects
_NAME_TRIGGERS = ("key", "token", "secret", "auth", "pwd", "cred", "dsn", "cookie", "salt", "bearer",
                  "webhook", "access", "connection", "pass", "pw", "pat", "sas", "jwt", "psk")
_FLAG_TRIGGERS = ("-u", "-U")


def _found_in(text: str, needles: Iterable[str], ends: list, out: set) -> None:
    """Add to ``out`` the index of each instruction (``ends`` as ``_joined_texts``) whose texts show a needle."""
    for lit in needles:
        i = text.find(lit)
        while i >= 0:
            out.add(bisect.bisect_right(ends, i))
            i = text.find(lit, i + 1)


def _name_suspects(joined: str, low: str, ends: list) -> Optional[set]:
    """Indexes of the instructions whose texts the by-name rules may hide something in (a superset: each
    is then checked on its own); None when positions in ``low`` are not those of ``joined``.

    A text for which ``_has_name_literal`` or ``_user_flag`` holds shows one of the triggers; no trigger
    holds a newline, so each occurrence lies inside one text, within its instruction's span of ``joined``.
    """
    if len(low) != len(joined):
        return None  # lower-casing changed a length (rare letters): no positional test
    out: set = set()
    _found_in(low, _NAME_TRIGGERS, ends, out)
    _found_in(joined, _FLAG_TRIGGERS, ends, out)
    return out


def _clean_kinds(text: str, names: bool, values: bool) -> bool:
    """``_clean`` for the kinds of rules that may apply (the others are known to hide nothing)."""
    if not names and not values:
        return True
    low = text.lower()
    if not _maybe(text, low):
        return not (values and _long_word_suspect(text))
    return (not (names and (_has_name_literal(text, low) or _user_flag(text)))
            and not (values and _value_suspect(text, low)))


def redact_literals(text: str, literals: Iterable[str]) -> str:
    """Replace every occurrence of known secret values in ``text``."""
    if not text:
        return text
    for lit in literals:
        if lit in text:
            text = text.replace(lit, REDACTED)
    return text


def _holds(instr: dict, literal: str) -> bool:
    """Whether a known secret value shows in an instruction (decoded exec-form strings included)."""
    if literal in instr["original"] or any(literal in h["content"] for h in instr["heredocs"]):
        return True
    return bool(instr["json"]) and any(literal in v for v in (*instr["value"], *instr["flags"]))


class Redactor:
    """Redact one Dockerfile's parsed instructions.

    Usage: ``Redactor(names_re).instructions(instrs)`` returns new instruction
    dicts with secrets replaced; ``secret_values`` then holds the literal
    values found, for a final sweep of other text (package.json scripts,
    problem messages, pragma reasons).
    """

    def __init__(self, names_re: Pattern[str] = SECRET_NAME_RE) -> None:
        self.names_re = names_re
        self.secret_values: set = set()
        self.secret_names: set = set()
        self._sorted: Optional[list] = None
        #: after ``instructions``: no rule hides anything in its ``extra`` texts; whether a value rule may
        self.extra_clean = False
        self.values_dirty = True

    # -- helpers --------------------------------------------------------
    def _remember(self, name: str, raw_value: str) -> None:
        self.secret_names.add(name)
        self._remember_value(raw_value)

    def _remember_value(self, raw_value: str) -> None:
        raw = raw_value.strip()
        if raw and not is_placeholder(raw):
            for cand in (raw, raw.strip("\"'")):
                # very short values would shred unrelated text; they are still
                # redacted structurally in their own ENV/ARG instruction.
                if len(cand) >= 4:
                    self.secret_values.add(cand)

    def _literals(self) -> list:
        # longest first so a value containing another is replaced whole (sorted once per new value)
        if self._sorted is None or len(self._sorted) != len(self.secret_values):
            self._sorted = sorted(self.secret_values, key=len, reverse=True)
        return self._sorted

    def spans(self, text: str, context: str = "", values: bool = True) -> list:
        """Merged secret spans of ``text`` (no continuations in it): rules and known values.

        ``values`` False: the value rules are known to hide nothing in ``text`` (checked before).
        """
        from ansible_collections.refarch.containers.plugins.module_utils._redact_spans import (  # noqa: PLC0415
            _literal_spans,
            _merge,
            _spans,
        )
        spans = _spans(text, self.names_re, context, values)
        if self.secret_values:
            _literal_spans(text, self._literals(), spans)
        return _merge(spans)

    def clean(self, texts: list, values: bool = True) -> bool:
        """Whether ``text`` would leave every one of ``texts`` unchanged (one test for them all)."""
        joined = "\n".join(texts)
        if self.names_re is not SECRET_NAME_RE or not _clean_kinds(joined, True, values):
            return False
        return not self.secret_values or not any(lit[:8] in joined for lit in self._literals())

    def text(self, text: str, context: str = "", values: bool = True) -> str:
        """Redact ``text``: rules, then known literal values; what the rules found is remembered."""
        if not text:
            return text
        if "\n" not in text and self.names_re is SECRET_NAME_RE and _clean_kinds(text, True, values) and (
                not self.secret_values or not any(lit[:8] in text for lit in self._literals())):
            return text  # fast path: no rule applies and no known value (or its start) shows
        joined, cuts = _joined(text) if "\n" in text else (text, [])
        spans = self.spans(joined, context, values)
        for s, e in spans:
            seg = joined[s:e]
            if len(seg) >= 8 and seg not in self.secret_values and not seg.isalpha():
                self._remember_value(seg)
        from ansible_collections.refarch.containers.plugins.module_utils._redact_spans import (  # noqa: PLC0415
            _apply,
        )
        return _apply(text, spans, cuts)

    def instructions(self, instrs: list, extra: Iterable[str] = (), copy: bool = True) -> list:
        """Return redacted copies of ``instrs`` (parser Instruction dicts); ``copy`` False returns the ones
        with nothing to hide themselves (the caller owns them).

        ``extra``: other texts of the same file's document (package.json scripts, .dockerignore lines)
        checked in the same test; ``extra_clean`` then says whether no rule hides anything in them
        (False: the caller redacts each with ``text``).
        """
        builtin = self.names_re is SECRET_NAME_RE
        tj = _joined_texts(instrs, extra) if builtin else None
        low = tj[0].lower() if tj is not None else ""
        kinds = _kinds(tj[0], low) if tj is not None else None
        self.extra_clean = kinds is not None and not kinds[0] and not kinds[1]
        self.values_dirty = kinds is None or kinds[1]
        if self.extra_clean:
            # nothing to collect or redact anywhere (the common case): plain copies
            return [dict(instr) for instr in instrs] if copy else list(instrs)
        from ansible_collections.refarch.containers.plugins.module_utils._redact_spans import (  # noqa: PLC0415
            redact_instructions,
        )
        return redact_instructions(self, instrs, tj, low, kinds, copy=copy)
