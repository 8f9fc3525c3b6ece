# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which names say a value is secret, and which values are only placeholders (stdlib only).

Used by the by-name rules of ``_redact`` and by the value rules of ``_secret_forms``.

**Secret names** (``SECRET_NAME_RE``, extended by ``compile_secret_names``): a name is secret
when it contains a fragment such as password, pass, pwd, pw, secret, token, api key, private
key, credential, auth (not author), access/account key, pat, webhook, dsn, cookie, salt, bearer,
jwt; ``_has_name_literal`` is the fast pre-check that a text cannot hold one.

**What is kept** by both families of rules:

* placeholders (``is_placeholder``): empty values, ``$VAR``, ``${VAR}``,
  ``{{ var }}``, ``<token>``, one character repeated (``xxx``, ``***``), and
  values containing ``changeme``/``change-me``/``changeit``, ``replace-me``,
  ``example``, ``placeholder``, ``dummy``, ``your...`` (``your-token-here``),
  ``xxxx``, ``redacted`` -- by name and by value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from re import Pattern
from typing import Optional

from ansible_collections.refarch.containers.plugins.module_utils._lazy_re import lazy_re

# Variable-name fragments that mark a value as secret.  Matched anywhere in the
# name, case-insensitively.  ``auth`` excludes ``author``/``authority``.
SECRET_NAME_FRAGMENTS = (
    r"passw(?:or)?d",
    r"passwd",
    r"passphrase",
    r"pwd",
    r"secret",
    r"token",
    r"api[_.-]?key",
    r"private[_.-]?key",
    r"priv[_.-]?key",
    r"credential",
    r"auth(?!or)",
    r"access[_.-]?key",
    r"client[_.-]?secret",
    r"npm[_.-]?token",
    r"session[_.-]?key",
    r"signing[_.-]?key",
    r"encryption[_.-]?key",
    r"master[_.-]?key",
    r"license[_.-]?key",
    r"account[_.-]?key",
    r"shared[_.-]?access",
    r"connection[_.-]?string",
    r"webhook",
    r"dsn",
    r"cookie",
    r"salt",
    r"bearer",
    # whole words of a name (DB_PASS, SMTP_PW, GH_PAT, SAS, JWT): not BYPASS, PATH, PASSENGER
    r"(?:^|[_.-])(?:pass|pw|pat|sas|jwt|psk)(?:$|[_.-])",
)

SECRET_NAME_RE: Pattern[str] = re.compile("|".join(SECRET_NAME_FRAGMENTS), re.IGNORECASE)
# the same fragments (all lower case) for lower-cased names: a case-sensitive search is faster
_SECRET_NAME_LOWER_RE: Pattern[str] = re.compile("|".join(SECRET_NAME_FRAGMENTS))

# Every fragment above contains one of these lower-case literals: text without
# any of them cannot hold a built-in secret name (a fast pre-check on the hot path).
_NAME_LITERALS = ("pass", "pwd", "pw", "pat", "sas", "jwt", "psk", "secret", "token", "key", "cred", "auth",
                  "access", "connection", "webhook", "dsn", "cookie", "salt", "bearer")
# What each test of _has_name_literal (and of _redact._user_flag: "-u") needs in the lower-cased text: one of
# these literals, one of _WORD_LITERALS as a whole word, or a name of _prefixed_name ("key", "access" and
# "connection" count only with one of those, "@" or "-u"). See _secret_checks._TRIGGER_RE.
NAME_TRIGGERS = ("pass", "pwd", "token", "secret", "auth", "cred", "dsn", "cookie", "salt", "bearer", "webhook", "-u",
                 "@")
# the literals above that are common inside ordinary words (path, compat, sass):
# they only count as a whole word, between characters that are not [a-z0-9] (see _word_literal)
_WORD_LITERALS = ("pass", "pw", "pat", "sas", "jwt", "psk")
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")

