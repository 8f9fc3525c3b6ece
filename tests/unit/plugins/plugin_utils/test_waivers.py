"""Waiver file validation, matching, expiry and inline pragmas."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from ansible_collections.refarch.containers.plugins.plugin_utils._waivers import (
    WaiverError,
    apply_waivers,
    load_waiver_file,
    parse_evaluation_date,
    pragma_waiver,
    validate_waivers,
)

TODAY = dt.date(2026, 11, 28)


def waiver(**kw):
    base = {"rule": "NRA002", "reason": "sidecar", "owner": "team-web", "expires": "2026-12-31"}
    base.update(kw)
    return base


def finding(*, rule="NRA002", line=7, host="web1", path="/srv/app/Dockerfile", related=(), doc=0, image=None):
    target = {"kind": "dockerfile", "host": host, "path": path, "sha256": "x"}
    if image:
        target = {"kind": "image", "host": host, "image": image, "id": "sha256:1"}
    return {"rule_id": rule, "line": line, "severity": "medium", "related": list(related), "target": target,
            "_doc": doc}


def test_validation_lists_every_problem():
    with pytest.raises(WaiverError) as err:
        validate_waivers([
            {"rule": "NRA001", "owner": "a", "expires": "2026-01-01"},      # no reason
            waiver(expires="2026-13-01"),                                   # bad date
            waiver(colour="red"),                                           # unknown key
            waiver(rule=[]),                                                # empty list
            "not a mapping",
            waiver(id="x"), waiver(id="x"),                                 # duplicate id
        ])
    msg = str(err.value)
    assert "waivers[0]: 'reason' is required" in msg
    assert "waivers[1]: 'expires' must be an ISO date" in msg
    assert "waivers[2]: unknown key(s) colour" in msg
    assert "waivers[3]: 'rule' must be" in msg
    assert "waivers[4]: expected a mapping" in msg
    assert "waivers[6]: duplicate waiver id 'x'" in msg


def test_validation_normalizes():
    out = validate_waivers([waiver(rule=["NRA001", "NRA002"], host="web*"), waiver(rule="*", id="all")])
    assert out[0]["rules"] == ["NRA001", "NRA002"] and out[0]["id"] == "waivers[0]"
    assert out[0]["expires"] == "2026-12-31" and out[1]["rules"] == ["*"]


def test_yaml_and_json_files(tmp_path):
    y = tmp_path / "w.yml"
    y.write_text("waivers:\n  - rule: NRA001\n    reason: r\n    owner: o\n    expires: 2027-01-01\n")
    j = tmp_path / "w.json"
    j.write_text(json.dumps([waiver()]))
    assert validate_waivers(load_waiver_file(str(y)))[0]["expires"] == "2027-01-01"
    assert validate_waivers(load_waiver_file(str(j)))[0]["rules"] == ["NRA002"]
    bad = tmp_path / "bad.json"
    bad.write_text("[{")
    with pytest.raises(WaiverError, match="invalid JSON"):
        load_waiver_file(str(bad))
    with pytest.raises(WaiverError, match="cannot read"):
        load_waiver_file(str(tmp_path / "missing.yml"))
    scalar = tmp_path / "s.yml"
    scalar.write_text("just text\n")
    with pytest.raises(WaiverError, match="expected a list"):
        load_waiver_file(str(scalar))


def test_evaluation_date_parsing():
    assert parse_evaluation_date("2026-02-03") == dt.date(2026, 2, 3)
    with pytest.raises(ValueError, match="ISO date"):
        parse_evaluation_date("03/02/2026")


@pytest.mark.parametrize("sel,hit", [
    ({}, True),
    ({"host": "web*"}, True),
    ({"host": "db*"}, False),
    ({"path": "/srv/*/Dockerfile"}, True),
    ({"path": "/opt/*"}, False),
    ({"image": "*"}, False),          # a Dockerfile target has no image
    ({"rule": "NRA001"}, False),
    ({"rule": ["NRA001", "NRA002"]}, True),
    ({"rule": "*"}, True),
])
def test_selectors(sel, hit):
    ws = validate_waivers([waiver(**sel)])
    f = finding()
    apply_waivers([f], ws, TODAY)
    assert f["waived"] is hit
    if hit:
        assert f["waiver"] == {"source": "file", "id": "waivers[0]", "reason": "sidecar", "owner": "team-web",
                               "expires": "2026-12-31"}
    else:
        assert f["waiver"] is None


def test_image_glob():
    ws = validate_waivers([waiver(image="registry.local/app:*")])
    hit, miss = finding(image="registry.local/app:1.2"), finding(image="docker.io/app:1.2")
    apply_waivers([hit, miss], ws, TODAY)
    assert hit["waived"] and not miss["waived"]


def test_expiry_is_inclusive_and_expired_waivers_are_reported():
    ws = validate_waivers([waiver(expires="2026-11-28", id="today"), waiver(rule="NRA001", expires="2026-11-27",
                                                                            id="gone")])
    a, b = finding(), finding(rule="NRA001")
    report = apply_waivers([a, b], ws, TODAY)
    assert a["waived"] and a["waiver"]["id"] == "today" and "waiver_expired" not in a
    assert not b["waived"] and b["waiver"] is None and b["waiver_expired"]["id"] == "gone"
    assert report == {"expired": ["gone"], "unused": []}
    # the day after, the first one has expired too
    report = apply_waivers([a], ws, TODAY + dt.timedelta(days=1))
    assert not a["waived"] and a["waiver_expired"]["id"] == "today"


def test_valid_waiver_wins_over_an_expired_one():
    ws = validate_waivers([waiver(expires="2020-01-01", id="old"), waiver(id="new")])
    f = finding()
    apply_waivers([f], ws, TODAY)
    assert f["waived"] and f["waiver"]["id"] == "new" and "waiver_expired" not in f


def test_unused_waivers_are_reported():
    ws = validate_waivers([waiver(host="nowhere", id="stale")])
    assert apply_waivers([finding()], ws, TODAY)["unused"] == ["stale"]


REFARCH_LINE = {"line": 6, "source": "refarch", "rules": ["NRA002"], "reason": "legacy port", "applies_to_line": 7}
REFARCH_FILE = {"line": 1, "source": "refarch", "rules": ["NRA001"], "reason": None, "applies_to_line": None}
HADOLINT = {"line": 4, "source": "hadolint", "rules": ["DL3002"], "reason": None, "applies_to_line": 5}


def test_refarch_pragma_applies_to_its_line_only():
    on, off, other = finding(line=7), finding(line=9), finding(rule="NRA003", line=7)
    apply_waivers([on, off, other], [], TODAY, {0: [REFARCH_LINE]})
    assert on["waived"] and on["waiver"]["source"] == "pragma" and on["waiver"]["reason"] == "legacy port"
    assert not off["waived"] and not other["waived"]


def test_refarch_ignore_file_applies_to_every_line():
    a, b = finding(rule="NRA001", line=3), finding(rule="NRA001", line=None)
    apply_waivers([a, b], [], TODAY, {0: [REFARCH_FILE]})
    assert a["waived"] and b["waived"] and "pragma at line 1" in a["waiver"]["reason"]


def test_pragmas_belong_to_their_document():
    f = finding(line=7, doc=1)
    apply_waivers([f], [], TODAY, {0: [REFARCH_LINE], 1: []})
    assert not f["waived"]


def test_hadolint_pragma_uses_related_aliases_and_can_be_switched_off():
    root = finding(rule="NRA001", line=5, related=["DS-0002", "DL3002"])
    unrelated = finding(rule="NRA014", line=5, related=["DL3007"])
    apply_waivers([root, unrelated], [], TODAY, {0: [HADOLINT]})
    assert root["waived"] and not unrelated["waived"]
    apply_waivers([root], [], TODAY, {0: [HADOLINT]}, hadolint_pragmas=False)
    assert not root["waived"]


def test_pragma_waiver_unknown_source_is_ignored():
    assert pragma_waiver(finding(), [{"source": "other", "rules": ["NRA002"], "applies_to_line": 7}]) is None
