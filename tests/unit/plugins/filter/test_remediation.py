from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.refarch.containers.plugins.action.policy_check import run_policy_check
from ansible_collections.refarch.containers.plugins.filter.remediation import (
    PROBE_ID,
    PROBE_IDS,
    PROBE_IMAGE,
    is_backup_name,
    rebuild_probe,
    rebuild_verdict,
    remediation_plan,
)
from ansible_collections.refarch.containers.plugins.module_utils._image_facts import image_facts
from ansible_collections.refarch.containers.plugins.module_utils._rewriter import normalize_fixes


def _f(rule, fix, path="/srv/a/Dockerfile", kind="dockerfile", waived=False):
    return {"rule_id": rule, "fix": fix, "waived": waived,
            "target": {"kind": kind, "path": path, "sha256": "ab" * 32}}


RESULT = {
    "targets": [{"kind": "dockerfile", "path": "/srv/a/Dockerfile", "image": "localhost/a:1"}],
    "findings": [
        _f("NRA001", "add_non_root_user"), _f("NRA010", "replace_npm_start"), _f("NRA006", "manual"),
        _f("NRA002", "remap_privileged_ports", waived=True), _f("NRA001", "add_non_root_user", kind="image"),
        _f("NRA011", "exec_form_cmd", path="/srv/b/Dockerfile"),
    ],
}


def test_plan_groups_fixable_open_findings_by_file():
    plan = remediation_plan(RESULT)
    assert [p["path"] for p in plan] == ["/srv/a/Dockerfile", "/srv/b/Dockerfile"]
    first = plan[0]
    assert first["fixes"] == ["add_non_root_user", "replace_npm_start"]
    assert first["image"] == "localhost/a:1" and first["context"] == "/srv/a"
    assert first["sha256"] == "ab" * 32
    assert {f["rule_id"] for f in first["findings"]} == {"NRA001", "NRA010"}


def test_plan_respects_selection_by_rule_or_fix():
    assert [p["fixes"] for p in remediation_plan(RESULT, ["NRA010"])] == [["replace_npm_start"]]
    assert [p["path"] for p in remediation_plan(RESULT, "exec_form_cmd")] == ["/srv/b/Dockerfile"]
    assert remediation_plan(RESULT, []) == []


def test_plan_reads_the_selection_as_the_module_does():
    """One reading of refarch_fixes (_rewriter.parse_fix_selection): any case, commas, unknown ids rejected."""
    for spelling in ("nra010", ["Nra010"], "REPLACE_NPM_START", " nra010 ,"):
        assert [p["fixes"] for p in remediation_plan(RESULT, spelling)] == [["replace_npm_start"]], spelling
        assert normalize_fixes(spelling) == (["replace_npm_start"], []), spelling
    assert remediation_plan(RESULT, "ALL") == remediation_plan(RESULT)
    for bad in (["NRA999"], "nra001,frobnicate"):
        with pytest.raises(AnsibleFilterError, match=r"refarch_fixes: unknown fix or rule id.*known fixes: .*NRA001"):
            remediation_plan(RESULT, bad)
        assert normalize_fixes(bad)[1], bad  # the module rejects the same entries


def test_plan_rejects_nonsense():
    with pytest.raises(AnsibleFilterError):
        remediation_plan(["not", "a", "dict"])
    with pytest.raises(AnsibleFilterError):
        remediation_plan(RESULT, 42)


# --------------------------------------------------------------------------- plan: backups, links, rules

def test_plan_never_remediates_backups_or_temporary_files():
    result = {"findings": [
        _f("NRA001", "add_non_root_user", path="/srv/a/Dockerfile.4242.2026-11-28@12:00:00~"),
        _f("NRA001", "add_non_root_user", path="/srv/a/.Dockerfile.x1y2.refarch.tmp"),
        _f("NRA001", "add_non_root_user", path="/srv/a/Dockerfile.orig"),
        _f("NRA001", "add_non_root_user", path="/srv/a/Dockerfile.prod"),
    ]}
    assert [p["path"] for p in remediation_plan(result)] == ["/srv/a/Dockerfile.prod"]
    assert is_backup_name("Dockerfile.1.2026-11-28@12:00:00~") and not is_backup_name("api.Dockerfile")


