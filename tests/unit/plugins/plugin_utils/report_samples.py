"""Sample inputs for the report tests: a small estate with hostile strings in every field.

Shared by the unit tests and ``tests/integration/test_html_chromium.py``.  The
rule catalog mirrors the shape of ``policies/refarch/catalog/data.json``.
"""
from __future__ import annotations

import copy
from typing import Any

SCRIPT = '<script>window.__pwned=1;document.title="PWNED"</script>'
IMG = "<img src=x onerror=\"document.title='PWNED';document.body.setAttribute('data-pwned','1')\">"
ANSI = "\x1b[31mRED\x1b[0m\x1b]0;evil-title\x07\x1b[2J\x9b1mC1BOLD\x9b0m"
CDATA = "]]><!-- -->"
CONTROL = "nul\x00bel\x07bs\x08vt\x0bff\x0cesc\x1b del\x7f c1\x85end"
ENTITIES = "&lt;b&gt; &amp; &#60;script&#62;"
BIDI = "safe\u202eevil"
QUOTE_BREAK = "\" onmouseover=\"document.title='PWNED'\" x=\""
HOSTILE = " ".join([SCRIPT, IMG, ANSI, CDATA, CONTROL, ENTITIES, BIDI, QUOTE_BREAK])

CATALOG: dict[str, Any] = {
    "NRA001": {"title": "Build non-root containers", "description": "The final stage must not run as root.",
               "category": "security",
               "severity": "high", "recommended_action": "Add a USER instruction with a non-root user.",
               "fix": "add_non_root_user", "aliases": ["DS-0002", "DL3002"],
               "related_resources": [{"ref": "https://example.invalid/building-good-containers#non-root",
                                      "description": "reference architecture"}]},
    "NRA002": {"title": "Avoid privileged ports", "description": "Do not EXPOSE ports below 1024.",
               "severity": "medium", "recommended_action": "Listen on a port >= 1024.",
               "fix": "remap_privileged_ports", "aliases": ["DL3011"]},
    "NRA004": {"title": ".dockerignore", "severity": "low", "fix": "write_dockerignore"},
    "NRA006": {"title": "Problem-determination tools", "severity": "info", "fix": "manual", "advisory": True},
    "NRA010": {"title": "Do not start with npm", "severity": "medium", "fix": "replace_npm_start",
               "description": "npm does not forward signals."},
    "NRA014": {"title": "Pinned base image", "severity": "critical", "fix": "replace_base_image",
               "related_resources": ["https://example.invalid/pin"]},
}


def _finding(rule: str, sev: str, host: str, path: str, *rest: Any, **extra: Any) -> dict:
    line, message = rest
    target = {"kind": "dockerfile", "host": host, "path": path, "sha256": "ab" * 32}
    if extra.pop("image", None):
        target = {"kind": "image", "host": host, "image": path, "id": "sha256:" + "cd" * 32}
    out = {"rule_id": rule, "severity": sev, "title": CATALOG.get(rule, {}).get("title", rule), "message": message,
           "target": target, "line": line, "fix": CATALOG.get(rule, {}).get("fix"), "waived": False,
           "related": CATALOG.get(rule, {}).get("aliases", []), "advisory": rule == "NRA006"}
    out.update(extra)
    return out


def host_results() -> dict[str, Any]:
    """Eight hosts: clean, dirty, waived, expired waiver, hostile, unreadable file, unreachable, failed."""
    hostile_path = f"/srv/{SCRIPT}/{IMG}/Dockerfile"
    return copy.deepcopy({
        "web1": {
            "status": "ok",
            "targets": [{"kind": "dockerfile", "path": "/srv/app/Dockerfile", "sha256": "11" * 32, "problems": []}],
            "findings": [],
        },
        "web2": {
            "status": "ok",
            "targets": [
                {"kind": "dockerfile", "path": "/srv/api/Dockerfile", "sha256": "ab" * 32},
                {"kind": "image", "image": "registry.local/api:1.2", "id": "sha256:" + "cd" * 32},
            ],
            "findings": [
                _finding("NRA001", "high", "web2", "/srv/api/Dockerfile", None,
                         "final stage runs as root (base default)"),
                _finding("NRA002", "medium", "web2", "/srv/api/Dockerfile", 7, "EXPOSE 80 is a privileged port"),
                _finding("NRA002", "medium", "web2", "/srv/api/Dockerfile", 8, "EXPOSE 443 is a privileged port"),
                _finding("NRA014", "critical", "web2", "/srv/api/Dockerfile", 1, "base image node has no tag"),
                _finding("NRA006", "info", "web2", "/srv/api/Dockerfile", None, "no diagnostics tooling"),
                _finding("NRA001", "high", "web2", "registry.local/api:1.2", None, "image config user is root",
                         image=True),
            ],
        },
        "web3": {
            "status": "ok",
            "targets": [{"kind": "dockerfile", "path": "/srv/worker/Dockerfile", "sha256": "ef" * 32}],
            "findings": [
                _finding("NRA010", "medium", "web3", "/srv/worker/Dockerfile", 12, "CMD runs npm start",
                         waived=True, waiver={"source": "file", "reason": "migration ticket OPS-12", "owner": "team-a",
                                              "expires": "2026-12-10", "id": "W-1"}),
                _finding("NRA004", "low", "web3", "/srv/worker/Dockerfile", None, "no .dockerignore",
                         waived=True, waiver={"source": "pragma", "reason": "context is generated", "owner": None,
                                              "expires": None, "id": None}),
            ],
        },
        "web4": {
            "status": "ok",
            "targets": [{"kind": "dockerfile", "path": "/srv/legacy/Dockerfile", "sha256": "12" * 32}],
            "findings": [
                _finding("NRA001", "high", "web4", "/srv/legacy/Dockerfile", 3, "USER root on line 3",
                         waiver_expired={"source": "file", "reason": "old exception", "owner": "team-b",
                                         "expires": "2026-01-31", "id": "W-0"}),
            ],
        },
        f"hostile{SCRIPT}": {
            "status": "ok",
            "targets": [{"kind": "dockerfile", "path": hostile_path, "sha256": "34" * 32,
                         "problems": [{"line": 2, "code": "malformed_json", "message": HOSTILE}]}],
            "findings": [
                _finding("NRA002", "medium", f"hostile{SCRIPT}", hostile_path, 4, HOSTILE),
                _finding("NRA001", "high", f"hostile{SCRIPT}", hostile_path, 9, "root " + HOSTILE, waived=True,
                         waiver={"source": "file", "reason": HOSTILE, "owner": HOSTILE, "expires": "2027-06-30",
                                 "id": HOSTILE}),
            ],
        },
        "files1": {
            "status": "ok",
            "targets": [{"kind": "dockerfile", "path": "/srv/secret/Dockerfile", "sha256": None,
                         "error": {"code": "permission_denied",
                                   "message": "Permission denied: /srv/secret/Dockerfile"}}],
            "findings": [],
        },
        "down1": {"status": "unreachable", "message": "ssh: connect to host 127.0.0.9 port 22: Connection refused",
                  "targets": [], "findings": []},
        "broken1": {"status": "failed", "message": "policy engine error: " + HOSTILE, "targets": [], "findings": []},
    })


EXPECTED = {
    "hosts": 8, "ok": 6, "unreachable": 1, "failed": 1,
    "targets": 7, "compliant": 2, "noncompliant": 4, "error": 1,
    # open findings: web2 6 (incl. advisory), web4 1 (expired waiver), hostile 1
    "findings": 8, "critical": 1, "high": 3, "medium": 3, "low": 0, "info": 1,
    "waived": 3, "expired": 1,
}
