# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secret detection and redaction for Dockerfile facts (host side, stdlib only).

Nothing that looks like a secret may leave the managed host.  The facts
normalizer redacts the parsed instructions *before* it derives anything from
them, so every derived field (stage env, resolved values, process argv) only
ever sees redacted text.

Three layers:

* ``SECRET_NAME_RE``: names of ENV/ARG variables (and ``--flag`` names, and
  ``NAME=value`` words) whose values are secret.
* ``redact_text``: inline secrets in free text (RUN lines, heredocs, scripts):
  ``NAME=value`` with a secret-looking name, ``//registry/:_authToken=...``,
  ``--password value``, ``Authorization: Bearer ...`` and URLs carrying
  ``user:password@``.
* ``redact_literals``: any literal secret value already known (from a redacted
  ENV/ARG) wherever else it appears.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from re import Pattern
from typing import Optional

REDACTED = "<redacted>"

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
    r"dsn",
    r"cookie",
    r"salt",
    r"bearer",
)

SECRET_NAME_RE: Pattern[str] = re.compile("|".join(SECRET_NAME_FRAGMENTS), re.IGNORECASE)

# Every fragment above contains one of these lower-case literals: text without
# any of them cannot hold a built-in secret name (a fast pre-check on the hot path).
_NAME_LITERALS = ("passw", "passphrase", "pwd", "secret", "token", "key", "credential", "auth", "dsn", "cookie",
                  "salt", "bearer")

# One combined regex for inline secrets in free text.  Groups:
#  url: scheme://user:password@  -> keep scheme and user
#  hdr: Authorization: Bearer/Basic/token <value>
#  flag: --name[= ]value (long options)
#  kv: NAME=value, name checked in the callback
#  (envl and cfg, above, catch the space-separated forms that are assignments)
# Every alternative starts at a word boundary (look-behind), so a long run of
# word characters is scanned once, not once per position (no quadratic time).
_VALUE = r"""(?:"(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^\s"';&|<>()`]+)"""
_INLINE_RE = re.compile(
    # ENV/ARG/export/setenv NAME value (a Dockerfile or shell line inside a heredoc body): rest of line
    r"(?P<envl>(?P<envl_head>(?:^|(?<=\n))[ \t]*(?:env|arg|export|setenv|declare(?:[ \t]+-\w+)*)[ \t]+"
    r"(?P<envl_name>[A-Za-z_][\w.-]*)[ \t]+)(?P<envl_val>[^\n]+))"
    # npm/yarn/pnpm config set KEY VALUE (space separated)
    r"|(?P<cfg>(?P<cfg_head>\bconfig[ \t]+set[ \t]+(?:--?[\w-]+[ \t]+)*(?P<cfg_name>[^\s=]+)[ \t]+)"
    r"(?P<cfg_val>" + _VALUE + r"))"
    r"|(?P<url>(?P<url_head>(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@'\"]*:)(?P<url_pw>[^\s/@'\"]+)(?=@))"
    r"|(?P<hdr>(?P<hdr_head>\bauthorization\s*:\s*(?:bearer|basic|token|digest)?\s*)(?P<hdr_val>[^\s'\"]+))"
    # "name": "value" (JSON, also with shell-escaped quotes) and name: value (YAML: .yarnrc.yml, config.json)
    r"|(?P<js>(?P<js_head>(?P<js_q>\\?[\"'])(?P<js_name>[A-Za-z_][\w.-]*)(?P=js_q)[ \t]*:[ \t]*)"
    r"(?P<js_val>\\?\"(?:[^\"\\\n]|\\[^\"\n])*\\?\"|'[^'\n]*'|[^\s,{}\[\]'\"]+))"
    r"|(?P<yk>(?P<yk_head>(?:^|(?<=\n))[ \t]*(?P<yk_name>[A-Za-z_][\w.-]*):[ \t]+)(?P<yk_val>[^\s#]+))"
    r"|(?P<flag>(?P<flag_head>(?<![\w-])--?(?P<flag_name>[A-Za-z][\w-]*)(?:=|[ \t]+))(?P<flag_val>" + _VALUE + r"))"
    r"|(?P<kv>(?P<kv_head>(?<![\w.-])(?P<kv_name>[A-Za-z_][\w.-]*)=)(?P<kv_val>" + _VALUE + r"))",
    re.IGNORECASE,
)

# curl/wget-style options whose value is ``user:password``
_USER_FLAGS = ("u", "user", "proxy-user", "U", "http-password", "ftp-password")
_USER_FLAG_RE = re.compile(r"(?<![\w-])(?:-u|-U|--user|--proxy-user)(?:=|[ \t]+)\S*:")

_URL_RE = re.compile(
    r"(?P<url>(?P<url_head>(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@'\"]*:)(?P<url_pw>[^\s/@'\"]+)(?=@))")


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


def is_secret_name(name: str, names_re: Pattern[str] = SECRET_NAME_RE) -> bool:
    """True when a variable/flag name looks like it holds a secret."""
    return bool(name) and names_re.search(name) is not None