def test_plan_links_images_by_their_dockerfile_label_and_lists_rules():
    images = [{"kind": "image", "image": "localhost/b:2", "dockerfile": {"path": "/srv/b/Dockerfile"}},
              {"kind": "image", "image": "sha256:" + "1" * 64, "dockerfile": {"path": "/srv/a/Dockerfile"}},
              {"kind": "image", "image": "localhost/c:1", "dockerfile": None}]
    plan = {p["path"]: p for p in remediation_plan(RESULT, images=images)}
    assert plan["/srv/b/Dockerfile"]["image"] == "localhost/b:2"
    assert plan["/srv/a/Dockerfile"]["image"] == "localhost/a:1", "a target link wins over a bare image id"
    assert plan["/srv/a/Dockerfile"]["rules"] == ["NRA001", "NRA010"]
    # open_rules: every open finding on the file, fixable or not (NRA006 is manual; NRA002 is waived)
    assert plan["/srv/a/Dockerfile"]["open_rules"] == ["NRA001", "NRA006", "NRA010"]


def test_plan_takes_image_context_target_and_args_from_a_declared_build():
    build = {"id": "b1", "target": "prod", "context": "/srv", "image": "localhost/web:3",
             "args": {"NODE_ENV": "production", "NPM_TOKEN": "<redacted>"},
             "declared_by": [{"path": "/srv/compose.yaml", "kind": "compose", "name": "web"}]}
    other = dict(build, id="b0", target="dev", image=None)
    result = {"targets": [{"kind": "dockerfile", "path": "/srv/web/Dockerfile", "build": other},
                          {"kind": "dockerfile", "path": "/srv/web/Dockerfile", "image": "localhost/web:3",
                           "build": build}],
              "findings": [_f("NRA001", "add_non_root_user", path="/srv/web/Dockerfile")]}
    [entry] = remediation_plan(result)
    assert entry["image"] == "localhost/web:3"  # no refarch_image_map needed (the role lets the map win)
    assert entry["context"] == "/srv" and entry["build_target"] == "prod"
    assert entry["build_args"] == {"NODE_ENV": "production"}  # a redacted value is never passed to a build
    [plain] = remediation_plan(RESULT, fixes=["NRA011"])
    assert plain["context"] == "/srv/b" and plain["build_target"] == "" and plain["build_args"] == {}


def test_plan_rewrites_one_declared_build_and_names_the_others_without_claiming_their_findings():
    """Two compose services build one Dockerfile (targets web and worker): the rewrite and the rebuild are for the
    build that names an image; the worker build's findings are neither fixes nor rules of this entry (a rule the
    rewrite fixes for web may still fire for worker), but are named so the outcome can say they stay open."""
    web = {"id": "w1", "target": "web", "context": "/srv/app", "image": "localhost/web:1", "args": {},
           "declared_by": [{"path": "/srv/app/compose.yaml", "kind": "compose", "name": "web"}]}
    worker = {"id": "k2", "target": "worker", "context": "/srv/app", "image": None, "args": {},
              "declared_by": [{"path": "/srv/app/compose.yaml", "kind": "compose", "name": "worker"}]}
    path = "/srv/app/Dockerfile"

    def found(rule, fix, build):
        return dict(_f(rule, fix, path=path), target={"kind": "dockerfile", "path": path, "sha256": "ab" * 32,
                                                      "build": build})

    result = {"targets": [{"kind": "dockerfile", "path": path, "build": worker},
                          {"kind": "dockerfile", "path": path, "image": "localhost/web:1", "build": web}],
              "findings": [found("NRA001", "add_non_root_user", web), found("NRA001", "add_non_root_user", worker),
                           found("NRA011", "exec_form_cmd", worker), found("NRA006", "manual", worker),
                           found("NRA010", "replace_npm_start", web)]}
    [entry] = remediation_plan(result)
    assert entry["build_target"] == "web" and entry["image"] == "localhost/web:1"
    assert entry["fixes"] == ["add_non_root_user", "replace_npm_start"]  # not exec_form_cmd: worker's only
    assert entry["rules"] == ["NRA001", "NRA010"] and entry["open_rules"] == ["NRA001", "NRA010"]
    assert all(f["target"]["build"]["id"] == "w1" for f in entry["findings"])
    assert entry["other_builds"] == [{"build": "target worker: worker in compose.yaml",
                                      "rules": ["NRA001", "NRA006", "NRA011"]}]
    # a file no descriptor declares twice has no other builds
    assert all(p["other_builds"] == [] for p in remediation_plan(RESULT))


