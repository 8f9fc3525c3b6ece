"""The one stage chain (``plugins/module_utils/_stages.py``), and the facts builder and the rewriter reading
a Dockerfile through it alike."""
from __future__ import annotations

from pathlib import Path

import pytest
from ansible_collections.refarch.containers.plugins.module_utils import _rewriter
from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_facts import dockerfile_facts
from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_parser import parse
from ansible_collections.refarch.containers.plugins.module_utils._redact import REDACTED
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.model import _Doc
from ansible_collections.refarch.containers.plugins.module_utils._stages import Chain
from ansible_collections.refarch.containers.plugins.plugin_utils import _bundle
from ansible_collections.refarch.containers.plugins.plugin_utils._engine_embedded import EmbeddedEngine

REPO = Path(__file__).resolve().parents[4]
CORPUS = REPO.parent / "shared" / "corpus" / "cases"


def chain_of(text: str) -> Chain:
    parsed = parse(text)
    chain = Chain(parsed.get("escape") or "\\", problems=[])
    for ins in parsed["instructions"]:
        chain.add(dict(ins, cmd=ins["cmd"].upper()))
    return chain


def test_from_resolves_through_global_args_and_stage_names():
    chain = chain_of("ARG V=22\nARG IMG=node:${V}-slim\nFROM ${IMG} AS Build\nRUN true\nFROM build AS next\n"
                     "FROM 0\nFROM $NOPE\n")
    build, nxt, zero, nope = chain.stages
    assert (build.name, build.key, build.resolved, build.base["repository"], build.base["tag"]) == \
        ("Build", "build", "node:22-slim", "library/node", "22-slim")
    assert build.ref["raw"] == "node:22-slim" and build.ref is build.ref
    assert nxt.from_stage == 0 and nxt.parent is build and nxt.ref is None
    assert [s.index for s in chain.chain(nxt)] == [0, 1]
    # an index names a stage only in COPY --from; FROM 0 is the image docker.io/library/0
    assert zero.from_stage is None and zero.base["repository"] == "library/0"
    assert nope.unresolved and nope.base_resolved is None and nope.ref is None
    assert [p["code"] for p in chain.problems] == ["unresolved_base"]
    assert chain.global_defaults == {"V": "22", "IMG": "node:${V}-slim"}
    assert chain.global_vars == {"V": "22", "IMG": "node:22-slim"}


def test_state_inherited_through_from_stage():
    chain = chain_of("ARG G=1\nFROM node:22 AS a\nARG A=x\nARG G\nENV E=$A/e\nUSER 1000\nWORKDIR /srv\n"
                     'SHELL ["/bin/bash", "-c"]\nCMD ["node", "a.js"]\n'
                     "FROM a\nENTRYPOINT [\"tini\", \"--\"]\nWORKDIR app\n")
    a, b = chain.stages
    assert a.state.vars == {"A": "x", "G": "1", "E": "x/e"}
    assert b.state.vars == {"E": "x/e"}      # ENV is inherited, ARG is not
    assert (b.state.user["value"], b.state.user_name, b.state.user_stage) == (["1000"], "1000", 0)
    assert b.state.workdir == "/srv/app" and b.state.shell == ["/bin/bash", "-c"]
    assert b.state.entrypoint["start_line"] == 11
    assert b.state.cmd is None               # ENTRYPOINT resets the CMD inherited from the parent
    assert a.state.cmd["start_line"] == 9 and a.state.cmd_stage == 0


def test_variables_follow_buildkit_rules_and_state_at_a_line():
    chain = chain_of("FROM node:22\nENV A=/x B=$A/app\nARG A=/arg\nWORKDIR $B\nENV A=/y\nWORKDIR $A\nENV D=late\n")
    st = chain.stages[0]
    assert chain.state_at(st, 4).vars["B"] == "$A/app"   # one ENV's values see the variables before it
    assert chain.state_at(st, 4).vars["A"] == "/x"       # ENV wins over a later ARG of the same name
    assert chain.state_at(st, 4).workdir is None
    assert chain.state_at(st, 5).workdir == "/$A/app"
    assert chain.state_at(st).workdir == "/y" and "D" in st.state.vars
    assert chain.problems == []


def test_escape_directive_used_in_expansion():
    chain = chain_of("# escape=`\nFROM node:22\nENV D=/app\nWORKDIR `$D\n")
    assert chain.stages[0].state.workdir == "/$D"


