"""Fixes that read what a command means (issue 16 item 9): broken exec-form arrays, nodemon, variable prefixes of
start scripts (``_rewrite/process_intent.py``), and the source copy moved below the install
(``reorder_dependency_layers``). Synthetic Dockerfiles and build contexts; every rewrite parses with BuildKit's
parser and a second run changes nothing."""
from __future__ import annotations

import json
import os
from pathlib import Path

import dockerfile
import pytest
from ansible_collections.refarch.containers.plugins.module_utils import _rewriter as R
from ansible_collections.refarch.containers.plugins.module_utils._context_files import ContextFiles
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.process_intent import (
    broken_exec_array,
    env_prefix,
)


def rewrite(text: str, fixes, root: Path | None = None, **ctx) -> dict:
    """Rewrite twice (the second run must change nothing) and parse the result with BuildKit."""
    out = []
    for current in (text, None):
        fd = reader = None
        if root is not None:
            fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
            reader = ContextFiles(fd, str(root))
        try:
            out.append(R.rewrite(current if current is not None else out[0]["text"], fixes,
                                 dict(ctx, read_file=reader, evaluation_date="2026-12-07")))
        finally:
            if fd is not None:
                reader.close()
                os.close(fd)
    assert out[1]["text"] == out[0]["text"] and out[1]["applied"] == []
    list(dockerfile.parse_string(out[0]["text"]))
    return out[0]


@pytest.mark.parametrize("command, argv", [
    ('[ "node" "index.js" ]', ["node", "index.js"]),              # no comma: Docker runs it through /bin/sh -c
    ("[\u201cnode\u201d, \u201cindex.js\u201d]", ["node", "index.js"]),   # typographic quotes
    ('["node", "a b.js" "--x=\\"1\\""]', ["node", "a b.js", '--x="1"']),
    ('["node", "a.js"]', None),                                    # valid JSON is exec form already
    ('["node", "a.js",]', None),                                   # a trailing comma: not guessed
    ("[node, a.js]", None),                                        # unquoted words
    ('[ "node" "a.js" ] && echo', None),
    ('[ "" "a.js" ]', None),
    ("[]", None),
])
def test_broken_exec_array(command, argv):
    assert broken_exec_array(command) == argv


def test_exec_form_cmd_writes_the_array_a_broken_cmd_spells():
    res = rewrite('FROM node:22-alpine\nWORKDIR /app\nCMD [ "node" "index.js" ]\n',
                  ["exec_form_cmd", "add_init_process"])
    assert res["text"].endswith('CMD ["node", "index.js"]\n') and "tini" in res["text"]
    [entry] = [a for a in res["applied"] if a["fix"] == "exec_form_cmd"]
    assert entry["warning"] == ("CMD at line 3 is not a valid JSON array, so it ran as a shell command; it is now "
                                "the exec-form array it spells")
    assert {e["fix"]: e["status"] for e in res["fix_status"]} == {"exec_form_cmd": "applied",
                                                                  "add_init_process": "applied"}


def test_env_prefix():
    assert env_prefix(["cross-env", "NODE_ENV=production", "A=1", "node", "a.js"]) == \
        ([("NODE_ENV", "production"), ("A", "1")], ["node", "a.js"])
    assert env_prefix(["node", "a.js"]) == ([], ["node", "a.js"])
    assert env_prefix(["cross-env", "node", "a.js"])[0] is None
    assert env_prefix(["A=$HOME/x", "node", "a.js"])[0] is None
    assert env_prefix(["DB_PASSWORD=hunter22", "node", "a.js"]) == (
        None, "DB_PASSWORD may hold a secret, which ENV would put into the image's configuration")