def _is_reference(value: str) -> bool:
    """True for a pure variable reference (``$X``/``${X}``) or an empty value: nothing to hide."""
    v = value.strip("\"'")
    if not v:
        return True
    if v.startswith("${") and v.endswith("}") and v[2:-1].replace("_", "a").isalnum():
        return True
    return v.startswith("$") and v[1:].replace("_", "a").isalnum()


def redact_text(text: str, names_re: Pattern[str] = SECRET_NAME_RE) -> str:
    """Redact inline secrets in free text (RUN lines, heredocs, scripts, messages)."""
    if not text:
        return text
    if names_re is SECRET_NAME_RE and not _has_name_literal(text) and not _user_flag(text):
        # Fast path (hot: most lines): no built-in secret name fragment anywhere in
        # the text, so no NAME=value / --flag / Authorization match can be secret;
        # only a URL with user:password@ can be (``-u user:password`` takes the full path).
        if "://" not in text or "@" not in text:
            return text
        return _URL_RE.sub(lambda m: m.group("url_head") + REDACTED, text)

    def _sub(m: re.Match[str]) -> str:
        for kind in ("envl", "cfg"):
            if m.group(kind):
                value = m.group(kind + "_val")
                if is_secret_name(m.group(kind + "_name"), names_re) and not _is_reference(value):
                    return m.group(kind + "_head") + REDACTED
                return m.group(kind + "_head") + redact_text(value, names_re)
        if m.group("url"):
            return m.group("url_head") + REDACTED
        if m.group("hdr"):
            return m.group("hdr_head") + REDACTED
        for kind in ("js", "yk"):
            if m.group(kind):
                value = m.group(kind + "_val")
                if (is_secret_name(m.group(kind + "_name"), names_re) and not _is_reference(value)
                        and value not in ("null", "true", "false")):
                    quote = value[-2:] if value.endswith('\\"') else value[-1:] if value[-1:] in "\"'" else ""
                    lead = value[:len(quote)] if quote else ""
                    return m.group(kind + "_head") + lead + REDACTED + quote
                return m.group(0)
        if m.group("flag"):
            if is_secret_name(m.group("flag_name"), names_re) and not _is_reference(m.group("flag_val")):
                return m.group("flag_head") + REDACTED
            if m.group("flag_name") in _USER_FLAGS and ":" in m.group("flag_val").strip("\"'"):
                # curl -u user:password, --proxy-user user:password: keep the user name
                value = m.group("flag_val")
                quote = value[0] if value[:1] in "\"'" else ""
                return m.group("flag_head") + value.split(":", 1)[0] + ":" + REDACTED + quote
            # not a secret flag: re-scan its value (it may hold NAME=secret or a URL)
            return m.group("flag_head") + redact_text(m.group("flag_val"), names_re)
        if is_secret_name(m.group("kv_name"), names_re) and not _is_reference(m.group("kv_val")):
            return m.group("kv_head") + REDACTED
        return m.group("kv_head") + redact_text(m.group("kv_val"), names_re)

    return _INLINE_RE.sub(_sub, text)


def _has_name_literal(text: str) -> bool:
    low = text.lower()
    # spelled out (not any()/regex): this runs for every instruction of every file
    return ("key" in low or "token" in low or "secret" in low or "passw" in low or "auth" in low
            or "pwd" in low or "credential" in low or "passphrase" in low or "dsn" in low or "cookie" in low
            or "salt" in low or "bearer" in low)


def _clean(text: str) -> bool:
    """True when ``redact_text`` (built-in names) would certainly leave ``text`` unchanged."""
    # the same three tests as redact_text's fast path: name fragments, -u/--user user:password, URL credentials
    return (not _has_name_literal(text) and ("://" not in text or "@" not in text)
            and not _user_flag(text))


def _user_flag(text: str) -> bool:
    """``_USER_FLAG_RE`` finds a match (every alternative contains ``-u`` or ``-U``: tested first, it is cheaper)."""
    return ("-u" in text or "-U" in text) and _USER_FLAG_RE.search(text) is not None


