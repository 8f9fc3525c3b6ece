#!/usr/bin/env python3
"""Estate benchmark: the scan playbook against ansible.builtin.find over N real SSH hosts.

For N in 4, 8 and 16 loopback hosts (real sshd processes from
tests/integration/sshhosts.py, each with its own scan root holding Node.js
services and some source files), it times

* the peer: a playbook that only runs ``ansible.builtin.find`` for Dockerfiles
  and Containerfiles under the same roots, and
* ``ansible-playbook refarch.containers.scan`` (discover, parse, evaluate with
  the embedded engine, write JSON/JUnit/SARIF/HTML)

with the same ansible.cfg (forks, pipelining, ControlPersist) and reports the
ratio scan/find for each N (goal: at most 1.5) and how each grows from the
smallest to the largest N. A third playbook runs only the discover role
(walk + parse on the hosts, no evaluation, no report) so the figures show
whether the time goes to the hosts or to the controller. Each measurement is the best of ``--reps`` runs
after one warm-up run that opens the SSH control connections for both.

``--engine opa`` runs the scan against a real OPA server started here (binary
from $OPA or PATH) instead of the embedded engine.

Run as root (sshd on 127.0.0.N):
    .venv/bin/python bench/estate/run.py [--sizes 4,8,16] [--reps 2] [--engine embedded|opa]
Last line: ``RESULT ratio_n4=... ratio_n8=... ratio_n16=... ...``.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))

from estate_fixtures import open_estate, populate_host  # noqa: E402

FIND_PLAYBOOK = """\
- name: Find Dockerfiles (the peer)
  hosts: all
  gather_facts: false
  tasks:
    - name: Find Dockerfiles and Containerfiles
      ansible.builtin.find:
        paths: "{{ refarch_scan_paths }}"
        patterns: ["Dockerfile", "Containerfile", "*.Dockerfile", "Dockerfile.*"]
        recurse: true
        file_type: file
      register: found
"""

DISCOVER_PLAYBOOK = """\
- name: Discover only (where the scan's time goes), as the scan playbook runs it
  hosts: all
  gather_facts: false
  tasks:
    - name: Discover
      ansible.builtin.import_role:
        name: refarch.containers.discover
        rolespec_validate: false
"""


def ansible_env(tmp: Path) -> dict[str, str]:
    """The environment the integration tests use, minus pytest."""
    env = dict(os.environ)
    env.update({
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        # the checkout's collection link unless the caller points at an installed collection
        "ANSIBLE_COLLECTIONS_PATH": env.get("ANSIBLE_COLLECTIONS_PATH") or str(REPO / ".venv" / "collections"),
        "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-local"),
        "ANSIBLE_REMOTE_TEMP": "/tmp/.ansible-refarch-tmp",
        "ANSIBLE_NOCOLOR": "1",
        "PATH": f"{REPO / '.venv' / 'bin'}:{env.get('PATH', '')}",
    })
    return env


def start_opa(opa: str, log: Path) -> tuple[subprocess.Popen, str]:
    """Start a real OPA server with the collection's bundle on a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with open(log, "wb") as out:
        proc = subprocess.Popen([opa, "run", "--server", "--addr", f"127.0.0.1:{port}", "--skip-version-check",
                                 "--log-level", "error", "-b", str(REPO / "policies")], stdout=out, stderr=out)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"OPA did not start: {log.read_text()[-2000:]}")