# Option names that hold a password although no name fragment says so (keytool, redis, openssl).
_FLAG_EXTRA_RE = re.compile(r"^(?:store|key|srcstore|deststore|src|dest|new|old|master)?pass(?:word|wd|phrase)?$"
                            r"|^(?:passin|passout|creds?)$", re.IGNORECASE)
_PLACEHOLDER_RE = lazy_re(
    r"chang(?:e[-_ ]?me|eit)|replace[-_ ]?me|example|placeholder|dummy|redacted|your[-_ ]?[\w-]*|xxxx|\*\*\*",
    re.IGNORECASE)
# the placeholder words alone (``your`` without what follows it), removed to see what else a value holds
_PLACEHOLDER_WORD_RE = lazy_re(r"chang(?:e[-_ ]?me|eit)|replace[-_ ]?me|example|placeholder|dummy|redacted|your"
                               r"|xxxx|\*\*\*")
_SEPARATOR_RE = lazy_re(r"[^a-z0-9]+")
# words that say what a placeholder stands for ("dummy-password", "example api key here")
_FILLER_WORDS = frozenset({"", "a", "an", "the", "my", "here", "to", "be", "set", "api", "key", "token", "secret",
                           "password", "pass", "pw", "pwd", "value", "user", "name", "id", "access", "auth", "com",
                           "org", "net", "www", "http", "https", "test"})
_REFERENCE_RE = lazy_re(r"\$[A-Za-z_]\w*|\$\{[A-Za-z_]\w*\}|\{\{[^{}]*\}\}|<[^<>\s]*>|%[A-Za-z_]\w*%")


def compile_secret_names(extra: Optional[Iterable[str]] = None) -> Pattern[str]:
    """Return the secret-name regex, extended with user supplied patterns.

    ``extra`` items are regular expressions (matched case-insensitively,
    anywhere in the name).  An invalid expression raises ``ValueError`` with
    the offending pattern named.
    """
    extra = [e for e in (extra or []) if e]
    if not extra:
        return SECRET_NAME_RE
    for item in extra:
        try:
            re.compile(item)
        except re.error as exc:
            raise ValueError(f"invalid secret name pattern {item!r}: {exc}") from exc
    return re.compile("|".join(list(SECRET_NAME_FRAGMENTS) + [f"(?:{e})" for e in extra]), re.IGNORECASE)


# is_secret_name's answers for built-in names (the same few recur in every file: PATH, NODE_ENV, HOME, ...),
# for short names and up to a bound
_NAME_MEMO: dict = {}


def is_secret_name(name: str, names_re: Pattern[str] = SECRET_NAME_RE) -> bool:
    """True when a variable/flag name looks like it holds a secret."""
    if names_re is SECRET_NAME_RE:
        memo = isinstance(name, str) and len(name) <= 64
        known = _NAME_MEMO.get(name) if memo else None
        if known is None:
            known = bool(name) and _SECRET_NAME_LOWER_RE.search(name.lower()) is not None
            if memo and len(_NAME_MEMO) < 4096:
                _NAME_MEMO[name] = known
        return known
    return bool(name) and names_re.search(name) is not None


def _is_secret_flag(name: str, names_re: Pattern[str]) -> bool:
    return is_secret_name(name, names_re) or _FLAG_EXTRA_RE.match(name) is not None


def is_placeholder(value: str) -> bool:
    """True for a value that carries no secret: empty, a variable reference, a placeholder.

    ``$X``, ``${X}``, ``{{ x }}``, ``<token>``, ``%X%``, one character repeated (``xxx``, ``***``),
    and values naming themselves a placeholder (``changeme``, ``example``, ``your-token-here``, ...).
    """
    v = value.strip().strip("\"'")
    if not v:
        return True
    if v[0] in "$<{%" and _REFERENCE_RE.fullmatch(v):
        return True
    if v == v[0] * len(v):
        return True
    low = v.lower()
    # spelled out first (hot: every value judged); the regex only where one of its words shows
    if ("chang" in low or "replace" in low or "example" in low or "placeholder" in low or "dummy" in low
            or "redacted" in low or "your" in low or "xxxx" in low or "***" in low):
        if _PLACEHOLDER_RE.search(v) is None:
            return False
        # the placeholder word must be what the value says, not a piece of a real token that happens to
        # contain it ("a8fyourq2..."): what is left without it, separators and filler words is at most 3 characters
        rest = _SEPARATOR_RE.split(_PLACEHOLDER_WORD_RE.sub(" ", low))
        return sum(len(w) for w in rest if w not in _FILLER_WORDS) <= 3
    return False


