"""Build descriptors read on the controller: compose, bake (HCL and JSON), GitHub Actions workflows.

Pure functions over text: no Ansible, no host. Each bad input is a named problem of its file.
"""
from __future__ import annotations

import datetime as dt
import json as _json
from pathlib import Path

import jsonschema
import pytest
import yaml
from ansible_collections.refarch.containers.plugins.plugin_utils import _findings, _hcl, _report, _yaml_bounded
from ansible_collections.refarch.containers.plugins.plugin_utils._descriptors import (
    link_images,
    link_result,
    parse_descriptor,
    plan_builds,
)
from ansible_collections.refarch.containers.plugins.plugin_utils._html import render_html
from ansible_collections.refarch.containers.plugins.plugin_utils._junit import render_junit
from ansible_collections.refarch.containers.plugins.plugin_utils._sarif import render_sarif
from ansible_collections.refarch.containers.plugins.plugin_utils._text import render_text

ROOT = "/srv"


def _codes(problems):
    return sorted({p["code"] for p in problems})


def _plan(files: dict[str, str], roots=(ROOT,)):
    return plan_builds([{"path": p, "text": t} for p, t in files.items()], list(roots))


# --------------------------------------------------------------------------------------------------- compose
def test_compose_long_and_short_build_forms():
    text = """
services:
  api:
    build:
      context: ./api
      dockerfile: docker/Dockerfile-prod
      target: runtime
      args:
        NODE_ENV: production
        PORT: 8080
        FROM_ENV:
    image: registry.local/api:1.2
  web:
    build: ./web
  worker:
    build:
      context: .
      args: ["A=1", "B"]
  db:
    image: postgres:15
"""
    builds, problems = parse_descriptor("/srv/app/docker-compose.yml", text)
    assert problems == []
    by = {b["name"]: b for b in builds}
    assert set(by) == {"api", "web", "worker"}
    assert by["api"]["context"] == "/srv/app/api"
    assert by["api"]["dockerfile"] == "docker/Dockerfile-prod"
    assert by["api"]["target"] == "runtime"
    assert by["api"]["args"] == {"NODE_ENV": "production", "PORT": "8080", "FROM_ENV": None}
    assert by["api"]["tags"] == ["registry.local/api:1.2"]
    assert by["web"]["context"] == "/srv/app/web" and by["web"]["dockerfile"] == "Dockerfile"
    assert by["web"]["target"] is None and by["web"]["tags"] == []
    assert by["worker"]["args"] == {"A": "1", "B": None}


def test_compose_links_dockerfile_relative_to_context():
    builds, problems = _plan({"/srv/app/compose.yaml": "services:\n  a:\n    build:\n      context: ..\n"
                                                       "      dockerfile: app/Dockerfile.api\n    image: a:1\n"})
    assert problems == []
    assert [(b["dockerfile"], b["context"], b["image"]) for b in builds] == [("/srv/app/Dockerfile.api", "/srv",
                                                                             "a:1")]
    assert builds[0]["declared_by"] == [{"path": "/srv/app/compose.yaml", "kind": "compose", "name": "a"}]


def test_compose_override_file_merges_into_its_base():
    base = "services:\n  a:\n    build:\n      context: .\n      args: {X: '1', Y: '2'}\n"
    override = "services:\n  a:\n    build:\n      target: dev\n      args: {Y: '3'}\n    image: a:dev\n"
    builds, problems = _plan({"/srv/p/docker-compose.yml": base, "/srv/p/docker-compose.override.yml": override})
    assert problems == []
    assert len(builds) == 1
    assert builds[0]["target"] == "dev" and builds[0]["args"] == {"X": "1", "Y": "3"} and builds[0]["image"] == "a:dev"