def test_plan_carries_where_each_dockerfile_was_scanned():
    docs = [{"path": "/srv/a/Dockerfile", "scan_root": "/srv", "dir_identity": {"dev": 2049, "ino": 77}},
            {"path": "/srv/b/Dockerfile", "scan_root": "/srv", "dir_identity": None}]
    for given in (docs, json.dumps(docs)):
        plan = {p["path"]: p for p in remediation_plan(RESULT, dockerfiles=given)}
        assert plan["/srv/a/Dockerfile"]["scan_root"] == "/srv"
        assert plan["/srv/a/Dockerfile"]["dir_identity"] == {"dev": 2049, "ino": 77}
        assert plan["/srv/b/Dockerfile"]["dir_identity"] is None
    plain = remediation_plan(RESULT)
    assert all(p["scan_root"] == "" and p["dir_identity"] is None for p in plain)
    with pytest.raises(AnsibleFilterError):
        remediation_plan(RESULT, dockerfiles="{not json")


# --------------------------------------------------------------------------- probe and verdict

CANDIDATE_ID = "sha256:" + "c" * 64
DOCKERFILE = "/srv/a/Dockerfile"


def _hit(rule, kind="dockerfile", ident=DOCKERFILE, waived=False):
    target = {"kind": kind, "path": ident} if kind == "dockerfile" else {"kind": kind, "id": ident}
    return {"rule_id": rule, "waived": waived, "target": target}


def _image_doc():
    return {"schema_version": "1.0", "kind": "image", "id": CANDIDATE_ID, "image": "localhost/a:1",
            "user": {"raw": "1000", "name": "1000", "group": None, "uid": 1000, "line": None, "source": "config",
                     "is_root": False},
            "exposed_ports": [{"port": 8080, "end_port": 8080, "protocol": "tcp", "raw": "8080/tcp", "line": None,
                               "resolved": True}],
            "env": {"PORT": {"value": "8080", "line": None, "redacted": False},
                    "NODE_OPTIONS": {"value": "--max-old-space-size=512", "line": None, "redacted": False}},
            "process": {"argv": ["node", "server.js"], "form": "exec", "command": ["node", "server.js"]}}


def test_probe_violates_the_image_checks_and_keeps_the_candidate_intact():
    doc = _image_doc()
    probe = rebuild_probe(doc)
    assert probe["id"] == PROBE_ID and probe["image"] == PROBE_IMAGE and probe["id"] != doc["id"]
    assert probe["user"]["is_root"] and probe["user"]["uid"] == 0
    assert [p["port"] for p in probe["exposed_ports"]] == [80] and probe["env"]["PORT"]["value"] == "80"
    assert probe["process"]["command"][0] == "npm" and probe["process"]["form"] == "shell"
    assert "NODE_OPTIONS" not in probe["env"]
    assert doc["user"]["uid"] == 1000 and doc["env"]["NODE_OPTIONS"], "the candidate must not be modified"
    with pytest.raises(AnsibleFilterError):
        rebuild_probe({"kind": "dockerfile"})
    other = rebuild_probe(doc, 1)
    assert other["id"] == PROBE_IDS[1] and other["base"]["ref"]["tag"] == "latest"
    assert probe["base"]["ref"]["tag"] == "8-alpine" and probe["node"]["major"] == 8
    # the official node image, as the facts spell it (the policies' official_node_ref knows it)
    assert (probe["base"]["ref"]["registry"], probe["base"]["ref"]["repository"]) == ("docker.io", "library/node")


