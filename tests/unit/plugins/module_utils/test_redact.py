"""Secret redaction (plugins/module_utils/_redact.py, _secret_names.py, _secret_forms.py, _secret_checks.py)."""
from __future__ import annotations

import random
from pathlib import Path

import pytest
from ansible_collections.refarch.containers.plugins.module_utils import (
    _redact,
    _redact_spans,
    _secret_checks,
    _secret_forms,
    _secret_names,
)
from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_facts import dockerfile_facts
from ansible_collections.refarch.containers.plugins.module_utils._redact import (
    REDACTED,
    Redactor,
    compile_secret_names,
    is_secret_name,
    redact_text,
)

CANARY = "c4n4ry-9f3e1b"


@pytest.mark.parametrize("name", [
    "NPM_TOKEN", "DB_PASSWORD", "db_passwd", "PASSPHRASE", "API_KEY", "apikey", "STRIPE_SECRET", "CLIENT_SECRET",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "PRIVATE_KEY", "GH_CREDENTIALS", "NODE_AUTH_TOKEN", "_authToken",
    "_auth", "_password", "SENTRY_DSN", "SESSION_KEY", "BASIC_AUTH", "MYSQL_PWD",
])
def test_secret_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["NODE_ENV", "PORT", "AUTHOR", "NODE_VERSION", "HOME", "PATH", "APP_DIR", "KEYBOARD"])
def test_non_secret_names(name):
    assert not is_secret_name(name)


@pytest.mark.parametrize("text", [
    f"NPM_TOKEN={CANARY} npm ci",
    f'echo "//registry.npmjs.org/:_authToken={CANARY}" > .npmrc',
    f"echo //npm.example.com/:_password={CANARY} >> ~/.npmrc",
    f"echo _auth={CANARY} >> .npmrc",
    f"git clone https://deploy:{CANARY}@git.example.com/app.git",
    f"curl -H 'Authorization: Bearer {CANARY}' https://api.example.com",
    f"docker login --password {CANARY} registry",
    f"mysql --password={CANARY} -e 'select 1'",
    f"curl https://api.example.com/?token={CANARY}",
    f"sh -c 'export API_KEY={CANARY}; run'",
    f'DB_PASSWORD="{CANARY} with spaces" node x',
    f"DB_PASSWORD='{CANARY} quoted' node x",
    f"npm config set //registry.npmjs.org/:_authToken {CANARY}",
    f"yarn config set npmAuthToken {CANARY} && yarn",
    f"cat <<EOF\nENV NPM_TOKEN {CANARY} rest of line\nexport GH_TOKEN {CANARY}\nEOF",
    f"  arg api_key {CANARY}",
])
def test_inline_secrets_redacted(text):
    out = redact_text(text)
    assert CANARY not in out
    assert REDACTED in out


@pytest.mark.parametrize("text", [
    "npm ci --omit=dev && npm cache clean --force",
    "NODE_ENV=production node server.js",
    "curl -fsSL https://deb.nodesource.com/setup_20.x | bash -",
    "echo $NPM_TOKEN",
    "NPM_TOKEN=${NPM_TOKEN} npm ci",
    "apt-get install -y libsecret-1-dev tini && npm config set fund false",
    "ENV NODE_ENV production",
    "",
])
def test_non_secret_text_unchanged(text):
    assert redact_text(text) == text


def test_extra_secret_names():
    names = compile_secret_names([r"^ACME_.*_PIN$"])
    assert is_secret_name("ACME_DOOR_PIN", names)
    assert is_secret_name("DB_PASSWORD", names)  # built-ins still apply
    assert CANARY not in redact_text(f"ACME_DOOR_PIN={CANARY} x", names)
    assert compile_secret_names([]) is compile_secret_names(None)


def test_invalid_extra_pattern_is_a_value_error():
    with pytest.raises(ValueError, match="invalid secret name pattern"):
        compile_secret_names(["("])


def _ins(cmd, original, value, **kw):
    base = {"cmd": cmd, "sub_cmd": None, "json": False, "original": original, "start_line": 1, "end_line": 1,
            "flags": [], "value": value, "heredocs": []}
    base.update(kw)
    return base


