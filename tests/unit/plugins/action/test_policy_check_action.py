"""policy_check's controller logic without a play: per-host results, discovery status, the estate mode.

The documents come from the real discovery code over the bundled examples and
generated trees; the evaluation runs the real bundle in the real embedded engine.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from ansible.errors import AnsibleActionFail
from ansible_collections.refarch.containers.plugins.module_utils._discovery import scan
from ansible_collections.refarch.containers.plugins.plugin_utils._evaluation import (
    discovery_outcome,
    run_estate_check,
    run_policy_check,
)

REPO = Path(__file__).resolve().parents[4]
EXAMPLES = REPO / "examples" / "estate"
DATE = "2026-11-28"


def discovered(root: Path) -> dict:
    """What the discovery action registers for a host whose scan root is ``root``."""
    found = scan([str(root)], output="json", workers=1)
    return {"changed": False, "dockerfiles_json": found["dockerfiles_json"], "problems": found["problems"],
            "summary": found["summary"], "images": [], "containers": [], "engines": []}


@pytest.fixture(scope="module")
def estate(tmp_path_factory) -> dict[str, dict]:
    """Three reachable hosts with different example apps, one unreachable, one failed discovery."""
    base = tmp_path_factory.mktemp("estate")
    apps = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir())
    hosts: dict[str, dict] = {}
    for n, chosen in enumerate((apps[:2], apps[2:4], apps[4:])):
        root = base / f"web{n + 1}"
        for app in chosen:
            shutil.copytree(EXAMPLES / app, root / app)
        hosts[f"web{n + 1}"] = discovered(root)
    hosts["db1"] = {"unreachable": True, "msg": "Failed to connect to the host via ssh", "changed": False}
    hosts["cache1"] = {"failed": True, "msg": "dockerfile_info: permission denied", "dockerfiles_json": "[]",
                       "images": [], "containers": []}
    return hosts


def per_host(facts: dict, host: str, **extra) -> dict:
    return run_policy_check({"facts": facts, "discovery_status": True, "evaluation_date": DATE, **extra}, host)


def test_discovery_outcome_reads_the_registered_status():
    assert discovery_outcome({"unreachable": True, "msg": "gone"}) == {
        "status": "unreachable", "message": "gone", "problems": []}
    assert discovery_outcome({"failed": True})["status"] == "failed"
    assert discovery_outcome({"failed": True})["message"] == "discovery failed"
    ok = discovery_outcome({"dockerfiles_json": "[]", "problems": [{"code": "missing_root"}]})
    assert ok == {"status": "ok", "message": "", "problems": [{"code": "missing_root"}]}


def test_unreachable_and_failed_discoveries_are_never_evaluated(estate):
    for host, status in (("db1", "unreachable"), ("cache1", "failed")):
        result = per_host(estate[host], host)
        assert result["status"] == status
        assert result["message"] == estate[host]["msg"]
        assert result["msg"].startswith(f"not evaluated: discovery status {status}")
        assert "summary" not in result  # nothing was evaluated, nothing reads as compliant


def test_without_discovery_status_a_failed_result_is_an_error_not_an_empty_pass(estate):
    with pytest.raises(AnsibleActionFail, match="failed or was unreachable"):
        run_policy_check({"facts": estate["cache1"], "evaluation_date": DATE}, "cache1")
    with pytest.raises(AnsibleActionFail, match="failed or was unreachable"):
        run_policy_check({"facts": estate["db1"], "evaluation_date": DATE}, "db1")


def test_a_reachable_host_is_evaluated_with_its_problems(estate):
    result = per_host(estate["web1"], "web1")
    assert result["status"] == "ok" and result["message"] == ""
    assert result["summary"]["targets"] == len(json.loads(estate["web1"]["dockerfiles_json"])) > 0
    assert result["findings"], "the example apps break several rules"
    assert all(f["target"]["host"] == "web1" for f in result["findings"])


def _comparable(result: dict) -> dict:
    """A host result without the engine's timing figures (batching differs between the modes)."""
    return {k: v for k, v in result.items() if k not in ("engine_stats", "msg")}


