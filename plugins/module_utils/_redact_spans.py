# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the secrets of a text are, and how they are hidden: the half of the redaction that runs only when a text
may hold one (stdlib only).

``_redact`` first tells, with quick tests on all of a file's texts at once, whether any rule may hide anything
(``_redact._clean``, ``_redact._kinds``); this module then finds the spans to hide (``secret_spans``: by name,
``_name_spans``, and by value, ``_value_spans``, the forms of ``_secret_forms``) and replaces them
(``_apply``), hides secrets in argument vectors (``redact_argv``), and redacts a Dockerfile's instructions for
``Redactor.instructions`` (``redact_instructions``: stray words of a secret folded, secret values collected and
hidden wherever they show). A file with nothing to hide, the usual
one, never needs it: a scan of such files does not load it (start-up of the host modules, which Python compiles
from source on every run).
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterable
from re import Pattern
from typing import Optional

from ansible_collections.refarch.containers.plugins.module_utils._lazy_re import lazy_re
from ansible_collections.refarch.containers.plugins.module_utils._redact import (
    REDACTED,
    Redactor,
    _clean_kinds,
    _ends,
    _found_in,
    _holds,
    _name_suspects,
    _user_flag,
    redact_literals,
    redact_text,
)
from ansible_collections.refarch.containers.plugins.module_utils._secret_forms import (
    _ARG_WORD_RE,
    _BEARER_RE,
    _CLI_LITERALS,
    _CLI_RE,
    _CRED_HEADER_RE,
    _DOTTED_LITERALS,
    _DOTTED_TOKEN_RE,
    _HEADER_RE,
    _HOOK_LITERALS,
    _KNOWN_TOKEN_RE,
    _LOGIN_CMDS,
    _LONG_RE,
    _MYSQL_CMDS,
    _PASSARG_RE,
    _PEM_RE,
    _QUERY_RE,
    _SCHEME_RE,
    _SHORT_PW,
    _STDIN_RE,
    _USERINFO_RE,
    _WEBHOOK_RE,
    _secret_word,
    _value_suspect,
)
from ansible_collections.refarch.containers.plugins.module_utils._secret_names import (
    SECRET_NAME_RE,
    _has_name_literal,
    _is_secret_flag,
    is_placeholder,
    is_secret_name,
)

__all__ = ["redact_argv", "secret_spans"]

# One combined regex for inline secrets in free text, by name.  Groups:
#  envl: ENV/ARG/export NAME value (rest of line); cfg: ... config set KEY VALUE
#  url: scheme://user:password@  -> keep scheme and user
#  hdr: Authorization: Bearer/Basic/token <value>
#  js / yk: "name": "value" (JSON), name: value (YAML)
#  jf: exec-form "--name", "value"
#  flag: --name[= ]value (long options)
#  kv: NAME=value, name checked in the callback
# Every alternative starts at a word boundary (look-behind), so a long run of
# word characters is scanned once, not once per position (no quadratic time).
_VALUE = r"""(?:"(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^\s"';&|<>()`]+)"""
_INLINE_PARTS = (
    # (alternative, what any match of it needs in the lower-cased text: one needle of each group)
    (r"(?P<envl>(?P<envl_head>(?:^|(?<=\n))[ \t]*(?:env|arg|export|setenv|declare(?:[ \t]+-\w+)*)[ \t]+"
     r"(?P<envl_name>[A-Za-z_][\w.-]*)[ \t]+)(?P<envl_val>[^\n]+))", (("env", "arg", "export", "declare"),)),
    (r"(?P<cfg>(?P<cfg_head>(?:\bconfig(?:ure)?[ \t]+set|\b(?:npm|pnpm|yarn)[ \t]+set)[ \t]+(?:--?[\w-]+[ \t]+)*"
     r"(?P<cfg_name>[^\s=]+)[ \t]+)(?P<cfg_val>" + _VALUE + r"))", (("set",),)),
    (r"(?P<url>(?P<url_head>(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@'\"]*:)(?P<url_pw>[^\s/@'\"]+)(?=@))",
     (("://",),)),
    (r"(?P<hdr>(?P<hdr_head>\b(?:proxy-)?authorization\s*:\s*(?:bearer|basic|token|digest|negotiate|oauth|apikey)?"
     r"\s*)(?P<hdr_val>[^\s'\"]+))", (("authorization",),)),
    (r"(?P<jf>(?P<jf_head>\"--?(?P<jf_name>[A-Za-z][\w-]*)\"[ \t]*,[ \t]*\")(?P<jf_val>(?:[^\"\\\n]|\\.)*))",
     (('"-',),)),
    (r"(?P<js>(?P<js_head>(?P<js_q>\\?[\"'])(?P<js_name>[A-Za-z_][\w.-]*)(?P=js_q)[ \t]*:[ \t]*)"
     r"(?P<js_val>\\?\"(?:[^\"\\\n]|\\[^\"\n])*\\?\"|'[^'\n]*'|[^\s,{}\[\]'\"]+))", ((":",), ('"', "'"))),
    (r"(?P<yk>(?P<yk_head>(?:^|(?<=\n))[ \t]*(?P<yk_name>[A-Za-z_][\w.-]*):[ \t]+)(?P<yk_val>[^\s#]+))", ((":",),)),
    (r"(?P<flag>(?P<flag_head>(?<![\w-])--?(?P<flag_name>[A-Za-z][\w-]*)(?:=|[ \t]+))(?P<flag_val>" + _VALUE + r"))",
     (("-",),)),
    (r"(?P<kv>(?P<kv_head>(?<![\w.-])(?P<kv_name>[A-Za-z_][\w.-]*)=)(?P<kv_val>" + _VALUE + r"))", (("=",),)),
)
_INLINE_RE = lazy_re("|".join(part for part, dummy in _INLINE_PARTS), re.IGNORECASE)
# _INLINE_RE without the alternatives that cannot match in a text, by the alternatives kept (see _inline_re)
_INLINE_SUBSETS: dict = {}

