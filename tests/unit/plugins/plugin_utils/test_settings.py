"""The settings check (plugin_utils/_settings.py): its spec is the roles' argument_specs.yml, and it agrees with
what the roles, playbooks and defaults use."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from ansible_collections.refarch.containers.plugins.plugin_utils import _settings
from ansible_collections.refarch.containers.plugins.plugin_utils._settings import (
    CHECKS,
    SettingError,
    check_setting,
    known_settings,
    role_specs,
    validate,
)

REPO = Path(__file__).resolve().parents[4]
NAME = re.compile(r"\brefarch_[a-z0-9_]*[a-z0-9]\b")


def _used_names() -> dict[str, str]:
    """Every refarch_* name the roles' tasks and defaults, the playbooks and the AWX playbooks use."""
    out = {}
    files = [*REPO.glob("roles/*/tasks/*.yml"), *REPO.glob("roles/*/defaults/*.yml"), *REPO.glob("playbooks/*.yml"),
             REPO / "awx" / "configure.yml", REPO / "awx" / "merge_reports.yml", REPO / "awx" / "settings.yml"]
    for path in files:
        for name in NAME.findall(path.read_text(encoding="utf-8")):
            out.setdefault(name, str(path.relative_to(REPO)))
    return out


def test_every_name_the_collection_uses_is_known():
    known = set(known_settings()) | _settings.OUTPUT_VARS | _settings.OTHER_PLAYBOOK_VARS
    used = _used_names()
    assert len(used) > 60, used   # the scan really found the names
    missing = {n: where for n, where in used.items() if n not in known}
    assert not missing, f"used but unknown to the settings check (no spec, not an output): {missing}"
    # and nothing listed as an output or another playbook's variable is a stale name
    stale = (_settings.OUTPUT_VARS | _settings.OTHER_PLAYBOOK_VARS) - set(used)
    assert not stale, stale


def test_the_spec_is_the_roles_argument_specs_and_defaults_pass_it():
    specs = role_specs()
    assert set(specs) == {"discover", "evaluate", "rebuild", "remediate", "report"}
    for role, options in specs.items():
        defaults = yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text(encoding="utf-8"))
        for name, spec in options.items():
            assert name in defaults, f"{role}: {name} has a spec but no default"
            value = defaults[name]
            if isinstance(value, str) and "{{" in value:
                continue  # templated at run time (the OPA environment variables, the inventory hosts)
            if name in ("refarch_report_dir",):
                continue  # a relative default: checked against the working directory
            check_setting(name, value, spec)   # a default never fails its own check
        undocumented = {n for n in defaults if n.startswith("refarch_")} - set(options)
        assert not undocumented, f"{role}: defaults without a spec: {undocumented}"
    # every extra check is about a real setting
    assert set(CHECKS) <= set(known_settings()), set(CHECKS) - set(known_settings())
    # the playbooks' settings are their roles' options
    assert "refarch_fixes" in known_settings("remediate") and "refarch_fixes" not in known_settings("scan")


@pytest.fixture
def files(tmp_path):
    (tmp_path / "waivers.yml").write_text("- rule: NRA001\n  reason: r\n  owner: o\n  expires: 2027-01-01\n")
    (tmp_path / "broken.yml").write_text("- rule_id: [NRA001\n")
    (tmp_path / "outcomes").mkdir()
    (tmp_path / "readonly").mkdir(mode=0o500)
    return tmp_path


BAD = [
    ("refarch_fail_on", ["high"], "refarch_fail_on must be a string, not a list"),
    ("refarch_fail_on", "urgent", "refarch_fail_on: 'urgent' is not one of none, info, low, medium, high, critical"),
    ("refarch_scan_paths", "/srv", "refarch_scan_paths must be a list, not a string"),
    ("refarch_scan_paths", ["srv"], "refarch_scan_paths[0]: 'srv' is not an absolute path"),
    ("refarch_image_map", ["/srv/app/Dockerfile"], "refarch_image_map must be a mapping, not a list"),
    ("refarch_image_map", {"app/Dockerfile": "x:1"}, "refarch_image_map: key 'app/Dockerfile' is not an absolute"),
    ("refarch_opa_url", "ftp://opa:8181", "refarch_opa_url: 'ftp://opa:8181' is not an http:// or https:// URL"),
    ("refarch_opa_url", "https://u:secret@", "refarch_opa_url: '<url with user information>' is not an http"),
    ("refarch_fixes", ["NRA999"], "refarch_fixes: unknown fix or rule id(s) NRA999 (known fixes: replace_base_image"),
    ("refarch_fixes", {"NRA001": True}, "refarch_fixes must be 'all' or a list of rule or fix ids, not a mapping"),
    ("refarch_evaluation_date", "28/11/2026", "refarch_evaluation_date: '28/11/2026' is not an ISO date"),
    ("refarch_max_findings_per_rule", -1, "refarch_max_findings_per_rule must be at least 0, got -1"),
    ("refarch_max_findings_per_rule", "many", "refarch_max_findings_per_rule must be an integer, not a string"),
    ("refarch_remediate_backup_dir", "backups", "refarch_remediate_backup_dir: 'backups' is not an absolute path"),
    ("refarch_rebuild", "sometimes", "refarch_rebuild must be true or false, not a string"),
    ("refarch_port_map", {"80": "http"}, "refarch_port_map: '80': 'http' is not a port number mapping"),
    ("refarch_engine", "OPA", "refarch_engine: 'OPA' is not one of embedded, opa"),
    ("refarch_allow_incomplete", ["host_down"], "refarch_allow_incomplete: unknown reason(s) host_down; known:"),
    ("refarch_opa_token", ["s3cr3t-value"], "refarch_opa_token: invalid value (not shown: it is a secret)"),
    ("refarch_start_probe", "maybe", "refarch_start_probe must be true or false, not a string"),
    ("refarch_start_probe_seconds", 0, "refarch_start_probe_seconds must be at least 1, got 0"),
    ("refarch_start_probe_timeout", 5, "refarch_start_probe_timeout must be at least 6, got 5"),
]


