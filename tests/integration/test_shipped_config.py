"""What the repository ships for users turns no security check off (issue 17, item 4).

The shipped ``ansible.cfg`` and everything under ``playbooks/``, ``roles/`` and
``awx/`` must not disable SSH host-key checking: an AWX project synced from this
repository would inherit it. The tests' loopback hosts do not need it either:
the SSH harness writes a known_hosts file with each host's key, and a host
whose key is not the recorded one is refused.
"""
from __future__ import annotations

import configparser
import os
import re
import subprocess
from pathlib import Path

import pytest
from harness import REPO, ansible_env, tool

pytestmark = pytest.mark.integration

# Ways of turning host-key checking off, in ansible.cfg, YAML, INI inventories or ssh options.
DISABLING = [
    re.compile(r"host_key_checking\s*[:=]\s*['\"]?(false|no|0|off)\b", re.IGNORECASE),
    re.compile(r"HOST_KEY_CHECKING['\"]?\s*[:=]\s*['\"]?(false|no|0|off)\b", re.IGNORECASE),
    re.compile(r"StrictHostKeyChecking\s*=?\s*['\"]?(no|off|accept-new)\b", re.IGNORECASE),
    re.compile(r"UserKnownHostsFile\s*=?\s*/dev/null", re.IGNORECASE),
    re.compile(r"validate_certs\s*[:=]\s*['\"]?(false|no)\b", re.IGNORECASE),
]
SHIPPED_DIRS = ("playbooks", "roles", "awx", "meta", "examples")


def _shipped_files() -> list[Path]:
    files = [REPO / "ansible.cfg"]
    for name in SHIPPED_DIRS:
        files += sorted(p for p in (REPO / name).rglob("*") if p.is_file() and not p.is_symlink())
    return files


def test_patterns_catch_what_the_repository_used_to_ship():
    """The scan below can fail: each pattern matches the form it is meant to catch."""
    old = ("host_key_checking = False\n"
           "ssh_args = -o ControlMaster=auto -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no\n"
           "ANSIBLE_HOST_KEY_CHECKING: 'false'\nvalidate_certs: false\n")
    assert [bool(p.search(old)) for p in DISABLING] == [True] * len(DISABLING)


def test_nothing_shipped_turns_host_key_checking_off():
    files = _shipped_files()
    assert len(files) > 20, files  # the directories were found
    offending = []
    for path in files:
        text = path.read_text(errors="replace")
        for pattern in DISABLING:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                offending.append(f"{path.relative_to(REPO)}:{line}: {match.group(0)}")
    assert not offending, "shipped files turn a security check off:\n" + "\n".join(offending)

    cfg = configparser.ConfigParser()
    cfg.read(REPO / "ansible.cfg")
    assert cfg.getboolean("defaults", "host_key_checking", fallback=True) is True
    ssh_args = cfg.get("ssh_connection", "ssh_args", fallback="")
    assert "StrictHostKeyChecking" not in ssh_args and "KnownHostsFile" not in ssh_args, ssh_args


def test_loopback_hosts_are_checked_against_their_recorded_key(ssh_estate, tmp_path):
    """The harness relies on known_hosts, not on checking being off: a wrong key is refused."""
    env = ansible_env(tmp_path)
    assert "ANSIBLE_HOST_KEY_CHECKING" not in env or env["ANSIBLE_HOST_KEY_CHECKING"].lower() in ("true", "1")
    estate = ssh_estate()
    host = estate.add_host("keyed1")
    inventory = estate.write_inventory(tmp_path / "inventory.json")

    def ping() -> subprocess.CompletedProcess:
        return subprocess.run([tool("ansible"), "-i", str(inventory), "keyed1", "-m", "ansible.builtin.ping"],
                              capture_output=True, text=True, env=env, timeout=120, cwd=str(REPO), check=False)

    good = ping()
    assert good.returncode == 0 and '"ping": "pong"' in good.stdout, good.stdout + good.stderr

    # record another key for the host: ssh must refuse it
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    key_type, key_data = Path(f"{other}.pub").read_text().split()[:2]
    assert host.known_hosts is not None
    host.known_hosts.write_text(f"[{host.address}]:{host.port} {key_type} {key_data}\n")
    env["ANSIBLE_SSH_CONTROL_PATH_DIR"] = str(tmp_path / "cp")  # no master connection from the first run
    bad = ping()
    assert bad.returncode != 0, bad.stdout
    assert "UNREACHABLE" in bad.stdout and "host key" in (bad.stdout + bad.stderr).lower(), bad.stdout + bad.stderr

    # and a host not recorded at all is refused too (no trust on first use)
    host.known_hosts.write_text("")
    unknown = ping()
    assert unknown.returncode != 0 and "UNREACHABLE" in unknown.stdout, unknown.stdout + unknown.stderr
    assert os.path.getsize(host.known_hosts) == 0, "ssh added the key to the estate's known_hosts"
