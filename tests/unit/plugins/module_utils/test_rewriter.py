"""Tests for the Dockerfile rewriter (``plugins/module_utils/_rewriter.py``).

Focused cases for every fix, then every Dockerfile of ``../shared/corpus``: the rewritten
file parses with BuildKit's own parser (the PyPI ``dockerfile`` binding), the lines no fix
reports are unchanged, a second pass changes nothing, and (with the real OPA binary and the
policy bundle) every fixable finding is either gone or its fix reports why it was skipped,
and no new finding appears.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import dockerfile
import pytest
from ansible_collections.refarch.containers.plugins.module_utils import _dockerfile_facts
from ansible_collections.refarch.containers.plugins.module_utils import _rewriter as R
from ansible_collections.refarch.containers.plugins.module_utils._context_files import ContextFiles
from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_parser import parse

REPO = Path(__file__).resolve().parents[4]
CORPUS = REPO.parent / "shared" / "corpus" / "cases"
OPA = os.environ.get("OPA") or str(REPO / ".tools" / "bin" / "opa")
DATE = "2026-11-28"
TABLE = {"node_releases": {
    "8": {"codename": "carbon", "lts_start": "2017-10-31", "eol": "2019-12-31"},
    "16": {"lts_start": "2021-10-26", "eol": "2023-09-11"},
    "18": {"lts_start": "2022-10-25", "eol": "2025-04-30"},
    "20": {"lts_start": "2023-10-24", "eol": "2026-04-30"},
    "21": {"lts_start": None, "eol": "2024-06-01"},
    "22": {"lts_start": "2024-10-29", "eol": "2027-04-30"},
    "24": {"lts_start": "2025-10-28", "eol": "2028-04-30"},
    "26": {"lts_start": "2026-10-20", "eol": "2029-04-30"},
}}


def rw(text: str, fixes, **ctx) -> dict:
    ctx.setdefault("evaluation_date", DATE)
    ctx.setdefault("base_image_table", TABLE)
    return R.rewrite(text, fixes if isinstance(fixes, list) else [fixes], ctx)


def buildkit_ok(text: str) -> list:
    """Parse with BuildKit (raises on a parse error) and return the instructions."""
    return list(dockerfile.parse_string(text))


def applied(res: dict) -> list:
    return [a["fix"] for a in res["applied"]]


def skip_reason(res: dict, fix: str) -> str:
    reasons = [s["reason"] for s in res["skipped"] if s["fix"] == fix and not s.get("not_needed")]
    assert reasons, f"expected {fix} to be skipped with a reason, got {res!r}"
    return reasons[0]


def not_needed(res: dict, fix: str) -> bool:
    return any(s["fix"] == fix and s.get("not_needed") for s in res["skipped"])


def check_idempotent(text: str, fixes, **ctx) -> dict:
    first = rw(text, fixes, **ctx)
    buildkit_ok(first["text"])
    second = rw(first["text"], fixes, **dict(ctx, dockerignore_text=first["dockerignore"])
                if first["dockerignore"] is not None else ctx)
    assert second["text"] == first["text"], "second pass changed the file"
    assert second["applied"] == []
    return first


# --------------------------------------------------------------------------- general behaviour

def test_untouched_lines_and_crlf_are_kept():
    text = ("# comment kept  \r\nFROM node:22-bookworm-slim\r\nWORKDIR /app\r\nCOPY . .   \r\n"
            "RUN npm ci --omit=dev\r\nCMD node server.js")
    res = check_idempotent(text, ["exec_form_cmd", "add_non_root_user"])
    out = res["text"]
    assert out.startswith("# comment kept  \r\nFROM node:22-bookworm-slim\r\nWORKDIR /app\r\n")
    assert "\nRUN npm ci --omit=dev\r\n" in out
    assert "USER 1000\r\n" in out
    assert out.endswith('CMD ["node", "server.js"]')      # no final newline before, none after
    assert "\n" not in out.replace("\r\n", "")            # every new line uses CRLF
    assert applied(res) == ["exec_form_cmd", "add_non_root_user"]


def test_fix_order_is_fixed_and_rule_ids_are_accepted():
    text = "FROM node:22\nWORKDIR /app\nCOPY . .\nCMD node a.js\n"
    a = rw(text, ["NRA001", "exec_form_cmd"])
    b = rw(text, ["add_non_root_user", "NRA011"])
    assert a["text"] == b["text"]
    assert applied(a) == ["exec_form_cmd", "add_non_root_user"]
    assert a["applied"][1]["rule_id"] == "NRA001"


def test_unknown_fix_is_reported():
    res = rw("FROM node:22\nCMD [\"node\", \"a.js\"]\n", ["frobnicate", "manual"])
    assert res["text"].endswith('CMD ["node", "a.js"]\n')
    assert res["skipped"] == [{"fix": "frobnicate", "reason": "unknown fix or rule id"}]


def test_lowercase_files_get_lowercase_instructions():
    text = "from node:22\nworkdir /app\ncopy . .\ncmd [\"node\", \"a.js\"]\n"
    out = check_idempotent(text, "add_non_root_user")["text"]
    assert "\nuser 1000\n" in out
    assert "copy --chown=1000:1000 . .\n" in out


def test_applied_lines_cover_every_changed_original_line():
    text = "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\nEXPOSE 80\nENV PORT=80\nCMD npm start\n"
    res = rw(text, ["all"], package_json={"exists": True, "scripts": {"start": "node index.js"}})
    assert_untouched(text, res)


def assert_untouched(before: str, res: dict) -> None:
    """Every original line that no applied fix reports is still in the output, in order."""
    touched = set()
    for a in res["applied"]:
        if a.get("file") != ".dockerignore":
            touched.update(a["lines"])
    old = before.split("\n")
    new = iter(res["text"].split("\n"))
    # A subsequence test, not a diff: with repeated lines (two "RUN npm ci") a diff may pair the moved
    # copy with the unmoved one and blame a line no fix touched.
    for n, line in enumerate(old, 1):
        if n in touched or (n == len(old) and line == ""):
            continue
        assert any(out == line for out in new), (
            f"line {n} {line!r} is missing or out of order, and no fix reports it ({res['applied']!r})")


# --------------------------------------------------------------------------- add_non_root_user

def test_non_root_node_image():
    text = ("FROM node:22-bookworm-slim\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci --omit=dev\n"
            "COPY docker-entrypoint.sh /usr/local/bin/\nCOPY . .\nEXPOSE 8080\nCMD [\"node\", \"server.js\"]\n")
    out = check_idempotent(text, "add_non_root_user")["text"].split("\n")
    assert out[2] == "COPY --chown=1000:1000 package*.json ./"
    assert out[4] == "COPY docker-entrypoint.sh /usr/local/bin/"       # system path stays root-owned
    assert out[5] == "COPY --chown=1000:1000 . ."
    assert out[6] == "RUN chown 1000:1000 /app"                         # the WORKDIR itself (root:root 0755)
    assert out[7] == "USER 1000"                                        # after the last build step
    assert out[8] == "EXPOSE 8080"


def test_non_root_replaces_trailing_user_root():
    text = "FROM node:22\nWORKDIR /app\nCOPY --chown=node:node . .\nUSER root\nCMD [\"node\", \"a.js\"]\n"
    res = check_idempotent(text, "add_non_root_user")
    assert res["text"] == ("FROM node:22\nWORKDIR /app\nCOPY --chown=node:node . .\nRUN chown 1000:1000 /app\n"
                           "USER 1000\nCMD [\"node\", \"a.js\"]\n")
    assert res["applied"][0]["lines"] == [4]
    # the USER before it is not root: the ownership step switches to root first
    text = "FROM node:22\nWORKDIR /app\nUSER node\nCOPY . .\nUSER root\nCMD [\"node\", \"a.js\"]\n"
    out = check_idempotent(text, "add_non_root_user")["text"]
    assert "COPY --chown=1000:1000 . .\nUSER 0\nRUN chown 1000:1000 /app\nUSER 1000\nCMD" in out, out


def test_non_root_keeps_user_root_needed_by_a_later_run():
    text = "FROM node:22\nUSER 0\nRUN apt-get update\nCMD [\"node\", \"a.js\"]\n"
    out = check_idempotent(text, "add_non_root_user")["text"]
    assert out == "FROM node:22\nUSER 0\nRUN apt-get update\nUSER 1000\nCMD [\"node\", \"a.js\"]\n"


def test_non_root_not_needed():
    assert not_needed(rw("FROM node:22\nUSER node\nCMD [\"node\", \"a.js\"]\n", "add_non_root_user"),
                      "add_non_root_user")
    ubi = "FROM registry.access.redhat.com/ubi9/nodejs-22\nCMD [\"node\", \"a.js\"]\n"
    assert not_needed(rw(ubi, "add_non_root_user"), "add_non_root_user")
    staged = "FROM node:22 AS base\nUSER node\nFROM base\nCMD [\"node\", \"a.js\"]\n"
    assert not_needed(rw(staged, "add_non_root_user"), "add_non_root_user")


def test_non_root_creates_user_on_plain_alpine_and_skips_unknown():
    out = check_idempotent("FROM alpine:3.20\nRUN apk add --no-cache nodejs\nCMD [\"node\", \"a.js\"]\n",
                           "add_non_root_user")["text"]
    assert "RUN addgroup -S -g 10001 app && adduser -S -D -H -u 10001 -G app app\nUSER 10001:10001\n" in out
    res = rw("FROM example.com/custom/runtime:1\nCMD [\"node\", \"a.js\"]\n", "add_non_root_user")
    assert "cannot tell how to create a user" in skip_reason(res, "add_non_root_user")


def _status(res: dict, fix: str) -> dict:
    return next(e for e in res["fix_status"] if e["fix"] == fix)


def test_non_root_owns_workdir_and_volumes_and_leaves_system_dirs():
    text = ("FROM node:22-bookworm-slim\nWORKDIR /srv/app\nVOLUME /srv/app/uploads\nCOPY . .\n"
            "VOLUME [\"/data\", \"/var/lib\"]\nCMD [\"node\", \"a.js\"]\n")
    res = check_idempotent(text, "add_non_root_user")
    out = res["text"]
    # a VOLUME declared before the last build step is owned right before it (a step after it may be discarded)
    assert "WORKDIR /srv/app\nRUN mkdir -p /srv/app/uploads && chown 1000:1000 /srv/app/uploads\nVOLUME " in out
    assert "COPY --chown=1000:1000 . .\nRUN mkdir -p /data && chown 1000:1000 /srv/app /data\nUSER 1000\n" in out
    entry = _status(res, "add_non_root_user")
    assert entry["status"] == "partly_applied" and entry["claims"] == ["NRA001"], entry
    assert entry["reason"] == "the VOLUME /var/lib is a system directory, so its owner is not changed"
    # WORKDIR / and a directory the Dockerfile already chowns are left alone
    res = check_idempotent("FROM node:22\nCOPY . /app\nCMD [\"node\", \"/app/a.js\"]\n", "add_non_root_user")
    assert "chown" not in res["text"] and _status(res, "add_non_root_user")["status"] == "applied"
    text = "FROM node:22\nWORKDIR /app\nRUN chown -R node:node /app\nCMD [\"node\", \"a.js\"]\n"
    assert check_idempotent(text, "add_non_root_user")["text"].count("chown") == 1
    # a WORKDIR set after the last build step does not exist yet where the step goes: made first
    text = "FROM node:22\nRUN npm i -g serve\nWORKDIR /site\nCMD [\"serve\"]\n"
    out = check_idempotent(text, "add_non_root_user")["text"]
    assert "RUN npm i -g serve\nRUN mkdir -p /site && chown 1000:1000 /site\nUSER 1000\nWORKDIR /site\n" in out, out


def test_non_root_on_distroless_and_ubi_minimal():
    text = "FROM gcr.io/distroless/nodejs22-debian12\nWORKDIR /app\nCOPY . .\nCMD [\"a.js\"]\n"
    res = check_idempotent(text, "add_non_root_user")
    assert "RUN" not in res["text"] and "USER 65532\n" in res["text"]
    entry = _status(res, "add_non_root_user")
    assert entry["status"] == "partly_applied" and entry["claims"] == ["NRA001"], entry
    assert "/app stay owned by root: the distroless base has no shell" in entry["reason"]
    text = "FROM registry.access.redhat.com/ubi9/ubi-minimal:9.4\nWORKDIR /app\nCOPY . .\nCMD [\"node\", \"a.js\"]\n"
    out = check_idempotent(text, "add_non_root_user")["text"]
    assert ("RUN microdnf install -y shadow-utils && microdnf clean all && groupadd --system --gid 10001 app && "
            "useradd --system --uid 10001 --gid 10001 --no-create-home app\nRUN chown 10001:10001 /app\n"
            "USER 10001:10001\n") in out, out


def test_non_root_declines_when_the_app_binds_a_privileged_port_itself(tmp_path):
    """The clash of issue 16: a hard-coded port 80 keeps NRA002 skipped, and a non-root user could not bind it."""
    docker = "FROM node:22\nWORKDIR /app\nCOPY . .\nEXPOSE 80\nCMD node server.js\n"
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        def run(source, fixes=("remap_privileged_ports", "add_non_root_user", "exec_form_cmd")):
            (tmp_path / "server.js").write_text(source)
            return R.rewrite(docker, list(fixes), {"read_file": ContextFiles(fd, str(tmp_path))})

        res = run("const port = 80\nrequire('http').createServer().listen(port)\n")
        entry = _status(res, "add_non_root_user")
        assert (entry["status"], entry["claims"]) == ("skipped", []), entry
        assert entry["reason"].startswith("the application binds privileged port 80 itself (server.js line 1): as a "
                                          "non-root user it could not bind that port"), entry
        assert _status(res, "remap_privileged_ports")["status"] == "skipped"
        assert _status(res, "exec_form_cmd")["status"] == "applied"          # the other fixes still run
        assert "USER" not in res["text"] and "EXPOSE 80\n" in res["text"]
        # declined with only the non-root fix asked for, too
        assert _status(run("app.listen(443)\n", ["add_non_root_user"]), "add_non_root_user")["status"] == "skipped"
        # a variable whose default is privileged and that the Dockerfile leaves unset
        res = run("app.listen(process.env.PORT || 80)\n", ["add_non_root_user"])
        assert "listens on PORT, unset in the Dockerfile, so on its default: privileged port 80" in \
            _status(res, "add_non_root_user")["reason"]
        # the port fix sets the variable first: then the user is added
        res = run("app.listen(process.env.PORT || 80)\n")
        assert [_status(res, f)["status"] for f in ("remap_privileged_ports", "add_non_root_user")] == \
            ["applied", "applied"], res["fix_status"]
        # a hard-coded unprivileged port is no obstacle
        assert _status(run("app.listen(3000)\n", ["add_non_root_user"]), "add_non_root_user")["status"] == "applied"
        # no application files (no build context): nothing is known, the fix goes ahead as before
        assert _status(R.rewrite(docker, ["add_non_root_user"], {}), "add_non_root_user")["status"] == "applied"
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- remap_privileged_ports

def _app(**files):
    """A ``read_file`` over in-memory build-context files (the host passes ``_context_files.ContextFiles``)."""
    return lambda rel: (files[rel], None) if rel in files else (None, f"/ctx/{rel} does not exist")


READS_PORT = _app(**{"a.js": "const port = process.env.PORT || 3000\nrequire('http').createServer().listen(port)\n"})


CMD_A = "CMD [\"node\", \"a.js\"]\n"


def test_ports_remapped_with_env():
    text = "FROM node:22\nCOPY a.js ./\nENV PORT=80 HOST=0.0.0.0\nEXPOSE 80 3000\n" + CMD_A
    res = check_idempotent(text, "remap_privileged_ports", read_file=READS_PORT)
    assert res["text"] == "FROM node:22\nCOPY a.js ./\nENV PORT=8080 HOST=0.0.0.0\nEXPOSE 8080 3000\n" + CMD_A
    # several privileged ports cannot all follow the one variable the app reads: nothing changes
    text = "FROM node:22\nCOPY a.js ./\nENV PORT=80 HOST=0.0.0.0\nEXPOSE 80 443/tcp 22/udp 3000\n" + CMD_A
    res = rw(text, "remap_privileged_ports", read_file=READS_PORT)
    assert res["text"] == text
    assert "several privileged ports (22, 80, 443)" in skip_reason(res, "remap_privileged_ports")


def test_ports_variable_and_custom_map():
    text = "FROM node:22\nCOPY a.js ./\nENV PORT 80\nEXPOSE $PORT\n" + CMD_A
    res = check_idempotent(text, "remap_privileged_ports", port_map={80: 3000}, read_file=READS_PORT)
    assert res["text"] == "FROM node:22\nCOPY a.js ./\nENV PORT 3000\nEXPOSE $PORT\n" + CMD_A


def test_ports_unmapped_skip_and_ranges():
    text = "FROM node:22\nCOPY . .\nEXPOSE 80\n" + CMD_A
    res = rw(text, "remap_privileged_ports", port_map={443: 8443}, port_offset=None, read_file=READS_PORT)
    assert res["text"] == text
    assert "no mapping for port 80" in skip_reason(res, "remap_privileged_ports")
    res = rw("FROM node:22\nCOPY . .\nEXPOSE 80-90\n" + CMD_A, "remap_privileged_ports", read_file=READS_PORT)
    assert "range" in skip_reason(res, "remap_privileged_ports")
    assert not_needed(rw("FROM node:22\nEXPOSE 3000\n", "remap_privileged_ports"), "remap_privileged_ports")
    # without the application's source nothing is changed for NRA002
    res = rw(text, "remap_privileged_ports")
    assert res["text"] == text
    assert "source was not read" in skip_reason(res, "remap_privileged_ports")


# --------------------------------------------------------------------------- replace_npm_start

PKG = {"exists": True, "error": None, "main": "index.js",
       "scripts": {"start": "node --max-http-header-size=16384 -r dotenv/config server.js",
                   "serve": "node dist/main.js", "dev": "nodemon server.js", "env": "NODE_ENV=production node a.js",
                   "pipe": "node a.js | pino-pretty", "next": "next start -p 3000"}}


@pytest.mark.parametrize("cmd, expected", [
    ('CMD ["npm", "start"]', 'CMD ["node", "--max-http-header-size=16384", "-r", "dotenv/config", "server.js"]'),
    ("CMD npm start", 'CMD ["node", "--max-http-header-size=16384", "-r", "dotenv/config", "server.js"]'),
    ('CMD ["npm", "run", "serve"]', 'CMD ["node", "dist/main.js"]'),
    ('CMD ["yarn", "serve"]', 'CMD ["node", "dist/main.js"]'),
    ('cmd ["pnpm", "run", "serve", "--", "--port", "3000"]', 'cmd ["node", "dist/main.js", "--port", "3000"]'),
    ('ENTRYPOINT ["/usr/bin/tini", "--", "npm", "run", "serve"]',
     'ENTRYPOINT ["/usr/bin/tini", "--", "node", "dist/main.js"]'),
])
def test_npm_start_replaced(cmd, expected):
    text = f"FROM node:22\nWORKDIR /app\n{cmd}\n"
    res = check_idempotent(text, "replace_npm_start", package_json=PKG)
    assert res["text"] == f"FROM node:22\nWORKDIR /app\n{expected}\n"


def test_npm_start_sets_the_script_variables_with_env():
    # NODE_ENV=production node a.js / cross-env: the variables go to ENV before the process, which runs node
    res = check_idempotent("FROM node:22\nWORKDIR /app\nCMD [\"npm\", \"run\", \"env\"]\n", "replace_npm_start",
                           package_json=PKG)
    assert res["text"] == "FROM node:22\nWORKDIR /app\nENV NODE_ENV=production\nCMD [\"node\", \"a.js\"]\n"
    assert res["applied"][0]["warning"] == "the env script sets NODE_ENV for the process: set with ENV"
    pkg = {"exists": True, "scripts": {"start": "cross-env NODE_ENV=production TZ=UTC node src/index.js"}}
    res = check_idempotent("FROM node:22\nCMD npm start\n", ["exec_form_cmd", "replace_npm_start"], package_json=pkg)
    assert res["text"] == "FROM node:22\nENV NODE_ENV=production TZ=UTC\nCMD [\"node\", \"src/index.js\"]\n"
    # an ENV before a CMD that later RUNs follow would reach them (NODE_ENV=production changes npm install)
    res = rw("FROM node:22\nCMD [\"npm\", \"run\", \"env\"]\nRUN npm ci\n", "replace_npm_start", package_json=PKG)
    assert "would reach other steps of the build" in skip_reason(res, "replace_npm_start")


def test_npm_start_uses_main_when_no_start_script():
    res = rw("FROM node:22\nCMD [\"npm\", \"start\"]\n", "replace_npm_start",
             package_json={"exists": True, "main": "lib/app.js", "scripts": {}})
    assert res["text"] == "FROM node:22\nCMD [\"node\", \"lib/app.js\"]\n"


@pytest.mark.parametrize("cmd, pkg, reason", [
    # nodemon becomes node only when its configuration can be checked (no build context given here)
    ('CMD ["npm", "run", "dev"]', PKG, "nodemon, a development file watcher: nodemon's configuration"),
    ('CMD ["npm", "start"]', {"exists": True, "scripts": {"start": "vite --host"}}, "development tool"),
    # a variable that may hold a secret is not written into ENV (the image's configuration)
    ('CMD ["npm", "start"]', {"exists": True, "scripts": {"start": "API_TOKEN=x1 node a.js"}}, "may hold a secret"),
    ('CMD ["npm", "start"]', {"exists": True, "scripts": {"start": "A='x y' node a.js"}}, "sets variables"),
    ('CMD ["npm", "run", "pipe"]', PKG, "shell features"),
    ('CMD ["npm", "start"]', None, "package.json is not available"),
    ('CMD ["npm", "start"]', {"exists": True, "scripts": {"start": "node a.js", "prestart": "x"}}, "'prestart'"),
    ('CMD ["npm", "start"]', {"exists": True, "scripts": {"start": "ts-node a.ts"}}, "not node"),
    ('CMD ["npm", "run", "missing"]', PKG, "no 'missing' script"),
])
def test_npm_start_skips(cmd, pkg, reason):
    res = rw(f"FROM node:22\n{cmd}\n", "replace_npm_start", package_json=pkg)
    assert res["text"] == f"FROM node:22\n{cmd}\n"
    assert reason in skip_reason(res, "replace_npm_start")


def test_npm_start_production_cli_needs_a_production_dependency():
    text = "FROM node:22\nWORKDIR /app\nCMD [\"npm\", \"run\", \"next\"]\n"
    res = rw(text, "replace_npm_start", package_json=PKG, package_dependencies=["next", "react"])
    assert res["text"].endswith('CMD ["node", "node_modules/.bin/next", "start", "-p", "3000"]\n')
    res = rw(text, "replace_npm_start", package_json=PKG, package_dependencies=["react"])
    assert "not a production dependency" in skip_reason(res, "replace_npm_start")


# --------------------------------------------------------------------------- exec_form_cmd

@pytest.mark.parametrize("before, after", [
    ("CMD node server.js", 'CMD ["node", "server.js"]'),
    ("CMD exec node server.js --port 80", 'CMD ["node", "server.js", "--port", "80"]'),
    ('CMD node "my app.js"', 'CMD ["node", "my app.js"]'),
    ('CMD ["sh", "-c", "node server.js"]', 'CMD ["node", "server.js"]'),
    ("ENTRYPOINT node server.js", 'ENTRYPOINT ["node", "server.js"]'),
    ("CMD node \\\n    server.js", 'CMD ["node", "server.js"]'),
])
def test_exec_form(before, after):
    res = check_idempotent(f"FROM node:22\n{before}\n", "exec_form_cmd")
    assert res["text"] == f"FROM node:22\n{after}\n"


@pytest.mark.parametrize("before", [
    "CMD node a.js && node b.js", "CMD node a.js > log", "CMD node *.js", "CMD (node a.js)",
    "CMD node a.js | tee x", "CMD NODE_ENV=production node a.js",
    # parameter expansion together with another shell feature, a program named by a variable, a shell word
    "CMD node $APP > log", "CMD $NODE a.js", "CMD cd $DIR", "CMD node $(cat app)", "CMD node ${APP:-$(x)}",
    'CMD ["sh", "-c", "node $APP; node b.js"]',
])
def test_exec_form_skips_shell_features(before):
    res = rw(f"FROM node:22\n{before}\n", "exec_form_cmd")
    assert res["text"] == f"FROM node:22\n{before}\n"
    assert skip_reason(res, "exec_form_cmd")


@pytest.mark.parametrize("base, before, after", [
    # shell form that expands parameters: the same /bin/sh -c runs it, with exec (the program becomes PID 1)
    ("node:22", "CMD node $APP", 'CMD ["/bin/sh", "-c", "exec node $APP"]'),
    ("node:22-alpine", "CMD node server.js --listen ${HOST:-0.0.0.0}:$PORT",
     'CMD ["/bin/sh", "-c", "exec node server.js --listen ${HOST:-0.0.0.0}:$PORT"]'),
    ("node:22", "ENTRYPOINT node \"$APP_DIR/server.js\"",
     'ENTRYPOINT ["/bin/sh", "-c", "exec node \\"$APP_DIR/server.js\\""]'),
    # an exec-form wrapper keeps the shell it names
    ("node:22", 'CMD ["bash", "-c", "npm run start:${NODE_ENV}"]',
     'CMD ["bash", "-c", "exec npm run start:${NODE_ENV}"]'),
])
def test_exec_form_runs_parameter_expansions_with_exec(base, before, after):
    res = check_idempotent(f"FROM {base}\n{before}\n", "exec_form_cmd")
    assert res["text"] == f"FROM {base}\n{after}\n"
    [entry] = [e for e in res["fix_status"] if e["fix"] == "exec_form_cmd"]
    assert entry["status"] == "applied", entry
    [applied] = [a for a in res["applied"] if a["fix"] == "exec_form_cmd"]
    assert "now with exec: the program replaces the shell as PID 1" in applied["warning"]
    # NRA011 reads the result as a command that execs its program (no finding)
    facts = _dockerfile_facts.dockerfile_facts("Dockerfile", res["text"].encode(), None, None)
    key = "cmd" if "CMD" in after else "entrypoint"
    assert facts["final_stage"][key]["form"] == "exec" and facts["final_stage"][key]["argv"][2].startswith("exec ")


@pytest.mark.parametrize("text", [
    # an unknown base image may not run shell-form commands with /bin/sh (a Windows image runs cmd)
    "FROM stefanscherer/node-windows:20\nCMD node $APP\n",
    # a SHELL of the stage runs the shell form
    'FROM node:22\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\nCMD node $APP\n',
    # an ENTRYPOINT that is node gets the CMD as its arguments: wrapping it changes nothing of that
    'FROM node:22\nENTRYPOINT ["node"]\nCMD app.js --port $PORT\n',
])
def test_exec_form_leaves_parameter_expansions_it_cannot_place(text):
    res = rw(text, "exec_form_cmd")
    assert res["text"] == text and skip_reason(res, "exec_form_cmd")


def test_exec_form_shell_entrypoint_with_cmd_is_skipped():
    res = rw('FROM node:22\nENTRYPOINT node a.js\nCMD ["--x"]\n', "exec_form_cmd")
    assert "CMD would be appended" in skip_reason(res, "exec_form_cmd")


# --------------------------------------------------------------------------- add_init_process

def test_init_on_debian_node_image():
    text = "FROM node:22-bookworm-slim\nWORKDIR /app\nCOPY . .\nCMD [\"node\", \"a.js\"]\n"
    out = check_idempotent(text, "add_init_process")["text"]
    assert out == ("FROM node:22-bookworm-slim\n"
                   "RUN apt-get update && apt-get install -y --no-install-recommends tini && "
                   "rm -rf /var/lib/apt/lists/*\nWORKDIR /app\nCOPY . .\n"
                   "ENTRYPOINT [\"/usr/bin/tini\", \"--\"]\nCMD [\"node\", \"a.js\"]\n")


def test_init_on_alpine_with_dumb_init_and_existing_entrypoint():
    text = "FROM node:22-alpine\nENTRYPOINT [\"docker-entrypoint.sh\"]\nCMD [\"node\", \"a.js\"]\n"
    out = check_idempotent(text, "add_init_process", init_tool="dumb-init")["text"]
    assert out == ("FROM node:22-alpine\nRUN apk add --no-cache dumb-init\n"
                   "ENTRYPOINT [\"/usr/bin/dumb-init\", \"--\", \"docker-entrypoint.sh\"]\nCMD [\"node\", \"a.js\"]\n")


def test_init_on_ubi_minimal_switches_to_root_for_the_install():
    text = "FROM registry.access.redhat.com/ubi9/nodejs-22-minimal:1\nCMD [\"node\", \"a.js\"]\n"
    out = check_idempotent(text, "add_init_process")["text"]
    assert "\nUSER 0\nRUN microdnf install -y tini && microdnf clean all\nUSER 1001\n" in out
    assert 'ENTRYPOINT ["/usr/bin/tini", "--"]\nCMD ["node", "a.js"]' in out


def test_init_restates_node_image_defaults_and_skips_unknowns():
    out = check_idempotent("FROM node:22\nRUN npm i -g typescript\n", "add_init_process")["text"]
    assert out.endswith('ENTRYPOINT ["/usr/bin/tini", "--", "docker-entrypoint.sh"]\nCMD ["node"]\n')
    assert not_needed(rw('FROM node:22\nENTRYPOINT ["tini", "--"]\nCMD ["node", "a.js"]\n', "add_init_process"),
                      "add_init_process")
    res = rw('FROM gcr.io/distroless/nodejs22-debian12\nCMD ["a.js"]\n', "add_init_process")
    assert "no package manager" in skip_reason(res, "add_init_process")
    res = rw("FROM node:22\nENTRYPOINT node a.js\n", "add_init_process")
    assert "shell form" in skip_reason(res, "add_init_process")


def test_init_on_a_base_it_does_not_know_uses_the_package_manager_the_dockerfile_shows():
    # the Dockerfile's own apt-get/apk RUN on that base shows its package manager: the init goes right before that
    # RUN (as the user shown able to install)
    text = ("FROM ghcr.io/team/node-browser:21\nUSER root\nRUN apt-get update && apt-get install -y fonts-noto\n"
            "USER app\nCMD [\"node\", \"index.js\"]\n")
    out = check_idempotent(text, "add_init_process")["text"]
    assert out == ("FROM ghcr.io/team/node-browser:21\nUSER root\n"
                   "RUN apt-get update && apt-get install -y --no-install-recommends tini && "
                   "rm -rf /var/lib/apt/lists/*\n"
                   "RUN apt-get update && apt-get install -y fonts-noto\nUSER app\n"
                   "ENTRYPOINT [\"/usr/bin/tini\", \"--\"]\nCMD [\"node\", \"index.js\"]\n")
    # shown in another stage on the same base only: as root after the final stage's first USER
    text = ("FROM example.com/node-red:4 AS deps\nRUN apk add --no-cache curl\nFROM example.com/node-red:4\n"
            "USER node-red\nCMD [\"node\", \"red.js\"]\n")
    out = check_idempotent(text, "add_init_process")["text"]
    assert "USER node-red\nUSER 0\nRUN apk add --no-cache tini\nUSER node-red\nENTRYPOINT [\"/sbin/tini\", \"--\"]\n" \
        in out, out
    # not shown: no package manager used, both used, no USER to run it as, a Windows image
    for other, why in (
            ("FROM example.com/app:1\nUSER app\nRUN npm ci\nCMD [\"node\", \"a.js\"]\n", "(unknown)"),
            ("FROM example.com/app:1\nUSER root\nRUN apk add x && apt-get install -y y\nCMD [\"node\", \"a.js\"]\n",
             "(unknown)"),
            ("FROM example.com/app:1 AS a\nRUN apk add x\nFROM example.com/app:1\nCMD [\"node\", \"a.js\"]\n",
             "its RUNs use apk, but not in this stage and no USER names the user it runs as"),
            ("FROM example.com/node-windows:7-nano\nRUN apt-get install -y x\nCMD [\"node\", \"a.js\"]\n",
             "(unknown)")):
        res = rw(other, "add_init_process")
        assert "no package manager known for this base image (unknown)" in skip_reason(res, "add_init_process")
        assert why in skip_reason(res, "add_init_process") and res["text"] == other


# --------------------------------------------------------------------------- set_heap_limit

def test_heap_limit():
    # the start script and its place: tests/unit/plugins/module_utils/test_fix_heap.py
    text = "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD [\"node\", \"a.js\"]\n"
    out = check_idempotent(text, "set_heap_limit", max_node_memory=512)["text"]
    assert out.endswith("RUN npm ci\n"
                        'ENTRYPOINT ["/usr/local/bin/node-heap-from-cgroup"]\n'
                        'ENV HEAP_MEMORY_PERCENT=75 NODE_OPTIONS="--max-old-space-size=512"\n'
                        "CMD [\"node\", \"a.js\"]\n")
    existing = "FROM node:22\nENV NODE_OPTIONS=--enable-source-maps\nCMD [\"node\", \"a.js\"]\n"
    out = check_idempotent(existing, "set_heap_limit")["text"]
    assert 'NODE_OPTIONS="${NODE_OPTIONS} --max-old-space-size=1024"' in out
    out = check_idempotent(existing.replace('CMD ["node", "a.js"]', "CMD node a.js"), "set_heap_limit")["text"]
    assert 'NODE_OPTIONS="${NODE_OPTIONS} --max-old-space-size=${MAX_NODE_MEMORY}"' in out  # the constant fallback
    res = rw("FROM node:22\nCMD [\"node\", \"--max-old-space-size=4096\", \"a.js\"]\n", "set_heap_limit")
    assert "already passes --max-old-space-size" in skip_reason(res, "set_heap_limit")


# --------------------------------------------------------------------------- reorder_dependency_layers

def test_reorder_moves_the_install_before_the_source():
    text = ("FROM node:22\nWORKDIR /app\n# all sources\nCOPY . .\nRUN npm ci && npm cache clean --force "
            "&& npm run build\nCMD [\"node\", \"dist/a.js\"]\n")
    res = check_idempotent(text, "reorder_dependency_layers", context_files=["yarn.lock", ".npmrc"],
                           package_json={"exists": True, "scripts": {"build": "tsc"}})
    assert res["text"] == ("FROM node:22\nWORKDIR /app\n# all sources\nCOPY package*.json yarn.lock .npmrc ./\n"
                           "RUN npm ci && npm cache clean --force\nCOPY . .\nRUN npm run build\n"
                           "CMD [\"node\", \"dist/a.js\"]\n")


def test_reorder_with_workdir_after_the_copy():
    text = "FROM node:22\nCOPY . /srv/app\nWORKDIR /srv/app\nRUN npm install\nCMD [\"node\", \"a.js\"]\n"
    out = check_idempotent(text, "reorder_dependency_layers")["text"]
    assert out == ("FROM node:22\nCOPY package*.json npm-shrinkwrap.json* /srv/app/\nWORKDIR /srv/app\n"
                   "RUN npm install\nCOPY . /srv/app\nWORKDIR /srv/app\nCMD [\"node\", \"a.js\"]\n")


def test_reorder_skips_install_hooks():
    text = "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\n"
    res = rw(text, "reorder_dependency_layers", package_json={"exists": True, "scripts": {"postinstall": "x"}})
    assert "postinstall" in skip_reason(res, "reorder_dependency_layers")
    assert res["text"] == text


@pytest.mark.parametrize("prepare", ["husky install", "husky", "is-ci || husky install", "npx husky install .husky"])
def test_reorder_moves_an_install_whose_prepare_only_installs_git_hooks(prepare):
    # husky writes Git hooks (outside a Git working tree it does nothing): the install needs no source
    text = "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD [\"node\", \"a.js\"]\n"
    res = check_idempotent(text, "reorder_dependency_layers",
                           package_json={"exists": True, "scripts": {"prepare": prepare}})
    assert res["text"] == ("FROM node:22\nWORKDIR /app\nCOPY package*.json npm-shrinkwrap.json* ./\nRUN npm ci\n"
                           "COPY . .\nCMD [\"node\", \"a.js\"]\n")


@pytest.mark.parametrize("prepare", ["husky install && npm run build", "cd .. && husky install app/.husky", "true",
                                     "node scripts/hooks.js"])
def test_reorder_keeps_declining_other_prepare_scripts(prepare):
    text = "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\n"
    res = rw(text, "reorder_dependency_layers", package_json={"exists": True, "scripts": {"prepare": prepare}})
    assert "prepare script(s) that may need the source" in skip_reason(res, "reorder_dependency_layers")
    assert res["text"] == text


# --------------------------------------------------------------------------- split_multi_stage

def test_split_single_stage():
    text = ("FROM node:22-bookworm-slim\nRUN apt-get update && apt-get install -y --no-install-recommends "
            "python3 make g++ curl\nWORKDIR /app\nENV NODE_ENV=production\nCOPY package*.json ./\nRUN npm ci\n"
            "COPY . .\nRUN npm run build\nEXPOSE 8080\nCMD [\"node\", \"dist/server.js\"]\n")
    res = check_idempotent(text, "split_multi_stage")
    out = res["text"]
    # the build stage keeps its steps; EXPOSE and CMD go with the runtime stage only
    build = text.split("\n", 1)[1].split("EXPOSE", 1)[0]
    assert out.startswith("FROM node:22-bookworm-slim AS build\n" + build + "\nFROM build AS production-dependencies")
    # no build context given: what the app needs cannot be shown, so the whole directory is copied, and said so
    [entry] = res["fix_status"]
    assert entry["status"] == "partly_applied" and entry["claims"] == ["NRA003"]
    assert entry["reason"].startswith("the runtime stage copies all of /app: the application's files were not read")
    runtime = out.split("FROM node:22-bookworm-slim AS runtime\n")[1]
    assert "FROM build AS production-dependencies\nRUN npm prune --omit=dev\n" in out
    assert runtime == ("RUN apt-get update && apt-get install -y --no-install-recommends curl\n"
                       "WORKDIR /app\nENV NODE_ENV=production\nCOPY --from=production-dependencies /app /app\n"
                       "EXPOSE 8080\nCMD [\"node\", \"dist/server.js\"]\n")
    assert len([i for i in buildkit_ok(out) if i.cmd == "FROM"]) == 3


def test_split_prunes_as_root_when_the_build_stage_ends_as_another_user():
    # installed as root, then USER node: the pruning stage inherits USER node and could not remove root's files
    text = ("FROM node:22-bookworm-slim\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\n"
            "USER node\nCMD [\"node\", \"a.js\"]\n")
    out = check_idempotent(text, "split_multi_stage")["text"]
    assert "FROM build AS production-dependencies\nUSER 0\nRUN npm prune --omit=dev\n" in out
    # no USER change after the install, or root at the end: the inherited user may prune
    assert "USER 0" not in rw(text.replace("WORKDIR /app\n", "WORKDIR /app\nUSER node\n"),
                              "split_multi_stage")["text"]
    for last in ("", "USER root\n", "USER 0:0\n"):
        out = rw(text.replace("USER node\n", last), "split_multi_stage")["text"]
        assert "FROM build AS production-dependencies\nRUN npm prune --omit=dev\n" in out, out


def test_split_without_workdir_recopies_the_sources():
    text = "FROM node:22\nCOPY package*.json ./\nRUN npm install\nCOPY . .\nCMD [\"node\", \"index.js\"]\n"
    out = check_idempotent(text, ["split_multi_stage", "write_dockerignore"], dockerignore_text=None)["text"]
    runtime = out.split("FROM node:22 AS runtime\n")[1]
    assert runtime == ("COPY package*.json ./\nCOPY --from=production-dependencies /node_modules /node_modules\n"
                       "COPY . .\nCMD [\"node\", \"index.js\"]\n")


def test_split_skips():
    res = rw("FROM node:22\nCOPY . .\nRUN npm ci && npm run build\nCMD [\"node\", \"a.js\"]\n", "split_multi_stage")
    assert "no WORKDIR" in skip_reason(res, "split_multi_stage")
    res = rw("FROM node:22\nWORKDIR /a\nCOPY . .\nRUN npm ci\nRUN ./configure.sh\n", "split_multi_stage")
    assert "RUN at line 5" in skip_reason(res, "split_multi_stage")
    assert not_needed(rw("FROM node:22 AS b\nRUN npm ci\nFROM node:22\nCOPY --from=b /a /a\n", "split_multi_stage"),
                      "split_multi_stage")


def test_split_on_a_base_it_does_not_know_needs_the_dockerfile_to_show_a_linux_shell():
    # an application image built on Node (a browser-testing image, say): the runtime stage starts from the same base,
    # and the build's own shell-form npm RUN shows /bin/sh and npm, which the pruning stage uses
    text = ("FROM example.com/team/node-browser:19\nUSER app\nWORKDIR /home/app\nCOPY package*.json ./\n"
            "RUN npm ci\nCOPY . .\nCMD [\"node\", \"index.js\"]\n")
    res = check_idempotent(text, "split_multi_stage")
    out = res["text"]
    assert "FROM build AS production-dependencies\nRUN npm prune --omit=dev\n" in out
    assert out.split("FROM example.com/team/node-browser:19 AS runtime\n")[1] == (
        "USER app\nWORKDIR /home/app\nCOPY --from=production-dependencies /home/app /home/app\n"
        "CMD [\"node\", \"index.js\"]\n")
    assert res["fix_status"][0]["claims"] == ["NRA003"]
    # not shown: a Windows image (shell form runs cmd), a SHELL of its own, the backtick escape, exec-form RUNs only,
    # a distroless image
    for other in (text.replace("node-browser:19", "node-windows:7-nanoserver"),
                  text.replace("USER app\n", "SHELL [\"pwsh\", \"-c\"]\n"),
                  "# escape=`\n" + text,
                  text.replace("RUN npm ci", "RUN [\"npm\", \"ci\"]"),
                  text.replace("example.com/team/node-browser:19", "cgr.dev/chainguard/node"),
                  # not a Node.js image (the facts' node_scope): a Python image with a compiler
                  "FROM python:3.12\nWORKDIR /app\nRUN apt-get update && apt-get install -y build-essential\n"
                  "COPY . .\nRUN pip install -r requirements.txt\nCMD [\"python\", \"app.py\"]\n"):
        assert "cannot tell what the runtime needs on base image" in skip_reason(rw(other, "split_multi_stage"),
                                                                                 "split_multi_stage"), other


def test_reorder_not_needed_for_the_cached_dependency_patterns():
    # NRA005 accepts them (issue 15): pnpm fetch from the lockfile, an install from bind-mounted manifests
    for text in ("FROM node:22\nWORKDIR /a\nCOPY pnpm-lock.yaml ./\nRUN pnpm fetch\nCOPY . .\n"
                 "RUN pnpm install --offline\n",
                 "FROM node:22\nWORKDIR /a\nRUN --mount=type=bind,source=package.json,target=package.json npm i\n"
                 "COPY . .\nRUN npm ci\n"):
        assert not_needed(rw(text, "reorder_dependency_layers"), "reorder_dependency_layers")
    res = rw("FROM node:22\nWORKDIR /a\nCOPY . .\nRUN pnpm install\n", "reorder_dependency_layers")
    assert [a["fix"] for a in res["applied"]] == ["reorder_dependency_layers"]


def test_split_skips_a_build_cli_installed_by_name():
    # NRA003 reports a global build CLI in the runtime image (issue 15); the split does not move it
    res = rw("FROM node:22\nWORKDIR /a\nENV NODE_ENV=production\nCOPY . .\nRUN npm ci\n"
             "RUN npm i -g @nestjs/cli@10 pm2\n", "split_multi_stage")
    assert "RUN at line 6 installs build tooling (@nestjs/cli)" in skip_reason(res, "split_multi_stage")
    res = rw("FROM node:22 AS b\nRUN npm ci\nFROM node:22\nRUN yarn global add typescript\nCOPY --from=b /a /a\n",
             "split_multi_stage")
    assert "RUN at line 4 installs build tooling (typescript)" in skip_reason(res, "split_multi_stage")
    assert not_needed(rw("FROM node:22\nWORKDIR /a\nRUN npm i -g pm2\n", "split_multi_stage"), "split_multi_stage")


# --------------------------------------------------------------------------- write_dockerignore

def test_dockerignore_created_and_extended():
    res = rw("FROM node:22\n", "write_dockerignore", dockerignore_text=None)
    assert res["dockerignore"] == "node_modules\n.git\n.cache\nnpm-debug.log\n.dockerignore\n*.refarch.tmp\n"
    user = "# mine\r\n**/node_modules\r\n*.log\r\ndist"
    res = rw("FROM node:22\n", "write_dockerignore", dockerignore_text=user)
    assert res["dockerignore"] == ("# mine\r\n**/node_modules\r\n*.log\r\ndist\r\n.git\r\n.cache\r\n.dockerignore\r\n"
                                   "*.refarch.tmp\r\n")
    again = rw("FROM node:22\n", "write_dockerignore", dockerignore_text=res["dockerignore"])
    assert again["dockerignore"] is None and not_needed(again, "write_dockerignore")


def test_dockerignore_excludes_the_remediations_own_files():
    """Issue 16 item 2: the ignore file written and a killed run's temporary file never reach the image."""
    res = rw("FROM node:22\n", "write_dockerignore", dockerignore_text=None,
             dockerignore_name="Dockerfile.dockerignore")
    assert res["dockerignore"].endswith("npm-debug.log\nDockerfile.dockerignore\n*.refarch.tmp\n")
    # already excluded, re-included by the user, or copied by name: left as it is
    res = rw("FROM node:22\n", "write_dockerignore", dockerignore_text="*.tmp\n.docker*\n")
    assert res["dockerignore"] == "*.tmp\n.docker*\nnode_modules\n.git\n.cache\nnpm-debug.log\n"
    res = rw("FROM node:22\n", "write_dockerignore", dockerignore_text="!.dockerignore\n")
    assert res["dockerignore"].endswith("npm-debug.log\n*.refarch.tmp\n")
    res = rw("FROM node:22\nCOPY .dockerignore /x/\n", "write_dockerignore", dockerignore_text=None)
    assert res["dockerignore"].endswith("npm-debug.log\n*.refarch.tmp\n")
    # a file that needs nothing for NRA004 is not touched for them
    complete = rw("FROM node:22\n", "write_dockerignore",
                  dockerignore_text="node_modules\n.git\n.cache\nnpm-debug.log\n")
    assert complete["dockerignore"] is None and not_needed(complete, "write_dockerignore")


