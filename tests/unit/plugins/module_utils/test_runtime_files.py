"""What the runtime stage of ``split_multi_stage`` copies (``_rewrite/runtime_files.py``, issue 16 item 8).

Synthetic build contexts in a temp dir, read through the host's reader (``ContextFiles``): the runtime stage copies
the manifests, production node_modules and the build output the entry point runs (plus the run-time directories the
context has) only when that can be shown, and otherwise copies the whole directory and says so. Every rewrite
parses with BuildKit's parser and a second run changes nothing.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import dockerfile
from ansible_collections.refarch.containers.plugins.module_utils import _dockerfile_facts
from ansible_collections.refarch.containers.plugins.module_utils import _rewriter as R
from ansible_collections.refarch.containers.plugins.module_utils._context_files import ContextFiles

PKG = {"name": "app", "version": "1.0.0", "scripts": {"build": "tsc", "start": "node build/main.js"},
       "dependencies": {"ms": "2.1.3"}, "devDependencies": {"typescript": "5.4.5"}}
TS_APP = ("FROM node:22-bookworm-slim\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\nRUN npm run build\n"
          "\nEXPOSE 8080\nHEALTHCHECK --interval=10s CMD node healthcheck.js\nCMD [\"npm\", \"start\"]\n")


def make_context(root: Path, pkg: dict | None = None, files: dict | None = None) -> Path:
    pkg = PKG if pkg is None else pkg
    if pkg:
        (root / "package.json").write_text(json.dumps(pkg))
    for rel, text in (files or {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def split(root: Path, text: str, fixes=("split_multi_stage",), dockerignore: str | None = None) -> dict:
    """Rewrite twice through the host's reader: the second run must change nothing; BuildKit parses the result."""
    pj = (root / "package.json").read_bytes() if (root / "package.json").exists() else None
    out = []
    for given in (text, None):
        current = given if given is not None else out[0]["text"]
        facts = _dockerfile_facts.dockerfile_facts("Dockerfile", current.encode(), None, pj)
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
        reader = ContextFiles(fd, str(root))
        try:
            ctx = {"package_json": facts["package_json"], "read_file": reader, "evaluation_date": "2026-12-07"}
            if dockerignore is not None:   # the second run reads the .dockerignore the first one wrote
                ctx["dockerignore_text"] = dockerignore if given is not None or out[0]["dockerignore"] is None \
                    else out[0]["dockerignore"]
            out.append(R.rewrite(current, list(fixes), ctx))
        finally:
            reader.close()
            os.close(fd)
    assert out[1]["text"] == out[0]["text"] and out[1]["applied"] == [], "a second run changed the file"
    list(dockerfile.parse_string(out[0]["text"]))
    return out[0]


def stages(text: str) -> dict:
    """Stage name -> its lines (FROM line excluded, blank lines dropped)."""
    out, name = {}, None
    for line in text.splitlines():
        if line.startswith("FROM "):
            name = line.split(" AS ")[-1]
            out[name] = []
        elif line.strip() and name:
            out[name].append(line)
    return out


def split_entry(res: dict) -> tuple:
    [entry] = [e for e in res["fix_status"] if e["fix"] == "split_multi_stage"]
    [applied] = [a for a in res["applied"] if a["fix"] == "split_multi_stage"]
    return entry, applied


