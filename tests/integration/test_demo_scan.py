"""The README's main job: the scan playbook over the bundled example estate."""
from __future__ import annotations

import json

import pytest
from harness import REPO, run_playbook

pytestmark = pytest.mark.integration


def test_scan_example_estate(tmp_path):
    report_dir = tmp_path / "report"
    result = run_playbook(
        "refarch.containers.scan", REPO / "examples" / "inventory.yml", tmp_path,
        extra_vars={"refarch_scan_paths": [str(REPO / "examples" / "estate")], "refarch_report_dir": str(report_dir),
                    "refarch_evaluation_date": "2026-11-28"},
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    report = json.loads((report_dir / "report.json").read_text())
    for name in ("report.sarif", "report.junit.xml", "report.html", "report.txt"):
        assert (report_dir / name).stat().st_size > 0, name
    targets = {t["path"].split("/estate/")[1]: t for t in report["hosts"]["localhost"]["targets"]}
    assert set(targets) == {"shop-api/Dockerfile", "billing-worker/Dockerfile", "web-frontend/Dockerfile",
                            "ubi-service/Dockerfile", "admin-portal/Containerfile"}
    rules = {path: {f["rule_id"] for f in t["findings"] if not f.get("waived")} for path, t in targets.items()}
    # the textbook-bad Dockerfile trips most recommendations
    expected = {"NRA001", "NRA002", "NRA003", "NRA004", "NRA005", "NRA010", "NRA011", "NRA014"}
    assert expected <= rules["shop-api/Dockerfile"]
    # Alpine + Node 14 (end of life in 2023) + pm2 cluster mode + USER root
    assert {"NRA001", "NRA008", "NRA012", "NRA013"} <= rules["billing-worker/Dockerfile"]
    # yarn start, port 443, an unpinned ARG-resolved base image
    assert {"NRA002", "NRA010", "NRA014"} <= rules["admin-portal/Containerfile"]
    # UBI runs as 1001 by default: non-root without a USER line; shell-form CMD is still flagged
    assert "NRA001" not in rules["ubi-service/Dockerfile"]
    assert "NRA011" in rules["ubi-service/Dockerfile"]
    # built the recommended way: nothing above advisory level
    severities = {f["severity"] for f in targets["web-frontend/Dockerfile"]["findings"]}
    assert severities <= {"info"}, targets["web-frontend/Dockerfile"]["findings"]
    # the secret in admin-portal never leaves the host
    for name in ("report.json", "report.sarif", "report.junit.xml", "report.html"):
        assert "example-not-a-real-token" not in (report_dir / name).read_text()
    summary = report["summary"]
    assert summary["targets"] == 5
    assert summary["compliant_targets"] == 1  # web-frontend
    assert "refarch_summary" in result.stdout or "open finding" in result.stdout.lower() or "NRA" in result.stdout