def test_same_build_declared_twice_is_evaluated_once():
    text = "services:\n  a:\n    build: {context: ., target: t}\n  b:\n    build: {context: ., target: t}\n"
    builds, problems = _plan({"/srv/p/docker-compose.yml": text, "/srv/p/docker-compose.deploy.yml": text})
    assert problems == []
    assert len(builds) == 1
    assert sorted((d["path"].rsplit("/", 1)[1], d["name"]) for d in builds[0]["declared_by"]) == [
        ("docker-compose.deploy.yml", "a"), ("docker-compose.deploy.yml", "b"),
        ("docker-compose.yml", "a"), ("docker-compose.yml", "b")]


def test_one_dockerfile_several_targets_is_several_builds_without_a_conflict():
    text = "services:\n" + "".join(f"  s{t}:\n    build: {{context: ., target: {t}}}\n" for t in ("a", "b", "c"))
    builds, problems = _plan({"/srv/p/compose.yml": text})
    assert problems == [] and sorted(b["target"] for b in builds) == ["a", "b", "c"]


def test_two_descriptors_building_one_dockerfile_differently():
    one = "services:\n  a:\n    build: {context: ., args: {NODE_ENV: production}}\n"
    two = "services:\n  a:\n    build: {context: ., args: {NODE_ENV: development}}\n"
    builds, problems = _plan({"/srv/p/docker-compose.yml": one, "/srv/p/docker-compose.dev.yml": two})
    assert len(builds) == 2  # each build is still evaluated
    assert _codes(problems) == ["conflicting_builds"]
    assert problems[0]["path"].endswith("docker-compose.yml") or problems[0]["path"].endswith(".dev.yml")
    assert "/srv/p/Dockerfile" in problems[0]["message"]


@pytest.mark.parametrize(("text", "code"), [
    ("a: &a [*a]\nservices:\n  s:\n    build: .\n", "yaml_expansion"),
    ("services:\n  s:\n    extends: {file: common.yml, service: base}\n", "compose_extends"),
    ("services:\n  s:\n    extends: {file: ../../../etc/compose.yml, service: base}\n", "compose_extends"),
    ("services:\n  s:\n    extends: nosuch\n", "compose_extends"),
    ("services:\n  s:\n    extends: {service: '${BASE}'}\n", "compose_extends"),
    ("services:\n  s:\n    extends: [1]\n", "compose_extends"),
    ("services:\n  s: {extends: t}\n  t: {extends: s}\n", "compose_extends"),
    ("services:\n  s: {extends: s, build: .}\n", "compose_extends"),
    ("services:\n  s:\n    build: {context: '${CTX:-.}'}\n", "interpolation"),
    ("services:\n  s:\n    build: {context: ., dockerfile: $DF}\n", "interpolation"),
    ("services:\n  s:\n    build: https://github.com/org/repo.git#main\n", "remote_context"),
    ("services:\n  s:\n    build: git@github.com:org/repo.git\n", "remote_context"),
    ("services:\n  s:\n    build: {context: ., dockerfile_inline: 'FROM node:20'}\n", "inline_dockerfile"),
    ("services:\n  s:\n    build: {context: ../../outside}\n", "context_outside_roots"),
    ("services:\n  s:\n    build: {context: /etc}\n", "context_outside_roots"),
    ("services:\n  s:\n    build: {context: ., dockerfile: /etc/shadow}\n", "context_outside_roots"),
    ("services: [\n", "invalid_yaml"),
    ("services:\n  s:\n\tbuild: .\n", "invalid_yaml"),
    ("- just\n- a list\n", "invalid_descriptor"),
    ("services: " + "[" * 5000 + "]" * 5000 + "\n", "invalid_yaml"),
])
def test_compose_bad_input_is_a_named_problem(text, code):
    builds, problems = _plan({"/srv/p/docker-compose.yml": text})
    assert code in _codes(problems)
    assert builds == []
    for p in problems:
        assert p["path"] == "/srv/p/docker-compose.yml"
        assert "shadow" not in p["message"] or code == "context_outside_roots"