def test_typescript_app_runtime_copies_the_build_output_not_the_directory(tmp_path):
    make_context(tmp_path, files={
        "tsconfig.json": '{\n  // the compiler\n  "compilerOptions": {"outDir": "./build", "rootDir": "src",},\n}\n',
        "src/main.ts": "export {}\n", "test/main.test.ts": "x\n", "public/index.html": "<p>\n",
        "views/a.ejs": "x\n", "healthcheck.js": "process.exit(0)\n", "README.md": "x\n"})
    res = split(tmp_path, TS_APP)
    st = stages(res["text"])
    assert st["build"] == ["WORKDIR /app", "COPY package*.json ./", "RUN npm ci", "COPY . .", "RUN npm run build"]
    assert st["production-dependencies"] == ["RUN npm prune --omit=dev"]
    assert st["runtime"] == [
        "WORKDIR /app",
        "COPY --from=production-dependencies /app/package*.json /app/",
        "COPY --from=production-dependencies /app/node_modules /app/node_modules",
        "COPY --from=production-dependencies /app/build /app/build",
        "COPY --from=production-dependencies /app/public /app/public",
        "COPY --from=production-dependencies /app/views /app/views",
        "COPY --from=production-dependencies /app/healthcheck.js /app/healthcheck.js",
        "EXPOSE 8080", "HEALTHCHECK --interval=10s CMD node healthcheck.js", 'CMD ["npm", "start"]']
    entry, applied = split_entry(res)
    assert (entry["status"], entry["claims"]) == ("applied", ["NRA003"])
    assert applied["warning"] == (
        "the runtime stage copies package*.json, node_modules/, build/, public/, views/, healthcheck.js from /app "
        "(build/ holds the entry point build/main.js); left in the build stage: README.md, src, test, tsconfig.json "
        "(copy what the application reads at run time)")
    # the removed build-stage lines are reported as touched (the blank line before EXPOSE went with it)
    assert applied["lines"] == [1, 7, 8, 9, 10]


def test_yarn_lockfile_dockerignore_and_no_dependencies(tmp_path):
    pkg = dict(PKG, dependencies={}, scripts={"build": "esbuild src/a.ts --outdir=dist"})
    make_context(tmp_path, pkg, {"yarn.lock": "x\n", "public/a.css": "x\n", "config/x.json": "{}\n"})
    text = ("FROM node:22\nWORKDIR /srv\nCOPY package.json yarn.lock ./\nRUN yarn install --frozen-lockfile\n"
            "COPY . .\nRUN yarn build\nCMD [\"node\", \"/srv/dist/a.js\"]\n")
    res = split(tmp_path, text, dockerignore="public\n")
    st = stages(res["text"])
    assert st["production-dependencies"] == ["RUN yarn install --production --ignore-scripts --prefer-offline"]
    # no production dependency: no node_modules; public is excluded from the context, config is copied
    assert st["runtime"] == ["WORKDIR /srv",
                             "COPY --from=production-dependencies /srv/package*.json /srv/yarn.lock /srv/",
                             "COPY --from=production-dependencies /srv/dist /srv/dist",
                             "COPY --from=production-dependencies /srv/config /srv/config",
                             'CMD ["node", "/srv/dist/a.js"]']
    assert split_entry(res)[0]["status"] == "applied"


def test_whole_directory_when_what_the_app_needs_cannot_be_shown(tmp_path):
    make_context(tmp_path, files={"server.js": "x\n", "public/i.html": "x\n"})
    cases = [
        # no build step: the app runs from its sources
        ("FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm install\nCMD [\"node\", \"server.js\"]\n",
         "no build step: the application runs from its sources"),
        # a build step, but the entry point is a source file
        ("FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\nCMD [\"node\", \"server.js\"]\n",
         "the entry point server.js is not in a build output directory (dist/, build/, out/, .output/)"),
        # a shell script starts the app
        ("FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\nCMD [\"./start.sh\"]\n",
         "cannot find the entry point (the command runs 'start.sh', not node with a script file)"),
        # the health check runs a file the context does not have
        ("FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\nHEALTHCHECK CMD node hc/check.js\n"
         "CMD [\"node\", \"dist/a.js\"]\n", "the HEALTHCHECK at line 5 names hc/check.js, which is neither copied"),
        # a file the command names that the context does not have
        ("FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\n"
         "CMD [\"node\", \"dist/a.js\", \"--config\", \"settings/app.json\"]\n",
         "the CMD at line 5 names settings/app.json, which is neither copied"),
        # a RUN that makes files in the application directory
        ("FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build && mkdir -p uploads\n"
         "CMD [\"node\", \"dist/a.js\"]\n", "RUN at line 4 runs mkdir in /app, which may make files it needs"),
    ]
    for text, why in cases:
        res = split(tmp_path, text)
        entry, _applied = split_entry(res)
        assert entry["status"] == "partly_applied" and entry["claims"] == ["NRA003"], res
        assert entry["reason"].startswith("the runtime stage copies all of /app: " + why), entry["reason"]
        runtime = stages(res["text"])["runtime"]
        assert "COPY --from=production-dependencies /app /app" in runtime
        assert not [x for x in stages(res["text"])["build"] if x.startswith(("CMD", "HEALTHCHECK"))]