# curl/wget-style options whose value is ``user:password``
_USER_FLAGS = ("u", "user", "proxy-user", "U", "http-password", "ftp-password")


# -- spans --------------------------------------------------------------------------------------------

def _inline_re(text: str) -> Optional[Pattern[str]]:
    """``_INLINE_RE`` for ``text``: without the alternatives whose needles (``_INLINE_PARTS``) are all absent.

    Such an alternative matches nowhere in the text, so the matches are the same; the regex tries every
    alternative at every position, so each one dropped saves its share. None: no alternative can match.
    Only for ASCII text (IGNORECASE folds a few other letters to ASCII ones: U+212A, U+017F).
    """
    if not text.isascii():
        return _INLINE_RE
    low = text.lower()
    # _INLINE_PARTS' needles spelled out, one bit per alternative kept (hot: every text with a name literal)
    kept = (("env" in low or "arg" in low or "export" in low or "declare" in low)
            | ("set" in low) << 1 | ("://" in low) << 2 | ("authorization" in low) << 3 | ('"-' in low) << 4)
    if ":" in low:
        kept |= ('"' in low or "'" in low) << 5 | 64
    kept |= ("-" in low) << 7 | ("=" in low) << 8
    if kept == 511:
        return _INLINE_RE
    if not kept:
        return None
    rx = _INLINE_SUBSETS.get(kept)
    if rx is None:
        rx = _INLINE_SUBSETS[kept] = re.compile(
            "|".join(part for i, (part, dummy) in enumerate(_INLINE_PARTS) if kept >> i & 1), re.IGNORECASE)
    return rx