def test_compose_interpolation_in_args_and_image_keeps_the_build_with_unknowns():
    text = "services:\n  s:\n    build: {context: ., args: {V: '${NODE_VERSION}', L: 'a$$b'}}\n    image: 'x:${TAG}'\n"
    builds, problems = _plan({"/srv/p/compose.yaml": text})
    assert _codes(problems) == ["interpolation"] and len(problems) == 2
    assert builds[0]["args"] == {"V": None, "L": "a$b"} and builds[0]["image"] is None


def test_billion_laughs_is_refused_before_expansion():
    text = "a: &a ['x','x','x','x','x','x','x','x','x']\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n"
        for i in range(20))
    builds, problems = _plan({"/srv/p/docker-compose.yml": text + "services:\n  s:\n    build: .\n"})
    assert _codes(problems) == ["yaml_expansion"] and builds == []
    assert "more than 1000000 values" in problems[0]["message"]


def test_merge_key_bomb_is_refused_before_the_merge():
    # each level merges the one before twice: 2**40 pairs once flattened; measured before construction
    text = "a: &a {k0: 1}\n" + "".join(
        f"m{i}: &m{i} {{<<: [*{'a' if i == 0 else f'm{i - 1}'}, *{'a' if i == 0 else f'm{i - 1}'}], k{i + 1}: 1}}\n"
        for i in range(40))
    builds, problems = _plan({"/srv/p/compose.yaml": text})
    assert _codes(problems) == ["yaml_expansion"] and builds == []


def test_expanded_size_counts_each_alias_and_stops_at_the_limit():
    node = yaml.compose("a: &a [1, 2]\nb: [*a, *a]\n", Loader=yaml.SafeLoader)
    # mapping 1 + keys a, b 2 + [1, 2] 3 + [*a, *a] 1 + 2 * 3
    assert _yaml_bounded.expanded_size(node) == 13
    with pytest.raises(_yaml_bounded.Refused, match="more than 12 values"):
        _yaml_bounded.expanded_size(node, limit=12)


def test_compose_anchors_merge_keys_and_extension_fields_are_read_as_compose_does():
    text = """
x-build: &build
  context: ./api
  args: {NODE_ENV: production, PORT: "8080"}
x-service: &service
  build: *build
  image: api:1
  x-owner: team-a
services:
  api:
    <<: *service
    x-note: extension fields in a service are ignored
  api-dev:
    <<: *service
    build:
      <<: *build
      target: dev
    image: api:dev
"""
    builds, problems = _plan({"/srv/p/compose.yaml": text})
    assert problems == []
    got = {(b["context"], b["target"], tuple(sorted(b["args"].items())), b["image"]) for b in builds}
    assert got == {("/srv/p/api", None, (("NODE_ENV", "production"), ("PORT", "8080")), "api:1"),
                   ("/srv/p/api", "dev", (("NODE_ENV", "production"), ("PORT", "8080")), "api:dev")}


def test_compose_extends_in_the_same_file_and_from_another_file_of_the_scan():
    common = "services:\n  base:\n    build: {context: ../shared, args: {A: '1', B: '2'}}\n    image: base:1\n"
    app = """
services:
  web:
    extends: {file: ../common/compose.yaml, service: base}
    build: {args: {B: '3'}, target: runtime}
    image: web:1
  worker:
    extends: web
  plain:
    extends: {service: web}
    build: {context: ., dockerfile: Dockerfile.plain}
"""
    builds, problems = _plan({"/srv/common/compose.yaml": common, "/srv/app/compose.yaml": app})
    assert problems == []
    got = {(b["dockerfile"], b["context"], b["target"], tuple(sorted(b["args"].items())), b["image"],
            tuple(sorted(d["name"] for d in b["declared_by"]))) for b in builds}
    assert got == {
        # the base's context is relative to its own file; arguments merged, the extending service's last
        ("/srv/shared/Dockerfile", "/srv/shared", "runtime", (("A", "1"), ("B", "3")), "web:1", ("web", "worker")),
        ("/srv/shared/Dockerfile", "/srv/shared", None, (("A", "1"), ("B", "2")), "base:1", ("base",)),
        ("/srv/app/Dockerfile.plain", "/srv/app", "runtime", (("A", "1"), ("B", "3")), "web:1", ("plain",)),
    }