def test_whole_directory_for_workspaces_and_unreadable_manifests(tmp_path):
    text = "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\nCMD [\"node\", \"dist/a.js\"]\n"
    make_context(tmp_path, dict(PKG, workspaces=["packages/*"]))
    assert "declares workspaces" in split_entry(split(tmp_path, text))[0]["reason"]
    (tmp_path / "package.json").unlink()
    os.symlink("/etc/hostname", tmp_path / "package.json")      # never followed
    res = split(tmp_path, text)
    assert "package.json cannot be read" in split_entry(res)[0]["reason"], split_entry(res)[0]["reason"]


def test_package_files_list_decides_for_an_app_without_a_build(tmp_path):
    # no build step, but package.json lists its files (npm adds main): the runtime copies those, not the tests
    pkg = {"name": "a", "main": "server.js", "files": ["lib/", "views/**/*.ejs", "*.md", "!lib/*.test.js", "gone/"],
           "dependencies": {"ms": "2.1.3"}, "devDependencies": {"jest": "29.0.0"}}
    make_context(tmp_path, pkg, {"server.js": "x", "lib/a.js": "x", "views/i.ejs": "x", "README.md": "x",
                                 "test/a.test.js": "x", "public/x.css": "x"})
    text = "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm install\nCMD [\"node\", \"server.js\"]\n"
    res = split(tmp_path, text)
    assert stages(res["text"])["runtime"] == [
        "WORKDIR /app", "COPY --from=production-dependencies /app/package*.json /app/",
        *(f"COPY --from=production-dependencies /app/{d} /app/{d}"
          for d in ("node_modules", "lib", "views", "README.md", "server.js", "public")),
        'CMD ["node", "server.js"]']
    entry, applied = split_entry(res)
    assert entry["status"] == "applied"
    assert applied["warning"].endswith("(package.json lists its files; server.js is the entry point); left in the "
                                       "build stage: test (copy what the application reads at run time)")
    # an entry point the list does not cover: the whole directory
    make_context(tmp_path, dict(pkg, main="index.js"))
    res = split(tmp_path, text)
    assert "the entry point server.js is not among the files package.json lists" in split_entry(res)[0]["reason"]


def test_whole_directory_for_linked_dependencies_and_yarn_pnp(tmp_path):
    text = "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\nCMD [\"node\", \"dist/a.js\"]\n"
    make_context(tmp_path, dict(PKG, dependencies={"lib": "file:../lib", "ms": "2.1.3"}))
    assert "the dependency lib is a local directory" in split_entry(split(tmp_path, text))[0]["reason"]
    make_context(tmp_path, dict(PKG, dependencies={"lib": "file:vendor/lib-1.0.0.tgz"}))   # a tarball is extracted
    assert split_entry(split(tmp_path, text))[0]["status"] == "applied"
    (tmp_path / ".pnp.cjs").write_text("x")
    assert "Plug'n'Play" in split_entry(split(tmp_path, text))[0]["reason"]


