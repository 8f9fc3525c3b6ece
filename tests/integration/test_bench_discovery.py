"""bench/discovery runs end to end on a small tree (no timing asserted: the figures are the bench's job).

It must build real AnsiballZ payloads for both modules through ansible-playbook, check that
dockerfile_info, GNU find and ansible.builtin.find list the same Dockerfiles, and print its
RESULT line.
"""
from __future__ import annotations

import subprocess
import sys

from harness import REPO

KEYS = {"files", "dockerfiles", "find_s", "walk_parse_s", "walk_parse_ratio_vs_find", "module_s",
        "ansible_find_module_s", "speedup_vs_ansible_find", "peak_mib", "play_ansible_find_s", "play_ours_s",
        "play_ping_s", "play_speedup"}


def test_bench_discovery_small_tree(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "discovery" / "run.py"), "--projects", "20",
                           "--repeat", "1", "--root", str(tmp_path / "tree")],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    [result] = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    fields = dict(item.split("=", 1) for item in result.split()[1:])
    assert KEYS <= fields.keys(), fields
    assert fields["dockerfiles"] == "20"
    assert int(fields["files"]) > 20 * 50
    assert all(float(fields[k]) > 0 for k in KEYS - {"files", "dockerfiles"})
    assert "MISMATCH" not in proc.stdout
