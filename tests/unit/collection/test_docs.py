"""What the user documentation claims, checked against the code that does it.

* docs/waivers.md: its complete waiver file and Dockerfile examples are loaded through the real
  waiver loader and facts builder and evaluated with the real bundle; the outcome must be the one
  the page's table describes.
* README.md, the severity gate: the rules listed under each default severity are the catalog's,
  no rule is critical by default, and ``severity_overrides`` does make one critical.
* awx/settings.yml is the complete example of what awx/configure.yml reads (same variables, same
  values), and the remediate job template keeps its report and rebuilds only with an image map.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from ansible_collections.refarch.containers.plugins.action.policy_check import run_policy_check
from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_facts import dockerfile_facts
from ansible_collections.refarch.containers.plugins.plugin_utils._waivers import load_waiver_file, validate_waivers

REPO = Path(__file__).resolve().parents[3]


def example(page: str, name: str) -> str:
    """The fenced block right after ``<!-- example: name -->`` in a doc page."""
    text = (REPO / page).read_text(encoding="utf-8")
    found = re.search(rf"<!-- example: {re.escape(name)} -->\n```[a-z]*\n(.*?)\n```", text, re.S)
    assert found, f"{page} has no example {name!r}"
    return found.group(1) + "\n"


def test_the_waiver_page_examples_do_what_the_page_says(tmp_path):
    waiver_file = tmp_path / "waivers.yml"
    waiver_file.write_text(example("docs/waivers.md", "waivers.yml"), encoding="utf-8")
    waivers = validate_waivers(load_waiver_file(str(waiver_file)), source=str(waiver_file))
    assert [w["id"] for w in waivers] == ["billing-node20", "billing-init", "legacy-images"]
    assert all(w["owner"] and w["expires"] and w["reason"] for w in waivers)

    doc = dockerfile_facts("/srv/billing/Dockerfile", example("docs/waivers.md", "Dockerfile").encode())
    assert not doc.get("problems"), doc.get("problems")
    result = run_policy_check({"facts": {"dockerfiles": [doc]}, "waivers": str(waiver_file),
                               "evaluation_date": "2026-11-28"}, "web1")
    by_rule = {f["rule_id"]: f for f in result["findings"]}
    waived = {r: (f["waiver"]["source"], f["waiver"]["id"]) for r, f in by_rule.items() if f["waived"]}
    assert waived == {
        "NRA001": ("pragma", "hadolint-pragma:/srv/billing/Dockerfile:8"),
        "NRA002": ("pragma", "refarch-pragma:/srv/billing/Dockerfile:6"),
        "NRA004": ("pragma", "refarch-pragma:/srv/billing/Dockerfile:1"),
        "NRA013": ("file", "billing-node20"),
    }
    assert by_rule["NRA001"]["line"] == 9 and by_rule["NRA002"]["line"] == 7 and by_rule["NRA013"]["line"] == 2
    assert by_rule["NRA013"]["waiver"]["owner"] == "team-billing"
    assert by_rule["NRA002"]["waiver"]["reason"] == "the legacy load balancer only forwards to port 80"
    for rule in ("NRA007", "NRA009"):
        assert not by_rule[rule]["waived"] and by_rule[rule]["waiver_expired"]["id"] == "billing-init"
    assert not by_rule["NRA006"]["waived"] and by_rule["NRA006"]["line"] == 10
    assert set(by_rule) == {"NRA001", "NRA002", "NRA004", "NRA006", "NRA007", "NRA009", "NRA013"}
    assert result["summary"]["expired_waivers"] == ["billing-init"]
    assert result["summary"]["unused_waivers"] == ["legacy-images"]
    # the JSON form of the same file loads the same
    as_json = tmp_path / "waivers.json"
    as_json.write_text(json.dumps(yaml.safe_load(waiver_file.read_text()), default=str), encoding="utf-8")
    assert validate_waivers(load_waiver_file(str(as_json))) == waivers


def test_the_severity_gate_lists_the_catalog_and_critical_needs_an_override():
    catalog = json.loads((REPO / "policies" / "refarch" / "catalog" / "data.json").read_text())["rules"]
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("<!-- severity gate:", 1)[1].split("\n\n", 1)[0]
    listed = {}
    for severity, rules in re.findall(r"^\| `(\w+)` \| ([^|]+) \|$", table, re.M):
        listed[severity] = set(re.findall(r"NRA\d{3}", rules))
    by_severity: dict[str, set] = {}
    for rule_id, rule in catalog.items():
        by_severity.setdefault(rule["severity"], set()).add(rule_id)
    assert listed == by_severity
    assert "critical" not in by_severity

    doc = dockerfile_facts("/srv/a/Dockerfile", b"FROM node:22-bookworm-slim\nUSER root\nCMD [\"node\", \"a.js\"]\n")
    plain = run_policy_check({"facts": {"dockerfiles": [doc]}, "evaluation_date": "2026-11-28", "fail_on": "critical"},
                             "h")
    assert "failed" not in plain and {f["severity"] for f in plain["findings"]} <= {"high", "medium", "low", "info"}
    raised = run_policy_check({"facts": {"dockerfiles": [doc]}, "evaluation_date": "2026-11-28", "fail_on": "critical",
                               "data": {"severity_overrides": {"NRA001": "critical"}}}, "h")
    assert raised["failed"] is True and "NRA001" in raised["msg"]
    assert next(f for f in raised["findings"] if f["rule_id"] == "NRA001")["severity"] == "critical"


class _AwxLoader(yaml.SafeLoader):
    """YAML with Ansible's ``!unsafe`` tag (a literal string)."""


_AwxLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def test_awx_settings_example_is_what_configure_reads_and_remediation_keeps_its_report():
    (play,) = yaml.load((REPO / "awx" / "configure.yml").read_text(), Loader=_AwxLoader)  # noqa: S506 - safe loader
    settings = yaml.load((REPO / "awx" / "settings.yml").read_text(), Loader=_AwxLoader)  # noqa: S506
    assert settings == play["vars"], "awx/settings.yml must list every variable configure.yml reads, same values"
    assert "-e @my-settings.yml" in (REPO / "awx" / "configure.yml").read_text()

    (remediate,) = [t["awx.awx.job_template"] for t in play["tasks"]
                    if t.get("awx.awx.job_template", {}).get("name") == "refarch remediate"]
    extra = remediate["extra_vars"]
    root = play["vars"]["refarch_awx_report_root"]
    assert extra["refarch_report_dir"] == "{{ refarch_awx_remediate_report_dir }}"
    assert play["vars"]["refarch_awx_remediate_report_dir"].startswith(root + "/")
    assert "awx_job_id" in play["vars"]["refarch_awx_remediate_report_dir"]
    assert extra["refarch_rebuild"] == "{{ refarch_awx_image_map | length > 0 }}"
    assert extra["refarch_image_map"] == "{{ refarch_awx_image_map }}" and play["vars"]["refarch_awx_image_map"] == {}