def test_files_the_process_names_are_copied(tmp_path):
    # an entrypoint script of the application and a configuration file the CMD names come along
    make_context(tmp_path, files={"docker-entrypoint.sh": "#!/bin/sh\nexec \"$@\"\n", "settings/app.json": "{}"})
    text = ("FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\n"
            "ENTRYPOINT [\"./docker-entrypoint.sh\"]\nCMD [\"node\", \"dist/a.js\", \"settings/app.json\"]\n")
    runtime = stages(split(tmp_path, text)["text"])["runtime"]
    assert runtime[-4:] == ["COPY --from=production-dependencies /app/docker-entrypoint.sh /app/docker-entrypoint.sh",
                            "COPY --from=production-dependencies /app/settings /app/settings",
                            'ENTRYPOINT ["./docker-entrypoint.sh"]', 'CMD ["node", "dist/a.js", "settings/app.json"]']


def test_a_symlinked_asset_directory_is_not_copied(tmp_path):
    make_context(tmp_path, dict(PKG, scripts={"build": "tsc"}), {"tsconfig.json": '{"compilerOptions":{}}'})
    os.symlink("/etc", tmp_path / "public")
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert ContextFiles(fd, str(tmp_path)).entries() == {"package.json": "file", "tsconfig.json": "file",
                                                             "public": "other"}
    finally:
        os.close(fd)
    text = "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\nCMD [\"node\", \"dist/a.js\"]\n"
    runtime = stages(split(tmp_path, text)["text"])["runtime"]
    assert runtime == ["WORKDIR /app", "COPY --from=production-dependencies /app/package*.json /app/",
                       "COPY --from=production-dependencies /app/node_modules /app/node_modules",
                       "COPY --from=production-dependencies /app/dist /app/dist", 'CMD ["node", "dist/a.js"]']


def test_a_context_too_large_to_list_falls_back(tmp_path):
    from ansible_collections.refarch.containers.plugins.module_utils import _context_files  # noqa: PLC0415
    make_context(tmp_path, files={f"f{k}.txt": "" for k in range(_context_files.MAX_ENTRIES)})
    text = "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\nCMD [\"node\", \"dist/a.js\"]\n"
    entry, _applied = split_entry(split(tmp_path, text))
    assert entry["reason"] == "the runtime stage copies all of /app: the build context's top level cannot be listed"


def test_split_then_the_other_fixes_keep_the_runtime_stage_whole(tmp_path):
    # every fix after the split edits the runtime stage; the build stage keeps no CMD, EXPOSE or HEALTHCHECK
    make_context(tmp_path, files={"tsconfig.json": '{"compilerOptions":{"outDir":"build"}}', "healthcheck.js": "x"})
    res = split(tmp_path, TS_APP, fixes=["all"])
    st = stages(res["text"])
    assert not [x for x in st["build"] if x.split()[0] in ("CMD", "EXPOSE", "HEALTHCHECK", "ENTRYPOINT", "USER")]
    assert [x for x in st["runtime"] if x.startswith("USER")] and \
        [x for x in st["runtime"] if x.startswith("ENTRYPOINT")], st["runtime"]
    assert split_entry(res)[0]["status"] == "applied"


# --------------------------------------------------------------------------- an app that runs from its sources
SRC_PKG = {"name": "src-app", "version": "1.0.0", "scripts": {"start": "node server.js", "test": "jest"},
           "dependencies": {"express": "4.19.2"}, "devDependencies": {"jest": "29.7.0"}}
SRC_APP = ("FROM node:22-bookworm-slim\nWORKDIR /app\nCOPY --chown=node:node package*.json ./\n"
           "RUN npm ci && npm cache clean --force\nRUN npm cache clean --force\nCOPY --chown=node:node . .\n"
           "RUN mkdir -p uploads\nEXPOSE 3000\nCMD [\"node\", \"server.js\"]\n")