def test_verdict_passes_and_says_what_the_image_could_not_verify():
    evaluation = {"findings": [_hit("NRA007"), _hit("NRA001", "image", PROBE_ID), _hit("NRA010", "image", PROBE_ID)]}
    verdict = rebuild_verdict(evaluation, ["NRA001", "NRA011"], DOCKERFILE, CANDIDATE_ID, before=["NRA001", "NRA007"])
    assert verdict["passed"] and verdict["reason"] == ""
    assert verdict["verified_by_image"] == ["NRA001"]
    assert verdict["not_verified_by_image"] == ["NRA011"]
    assert "not checked by image" in verdict["note"] and "NRA011" in verdict["note"]
    assert verdict["image_rules_evaluated"] == ["NRA001", "NRA010"]


def test_verdict_with_no_image_rules_at_all_is_never_an_image_pass():
    verdict = rebuild_verdict({"findings": []}, ["NRA001", "NRA002"], DOCKERFILE, CANDIDATE_ID)
    assert verdict["passed"]
    assert verdict["verified_by_image"] == [] and verdict["not_verified_by_image"] == ["NRA001", "NRA002"]
    assert verdict["verified_by_dockerfile"] == ["NRA001", "NRA002"]


@pytest.mark.parametrize(("findings", "needle"), [
    ([_hit("NRA001")], "rewritten Dockerfile still violates NRA001"),
    ([_hit("NRA001", "image", CANDIDATE_ID), _hit("NRA001", "image", PROBE_ID)], "rebuilt image still violates NRA001"),
    ([_hit("NRA003")], "now violates NRA003"),
    ([_hit("NRA000", "image", CANDIDATE_ID)], "could not evaluate the rewritten image"),
])
def test_verdict_fails_for_each_reason(findings, needle):
    verdict = rebuild_verdict({"findings": findings}, ["NRA001"], DOCKERFILE, CANDIDATE_ID, before=["NRA001"])
    assert not verdict["passed"]
    assert needle in verdict["reason"]


def test_verdict_ignores_waived_findings_and_other_targets():
    findings = [_hit("NRA001", waived=True), _hit("NRA001", "dockerfile", "/srv/other/Dockerfile"),
                _hit("NRA001", "image", "sha256:" + "d" * 64)]
    assert rebuild_verdict({"findings": findings}, ["NRA001"], DOCKERFILE, CANDIDATE_ID, before=["NRA001"])["passed"]
    with pytest.raises(AnsibleFilterError):
        rebuild_verdict({"no": "findings"}, ["NRA001"], DOCKERFILE, CANDIDATE_ID)


def test_probe_and_verdict_with_the_real_bundle_on_a_real_image():
    """The embedded engine on the facts of a real local base image: the probe must fire whatever the candidate does."""
    if not shutil.which("podman"):
        pytest.skip("podman is not installed")
    proc = subprocess.run(["podman", "image", "inspect", "docker.io/library/node:20-bookworm-slim"],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    if proc.returncode != 0:
        pytest.skip("base image missing: run tests/images/make_base_images.sh")
    doc = image_facts(json.loads(proc.stdout)[0], "podman")
    facts = {"images": [doc, rebuild_probe(doc), rebuild_probe(doc, 1)]}
    result = run_policy_check({"facts": facts, "engine": "embedded", "fail_on": "none",
                               "evaluation_date": "2025-06-01"}, "localhost")
    rules = ["NRA001", "NRA002", "NRA010", "NRA011"]
    verdict = rebuild_verdict(result, rules, DOCKERFILE, doc["id"])
    # every rule is either verified on the image, failing on the image, or not checkable on images
    assert sorted(verdict["verified_by_image"] + verdict["still_failing_image"]
                  + verdict["not_verified_by_image"]) == rules
    on_candidate = {f["rule_id"] for f in result["findings"] if f["target"].get("id") == doc["id"]}
    on_probe = {f["rule_id"] for f in result["findings"] if f["target"].get("id") in PROBE_IDS}
    # the base image runs as root: wherever the bundle checks NRA001 on images, both documents must fail it
    if "NRA001" in on_probe:
        assert "NRA001" in on_candidate and verdict["still_failing_image"] == ["NRA001"] and not verdict["passed"]
    else:
        assert "NRA001" in verdict["not_verified_by_image"]
    assert "NRA000" not in on_candidate | on_probe, "the image documents must evaluate"
