"""Findings enrichment, summaries, fail_on, facts collection and the policy_check action entry point."""
from __future__ import annotations

import datetime as dt

import pytest
from ansible.errors import AnsibleActionFail
from ansible_collections.refarch.containers.plugins.action.policy_check import run_policy_check
from ansible_collections.refarch.containers.plugins.plugin_utils._findings import (
    collect_documents,
    enrich,
    make_target,
    over_threshold,
    scan_root_of,
    summarize,
    target_entries,
)
from opa_helpers import FIXTURES

TODAY = dt.date(2026, 11, 28)


def dockerfile(path, uid=0, ports=(80,), pragmas=()):
    return {"schema_version": "1.0", "kind": "dockerfile", "path": path, "sha256": f"sha-{path}",
            "final_stage": {"user": {"uid": uid, "name": "root" if uid == 0 else str(uid), "line": 3},
                            "exposed_ports": [{"port": p, "line": 10 + i} for i, p in enumerate(ports)]},
            "pragmas": list(pragmas)}


def raw(rule, line, severity="high", advisory=False, related=()):
    return {"rule_id": rule, "line": line, "severity": severity, "title": rule, "message": "m", "fix": "manual",
            "related": list(related), "category": "c", "advisory": advisory}


def test_make_target_per_kind():
    assert make_target(dockerfile("/a/Dockerfile"), "h") == {"kind": "dockerfile", "host": "h",
                                                             "path": "/a/Dockerfile", "sha256": "sha-/a/Dockerfile"}
    img = {"kind": "image", "id": "sha256:1", "repo_tags": ["app:1"]}
    assert make_target(img, "h") == {"kind": "image", "host": "h", "image": "app:1", "id": "sha256:1"}
    ctr = {"kind": "container", "id": "c1", "name": "web", "image": "app:1", "host": "other"}
    assert make_target(ctr, "h") == {"kind": "container", "host": "other", "name": "web", "image": "app:1",
                                     "id": "c1"}


def test_enrich_sorts_and_marks():
    docs = [dockerfile("/b/Dockerfile"), dockerfile("/a/Dockerfile")]
    engine_out = [[raw("NRA002", 10), raw("NRA001", 3)], [raw("NRA014", None, "medium"), raw("NRA001", 3)]]
    findings, report = enrich(docs, engine_out, "web1", waivers=[], evaluation_date=TODAY)
    order = [(f["target"]["path"], f["rule_id"], f["line"]) for f in findings]
    assert order == [("/a/Dockerfile", "NRA001", 3), ("/a/Dockerfile", "NRA014", None),
                     ("/b/Dockerfile", "NRA001", 3), ("/b/Dockerfile", "NRA002", 10)]
    assert all(f["waived"] is False and f["waiver"] is None and "_doc" not in f for f in findings)
    assert report == {"expired": [], "unused": []}
    with pytest.raises(ValueError):
        enrich(docs, engine_out[:1], "web1", waivers=[], evaluation_date=TODAY)


def test_summary_and_threshold():
    docs = [dockerfile("/a/Dockerfile"), dockerfile("/b/Dockerfile"), dockerfile("/c/Dockerfile")]
    engine_out = [[raw("NRA001", 3), raw("NRA002", 10, "medium")], [raw("NRA006", None, "info", advisory=True)], []]
    pragma = {"line": 9, "source": "refarch", "rules": ["NRA002"], "reason": None, "applies_to_line": 10}
    docs[0]["pragmas"] = [pragma]
    findings, report = enrich(docs, engine_out, "h", waivers=[], evaluation_date=TODAY)
    s = summarize(docs, findings, "h", report)
    assert s["total"] == 3 and s["open"] == 2 and s["waived"] == 1 and s["waived_by_source"]["pragma"] == 1
    assert s["by_severity"]["high"] == 1 and s["by_severity"]["info"] == 1 and s["by_severity"]["medium"] == 0
    assert s["by_rule"] == {"NRA001": 1, "NRA006": 1}
    assert s["targets"] == 3 and s["compliant_targets"] == 2 and s["non_compliant_targets"] == 1
    assert [f["rule_id"] for f in over_threshold(findings, "high")] == ["NRA001"]
    assert over_threshold(findings, "critical") == [] and over_threshold(findings, "none") == []
    assert len(over_threshold(findings, "info")) == 2  # the waived NRA002 does not count
    with pytest.raises(ValueError):
        over_threshold(findings, "severe")


def test_collect_documents_accepts_every_shape():
    a, b = dockerfile("/a/Dockerfile"), dockerfile("/b/Dockerfile")
    img = {"schema_version": "1.0", "kind": "image", "id": "sha256:1"}
    assert collect_documents(a) == [a]
    assert collect_documents([a, b]) == [a, b]
    assert collect_documents({"changed": False, "dockerfiles": [a], "images": [img], "containers": []}) == [a, img]
    assert collect_documents({"results": [{"dockerfiles": [a]}, {"skipped": True}, {"dockerfiles": [b]}]}) == [a, b]
    assert collect_documents([{"dockerfiles": []}]) == []


@pytest.mark.parametrize("bad", ["text", [1], {"foo": 1}, {"dockerfiles": "x"}, {"failed": True, "msg": "boom"}])
def test_collect_documents_rejects_the_rest(bad):
    with pytest.raises(ValueError):
        collect_documents(bad)