def test_no_build_step_takes_the_sources_from_the_context_and_node_modules_from_the_pruned_build(tmp_path):
    # no build step: the runtime stage repeats the stage's own copies from the build context (through the
    # .dockerignore) and takes only the production node_modules from the pruned build; nothing else of the build
    # stage (caches, the development dependencies) reaches it, so NRA003's intent holds: applied
    make_context(tmp_path, SRC_PKG, {"server.js": "x\n", "test/a.test.js": "x\n"})
    res = split(tmp_path, SRC_APP, dockerignore="node_modules\n.git\n")
    st = stages(res["text"])
    assert st["build"] == ["WORKDIR /app", "COPY --chown=node:node package*.json ./",
                           "RUN npm ci && npm cache clean --force", "RUN npm cache clean --force",
                           "COPY --chown=node:node . .", "RUN mkdir -p uploads"]
    assert st["runtime"] == [
        "WORKDIR /app", "COPY --chown=node:node package*.json ./",
        "COPY --from=production-dependencies --chown=node:node /app/node_modules /app/node_modules",
        "COPY --chown=node:node . .", "RUN mkdir -p uploads", "EXPOSE 3000", 'CMD ["node", "server.js"]']
    entry, applied = split_entry(res)
    assert (entry["status"], entry["claims"], entry["reason"]) == ("applied", ["NRA003"], "")
    assert applied["warning"].startswith("the application runs from its sources (no build step): the runtime stage "
                                         "takes them from the build context again"), applied
    # the rewritten Dockerfile no longer raises NRA003's finding: the final stage installs nothing
    facts = _dockerfile_facts.dockerfile_facts("Dockerfile", res["text"].encode(), b"node_modules\n",
                                               json.dumps(SRC_PKG).encode())
    final_runs = [r for r in facts["analysis"]["runs"] if r["final_chain"]]
    assert final_runs and not any(r["dev_dependency_installs"] or r["build_steps"] for r in final_runs)


def test_no_build_step_with_write_dockerignore_and_without_a_workdir(tmp_path):
    make_context(tmp_path, SRC_PKG, {"server.js": "x\n"})
    # the context's node_modules is excluded by the .dockerignore write_dockerignore writes in the same run
    text = "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm install\nCMD [\"node\", \"server.js\"]\n"
    res = split(tmp_path, text, fixes=("split_multi_stage", "write_dockerignore"), dockerignore="")
    assert stages(res["text"])["runtime"] == [
        "WORKDIR /app", "COPY . .", "COPY --from=production-dependencies /app/node_modules /app/node_modules",
        'CMD ["node", "server.js"]']
    assert split_entry(res)[0]["status"] == "applied" and "node_modules" in res["dockerignore"].split()
    # no WORKDIR: the same, at the root of the file system
    res = split(tmp_path, "FROM node:22\nCOPY . .\nRUN npm install\nCMD [\"node\", \"server.js\"]\n",
                dockerignore="node_modules\n")
    assert stages(res["text"])["runtime"] == [
        "COPY . .", "COPY --from=production-dependencies /node_modules /node_modules", 'CMD ["node", "server.js"]']
    assert split_entry(res)[0]["status"] == "applied"


def test_no_build_step_with_a_git_hooks_prepare_takes_the_sources(tmp_path):
    # husky as prepare installs Git hooks only (runtime_files.reads_no_source): the install makes nothing else
    make_context(tmp_path, dict(SRC_PKG, scripts={"prepare": "husky install"}), {"server.js": "x\n"})
    text = "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm install\nCMD [\"node\", \"server.js\"]\n"
    res = split(tmp_path, text, dockerignore="node_modules\n")
    assert stages(res["text"])["runtime"] == [
        "WORKDIR /app", "COPY . .", "COPY --from=production-dependencies /app/node_modules /app/node_modules",
        'CMD ["node", "server.js"]']
    assert split_entry(res)[0]["status"] == "applied"


def test_no_build_step_and_no_production_dependency_takes_nothing_from_the_build(tmp_path):
    # npm makes no node_modules without production dependencies: nothing to copy, no prune stage
    make_context(tmp_path, dict(SRC_PKG, dependencies={}), {"server.js": "x\n"})
    cmd = 'CMD ["node", "server.js"]\n'
    res = split(tmp_path, "FROM node:22\nCOPY package*.json ./\nRUN npm i\nCOPY server.js .\n" + cmd,
                dockerignore="node_modules\n")
    assert res["text"] == ("FROM node:22 AS build\nCOPY package*.json ./\nRUN npm i\nCOPY server.js .\n\n"
                           "FROM node:22 AS runtime\nCOPY package*.json ./\nCOPY server.js .\n" + cmd)
    entry, applied = split_entry(res)
    assert entry["status"] == "applied" and "nothing from the build (package.json declares no production " \
        "dependencies)" in applied["warning"]


