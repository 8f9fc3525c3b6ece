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


# ---------------------------------------------------------------------------------------------------
# The canary forms (tests/hostile/canaries.py): each hidden in every text form that leaves the host,
# placeholders and non-secrets kept, and the false-positive rate of the value rules on the corpus.

import hashlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from ansible_collections.refarch.containers.plugins.module_utils import _dockerfile_facts, _redact, _redact_spans  # noqa: E402
from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_parser import parse  # noqa: E402
from ansible_collections.refarch.containers.plugins.module_utils._image_facts import image_facts  # noqa: E402
from ansible_collections.refarch.containers.plugins.module_utils._redact_dockerfile import (  # noqa: E402
    redact_dockerfile,
)
from ansible_collections.refarch.containers.plugins.module_utils._redact_spans import redact_argv  # noqa: E402
from ansible_collections.refarch.containers.plugins.plugin_utils._bundle import load_bundle  # noqa: E402
from ansible_collections.refarch.containers.plugins.plugin_utils._engine_embedded import EmbeddedEngine  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from canaries import FORMS as CANARY_FORMS  # noqa: E402
from canaries import KEPT, Form, hexs, jwt, mixed  # noqa: E402

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"


def _planted(form: Form) -> tuple[str, bytes, bytes]:
    """(Dockerfile text, .dockerignore bytes, package.json bytes) with the form planted."""
    dockerfile = "FROM node:22-bookworm-slim\nWORKDIR /app\n"
    ignore = "node_modules\n.git\n"
    scripts = {"build": "tsc -p ."}
    if form.where == "dockerfile":
        dockerfile += form.render() + "\n"
    elif form.where == ".dockerignore":
        ignore += form.render() + "\n"
    else:
        scripts["deploy"] = form.render()
    dockerfile += 'USER node\nCMD ["node", "server.js"]\n'
    return dockerfile, ignore.encode(), json.dumps({"name": "app", "scripts": scripts}).encode()


@pytest.mark.parametrize("form", CANARY_FORMS, ids=[f.name for f in CANARY_FORMS])
def test_canary_form_hidden_in_facts_and_diffs(form):
    """Facts (every field: instructions, heredocs, exec form, env, scripts, ignore lines, problems) and
    the remediation diff text (by logical instruction) hold no part of the canary."""
    dockerfile, ignore, package = _planted(form)
    doc = _dockerfile_facts.dockerfile_facts("/srv/app/Dockerfile", dockerfile.encode(), ignore, package)
    outputs = {"facts": json.dumps(doc), "diff": redact_dockerfile(dockerfile),
               "ignore diff": _redact.Redactor().text(ignore.decode()),
               "script": _redact.redact_text(form.render()) if form.where != "dockerfile" else ""}
    assert form.render() in (dockerfile + ignore.decode() + package.decode().replace('\\"', '"').replace("\\\\", "\\")
                             ) or form.where == "package.json", "the form must be planted"
    # the fast path (texts judged clean are not redacted) never skips a form
    assert not _redact._clean(form.render()), form.render()
    leaks = [(where, n) for where, text in outputs.items() for n in form.needles() if n in text]
    assert not leaks, (leaks, outputs["diff"][-300:])
    # the diff keeps the line structure (remediation diffs stay aligned)
    assert outputs["diff"].count("\n") == dockerfile.count("\n")
    # the document is still usable: the final stage's user and command are there
    assert doc["final_stage"]["user"]["name"] == "node"


def test_canary_count():
    assert len(CANARY_FORMS) >= 80, len(CANARY_FORMS)
    assert len({f.name for f in CANARY_FORMS}) == len(CANARY_FORMS)


@pytest.mark.parametrize("text", list(KEPT))
def test_placeholders_and_non_secrets_kept(text):
    keep = KEPT[text]
    assert keep in _redact.redact_text(text), _redact.redact_text(text)
    assert keep in redact_dockerfile("FROM node:22\n" + text + "\n")
    if text.startswith(("ENV ", "ARG ", "LABEL ", "FROM ", "RUN ", "CMD ", "EXPOSE ", "USER ")):
        doc = _dockerfile_facts.dockerfile_facts("/srv/a/Dockerfile", ("FROM node:22\n" + text + "\n").encode())
        assert keep in json.dumps(doc["instructions"][-1]), doc["instructions"][-1]