def test_estate_results_equal_the_per_host_results(estate):
    estate_run = run_estate_check({"evaluation_date": DATE}, estate)
    assert sorted(estate_run["host_results"]) == sorted(estate)
    for host, facts in estate.items():
        expected = per_host(facts, host)
        assert _comparable(estate_run["host_results"][host]) == _comparable(expected), host
    summary = estate_run["summary"]
    assert (summary["hosts"], summary["evaluated"], summary["unreachable"], summary["failed"]) == (5, 3, 1, 1)
    assert summary["open"] == sum(estate_run["host_results"][h]["summary"]["open"] for h in ("web1", "web2", "web3"))
    # one engine run for all the documents
    assert estate_run["engine_stats"]["runs"] == 1
    assert estate_run["engine_stats"]["documents"] == summary["targets"]
    assert estate_run["engine_stats"]["batches"] >= 1


def test_estate_fail_on_names_the_hosts(estate):
    result = run_estate_check({"evaluation_date": DATE, "fail_on": "low"}, estate)
    assert result["failed"] is True
    failing = [h for h, r in result["host_results"].items() if r.get("failed")]
    assert failing and all(h in result["msg"] for h in failing)
    assert "db1" not in failing and "cache1" not in failing


def test_one_document_breaking_the_engine_fails_that_document_only(estate):
    """regorus refuses an input nested deeper than 128 levels: that target gets an NRA000 and is not compliant."""
    poisoned = json.loads(estate["web2"]["dockerfiles_json"])
    deep: list = []
    cursor = deep
    for _level in range(300):
        cursor.append([])
        cursor = cursor[0]
    poisoned[0]["extra"] = deep
    hosts = dict(estate, web2=dict(estate["web2"], dockerfiles_json=json.dumps(poisoned)))
    result = run_estate_check({"evaluation_date": DATE, "embedded_backend": "regorus"}, hosts)
    web2 = result["host_results"]["web2"]
    assert web2["status"] == "ok"
    broken = poisoned[0]["path"]
    target = next(t for t in web2["targets"] if t["path"] == broken)
    assert target["error"]["code"] == "engine_error" and "nests deeper" in target["error"]["message"]
    mine = [f for f in web2["findings"] if f["target"]["path"] == broken]
    assert [(f["rule_id"], f["engine_failure"]) for f in mine] == [("NRA000", "eval_error")]
    assert web2["summary"]["non_compliant_targets"] >= 1 and result["engine_stats"]["engine_failures"] == 1
    # the host's other documents are evaluated as they are without the broken one
    rest = dict(estate["web2"], dockerfiles_json=json.dumps(poisoned[1:]))
    assert poisoned[1:], "the fixture host has more than one Dockerfile"
    assert [f for f in web2["findings"] if f["target"]["path"] != broken] == per_host(rest, "web2")["findings"]
    for host in ("web1", "web3"):
        assert _comparable(result["host_results"][host]) == _comparable(per_host(estate[host], host))
    assert result["host_results"]["db1"]["status"] == "unreachable"


def test_a_dead_opa_server_fails_every_discovered_host_once_never_compliant(estate):
    result = run_estate_check({"evaluation_date": DATE, "engine": "opa", "opa_url": "http://127.0.0.1:9",
                               "opa_retries": 0, "opa_timeout": 2.0}, estate)
    for host in ("web1", "web2", "web3"):
        entry = result["host_results"][host]
        assert entry["status"] == "failed" and entry["findings"] == []
        assert "opa engine failed" in entry["message"]
    assert result["host_results"]["db1"]["status"] == "unreachable"
    assert result["summary"]["evaluated"] == 0