def _name_spans(text: str, names_re: Pattern[str], base: int, out: list) -> None:
    """Spans (start, end) of ``text`` (offset by ``base``) that the by-name rules hide."""
    rx = _inline_re(text)
    if rx is None:
        return
    for m in rx.finditer(text):
        kind = m.lastgroup
        if kind in ("envl", "cfg"):
            value = m.group(kind + "_val")
            if is_secret_name(m.group(kind + "_name"), names_re) and not is_placeholder(value):
                out.append((base + m.start(kind + "_val"), base + m.end(kind + "_val")))
            elif _may_nest(value):
                _name_spans(value, names_re, base + m.start(kind + "_val"), out)
        elif kind == "url":
            if not is_placeholder(m.group("url_pw")):
                out.append((base + m.start("url_pw"), base + m.end("url_pw")))
        elif kind == "hdr":
            if not is_placeholder(m.group("hdr_val")):
                out.append((base + m.start("hdr_val"), base + m.end("hdr_val")))
        elif kind == "jf":
            if _is_secret_flag(m.group("jf_name"), names_re) and not is_placeholder(m.group("jf_val")):
                out.append((base + m.start("jf_val"), base + m.end("jf_val")))
        elif kind in ("js", "yk"):
            value = m.group(kind + "_val")
            if (is_secret_name(m.group(kind + "_name"), names_re) and not is_placeholder(value)
                    and value not in ("null", "true", "false")):
                quote = 2 if value.endswith('\\"') else 1 if value[-1:] in "\"'" else 0
                lead = quote if value[:quote] in ('\\"', '"', "'") and len(value) > quote else 0
                s, e = m.start(kind + "_val"), m.end(kind + "_val")
                out.append((base + s + lead, base + e - quote))
        elif kind == "flag":
            value = m.group("flag_val")
            if _is_secret_flag(m.group("flag_name"), names_re) and not is_placeholder(value):
                out.append((base + m.start("flag_val"), base + m.end("flag_val")))
            elif m.group("flag_name") in _USER_FLAGS and ":" in value.strip("\"'"):
                # curl -u user:password, --proxy-user user:password: keep the user name
                s = m.start("flag_val") + value.index(":") + 1
                e = m.end("flag_val") - (1 if value[:1] in "\"'" and value[-1:] == value[:1] else 0)
                if not is_placeholder(text[s:e]):
                    out.append((base + s, base + e))
            elif _may_nest(value):
                # not a secret flag: its value may hold NAME=secret or a URL
                _name_spans(value, names_re, base + m.start("flag_val"), out)
        else:  # kv
            value = m.group("kv_val")
            if is_secret_name(m.group("kv_name"), names_re) and not is_placeholder(value):
                out.append((base + m.start("kv_val"), base + m.end("kv_val")))
            elif _may_nest(value):
                _name_spans(value, names_re, base + m.start("kv_val"), out)


def _may_nest(value: str) -> bool:
    """Whether a value can hold another by-name match (each needs ``=``, ``:``, ``-`` or a line break)."""
    return "=" in value or ":" in value or "-" in value or "\n" in value


def _merge(spans: list) -> list:
    spans.sort()
    merged: list = []
    for s, e in spans:
        if e <= s:
            continue
        if merged and s <= merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def secret_spans(text: str, names_re: Pattern[str] = SECRET_NAME_RE, context: str = "") -> list:
    """The merged spans ``(start, end)`` of ``text`` that hold secrets (by name and by value).

    ``context`` is extra text naming what ``text`` is (a label or variable name): it is only used to
    recognise hex checksums.
    """
    return _merge(_spans(text, names_re, context, True))


def _spans(text: str, names_re: Pattern[str], context: str, values: bool) -> list:
    """Unmerged spans; ``values`` False: the value rules are known to hide nothing in ``text``."""
    spans: list = []
    low = text.lower()
    if names_re is not SECRET_NAME_RE or _has_name_literal(text, low) or _user_flag(text):
        _name_spans(text, names_re, 0, spans)
    if values and (names_re is not SECRET_NAME_RE or _value_suspect(text, low)):
        _value_spans(text, names_re, 0, spans, (low + "\n" + context.lower()) if context else low)
    return spans


def _hide(text: str, ts: int, te: int, cuts: list) -> str:
    """``<redacted>`` for ``text[ts:te]``, followed by the line breaks (and continuations) inside it."""
    keep = [REDACTED]
    i = ts
    for cs, ce in cuts:
        if ts <= cs < te:
            keep.append("\n" * text.count("\n", i, cs))
            keep.append(text[cs:ce])  # keep the continuation, drop the rest of the secret
            i = ce
    keep.append("\n" * text.count("\n", i, te))
    return "".join(keep)


def _apply(text: str, spans: list, cuts: Optional[list] = None) -> str:
    """Replace ``spans`` of the joined text by ``<redacted>`` in ``text`` (which has the ``cuts`` continuations).

    The line structure is kept: a span that crosses line breaks or continuations keeps them, its
    first piece becomes ``<redacted>``, the pieces on the following lines become empty.
    """
    if not spans:
        return text
    cuts = cuts or []
    starts = []   # joined offset at which each cut happens
    offsets = []  # length removed by the cuts up to and including each one
    removed = 0
    for s, e in cuts:
        starts.append(s - removed)
        removed += e - s
        offsets.append(removed)

    def to_text(j: int, end: bool) -> int:
        # a cut at joined position p sits before joined char p: an end offset (exclusive) maps after
        # the cuts strictly before it, a start offset after the cuts at or before it
        if not starts:
            return j
        k = bisect.bisect_left(starts, j) if end else bisect.bisect_right(starts, j)
        return j + (offsets[k - 1] if k else 0)

    out = []
    at = 0
    for s, e in spans:
        ts, te = to_text(s, False), to_text(e, True)
        out.append(text[at:ts])
        out.append(_hide(text, ts, te, cuts))
        at = te
    out.append(text[at:])
    return "".join(out)