def test_image_and_container_fields():
    """Image env, labels, ENTRYPOINT/CMD and history: canaries hidden, digests and commit SHAs kept."""
    secret_env = "ghp_" + mixed(901, 36)
    label_jwt = jwt(902)
    cmd_token = mixed(903, 24)
    hook = mixed(904, 24)
    sha = hexs(905, 40)
    inspect = {
        "Id": "sha256:" + hexs(906, 64), "RepoTags": ["localhost/app:1"], "Size": 1000,
        "Config": {"Env": [f"GH_PAT={secret_env}", "NODE_ENV=production", f"OPTS=--api-key {cmd_token}x",
                           f"ALERTS=https://hooks.slack.com/services/T0/B0/{hook}"],
                   "Labels": {"ci.session": label_jwt, "org.opencontainers.image.revision": sha,
                              "org.opencontainers.image.base.digest": "sha256:" + hexs(907, 64)},
                   "Entrypoint": ["/app/bin", "--token"], "Cmd": [cmd_token, "--port", "8080"], "User": "node"},
        "History": [{"created_by": f"RUN |1 NPM_TOKEN={secret_env} /bin/sh -c npm ci"}],
    }
    doc = image_facts(inspect, history_limit=10)
    text = json.dumps(doc)
    for needle in (secret_env, label_jwt, cmd_token, hook):
        assert needle not in text, needle
    assert sha in text and hexs(907, 64) in text and "production" in text and "8080" in text


def test_exec_form_argv_rule():
    assert redact_argv(["app", "--token", "abc123", "--port", "80"]) == ["app", "--token", "<redacted>", "--port", "80"]
    assert redact_argv(["mysql", "-p", "pw1234", "db"])[2] == "<redacted>"
    assert redact_argv(["docker", "run", "-p", "8080:80", "img"]) == ["docker", "run", "-p", "8080:80", "img"]


def test_continuation_split_secret_hidden_on_both_lines_in_the_diff():
    first, second = mixed(911, 16), mixed(912, 16)
    text = f"FROM node:22\nENV API_TOKEN={first}\\\n{second} NODE_ENV=production\nRUN echo ok\n"
    out = redact_dockerfile(text)
    assert first not in out and second not in out and "NODE_ENV=production" in out
    assert out.splitlines()[1].endswith("\\") and out.count("\n") == text.count("\n")
    # line by line (what the diff did before) the second half shows
    assert second in "".join(_redact.redact_text(line) for line in text.splitlines(True))


# -- the corpus: what the value rules hide there, by hand ----------------------------------------------

# Every value the value rules hide in ../shared/corpus, inspected by hand: (case, sha256 of the value) ->
# why it is a secret. Anything else they hide is counted as a false positive.
CORPUS_TRUE_SECRETS = {
    ("010-parse-server", hashlib.sha256(b"password").hexdigest()[:16]):
        "database password in a connection URL (postgres://postgres:password@...) in a package.json script",
    ("053-node-catfacts", hashlib.sha256(b"catuserpassword").hexdigest()[:16]):
        "database password in a connection URL (ENV DB_URL postgres://catuser:...@...)",
}
MAX_FALSE_POSITIVES = 2        # in the whole corpus (observed: 0)
MAX_FALSE_POSITIVE_RATE = 0.01  # of the long words the entropy rule judges (observed: 0)


def _corpus_texts() -> list[tuple[str, str]]:
    texts = []
    for case_dir in sorted((CORPUS / "cases").iterdir()):
        if not case_dir.is_dir():
            continue
        name = case_dir.name
        df = case_dir / "Dockerfile"
        if df.is_file():
            parsed = parse(df.read_bytes().decode("utf-8", "replace"))
            texts += [(name, i["original"]) for i in parsed["instructions"]]
            texts += [(name, c["text"]) for c in parsed.get("comments") or []]
        ig = case_dir / ".dockerignore"
        if ig.is_file():
            texts += [(name, line) for line in ig.read_text(errors="replace").splitlines()]
        pj = case_dir / "package.json"
        if pj.is_file():
            try:
                scripts = json.loads(pj.read_text(errors="replace")).get("scripts") or {}
            except ValueError:
                scripts = {}
            texts += [(name, str(v)) for v in scripts.values()] if isinstance(scripts, dict) else []
    return texts