def test_dockerignore_respects_reincludes():
    res = rw("FROM node:22\n", "write_dockerignore", dockerignore_text="*\n!.git\n!src\n")
    assert res["dockerignore"] is None
    assert "re-includes .git" in skip_reason(res, "write_dockerignore")


def test_dockerignore_keeps_what_a_copy_takes_by_name():
    text = "FROM node:22\nWORKDIR /app\nCOPY ./node_modules ./node_modules\nCOPY [\".git/HEAD\", \"/rev\"]\nCOPY . .\n"
    res = rw(text, "write_dockerignore", dockerignore_text=None)
    assert res["dockerignore"] == ".cache\nnpm-debug.log\n.dockerignore\n*.refarch.tmp\n"
    [entry] = [a for a in res["applied"] if a["fix"] == "write_dockerignore"]
    assert "line 3 copies node_modules" in entry["note"] and "line 4 copies .git" in entry["note"]
    [partial] = [s for s in res["skipped"] if s["fix"] == "write_dockerignore"]
    assert partial["partial"] and partial["reason"].startswith("partly applied: ")
    # every missing entry copied by name (a glob counts): nothing written, with the reason
    res = rw("FROM node:22\nADD npm-debug.* .cache/ /x/\nCOPY --chown=1:1 node_modules /n\nCOPY .gi? /g\n",
             "write_dockerignore", dockerignore_text="dist\n")
    assert res["dockerignore"] is None
    assert "copies npm-debug.log" in skip_reason(res, "write_dockerignore")


