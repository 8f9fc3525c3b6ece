"""Build descriptors on the host: found by the walk, read bounded and redacted, declared builds evaluated.

Real files in a temporary tree; the controller's parser (``_descriptors``) links the builds, as the
action plugin does. The mixed-corpus test reads ``../shared/mixed-corpus`` at test time.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest
from ansible_collections.refarch.containers.plugins.module_utils import _builds
from ansible_collections.refarch.containers.plugins.module_utils._builds import (
    MAX_DESCRIPTOR_SIZE,
    build_documents,
)
from ansible_collections.refarch.containers.plugins.module_utils._discovery import scan, scan_builds
from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_facts import dockerfile_facts
from ansible_collections.refarch.containers.plugins.module_utils._dockerignore import parse_dockerignore
from ansible_collections.refarch.containers.plugins.module_utils._walker import Matcher, descriptor_kind, walk
from ansible_collections.refarch.containers.plugins.plugin_utils._descriptors import link_result

REPO = Path(__file__).resolve().parents[4]
SCHEMA = json.loads((REPO / "policies" / "schema" / "facts.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

MULTI = b"""ARG NODE_VERSION=18
FROM node:${NODE_VERSION}-bookworm-slim AS base
ARG NODE_ENV=production
ENV NODE_ENV=$NODE_ENV
FROM base AS dev
CMD ["npm", "run", "dev"]
FROM base AS prod
USER node
CMD ["node", "server.js"]
"""


def _write(root: Path, rel: str, data: bytes | str = b"FROM node:20\n") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _evaluate(root: Path):
    """What the discovery action does: scan, parse the descriptors, evaluate the declared builds."""
    params = {"paths": [str(root)], "max_file_size": 1 << 20}
    found = scan([str(root)], descriptors=True)
    return link_result(found, [str(root)], lambda builds: scan_builds(params, builds))


# --------------------------------------------------------------------------------------------- names and walk
def test_default_patterns_cover_real_spellings_in_any_case_but_never_ignore_files(tmp_path):
    names = ["Dockerfile-dev", "Dockerfile_worker", "worker.dockerfile", "WORKER.DOCKERFILE", "dockerfile",
             "Containerfile-ci", "api.Dockerfile", "Dockerfile.prod"]
    not_names = [".dockerignore", "Dockerfile.dockerignore", "Dockerfile-dev.DOCKERIGNORE", "Dockerfile~",
                 "README.md", "dockerfile.bak"]
    for i, n in enumerate(names + not_names):
        _write(tmp_path, f"d{i}/{n}")
    found, dummy, dummy = walk([str(tmp_path)])
    assert sorted(os.path.basename(c.path) for c in found) == sorted(names)


def test_walk_finds_descriptors_only_when_asked(tmp_path):
    for rel in ("docker-compose.yml", "a/compose.override.yaml", "b/docker-compose.prod.yml", "c/docker-bake.hcl",
                "c/docker-bake.json", ".github/workflows/ci.yml", ".github/workflows/x.txt", "d/notes.yml",
                "e/compose.txt"):
        _write(tmp_path, rel, "x: 1\n")
    (tmp_path / "f").mkdir()
    os.symlink(tmp_path / "docker-compose.yml", tmp_path / "f" / "compose.yaml")
    found: list = []
    walk([str(tmp_path)], Matcher(descriptors=True), descriptors=found)
    rel = sorted(os.path.relpath(c.path, tmp_path) for c in found)
    assert rel == [".github/workflows/ci.yml", "a/compose.override.yaml", "b/docker-compose.prod.yml",
                   "c/docker-bake.hcl", "c/docker-bake.json", "docker-compose.yml"]  # the symlink is not read
    assert [descriptor_kind(c.path) for c in sorted(found, key=lambda c: c.path)].count("compose") == 3
    none: list = []
    walk([str(tmp_path)], descriptors=none)
    assert none == []


def test_descriptors_are_read_bounded_and_redacted(tmp_path):
    _write(tmp_path, "docker-compose.yml", "services:\n  a:\n    build:\n      context: .\n      args:\n"
                                           "        NPM_TOKEN: s3cr3tvalue99\n")
    _write(tmp_path, "big/compose.yaml", "#" * (MAX_DESCRIPTOR_SIZE + 1))
    _write(tmp_path, "bin/compose.yml", b"\xff\xfe services")
    fifo_dir = tmp_path / "fifo"
    fifo_dir.mkdir()
    os.mkfifo(fifo_dir / "docker-compose.yml")
    res = scan([str(tmp_path)], descriptors=True)
    by = {os.path.relpath(d["path"], tmp_path): d for d in res["descriptors"]}
    assert "s3cr3tvalue99" not in json.dumps(res)
    assert "NPM_TOKEN: <redacted>" in by["docker-compose.yml"]["text"]
    assert by["big/compose.yaml"]["error"]["code"] == "too_large"
    assert by["bin/compose.yml"]["error"]["code"] == "decode_error"
    assert "fifo/docker-compose.yml" not in by  # never opened: not a regular file


def test_descriptors_read_per_scan_are_bounded(tmp_path, monkeypatch):
    for i in range(4):
        _write(tmp_path, f"p{i}/compose.yaml", "services: {}\n" + "#" * 100)
    monkeypatch.setattr(_builds, "MAX_DESCRIPTOR_TOTAL", 150)
    res = scan([str(tmp_path)], descriptors=True)
    errors = [d["error"]["code"] if d["error"] else None for d in res["descriptors"]]
    assert errors.count(None) == 2 and errors.count("too_many_descriptors") == 2


# --------------------------------------------------------------------------------------------- facts per build
def test_facts_target_and_build_args():
    args = {"NODE_VERSION": "22", "NODE_ENV": "development"}
    doc = dockerfile_facts("/srv/a/Dockerfile", MULTI, target="dev", build_args=args)
    assert doc["error"] is None
    assert doc["final_stage"]["name"] == "dev"
    assert doc["stages"][0]["base"]["tag"] == "22-bookworm-slim"
    assert doc["final_stage"]["env"]["NODE_ENV"]["value"] == "development"
    assert doc["final_stage"]["process"]["argv"] == ["npm", "run", "dev"]
    last = dockerfile_facts("/srv/a/Dockerfile", MULTI)
    assert last["final_stage"]["name"] == "prod" and last["stages"][0]["base"]["tag"] == "18-bookworm-slim"
    missing = dockerfile_facts("/srv/a/Dockerfile", MULTI, target="nope")
    assert missing["error"]["code"] == "unknown_target"
    secret = dockerfile_facts("/srv/a/Dockerfile", b"FROM node:20\nARG API_TOKEN\nRUN echo $API_TOKEN\n",
                              build_args={"API_TOKEN": "abc123abc123"})
    assert "abc123abc123" not in json.dumps(secret)
    assert secret["final_stage"]["args"]["API_TOKEN"]["redacted"] is True


def test_declared_builds_replace_the_default_evaluation(tmp_path):
    _write(tmp_path, "app/docker/Dockerfile-node", MULTI)
    _write(tmp_path, "app/.dockerignore", "node_modules\n.git\n")
    _write(tmp_path, "app/docker/.dockerignore", "beside-but-not-the-context\n")
    _write(tmp_path, "app/docker-compose.yml",
           "services:\n  web:\n    build:\n      context: .\n      dockerfile: docker/Dockerfile-node\n"
           "      target: dev\n      args: {NODE_VERSION: '22'}\n    image: localhost/web:1\n"
           "  api:\n    build: {context: ., dockerfile: docker/Dockerfile-node, target: prod}\n")
    _write(tmp_path, "lonely/Dockerfile", "FROM node:20\n")
    out = _evaluate(tmp_path)
    docs = out["dockerfiles"]
    for d in docs:
        VALIDATOR.validate(d)
    node = [d for d in docs if d["path"].endswith("Dockerfile-node")]
    assert sorted(d["build"]["target"] for d in node) == ["dev", "prod"]  # no default document left
    for d in node:
        assert d["context"] == str(tmp_path / "app")
        # no Dockerfile-node.dockerignore: the context root's .dockerignore, not the one beside the Dockerfile
        assert d["dockerignore"]["path"] == str(tmp_path / "app" / ".dockerignore")
        assert d["dockerignore"]["patterns"] == ["node_modules", ".git"]
        assert d["build"]["declared_by"][0]["path"] == str(tmp_path / "app" / "docker-compose.yml")
        assert d["scan_root"] == str(tmp_path) and d["dir_identity"]["ino"] == os.stat(tmp_path / "app/docker").st_ino
    dev = next(d for d in node if d["build"]["target"] == "dev")
    assert dev["build"]["image"] == "localhost/web:1" and dev["build"]["args"] == {"NODE_VERSION": "22"}
    assert dev["stages"][0]["base"]["tag"] == "22-bookworm-slim"
    lonely = [d for d in docs if d["path"].endswith("lonely/Dockerfile")]
    assert len(lonely) == 1 and "build" not in lonely[0] and lonely[0]["context"] == str(tmp_path / "lonely")
    assert out["problems"] == []


def test_named_ignore_file_beside_the_dockerfile_wins(tmp_path):
    _write(tmp_path, "svc/api.Dockerfile", "FROM node:20\n")
    _write(tmp_path, "svc/api.Dockerfile.dockerignore", "node_modules\n")
    _write(tmp_path, ".dockerignore", ".git\n")
    _write(tmp_path, "compose.yaml", "services:\n  a:\n    build: {context: ., dockerfile: svc/api.Dockerfile}\n")
    [doc] = [d for d in _evaluate(tmp_path)["dockerfiles"] if d.get("build")]
    assert doc["dockerignore"]["path"] == str(tmp_path / "svc" / "api.Dockerfile.dockerignore")


def test_a_descriptor_names_a_dockerfile_whatever_its_name(tmp_path):
    _write(tmp_path, "build/app.containerspec", "FROM node:20\nUSER node\n")
    _write(tmp_path, "docker-bake.hcl", 'target "app" {\n  dockerfile = "build/app.containerspec"\n}\n')
    [doc] = _evaluate(tmp_path)["dockerfiles"]
    assert doc["path"] == str(tmp_path / "build" / "app.containerspec") and doc["error"] is None
    assert doc["build"]["declared_by"] == [{"path": str(tmp_path / "docker-bake.hcl"), "kind": "bake",
                                            "name": "app"}]


def test_missing_dockerfile_and_symlinked_folder_are_problems_not_failures(tmp_path):
    outside = tmp_path / "outside"
    _write(outside, "Dockerfile", "FROM node:20\n")
    root = tmp_path / "root"
    _write(root, "compose.yaml", "services:\n  gone:\n    build: ./gone\n  linked:\n    build: ./link\n"
                                 "  up:\n    build: ../outside\n  t:\n    build: {context: ./ok, target: nope}\n")
    _write(root, "ok/Dockerfile", "FROM node:20\n")
    os.symlink(outside, root / "link")
    out = _evaluate(root)
    codes = sorted(p["code"] for p in out["problems"])
    assert codes == ["context_outside_roots", "dockerfile_not_found"]
    by = {d["path"]: d for d in out["dockerfiles"]}
    assert by[str(root / "link" / "Dockerfile")]["error"]["code"] == "symlink_not_followed"
    assert by[str(root / "ok" / "Dockerfile")]["error"]["code"] == "unknown_target"
    assert str(outside / "Dockerfile") not in by


def test_build_documents_never_leave_the_roots(tmp_path):
    _write(tmp_path, "other/Dockerfile", "FROM node:20\n")
    docs, problems = build_documents([{"dockerfile": str(tmp_path / "other/Dockerfile"), "context": str(tmp_path),
                                       "target": None, "args": {}, "declared_by": [{"path": "/x/compose.yaml",
                                                                                    "kind": "compose", "name": "a"}]}],
                                     [str(tmp_path / "root")], (1 << 20, False, False))
    assert docs == [] and [p["code"] for p in problems] == ["context_outside_roots"]


# --------------------------------------------------------------------------------------------- the mixed corpus
def test_mixed_corpus_compose_targets_are_evaluated_as_declared(shared_dir):
    corpus = shared_dir / "mixed-corpus"
    if not (corpus / "labels.json").is_file():
        pytest.skip(f"the mixed corpus is not at {corpus} (labels.json missing)")
    repos = corpus / "repos"
    labels = json.loads((corpus / "labels.json").read_text())
    out = _evaluate(repos)
    docs = out["dockerfiles"]
    assert out["problems"] == []
    for label in labels:
        repo = repos / label["repo"]
        # labels name a Dockerfile relative to its repository (or, for some, to repos/ with the repository's name)
        path = str(repo / label["dockerfile"]) if (repo / label["dockerfile"]).is_file() \
            else str(repos / label["dockerfile"])
        mine = [d for d in docs if d["path"] == path]
        assert mine, f"{path} was not evaluated"
        if label["target"] is None and label["context"] is None:
            continue
        context = os.path.normpath(repo / label["context"])
        match = [d for d in mine if (d.get("build") or {}).get("target") == label["target"]]
        assert len(match) == 1, f"{path}: target {label['target']} evaluated {len(match)} times"
        doc = match[0]
        assert doc["error"] is None
        assert doc["final_stage"]["name"] == label["target"]
        assert doc["context"] == context
        # declared: no default (last stage, own folder) evaluation of the same file is left
        assert all(d.get("build") for d in mine)
    backend = next(d for d in docs if d["path"].endswith("packages/hoppscotch-backend/Dockerfile"))
    # built from the repository root: judged against the root .dockerignore, not its own folder's
    assert backend["context"] == str(repos / "hoppscotch")
    assert backend["dockerignore"]["path"] == str(repos / "hoppscotch" / ".dockerignore")
    root_patterns = parse_dockerignore((repos / "hoppscotch" / ".dockerignore").read_bytes())
    own_patterns = parse_dockerignore((repos / "hoppscotch/packages/hoppscotch-backend/.dockerignore").read_bytes())
    assert root_patterns != own_patterns
    assert backend["dockerignore"]["patterns"] == root_patterns


def test_as_root_a_descriptor_cannot_make_the_scan_read_another_users_file(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("the owner rule applies to scans run as root")
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    _write(bob, "notes.txt", "FROM node:20\nENV NOTE=private-words\n")
    _write(bob, "Dockerfile-ok", "FROM node:20\n")
    _write(alice, "compose.yaml", "services:\n  steal:\n    build: {context: ../bob, dockerfile: notes.txt}\n"
                                  "  fine:\n    build: {context: ../bob, dockerfile: Dockerfile-ok}\n")
    for path in (alice, alice / "compose.yaml"):
        os.chown(path, 1001, 1001)
    for path in (bob, bob / "notes.txt"):
        os.chown(path, 1002, 1002)
    os.chmod(bob / "notes.txt", 0o600)
    out = _evaluate(tmp_path)
    by = {d["path"]: d for d in out["dockerfiles"]}
    assert by[str(bob / "notes.txt")]["error"]["code"] == "foreign_owner"
    assert "private-words" not in json.dumps(out)
    # a root-owned file a descriptor names is read (as the walk reads a root-owned Dockerfile)
    assert by[str(bob / "Dockerfile-ok")]["error"] is None
    assert "uid" not in json.dumps([d.get("build") for d in out["dockerfiles"]])
    # a descriptor root wrote (a deployment's) is trusted: bob's own Dockerfile it names is read
    _write(bob, "app.Dockerfile", "FROM node:20\n")
    os.chown(bob / "app.Dockerfile", 1002, 1002)
    _write(tmp_path, "deploy/docker-compose.yml", "services:\n  app:\n    build: {context: ../bob, "
                                                  "dockerfile: app.Dockerfile}\n")
    again = {d["path"]: d for d in _evaluate(tmp_path)["dockerfiles"]}
    assert again[str(bob / "app.Dockerfile")]["error"] is None
    assert again[str(bob / "notes.txt")]["error"]["code"] == "foreign_owner"


def test_mixed_corpus_backend_is_judged_against_the_root_dockerignore(shared_dir):
    corpus = shared_dir / "mixed-corpus" / "repos" / "hoppscotch"
    if not (corpus / "docker-compose.yml").is_file():
        pytest.skip(f"the mixed corpus is not at {corpus.parent.parent}")
    from ansible_collections.refarch.containers.plugins.action.policy_check import (  # noqa: PLC0415
        run_policy_check,
    )

    docs = _evaluate(corpus)["dockerfiles"]
    backend = [d for d in docs if d["path"].endswith("packages/hoppscotch-backend/Dockerfile")]
    assert len(backend) == 1 and backend[0]["build"]["target"] == "prod"
    default = scan([str(corpus / "packages" / "hoppscotch-backend" / "Dockerfile")])["dockerfiles"]
    result = run_policy_check({"facts": {"dockerfiles": backend + default}, "engine": "embedded", "fail_on": "none",
                               "evaluation_date": "2026-01-15"}, "localhost")
    nra004: dict[bool, list[str]] = {True: [], False: []}
    for f in result["findings"]:
        if f["rule_id"] == "NRA004":
            nra004["build" in f["target"]].append(f["message"])
    # the root .dockerignore excludes node_modules and .git but not .cache; the folder's own excludes only
    # node_modules: the declared build is judged by the file BuildKit reads, so the findings differ
    root_ignore, own_ignore = str(corpus / ".dockerignore"), str(corpus / "packages/hoppscotch-backend/.dockerignore")
    assert nra004[True] and all(root_ignore in m and own_ignore not in m for m in nra004[True])
    assert nra004[False] and all(own_ignore in m for m in nra004[False])
    # .git is excluded at the root, not in the folder: only the default evaluation complains about it
    assert not any(".git" in m.replace(root_ignore, "") for m in nra004[True])
    assert any(".git" in m.replace(own_ignore, "") for m in nra004[False])


def test_a_declared_context_that_cannot_be_opened_makes_the_run_incomplete(tmp_path):
    """compose: dockerfile ../app/Dockerfile from a context that is a symlink: the build is evaluated without its
    context's files, and the problem (source: descriptor) is a descriptor_unusable reason of the run."""
    from ansible_collections.refarch.containers.plugins.plugin_utils import _completeness  # noqa: PLC0415

    _write(tmp_path, "app/Dockerfile", "FROM node:20\n")
    os.symlink(tmp_path / "app", tmp_path / "ctx")
    _write(tmp_path, "compose.yaml", "services:\n  a:\n    build: {context: ./ctx, dockerfile: ../app/Dockerfile}\n")
    [doc] = [d for d in _evaluate(tmp_path)["dockerfiles"] if d.get("build")]
    assert doc["error"] is None
    [problem] = [p for p in doc["problems"] if p.get("source") == "descriptor"]
    assert problem["code"] == "symlink_not_followed" and "build context" in problem["message"]
    reasons = _completeness.incomplete_reasons({"h": {"status": "ok", "targets": [doc]}})
    assert [(r["reason"], r["target"]) for r in reasons] == [("descriptor_unusable", doc["path"])]