def test_unusable_options_fail_every_discovered_host(estate, tmp_path):
    bad = tmp_path / "waivers.yml"
    bad.write_text("waivers: [{rule_id: 42}]\n")
    result = run_estate_check({"evaluation_date": DATE, "waivers": str(bad)}, estate)
    for host in ("web1", "web2", "web3"):
        assert result["host_results"][host]["status"] == "failed"
        assert result["host_results"][host]["message"].startswith("evaluation failed: policy_check:")
    assert result["host_results"]["cache1"]["status"] == "failed"
    assert result["host_results"]["cache1"]["message"] == estate["cache1"]["msg"]
    # the per-host mode fails the same way (the evaluate role's rescue then records it)
    with pytest.raises(AnsibleActionFail):
        per_host(estate["web1"], "web1", waivers=str(bad))


def test_invalid_facts_fail_that_host_in_the_estate(estate):
    hosts = dict(estate, web3={"dockerfiles_json": "{not json"})
    result = run_estate_check({"evaluation_date": DATE}, hosts)
    assert result["host_results"]["web3"]["status"] == "failed"
    assert "invalid facts" in result["host_results"]["web3"]["message"]
    assert result["host_results"]["web1"]["status"] == "ok"


def test_an_empty_estate_is_an_empty_result():
    result = run_estate_check({"evaluation_date": DATE}, {})
    assert result["host_results"] == {} and result["summary"]["hosts"] == 0
    assert not result.get("failed")


def _open_rules(result: dict) -> set:
    return {f["rule_id"] for f in result["findings"] if not f.get("waived")}


def test_hosts_own_waivers_and_data_apply_to_them_only(estate):
    """host_settings: each host is evaluated as a one-host evaluation with its own values would be."""
    plain = run_estate_check({"evaluation_date": DATE}, estate)["host_results"]
    disabled = sorted(_open_rules(plain["web2"]))[0]
    waived = sorted(_open_rules(plain["web1"]))[-1]
    waivers = [{"rule": waived, "reason": "accepted for this host", "owner": "team-web", "expires": "2027-12-31"}]
    own = {"web2": {"data": {"disabled_rules": [disabled]}}, "web1": {"waivers": waivers}}
    result = run_estate_check({"evaluation_date": DATE}, estate, own)
    for host, facts in estate.items():
        expected = per_host(facts, host, **own.get(host, {}))
        assert _comparable(result["host_results"][host]) == _comparable(expected), host
    web1, web2 = result["host_results"]["web1"], result["host_results"]["web2"]
    assert disabled in _open_rules(plain["web2"]) and disabled not in {f["rule_id"] for f in web2["findings"]}
    assert waived not in _open_rules(web1) and web1["summary"]["waived"] > plain["web1"]["summary"]["waived"]
    # the others keep the task's settings
    assert _comparable(result["host_results"]["web3"]) == _comparable(plain["web3"])
    # web2's data is its own engine run; every document is evaluated once
    assert result["engine_stats"]["runs"] == 2
    assert result["engine_stats"]["documents"] == result["summary"]["targets"]


def test_an_unusable_host_setting_fails_that_host_only(estate, tmp_path):
    own = {"web1": {"waivers": str(tmp_path / "missing.yml")}, "web2": {"data": ["not", "a", "dict"]},
           "web3": AnsibleActionFail("policy_check: cannot read refarch_waivers: 'team' is undefined")}
    result = run_estate_check({"evaluation_date": DATE}, dict(estate, web4=estate["web1"]), own)
    for host, words in (("web1", "missing.yml"), ("web2", "data must be a dictionary"), ("web3", "is undefined")):
        entry = result["host_results"][host]
        assert entry["status"] == "failed" and entry["findings"] == [] and entry["targets"] == [], host
        assert words in entry["message"] and entry["message"].endswith("(the host's own settings)"), entry
    assert result["host_results"]["web4"]["status"] == "ok"
    assert _comparable(result["host_results"]["web4"]) == _comparable(per_host(estate["web1"], "web4"))
