"""The scan playbook over real SSH hosts whose own variables differ: invalid ones, own waivers and policy data.

The scan playbook checks every host's settings on the controller first
(validate_settings): a bad value stops it before any host is touched, naming the
variable and the host. A playbook that imports the discover role without that check
(and without the role's argument validation task: the discovery action validates the
same options for each host) fails that host alone, with its message in the report.
Two hosts set their
own evaluation settings in the inventory (policy data with a disabled rule; a waiver
file named by a template of a host variable): the estate evaluation applies them to
those hosts only. The per-host evaluation (the evaluate role's main entry point, as
remediate.yml uses it) reports every host the same way.
"""
from __future__ import annotations

import json

import pytest
from estate_fixtures import populate_host, root_estate
from harness import run_playbook

pytestmark = pytest.mark.integration

DISABLED = "NRA004"
WAIVERS = """\
- id: legacy-host
  rule: '*'
  reason: legacy host, replaced next quarter
  owner: team-ops
  expires: 2027-03-31
"""

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
        # plain1 has good1's services and no settings of its own
        hosts["plain1"] = ssh.add_host("plain1")
        populate_host(hosts["plain1"].root, 0, services=2, noise_files=5)
        hosts["baddepth1"].vars["refarch_scan_max_depth"] = "very deep"
        hosts["badengine1"].vars.update({"refarch_scan_images": True, "refarch_container_engine": "lxc"})
        # own evaluation settings: good1 (index 0) has a service without .dockerignore (NRA004)
        hosts["good1"].vars["refarch_policy_data"] = {"disabled_rules": [DISABLED]}
        (hosts["good2"].root / "waivers.yml").write_text(WAIVERS)
        hosts["good2"].vars["refarch_waivers"] = "{{ refarch_host_root }}/waivers.yml"
        inventory = ssh.write_inventory(work / "inventory.json",
                                        {"refarch_scan_paths": ["{{ refarch_host_root }}/srv"]})
        runs = {}
        (work / "per-host.yml").write_text(PER_HOST_PLAYBOOK)
        common = {"refarch_evaluation_date": "2026-11-28"}
        stopped = work / "stopped"
        stopped.mkdir()
        runs["stopped"] = run_playbook("refarch.containers.scan", inventory, stopped, extra_vars=dict(
            common, refarch_report_dir=str(stopped / "report")))
        # the scan playbook over the hosts whose settings are good; the per-host playbook over all of them
        for label, playbook, more in (("estate", "refarch.containers.scan", {"refarch_hosts": GOOD_PATTERN}),
                                      ("per_host", str(work / "per-host.yml"), {})):
            run_dir = work / label
            run_dir.mkdir()
            run = run_playbook(playbook, inventory, run_dir, extra_vars=dict(
                common, refarch_report_dir=str(run_dir / "report"), **more))
            path = run_dir / "report" / "report.json"
            assert path.is_file(), (f"{label}: no report (rc={run.returncode}):\n"
                                    f"{run.stdout[-4000:]}\n{run.stderr[-2000:]}")
            runs[label] = (run, json.loads(path.read_text()))
        runs["work"] = work
        yield runs


GOOD_PATTERN = "all:!baddepth1:!badengine1"
GOOD = ["good1", "good2", "plain1"]


def test_the_scan_playbook_stops_on_a_bad_host_variable_before_any_host(scans):
    run = scans["stopped"]
    output = run.stdout + run.stderr
    assert run.returncode != 0, output[-3000:]
    assert "refarch_scan_max_depth must be an integer, not a string ('very deep') (set for host baddepth1)" in output
    assert "refarch_container_engine: 'lxc' is not one of auto, podman, docker (set for host badengine1)" in output
    recap = output[output.rindex("PLAY RECAP"):]
    assert "localhost" in recap and not any(h in recap for h in [*GOOD, "baddepth1", "badengine1"]), recap
    assert not (scans["work"] / "stopped" / "report").exists(), "nothing is written"


def test_a_bad_host_variable_fails_that_host_only(scans):
    """Without the up-front check (a playbook of one's own), the discovery action fails that host alone."""
    run, report = scans["per_host"]
    hosts = report["hosts"]
    assert sorted(hosts) == ["baddepth1", "badengine1", "good1", "good2", "plain1"], sorted(hosts)
    for name in ("good1", "good2", "plain1"):
        assert hosts[name]["status"] == "ok", hosts[name].get("message")
        assert len(hosts[name]["targets"]) == 2
    assert hosts["baddepth1"]["status"] == "failed"
    assert "max_depth" in hosts["baddepth1"]["message"], hosts["baddepth1"]["message"]
    assert hosts["badengine1"]["status"] == "failed"
    assert "container_runtime" in hosts["badengine1"]["message"], hosts["badengine1"]["message"]
    for name in ("baddepth1", "badengine1"):
        assert hosts[name]["targets"] == [], "a host whose discovery failed is never read as compliant"
    assert report["summary"]["hosts_by_status"] == {"ok": 3, "unreachable": 0, "failed": 2}
    assert run.returncode in (0, 2), run.stdout[-3000:]


def test_both_paths_report_the_same(scans):
    """Whole-estate evaluation and host-by-host evaluation give the same hosts in report.json (the scan playbook
    ran over the hosts with good settings only)."""
    estate, per_host = scans["estate"][1], scans["per_host"][1]
    assert sorted(estate["hosts"]) == GOOD, sorted(estate["hosts"])
    assert estate["summary"]["hosts_by_status"] == {"ok": 3, "unreachable": 0, "failed": 0}
    for name in GOOD:
        assert estate["hosts"][name] == per_host["hosts"][name], name


@pytest.mark.parametrize("label", ["estate", "per_host"])
def test_hosts_own_policy_data_and_waivers_apply_to_them_only(scans, label):
    hosts = scans[label][1]["hosts"]

    def findings(host: str) -> list:
        return [f for target in hosts[host]["targets"] for f in target["findings"]]

    def rules(host: str, waived: bool) -> set:
        return {f["rule_id"] for f in findings(host) if f["waived"] == waived}

    assert DISABLED not in rules("good1", False) | rules("good1", True), findings("good1")
    assert rules("good1", False), "good1's other rules still apply"
    assert rules("good2", True) and not rules("good2", False), "good2's own waiver file waives all its findings"
    assert {f["waiver"]["id"] for f in findings("good2")} == {"legacy-host"}
    # plain1, with good1's services and no settings of its own: the rule applies, nothing is waived
    assert DISABLED in rules("plain1", False), findings("plain1")
    assert not rules("plain1", True) and not rules("good1", True)