def test_nodemon_becomes_node_when_nothing_configures_it(tmp_path):
    pkg = {"name": "a", "scripts": {"start": "nodemon src/server.js"}}
    (tmp_path / "package.json").write_text(json.dumps(pkg))
    text = "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci --omit=dev\nCMD [\"npm\", \"start\"]\n"
    facts = {"exists": True, "scripts": pkg["scripts"]}
    res = rewrite(text, ["replace_npm_start"], tmp_path, package_json=facts)
    assert res["text"] == text.replace('["npm", "start"]', '["node", "src/server.js"]')
    assert "nodemon, a development file watcher: the container runs src/server.js with node" in \
        res["applied"][0]["warning"]
    # configured nodemon (nodemon.json, nodemonConfig), a TypeScript script, nodemon options: unchanged, with the reason
    (tmp_path / "nodemon.json").write_text('{"exec": "ts-node"}')
    res = rewrite(text, ["replace_npm_start"], tmp_path, package_json=facts)
    assert res["text"] == text and "nodemon.json configures nodemon" in res["fix_status"][0]["reason"]
    (tmp_path / "nodemon.json").unlink()
    (tmp_path / "package.json").write_text(json.dumps(dict(pkg, nodemonConfig={"watch": ["src"]})))
    res = rewrite(text, ["replace_npm_start"], tmp_path, package_json=facts)
    assert "nodemonConfig configures nodemon" in res["fix_status"][0]["reason"]
    (tmp_path / "package.json").write_text(json.dumps(pkg))
    for script in ("nodemon src/server.ts", "nodemon --watch src src/server.js"):
        res = rewrite(text, ["replace_npm_start"], tmp_path,
                      package_json={"exists": True, "scripts": {"start": script}})
        assert res["text"] == text and res["fix_status"][0]["status"] == "skipped"
    # a nodemon.json that is a symlink is not followed and not taken as absent
    os.symlink("/etc/hostname", tmp_path / "nodemon.json")
    res = rewrite(text, ["replace_npm_start"], tmp_path, package_json=facts)
    assert res["text"] == text and "nodemon.json cannot be checked" in res["fix_status"][0]["reason"]


def test_reorder_moves_the_source_copy_below_steps_that_do_not_read_it():
    text = ("FROM node:22\nCOPY . /app\nWORKDIR /app\nENV DB=file:./dev.db\nRUN npm install -g pm2@5\n"
            "RUN ls -l\nRUN npm install\nRUN npm run build\nCMD [\"node\", \"dist/a.js\"]\n")
    res = rewrite(text, ["reorder_dependency_layers"])
    assert res["text"] == ("FROM node:22\nCOPY package*.json npm-shrinkwrap.json* /app/\nWORKDIR /app\n"
                           "ENV DB=file:./dev.db\nRUN npm install -g pm2@5\nRUN ls -l\nRUN npm install\n"
                           "COPY . /app\nRUN npm run build\nCMD [\"node\", \"dist/a.js\"]\n")
    assert res["fix_status"][0]["status"] == "applied"
    # an install mixed with a build step: the source copy goes between them
    res = rewrite("FROM node:22\nWORKDIR /app\nCOPY --chown=1000:1000 . .\nENV A=1\nRUN npm ci && npm run build\n",
                  ["reorder_dependency_layers"])
    assert res["text"] == ("FROM node:22\nWORKDIR /app\nCOPY --chown=1000:1000 package*.json npm-shrinkwrap.json* "
                           "./\nENV A=1\nRUN npm ci\nCOPY --chown=1000:1000 . /app\nRUN npm run build\n")
    # a step that may read the source, or a copy that uses a variable: unchanged, with the reason
    for text in ("FROM node:22\nWORKDIR /app\nCOPY . .\nRUN ./prepare.sh\nRUN npm ci\n",
                 "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN echo x > a.txt\nRUN npm ci\n",
                 "FROM node:22\nWORKDIR /app\nCOPY . $D\nENV D=/app\nRUN npm ci\n"):
        res = R.rewrite(text, ["reorder_dependency_layers"], {})
        assert res["text"] == text and "lies between the source copy and the install" in \
            res["fix_status"][0]["reason"], res


def test_alpine_commands_translated_with_the_c_library_change():
    # with the opt-in (libc_change): apk's cache cleanup needs nothing on Debian, py3-pip is python3-pip; a build for
    # musl (Alpine's C library) keeps the Alpine image, with the reason
    allow = {"base_image_allow": ["line_jump", "libc_change"], "evaluation_date": "2026-11-28"}
    text = ("FROM node:22-alpine\nRUN apk update && apk add --no-cache git py3-pip && rm -rf /var/cache/apk/*\n"
            "CMD [\"node\", \"a.js\"]\n")
    res = rewrite(text, ["replace_base_image"], **allow)
    assert "RUN apt-get update && apt-get install -y --no-install-recommends git python3-pip && " \
           "rm -rf /var/lib/apt/lists/*\n" in res["text"] and "-alpine" not in res["text"], res["text"]
    text = ("FROM node:22-alpine\nRUN apk add --no-cache vips-dev\nRUN npm rebuild --platform=linuxmusl sharp\n"
            "CMD [\"node\", \"a.js\"]\n")
    res = rewrite(text, ["replace_base_image"], **allow)
    assert res["text"].startswith("FROM node:22-alpine\n"), res["text"]
    assert "RUN at line 3: `npm rebuild --platform=linuxmusl sharp` relies on Alpine tools or its C library (musl)" \
        in res["fix_status"][0]["reason"], res["fix_status"]