def _literal_spans(text: str, literals: list, out: list) -> None:
    """Occurrences of known secret values, also cut short (a message quoting only a secret's start)."""
    for lit in literals:
        probe = lit[:8] if len(lit) >= 8 else lit
        at = text.find(probe)
        while at >= 0:
            n = len(probe)
            limit = min(len(lit), len(text) - at)
            while n < limit and text[at + n] == lit[n]:
                n += 1
            cut = at + n == len(text) or text[at + n:at + n + 3] == "..." or text[at + n] == "\u2026"
            if n == len(lit) or (n >= 8 and cut):
                out.append((at, at + n))  # whole, or cut short where the text ends or says so
            at = text.find(probe, at + 1)


def redact_argv(words: list, names_re: Pattern[str] = SECRET_NAME_RE, context: str = "",
                literals: Iterable[str] = ()) -> list:
    """An argument vector with secrets hidden: in each word, and the word after a secret option.

    ``["app", "--token", "X"]``: ``X`` is hidden; ``-p`` counts for the commands whose ``-p`` is a
    password (``mysql``, ``sshpass``, ``docker login``, ...).
    """
    lits = [s for s in literals if len(s) >= 4]
    out = []
    prog = str(words[0]).rsplit("/", 1)[-1] if words else ""
    login = any(str(w) == "login" for w in words)
    prev_secret = False
    for word in words:
        w = "" if word is None else str(word)
        if prev_secret and not w.startswith("-") and not is_placeholder(w):
            out.append(REDACTED)
            prev_secret = False
            continue
        red = redact_text(w, names_re, context)
        out.append(redact_literals(red, lits) if lits else red)
        flag = w.lstrip("-") if w.startswith("-") and "=" not in w else ""
        prev_secret = bool(flag) and (
            _is_secret_flag(flag, names_re)
            or (w == "-p" and (prog in _MYSQL_CMDS or (prog in _LOGIN_CMDS and login)))
            or (w in _SHORT_PW.get(prog, ())))
    return out


# -- by value (the forms of _secret_forms) --------------------------------------------------------------

def _quoted_span(text: str, s: int, e: int) -> tuple[int, int]:
    """A value's span without its surrounding quotes."""
    v = text[s:e]
    if len(v) >= 2 and v[0] in "\"'" and v[-1] == v[0]:
        return s + 1, e - 1
    return s, e


def _add(out: list, text: str, s: int, e: int, base: int) -> None:
    s, e = _quoted_span(text, s, e)
    if e > s and not is_placeholder(text[s:e]):
        out.append((base + s, base + e))


def _user_is_token(user: str) -> bool:
    """The user part of URL userinfo is a token rather than a user name."""
    if not user or is_placeholder(user):
        return False
    if len(user) >= 21 or _KNOWN_TOKEN_RE.match(user):
        return True
    digits = sum(c.isdigit() for c in user)
    return digits > 4 or (digits > 0 and any(c.isupper() for c in user) and len(user) >= 12)