def stop(proc: subprocess.Popen) -> None:
    """Stop a server this benchmark started."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def run(cmd: list[str], env: dict[str, str]) -> float:
    """Run one ansible-playbook command; return its wall time; exit on failure."""
    start = time.monotonic()
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env, cwd=str(REPO), timeout=1800)
    elapsed = time.monotonic() - start
    if done.returncode != 0:
        sys.stderr.write(f"command failed ({done.returncode}): {' '.join(cmd)}\n{done.stdout[-4000:]}\n"
                         f"{done.stderr[-2000:]}\n")
        raise SystemExit(2)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="4,8,16", help="comma-separated host counts (default 4,8,16)")
    parser.add_argument("--services", type=int, default=6, help="Node.js services (Dockerfiles) per host")
    parser.add_argument("--noise", type=int, default=300, help="plain source files per host")
    parser.add_argument("--reps", type=int, default=2, help="timed runs per measurement (best is kept)")
    parser.add_argument("--engine", choices=["embedded", "opa"], default="embedded",
                        help="policy engine of the scan; opa starts a real OPA server (binary from $OPA or PATH)")
    parser.add_argument("--no-breakdown", dest="breakdown", action="store_false",
                        help="skip the discover-only playbook (it shows how much of the scan is parsing)")
    args = parser.parse_args()
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    if os.geteuid() != 0:
        print("bench/estate needs root (sshd on 127.0.0.N)", file=sys.stderr)
        return 2
    playbook_bin = str(REPO / ".venv" / "bin" / "ansible-playbook")
    results: dict[str, float] = {}
    engine_vars: dict[str, str] = {"refarch_engine": args.engine}
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="refarch-bench-")))
        ssh = stack.enter_context(open_estate("refarch-bench-estate-"))
        env = ansible_env(tmp)
        find_playbook = tmp / "find.yml"
        find_playbook.write_text(FIND_PLAYBOOK)
        if args.engine == "opa":
            opa = os.environ.get("OPA") or shutil.which("opa") or str(REPO / ".tools" / "bin" / "opa")
            opa_proc, engine_vars["refarch_opa_url"] = start_opa(opa, tmp / "opa.log")
            stack.callback(stop, opa_proc)
        discover_playbook = tmp / "discover.yml"
        discover_playbook.write_text(DISCOVER_PLAYBOOK)
        for index in range(max(sizes)):
            host = ssh.add_host(f"node{index + 1:02d}")
            populate_host(host.root, index, services=args.services, noise_files=args.noise)
        full = ssh.inventory({"refarch_scan_paths": ["{{ refarch_host_root }}/srv"]})
        for n in sizes:
            inventory = json.loads(json.dumps(full))
            names = sorted(inventory["all"]["hosts"])[:n]
            inventory["all"]["hosts"] = {k: v for k, v in inventory["all"]["hosts"].items() if k in names}
            inv_path = tmp / f"inventory-{n}.json"
            inv_path.write_text(json.dumps(inventory))
            report_dir = tmp / f"report-{n}"
            scan_cmd = [playbook_bin, "-i", str(inv_path), "refarch.containers.scan",
                        "-e", json.dumps({"refarch_report_dir": str(report_dir),
                                          "refarch_evaluation_date": "2026-11-28",
                                          "refarch_report_print_summary": False, **engine_vars})]
            find_cmd = [playbook_bin, "-i", str(inv_path), str(find_playbook)]
            discover_cmd = [playbook_bin, "-i", str(inv_path), str(discover_playbook)]
            run(find_cmd, env)  # warm-up: SSH control masters, page cache, Python bytecode
            run(scan_cmd, env)
            find_s = min(run(find_cmd, env) for _ in range(args.reps))
            scan_s = min(run(scan_cmd, env) for _ in range(args.reps))
            discover_s = min(run(discover_cmd, env) for _ in range(args.reps)) if args.breakdown else None
            report = json.loads((report_dir / "report.json").read_text())
            targets = report["summary"]["targets"]
            if targets != n * args.services:
                print(f"N={n}: the scan reported {targets} targets, expected {n * args.services}", file=sys.stderr)
                for name, host in sorted(report["hosts"].items()):
                    if host.get("status") != "ok":
                        print(f"  {name}: {host.get('status')}: {host.get('message')}", file=sys.stderr)
                return 3
            results[f"scan_s_n{n}"] = scan_s
            results[f"find_s_n{n}"] = find_s
            results[f"ratio_n{n}"] = scan_s / find_s
            results[f"dockerfiles_n{n}"] = targets
            line = f"N={n:>2}: find {find_s:6.2f}s  scan {scan_s:6.2f}s  ratio {scan_s / find_s:5.2f}"
            if discover_s is not None:
                results[f"discover_ratio_n{n}"] = discover_s / find_s
                line += f"  (discover only {discover_s:6.2f}s, ratio {discover_s / find_s:5.2f})"
            print(f"{line}  {targets} Dockerfiles, {report['summary']['findings']} findings", flush=True)
    lo, hi = sizes[0], sizes[-1]
    fields = [f"ratio_n{n}={results[f'ratio_n{n}']:.2f}" for n in sizes]
    fields += [f"scan_s_n{n}={results[f'scan_s_n{n}']:.2f}" for n in sizes]
    fields += [f"find_s_n{n}={results[f'find_s_n{n}']:.2f}" for n in sizes]
    fields += [f"discover_ratio_n{n}={results[f'discover_ratio_n{n}']:.2f}" for n in sizes
               if f"discover_ratio_n{n}" in results]
    if hi != lo:
        fields.append(f"scan_growth_n{hi}_over_n{lo}={results[f'scan_s_n{hi}'] / results[f'scan_s_n{lo}']:.2f}")
        fields.append(f"find_growth_n{hi}_over_n{lo}={results[f'find_s_n{hi}'] / results[f'find_s_n{lo}']:.2f}")
    fields.append(f"goal_ratio_max=1.5 goal_met={'yes' if all(results[f'ratio_n{n}'] <= 1.5 for n in sizes) else 'no'}")
    fields.append(f"services_per_host={args.services} engine={args.engine}")
    print("RESULT " + " ".join(fields))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