def test_dockerignore_ignores_copies_that_are_not_from_the_context():
    text = ("FROM node:22 AS b\nRUN npm ci\nFROM node:22\nCOPY --from=b /app/node_modules node_modules\n"
            "COPY <<EOF .git\nx\nEOF\nADD https://example.com/.cache /c\nCOPY * .* ./\nCOPY sub/node_modules /s\n")
    res = rw(text, "write_dockerignore", dockerignore_text=None)
    assert res["dockerignore"] == "node_modules\n.git\n.cache\nnpm-debug.log\n.dockerignore\n*.refarch.tmp\n"
    assert not [s for s in res["skipped"] if s["fix"] == "write_dockerignore"]


def test_split_without_workdir_skips_when_node_modules_is_copied_by_name():
    text = "FROM node:22\nCOPY package*.json ./\nCOPY node_modules ./node_modules\nRUN npm install\nCOPY . .\n"
    res = rw(text, ["split_multi_stage", "write_dockerignore"], dockerignore_text=None)
    assert "does not exclude node_modules" in skip_reason(res, "split_multi_stage")
    assert "copies node_modules" in res["applied"][0]["note"]


# --------------------------------------------------------------------------- replace_base_image

ALLOW = ("line_jump", "libc_change")


# the test TABLE has no latest_version: an exact pin falls back to the line (tests/.../test_base_image_pins.py covers
# the bundle's table); the defaults move one LTS line at most and keep Alpine (see below)
@pytest.mark.parametrize("before, after, allow", [
    ("FROM node", "FROM node:26", ()),
    ("FROM node:latest AS app", "FROM node:26 AS app", ()),
    ("FROM node:16-alpine", "FROM node:16-alpine", ()),
    ("FROM node:16-alpine", "FROM node:26-bookworm-slim", ALLOW),
    ("FROM node:20.11.1-slim", "FROM node:22-slim", ()),
    ("FROM node:18-buster-slim", "FROM node:26-bookworm-slim", ALLOW),
    ("FROM node:21", "FROM node:22", ()),
    ("FROM node:carbon", "FROM node:carbon", ()),
    ("FROM node:carbon", "FROM node:26", ALLOW),
    ("FROM node:lts-alpine", "FROM node:26-alpine", ()),
    ("FROM node:lts-alpine", "FROM node:26-bookworm-slim", ALLOW),
    ("FROM docker.io/library/node:16@sha256:" + "a" * 64, "FROM docker.io/library/node:26", ALLOW),
    ("FROM registry.access.redhat.com/ubi8/nodejs-14:latest", "FROM registry.access.redhat.com/ubi8/nodejs-26:1",
     ALLOW),
    ("FROM registry.access.redhat.com/ubi8/nodejs-20:latest", "FROM registry.access.redhat.com/ubi8/nodejs-22:1", ()),
])
def test_base_image(before, after, allow):
    res = check_idempotent(before + "\nCMD [\"node\", \"a.js\"]\n", "replace_base_image", base_image_allow=allow)
    assert res["text"] == after + "\nCMD [\"node\", \"a.js\"]\n"