def test_compose_extends_of_a_file_the_scan_did_not_read_is_a_problem_of_that_service_only():
    text = "services:\n  a:\n    extends: {file: common-services.yml, service: base}\n  b:\n    build: .\n"
    builds, problems = _plan({"/srv/p/compose.yaml": text})
    assert [b["declared_by"][0]["name"] for b in builds] == ["b"]
    assert _codes(problems) == ["compose_extends"]
    assert "service 'a'" in problems[0]["message"] and "/srv/p/common-services.yml" in problems[0]["message"]


def test_unreadable_descriptor_from_the_host_is_passed_on():
    builds, problems = plan_builds([{"path": "/srv/p/compose.yaml", "text": None,
                                     "error": {"code": "too_large", "message": "too large"}}], [ROOT])
    assert builds == [] and problems == [{"path": "/srv/p/compose.yaml", "code": "too_large", "message": "too large"}]


# --------------------------------------------------------------------------------------------------- bake
BAKE_HCL = """
# comment
group "default" {
  targets = ["api", "web"]
}

target "_common" {
  args = {
    NODE_ENV = "production"
    PORT = 8080
  }
}

target "api" {
  inherits = ["_common"]
  context = "services/api"
  dockerfile = "Dockerfile.api"   // relative to the context
  target = "runtime"
  args = { PORT = "9090", "EXTRA": "x" }
  tags = ["registry.local/api:1", "registry.local/api:latest"]
}

/* a block
   comment */
target "web" {
  context = "."
  tags = [
    "web:1",
  ]
}
"""


def test_bake_hcl_targets_inherits_and_tags():
    builds, problems = parse_descriptor("/srv/r/docker-bake.hcl", BAKE_HCL)
    assert problems == []
    by = {b["name"]: b for b in builds}
    assert set(by) == {"api", "web"}  # _common is only a base
    assert by["api"]["context"] == "/srv/r/services/api" and by["api"]["dockerfile"] == "Dockerfile.api"
    assert by["api"]["target"] == "runtime"
    assert by["api"]["args"] == {"NODE_ENV": "production", "PORT": "9090", "EXTRA": "x"}
    assert by["api"]["tags"] == ["registry.local/api:1", "registry.local/api:latest"]
    assert by["web"]["context"] == "/srv/r" and by["web"]["tags"] == ["web:1"]
    linked, dummy = _plan({"/srv/r/docker-bake.hcl": BAKE_HCL})
    assert {b["dockerfile"] for b in linked} == {"/srv/r/services/api/Dockerfile.api", "/srv/r/Dockerfile"}


def test_bake_json():
    text = ('{"group": {"default": {"targets": ["app"]}}, "target": {"app": {"context": "app", '
            '"dockerfile": "Containerfile", "target": "prod", "args": {"A": "1"}, "tags": ["app:2"]}}}')
    builds, problems = parse_descriptor("/srv/r/docker-bake.json", text)
    assert problems == []
    assert [(b["context"], b["dockerfile"], b["target"], b["args"], b["tags"]) for b in builds] == [
        ("/srv/r/app", "Containerfile", "prod", {"A": "1"}, ["app:2"])]