def _cli_spans(text: str, base: int, out: list) -> None:
    for m in _CLI_RE.finditer(text):
        cmd = m.group("cmd")
        args_at = m.start("args")
        words = [(w.group(0), args_at + w.start()) for w in _ARG_WORD_RE.finditer(m.group("args"))]
        plain = [w for w, dummy in words]
        if cmd in _LOGIN_CMDS:
            if "login" not in plain:
                continue
            flags = ("-p", "--password")
        elif cmd in _MYSQL_CMDS:
            flags = ("-p",)
        else:
            flags = _SHORT_PW.get(cmd, ())
        for i, (w, at) in enumerate(words):
            if cmd == "vault" and w == "login" and i + 1 < len(words):
                nxt, nat = words[i + 1]
                if not nxt.startswith("-") and "=" not in nxt:
                    _add(out, text, nat, nat + len(nxt), base)
            if cmd == "smbclient" and w in ("-U", "--user") and i + 1 < len(words) and "%" in words[i + 1][0]:
                nxt, nat = words[i + 1]
                _add(out, text, nat + nxt.index("%") + 1, nat + len(nxt.rstrip("\"'")), base)
            for f in flags:
                if w == f and i + 1 < len(words) and not words[i + 1][0].startswith("-"):
                    nxt, nat = words[i + 1]
                    _add(out, text, nat, nat + len(nxt), base)
                elif w.startswith(f + "=") or (len(f) == 2 and w.startswith(f) and len(w) > 2):
                    cut = len(f) + (1 if w.startswith(f + "=") else 0)
                    _add(out, text, at + cut, at + len(w), base)
        if cmd == "htpasswd" and words and words[0][0].startswith("-") and "b" in words[0][0]:
            pos = [(w, at) for w, at in words[1:] if not w.startswith("-")]
            want = 1 if "n" in words[0][0] else 2
            if len(pos) > want:
                _add(out, text, pos[want][1], pos[want][1] + len(pos[want][0]), base)
        if cmd == "mc" and len(plain) >= 6 and plain[:2] in (["alias", "set"], ["config", "host"]):
            start = 4 if plain[0] == "alias" else 5
            for w, at in words[start:start + 2]:
                _add(out, text, at, at + len(w), base)


def _header_spans(text: str, names_re: Pattern[str], base: int, out: list) -> None:
    for m in _HEADER_RE.finditer(text):
        q = m.group("q")
        val = m.group("val")
        s = m.start("val")
        if q:
            end = val.find(q)
            val = val[:end] if end >= 0 else val
        else:
            val = val.split()[0] if val.split() else ""
            s = m.start("val") + m.group("val").index(val) if val else s
        val = val.rstrip(";")
        e = s + len(val)
        if not val:
            continue
        scheme = _SCHEME_RE.match(val)
        name = m.group("name")
        if scheme:
            _add(out, text, s + scheme.end(), e, base)
        elif is_secret_name(name, names_re) or _CRED_HEADER_RE.search(name):
            _add(out, text, s, e, base)


def _value_spans(text: str, names_re: Pattern[str], base: int, out: list, ctx: Optional[str]) -> None:
    """Spans of ``text`` the by-value rules hide (``ctx``: see ``_secret_word``)."""
    low = text.lower()
    public: list = []
    if "-----begin" in low:
        for m in _PEM_RE.finditer(text):
            if "PRIVATE" in m.group("kind"):
                if m.end("body") > m.start("body"):
                    out.append((base + m.start("body"), base + m.end("body")))
            else:
                public.append((m.start("body"), m.end("body")))
    if "@" in text and "://" in text:
        for m in _USERINFO_RE.finditer(text):
            if m.group("pw") and not is_placeholder(m.group("pw")):
                out.append((base + m.start("pw"), base + m.end("pw")))
            if _user_is_token(m.group("user")) or (m.group("pw") or "").lower() in ("x-oauth-basic", "x"):
                if not is_placeholder(m.group("user")):
                    out.append((base + m.start("user"), base + m.end("user")))
    if "-H" in text or "header" in low:
        _header_spans(text, names_re, base, out)
    if "bearer" in low or "basic" in low:
        for m in _BEARER_RE.finditer(text):
            v = m.group("val")
            if m.group(0)[:5].lower() == "basic" and not (any(c.isdigit() for c in v) or v.endswith("=")
                                                          or (v.lower() != v and v.upper() != v)):
                continue
            _add(out, text, m.start("val"), m.end("val"), base)
    if any(w in low for w in _CLI_LITERALS):
        _cli_spans(text, base, out)
    if "pass:" in low:
        for m in _PASSARG_RE.finditer(text):
            _add(out, text, m.start("val"), m.end("val"), base)
    if "password-stdin" in low:
        for m in _STDIN_RE.finditer(text):
            _add(out, text, m.start("val"), m.end("val"), base)
    if "://" in text:
        if any(w in low for w in _HOOK_LITERALS):
            for m in _WEBHOOK_RE.finditer(text):
                _add(out, text, m.start("val"), m.end("val"), base)
    if "=" in text and ("?" in text or "&" in text):
        for m in _QUERY_RE.finditer(text):
            _add(out, text, m.start("val"), m.end("val"), base)
    if any(d in text for d in _DOTTED_LITERALS):
        for m in _DOTTED_TOKEN_RE.finditer(text):
            if not is_placeholder(m.group(0)):
                out.append((base + m.start(), base + m.end()))
    for m in _LONG_RE.finditer(text):
        s, e = m.span()
        if public and any(a <= s < b for a, b in public):
            continue
        if _secret_word(text, s, e, ctx):
            out.append((base + s, base + e))