def _has_name_literal(text: str, low: Optional[str] = None) -> bool:
    if low is None:
        low = text.lower()
    # spelled out (not any()/regex): this runs for every instruction of every file. Each test scans the
    # text: "pass" and "pw" first, their longer forms only where they show
    has_pass = "pass" in low
    has_pw = "pw" in low
    if (has_pass and ("passw" in low or "passphrase" in low)) or (has_pw and "pwd" in low):
        return True
    if ("token" in low or "secret" in low or "auth" in low or "cred" in low or "dsn" in low or "cookie" in low
            or "salt" in low or "bearer" in low or "webhook" in low):
        return True
    # "key", "access" and "connection" are common in ordinary text (apt-key, registry.access.redhat.com):
    # they count only where a name fragment needs them (api_key, shared_access, connection_string, see
    # _prefixed_name), or where a by-name rule that does not look at names may match (URL credentials,
    # curl -u user:password) -- as they always did
    if ("key" in low or "access" in low or "connection" in low) and (
            _prefixed_name(low) or ("://" in low and "@" in low) or "-u" in low):
        return True
    # the option names of _FLAG_EXTRA_RE (keytool/jarsigner -storepass, openssl -passin, ...): after a dash
    if has_pass and ("-pass" in low or "storepass" in low or "keypass" in low or "srcpass" in low
                     or "destpass" in low or "newpass" in low or "oldpass" in low or "masterpass" in low):
        return True
    if has_pass or has_pw or "pat" in low or "sas" in low or "jwt" in low or "psk" in low:
        return _word_literal(low)
    return False


# what precedes "key" (after one optional separator) in the name fragments that contain it
_KEY_PREFIXES = ("api", "priv", "private", "access", "session", "signing", "encryption", "master", "license",
                 "account")


def _prefixed_name(low: str) -> bool:
    """Whether one of the name fragments built around ``key``, ``access`` or ``connection``
    (``api[_.-]?key`` ... ``account[_.-]?key``, ``shared[_.-]?access``, ``connection[_.-]?string``)
    matches in ``low``; each occurrence is looked at with ``str.find``."""
    i = low.find("key")
    while i >= 0:
        j = i - 1 if i and low[i - 1] in "_.-" else i
        if low.endswith(_KEY_PREFIXES, 0, j):
            return True
        i = low.find("key", i + 1)
    i = low.find("access")
    while i >= 0:
        j = i - 1 if i and low[i - 1] in "_.-" else i
        if low.endswith("shared", 0, j):
            return True
        i = low.find("access", i + 1)
    i = low.find("connection")
    while i >= 0:
        j = i + 10
        if low[j:j + 1] in ("_", ".", "-") and low[j:j + 1]:
            j += 1
        if low.startswith("string", j):
            return True
        i = low.find("connection", i + 1)
    return False


def _word_literal(low: str) -> bool:
    """Whether one of ``_WORD_LITERALS`` shows in ``low`` as a whole word (no ``[a-z0-9]`` on either side).

    Each occurrence is looked at with ``str.find`` (a regex search for the same words tries every
    position of the text: several times slower on the common ``PATH``).
    """
    n = len(low)
    for lit in _WORD_LITERALS:
        i = low.find(lit)
        while i >= 0:
            j = i + len(lit)
            if (i == 0 or low[i - 1] not in _WORD_CHARS) and (j == n or low[j] not in _WORD_CHARS):
                return True
            i = low.find(lit, i + 1)
    return False
