"""Normalized Dockerfile facts (plugins/module_utils/_dockerfile_facts.py)."""
from __future__ import annotations

import hashlib
import json
import signal
from pathlib import Path

import jsonschema
import pytest
from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_facts import (
    _redact_texts,
    dockerfile_facts,
    error_document,
)
from ansible_collections.refarch.containers.plugins.module_utils._expand import expand
from ansible_collections.refarch.containers.plugins.module_utils._redact import (
    REDACTED,
    SECRET_NAME_RE,
    Redactor,
    compile_secret_names,
)

REPO = Path(__file__).resolve().parents[4]
SCHEMA = json.loads((REPO / "policies" / "schema" / "facts.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def facts(text: str, **kw) -> dict:
    doc = dockerfile_facts("/srv/app/Dockerfile", text.encode(), **kw)
    errors = sorted(VALIDATOR.iter_errors(doc), key=str)
    assert not errors, errors[0]
    return doc


def final(text: str, **kw) -> dict:
    return facts(text, **kw)["final_stage"]


# ---------------------------------------------------------------- expansion
@pytest.mark.parametrize("word,env,expected,unresolved", [
    ("plain", {}, "plain", False),
    ("$A", {"A": "1"}, "1", False),
    ("${A}b", {"A": "1"}, "1b", False),
    ("${A:-d}", {}, "d", False),
    ("${A:-d}", {"A": ""}, "d", False),
    ("${A-d}", {"A": ""}, "", False),
    ("${A:-d}", {"A": "x"}, "x", False),
    ("${A:+alt}", {"A": "x"}, "alt", False),
    ("${A:+alt}", {"A": ""}, "", False),
    ("${A:+alt}", {}, "", True),
    ("${A:-${B}}", {"B": "nested"}, "nested", False),
    ("$UNKNOWN/x", {}, "$UNKNOWN/x", True),
    ("${UNKNOWN}", {"UNKNOWN": None}, "${UNKNOWN}", True),
    ('"two words"', {}, "two words", False),
    ("'$A'", {"A": "1"}, "$A", False),
    ('"$A"', {"A": "1"}, "1", False),
    ("\\$A", {"A": "1"}, "$A", False),
    ("a$", {}, "a$", False),
    ("${A#pre}", {"A": "prefix"}, "${A#pre}", True),
])
def test_expand(word, env, expected, unresolved):
    assert expand(word, env) == (expected, unresolved)


def test_expand_custom_escape():
    assert expand("`$A", {"A": "1"}, "`") == ("$A", False)


# ---------------------------------------------------------------- image refs
# ---------------------------------------------------------------- ARG scoping
def test_global_arg_only_in_from_unless_redeclared():
    doc = facts(
        "ARG BASE=node:20\nARG PORT=3000\nFROM ${BASE}\nEXPOSE $PORT\nUSER ${BASE}\n"
        "FROM ${BASE} AS second\nARG PORT\nEXPOSE $PORT\n"
    )
    assert doc["global_args"] == {"BASE": "node:20", "PORT": "3000"}
    first = doc["stages"][0]
    assert first["base"]["resolved"] == "node:20" and first["base"]["tag"] == "20"
    assert first["user"]["name"] == "${BASE}"  # global ARG not visible inside the stage
    fs = doc["final_stage"]
    assert [(p["port"], p["resolved"]) for p in fs["exposed_ports"]] == [(3000, True)]
    assert fs["args"]["PORT"]["value"] == "3000"


def test_stage_arg_and_env_substitution_forms():
    fs = final(
        "FROM node:20\nARG APP=/app\nARG UNSET\nENV HOME_DIR=${APP}/home MODE=${MODE:-production} "
        "FLAG=${UNSET:+on}\nWORKDIR $HOME_DIR\nWORKDIR sub\nENV PORT=8080\nEXPOSE ${PORT}/udp\n"
    )
    assert fs["env"]["HOME_DIR"]["value"] == "/app/home"
    assert fs["env"]["MODE"]["value"] == "production"
    assert fs["env"]["FLAG"]["value"] == ""
    assert fs["workdir"] == "/app/home/sub"
    assert fs["exposed_ports"][0]["port"] == 8080 and fs["exposed_ports"][0]["protocol"] == "udp"


def test_env_uses_values_from_before_the_instruction_and_overrides_arg():
    fs = final("FROM a\nENV X=old\nENV X=new Y=$X\nARG X=argval\nENV Z=$X\n")
    assert fs["env"]["Y"]["value"] == "old"
    assert fs["env"]["Z"]["value"] == "new"  # ENV wins over ARG of the same name


def test_env_quotes_and_legacy_form():
    fs = final('FROM a\nENV A="two words" B=\'single\'\nENV LEGACY some value here\n')
    assert fs["env"]["A"]["value"] == "two words"
    assert fs["env"]["B"]["value"] == "single"
    assert fs["env"]["LEGACY"]["value"] == "some value here"


def test_unresolved_from_is_reported():
    doc = facts("ARG NODE_VERSION\nFROM node:${NODE_VERSION}-alpine\n")
    base = doc["stages"][0]["base"]
    assert base["unresolved"] is True and base["repository"] == "library/node"
    assert any(p["code"] == "unresolved_base" for p in doc["problems"])


def test_from_default_form_resolves():
    doc = facts("ARG NODE_VERSION\nFROM node:${NODE_VERSION:-20}-alpine AS b\n")
    assert doc["stages"][0]["base"]["resolved"] == "node:20-alpine" and doc["stages"][0]["name"] == "b"


# ---------------------------------------------------------------- stages
def test_from_stage_links_and_root_base():
    doc = facts(
        "FROM node:20 AS Base\nENV NODE_ENV=production\nUSER node\nEXPOSE 3000\n"
        "FROM base AS build\nRUN npm ci\nFROM build\nCMD [\"node\", \"s.js\"]\n"
    )
    stages = doc["stages"]
    assert [s["from_stage"] for s in stages] == [None, 0, 1]
    assert stages[0]["name"] == "base"  # stage names are case-insensitive
    fs = doc["final_stage"]
    assert fs["base"]["raw"] == "build" and fs["root_base"]["resolved"] == "node:20"
    assert fs["user"] == {"raw": "node", "name": "node", "group": None, "line": 3, "source": "stage", "uid": None}
    assert fs["env"]["NODE_ENV"]["value"] == "production"  # ENV inherited through FROM <stage>
    assert fs["exposed_ports"][0]["port"] == 3000
    assert fs["index"] == 2 and fs["name"] is None


def test_stage_not_inherited_without_from_link():
    fs = final("FROM node:20 AS a\nUSER node\nENV A=1\nFROM node:20\n")
    assert fs["user"]["source"] == "base" and fs["user"]["name"] is None and fs["env"] == {}


@pytest.mark.parametrize("user,name,group,uid", [
    ("root", "root", None, 0), ("0", "0", None, 0), ("1000:1000", "1000", "1000", 1000),
    ("node:node", "node", "node", None),
])
def test_user_split(user, name, group, uid):
    u = final(f"FROM a\nUSER {user}\n")["user"]
    assert (u["name"], u["group"], u["uid"], u["source"], u["line"]) == (name, group, uid, "instruction", 2)


def test_user_from_arg():
    u = final("FROM a\nARG UID=10001\nUSER ${UID}\n")["user"]
    assert u["raw"] == "${UID}" and u["uid"] == 10001


def test_scratch_stage():
    fs = final("FROM scratch\nCOPY app /app\n")
    assert fs["base"]["scratch"] is True and fs["root_base"]["scratch"] is True


# ---------------------------------------------------------------- ports
def test_exposed_ports():
    doc = facts("FROM a\nENV PORT=80\nEXPOSE $PORT 443/tcp 53/UDP 8000-8010/udp ${OTHER} abc 70000\n")
    ports = doc["final_stage"]["exposed_ports"]
    got = [(p["port"], p["end_port"], p["protocol"], p["resolved"]) for p in ports]
    assert got[:4] == [(80, 80, "tcp", True), (443, 443, "tcp", True), (53, 53, "udp", True),
                       (8000, 8010, "udp", True)]
    assert got[4] == (None, None, "tcp", False)  # unknown variable
    assert got[5] == (None, None, "tcp", False)  # not a port
    assert sum(p["code"] == "invalid_port" for p in doc["problems"]) == 2  # abc and 70000


# ---------------------------------------------------------------- processes
def test_exec_entrypoint_plus_exec_cmd():
    fs = final('FROM a\nENTRYPOINT ["tini", "--"]\nCMD ["node", "server.js"]\n')
    assert fs["process"] == {"argv": ["tini", "--", "node", "server.js"], "form": "exec", "shell_command": None,
                             "line": 3}
    assert fs["entrypoint"]["form"] == "exec" and fs["cmd"]["argv"] == ["node", "server.js"]


def test_exec_entrypoint_plus_shell_cmd():
    fs = final('FROM a\nENTRYPOINT ["tini", "--"]\nCMD node server.js\n')
    assert fs["process"]["argv"] == ["tini", "--", "/bin/sh", "-c", "node server.js"]
    assert fs["process"]["form"] == "exec"


def test_shell_entrypoint_ignores_cmd():
    fs = final('FROM a\nENTRYPOINT npm start\nCMD ["--port", "80"]\n')
    assert fs["process"] == {"argv": ["/bin/sh", "-c", "npm start"], "form": "shell", "shell_command": "npm start",
                             "line": 2}


def test_cmd_alone_shell_and_exec():
    fs = final("FROM a\nCMD npm run start -- --port=\"80\"\n")
    assert fs["cmd"] == {"form": "shell", "argv": ["npm", "run", "start", "--", "--port=80"],
                         "raw": 'npm run start -- --port="80"', "line": 2}
    assert fs["process"]["form"] == "shell" and fs["process"]["shell_command"] == 'npm run start -- --port="80"'
    assert final('FROM a\nCMD ["node", "a.js"]\n')["process"]["argv"] == ["node", "a.js"]


def test_no_process():
    assert final("FROM a\nRUN true\n")["process"] is None


def test_shell_instruction_changes_shell_form():
    fs = final('FROM a\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\nCMD node s.js\n')
    assert fs["process"]["argv"] == ["/bin/bash", "-o", "pipefail", "-c", "node s.js"]


def test_entrypoint_in_child_resets_inherited_cmd():
    fs = final('FROM a AS base\nCMD ["node", "x.js"]\nFROM base\nENTRYPOINT ["tini", "--"]\n')
    assert fs["cmd"] is None and fs["process"]["argv"] == ["tini", "--"]
    fs = final('FROM a AS base\nCMD ["node", "x.js"]\nFROM base\nRUN true\n')
    assert fs["process"]["argv"] == ["node", "x.js"]  # inherited when nothing resets it


def test_last_cmd_wins():
    fs = final('FROM a\nCMD ["a"]\nCMD ["b"]\n')
    assert fs["process"]["argv"] == ["b"] and fs["instruction_lines"]["cmd"] == [2, 3]


# ---------------------------------------------------------------- healthcheck, copies, runs
def test_healthcheck_forms():
    hc = final("FROM a\nHEALTHCHECK --interval=5s --retries=3 CMD curl -f http://localhost/ || exit 1\n")["healthcheck"]
    assert hc == {"line": 2, "none": False, "test": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"],
                  "flags": ["--interval=5s", "--retries=3"]}
    hc = final('FROM a\nHEALTHCHECK CMD ["node", "hc.js"]\n')["healthcheck"]
    assert hc["test"] == ["CMD", "node", "hc.js"]
    hc = final("FROM a\nHEALTHCHECK CMD true\nHEALTHCHECK NONE\n")["healthcheck"]
    assert hc["none"] is True and hc["line"] == 3


def test_copies_and_runs():
    fs = final(
        "FROM node:20 AS build\nRUN npm ci\nFROM node:20-slim\nWORKDIR /app\nCOPY package*.json ./\n"
        "COPY --from=build --chown=node:node --chmod=0755 --link /app/dist ./dist\nADD [\"a b\", \"/c\"]\n"
        "RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev\nRUN [\"node\", \"-v\"]\n"
    )
    assert fs["copies"] == [
        {"cmd": "COPY", "line": 5, "sources": ["package*.json"], "dest": "./", "from": None, "chown": None,
         "chmod": None, "link": False},
        {"cmd": "COPY", "line": 6, "sources": ["/app/dist"], "dest": "./dist", "from": "build",
         "chown": "node:node", "chmod": "0755", "link": True},
        {"cmd": "ADD", "line": 7, "sources": ["a b"], "dest": "/c", "from": None, "chown": None, "chmod": None,
         "link": False},
    ]
    assert [(r["line"], r["form"], r["command"], r["argv"]) for r in fs["runs"]] == [
        (8, "shell", "npm ci --omit=dev", None), (9, "exec", "node -v", ["node", "-v"])]
    assert fs["runs"][0]["flags"] == ["--mount=type=cache,target=/root/.npm"]
    assert fs["instruction_lines"]["from"] == 3 and fs["instruction_lines"]["copy"] == [5, 6]


def test_heredoc_run_kept():
    fs = final("FROM a\nRUN <<EOF\nnpm ci\nnpm run build\nEOF\n")
    assert fs["runs"][0]["heredocs"][0]["content"] == "npm ci\nnpm run build\n"


# ---------------------------------------------------------------- instructions
def test_instructions_carry_stage_and_can_be_trimmed():
    text = "ARG V=1\nFROM a\nRUN x\nFROM b\nRUN y\n"
    doc = facts(text)
    assert [(i["cmd"], i["stage"]) for i in doc["instructions"]] == [
        ("ARG", None), ("FROM", 0), ("RUN", 0), ("FROM", 1), ("RUN", 1)]
    assert [s["instruction_count"] for s in doc["stages"]] == [1, 1]
    small = facts(text, include_instructions=False)
    assert small["instructions"] == [] and small["final_stage"]["runs"][0]["command"] == "y"


def test_lowercase_keywords_and_onbuild():
    doc = facts("from node:20\nonbuild run echo hi\nuser node\n")
    assert [i["cmd"] for i in doc["instructions"]] == ["FROM", "ONBUILD", "USER"]
    assert doc["instructions"][1]["sub_cmd"] == "RUN"
    assert doc["final_stage"]["runs"] == [] and doc["final_stage"]["user"]["name"] == "node"


# ---------------------------------------------------------------- pragmas
def test_pragmas():
    doc = facts(
        "# refarch:ignore-file NRA004 reason=\"context is generated\"\nFROM a\n"
        "# refarch:ignore NRA002,NRA014 reason=legacy load balancer\n\nEXPOSE 80\n"
        "# hadolint ignore=DL3002,DL3007\nUSER root\n# hadolint global ignore=DL3008\n# refarch:ignore NRA001\n"
    )
    prag = doc["pragmas"]
    assert prag[0] == {"line": 1, "source": "refarch", "rules": ["NRA004"], "reason": "context is generated",
                       "applies_to_line": None, "scope": "file"}
    assert prag[1] == {"line": 3, "source": "refarch", "rules": ["NRA002", "NRA014"],
                       "reason": "legacy load balancer", "applies_to_line": 5, "scope": "line"}
    assert prag[2] == {"line": 6, "source": "hadolint", "rules": ["DL3002", "DL3007"], "reason": None,
                       "applies_to_line": 7, "scope": "line"}
    assert prag[3]["scope"] == "file" and prag[3]["rules"] == ["DL3008"]
    assert len(prag) == 4
    assert any(p["code"] == "dangling_pragma" and p["line"] == 9 for p in doc["problems"])


# ---------------------------------------------------------------- side files
def test_dockerignore_and_package_json():
    doc = facts(
        "FROM a\n",
        dockerignore=b"\xef\xbb\xbf# comment\nnode_modules\n\n  .git  \n!keep.me\r\n",
        package_json=json.dumps({"name": "app", "main": "server.js", "type": "module",
                                 "scripts": {"start": "node server.js", "n": 3},
                                 "engines": {"node": ">=20"}, "dependencies": {"a": "1", "b": "2"},
                                 "devDependencies": {"c": "1"}}).encode(),
    )
    assert doc["dockerignore"] == {"path": "/srv/app/.dockerignore", "exists": True,
                                   "patterns": ["node_modules", ".git", "!keep.me"], "error": None}
    pj = doc["package_json"]
    assert (pj["name"], pj["main"], pj["type"], pj["dependencies"], pj["dev_dependencies"]) == (
        "app", "server.js", "module", 2, 1)
    assert pj["scripts"] == {"start": "node server.js", "n": "3"} and pj["engines"] == {"node": ">=20"}


def test_missing_and_broken_side_files():
    doc = facts("FROM a\n")
    assert doc["dockerignore"]["exists"] is False and doc["package_json"]["exists"] is False
    assert doc["package_json"]["dependencies"] is None
    doc = facts("FROM a\n", dockerignore=b"\xff\xfe", package_json=b"{not json")
    assert doc["dockerignore"]["error"]["code"] == "decode_error"
    assert doc["package_json"]["error"]["code"] == "invalid_json"
    doc = facts("FROM a\n", package_json=b"[1]", dockerignore_error={"code": "permission_denied", "message": "no"})
    assert doc["package_json"]["error"]["code"] == "invalid_json"
    assert doc["dockerignore"] == {"path": "/srv/app/.dockerignore", "exists": True, "patterns": [],
                                   "error": {"code": "permission_denied", "message": "no"}}


# ---------------------------------------------------------------- secrets
CANARIES = ["canary-env-1d2c3b", "canary-arg-4e5f6a", "canary-npmrc-7b8c9d", "canary-url-0a1b2c",
            "canary-script-3c4d5e", "canary-legacy-6f7a8b"]


def test_secrets_never_leave():
    text = (
        f"ARG NPM_TOKEN={CANARIES[1]}\nFROM node:20\nARG NPM_TOKEN\n"
        f"ENV DB_PASSWORD={CANARIES[0]} PORT=80\nENV API_KEY {CANARIES[5]} more\n"
        f"RUN echo \"//registry.npmjs.org/:_authToken={CANARIES[2]}\" > .npmrc && npm ci\n"
        f"RUN git clone https://u:{CANARIES[3]}@example.com/r.git\n"
        f"RUN <<EOF\necho _auth={CANARIES[2]} >> .npmrc\nEOF\n"
        f"RUN echo {CANARIES[0]} > /tmp/x\n"
        "USER ${NPM_TOKEN}\n"
    )
    doc = facts(text, package_json=json.dumps({"scripts": {"start": f"SECRET_KEY={CANARIES[4]} node s"}}).encode())
    dumped = json.dumps(doc)
    for canary in CANARIES:
        assert canary not in dumped
    fs = doc["final_stage"]
    assert fs["env"]["DB_PASSWORD"] == {"value": REDACTED, "line": 4, "redacted": True}
    assert fs["env"]["PORT"] == {"value": "80", "line": 4, "redacted": False}
    assert fs["args"]["NPM_TOKEN"]["redacted"] is True
    assert doc["global_args"]["NPM_TOKEN"] == REDACTED


def test_custom_secret_names():
    doc = facts("FROM a\nENV ACME_PIN=4242xyz\n", secret_names=compile_secret_names(["_PIN$"]))
    assert "4242xyz" not in json.dumps(doc)


# ---------------------------------------------------------------- bad input
def test_binary_is_an_error_document():
    doc = dockerfile_facts("/x/Dockerfile", b"FROM node\x00\x01\x02" * 50)
    assert doc["error"] is not None and doc["problems"] and doc["stages"] == []
    assert not list(VALIDATOR.iter_errors(doc))


def test_non_utf8_is_reported():
    doc = dockerfile_facts("/x/Dockerfile", "FROM node:20\nLABEL a=\"Jos\xe9\"\n".encode("latin-1"))
    assert doc["error"] is not None or doc["problems"]
    assert not list(VALIDATOR.iter_errors(doc))


def test_malformed_json_and_unterminated_heredoc():
    doc = facts('FROM node:20\nCMD [\u201cnode\u201d, \u201cserver.js\u201d]\n')
    assert any(p["code"] == "malformed_json" for p in doc["problems"])
    assert doc["final_stage"]["process"]["form"] == "shell"
    doc = facts("FROM node:20\nRUN <<EOF\necho never ends\n")
    assert any(p["code"] == "unterminated_heredoc" for p in doc["problems"])


def test_empty_and_no_from():
    doc = facts("")
    assert doc["final_stage"] is None and doc["stages"] == []
    doc = facts("# just a comment\nRUN echo\n")
    assert doc["final_stage"] is None and doc["problems"]


def test_error_document_shape():
    doc = error_document("/x/Dockerfile", "too_large", "too big", size=10)
    assert not list(VALIDATOR.iter_errors(doc))
    assert doc["error"] == {"code": "too_large", "message": "too big"} and doc["sha256"] is None


def test_every_key_present_and_sha():
    doc = facts("FROM a\n", mtime=1.5)
    assert doc["sha256"] == hashlib.sha256(b"FROM a\n").hexdigest()
    assert (doc["size"], doc["mtime"], doc["name"], doc["context"]) == (7, 1.5, "Dockerfile", "/srv/app")


@pytest.mark.parametrize("line", [
    "RUN token " + "a-" * 30000,                       # was quadratic in the NAME=value scan
    "RUN token " + "a" * 60000,
    "RUN echo " + "x://" + "a:" * 30000,
    "ENV A=" + "${B:-" * 5000 + "x" + "}" * 5000,     # deep ${...:-...} nesting
    "EXPOSE " + "$P" * 20000,
])
def test_pathological_lines_finish(line):
    """Hang guard (not a timing threshold): each case takes well under a second; the guard is a minute."""
    def _alarm(signum, frame):
        raise TimeoutError("normalizing a hostile line did not finish")

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(60)
    try:
        doc = dockerfile_facts("/x/Dockerfile", ("FROM a\n" + line + "\n").encode())
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert doc["final_stage"] is not None


@pytest.mark.parametrize("text", [
    "FROM node:22\nUSER node\n\\\n",
    "FROM node:22\nUSER node\n\\\n\n# only a comment after it\n",
    "# escape=`\r\nFROM node:22\r\nUSER node\r\n`\r\n\r\n",
])
def test_a_trailing_escape_is_a_named_problem_not_an_internal_error(text):
    """BuildKit's parser returns an instruction with no command for it; the facts leave it out."""
    doc = facts(text)
    assert doc["error"] is None
    codes = [p["code"] for p in doc["problems"]]
    assert codes.count("empty_continuation") == 1, doc["problems"]
    assert [i["cmd"] for i in doc["instructions"]] == ["FROM", "USER"]
    assert doc["final_stage"]["user"]["name"] == "node"


def test_a_file_of_only_a_trailing_escape_is_empty_not_an_internal_error():
    doc = facts("# escape=`\r\n\r`\r\n\r\n")
    codes = {p["code"] for p in doc["problems"]}
    assert "empty_continuation" in codes and "internal_error" not in codes
    assert doc["instructions"] == []


# ---------------------------------------------------------------- lines that are not instructions
KEY = """-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACBzcWNhbmFyeXpxY2FuYXJ5enFjYW5hcnl6cWNhbmFyeQAAAJgzcWNhbmFy
-----END OPENSSH PRIVATE KEY-----
"""


def test_a_key_file_leaves_nothing_of_its_lines():
    doc = facts(KEY)
    text = json.dumps(doc)
    for line in KEY.splitlines():
        for word in line.split():
            assert word not in text, word
    assert [p["code"] for p in doc["problems"]].count("unknown_instruction") == 4
    assert [(i["cmd"], i["original"], i["value"], i["start_line"]) for i in doc["instructions"]] == [
        ("?", "?", [], n) for n in range(1, 5)]


def test_unknown_instruction_keeps_a_keyword_shaped_word_only():
    doc = facts("FROM node:22\nRUNN curl -H 'X-Api-Key: zz-leak' x\nUSER node\n")
    bad = doc["instructions"][1]
    assert (bad["cmd"], bad["original"], bad["value"], bad["flags"], bad["stage"]) == ("RUNN", "RUNN", [], [], 0)
    assert "zz-leak" not in json.dumps(doc)
    assert doc["final_stage"]["user"]["name"] == "node"


def test_package_json_error_does_not_echo_content():
    doc = facts("FROM node:22\n", package_json=b'{"scripts": {"start": "zz-leak-token"}, oops}')
    err = doc["package_json"]["error"]
    assert err["code"] == "invalid_json" and "zz-leak" not in err["message"] and "line 1 column" in err["message"]


def test_unknown_pragma_kind_is_bounded():
    doc = facts("# refarch:zz-leak-token NRA001\nFROM node:22\n")
    [problem] = [p for p in doc["problems"] if p["code"] == "invalid_pragma"]
    assert "zz-leak" not in problem["message"]


def test_side_texts_redacted_in_runs_as_one_by_one():
    """``_redact_texts`` (clean runs skipped in one test) gives what ``Redactor.text`` gives text by text, in
    order: a secret one text reveals is hidden in the texts after it, and only there."""
    secret = "Zq8vK2mN4pR7sT1u"
    clean = [f"node_modules/{i}" for i in range(40)]
    texts = [*clean[:3], f"echo {secret}",  # before the secret is known: kept
             *clean[3:17], f"--password={secret}", f"echo {secret[:9]}...", *clean[17:], f"cat {secret}",
             "a \\\n--token=" + secret + "x", "dist", *clean]
    for names in (None, compile_secret_names(["node_mod"])):
        for values in (True, False):
            one, run = Redactor(names or SECRET_NAME_RE), Redactor(names or SECRET_NAME_RE)
            expected = [one.text(t, "", values) for t in texts]
            assert _redact_texts(texts, run, values) == expected
            assert run.secret_values == one.secret_values
    assert expected[3] == f"echo {secret}" and f"cat {REDACTED}" in expected
    assert sum(t != e for t, e in zip(texts, expected, strict=True)) == 4
