"""The scan playbook over real SSH hosts when one host's own variables are invalid.

The scan imports the discover role without its argument validation task (the
discovery action validates the same options for each host); this shows that a bad
value then fails that host alone, with its message in the report, and that the
per-host evaluation (the evaluate role's main entry point, as remediate.yml uses it)
reports the same hosts the same way.
"""
from __future__ import annotations

import json

import pytest
from estate_fixtures import populate_host, root_estate
from harness import run_playbook

pytestmark = pytest.mark.integration

PER_HOST_PLAYBOOK = """\
- name: Discover and evaluate host by host
  hosts: all
  gather_facts: false
  tasks:
    - name: Discover (the discovery action validates the options for each host)
      ansible.builtin.import_role:
        name: refarch.containers.discover
        rolespec_validate: false
    - name: Evaluate this host
      ansible.builtin.import_role:
        name: refarch.containers.evaluate

- name: Report from each host's refarch_result
  hosts: localhost
  gather_facts: false
  roles:
    - role: refarch.containers.report
"""


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    work = tmp_path_factory.mktemp("bad-options")
    with root_estate("refarch-badopt-") as ssh:
        hosts = {}
        for index, name in enumerate(("good1", "good2", "baddepth1", "badengine1")):
            hosts[name] = ssh.add_host(name)
            populate_host(hosts[name].root, index, services=2, noise_files=5)
        hosts["baddepth1"].vars["refarch_scan_max_depth"] = "very deep"
        hosts["badengine1"].vars.update({"refarch_scan_images": True, "refarch_container_engine": "lxc"})
        inventory = ssh.write_inventory(work / "inventory.json",
                                        {"refarch_scan_paths": ["{{ refarch_host_root }}/srv"]})
        runs = {}
        (work / "per-host.yml").write_text(PER_HOST_PLAYBOOK)
        for label, playbook in (("estate", "refarch.containers.scan"), ("per_host", str(work / "per-host.yml"))):
            run_dir = work / label
            run_dir.mkdir()
            run = run_playbook(playbook, inventory, run_dir, extra_vars={
                "refarch_report_dir": str(run_dir / "report"), "refarch_evaluation_date": "2026-11-28"})
            path = run_dir / "report" / "report.json"
            assert path.is_file(), (f"{label}: no report (rc={run.returncode}):\n"
                                    f"{run.stdout[-4000:]}\n{run.stderr[-2000:]}")
            runs[label] = (run, json.loads(path.read_text()))
        yield runs


@pytest.mark.parametrize("label", ["estate", "per_host"])
def test_a_bad_host_variable_fails_that_host_only(scans, label):
    run, report = scans[label]
    hosts = report["hosts"]
    assert sorted(hosts) == ["baddepth1", "badengine1", "good1", "good2"], sorted(hosts)
    for name in ("good1", "good2"):
        assert hosts[name]["status"] == "ok", hosts[name].get("message")
        assert len(hosts[name]["targets"]) == 2
    assert hosts["baddepth1"]["status"] == "failed"
    assert "max_depth" in hosts["baddepth1"]["message"], hosts["baddepth1"]["message"]
    assert hosts["badengine1"]["status"] == "failed"
    assert "container_engine" in hosts["badengine1"]["message"], hosts["badengine1"]["message"]
    for name in ("baddepth1", "badengine1"):
        assert hosts[name]["targets"] == [], "a host whose discovery failed is never read as compliant"
    assert report["summary"]["hosts_by_status"] == {"ok": 2, "unreachable": 0, "failed": 2}
    assert run.returncode in (0, 2), run.stdout[-3000:]


def test_both_paths_report_the_same(scans):
    """Whole-estate evaluation and host-by-host evaluation give the same report.json (timestamps aside)."""
    def comparable(report: dict) -> dict:
        data = dict(report)
        data.pop("generated_at", None)
        return data

    assert comparable(scans["estate"][1]) == comparable(scans["per_host"][1])