@pytest.mark.parametrize(("text", "code", "n_builds"), [
    ('variable "TAG" { default = "latest" }\ntarget "a" { tags = ["a:${TAG}"] }\n', "bake_variable", 1),
    ('variable "CTX" { default = "." }\ntarget "a" { context = CTX }\n', "bake_variable", 0),
    ('target "a" { context = "${CTX}" }\n', "interpolation", 0),
    ('function "tag" {\n params = [n]\n result = ["x:${n}"]\n}\ntarget "a" { tags = tag("v") }\n',
     "bake_function", 1),
    ('target "a" { args = { V = notequal("", X) ? "1" : "0" } }\n', "bake_function", 1),
    ('target "a" { context = "https://github.com/o/r.git" }\n', "remote_context", 0),
    ('target "a" { dockerfile-inline = "FROM node:20" }\n', "inline_dockerfile", 0),
    ('target "a" { context = "../../.." }\n', "context_outside_roots", 0),
    ('target "a" {\n context = "."\n', "invalid_hcl", 0),
    ('target "a" { context = "unclosed }\n', "invalid_hcl", 0),
    ('target "a" { inherits = ["b"] }\ntarget "b" { inherits = ["a"] }\ngroup "g" { targets = ["a"] }\n',
     "invalid_descriptor", 0),
    ('target "a" { tags = ' + "[" * 200 + "]" * 200 + " }\n", "invalid_hcl", 0),
    ('{"target": {"a": {"context": "${X}"}}}', "interpolation", 0),
    ('{"target": ', "invalid_json", 0),
])
def test_bake_bad_input_is_a_named_problem(text, code, n_builds):
    name = "docker-bake.json" if text.startswith("{") else "docker-bake.hcl"
    builds, problems = _plan({f"/srv/r/{name}": text})
    assert code in _codes(problems)
    assert len(builds) == n_builds
    assert all(p["path"] == f"/srv/r/{name}" for p in problems)


def test_hcl_parser_values_and_unknowns():
    blocks = _hcl.parse('x = 1\ntarget "a" "b" {\n  s = "q\\"\\n"\n  l = [1, -2.5, true, null]\n'
                        '  m = {a = 1, "b": "c"}\n  h = <<EOT\nline\nEOT\n  v = VAR\n  f = f(1, [2])\n'
                        '  e = 1 + 2\n  i = "a${b}"\n  esc = "$${literal}"\n}\n')
    assert blocks[0].type == "" and blocks[0].attributes == {"x": 1}
    t = blocks[1]
    assert (t.type, t.labels) == ("target", ["a", "b"])
    a = t.attributes
    assert a["s"] == 'q"\n' and a["l"] == [1, -2.5, True, None] and a["m"] == {"a": 1, "b": "c"}
    assert a["h"] == "line\n" and a["esc"] == "${literal}"
    assert a["v"] == _hcl.Unknown("variable", "VAR", a["v"].line)
    assert a["f"].kind == "function" and a["f"].name == "f"
    assert a["e"].kind == "expression" and a["i"].kind == "interpolation"
    with pytest.raises(_hcl.HCLError) as err:
        _hcl.parse('target "a" {\n  x = 1\n  x = 2\n}\n')
    assert err.value.line == 3


# --------------------------------------------------------------------------------------------------- workflows
WORKFLOW = """
name: ci
on: [push]
jobs:
  image:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Build api
        uses: docker/build-push-action@v6
        with:
          context: services/api
          file: services/api/Dockerfile.prod
          target: runtime
          build-args: |
            NODE_ENV=production
            SHA=${{ github.sha }}
          tags: |
            ghcr.io/org/api:latest
            ghcr.io/org/api:${{ github.sha }}
      - uses: docker/build-push-action@v5
        with:
          tags: org/root:1, org/root:2
"""


def test_workflow_build_push_action_steps():
    builds, problems = parse_descriptor("/srv/repo/.github/workflows/ci.yml", WORKFLOW)
    assert _codes(problems) == ["workflow_expression"] and len(problems) == 2
    by = {b["name"]: b for b in builds}
    api = by["image/Build api"]
    assert api["context"] == "/srv/repo/services/api"
    assert api["target"] == "runtime"
    assert api["args"] == {"NODE_ENV": "production", "SHA": None}
    assert api["tags"] == ["ghcr.io/org/api:latest"]
    linked, dummy = _plan({"/srv/repo/.github/workflows/ci.yml": WORKFLOW})
    # file is relative to the repository root (the workspace), not to the context
    assert {b["dockerfile"] for b in linked} == {"/srv/repo/services/api/Dockerfile.prod", "/srv/repo/Dockerfile"}
    root = next(b for b in linked if b["dockerfile"] == "/srv/repo/Dockerfile")
    assert root["context"] == "/srv/repo" and root["tags"] == ["org/root:1", "org/root:2"]


