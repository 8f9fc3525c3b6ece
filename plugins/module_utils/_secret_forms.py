# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secret forms recognised by their value alone, whatever holds them (stdlib only).

``_redact_spans._value_spans`` gives the spans of a text the value rules (the forms defined here) hide;
``_value_suspect`` is its fast pre-check (False: no value rule hides anything in the text). The by-name rules
and the public API are in ``_redact``.

**By value** (the value alone says it is a secret, whatever holds it):

* private-key blocks (``-----BEGIN ... PRIVATE KEY-----`` to ``END``, across
  lines, in heredocs; to the end of the text when the END line is missing);
* URL userinfo: the password of ``scheme://user:password@``, and the user part
  itself when it is a token rather than a user name (``https://TOKEN@host``);
* credentials in any HTTP header (``-H``/``--header``/``proxy_set_header``):
  the value after an auth scheme (``Bearer``, ``Basic``, ``token``, ...), or the
  whole value when the header name looks secret (``X-Api-Key``,
  ``PRIVATE-TOKEN``, ``Cookie``);
* password options of common CLIs, by command: ``docker/podman/buildah/helm/...
  login -p``, ``mysql -pSECRET`` / ``-p SECRET``, ``mongo* -p``, ``sshpass -p``,
  ``redis-cli -a``, ``zip/unzip -P``, ``7z -p``, ``openssl -k`` and
  ``pass:SECRET``, ``smbclient -U user%pass``, ``htpasswd -b``, ``vault login
  TOKEN``, ``mc alias set NAME URL KEY SECRET``, ``echo X | ... --password-stdin``;
* webhook URLs (Slack, Discord, Teams/Office, Google Chat, Zapier, IFTTT,
  Telegram ``/bot<token>``, any ``/hooks/`` or ``/webhook...`` path): the path
  after the host is hidden; signed query parameters (``sig=``, ``signature=``,
  ``code=``, ``key=``, ``X-Amz-Signature=``);
* known token formats: AWS access key ids (``AKIA``/``ASIA``/... + 16),
  GitHub (``ghp_ gho_ ghu_ ghs_ ghr_ github_pat_``), GitLab (``glpat- gldt-
  glrt- glptt- glcbt- GR1348941``), npm (``npm_``), Slack (``xox?-``, ``xapp-``),
  Stripe (``sk_live_``/``rk_live_``/...), Google (``AIza``, ``ya29.``,
  ``GOCSPX-``), Azure AD client secrets (``...8Q~...``), SendGrid (``SG.``),
  Docker Hub (``dckr_pat_``), Vault (``hvs.``/``hvb.``), PyPI (``pypi-``),
  DigitalOcean (``dop_v1_``), Hugging Face (``hf_``), OpenAI/Anthropic
  (``sk-``), Shopify (``shpat_``...), JWTs (``eyJ...``);
* any other high-entropy word: at least 20 characters of the base64/URL-safe
  alphabet, with upper case, lower case and digits mixed, and a character
  entropy close to that of random text (see ``_random_word``); or a hex string of
  32 characters or more (see hex below).

**What is kept** (not secret, so that reports stay useful and rules keep their
inputs):

* short words: the value rules look only at words of 20 characters or more;
* hex strings next to a hash: image digests and integrity values
  (``sha256:<hex>``, ``sha512-<base64>``, ``md5:...``), and hex in a text that
  names a hash (``sha``, ``md5``, ``sum``, ``hash``, ``digest``, ``checksum``,
  ``gpg``/``pgp``/``keyserver``/``fingerprint``, ``git``/``commit``/``revision``/
  ``vcs-ref``, ``integrity``, ``verify``): checksums in ``sha256sum -c`` lines,
  GPG key fingerprints, commit SHAs in labels and ``git checkout``; UUIDs;
  hex strings shorter than 32 characters;
* SSH public keys (``ssh-rsa AAAA...``) and public PEM blocks (certificates,
  public keys);
* words that are paths or identifiers: a word starting with ``/``, ``./`` or
  ``~/`` is judged segment by segment; words without digits, or without both
  cases (unless long and random), are not random.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Optional

from ansible_collections.refarch.containers.plugins.module_utils._lazy_re import lazy_re
from ansible_collections.refarch.containers.plugins.module_utils._secret_names import is_placeholder

# scheme://user[:password]@ (the user part is checked in the callback)
_USERINFO_RE = lazy_re(r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://(?P<user>[^\s/:@'\"<>]*)"
                       r"(?::(?P<pw>[^\s/@'\"<>]*))?@")
_PEM_RE = lazy_re(r"-----BEGIN (?P<kind>[A-Z0-9 ]*?)-----(?P<body>.*?)(?:-----END [A-Z0-9 ]*?-----|\Z)", re.DOTALL)
# -H 'Name: value', --header=Name:value, proxy_set_header Name value
_HEADER_RE = lazy_re(
    r"(?:(?<![\w-])(?:(?-i:-H)|--header)(?:[ \t]*=[ \t]*|[ \t]+)|\bheader[ \t]*[=:][ \t]*|\bproxy_set_header[ \t]+)"
    r"(?P<q>\\?[\"']?)(?P<name>[A-Za-z0-9_.-]+)(?:[ \t]*:[ \t]*|[ \t]+(?=[^ \t]))(?P<val>[^\n]*)", re.IGNORECASE)
_SCHEME_RE = lazy_re(r"^(?:bearer|basic|token|digest|negotiate|oauth|apikey|key|ssws|genieKey|splunk|"
                     r"aws4-hmac-sha256|hmac)[ \t]+", re.IGNORECASE)
_CRED_HEADER_RE = lazy_re(r"cookie|signature|private|session|(?:^|[_-])key(?:$|[_-])|^x-auth|sig$", re.IGNORECASE)
_BEARER_RE = lazy_re(r"\b(?:bearer|basic)[ \t]+(?P<val>[A-Za-z0-9._~+/=-]{8,})", re.IGNORECASE)
# commands whose short options carry passwords, and what they look like
_CLI_RE = lazy_re(
    r"(?<![\w./-])(?:[\w./-]*/)?(?P<cmd>docker|podman|buildah|nerdctl|skopeo|helm|oras|crane|regctl|cosign|az|cf|"
    r"argocd|mysql|mysqladmin|mysqldump|mysqlimport|mysqlshow|mysqlcheck|mariadb|mariadb-dump|mariadb-admin|mongo|"
    r"mongosh|mongodump|mongorestore|mongoexport|mongoimport|sshpass|redis-cli|zip|unzip|7z|7za|7zr|openssl|"
    r"smbclient|htpasswd|vault|mc)(?![\w.-])(?P<args>[^\n;&|]*)")
_ARG_WORD_RE = lazy_re(r"\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*'|[^\s\"']+(?:\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*'|[^\s\"']*)*")
_LOGIN_CMDS = frozenset(("docker", "podman", "buildah", "nerdctl", "skopeo", "helm", "oras", "crane", "regctl",
                         "cosign", "az", "cf", "argocd"))
_MYSQL_CMDS = frozenset(("mysql", "mysqladmin", "mysqldump", "mysqlimport", "mysqlshow", "mysqlcheck", "mariadb",
                         "mariadb-dump", "mariadb-admin", "mongo", "mongosh", "mongodump", "mongorestore",
                         "mongoexport", "mongoimport", "sshpass"))
# short options, per command, whose value (separate or attached) is a password
_SHORT_PW = {"redis-cli": ("-a",), "zip": ("-P",), "unzip": ("-P",), "7z": ("-p",), "7za": ("-p",),
             "7zr": ("-p",), "openssl": ("-k",)}
_CLI_LITERALS = ("login", "mysql", "mariadb", "mongo", "sshpass", "redis-cli", "zip", "7z", "openssl", "smbclient",
                 "htpasswd", "vault", "mc ")
_PASSARG_RE = lazy_re(r"\bpass:(?P<val>[^\s\"']+)")
_STDIN_RE = lazy_re(r"\b(?:echo|printf)[ \t]+(?:-[neE]+[ \t]+)*(?P<val>\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*'|[^\s|]+)"
                    r"[ \t]*\|[^\n|;&]*--password-stdin")
# webhook URLs: the path after the host (or after the hook segment) is the secret
_WEBHOOK_RE = lazy_re(
    r"(?P<head>https?://(?:(?:[\w-]+\.)*(?:hooks\.slack\.com|[\w-]*\.?webhook\.office\.com|hooks\.zapier\.com|"
    r"maker\.ifttt\.com|chat\.googleapis\.com)|[\w.-]+(?::\d+)?(?:/[^\s/'\"?#<>]+)*?/(?:api/)?(?:webhooks?b?\d*|hooks|"
    r"trigger/[\w-]+/with/key)|api\.telegram\.org(?=/bot))/)(?P<val>[^\s'\"<>`]+)", re.IGNORECASE)
# the signed query parameters' names, after "?" or "&" (also in _secret_checks' trigger regex)
_QUERY_NAMES = (r"(?:sig|signature|code|key|x-amz-signature|x-amz-credential|x-goog-signature|"
                r"x-goog-credential|client_secret|access_token|token|auth|apikey|api_key)=")
_QUERY_RE = lazy_re(r"[?&]" + _QUERY_NAMES + r"(?P<val>[^&\s'\"#<>]+)", re.IGNORECASE)
_HOOK_LITERALS = ("hook", "telegram", "ifttt", "chat.googleapis")

# words the value rules judge: 20+ characters of the base64 / URL-safe alphabet
_LONG_RE = re.compile(r"[A-Za-z0-9+/_-]{20,}=*")
# _LONG_RE's alphabet as "a", every other ASCII character as a blank: a text whose translation has no run of
# 20 "a" has no long word (str.translate with an ASCII table is one pass in C)
_LONG_CLASS = str.maketrans({chr(i): "a" if chr(i).isascii() and (chr(i).isalnum() or chr(i) in "+/_-") else " "
                             for i in range(128)})
_LONG_RUN = "a" * 20
_KNOWN_TOKEN_RE = re.compile(
    r"(?:A(?:KIA|SIA|GPA|IDA|ROA|IPA|NPA|NVA|BIA|CCA)[A-Z0-9]{16}(?![A-Za-z0-9])"
    r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{20,}"
    r"|gl(?:pat|dt|rt|ptt|cbt|ft|imt|agent|oas)-[A-Za-z0-9_-]{18,}|GR1348941[A-Za-z0-9_-]{18,}"
    r"|npm_[A-Za-z0-9]{30,}|xox[abposre]-[A-Za-z0-9-]{10,}|xapp-[A-Za-z0-9-]{10,}"
    r"|(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}|whsec_[A-Za-z0-9]{20,}"
    r"|AIza[0-9A-Za-z_-]{30,}|GOCSPX-[A-Za-z0-9_-]{20,}"
    r"|dckr_pat_[A-Za-z0-9_-]{20,}|pypi-[A-Za-z0-9_-]{40,}|dop_v1_[a-f0-9]{40,}|hf_[A-Za-z]{30,}"
    r"|sk-(?:proj-|ant-(?:api\d\d-)?|svcacct-)?[A-Za-z0-9_-]{20,}|shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}"
    r"|eyJ[A-Za-z0-9_-]{10,})")
# known formats that contain dots or tildes (the long-word scan sees only a part of them)
_DOTTED_TOKEN_RE = lazy_re(
    r"(?<![A-Za-z0-9_.~-])(?:eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}(?:\.[A-Za-z0-9_-]*)?"
    r"|SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}|(?:hvs|hvb|hvr)\.[A-Za-z0-9_-]{20,}|ya29\.[A-Za-z0-9_-]{20,}"
    r"|[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34}|\d{8,10}:AA[A-Za-z0-9_-]{30,})")
_DOTTED_LITERALS = ("eyJ", "SG.", "hvs.", "hvb.", "hvr.", "ya29.", "Q~", ":AA")
_HASH_PREFIX_RE = lazy_re(r"(?:sha(?:1|224|256|384|512)?|md5|blake2b?|sha3-\d+)[:=-]$", re.IGNORECASE)
_HASH_CONTEXT = ("sha", "md5", "sum", "hash", "digest", "gpg", "pgp", "keyserver", "fingerprint", "git", "commit",
                 "revision", "vcs-ref", "vcs_ref", "integrity", "verify", "blake")
_UUID_RE = lazy_re(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX_RE = lazy_re(r"[0-9a-fA-F]*")
_DIGIT_RE = re.compile(r"[0-9]")
# runs of word-like letters: random text of 20+ characters has them in at most 70 % of its length
# (measured: 99th percentile 0.70 at 20 characters, 0.60 at 40), identifiers in 75 % or more
_WORDLIKE_RE = lazy_re(r"[A-Z]?[a-z]{3,}|[A-Z]{4,}")
_SSH_PUBLIC_RE = lazy_re(r"(?:ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-nistp\d+|sk-ssh-ed25519@openssh\.com)[ \t]+$")


def _random_word(word: str) -> bool:
    """A word of 20+ characters that looks random: mixed classes, entropy near that of random text."""
    n = len(word)
    digits = sum(map(str.isdigit, word))
    if digits == 0 and n < 32:
        return False
    upper = word.lower() != word
    lower = word.upper() != word
    entropy = -sum(k / n * math.log2(k / n) for k in Counter(word).values())
    best = math.log2(min(n, 64))
    if upper and lower and sum(len(w) for w in _WORDLIKE_RE.findall(word)) > 0.7 * n:
        return False  # mostly words (ReactNativeWebViewBridge2, GRPC_HEALTH_PROBE_VERSION): an identifier
    if upper and lower and digits:
        return entropy >= 0.78 * best
    # two classes only (lower+digits, upper+digits, letters only): long and very random
    return n >= 32 and entropy >= 0.85 * best and (digits >= 4 or (upper and lower))


def _hex_word(core: str) -> bool:
    return _HEX_RE.fullmatch(core) is not None


def _secret_word(text: str, s: int, e: int, ctx: Optional[str]) -> bool:
    """Whether the long word ``text[s:e]`` is a secret by its value.

    ``ctx`` is the lower-cased text that names what the word is (hex strings in a text naming a
    hash are checksums); None: no context is known (a hex string then counts as secret).
    """
    word = text[s:e]
    if _KNOWN_TOKEN_RE.match(word):
        return not is_placeholder(word)
    if e - s < 32 and _DIGIT_RE.search(word) is None:
        return False  # under 32 characters, a secret by value has a digit (a hex string is 32+ long)
    before = text[max(0, s - 12):s]
    if _HASH_PREFIX_RE.search(before) or _SSH_PUBLIC_RE.search(before):
        return False
    low = word.lower()
    if low.startswith(("sha1-", "sha256-", "sha384-", "sha512-", "md5-")):
        return False  # integrity value (package managers' SRI)
    core = word.rstrip("=")
    if "/" in core and (core[0] == "/" or core.startswith(("./", "../", "~/")) or "//" in core
                        or any(len(g) >= 3 and g.islower() and g.replace("-", "").replace("_", "").isalpha()
                               for g in core.split("/"))):
        # a path or the path of a URL: judged segment by segment
        pos = s
        for seg in core.split("/"):
            if len(seg) >= 20 and _secret_word(text, pos, pos + len(seg), ctx):
                return True
            pos += len(seg) + 1
        return False
    if _hex_word(core.replace("-", "")):
        hexs = core.replace("-", "")
        if len(hexs) < 32 or _UUID_RE.fullmatch(core) or len(set(hexs.lower())) < 6:
            return False
        if not (hexs.islower() or hexs.isupper() or hexs.isdigit()):
            return _random_word(core)
        if ctx is not None and any(h in ctx for h in _HASH_CONTEXT):
            return False
        return not is_placeholder(core)
    if is_placeholder(core):
        return False
    return _random_word(core)


def _value_suspect(text: str, low: Optional[str] = None) -> bool:
    """Whether a value rule may hide something in ``text`` (False: it certainly hides nothing).

    Hex words count as suspect here whatever the text says (their context is judged by the full rules).
    Every rule of ``_value_spans`` is gated by one of the literals tested here, or finds only what
    holds a long secret word (the dotted formats SG., hvs., ya29., bot tokens: their long part).
    """
    if low is None:
        low = text.lower()
    # spelled out: this runs for every file (hot path)
    if ("-----begin" in low or "-H" in text or "header" in low or "bearer" in low or "basic" in low
            or "pass" in low
            or ("://" in text and ("@" in text or "hook" in low or "telegram" in low or "ifttt" in low
                                   or "chat.googleapis" in low))
            or "login" in low or "mc " in low
            # the other commands' passwords follow -p/-P, -a, -k, -U (or pass: / htpasswd, tested above)
            or (("-p" in low or "-a" in low or "-k" in low or "-u" in low)
                and ("mysql" in low or "mariadb" in low or "mongo" in low or "sshpass" in low or "redis-cli" in low
                     or "zip" in low or "7z" in low or "openssl" in low or "smbclient" in low))
            # a rare character first (one memchr), the pair only where it shows
            or ("J" in text and "eyJ" in text) or ("~" in text and "Q~" in text)):
        return True
    if ("?" in text or "&" in text) and "=" in text and _QUERY_RE.search(text) is not None:
        return True
    return _long_word_suspect(text)


# What each test of _value_suspect but the last (the long words) needs in the lower-cased text: one of these
# literals ("-H", "eyJ", "Q~" lower-cased; of two literals a test needs together, the second, rarer one: "@" or
# a webhook's name for "://", a command's name for its password option) or "?"/"&" and _QUERY_NAMES (for
# _QUERY_RE, case-insensitive on the text, only known to hold in an ASCII text). See _secret_checks._TRIGGER_RE.
VALUE_TRIGGERS = ("-----begin", "-h", "header", "bearer", "basic", "pass", "@", "hook", "telegram", "ifttt",
                  "chat.googleapis", "login", "mc ", "mysql", "mariadb", "mongo", "sshpass", "redis-cli", "zip", "7z",
                  "openssl", "smbclient", "eyj", "q~")


def _long_word_suspect(text: str) -> bool:
    """The last test of ``_value_suspect``: a long word of ``text`` may be a secret by its value."""
    if _LONG_RUN not in text.translate(_LONG_CLASS):
        return False  # no 20 characters of _LONG_RE's alphabet in a row: no word below has a match
    # a long word has no blank in it: only blank-separated words of 20+ characters are scanned,
    # each on its own (less context than the full rules see: more suspect, never less)
    for word in [w for w in text.split() if len(w) >= 20]:
        for m in _LONG_RE.finditer(word):
            if _secret_word(word, m.start(), m.end(), None):
                return True
    return False
