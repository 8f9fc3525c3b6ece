"""dockerfile_info / dockerfile_facts modules and the dockerfile_info action plugin, run in-process."""
from __future__ import annotations

import gc
import json
from pathlib import Path
from unittest import mock

import jsonschema
import pytest
from ansible.errors import AnsibleActionFail
from ansible.module_utils.testing import patch_module_args
from ansible_collections.refarch.containers.plugins.action import dockerfile_info as action
from ansible_collections.refarch.containers.plugins.modules import dockerfile_facts, dockerfile_info

REPO = Path(__file__).resolve().parents[4]
SCHEMA = json.loads((REPO / "policies" / "schema" / "facts.schema.json").read_text())
CANARY = "canary-mod-5e6f7a"


@pytest.fixture(autouse=True)
def _restore_gc():
    """The modules pause the garbage collector for the rest of their (short) process: not of pytest's."""
    yield
    gc.enable()


def run_module(mod, args: dict, capsys) -> dict:
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            mod.main()
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text(
        f"FROM node:20 AS build\nRUN npm ci\nFROM node:20-slim\nENV API_TOKEN={CANARY}\nUSER node\nEXPOSE 8080\n"
        'CMD ["node", "server.js"]\n'
    )
    (tmp_path / "app" / ".dockerignore").write_text("node_modules\n")
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "Containerfile").write_text("FROM node:latest\nCMD npm start\n")
    (tmp_path / "legacy" / "node_modules" / "x").mkdir(parents=True)
    (tmp_path / "legacy" / "node_modules" / "x" / "Dockerfile").write_text("FROM node\n")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "Dockerfile").write_bytes(b"\x00\x01" * 10)
    return tmp_path


def test_info_returns_documents(estate, capsys):
    out = run_module(dockerfile_info, {"paths": [str(estate), str(estate / "missing")]}, capsys)
    assert out["changed"] is False and not out.get("failed")
    paths = sorted(Path(d["path"]).relative_to(estate).as_posix() for d in out["dockerfiles"])
    assert paths == ["app/Dockerfile", "bin/Dockerfile", "legacy/Containerfile"]
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for doc in out["dockerfiles"]:
        assert not list(validator.iter_errors(doc)), doc["path"]
    assert [p["code"] for p in out["problems"]] == ["root_not_found"]
    assert out["summary"]["dockerfiles"] == 3 and out["summary"]["errors"] == 1
    assert CANARY not in json.dumps(out)


def test_check_mode_gives_the_same_result(estate, capsys):
    normal = run_module(dockerfile_info, {"paths": [str(estate)]}, capsys)
    check = run_module(dockerfile_info, {"paths": [str(estate)], "_ansible_check_mode": True}, capsys)
    for r in (normal, check):
        r.pop("summary")
        for d in r["dockerfiles"]:
            d.pop("mtime")
    assert normal["dockerfiles"] == check["dockerfiles"]


def test_options_are_applied(estate, capsys):
    out = run_module(dockerfile_info, {"paths": [str(estate)], "excludes": [], "include_instructions": False,
                                       "patterns": ["Dockerfile"], "max_depth": 3}, capsys)
    paths = sorted(Path(d["path"]).relative_to(estate).as_posix() for d in out["dockerfiles"])
    assert paths == ["app/Dockerfile", "bin/Dockerfile", "legacy/node_modules/x/Dockerfile"]
    assert all(d["instructions"] == [] for d in out["dockerfiles"])
    out = run_module(dockerfile_info, {"paths": [str(estate)], "redact_names": ["^EXPOSED_"]}, capsys)
    assert not out.get("failed")


@pytest.mark.parametrize("args,msg", [
    ({"max_depth": -1}, "max_depth"),
    ({"max_file_size": 0}, "max_file_size"),
    ({"redact_names": ["("]}, "invalid secret name pattern"),
    ({"patterns": []}, "patterns"),
])
def test_invalid_options_fail_clearly(estate, capsys, args, msg):
    out = run_module(dockerfile_info, dict({"paths": [str(estate)]}, **args), capsys)
    assert out["failed"] is True and msg in out["msg"]


def test_facts_module_publishes_one_key(estate, capsys):
    out = run_module(dockerfile_facts, {"paths": [str(estate)]}, capsys)
    assert list(out["ansible_facts"]) == ["refarch_containers"]
    assert set(out) <= {"ansible_facts", "changed", "invocation", "warnings", "deprecations"}
    summary = out["ansible_facts"]["refarch_containers"]
    assert summary["dockerfile_count"] == 3 and summary["error_count"] == 1
    by_path = {Path(f["path"]).relative_to(estate).as_posix(): f for f in summary["dockerfiles"]}
    assert by_path["app/Dockerfile"]["final_user"] == "node"
    assert by_path["app/Dockerfile"]["base_image"] == "docker.io/library/node:20-slim"
    assert by_path["legacy/Containerfile"]["final_user_source"] == "base"
    assert summary["base_images"] == {"docker.io/library/node:20-slim": 1, "docker.io/library/node:latest": 1}
    assert len(by_path["app/Dockerfile"]["sha256"]) == 64
    assert CANARY not in json.dumps(out)