AGREEMENT = [
    "FROM node:22 AS b\nENV APP=/srv/app\nWORKDIR $APP\nUSER node\nFROM b\nWORKDIR sub\nCMD [\"node\", \"x\"]\n",
    "ARG V=18\nARG IMG=node:${V}-alpine\nFROM ${IMG} AS build\nRUN npm ci\nFROM build AS mid\nFROM 0\n",
    "FROM node:22\nENV U=1000\nARG U=0\nUSER $U\nWORKDIR /a\nWORKDIR ../b\nENTRYPOINT [\"node\"]\n",
    "FROM registry.access.redhat.com/ubi9/nodejs-20\nUSER 0\nWORKDIR /opt\nCMD npm start\n",
]


def _agreement_texts() -> list:
    texts = list(AGREEMENT)
    if CORPUS.is_dir():
        texts += [p.read_text(encoding="utf-8", errors="surrogateescape") for p in sorted(CORPUS.rglob("Dockerfile"))]
    return texts


@pytest.mark.parametrize("text", _agreement_texts(), ids=lambda t: t.splitlines()[0][:40] if t else "empty")
def test_facts_and_rewriter_read_the_stages_alike(text):
    facts = dockerfile_facts("/srv/Dockerfile", text.encode("utf-8", "surrogateescape"))
    doc = _Doc(text, parse)
    assert [s["from_stage"] for s in facts["stages"]] == [s.from_stage for s in doc.stages]
    assert [s["base"]["resolved"] for s in facts["stages"]] == [s.resolved for s in doc.stages]
    if not doc.stages:
        assert facts["final_stage"] is None
        return
    final = facts["final_stage"]
    assert facts["analysis"]["final_chain"] == sorted(s.index for s in doc.chain(doc.final))
    eff = doc.effective(doc.final)
    assert final["user"]["line"] == (eff["user"]["start_line"] if eff["user"] else None)
    assert (final["entrypoint"] or {}).get("line") == (eff["entrypoint"] or {}).get("start_line")
    assert (final["cmd"] or {}).get("line") == (eff["cmd"] or {}).get("start_line")
    ubi = doc.root_ref(doc.final) and "nodejs-" in (doc.root_ref(doc.final)["repository"] or "")
    if not ubi and REDACTED not in str(final["workdir"]):
        # the rewriter also knows the UBI Node.js images' own WORKDIR; the facts do not
        assert (final["workdir"] and final["workdir"].replace("//", "/")) == doc.workdir(doc.final)


_ENGINE: list = []


def _findings(text: str) -> list:
    """The shipped rules' findings on ``text`` (embedded regorus engine, one instance for the module)."""
    if not _ENGINE:
        bundle = _bundle.load_bundle(include_default=False, paths=[str(REPO / "policies")])
        _ENGINE.append(EmbeddedEngine(bundle, backend="regorus"))
    found = _ENGINE[0].evaluate([dockerfile_facts("/srv/Dockerfile", text.encode())], "2026-06-01")[0]
    return found if isinstance(found, list) else found["findings"]


def rewrite(text: str, read_file=None) -> dict:
    return _rewriter.rewrite(text, ["all"], {"evaluation_date": "2026-06-01", "package_json": {
        "exists": True, "scripts": {"start": "node server.js"}, "main": "server.js"}, "read_file": read_file})


def test_rewriter_from_index_is_an_image_not_a_stage():
    out = rewrite('FROM node:14 AS build\nRUN npm ci\nFROM 0\nCOPY . /app\nWORKDIR /app\nCMD ["node", "s.js"]\n')
    reasons = {s["fix"]: s["reason"] for s in out["skipped"]}
    assert "cannot tell how to create a user on base image '0'" in reasons["add_non_root_user"]
    assert "FROM 0\nCOPY . /app\n" in out["text"]


def test_rewriter_edits_an_arg_default_built_from_another_global_arg():
    """node:20 is end-of-life on the evaluation date: moved one LTS line (to 22) in the default that ARG builds."""
    out = rewrite('ARG V=20\nARG IMG=node:${V}\nFROM ${IMG}\nWORKDIR /app\nCOPY . .\nCMD ["node", "s.js"]\n')
    assert "ARG IMG=node:22\nFROM ${IMG}\n" in out["text"]
    assert "replace_base_image" in [a["fix"] for a in out["applied"]]