# ------------------------------------------------------------------ action entry point (fixture bundle)


def args(**kw):
    base = {"facts": [dockerfile("/srv/a/Dockerfile"), dockerfile("/srv/b/Dockerfile", uid=1000, ports=(8080,))],
            "engine": "embedded", "policy_path": [str(FIXTURES / "bundle")], "include_default_policies": False,
            "validate_policies": False, "data": {}, "waivers": None, "evaluation_date": "2026-11-28",
            "fail_on": "none", "batch_size": 0}
    base.update(kw)
    return base


def test_policy_check_end_to_end_with_waivers_and_fail_on():
    waivers = [{"rule": "FX002", "path": "/srv/a/*", "reason": "r", "owner": "o", "expires": "2026-12-01"}]
    res = run_policy_check(args(waivers=waivers, fail_on="high"), "web1")
    got = [(f["target"]["path"], f["rule_id"], f["waived"]) for f in res["findings"]]
    assert got == [("/srv/a/Dockerfile", "FX001", False), ("/srv/a/Dockerfile", "FX002", True)]
    assert res["failed"] is True and "FX001" in res["msg"] and "'high'" in res["msg"]
    assert res["summary"]["compliant_targets"] == 1 and res["policy_revision"].startswith("fixture-1+")
    assert res["findings"][0]["target"]["host"] == "web1"
    res = run_policy_check(args(waivers=waivers, fail_on="critical"), "web1")
    assert "failed" not in res and "1 open finding(s), 1 waived" in res["msg"]


def test_policy_check_expired_waiver_is_reported():
    waivers = [{"id": "w1", "rule": "FX002", "reason": "r", "owner": "o", "expires": "2026-11-01"}]
    res = run_policy_check(args(waivers=waivers), "web1")
    port = next(f for f in res["findings"] if f["rule_id"] == "FX002")
    assert not port["waived"] and port["waiver_expired"]["id"] == "w1"
    assert res["summary"]["expired_waivers"] == ["w1"]


def test_policy_check_host_result_passes_a_failed_discovery_through_unevaluated():
    prior = {"status": "unreachable", "message": "ssh: connection refused", "targets": [], "findings": []}
    # the facts would not even parse: nothing is evaluated for a host whose discovery did not succeed
    res = run_policy_check(args(facts={"nothing": True}, host_result=prior), "web1")
    assert res["status"] == "unreachable" and res["message"] == "ssh: connection refused"
    assert res["findings"] == [] and res["targets"] == [] and "failed" not in res
    assert res["msg"] == "not evaluated: discovery status unreachable: ssh: connection refused"
    # a host result without a status is a failure, never "ok"
    assert run_policy_check(args(host_result={"message": "x"}), "web1")["status"] == "failed"


def test_policy_check_host_result_ok_is_evaluated_and_keeps_the_host_problems():
    problem = {"code": "permission_denied", "path": "/srv/secret", "message": "cannot read"}
    res = run_policy_check(args(host_result={"status": "ok", "message": "", "problems": [problem]}), "web1")
    assert res["status"] == "ok" and res["message"] == "" and res["problems"] == [problem]
    plain = run_policy_check(args(), "web1")
    assert [f["rule_id"] for f in res["findings"]] == [f["rule_id"] for f in plain["findings"]]
    assert res["findings"], "the fixture documents have findings"


def test_policy_check_engine_failure_fails_the_task():
    with pytest.raises(AnsibleActionFail) as err:
        run_policy_check(args(policy_path=[str(FIXTURES / "bundle"), str(FIXTURES / "crash_policy")],
                              embedded_backend="regopy"), "h")
    assert "embedded engine failed (crash)" in str(err.value) and "crashed with SIG" in str(err.value)
    with pytest.raises(AnsibleActionFail, match=r"opa engine failed \(connection\)"):
        run_policy_check(args(engine="opa", opa_url="http://127.0.0.1:9", opa_retries=0), "h")


def test_policy_check_rejects_bad_inputs():
    with pytest.raises(AnsibleActionFail, match="invalid facts"):
        run_policy_check(args(facts={"nothing": True}), "h")
    with pytest.raises(AnsibleActionFail, match="evaluation_date"):
        run_policy_check(args(evaluation_date="tomorrow"), "h")
    with pytest.raises(AnsibleActionFail, match="'owner' is required"):
        run_policy_check(args(waivers=[{"rule": "FX001", "reason": "r", "expires": "2027-01-01"}]), "h")


def test_each_dockerfile_gets_the_scan_root_it_was_found_under():
    assert scan_root_of("/srv/app/Dockerfile", ["/srv", "/srv/app", "/opt"]) == "/srv/app"
    assert scan_root_of("/srvx/Dockerfile", ["/srv"]) is None
    assert scan_root_of("/srv/Dockerfile", ["/srv/"]) == "/srv"
    docs = [{"kind": "dockerfile", "path": "/repo/a/Dockerfile"},
            {"kind": "dockerfile", "path": "/x/Dockerfile", "scan_root": "/x"},
            {"kind": "image", "image": "app:1"}]
    entries = target_entries(docs, [], "h", ["/repo", "/"])
    assert [e.get("scan_root") for e in entries] == ["/repo", "/x", None]