def test_base_image_fine_and_foreign():
    assert not_needed(rw("FROM node:22.3.0-bookworm-slim\n", "replace_base_image"), "replace_base_image")
    res = rw("FROM mhart/alpine-node:12\n", "replace_base_image")
    assert "not an official node" in skip_reason(res, "replace_base_image")


def test_base_image_arg_defaults_are_edited():
    text = "ARG NODE_VERSION=16\nFROM node:${NODE_VERSION}-alpine\nCMD [\"node\", \"a.js\"]\n"
    assert check_idempotent(text, "replace_base_image", base_image_allow=ALLOW)["text"] == (
        "ARG NODE_VERSION=26\nFROM node:${NODE_VERSION}-bookworm-slim\nCMD [\"node\", \"a.js\"]\n")
    text = "ARG BASE=node:20\nFROM ${BASE} AS build\n"
    assert check_idempotent(text, "replace_base_image")["text"] == "ARG BASE=node:22\nFROM ${BASE} AS build\n"


def test_base_image_alpine_commands_are_translated_or_version_only():
    text = ("FROM node:18-alpine\nRUN apk add --no-cache python3 make g++ && adduser -S -D -u 1001 app\n"
            "ENTRYPOINT [\"/sbin/tini\", \"--\"]\n")
    out = check_idempotent(text, "replace_base_image", base_image_allow=ALLOW)["text"]
    assert out == ("FROM node:26-bookworm-slim\nRUN apt-get update && apt-get install -y --no-install-recommends "
                   "python3 make g++ && rm -rf /var/lib/apt/lists/* && adduser --system --disabled-password --uid "
                   "1001 app\nENTRYPOINT [\"/usr/bin/tini\", \"--\"]\n")
    text = "FROM node:18-alpine3.17\nRUN apk add --no-cache some-unknown-lib\n"
    res = check_idempotent(text, "replace_base_image", base_image_allow=ALLOW)
    assert res["text"] == "FROM node:26-alpine\nRUN apk add --no-cache some-unknown-lib\n"
    assert any(s.get("partial") and "some-unknown-lib" in s["reason"] for s in res["skipped"])