def test_value_rules_false_positive_rate_on_the_corpus(case):
    if not (CORPUS / "cases").is_dir():
        pytest.skip("../shared/corpus is not here (shared test data, read at test time)")
    c = case("value-rule false positives on ../shared/corpus",
             f"at most {MAX_FALSE_POSITIVES} values hidden by the value rules that are not secrets, and at most "
             f"{MAX_FALSE_POSITIVE_RATE:.0%} of the long words judged")
    texts = _corpus_texts()
    hidden, false_pos, judged = [], [], 0
    for name, text in texts:
        judged += sum(1 for w in text.split() if len(w) >= 20)
        spans: list = []
        _redact_spans._value_spans(text, _redact.SECRET_NAME_RE, 0, spans, text.lower())
        for s, e in _redact_spans._merge(spans):
            value = text[s:e]
            key = (name, hashlib.sha256(value.encode()).hexdigest()[:16])
            hidden.append(key)
            if key not in CORPUS_TRUE_SECRETS:
                false_pos.append(f"{name}: {text[max(0, s - 30):s]!r} -> {value[:40]!r}")
    rate = len(false_pos) / max(judged, 1)
    c.see(f"{len(texts)} texts, {judged} long words judged, {len(hidden)} value(s) hidden by value rules, "
          f"{len(false_pos)} not secret ({rate:.2%})")
    assert len(texts) > 1000 and judged > 50, "the corpus must be read (or nothing is measured)"
    assert len(false_pos) <= MAX_FALSE_POSITIVES and rate <= MAX_FALSE_POSITIVE_RATE, false_pos
    # the hand-inspected secrets are still found (the rules did not go blind)
    assert set(CORPUS_TRUE_SECRETS) <= set(hidden), set(CORPUS_TRUE_SECRETS) - set(hidden)


def _corpus_documents() -> list[dict]:
    docs = []
    for case_dir in sorted((CORPUS / "cases").iterdir()):
        df = case_dir / "Dockerfile"
        if not df.is_file():
            continue
        side = {}
        for name, key in ((".dockerignore", "dockerignore"), ("package.json", "package_json")):
            if (case_dir / name).is_file():
                side[key] = (case_dir / name).read_bytes()
        docs.append(_dockerfile_facts.dockerfile_facts(f"/srv/{case_dir.name}/Dockerfile", df.read_bytes(),
                                                       side.get("dockerignore"), side.get("package_json")))
    return docs


def _rule_inputs(doc: dict) -> dict:
    """What the rules read of a document: base images (refs, digests), users, ports, processes, ignore patterns."""
    fs = doc["final_stage"] or {}
    return {"stages": [(s.get("base"), s.get("user"), s.get("exposed_ports")) for s in doc["stages"]],
            "final": {k: fs.get(k) for k in ("user", "exposed_ports", "entrypoint", "cmd", "process", "healthcheck",
                                             "root_base", "workdir")},
            "ignore": doc["dockerignore"]["patterns"], "scope": doc.get("scope"), "analysis": doc.get("analysis")}


def test_corpus_findings_unchanged_by_redaction(case, monkeypatch):
    """The whole corpus evaluated (embedded engine) with redaction on and with it off: the same findings,
    and the same rule inputs (image refs and digests, users, ports, CMD/ENTRYPOINT argv)."""
    if not (CORPUS / "cases").is_dir():
        pytest.skip("../shared/corpus is not here (shared test data, read at test time)")
    c = case("corpus findings with redaction on and off", "identical findings and rule inputs for every Dockerfile")
    on = _corpus_documents()
    monkeypatch.setattr(_redact.Redactor, "instructions",
                        lambda self, instrs, extra=(), copy=True: [dict(i) for i in instrs])
    monkeypatch.setattr(_redact.Redactor, "text", lambda self, text, context="", values=True: text)
    monkeypatch.setattr(_dockerfile_facts, "_redact_side", lambda *args, **kwargs: None)
    off = _corpus_documents()
    monkeypatch.undo()
    assert json.dumps(on) != json.dumps(off), "some value must be redacted (or nothing is compared)"
    changed_inputs = [d["path"] for d, e in zip(on, off, strict=True) if _rule_inputs(d) != _rule_inputs(e)]
    engine = EmbeddedEngine(load_bundle())
    f_on = engine.evaluate(on, "2026-11-28")
    f_off = engine.evaluate(off, "2026-11-28")

    def key(findings: list) -> list:
        return sorted((f.get("rule_id"), f.get("line"), f.get("severity"), f.get("message")) for f in findings)

    differ = [d["path"] for d, a, b in zip(on, f_on, f_off, strict=True) if key(a) != key(b)]
    total = sum(len(x) for x in f_on)
    c.see(f"{len(on)} Dockerfiles, {total} findings; rule inputs changed in {len(changed_inputs)}, "
          f"findings changed in {len(differ)}")
    assert total > 100
    assert not changed_inputs, changed_inputs
    assert not differ, differ
