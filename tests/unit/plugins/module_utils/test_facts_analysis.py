"""The host-side `analysis` section of Dockerfile facts (plugins/module_utils/_dockerfile_facts.py).

The policy reads these observations instead of re-deriving them with regexes; the command
classification that used to be tested in Rego is tested here.
"""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_facts import (
    dockerfile_facts,
    error_document,
)
from ansible_collections.refarch.containers.plugins.module_utils._dockerignore import (
    DOCKERIGNORE_PATHS,
    _coverage,
    dockerignore_coverage,
)

REPO = Path(__file__).resolve().parents[4]
SCHEMA = json.loads((REPO / "policies" / "schema" / "facts.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def analysis(text: str, **kw) -> dict:
    doc = dockerfile_facts("/srv/app/Dockerfile", text.encode(), **kw)
    errors = sorted(VALIDATOR.iter_errors(doc), key=str)
    assert not errors, errors[0]
    return doc["analysis"]


def run_of(text: str, line: int = 2) -> dict:
    runs = [r for r in analysis(text)["runs"] if r["line"] == line]
    assert len(runs) == 1, runs
    return runs[0]


def test_no_from_has_no_analysis():
    doc = dockerfile_facts("/srv/app/Dockerfile", b"# nothing\n")
    assert doc["analysis"] is None
    assert error_document("/x/Dockerfile", "binary", "binary file")["analysis"] is None


@pytest.mark.parametrize("command,installs,dev", [
    ("npm ci", True, ["npm ci"]),
    ("npm install && npm run build", True, ["npm install"]),
    ("npm ci --omit=dev", True, []),
    ("NODE_ENV=production npm install", True, []),
    ("npm install -g pm2", False, []),
    ("npm i --location=global pm2", False, []),
    ("yarn", True, ["yarn"]),
    ("yarn install --frozen-lockfile", True, ["yarn install"]),
    ("yarn install --production", True, []),
    ("pnpm add lodash; echo ok", False, []),  # names a package: a package install (test_package_installs)
    ("pnpm add; echo ok", True, ["pnpm add"]),
    ("npm ci --prefix /app 2>&1 >/dev/null", True, ["npm ci"]),  # an option value, redirections: no names
    ("pnpm i --filter api --frozen-lockfile", True, ["pnpm i"]),
    ("npm install $NPM_FLAGS", True, ["npm install"]),  # a variable may hold options: not a package name
    ("npm ci --production=false", True, ["npm ci"]),
    ("NODE_ENV=production npm ci --include=dev", True, ["npm ci"]),
    ("NODE_ENV=development npm ci", True, ["npm ci"]),
    ("export NODE_ENV=production && npm ci", True, []),
    ("export NODE_ENV=production; npm ci; export NODE_ENV=development && yarn", True, ["yarn"]),
    ("NODE_ENV=production echo x && npm ci", True, ["npm ci"]),  # a prefix assignment is for its command only
    ("cd /app && /usr/local/bin/npm ci", True, ["npm ci"]),
    ("echo npm", False, []),
    ("apt-get install -y curl", False, []),
])
def test_dependency_installs(command, installs, dev):
    r = run_of(f"FROM node:22\nRUN {command}\n")
    assert r["installs_dependencies"] is installs
    assert r["dev_dependency_installs"] == dev


def test_exec_form_and_heredoc_are_read():
    assert run_of('FROM node:22\nRUN ["npm", "ci"]\n')["dev_dependency_installs"] == ["npm ci"]
    r = run_of("FROM node:22\nRUN <<EOF\nyarn\nyarn build\nEOF\n")
    assert r["dev_dependency_installs"] == ["yarn"]
    assert r["build_steps"] == ["yarn build"]


@pytest.mark.parametrize("command,steps", [
    ("npm run build", ["npm run build"]),
    ("npm run build:prod -- --x", ["npm run build:prod"]),
    ("npx tsc -p .", ["npx tsc"]),
    ("yarn build && node-gyp rebuild", ["node-gyp rebuild", "yarn build"]),
    ("npm test", []),
    ("echo next", []),
])
def test_build_steps(command, steps):
    assert run_of(f"FROM node:22\nRUN {command}\n")["build_steps"] == steps


def test_pnpm_runs_a_build_script_by_its_name():
    # pnpm (as yarn) runs a script named like a build without `run`
    assert run_of("FROM node:22\nRUN pnpm build\n")["build_steps"] == ["pnpm build"]
    assert run_of("FROM node:22\nRUN pnpm install\n")["build_steps"] == []


SCRIPTS = {"compile": "tsc -p .", "bundle": "webpack --mode production", "lint": "eslint .",
           "build:all": "npm run compile", "install": "node-gyp rebuild", "seed": "node seed.js"}


@pytest.mark.parametrize("command,steps", [
    # a package.json script of another name whose command builds (one level: its own command is read)
    ("npm ci && npm run compile", ["npm run compile"]),
    ("npm run-script compile", ["npm run-script compile"]),
    ("yarn compile", ["yarn compile"]),
    ("yarn run bundle -- --x", ["yarn run bundle"]),
    ("pnpm --silent bundle", ["pnpm --silent bundle"]),
    ("npm run lint && npm run seed", []),
    ("npm run missing", []),
    ("yarn install", []),           # a package manager command, not the script "install"
    ("npm run build:all", ["npm run build:all"]),   # named like a build: read by name already
    ("echo npm run compile", []),
])
def test_build_steps_through_package_json_scripts(command, steps):
    pkg = json.dumps({"name": "a", "scripts": SCRIPTS}).encode()
    runs = analysis(f"FROM node:22\nRUN {command}\n", package_json=pkg)["runs"]
    assert runs[0]["build_steps"] == steps
    # without package.json only what the command's own words show
    assert run_of(f"FROM node:22\nRUN {command}\n")["build_steps"] == (
        ["npm run build:all"] if command == "npm run build:all" else [])


def test_os_packages():
    r = run_of("FROM node:22\nRUN apt-get update && apt-get install -y --no-install-recommends python3 make g++\n")
    assert r["os_packages"] == ["apt-get", "g++", "install", "make", "python3"]
    assert run_of("FROM node:22\nRUN apk add --no-cache tini\n")["os_packages"] == ["add", "apk", "tini"]
    assert run_of("FROM node:22\nRUN echo gcc\n")["os_packages"] == []


def test_final_chain_and_stages():
    a = analysis("FROM node:22 AS build\nRUN npm ci\nFROM build AS mid\nRUN npm run build\n"
                 "FROM node:22-slim AS other\nRUN npm ci\nFROM mid\nRUN echo\n")
    assert a["final_chain"] == [0, 1, 3]
    assert [(r["line"], r["stage"], r["final_chain"]) for r in a["runs"]] == [
        (2, 0, True), (4, 1, True), (6, 2, False), (8, 3, True)]
    assert a["base"]["line"] == 1


def test_context_copies_first_per_stage():
    a = analysis("FROM node:22 AS b\nCOPY package.json ./\nCOPY . .\nADD ./ /app\nRUN npm ci\n"
                 "FROM node:22\nCOPY --from=b /app .\nCOPY * /app/\n")
    assert a["context_copies"] == [{"stage": 0, "line": 3, "cached_dependencies": []},
                                   {"stage": 1, "line": 8, "cached_dependencies": []}]


def test_labels_of_the_final_chain_unquoted():
    a = analysis('FROM node:22 AS b\nLABEL build=1\nFROM b\nLABEL "refarch.init"=tini maintainer=me\n'
                 "FROM node:22 AS x\nLABEL other=1\nFROM b\n")
    assert a["labels"] == ["build"]
    a = analysis('FROM node:22\nLABEL "refarch.init"=tini maintainer=me\n')
    assert a["labels"] == ["refarch.init", "maintainer"]


@pytest.mark.parametrize("image,expected", [
    ("node:20-bookworm-slim", {"official_node": True, "node_line": "20", "tag_word": None, "alpine": False}),
    ("node:20.11.1-alpine3.19", {"official_node": True, "node_line": "20", "alpine": True}),
    ("node:0.12.18", {"node_line": "0.12"}),
    ("node:lts-slim", {"node_line": None, "tag_word": "lts", "tag_missing": False}),
    ("node:iron", {"tag_word": "iron"}),
    ("node", {"node_line": None, "tag_word": None, "tag_missing": True, "node_image": True}),
    ("node@sha256:" + "a" * 64, {"tag_missing": True}),
    ("registry.access.redhat.com/ubi9/nodejs-22-minimal:1", {"ubi_nodejs": True, "official_node": False,
                                                             "node_line": "22", "tag_word": None}),
    ("bitnami/node:22", {"official_node": False, "node_image": True, "node_line": "22"}),
    ("debian:12", {"official_node": False, "node_image": False, "node_line": "12"}),
])
def test_base(image, expected):
    base = analysis(f"FROM {image}\n")["base"]
    assert {k: base[k] for k in expected} == expected


def test_base_follows_stage_links_and_args():
    a = analysis("ARG V=18\nFROM node:${V}-slim AS b\nFROM b\nUSER node\n")
    assert a["base"]["node_line"] == "18"
    assert a["base"]["line"] == 2


def test_analysis_kept_without_instructions():
    text = "FROM node:22\nCOPY . .\nRUN npm ci\nLABEL refarch.init=tini\n"
    full = dockerfile_facts("/srv/app/Dockerfile", text.encode())
    slim = dockerfile_facts("/srv/app/Dockerfile", text.encode(), include_instructions=False)
    assert slim["instructions"] == []
    assert slim["analysis"] == full["analysis"]
    assert slim["analysis"]["runs"][0]["dev_dependency_installs"] == ["npm ci"]


def test_secrets_do_not_reach_the_analysis():
    # os_packages keeps every non-option word of the install command: the inline secret must be redacted
    a = analysis("FROM node:22\nRUN NPM_TOKEN=s3cr3t apt-get install -y curl\n")
    assert "s3cr3t" not in json.dumps(a)
    assert "curl" in a["runs"][0]["os_packages"]


def process_of(text: str, package_json: dict | None = None) -> dict:
    pj = json.dumps(package_json).encode() if package_json is not None else None
    return analysis(text, package_json=pj)["process"]


def test_process_views_and_script():
    p = process_of('FROM node:22\nENTRYPOINT ["/usr/bin/tini", "-s", "--"]\nCMD ["npm", "run", "serve"]\n',
                   {"scripts": {"serve": "node --max-old-space-size=$HEAP a.js"}})
    assert p["first"] == "tini"
    assert p["line"] == 3
    assert p["direct"] == {"command": ["/usr/bin/tini", "-s", "--", "npm", "run", "serve"], "program": "tini",
                           "script": None}
    assert p["as_init"]["command"] == ["npm", "run", "serve"]
    script = p["as_init"]["script"]
    assert (script["name"], script["heap_limit"], script["heap_limit_from_variable"]) == ("serve", True, True)
    assert p["through_shell"] is False


@pytest.mark.parametrize("cmd,command", [
    ('["sh", "-c", "exec env A=1 npm start"]', ["npm", "start"]),
    ('["/bin/bash", "-ec", "node a.js"]', ["node", "a.js"]),
    ("node a.js", ["node", "a.js"]),  # shell form: the process is /bin/sh -c "node a.js"
    ('["env", "-i", "X=1", "node", "a.js"]', ["node", "a.js"]),
])
def test_process_command_peels_wrappers(cmd, command):
    p = process_of(f"FROM node:22\nCMD {cmd}\n")
    assert p["direct"]["command"] == command


def test_process_shell_and_heap_flags():
    p = process_of("FROM node:22\nENV NODE_OPTIONS=--max_old_space_size=512\nCMD node --max-old-space-size=$M a.js\n")
    assert p["through_shell"] is True
    assert (p["heap_limit"], p["heap_limit_from_variable"]) == (True, True)
    assert p["node_options"]["heap_limit"] is True
    assert p["node_options"]["heap_limit_from_variable"] is False
    assert process_of("FROM node:22\n")["line"] == 1
    assert process_of("FROM node:22\n")["node_options"] is None


def test_process_script_only_for_package_managers():
    pj = {"scripts": {"start": "NODE_OPTIONS=--max-old-space-size=$MEM node a.js"}}
    assert process_of('FROM node:22\nCMD ["yarn", "start"]\n', pj)["direct"]["script"]["node_options_from_variable"]
    assert process_of('FROM node:22\nCMD ["node", "start"]\n', pj)["direct"]["script"] is None
    assert process_of('FROM node:22\nCMD ["npm", "run"]\n', pj)["direct"]["script"] is None


def test_process_program_and_package_manager_calls():
    p = process_of("FROM node:22\nCMD cd /app && /usr/bin/pnpm start\n")
    assert p["direct"]["program"] == "cd"
    assert p["package_manager_calls"] == [{"word": "/usr/bin/pnpm", "next": "start"}]
    p = process_of('FROM node:22\nCMD ["npm", "start"]\n')
    assert p["direct"]["program"] == "npm"
    assert p["package_manager_calls"] == []  # argv[0] itself is the direct program, not a call
    assert process_of("FROM node:22\n")["direct"] == {"command": [], "program": None, "script": None}


@pytest.mark.parametrize("patterns,excluded", [
    (["node_modules", ".git", ".cache"], {"node_modules", ".git", ".cache"}),
    (["# deps", "**/node_modules", "/.git/", "./.cache", ""], {"node_modules", ".git", ".cache"}),
    (["node_modules/", ".git*", ".cache/**"], {"node_modules", ".git", ".cache"}),
    (["*", "!src", "!package.json"], {"node_modules", ".git", ".cache"}),
    (["**"], {"node_modules", ".git", ".cache"}),
    (["node_modules", "*.log"], {"node_modules"}),
    (["node_modules", ".git", ".cache", "!node_modules/keep-me"], {".git", ".cache"}),
    (["!node_modules", "node_modules", ".git"], {"node_modules", ".git"}),
    (["*/node_modules", ".git", ".cache"], {".git", ".cache"}),
    (["[", "[n]ode_modules", ".git", ".cache"], {".git", ".cache"}),
    (["node_module?", ".gi*", "  .cache  "], {"node_modules", ".git", ".cache"}),
    ([], set()),
])
def test_dockerignore_coverage(patterns, excluded):
    text = "".join(p + "\n" for p in patterns)
    cov = analysis("FROM node:22\n", dockerignore=text.encode())["dockerignore"]
    assert set(cov) == {"node_modules", ".git", ".cache"}
    assert {p for p, c in cov.items() if c["excluded"]} == excluded


def test_dockerignore_coverage_remembered_but_never_shared():
    """Repeated pattern lists are answered from memory with new objects: a caller may change its copy."""
    patterns = ["node_modules", "!node_modules/keep-me", ".git"]
    first = dockerignore_coverage(list(patterns))
    first["node_modules"]["reincluded_by"].append("changed")
    first[".git"]["excluded"] = False
    again = dockerignore_coverage(list(patterns))
    assert again == _coverage(patterns, DOCKERIGNORE_PATHS)
    assert again["node_modules"] == {"excluded": False, "reincluded_by": ["node_modules/keep-me"]}
    assert again[".git"]["excluded"] is True
    assert dockerignore_coverage([{"odd": 1}, "node_modules"])["node_modules"]["excluded"] is True


def test_dockerignore_reincluded_by():
    cov = analysis("FROM node:22\n", dockerignore=b"node_modules\n!node_modules/keep-me\n!src\n")["dockerignore"]
    assert cov["node_modules"] == {"excluded": False, "reincluded_by": ["node_modules/keep-me"]}
    assert cov[".git"] == {"excluded": False, "reincluded_by": []}


# --------------------------------------------------------------------------- NODE_ENV in force (issue 15)
def test_node_env_in_force_when_each_run_executes():
    a = analysis("FROM node:22\nRUN npm install\nENV NODE_ENV=production\nRUN npm ci\n"
                 "ENV NODE_ENV=development\nRUN npm ci\n")
    by_line = {r["line"]: r for r in a["runs"]}
    assert by_line[2]["node_env"] is None and by_line[2]["dev_dependency_installs"] == ["npm install"]
    assert by_line[4]["node_env"] == "production" and by_line[4]["dev_dependency_installs"] == []
    assert by_line[6]["node_env"] == "development" and by_line[6]["dev_dependency_installs"] == ["npm ci"]


def test_node_env_from_arg_and_through_the_stage_chain():
    # ARG values are in the environment of RUN; ENV (not ARG) is inherited through FROM <stage>;
    # a global ARG is not visible in a stage that does not declare it
    a = analysis("ARG NODE_ENV=production\nFROM node:22 AS base\nRUN npm ci\nARG NODE_ENV\nRUN npm ci\n"
                 "ENV NODE_ENV=$NODE_ENV\nFROM base AS app\nRUN npm ci\nFROM node:22 AS other\n"
                 "ARG NODE_ENV=production\nFROM other\nRUN npm ci\n")
    by_line = {r["line"]: r for r in a["runs"]}
    assert by_line[3]["node_env"] is None and by_line[3]["dev_dependency_installs"] == ["npm ci"]
    assert by_line[5]["node_env"] == "production" and by_line[5]["dev_dependency_installs"] == []
    assert by_line[8]["node_env"] == "production" and by_line[8]["dev_dependency_installs"] == []
    assert by_line[12]["node_env"] is None and by_line[12]["dev_dependency_installs"] == ["npm ci"]


def test_node_env_unknown_is_not_production():
    r = run_of("FROM node:22\nARG NODE_ENV\nRUN npm ci\n", line=3)
    assert r["node_env"] is None and r["dev_dependency_installs"] == ["npm ci"]
    r = run_of("FROM node:22\nENV NODE_ENV=production\nRUN NODE_ENV=$MODE npm ci\n", line=3)
    assert r["dev_dependency_installs"] == ["npm ci"]


@pytest.mark.parametrize("command,packages", [
    ("npm install undici@6.27.0", [{"name": "undici", "global": False}]),
    ("npm i -g typescript @nestjs/cli@10.1.0", [{"name": "@nestjs/cli", "global": True},
                                                {"name": "typescript", "global": True}]),
    ("npm i npm@latest -g", [{"name": "npm", "global": True}]),
    ("yarn global add @angular/cli && yarn add lodash --dev",
     [{"name": "@angular/cli", "global": True}, {"name": "lodash", "global": False}]),
    ("npm install -g ./pnpm.tgz", [{"name": "./pnpm.tgz", "global": True}]),
    ("pnpm add -D esbuild", [{"name": "esbuild", "global": False}]),
    ("npm install -g", []),
    ("npm ci", []),
])
def test_package_installs(command, packages):
    r = run_of(f"FROM node:22\nRUN {command}\n")
    assert r["package_installs"] == packages
    assert r["installs_dependencies"] is (command == "npm ci")
    assert r["dev_dependency_installs"] == (["npm ci"] if command == "npm ci" else [])


def test_pnpm_fetch_and_manifest_mounts():
    r = run_of("FROM node:22\nRUN pnpm fetch --prod\n")
    assert r["fetches_dependencies"] is True and r["installs_dependencies"] is False
    r = run_of("FROM node:22\nRUN --mount=type=bind,source=package.json,target=package.json "
               "--mount=type=bind,src=app/package-lock.json,target=package-lock.json "
               "--mount=type=cache,target=/root/.npm --mount=source=README.md,target=/r npm ci\n")
    assert r["manifest_mounts"] == ["app/package-lock.json", "package.json"]
    assert r["fetches_dependencies"] is False
    assert run_of("FROM node:22\nRUN --mount=type=cache,source=package.json,target=/x npm ci\n")[
        "manifest_mounts"] == []


def test_cached_dependencies_before_the_context_copy():
    a = analysis("FROM node:22 AS deps\nCOPY pnpm-lock.yaml ./\nRUN pnpm fetch\nFROM deps AS app\n"
                 "COPY . .\nRUN pnpm install --offline\n")
    assert a["context_copies"] == [{"stage": 1, "line": 5, "cached_dependencies": [3]}]
    a = analysis("FROM node:22\nRUN --mount=type=bind,source=package.json,target=package.json npm ci\n"
                 "COPY . .\nRUN npm ci\nRUN pnpm fetch\n")
    assert a["context_copies"] == [{"stage": 0, "line": 3, "cached_dependencies": [2]}]
    # a plain install before the copy is not the cached pattern: the install after it redoes the work
    a = analysis("FROM node:22\nCOPY package*.json ./\nRUN npm install\nCOPY . .\n"
                 "RUN rm -rf node_modules && npm install\n")
    assert a["context_copies"] == [{"stage": 0, "line": 4, "cached_dependencies": []}]
    # another stage's fetch (not one this stage is built FROM) does not count
    a = analysis("FROM node:22 AS a\nRUN pnpm fetch\nFROM node:22\nCOPY . .\nRUN pnpm i\n")
    assert a["context_copies"] == [{"stage": 1, "line": 4, "cached_dependencies": []}]


@pytest.mark.parametrize("text,line,pid1", [
    ('FROM node:22\nENTRYPOINT ["tini", "--"]\nCMD ["node", "a.js"]\n', 3, 2),
    ('FROM node:22\nCMD ["node", "a.js"]\nENTRYPOINT ["docker-entrypoint.sh"]\n', 3, 3),
    ('FROM node:22\nCMD ["node", "a.js"]\n', 2, 2),
    ('FROM node:22 AS b\nENTRYPOINT ["dumb-init"]\nFROM b\nCMD ["node", "a.js"]\n', 4, 2),
    ("FROM node:22\nENTRYPOINT node a.js\nCMD x\n", 2, 2),
    ("FROM node:22\nUSER node\n", 1, 1),
])
def test_pid1_line_is_the_entrypoint_when_there_is_one(text, line, pid1):
    p = analysis(text)["process"]
    assert (p["line"], p["pid1_line"]) == (line, pid1)