# --------------------------------------------------------------------------- corpus

def _corpus_cases() -> list:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.iterdir() if (p / "Dockerfile").is_file())


def _case_context(case: Path) -> dict:
    data = (case / "Dockerfile").read_bytes()
    di = (case / ".dockerignore").read_bytes() if (case / ".dockerignore").is_file() else None
    pj = (case / "package.json").read_bytes() if (case / "package.json").is_file() else None
    doc = _dockerfile_facts.dockerfile_facts(f"/srv/{case.name}/Dockerfile", data, di, pj)
    deps = None
    if pj is not None:
        try:
            deps = sorted(json.loads(pj.decode("utf-8")).get("dependencies") or {})
        except (ValueError, AttributeError):
            deps = None
    return {"package_json": doc["package_json"], "dockerignore": doc["dockerignore"],
            "dockerignore_text": di.decode("utf-8", "replace") if di is not None else None,
            "context_files": sorted(p.name for p in case.iterdir()), "package_dependencies": deps,
            "evaluation_date": DATE}


CASES = _corpus_cases()


def _rewrite_in(case: Path, text: str, fixes: list, ctx: dict) -> dict:
    """``R.rewrite`` with the case directory as the build context the fixes read (a fresh, bounded reader)."""
    fd = os.open(case, os.O_RDONLY | os.O_DIRECTORY)
    reader = ContextFiles(fd, str(case))
    try:
        return R.rewrite(text, fixes, dict(ctx, read_file=reader))
    finally:
        reader.close()
        os.close(fd)