def test_workflow_expression_in_context_skips_the_step():
    text = ("jobs:\n  b:\n    steps:\n      - uses: docker/build-push-action@v6\n        with:\n"
            "          context: ${{ matrix.dir }}\n")
    builds, problems = _plan({"/srv/repo/.github/workflows/b.yaml": text})
    assert builds == [] and _codes(problems) == ["workflow_expression"]


_STEP = "jobs:\n  b:\n    steps:\n      - uses: docker/build-push-action@v6\n        with:\n"


@pytest.mark.parametrize(("text", "code"), [
    (_STEP + "          context: https://github.com/org/repo.git#main\n", "remote_context"),
    (_STEP + "          context: ../../../elsewhere\n", "context_outside_roots"),
    (_STEP + "          context: .\n          file: /etc/shadow\n", "context_outside_roots"),
    (_STEP + "          build-args: |\n            ${{ secrets.NAME }}=1\n", "workflow_expression"),
    ("jobs: [\n", "invalid_yaml"),
    ("x: &x [*x]\njobs: {}\n", "yaml_expansion"),
])
def test_workflow_bad_input_is_a_named_problem(text, code):
    dummy, problems = _plan({"/srv/repo/.github/workflows/b.yml": text})
    assert code in _codes(problems)
    assert all(p["path"] == "/srv/repo/.github/workflows/b.yml" for p in problems)
    assert "shadow" not in " ".join(p["message"] for p in problems) or code == "context_outside_roots"


def test_workflow_with_anchors_is_read():
    text = ("x-with: &with\n  context: services/api\n  target: runtime\n"
            "jobs:\n  b:\n    steps:\n      - uses: docker/build-push-action@v6\n        with: *with\n")
    builds, problems = _plan({"/srv/repo/.github/workflows/b.yml": text})
    assert problems == [] and [(b["context"], b["target"]) for b in builds] == [("/srv/repo/services/api", "runtime")]


def test_workflow_without_build_steps_declares_nothing():
    builds, problems = _plan({"/srv/repo/.github/workflows/lint.yml": "jobs:\n  l:\n    steps:\n      - run: make\n"})
    assert builds == [] and problems == []


# --------------------------------------------------------------------------------------------------- the result
def test_link_result_replaces_default_documents_of_declared_dockerfiles():
    found = {"dockerfiles": [{"path": "/srv/p/Dockerfile", "n": 0}, {"path": "/srv/q/Dockerfile", "n": 0}],
             "problems": [], "summary": {"dockerfiles": 2},
             "descriptors": [{"path": "/srv/p/compose.yaml", "kind": "compose",
                              "text": "services:\n  a: {build: {context: ., target: x}}\n"
                                      "  b: {build: {context: ., target: y}}\n", "error": None}]}
    seen = []

    def evaluate(builds):
        seen.extend(builds)
        return {"dockerfiles": [{"path": b["dockerfile"], "n": b["target"]} for b in builds], "problems": []}

    out = link_result(found, ["/srv"], evaluate)
    assert [b["target"] for b in seen] == ["x", "y"]
    assert sorted((d["path"], d["n"]) for d in out["dockerfiles"]) == [
        ("/srv/p/Dockerfile", "x"), ("/srv/p/Dockerfile", "y"), ("/srv/q/Dockerfile", 0)]
    assert out["summary"]["declared_builds"] == 2
    assert out["descriptors"] == [{"path": "/srv/p/compose.yaml", "kind": "compose", "error": None, "builds": 2}]


