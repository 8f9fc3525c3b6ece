"""The scan the way AWX / Automation Controller runs it (issue 6, item 3).

AWX runs a job with ansible-runner in a private data directory (project,
inventory, env, artifacts) and reads the job events and statistics from its
artifacts. Here the scan playbook runs under ``ansible_runner.run`` against two
real SSH hosts; the ``refarch_summary`` that the report role publishes with
set_stats must reach the runner's stats and its job events on disk, and the
refarch_summary callback's lines must be in the job's stdout. A second job runs
dockerfile_facts with the jsonfile fact cache on, as an AWX job template with
"Enable Fact Storage" does, and the cached facts must hold the namespaced
``refarch_containers`` summary. (``ansible-builder create`` on
awx/execution-environment.yml is checked with the built wheel and tarball in
test_install_from_tarball.py.)
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from estate_fixtures import populate_host
from harness import REPO, VENV_BIN

pytestmark = pytest.mark.integration

ansible_runner = pytest.importorskip("ansible_runner")


def _private_data_dir(tmp_path: Path, estate, playbooks: dict[str, str]) -> Path:
    pdd = tmp_path / "runner"
    for sub in ("project", "inventory", "env"):
        (pdd / sub).mkdir(parents=True)
    for name, text in playbooks.items():
        (pdd / "project" / name).write_text(text)
    estate.write_inventory(pdd / "inventory" / "hosts.json", {"refarch_scan_paths": ["{{ refarch_host_root }}/srv"]})
    return pdd


def _envvars(tmp_path: Path) -> dict[str, str]:
    return {
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".venv" / "collections"),
        "ANSIBLE_CALLBACKS_ENABLED": "refarch.containers.refarch_summary",
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-local"),
        "ANSIBLE_REMOTE_TEMP": "/tmp/.ansible-refarch-tmp",
        "ANSIBLE_PIPELINING": "True",
        "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
    }


def _events(runner) -> list[dict]:
    events_dir = Path(runner.config.artifact_dir) / "job_events"
    assert events_dir.is_dir(), f"no job_events in {runner.config.artifact_dir}"
    return [json.loads(p.read_text()) for p in sorted(events_dir.glob("*.json"))]


def test_scan_under_ansible_runner_puts_stats_in_artifacts(ssh_estate, tmp_path):
    estate = ssh_estate()
    hosts = [estate.add_host("app1"), estate.add_host("app2")]
    for index, host in enumerate(hosts):
        populate_host(host.root, index, services=3)
    report_dir = tmp_path / "report"
    pdd = _private_data_dir(tmp_path, estate, {
        "scan.yml": "---\n- name: Scan\n  ansible.builtin.import_playbook: refarch.containers.scan\n",
    })

    runner = ansible_runner.run(
        private_data_dir=str(pdd), playbook="scan.yml", ident="scan-job",
        extravars={"refarch_report_dir": str(report_dir), "refarch_evaluation_date": "2026-11-28"},
        envvars=_envvars(tmp_path), quiet=True, timeout=600,
    )
    stdout = runner.stdout.read()
    assert runner.status == "successful" and runner.rc == 0, stdout[-5000:]

    report = json.loads((report_dir / "report.json").read_text())
    assert sorted(report["hosts"]) == ["app1", "app2"]
    expected = report["summary"]

    # the runner's stats (host counts) and the set_stats data in its playbook_on_stats event,
    # which is where AWX reads a job's artifacts from
    stats = runner.stats
    assert stats["ok"].keys() >= {"app1", "app2", "localhost"}
    assert not stats["failures"] and not stats["dark"]
    runner_stats_events = [e for e in runner.events if e.get("event") == "playbook_on_stats"]
    assert runner_stats_events[-1]["event_data"]["artifact_data"]["refarch_summary"] == expected

    # the same data in the job events written under artifacts/<ident>/job_events
    artifact_dir = Path(runner.config.artifact_dir)
    assert artifact_dir == pdd / "artifacts" / "scan-job"
    stats_events = [e for e in _events(runner) if e.get("event") == "playbook_on_stats"]
    assert len(stats_events) == 1
    assert stats_events[0]["event_data"]["artifact_data"]["refarch_summary"] == expected
    assert (artifact_dir / "rc").read_text().strip() == "0"
    assert (artifact_dir / "status").read_text().strip() == "successful"

    # the refarch_summary callback's progress and summary reach the job output
    job_stdout = (artifact_dir / "stdout").read_text()
    for host in ("app1", "app2"):
        assert re.search(rf"\[\d/2\] {host} ok: 3 Dockerfiles", job_stdout), job_stdout[-3000:]
    assert re.search(rf"refarch summary: 2 hosts \(2 ok, 0 unreachable, 0 failed\); {expected['targets']} targets",
                     job_stdout)
    assert f"open findings: {expected['findings']} (" in job_stdout

    # an AWX Check job (job_type: check) runs the same playbook with --check: same findings, same stats
    check = ansible_runner.run(
        private_data_dir=str(pdd), playbook="scan.yml", ident="check-job", cmdline="--check",
        extravars={"refarch_report_dir": str(tmp_path / "check-report"), "refarch_evaluation_date": "2026-11-28"},
        envvars=_envvars(tmp_path), quiet=True, timeout=600,
    )
    assert check.status == "successful", check.stdout.read()[-4000:]
    assert "--check" in json.loads((Path(check.config.artifact_dir) / "command").read_text())["command"]
    check_stats = [e for e in check.events if e.get("event") == "playbook_on_stats"][-1]["event_data"]
    assert check_stats["artifact_data"]["refarch_summary"] == expected
    assert not check_stats["changed"].get("app1") and not check_stats["changed"].get("app2"), "a scan changes no host"


def test_incomplete_scan_fails_the_job_and_keeps_the_summary(ssh_estate, tmp_path):
    """An unreachable host: the job ends failed (never successful), and its artifacts still hold the summary."""
    estate = ssh_estate()
    populate_host(estate.add_host("app1").root, 0, services=1)
    estate.add_unreachable("down1")
    pdd = _private_data_dir(tmp_path, estate, {
        "scan.yml": "---\n- name: Scan\n  ansible.builtin.import_playbook: refarch.containers.scan\n",
    })
    inventory = estate.inventory()  # literal roots per host (nothing to template on the controller)
    for host in inventory["all"]["hosts"].values():
        host["refarch_scan_paths"] = [f"{host['refarch_host_root']}/srv"]
    (pdd / "inventory" / "hosts.json").write_text(json.dumps(inventory))
    report_dir = tmp_path / "report"
    runner = ansible_runner.run(
        private_data_dir=str(pdd), playbook="scan.yml", ident="incomplete-job",
        extravars={"refarch_report_dir": str(report_dir), "refarch_evaluation_date": "2026-11-28"},
        envvars=_envvars(tmp_path), quiet=True, timeout=600,
    )
    stdout = runner.stdout.read()
    assert runner.status == "failed" and runner.rc != 0, stdout[-5000:]
    artifact_dir = Path(runner.config.artifact_dir)
    assert (artifact_dir / "status").read_text().strip() == "failed"
    summary = json.loads((report_dir / "report.json").read_text())["summary"]
    assert summary["complete"] is False and summary["incomplete_by_reason"] == {"host_unreachable": 1}
    stats_events = [e for e in _events(runner) if e.get("event") == "playbook_on_stats"]
    data = stats_events[-1]["event_data"]["artifact_data"]
    assert data["refarch_summary"] == summary and data["refarch_complete"] is False
    assert "run incomplete: host_unreachable (down1)" in stdout
    assert "Run: INCOMPLETE (host_unreachable 1)" in (artifact_dir / "stdout").read_text()


def test_fact_storage_under_ansible_runner(ssh_estate, tmp_path):
    estate = ssh_estate()
    host = estate.add_host("facts1")
    written = populate_host(host.root, 5, services=2)
    pdd = _private_data_dir(tmp_path, estate, {
        "facts.yml": (
            "---\n- name: Store the Dockerfile summary in the fact cache\n  hosts: all\n  gather_facts: false\n"
            "  tasks:\n    - name: Publish ansible_facts['refarch_containers']\n"
            "      refarch.containers.dockerfile_facts:\n        paths: \"{{ refarch_scan_paths }}\"\n"
        ),
    })
    envvars = {**_envvars(tmp_path), "ANSIBLE_CACHE_PLUGIN_TIMEOUT": "0"}
    runner = ansible_runner.run(private_data_dir=str(pdd), playbook="facts.yml", ident="facts-job",
                                envvars=envvars, quiet=True, timeout=300)
    assert runner.status == "successful", runner.stdout.read()[-4000:]
    cache_dir = Path(runner.config.artifact_dir) / "fact_cache"
    # ansible-core 2.19 names the jsonfile entry "s1_<host>" and wraps it in a "__payload__" envelope;
    # older releases wrote "<host>" with the facts as the document
    entries = [p for p in (cache_dir / "facts1", cache_dir / "s1_facts1") if p.is_file()]
    assert entries, f"no jsonfile fact cache entry for facts1 in {sorted(p.name for p in cache_dir.iterdir())}"
    facts = json.loads(entries[0].read_text())
    if "__payload__" in facts:
        facts = json.loads(facts["__payload__"])
    summary = facts["refarch_containers"]
    assert summary["dockerfile_count"] == len(written)
    assert sorted(d["path"] for d in summary["dockerfiles"]) == sorted(str(p) for p in written)


def test_credential_type_injects_what_the_roles_read():
    """The OPA credential type's env injectors are the variables docs/awx.md tells the roles to read."""
    cred = yaml.safe_load((REPO / "awx" / "credential_type_opa.yml").read_text())
    fields = {f["id"]: f for f in cred["inputs"]["fields"]}
    assert fields["token"]["secret"] is True and fields["ca_cert"]["secret"] is True
    assert fields["ca_cert"]["multiline"] is True
    env = cred["injectors"]["env"]
    assert set(env) == {"REFARCH_OPA_URL", "REFARCH_OPA_TOKEN", "REFARCH_OPA_CA_FILE"}
    assert "tower.filename.ca_cert" in env["REFARCH_OPA_CA_FILE"]
    assert "template.ca_cert" in cred["injectors"]["file"]
    guide = (REPO / "docs" / "awx.md").read_text()
    for name in env:
        assert name in guide