@pytest.mark.skipif(not CASES, reason=f"shared corpus not found at {CORPUS}")
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_every_fix(case):
    """Each fix alone and all together: parses with BuildKit, untouched lines kept, idempotent."""
    text = (case / "Dockerfile").read_bytes().decode("utf-8", "surrogateescape")
    try:
        buildkit_ok(text)
    except Exception as exc:  # the original itself is not a Dockerfile BuildKit accepts
        pytest.skip(f"BuildKit rejects the original: {exc}")
    ctx = _case_context(case)
    for fixes in [[f] for f in R.FIX_ORDER] + [["all"]]:
        res = _rewrite_in(case, text, fixes, ctx)
        buildkit_ok(res["text"])
        assert not [p for p in parse(res["text"])["problems"] if p["code"] not in
                    {p2["code"] for p2 in parse(text)["problems"]}], f"new parser problems after {fixes}"
        assert_untouched(text, res)
        ctx2 = dict(ctx)
        if res["dockerignore"] is not None:
            ctx2["dockerignore_text"] = res["dockerignore"]
        again = _rewrite_in(case, res["text"], fixes, ctx2)
        assert again["text"] == res["text"], f"second pass of {fixes} changed {case.name}"
        assert again["dockerignore"] is None
        for s in res["skipped"]:
            assert s["reason"], s