def test_rewriter_env_wins_over_arg_of_the_same_name():
    out = rewrite('FROM node:22\nENV U=1000\nARG U=0\nUSER $U\nCMD ["node", "s.js"]\n')
    assert "USER $U\n" in out["text"]
    assert any(s["fix"] == "add_non_root_user" and s.get("not_needed") for s in out["skipped"])


def test_rewriter_arg_of_the_parent_stage_is_not_inherited():
    out = rewrite('FROM node:22 AS b\nARG MAX_NODE_MEMORY=2048\nFROM b\nCMD ["node", "s.js"]\n')
    # the heap fix's default is its own (1024), not the parent stage's ARG MAX_NODE_MEMORY=2048
    assert 'NODE_OPTIONS="--max-old-space-size=1024"' in out["text"]
    assert "max-old-space-size=2048" not in out["text"]


def test_rewriter_reads_user_and_expose_variables_at_their_line():
    out = rewrite('FROM node:22\nUSER ${U}\nENV U=1000\nCMD ["node", "s.js"]\n')
    reasons = {s["fix"]: s["reason"] for s in out["skipped"]}
    assert reasons["add_non_root_user"] == "the final USER (line 2) uses a variable that cannot be resolved"
    out = rewrite('FROM node:22\nEXPOSE $P\nENV P=80\nUSER node\nCMD ["node", "s.js"]\n')
    reasons = {s["fix"]: s["reason"] for s in out["skipped"]}
    assert reasons["remap_privileged_ports"] == "EXPOSE $P (line 2) uses an unresolved variable"
    assert "ENV P=80\n" in out["text"]
    # the port fix changes a port only for an app shown to read its port variable (#16): s.js reads PORT
    app = {"s.js": "require('http').createServer().listen(process.env.PORT)\n"}
    out = rewrite('FROM node:22\nENV P=80\nCOPY s.js ./\nEXPOSE $P\nUSER node\nCMD ["node", "s.js"]\n',
                  lambda rel: (app[rel], None) if rel in app else (None, f"{rel} does not exist"))
    assert "ENV P=8080\n" in out["text"] and "ENV PORT=8080\nEXPOSE $P\n" in out["text"]


@pytest.mark.parametrize("source", [".", "./.", "/", "*"])
def test_rewriter_reorders_every_context_copy_nra005_reports(source):
    text = f'FROM node:22\nWORKDIR /app\nCOPY {source} .\nRUN npm ci\nUSER node\nCMD ["node", "s.js"]\n'
    facts = dockerfile_facts("/srv/Dockerfile", text.encode())
    assert facts["analysis"]["context_copies"] == [{"stage": 0, "line": 3, "cached_dependencies": []}]
    out = rewrite(text)
    assert "reorder_dependency_layers" in [a["fix"] for a in out["applied"]]
    assert f"WORKDIR /app\nCOPY package*.json npm-shrinkwrap.json* ./\nRUN npm ci\nCOPY {source} .\nUSER" in out["text"]


@pytest.mark.parametrize(("lines", "needed"), [
    ('ENV NODE_OPTIONS="--max-old-space-size=512"\n', False),
    ('ENV NODE_OPTIONS="--max-old-space-size=512"\nENV NODE_OPTIONS=--enable-source-maps\n', True),
    ("ARG NODE_OPTIONS=--max-old-space-size=512\n", True),   # an ARG is not in the container's environment
])
def test_rewriter_heap_limit_reads_the_node_options_nra009_reads(lines, needed):
    text = f'FROM node:22\n{lines}USER node\nCMD ["node", "s.js"]\n'
    rules = {f["rule_id"] for f in _findings(text)}
    out = rewrite(text)
    assert ("NRA009" in rules) is needed
    assert ("set_heap_limit" in [a["fix"] for a in out["applied"]]) is needed


def test_rewriter_base_image_with_a_variable_left_is_not_called_fine():
    text = 'ARG V=$D/x\nFROM node:${V}\nUSER node\nCMD ["node", "s.js"]\n'
    assert {"NRA012", "NRA014"} <= {f["rule_id"] for f in _findings(text)}
    skipped = {s["fix"]: s for s in rewrite(text)["skipped"]}
    assert skipped["replace_base_image"] == {
        "fix": "replace_base_image", "reason": "FROM at line 2: the base image 'node:$D/x' cannot be read"}