def test_no_build_step_falls_back_to_the_whole_directory_when_the_install_may_make_more(tmp_path):
    text = "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm install\nCMD [\"node\", \"server.js\"]\n"
    cases = [
        # an install script of the package itself may write outside node_modules
        (dict(SRC_PKG, scripts={"postinstall": "node setup.js"}), text, "node_modules\n",
         "package.json's postinstall script(s) run at install"),
        # the context's node_modules would reach the runtime stage (no .dockerignore entry, none written)
        (SRC_PKG, text, "", "COPY at line 3 would copy the build context's node_modules into the runtime stage"),
        # ... and a re-include beats the exclusion
        (SRC_PKG, text, "node_modules\n!node_modules\n", "COPY at line 3 would copy the build context's node_modules"),
        # a named package changes package.json and the lockfile in the build stage only
        (SRC_PKG, text.replace("npm install", "npm install && npm install left-pad"), "node_modules\n",
         "RUN at line 4 does more than install the project's dependencies"),
        # the application directory is a subdirectory of the context, whose node_modules the .dockerignore does
        # not exclude (node_modules matches at the top only)
        (SRC_PKG, text.replace("COPY . .", "COPY package.json ./\nCOPY api/ ."), "node_modules\n",
         "COPY at line 4 would copy the build context's api/node_modules"),
        # a RUN whose writes cannot be placed
        (SRC_PKG, text.replace("CMD", "RUN node scripts/seed.js\nCMD"), "node_modules\n",
         "cannot tell where RUN at line 5 writes"),
    ]
    for pkg, dockerfile_text, ignore, why in cases:
        make_context(tmp_path, pkg, {"server.js": "x\n", "api/server.js": "x\n"})
        res = split(tmp_path, dockerfile_text, dockerignore=ignore)
        entry, _applied = split_entry(res)
        assert entry["status"] == "partly_applied", (why, res["text"])
        assert entry["reason"].startswith("the runtime stage copies all of /app"), entry["reason"]
        assert why in entry["reason"], (why, entry["reason"])
        assert any(x.startswith("COPY --from=production-dependencies /app") and x.endswith(" /app")
                   for x in stages(res["text"])["runtime"]), res["text"]


def test_a_build_run_through_a_script_of_another_name_is_a_build_step(tmp_path):
    # `npm run compile` runs tsc (package.json): the facts read it as a build step (NRA003 reports it), and the split
    # copies the build output the entry point lies in, as for `npm run build`
    pkg = dict(PKG, scripts={"compile": "tsc", "start": "node dist/main.js"})
    make_context(tmp_path, pkg, {"src/main.ts": "export {}\n", "test/a.test.ts": "x\n"})
    text = ("FROM node:22-bookworm-slim\nWORKDIR /app\nENV NODE_ENV=production\nCOPY package*.json ./\n"
            "RUN npm ci --include=dev\nCOPY . .\nRUN npm run compile\nCMD [\"node\", \"dist/main.js\"]\n")
    facts = _dockerfile_facts.dockerfile_facts("Dockerfile", text.encode(), None, json.dumps(pkg).encode())
    assert [r["build_steps"] for r in facts["analysis"]["runs"]] == [[], ["npm run compile"]]
    res = split(tmp_path, text)
    assert stages(res["text"])["runtime"] == [
        "WORKDIR /app", "ENV NODE_ENV=production",
        "COPY --from=production-dependencies /app/package*.json /app/",
        "COPY --from=production-dependencies /app/node_modules /app/node_modules",
        "COPY --from=production-dependencies /app/dist /app/dist", 'CMD ["node", "dist/main.js"]']
    assert split_entry(res)[0]["status"] == "applied"
