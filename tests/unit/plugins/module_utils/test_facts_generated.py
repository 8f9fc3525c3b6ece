"""Generated Dockerfiles (hypothesis): facts never raise, always validate, never leak a secret."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_facts import dockerfile_facts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[4]
SCHEMA = json.loads((REPO / "policies" / "schema" / "facts.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

# Secrets are random (hypothesis draws them) but always carry this marker, so a leak is
# found by searching for the marker (the redaction may legitimately cut a value short).
MARK = "zq9canary"
secret = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=4, max_size=12).map(lambda s: MARK + s)
word = st.sampled_from(["node", "app", "build", "x", "server.js", "/app", "./", "dist", "$HOME", "${PORT}"])
secret_name = st.sampled_from(["NPM_TOKEN", "DB_PASSWORD", "api_key", "AWS_SECRET_ACCESS_KEY", "GH_AUTH",
                               "client_secret", "PRIVATE_KEY", "SESSION_COOKIE", "MY_PASSWD", "SENTRY_DSN"])
plain_name = st.sampled_from(["PORT", "NODE_ENV", "APP_DIR", "BASE", "VERSION", "UID"])
image = st.sampled_from(["node:20", "node", "node:22-bookworm-slim@sha256:" + "a" * 64, "${BASE}",
                         "registry.access.redhat.com/ubi9/nodejs-20", "scratch", "node:${V:-20}-alpine",
                         "localhost:5000/x", "build", "${UNSET}"])


@st.composite
def secret_line(draw) -> str:
    name, value = draw(secret_name), draw(secret)
    forms = [
        f"ENV {name}={value}",
        f'ENV {name}="{value} with space" OTHER=1',
        f"ENV {name} {value} legacy form",
        f"ARG {name}={value}",
        f"ARG {name}='{value}'",
        f"LABEL {name.lower()}={value}",
        f"RUN {name}={value} npm ci",
        f"RUN echo //registry.npmjs.org/:_authToken={value} > .npmrc",
        f"RUN echo '_auth={value}' >> .npmrc && echo //r.example/:_password={value} >> .npmrc",
        f"RUN git clone https://bot:{value}@git.example.com/r.git",
        f"RUN curl -H 'Authorization: Bearer {value}' https://api.example.com",
        f"RUN docker login --password {value} reg && mysql --password={value}",
        f"RUN <<EOF\nexport {name}={value}\necho //r/:_authToken={value} > .npmrc\nEOF",
        f"RUN --mount=type=secret,id=npm echo \\\n  {name}={value}",
        f"ONBUILD ENV {name}={value}",
        f"# refarch:ignore NRA001 reason=token={value}",
    ]
    return draw(st.sampled_from(forms))


@st.composite
def other_line(draw) -> str:
    w1, w2, n = draw(word), draw(word), draw(plain_name)
    return draw(st.sampled_from([
        f"FROM {draw(image)}", f"FROM --platform=$BUILDPLATFORM {draw(image)} AS build",
        f"FROM {draw(image)} AS b2",
        f"ARG {n}", f"ARG {n}={w1}", f"ENV {n}={w1}", f"ENV {n} {w1} {w2}",
        f"USER {draw(st.sampled_from(['node', '0', 'root', '1000:1000', '${UID}']))}",
        "EXPOSE " + draw(st.sampled_from(["80", "8080/udp", "8000-8010", "$PORT", "${PORT:-3000}/tcp", "abc",
                                          "99999"])),
        f'CMD ["{w1}", "{w2}"]', f"CMD {w1} {w2}", 'ENTRYPOINT ["tini", "--"]', f"ENTRYPOINT {w1}",
        "CMD [\u201cnode\u201d]", 'CMD ["unterminated', "HEALTHCHECK NONE", f"HEALTHCHECK --interval=5s CMD {w1}",
        f"COPY --from=build --chown=node:node --link {w1} {w2}", f"ADD [\"{w1}\", \"{w2}\"]", f"WORKDIR {w1}",
        'SHELL ["/bin/bash", "-c"]', f"RUN {w1} \\\n  && {w2}", "RUN <<EOF\nunterminated", "# a comment",
        "# hadolint ignore=DL3002", "onbuild run echo", "bogus line here", "", "RUN [\"a\", 1]",
    ]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(secret_line(), other_line()), min_size=0, max_size=14),
       st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_generated_dockerfiles(lines, eol, with_escape_directive):
    text = eol.join((["# escape=`"] if with_escape_directive else []) + lines) + eol
    doc = dockerfile_facts("/srv/gen/Dockerfile", text.encode())
    errors = list(VALIDATOR.iter_errors(doc))
    assert not errors, errors[0].message
    assert MARK not in json.dumps(doc), "secret leaked"
    n = len(doc["stages"])
    assert (doc["final_stage"] is None) == (n == 0)
    if n:
        assert doc["final_stage"]["index"] == n - 1
    assert all(i["stage"] is None or 0 <= i["stage"] < n for i in doc["instructions"])