def _all_clean(instrs: list) -> bool:
    """True when ``_clean`` holds for every text ``Redactor.instructions`` checks, in one test.

    The texts (originals, exec-form values and flags, heredoc bodies) are joined with newlines
    and tested once: a name fragment, ``://`` plus ``@``, or a ``-u user:password`` match in any
    one text is also one in the joined text (none of them contains a newline, and a newline
    before a flag satisfies its look-behind as the start of a text does). False (the caller
    then checks text by text) when the texts are not all strings.
    """
    texts = []
    for instr in instrs:
        texts.append(instr["original"])
        if instr["json"]:
            texts += instr["value"]
            texts += instr["flags"]
        for h in instr["heredocs"]:
            texts.append(h["content"])
    try:
        joined = "\n".join(texts)
    except TypeError:
        return False
    return _clean(joined)


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

    # -- helpers --------------------------------------------------------
    def _remember(self, name: str, raw_value: str) -> None:
        self.secret_names.add(name)
        raw = raw_value.strip()
        if raw and not _is_reference(raw):
            for cand in (raw, raw.strip("\"'")):
                # very short values would shred unrelated text; they are still
                # redacted structurally in their own ENV/ARG instruction.
                if len(cand) >= 4:
                    self.secret_values.add(cand)

    def _literals(self) -> list:
        # longest first so a value containing another is replaced whole
        return sorted(self.secret_values, key=len, reverse=True)

    def text(self, text: str) -> str:
        """Inline patterns, then known literal values."""
        text = redact_text(text, self.names_re)
        if self.secret_values:
            text = redact_literals(text, self._literals())
        return text

    # -- instructions ---------------------------------------------------
    def _collect(self, instr: dict) -> None:
        cmd = instr.get("cmd")
        if cmd == "ONBUILD":
            cmd = instr.get("sub_cmd")
        value = instr.get("value") or []
        if cmd == "ENV" and not instr.get("json"):
            for i in range(0, len(value) - 1, 2):
                if is_secret_name(value[i], self.names_re):
                    self._remember(value[i], value[i + 1])
        elif cmd == "ARG":
            for word in value:
                name, sep, default = word.partition("=")
                if sep and is_secret_name(name, self.names_re):
                    self._remember(name, default)
                elif not sep and is_secret_name(name, self.names_re):
                    self.secret_names.add(name)
        elif cmd == "LABEL":
            for i in range(0, len(value) - 1, 2):
                if is_secret_name(value[i], self.names_re):
                    self._remember(value[i], value[i + 1])

    def _structured_value(self, instr: dict) -> list:
        cmd = instr.get("cmd")
        if cmd == "ONBUILD":
            cmd = instr.get("sub_cmd")
        value = list(instr.get("value") or [])
        if cmd in ("ENV", "LABEL") and not instr.get("json"):
            for i in range(0, len(value) - 1, 2):
                if is_secret_name(value[i], self.names_re) and not _is_reference(value[i + 1]):
                    value[i + 1] = REDACTED
                else:
                    value[i + 1] = self.text(value[i + 1])
            return value
        if cmd == "ARG":
            out = []
            for word in value:
                name, sep, default = word.partition("=")
                if sep and is_secret_name(name, self.names_re) and not _is_reference(default):
                    out.append(name + "=" + REDACTED)
                else:
                    out.append(self.text(word))
            return out
        return [self.text(v) for v in value]

    def _original(self, instr: dict, new_value: list) -> str:
        original = instr.get("original") or ""
        cmd = instr.get("cmd")
        if cmd == "ONBUILD":
            cmd = instr.get("sub_cmd")
        old_value = instr.get("value") or []
        if cmd in ("ENV", "LABEL") and len(old_value) == 2 and new_value[1] == REDACTED and old_value[1] != REDACTED:
            # legacy "ENV NAME value with spaces" (or single pair): the value may
            # span continuations; cut everything after the name.
            idx = original.find(old_value[0])
            if idx >= 0:
                rest = original[idx + len(old_value[0]):]
                sep = "=" if rest.lstrip().startswith("=") else " "
                return original[:idx + len(old_value[0])] + sep + REDACTED
        return self.text(original)

    def instructions(self, instrs: list) -> list:
        """Return redacted copies of ``instrs`` (parser Instruction dicts)."""
        builtin = self.names_re is SECRET_NAME_RE
        if builtin and _all_clean(instrs):
            # nothing to collect or redact anywhere (the common case): plain copies
            return [dict(instr) for instr in instrs]
        clean = []
        for instr in instrs:
            # clean: no built-in secret-name fragment and no URL credentials in the
            # text, so nothing to collect or redact, unless a known literal shows up.
            # Exec form (JSON) may spell its strings with escapes the original text does
            # not show: there, the decoded values and the flags are checked as well.
            c = (builtin and _clean(instr["original"])
                 and (not instr["json"] or (all(_clean(v) for v in instr["value"])
                                            and all(_clean(f) for f in instr["flags"])))
                 and all(_clean(h["content"]) for h in instr["heredocs"]))
            clean.append(c)
            if not c:
                self._collect(instr)
        literals = self._literals()
        out = []
        for instr, c in zip(instrs, clean):  # noqa: B905 - strict= needs Python 3.10; hosts may run 3.9
            new = dict(instr)
            if c and (not literals or not any(_holds(instr, lit) for lit in literals)):
                # value and flags are part of the original text (decoded exec-form values and
                # flags were checked too); heredoc bodies were checked too
                out.append(new)
                continue
            new_value = self._structured_value(instr)
            new["value"] = new_value
            new["original"] = self._original(instr, new_value)
            if instr.get("flags"):
                new["flags"] = [self.text(f) for f in instr["flags"]]
            if instr.get("heredocs"):
                new["heredocs"] = [dict(h, content=self.text(h.get("content") or "")) for h in instr["heredocs"]]
            out.append(new)
        return out
