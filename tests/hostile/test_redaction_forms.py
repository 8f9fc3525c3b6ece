"""Inline credential forms the secret canaries showed leaking, checked directly on ``_redact.redact_text``.

The canary values carry no secret-looking word, so the redactor's fast path
(text without any secret name fragment) is exercised too.
"""
from __future__ import annotations

import pytest
from ansible_collections.refarch.containers.plugins.module_utils._redact import redact_text

CANARY = "zq7Hq2mWv"
FORMS = {
    "curl -u user:password": f"RUN curl -u deploy:{CANARY} https://r.example.com/x",
    "curl --user=user:password": f"RUN curl --user=deploy:{CANARY} https://r.example.com/x",
    "quoted -u": f"RUN curl -u \"deploy:{CANARY}\" https://r.example.com/x",
    "registry auth JSON": "RUN echo '{\"auths\":{\"r.example.com\":{\"auth\":\"" + CANARY + "\"}}}' > config.json",
    "registry auth JSON, escaped quotes": 'RUN echo "{\\"auths\\":{\\"r\\":{\\"auth\\":\\"' + CANARY + '\\"}}}" > c',
    "YAML npmAuthToken": f"npmAuthToken: {CANARY}",
    "JSON password": '{"user": "me", "password": "' + CANARY + '"}',
}


@pytest.mark.parametrize("form", list(FORMS))
def test_inline_form_is_redacted(case, form):
    c = case(f"redaction of {form}", "the value is replaced by <redacted>; the rest of the line is kept")
    out = redact_text(FORMS[form])
    c.see(out[:100])
    assert CANARY not in out and "<redacted>" in out


@pytest.mark.parametrize("text", ["RUN curl -u $CREDS https://x", "author: me", '{"auth": null}', "ls -u x",
                                  "RUN echo '{\"auths\":{}}'"])
def test_non_secrets_are_kept(text):
    assert redact_text(text) == text