def _opa_eval(docs: list) -> list:
    payload = {"documents": docs, "evaluation_date": DATE, "config": {}}
    proc = subprocess.run([OPA, "eval", "-b", str(REPO / "policies"), "-I", "--format", "json",
                           "data.refarch.main.batch"], input=json.dumps(payload), capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, f"opa eval failed: {proc.stderr[-2000:]} {proc.stdout[-2000:]}"
    value = json.loads(proc.stdout)["result"][0]["expressions"][0]["value"]
    assert len(value) == len(docs)
    return value


def _missing_for_reevaluation() -> str | None:
    if not CASES:
        return f"shared corpus not found at {CORPUS}"
    if not (shutil.which(OPA) or os.path.isfile(OPA)):
        return f"OPA binary not found at {OPA} (run make setup, or set OPA)"
    if not (REPO / "policies" / "refarch" / "main" / "main.rego").is_file():
        return "policy bundle policies/refarch/main is missing"
    return None


@pytest.mark.skipif(_missing_for_reevaluation() is not None, reason=str(_missing_for_reevaluation()))
def test_corpus_reevaluation_findings_fixed_and_none_new():
    """Rewrite each corpus file with the fixes its findings name; re-evaluate with OPA.

    Every fixable finding must be gone unless its fix reported a skip reason, and no rule may fire
    after the rewrite that did not fire before.
    """
    before_docs, afters, results = [], [], []
    for case in CASES:
        data = (case / "Dockerfile").read_bytes()
        di = (case / ".dockerignore").read_bytes() if (case / ".dockerignore").is_file() else None
        pj = (case / "package.json").read_bytes() if (case / "package.json").is_file() else None
        before_docs.append((case, _dockerfile_facts.dockerfile_facts("/srv/x/Dockerfile", data, di, pj), di, pj))
    before = _opa_eval([d for dummy, d, dummy, dummy in before_docs])
    for (case, _doc, di, pj), findings in zip(before_docs, before, strict=True):
        fixes = sorted({f["fix"] for f in findings if f.get("fix") not in (None, "manual")})
        text = (case / "Dockerfile").read_bytes().decode("utf-8", "surrogateescape")
        res = R.rewrite(text, fixes, _case_context(case))
        new_di = res["dockerignore"].encode() if res["dockerignore"] is not None else di
        afters.append(_dockerfile_facts.dockerfile_facts(
            "/srv/x/Dockerfile", res["text"].encode("utf-8", "surrogateescape"), new_di, pj))
        results.append(res)
    after = _opa_eval(afters)
    fixable = fixed = 0
    problems = []
    for (case, *dummy), f_before, f_after, res in zip(before_docs, before, after, results, strict=True):
        rules_before = {f["rule_id"] for f in f_before}
        rules_after = {f["rule_id"] for f in f_after}
        new = rules_after - rules_before
        if new:
            problems.append(f"{case.name}: new findings {sorted(new)}")
        skipped = {s["fix"] for s in res["skipped"] if not s.get("not_needed")}
        for f in f_before:
            if f.get("fix") in (None, "manual"):
                continue
            fixable += 1
            if f["rule_id"] not in rules_after:
                fixed += 1
            elif f["fix"] not in skipped:
                problems.append(f"{case.name}: {f['rule_id']} still fires and {f['fix']} gave no skip reason")
    assert fixable > 0
    assert not problems, "\n".join(problems)


def test_default_release_table_is_the_policy_data():
    """The host's table is the policy data's (policies/refarch/config/data.json), line for line."""
    data = json.loads((REPO / "policies" / "refarch" / "config" / "data.json").read_text())
    assert data["node_releases"] == R.DEFAULT_NODE_RELEASES


def test_module_table_option_drives_the_choice():
    table = {"node_releases": {"22": {"lts_start": "2024-10-29", "eol": "2027-04-30"},
                               "24": {"lts_start": "2025-10-28", "eol": "2028-04-30"}}}
    res = R.rewrite("FROM node:latest\n", ["replace_base_image"],
                    {"base_image_table": table, "evaluation_date": "2026-01-01"})
    assert res["text"] == "FROM node:24\n"


# --------------------------------------------------------------------------- generated cases

try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is a dev requirement
    st = None

if st is not None:
    _BASES = ["node:16-alpine", "node:22-bookworm-slim", "node", "node:lts-alpine", "alpine:3.20",
              "registry.access.redhat.com/ubi9/nodejs-20-minimal:1", "gcr.io/distroless/nodejs22-debian12",
              "node:20.11.1-slim"]
    _BODY = ["WORKDIR /app", "COPY package*.json ./", "COPY . .", "RUN npm ci", "RUN npm install && npm run build",
             "RUN apk add --no-cache python3 make g++", "RUN apt-get update && apt-get install -y curl",
             "EXPOSE 80", "EXPOSE 443 3000", "ENV PORT=80", "ENV NODE_ENV=production", "USER root", "USER node",
             "# a comment  ", "", "RUN echo hi \\\n    && echo there", "LABEL a=b", "ARG X=1",
             "HEALTHCHECK CMD curl -f http://localhost/ || exit 1"]
    _TAIL = ['CMD ["npm", "start"]', "CMD npm start", "CMD node server.js", 'CMD ["node", "server.js"]',
             'ENTRYPOINT ["docker-entrypoint.sh"]\nCMD ["node", "a.js"]', "CMD node $APP", ""]

    _CASE = st.fixed_dictionaries({
        "base": st.sampled_from(_BASES), "body": st.lists(st.sampled_from(_BODY), max_size=10),
        "tail": st.sampled_from(_TAIL), "crlf": st.booleans(), "final_newline": st.booleans(),
        "fixes": st.lists(st.sampled_from([*R.FIX_ORDER, "all"]), min_size=1, max_size=4)})

    @settings(max_examples=int(os.environ.get("REWRITER_EXAMPLES", "120")), deadline=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(case=_CASE)
    def test_generated_dockerfiles(case):
        """Generated Dockerfiles: output parses, untouched lines kept, CRLF kept, second pass is a no-op."""
        base, body, tail, crlf, final_newline, fixes = (case[k] for k in (
            "base", "body", "tail", "crlf", "final_newline", "fixes"))
        text = "\n".join(["FROM " + base, *body, tail])
        if final_newline:
            text += "\n"
        if crlf:
            text = text.replace("\n", "\r\n")
        ctx = {"package_json": {"exists": True, "scripts": {"start": "node server.js"}, "main": "server.js"},
               "dockerignore_text": None, "evaluation_date": DATE, "base_image_table": TABLE}
        res = R.rewrite(text, fixes, ctx)
        buildkit_ok(res["text"])
        assert_untouched(text.replace("\r\n", "\n"), dict(res, text=res["text"].replace("\r\n", "\n")))
        if crlf:
            assert "\n" not in res["text"].replace("\r\n", "")
        again = R.rewrite(res["text"], fixes, dict(ctx, dockerignore_text=res["dockerignore"]))
        assert again["text"] == res["text"]
        assert again["applied"] == []


def test_ubi_init_install_carries_a_warning():
    res = rw("FROM registry.access.redhat.com/ubi9/nodejs-22:1\nCMD [\"node\", \"a.js\"]\n", "add_init_process")
    assert "EPEL" in res["applied"][0]["warning"]
    assert not any(s.get("partial") for s in res["skipped"])


def test_base_image_on_index_docker_io_is_the_official_node_image():
    out = R.rewrite("FROM index.docker.io/node:20\nCMD [\"node\", \"a.js\"]\n", ["replace_base_image"],
                    {"evaluation_date": "2026-11-28"})
    assert out["text"].startswith("FROM index.docker.io/node:22\n"), out


def test_production_install_reads_whitespace_as_the_facts_do():
    # one expression for "production-only install" (_shellcmd.PRODUCTION_RE): a vertical tab is no blank to the
    # facts (RE2's \s), so "npm ci\v--prod" is a development install to the rewriter too
    from ansible_collections.refarch.containers.plugins.module_utils import _shellcmd  # noqa: PLC0415
    assert not _shellcmd.PRODUCTION_RE.search("npm ci\v--prod") and _shellcmd.PRODUCTION_RE.search("npm ci --prod")


def test_split_multi_stage_splits_what_nra003_reads():
    # the fix reads the facts' analysis.runs (as NRA003 does): NODE_ENV=production in force makes `npm ci` a
    # production install (nothing to split); esbuild is a build step (a build stage is needed)
    head = "FROM node:22\nWORKDIR /app\nCOPY . .\n"
    out = R.rewrite(head + "ENV NODE_ENV=production\nRUN npm ci\nCMD [\"node\", \"a.js\"]\n", ["split_multi_stage"],
                    {"evaluation_date": "2026-11-28"})
    assert out["applied"] == [] and out["skipped"][0].get("not_needed"), out
    out = R.rewrite(head + "RUN npm ci --omit=dev\nRUN npx esbuild src/a.js --bundle --outfile=dist/a.js\n"
                    "CMD [\"node\", \"dist/a.js\"]\n", ["split_multi_stage"], {"evaluation_date": "2026-11-28"})
    assert [a["fix"] for a in out["applied"]] == ["split_multi_stage"], out
    assert "FROM node:22 AS runtime\n" in out["text"] and "esbuild" not in out["text"].split("AS runtime")[1]
    # babel and rollup are build programs too: their RUN stays in the build stage
    out = R.rewrite(head + "RUN npm ci\nRUN babel src -d dist && rollup -c\nCMD [\"node\", \"dist/a.js\"]\n",
                    ["split_multi_stage"], {"evaluation_date": "2026-11-28"})
    assert [a["fix"] for a in out["applied"]] == ["split_multi_stage"], out
    assert "babel" not in out["text"].split("AS runtime")[1]