# ------------------------------------------------------------------ action plugin
def _action(args: dict, module_result: dict):
    plugin = action.ActionModule.__new__(action.ActionModule)
    plugin._task = mock.Mock(args=args)
    calls = []

    def execute(module_name, module_args, task_vars):
        calls.append((module_name, module_args))
        return dict(module_result)

    plugin._execute_module = execute
    with mock.patch.object(action.ActionBase, "run", return_value={}):
        return plugin.run(task_vars={}), calls


DOCS = [{"path": "/a/Dockerfile", "final_stage": {"user": {"uid": 0}}},
        {"path": "/b/Dockerfile", "final_stage": {"user": {"uid": 1000}}}]
# What the module sends back with output_encoding=json (what the action asks for).
RESULT = {"changed": False, "problems": [], "summary": {"dockerfiles": 2}, "dockerfiles_json": json.dumps(DOCS)}


def test_action_strips_query_and_applies_it():
    result, calls = _action({"paths": ["/srv"], "query": "dockerfiles[?final_stage.user.uid==`0`].path"}, RESULT)
    assert calls == [("refarch.containers.dockerfile_info", {"paths": ["/srv"], "output_encoding": "json"})]
    assert result["query_result"] == ["/a/Dockerfile"]
    assert "dockerfiles" not in result and result["summary"] == {"dockerfiles": 2}


def test_action_without_query_passes_through():
    result, calls = _action({"paths": ["/srv"]}, RESULT)
    assert result["dockerfiles"] == DOCS and "query_result" not in result and "dockerfiles_json" not in result
    assert calls[0][1] == {"paths": ["/srv"], "output_encoding": "json"}


def test_action_keeps_the_json_string_when_asked():
    """The discover role asks for the string and hands it to policy_check without decoding it."""
    result, calls = _action({"paths": ["/srv"], "output_encoding": "json"}, RESULT)
    assert result["dockerfiles_json"] == RESULT["dockerfiles_json"] and "dockerfiles" not in result
    assert calls[0][1]["output_encoding"] == "json"


def test_action_reports_undecodable_documents():
    with pytest.raises(AnsibleActionFail, match="undecodable"):
        _action({"paths": ["/srv"]}, dict(RESULT, dockerfiles_json="[{"))


def test_action_always_decodes_the_host_summary():
    """The module sends host_summary as a JSON string too; the role stores the decoded dictionary."""
    hs = {"dockerfile_count": 2, "dockerfiles": [{"path": "/a/Dockerfile"}, {"path": "/b/Dockerfile"}]}
    sent = dict(RESULT, host_summary_json=json.dumps(hs))
    for args in ({"paths": ["/srv"]}, {"paths": ["/srv"], "output_encoding": "json"}):
        result, dummy = _action(args, sent)
        assert result["host_summary"] == hs and "host_summary_json" not in result
    with pytest.raises(AnsibleActionFail, match="undecodable host summary"):
        _action({"paths": ["/srv"]}, dict(RESULT, host_summary_json="{"))


def test_module_json_encoding_matches_native(estate, capsys):
    """output_encoding=json (what the action asks for) carries exactly the native documents and summary."""
    native = run_module(dockerfile_info, {"paths": [str(estate)]}, capsys)
    encoded = run_module(dockerfile_info, {"paths": [str(estate)], "output_encoding": "json"}, capsys)
    assert "dockerfiles" not in encoded and "host_summary" not in encoded
    assert json.loads(encoded["dockerfiles_json"]) == native["dockerfiles"]
    hs = json.loads(encoded["host_summary_json"])
    hs.pop("scanned_at")
    native["host_summary"].pop("scanned_at")
    assert hs == native["host_summary"]


def test_action_query_not_applied_to_a_failed_module():
    result, dummy = _action({"paths": ["/srv"], "query": "summary"}, {"failed": True, "msg": "boom"})
    assert result["failed"] is True and "query_result" not in result


def test_action_bad_query_fails_before_running_the_module():
    with pytest.raises(AnsibleActionFail, match="invalid JMESPath"):
        _action({"paths": ["/srv"], "query": "dockerfiles[?"}, RESULT)
    with pytest.raises(AnsibleActionFail, match="non-empty"):
        _action({"paths": ["/srv"], "query": "  "}, RESULT)


def test_action_without_jmespath(monkeypatch):
    monkeypatch.setattr(action, "jmespath", None)
    with pytest.raises(AnsibleActionFail, match="needs the Python library jmespath"):
        _action({"paths": ["/srv"], "query": "summary"}, RESULT)