# -- a Dockerfile's instructions (Redactor.instructions) -----------------------------------------------

_NAME_LIKE_RE = lazy_re(r"[A-Z_][A-Z0-9_]*\Z")


def _fold(red: Redactor, instr: dict) -> list:
    """ENV/LABEL/ARG words that are the rest of a secret value, not names of their own.

    ``ENV NPM_TOKEN= value`` (a blank after ``=``) and a value continued onto an indented
    line give a word without ``=`` after a secret assignment: BuildKit rejects it in ENV and
    LABEL, and would declare an ARG of that name. It is the secret's second half: it is
    hidden, and dropped as a name. Returns the value list without such words.
    """
    cmd = instr.get("cmd")
    if cmd == "ONBUILD":
        cmd = instr.get("sub_cmd")
    value = list(instr.get("value") or [])
    if instr.get("json") or cmd not in ("ENV", "LABEL", "ARG"):
        return value
    original = instr.get("original") or ""
    if cmd == "ARG":
        out = []
        secret_open = None
        for word in value:
            name, sep, dummy = word.partition("=")
            if sep:
                secret_open = len(out) if is_secret_name(name, red.names_re) else None
                out.append(word)
            elif secret_open is not None and (not _NAME_LIKE_RE.match(word) or
                                              out[secret_open].endswith("=")):
                red._remember_value(word)
                base = out[secret_open]
                out[secret_open] = base + (" " if not base.endswith("=") else "") + word
            else:
                secret_open = None
                out.append(word)
        return out
    if len(value) < 4:
        return value
    out = []
    secret_open = None
    for i in range(0, len(value) - 1, 2):
        name, val = value[i], value[i + 1]
        stray = val == "" and (name + "=") not in original
        if stray and secret_open is not None:
            red._remember_value(name)
            out[secret_open + 1] = (out[secret_open + 1] + " " + name).strip()
            continue
        secret_open = len(out) if is_secret_name(name, red.names_re) else None
        out += [name, val]
    return out


def _collect(red: Redactor, instr: dict, value: list) -> None:
    cmd = instr.get("cmd")
    if cmd == "ONBUILD":
        cmd = instr.get("sub_cmd")
    if cmd in ("ENV", "LABEL") and not instr.get("json"):
        for i in range(0, len(value) - 1, 2):
            if is_secret_name(value[i], red.names_re):
                red._remember(value[i], value[i + 1])
    elif cmd == "ARG":
        for word in value:
            name, sep, default = word.partition("=")
            if sep and is_secret_name(name, red.names_re):
                red._remember(name, default)
            elif not sep and is_secret_name(name, red.names_re):
                red.secret_names.add(name)
    if instr.get("json"):
        for i in range(len(value) - 1):
            w = value[i]
            if w.startswith("-") and "=" not in w and _is_secret_flag(w.lstrip("-"), red.names_re):
                red._remember_value(value[i + 1])


def _structured_value(red: Redactor, instr: dict, value: list, values: bool = True) -> list:
    cmd = instr.get("cmd")
    if cmd == "ONBUILD":
        cmd = instr.get("sub_cmd")
    value = list(value)
    ctx = instr.get("original") or ""
    if cmd in ("ENV", "LABEL") and not instr.get("json"):
        for i in range(0, len(value) - 1, 2):
            if is_secret_name(value[i], red.names_re) and not is_placeholder(value[i + 1]):
                value[i + 1] = REDACTED
            else:
                value[i + 1] = red.text(value[i + 1], value[i] + " " + ctx, values)
        return value
    if cmd == "ARG":
        out = []
        for word in value:
            name, sep, default = word.partition("=")
            if sep and is_secret_name(name, red.names_re) and not is_placeholder(default):
                out.append(name + "=" + REDACTED)
            else:
                out.append(red.text(word, ctx, values))
        return out
    if instr.get("json"):
        return redact_argv(value, red.names_re, ctx, red.secret_values)
    return [red.text(v, ctx, values) for v in value]