@pytest.mark.parametrize(("name", "value", "message"), BAD, ids=[f"{b[0]}={b[1]!r}" for b in BAD])
def test_bad_values_are_named(name, value, message):
    errors, _warnings = validate({name: {"": value}}, "remediate")
    assert len(errors) == 1 and errors[0].startswith(message), errors
    assert "s3cr3t" not in errors[0]


def test_controller_paths(files):
    cases = [
        ("refarch_waivers", str(files), f"refarch_waivers: {files} is not a regular file"),
        ("refarch_waivers", str(files / "none.yml"), f"refarch_waivers: {files}/none.yml does not exist"),
        ("refarch_waivers", str(files / "broken.yml"), f"refarch_waivers: {files}/broken.yml: invalid YAML"),
        ("refarch_remediation_outcomes_dir", str(files / "gone"),
         f"refarch_remediation_outcomes_dir: {files}/gone does not exist"),
        ("refarch_remediation_outcomes_dir", str(files / "waivers.yml"),
         f"refarch_remediation_outcomes_dir: {files}/waivers.yml is not a directory"),
        ("refarch_policy_paths", [str(files / "nope")], f"refarch_policy_paths[0]: {files}/nope does not exist"),
        ("refarch_report_dir", str(files / "waivers.yml"), f"refarch_report_dir: {files}/waivers.yml exists and is"),
    ]
    for name, value, message in cases:
        errors, _warnings = validate({name: {"": value}}, "remediate")
        assert len(errors) == 1 and errors[0].startswith(message), (name, errors)
    good = {"refarch_waivers": {"": str(files / "waivers.yml")},
            "refarch_remediation_outcomes_dir": {"": str(files / "outcomes")},
            "refarch_fixes": {"": "nra001"}, "refarch_scan_paths": {"": ["/srv"]}, "refarch_fail_on": {"": "high"},
            "refarch_max_findings_per_rule": {"": "5"}, "refarch_rebuild": {"": "yes"},
            "refarch_image_map": {"": {"/srv/a/Dockerfile": "localhost/a:1"}}, "refarch_opa_url": {"": "https://o"},
            "refarch_allow_incomplete": {"": ["host_unreachable"]}, "refarch_evaluation_date": {"": "2026-11-28"}}
    assert validate(good, "remediate") == ([], [])


def test_unknown_and_unused_variables_are_warnings_with_the_closest_name():
    errors, warnings = validate({"refarch_scan_path": {"": ["/srv"]}, "refarch_fixes": {"": "all"},
                                 "refarch_frobnicate": {"": 1}, "refarch_discovery": {"": {}},
                                 "refarch_merge_root": {"": "/x"}, "other_var": {"": 1}}, "scan")
    assert errors == []
    assert warnings == [
        "refarch_fixes: not read by the scan playbook (an option of the remediate role)",
        "refarch_frobnicate: unknown variable (no role reads it)",
        "refarch_scan_path: unknown variable; did you mean refarch_scan_paths?",
    ]


def test_values_per_host_name_where_they_were_set():
    errors, _warnings = validate({"refarch_scan_paths": {"": ["/srv"], "hosts web2, web3": "/opt"}}, "scan")
    assert errors == ["refarch_scan_paths must be a list, not a string ('/opt'); on the command line pass JSON: "
                      "-e '{\"refarch_scan_paths\": [\"...\"]}' (set for hosts web2, web3)"]


def test_readonly_outcomes_dir(files):
    import os  # noqa: PLC0415
    if os.geteuid() == 0:
        pytest.skip("root writes into a 0500 directory")
    errors, _w = validate({"refarch_remediation_outcomes_dir": {"": str(files / "readonly")}}, "remediate")
    assert errors and "is not writable" in errors[0]


def test_check_type_rejects_what_ansible_would_convert():
    with pytest.raises(SettingError, match="must be a list"):
        check_setting("refarch_scan_excludes", "node_modules,.git", {"type": "list", "elements": "str"})
    with pytest.raises(SettingError, match=r"refarch_scan_excludes\[1\] must be a string"):
        check_setting("refarch_scan_excludes", ["a", 1], {"type": "list", "elements": "str"})


def test_the_start_probe_timeout_must_leave_room_for_its_stay_up_time():
    """image_start_probe needs timeout >= seconds + 5: checked on the controller, where both are in force."""
    check = _settings.probe_timing_errors
    assert check({"": (None, None)}, "remediate") == []  # the defaults (5 s up, 120 s timeout)
    assert check({"": (115, None)}, "remediate") == []  # 115 + 5 = 120, the default timeout
    [error] = check({"": (116, None)}, "remediate")
    assert error.startswith("refarch_start_probe_timeout (120) must be at least refarch_start_probe_seconds (116) + 5")
    assert "(set for" not in error
    [error] = check({"": (None, 120), "host web2": ("30", "20")}, "remediate")  # strings as -e gives them
    assert "(20) must be at least refarch_start_probe_seconds (30) + 5" in error
    assert error.endswith("(set for host web2)")
    assert check({"": ("soon", 3)}, "remediate") == []  # a value that is no integer: its own check names it
    assert check({"": (200, None)}, "scan") == []  # the scan playbook starts no probe