def test_link_result_keeps_defaults_when_the_host_cannot_evaluate():
    found = {"dockerfiles": [{"path": "/srv/p/Dockerfile"}], "problems": [], "summary": {},
             "descriptors": [{"path": "/srv/p/compose.yaml", "text": "services:\n  a: {build: .}\n"}]}
    out = link_result(found, ["/srv"], lambda builds: {"failed": True, "msg": "boom"})
    assert out["dockerfiles"] == [{"path": "/srv/p/Dockerfile"}]
    assert _codes(out["problems"]) == ["builds_not_evaluated"]


def test_descriptor_problems_make_the_run_incomplete_like_an_unreadable_dockerfile():
    """Fail closed: a descriptor that could not be read or parsed, a build naming a missing Dockerfile or a context
    outside the roots reach the report's host problems and its incomplete reasons (so the gate and the exit status);
    two descriptors building one Dockerfile differently are a note (each build is evaluated)."""
    found = {"dockerfiles": [{"path": "/srv/p/Dockerfile"}], "problems": [
        {"path": "/srv/locked", "code": "permission_denied", "message": "cannot list /srv/locked"}],
        "summary": {}, "descriptors": [
            {"path": "/srv/p/compose.yaml", "text": "services:\n  a: {build: {context: ., args: {X: '1'}}}\n"
                                                    "  b: {build: {context: ../../etc}}\n"},
            {"path": "/srv/p/docker-compose.dev.yml",
             "text": "services:\n  a: {build: {context: ., args: {X: '2'}}}\n"},
            {"path": "/srv/q/compose.yaml", "text": "services: [\n"},
            {"path": "/srv/r/compose.yaml", "text": None, "error": {"code": "permission_denied", "message": "denied"}},
            {"path": "/srv/s/compose.yaml", "text": "services:\n  m: {build: {context: ., dockerfile: Gone}}\n"}]}

    def evaluate(builds):  # the host: /srv/s/Gone does not exist
        return {"dockerfiles": [{"path": b["dockerfile"]} for b in builds if not b["dockerfile"].endswith("Gone")],
                "problems": [{"path": "/srv/s/compose.yaml", "code": "dockerfile_not_found",
                              "message": "/srv/s/compose.yaml: m names the Dockerfile /srv/s/Gone, which does not "
                                         "exist"}]}

    out = link_result(found, ["/srv"], evaluate)
    assert all(p.get("source") == "descriptor" for p in out["problems"] if p["path"] != "/srv/locked")
    entries = _findings.target_entries(out["dockerfiles"], [], "h", ["/srv"])
    report = _report.build_report({"h": {"status": "ok", "targets": entries, "findings": [],
                                         "problems": out["problems"]}},
                                  engine="embedded", policy_revision="r", generated_at="2026-12-07T00:00:00Z",
                                  rules_catalog={})
    schema = _json.loads((Path(__file__).resolve().parents[4] / "policies/schema/report.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(report)
    summary = report["summary"]
    assert summary["complete"] is False
    got = sorted((r["reason"], r["target"], r["detail"].split(":")[0]) for r in summary["incomplete_reasons"])
    assert got == [("descriptor_unusable", "/srv/p/compose.yaml", "context_outside_roots"),
                   ("descriptor_unusable", "/srv/q/compose.yaml", "invalid_yaml"),
                   ("descriptor_unusable", "/srv/r/compose.yaml", "permission_denied"),  # not a directory
                   ("descriptor_unusable", "/srv/s/compose.yaml", "dockerfile_not_found"),
                   ("directory_unreadable", "/srv/locked", "cannot list /srv/locked")]
    assert "conflicting_builds" in _codes(report["hosts"]["h"]["problems"])  # reported, not a reason
    text = render_text(report)
    assert "descriptor_unusable 4" in text
    junit = render_junit(report)
    assert 'type="descriptor_unusable"' in junit
    assert "descriptor_unusable" in _json.dumps(render_sarif(report)) and "descriptor_unusable" in render_html(report)


# --------------------------------------------------------------------------------------------------- the report
def test_report_names_and_keeps_apart_each_declared_build_of_one_dockerfile():
    def doc(path, target=None):
        d = {"kind": "dockerfile", "path": path, "sha256": "a" * 64, "problems": [], "error": None, "pragmas": []}
        if target:
            d["build"] = {"declared": True, "context": "/srv/p", "target": target, "args": {}, "tags": [],
                          "image": f"localhost/p-{target}:1",
                          "declared_by": [{"path": "/srv/p/compose.yaml", "kind": "compose", "name": f"svc-{target}"}]}
        return d

    docs = [doc("/srv/p/Dockerfile", "dev"), doc("/srv/p/Dockerfile", "prod"), doc("/srv/q/Dockerfile")]
    raw = [[{"rule_id": "NRA001", "severity": "high", "message": "runs as root", "line": 3}]] * 3
    findings, waivers = _findings.enrich(docs, raw, "h", waivers=[], evaluation_date=dt.date(2026, 12, 7))
    summary = _findings.summarize(docs, findings, "h", waivers)
    assert summary["targets"] == 3 and summary["non_compliant_targets"] == 3
    entries = _findings.target_entries(docs, findings, "h", ["/srv"])
    assert [e.get("build", {}).get("target") for e in entries] == ["dev", "prod", None]
    assert entries[0]["image"] == "localhost/p-dev:1" and "image" not in entries[2]
    report = _report.build_report({"h": {"status": "ok", "targets": entries, "findings": findings}},
                                  engine="embedded", policy_revision="r", generated_at="2026-12-07T00:00:00Z",
                                  rules_catalog={"NRA001": {"title": "non-root", "severity": "high"}})
    schema = _json.loads((Path(__file__).resolve().parents[4] / "policies/schema/report.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(report)
    targets = report["hosts"]["h"]["targets"]
    assert len(targets) == 3
    prints = [t["findings"][0]["fingerprint"] for t in targets]
    assert len(set(prints)) == 3
    label = _report.build_label(targets[0])
    assert "target dev" in label and "context /srv/p" in label and "/srv/p/compose.yaml (service svc-dev)" in label
    assert "last stage" in _report.build_label(next(t for t in targets if t["path"] == "/srv/q/Dockerfile"))
    for text in (render_html(report), render_junit(report), _json.dumps(render_sarif(report)), render_text(report)):
        assert "dev" in text and "prod" in text
    assert "/srv/p/compose.yaml (service svc-prod)" in render_html(report)


def test_images_named_by_a_descriptor_are_linked_to_their_dockerfile():
    docs = [{"path": "/srv/p/Dockerfile", "sha256": "b" * 64,
             "build": {"declared": True, "tags": ["web:1", "registry.local/api"]}},
            {"path": "/srv/q/Dockerfile", "sha256": "c" * 64}]
    images = [{"image": "localhost/web:1", "tags": ["localhost/web:1"], "dockerfile": None},
              {"image": "registry.local/api:latest", "dockerfile": None},
              {"image": "docker.io/library/web:1", "dockerfile": {"path": "/srv/label/Dockerfile", "sha256": None,
                                                                  "source": "label", "valid": False}},
              {"image": "web:2", "dockerfile": None}]
    out = link_images(images, docs)
    assert out[0]["dockerfile"] == {"path": "/srv/p/Dockerfile", "sha256": "b" * 64, "source": "descriptor",
                                    "valid": True}
    assert out[1]["dockerfile"]["path"] == "/srv/p/Dockerfile"
    assert out[2]["dockerfile"]["source"] == "label"  # a label still wins
    assert out[3]["dockerfile"] is None
    assert images[0]["dockerfile"] is None  # pure