def test_redactor_env_arg_label_and_reuse():
    r = Redactor()
    out = r.instructions([
        _ins("ARG", f"ARG NPM_TOKEN={CANARY}", [f"NPM_TOKEN={CANARY}"]),
        _ins("ENV", f"ENV DB_PASSWORD={CANARY}x PORT=80", ["DB_PASSWORD", f"{CANARY}x", "PORT", "80"]),
        _ins("ENV", f"ENV API_KEY {CANARY}y and more", ["API_KEY", f"{CANARY}y and more"]),
        _ins("LABEL", f"LABEL secret={CANARY}z", ["secret", f"{CANARY}z"]),
        # the literal value reappears somewhere no name pattern would catch
        _ins("RUN", f"RUN ./configure {CANARY}", [f"./configure {CANARY}"]),
        _ins("RUN", "RUN <<EOF\n...\nEOF", ["<<EOF"], heredocs=[
            {"name": "EOF", "file_descriptor": 0, "content": f"//r.example/:_authToken={CANARY}q\n"}]),
        _ins("ONBUILD", f"ONBUILD ENV GH_TOKEN={CANARY}w", ["GH_TOKEN", f"{CANARY}w"], sub_cmd="ENV"),
    ])
    assert CANARY not in repr(out)
    assert out[1]["value"] == ["DB_PASSWORD", REDACTED, "PORT", "80"]
    assert out[1]["original"] == f"ENV DB_PASSWORD={REDACTED} PORT=80"
    assert out[2]["original"] == f"ENV API_KEY {REDACTED}"
    assert out[0]["value"] == [f"NPM_TOKEN={REDACTED}"]


def test_redactor_does_not_touch_input():
    ins = _ins("ENV", f"ENV DB_PASSWORD={CANARY}", ["DB_PASSWORD", CANARY])
    Redactor().instructions([ins])
    assert ins["value"][1] == CANARY


def test_fast_precheck_covers_every_builtin_fragment():
    for lit in _secret_names._NAME_LITERALS:
        if lit not in ("key", "access", "connection"):  # these count only with what a fragment needs around them
            assert _redact._has_name_literal("X_" + lit.upper() + "_Y")
    for name in ("NPM_TOKEN", "DB_PASSWORD", "API_KEY", "SENTRY_DSN", "BASIC_AUTH", "MYSQL_PWD", "SESSION_COOKIE",
                 "PASSWORD_SALT", "BEARER", "GH_CREDENTIALS", "PASSPHRASE", "CLIENT_SECRET", "APIKEY", "X_API.KEY",
                 "PRIVKEY", "PRIVATE-KEY", "AWS_ACCESS_KEY_ID", "SESSIONKEY", "SIGNING_KEY", "ENCRYPTION-KEY",
                 "MASTER_KEY", "LICENSE.KEY", "STORAGE_ACCOUNT_KEY", "AZURE_SHARED_ACCESS", "SHAREDACCESS_X",
                 "DB_CONNECTION_STRING", "CONNECTIONSTRING", "Connection-String"):
        assert is_secret_name(name) and _redact._has_name_literal(name), name


@pytest.mark.parametrize("text", [
    "RUN apt-key adv --keyserver keyserver.ubuntu.com --recv-keys 0x1234",
    "FROM registry.access.redhat.com/ubi8/nodejs-16",
    "ENV KEY_FILE=/etc/ssl/private/server.key MONKEY=1 keep_alive_connection=1",
    "RUN chmod 600 ~/.ssh/id_ed25519.key && echo connection-pool",
])
def test_fast_precheck_key_access_connection_alone(text):
    """``key``/``access``/``connection`` without a fragment's prefix or suffix: no by-name rule can hide anything
    (kept only where a rule that does not look at names may match: URL credentials, ``-u user:password``)."""
    assert not _redact._has_name_literal(text) and redact_text(text) == text
    assert _redact._has_name_literal(text + " https://u:pw@h") and _redact._has_name_literal(text + " -U x:y")
    assert redact_text(text + ' && curl -u "a b:pw12345" x') != text + ' && curl -u "a b:pw12345" x'