def _original(red: Redactor, instr: dict, old_value: list, new_value: list, values: bool = True) -> str:
    original = instr.get("original") or ""
    cmd = instr.get("cmd")
    if cmd == "ONBUILD":
        cmd = instr.get("sub_cmd")
    if (cmd in ("ENV", "LABEL") and not instr.get("json") and len(old_value) == 2
            and new_value[1] == REDACTED and old_value[1] != REDACTED):
        # legacy "ENV NAME value with spaces" (or single pair): the value may
        # span continuations; cut everything after the name.
        idx = original.find(old_value[0])
        if idx >= 0:
            rest = original[idx + len(old_value[0]):]
            sep = "=" if rest.lstrip().startswith("=") else " "
            return original[:idx + len(old_value[0])] + sep + REDACTED
    text = red.text(original, "", values)
    if instr.get("json") and new_value != list(instr.get("value") or []):
        # exec form with a hidden element: the original may spell it with JSON escapes; it is
        # written again from the redacted strings
        bracket = text.find("[")
        if bracket >= 0:
            return text[:bracket] + json.dumps(new_value, ensure_ascii=False)
    return text


def redact_instructions(red: Redactor, instrs: list, tj: Optional[tuple], low: str, kinds: Optional[tuple], *,
                        copy: bool) -> list:
    """``Redactor.instructions`` once its quick tests (``tj``: the joined texts, ``low``: lower-cased, ``kinds``)
    say that a rule may hide something."""
    builtin = red.names_re is SECRET_NAME_RE
    names, values_dirty = kinds if kinds is not None else (True, True)
    # the instructions the by-name rules may concern, found in the joined text (the others need
    # no test of their own for names)
    ends = _ends(instrs, tj[1]) if tj is not None else None
    suspects = _name_suspects(tj[0], low, ends) if ends is not None and names else None
    clean = []
    values = []
    for idx, instr in enumerate(instrs):
        # clean: no built-in secret-name fragment, no URL credentials and nothing a value rule
        # hides in the text, so nothing to collect or redact, unless a known literal shows up.
        # Exec form (JSON) may spell its strings with escapes the original text does not show:
        # there, the decoded values and the flags are checked as well.
        nm = names and (suspects is None or idx in suspects)
        c = builtin and ((not nm and not values_dirty) or (
            _clean_kinds(instr["original"], nm, values_dirty)
            and (not instr["json"] or (all(_clean_kinds(v, nm, values_dirty) for v in instr["value"])
                                       and all(_clean_kinds(f, nm, values_dirty) for f in instr["flags"])))
            and (not instr["heredocs"]
                 or all(_clean_kinds(h["content"], nm, values_dirty) for h in instr["heredocs"]))))
        clean.append(c)
        if c:
            values.append(None)
        else:
            value = _fold(red, instr)
            values.append(value)
            _collect(red, instr, value)
    out: list = [None] * len(instrs)
    # instructions with something to hide first: what they reveal is hidden everywhere else
    for i, c in enumerate(clean):
        if not c:
            out[i] = _redacted(red, instrs[i], values[i], values_dirty)
    literals = red._literals() if red.secret_values else ()
    # the clean instructions a known value may show in, found in the joined text (each then checked)
    holders: Optional[set] = None
    if literals and ends is not None:
        holders = set()
        _found_in(tj[0], literals, ends, holders)
    for i, c in enumerate(clean):
        if c:
            instr = instrs[i]
            if (not literals or (holders is not None and i not in holders)
                    or not any(_holds(instr, lit) for lit in literals)):
                # value and flags are part of the original text (decoded exec-form values and
                # flags were checked too); heredoc bodies were checked too
                out[i] = dict(instr) if copy else instr
            else:
                out[i] = _redacted(red, instr, list(instr.get("value") or []), values_dirty)
    return out


def _redacted(red: Redactor, instr: dict, value: list, values_dirty: bool) -> dict:
    """A redacted copy of one instruction (``value``: its value list, stray words folded)."""
    new = dict(instr)
    new_value = _structured_value(red, instr, value, values_dirty)
    new["value"] = new_value
    new["original"] = _original(red, instr, value, new_value, values_dirty)
    if instr.get("flags"):
        new["flags"] = [red.text(f, instr["original"], values_dirty) for f in instr["flags"]]
    if instr.get("heredocs"):
        new["heredocs"] = [dict(h, content=red.text(h.get("content") or "", instr["original"], values_dirty))
                           for h in instr["heredocs"]]
    return new