@pytest.mark.parametrize("text", [
    f"RUN curl -u deploy:{CANARY[:4]}x9 https://r.example.com/x",
    f"RUN curl --user=deploy:{CANARY[:4]}x9 https://r.example.com/x",
    f"RUN wget --proxy-user ops:{CANARY[:4]}x9 http://r/x",
])
def test_clean_fast_path_never_skips_what_redact_text_redacts(text):
    """Instructions judged clean skip redaction: -u user:password has no secret name and no URL."""
    assert redact_text(text) != text
    assert not _redact._clean(text)
    (out,) = Redactor().instructions([_ins("RUN", text, [text[4:]])])
    assert f"{CANARY[:4]}x9" not in out["original"] and f"{CANARY[:4]}x9" not in out["value"][0]


def test_exec_form_checked_on_its_decoded_strings():
    """JSON escapes can hide a secret name from the original text; the decoded values are checked too."""
    secret = "s3cr3tvalue"
    ins = _ins("CMD", 'CMD ["app", "--\\u0074oken=' + secret + '"]', ["app", f"--token={secret}"])
    ins["json"] = True
    (out,) = Redactor().instructions([ins])
    assert secret not in out["value"][1]
    env = _ins("ENV", f"ENV API_TOKEN={secret}", ["API_TOKEN", secret])
    cmd = _ins("CMD", 'CMD ["app", "\\u0073' + secret[1:] + '"]', ["app", secret])
    cmd["json"] = True
    out = Redactor().instructions([env, cmd])
    assert out[1]["value"] == ["app", REDACTED]


@pytest.mark.parametrize(("text", "found"), [
    ("ENV DB_PASS=x", True), ("ENV GH_PAT=x", True), ("pw", True), ("x-pw", True), ("jwt.io", True),
    ("ENV PATH=/x", False), ("RUN npm i sass compat", False), ("pat1", False), ("Xpsk", False), ("passes", False),
    ("RUN echo \u0130 pw", True),
])
def test_word_literals_count_as_whole_words_only(text, found):
    assert _redact._has_name_literal(text) is found


def _doc_instrs(lines):
    return [_ins("RUN", line, [line[4:]]) for line in lines]


def test_name_suspects_hold_every_instruction_a_name_rule_concerns():
    """The positional test on the joined texts finds every instruction the per-text test finds (a superset)."""
    lines = ["RUN make", f"RUN curl -u deploy:{CANARY} https://r.example.com", "RUN echo compat",
             f"RUN echo NPM_TOKEN={CANARY}", "RUN ls /pat", "RUN echo done", "RUN export PATH=/x"]
    instrs = _doc_instrs(lines)
    cmd = _ins("CMD", 'CMD ["app", "--\\u0074oken", "x"]', ["app", "--token", "x"], json=True)
    instrs.append(cmd)
    joined, texts = _redact._joined_texts(instrs)
    suspects = _redact._name_suspects(joined, joined.lower(), _redact._ends(instrs, texts))
    texts_of = [[ins["original"], *(ins["value"] if ins["json"] else [])] for ins in instrs]
    per_text = {i for i, ts in enumerate(texts_of) if not all(_redact._clean_kinds(t, True, False) for t in ts)}
    assert per_text == {1, 3, 4, 7}
    assert per_text <= suspects
    assert 0 not in suspects and 5 not in suspects
    # a lower-casing that changes the length: no positional test (each text is then tested on its own)
    odd = _doc_instrs(["RUN echo \u0130", "RUN echo x"])
    joined, texts = _redact._joined_texts(odd)
    assert _redact._name_suspects(joined, joined.lower(), _redact._ends(odd, texts)) is None


def test_known_value_hidden_in_every_later_instruction():
    """A secret learnt from one instruction is hidden in the clean instructions that repeat it, only there."""
    lines = ["RUN make", f"ENV API_TOKEN={CANARY}", "RUN echo one", f"RUN echo {CANARY}", "RUN echo two",
             f"RUN printf %s {CANARY}|wc"]
    instrs = _doc_instrs(lines)
    instrs[1] = _ins("ENV", lines[1], ["API_TOKEN", CANARY])
    out = Redactor().instructions(instrs)
    assert [o["original"] for o in out] == ["RUN make", f"ENV API_TOKEN={REDACTED}", "RUN echo one",
                                            f"RUN echo {REDACTED}", "RUN echo two", f"RUN printf %s {REDACTED}|wc"]
    assert out[2] == instrs[2] and out[4] == instrs[4]


def test_inline_regex_without_impossible_alternatives_finds_the_same():
    """_inline_re drops the alternatives whose needles are absent: the matches are those of the full regex."""
    rng = random.Random(11)
    pieces = ["ENV ", "export ", "npm config set ", "https://u:", "@h", "Authorization: Bearer ", '"--token", "',
              '"pw": ', "key: ", "--pass ", "A=", "x", "Y_9", " ", "\n", "'", '"', ":", "-", "=", "\u212a", "caf\u00e9"]
    texts = ["".join(rng.choice(pieces) for dummy in range(rng.randint(0, 12))) for dummy2 in range(800)]
    texts += ["From registry.access.redhat.com/ubi9/nodejs-18:1-80", "RUN a=b c:d --x y", "plain words"]
    dropped = 0
    for text in texts:
        rx = _redact_spans._inline_re(text)
        got = [(m.lastgroup, m.span()) for m in rx.finditer(text)] if rx is not None else []
        assert got == [(m.lastgroup, m.span()) for m in _redact_spans._INLINE_RE.finditer(text)], text
        dropped += rx is not _redact_spans._INLINE_RE
        if text.isascii():  # the alternatives kept are those whose needles (_INLINE_PARTS) show
            low = text.lower()
            parts = [p for p, needs in _redact_spans._INLINE_PARTS if all(any(n in low for n in g) for g in needs)]
            assert (rx.pattern if rx is not None else "") == "|".join(parts)
    assert dropped > 200  # the smaller regexes were used (and agreed)
    assert _redact_spans._inline_re("plain words") is None
    assert _redact_spans._inline_re("caf\u00e9 a=b") is _redact_spans._INLINE_RE  # not ASCII: the full regex


@pytest.mark.parametrize("form", ["RUN jarsigner -storepass {c} app.jar", "RUN tool --creds={c}", "RUN tool --cred {c}",
                                  "RUN tool -passin {c}", "RUN tool -newpass {c}", "RUN x -deststorepass {c}",
                                  'CMD ["tool", "-masterpass", "{c}"]'])
def test_extra_password_options_pass_the_fast_precheck(form):
    """The option names _FLAG_EXTRA_RE knows (no secret-name fragment in them) are not skipped as clean."""
    text = form.format(c=CANARY)
    assert CANARY not in redact_text(text)
    value = ["tool", text.split('"')[3], CANARY] if text.startswith("CMD") else [text[4:]]
    (out,) = Redactor().instructions([_ins(text[:3], text, value, json=text.startswith("CMD"))])
    assert CANARY not in out["original"] and CANARY not in str(out["value"])


# -- the one-pass pre-checks (_NAME_TRIGGER_RE, _VALUE_TRIGGER_RE) against the tests they stand for ----------

CORPUS = Path(__file__).resolve().parents[5] / "shared" / "corpus" / "cases"


def _long_words(text: str) -> bool:
    """_long_word_suspect without its translate test."""
    return any(_secret_forms._secret_word(w, m.start(), m.end(), None)
               for w in text.split() if len(w) >= 20 for m in _secret_forms._LONG_RE.finditer(w))


def _gate_texts() -> list:
    rng = random.Random(18)
    lits = list(_secret_names.NAME_TRIGGERS + _secret_forms.VALUE_TRIGGERS + _secret_names._WORD_LITERALS)
    lits += [p + s + "key" for p in _secret_names._KEY_PREFIXES for s in ("", "_", ".", "-", "/")]
    lits += ["shared_access", "sharedaccess", "connection-string", "connectionstring", "connection string",
             "?sig=", "&code=", "?X-Amz-Signature=", "?\u017fig=", "://", "-U x:y", "--user=a:b", "-H", "eyJ", "Q~",
             "docker login -p", "mysql -pX", "pass:", "--password-stdin", "keyserver", "apt-key", "compat", "path",
             "sass", "passes", "bypass", "ssh", "tok", "en", "pa", "ss", "ke", "y", "-p", "-a", "-k", " -p ", " -k "]
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/_-="
    pieces = ["RUN ", "ENV ", " ", "\n", "-", "_", ".", "=", "/", ":", "@", "?", "&", "'", '"', "[", "]", "\u212a",
              "\u017f", "\u0130", "caf\u00e9", "npm ci", "apt-get install -y", "WORKDIR /app"]
    texts = []
    for dummy in range(4000):
        parts: list = []
        count = rng.randint(1, 8)
        while len(parts) < count:
            kind = rng.random()
            if kind < 0.35:
                lit = rng.choice(lits)
                parts.append("".join(c.upper() if rng.random() < 0.3 else c for c in lit))
            elif kind < 0.5:
                parts.append("".join(rng.choice(alphabet) for dummy3 in range(rng.randint(15, 26))))
            else:
                parts.append(rng.choice(pieces))
        texts.append("".join(parts))
    texts += [f"RUN x {lit} y" for lit in lits] + [f"RUN curl https://h/x {lit}" for lit in lits]  # each alone
    texts += [f"RUN {cmd} {flag} x" for cmd in ("mysql", "mariadb", "mongo", "sshpass", "redis-cli", "zip", "7z",
                                                "openssl", "smbclient") for flag in ("-p", "-a", "-k", "-u", "-x")]
    if CORPUS.is_dir():  # real Dockerfiles: whole and line by line
        for path in sorted(CORPUS.rglob("Dockerfile")):
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
            texts.append(text)
            texts += text.splitlines()
    return texts


def test_one_pass_precheck_decides_as_the_tests_it_stands_for():
    """Where _maybe says "certainly clean", every name and value pre-check is False (the long words aside), so
    _kinds, _clean_kinds and _clean, which trust it, decide as the pre-checks spelled out do; the translate
    test of the long words decides as the word loop does."""
    cleared = 0
    for text in _gate_texts():
        low = text.lower()
        names = _secret_names._has_name_literal(text, low) or _redact._user_flag(text)
        values = _secret_forms._value_suspect(text, low)
        assert _secret_forms._long_word_suspect(text) == _long_words(text), text
        if not _secret_checks._maybe(text, low):
            cleared += 1
            assert not names and values == _long_words(text), text
        assert _redact._kinds(text, low) == (names, values), text
        assert _redact._clean(text) is (not names and not values), text
        for n in (True, False):
            for v in (True, False):
                assert _redact._clean_kinds(text, n, v) is (not (n and names) and not (v and values)), text
    assert cleared > 500, cleared  # the one-pass test did clear texts (and each agreed)


def test_one_pass_precheck_finds_every_trigger():
    """Each literal the pre-checks need is found, alone and inside other text; the whole words only as words."""
    for lit in _secret_names.NAME_TRIGGERS + _secret_forms.VALUE_TRIGGERS:
        for text in (lit, "x" + lit + "y", "a\n" + lit + "\n"):
            assert _secret_checks._maybe(text, text), text
    for lit in _secret_names._WORD_LITERALS:
        assert _secret_checks._maybe(f"a {lit}.b", f"a {lit}.b") and _secret_checks._maybe(lit, lit)
    for text in ("env path=/x compat sass", "run apt-key adv --keyserver k", "from registry.access.redhat.com/x"):
        assert not _secret_checks._maybe(text, text), text
    for text in ("aws_access.key", "sharedaccess", "shared-access", "connectionstring", "x?sig=1"):
        assert _secret_checks._maybe(text, text), text
    assert not _secret_checks._maybe("?SIG=", "?SIG=")
    assert _secret_checks._maybe("\u212a", "k")  # not ASCII: always "maybe"


@pytest.mark.parametrize(("value", "placeholder"), [
    ("changeme", True), ("your-token-here", True), ("YOUR_API_KEY", True), ("dummy-password", True),
    ("REDACTED", True), ("<redacted>", True), ("xxxx-xxxx", True), ("example.com", True),
    ("example-secret-123", True), ("replace-me", True),
    # a real-looking value that merely contains a placeholder word is a secret (hypothesis found
    # "zq9canaryredacted" kept in clear; a random token may hold "your" or "example")
    ("zq9canaryredacted", False), ("a8fyourq2k3l4m5n6", False), ("EXAMPLE_KEY_1234", False),
    ("https://example.com/hook", False),
])
def test_a_placeholder_word_inside_a_token_does_not_make_it_a_placeholder(value, placeholder):
    assert _secret_names.is_placeholder(value) is placeholder
    doc = dockerfile_facts("/srv/p/Dockerfile", f"FROM node:22\nENV NPM_TOKEN={value}\n".encode())
    shown = doc["final_stage"]["env"]["NPM_TOKEN"]["value"]
    assert (shown == value) is placeholder, shown
