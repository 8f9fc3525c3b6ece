"""SSH faults during ``refarch.containers.scan``: a connection dropped mid-play and a host that hangs.

Three real sshd hosts: ``good1`` stays healthy; ``drop1`` loses its sshd (the
listener and every session process, SIGKILL) as soon as its first module run
has finished, so the play's next task on it meets a dead connection;
``hang1``'s sshd is stopped with SIGSTOP before the play, so the TCP connect
succeeds but nothing ever answers (``ansible_ssh_timeout`` bounds it). The
estate report must still be written, with every host and its status, and the
run must finish within its timeout.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "tests" / "hostile"))

from estate_fixtures import root_estate  # noqa: E402
from playrun import run_playbook  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.slow]
DOCKERFILE = "FROM node:22-bookworm-slim\nUSER node\nCMD [\"node\", \"server.js\"]\n"


def _children() -> dict[int, list[tuple[int, str]]]:
    out: dict[int, list[tuple[int, str]]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        out.setdefault(ppid, []).append((int(entry), comm))
    return out


def descendants(pid: int) -> list[tuple[int, str]]:
    tree = _children()
    found, todo = [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


class Dropper(threading.Thread):
    """Kill a host's sshd tree once a module (python) has run under it and exited."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.state = "waiting"
        self.stop = False

    def run(self) -> None:
        seen = False
        deadline = time.monotonic() + 300
        while not self.stop and time.monotonic() < deadline:
            pythons = [p for p, comm in descendants(self.pid) if comm.startswith("python")]
            if pythons:
                seen = True
            elif seen:
                for p, _comm in descendants(self.pid):
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                os.kill(self.pid, signal.SIGKILL)
                self.state = "dropped after the first module run"
                return
            time.sleep(0.01)
        self.state = "never saw a module run"


@pytest.fixture(scope="module")
def faulty_scan(tmp_path_factory):
    work = tmp_path_factory.mktemp("ssh-faults")
    with root_estate("refarch-sshfault-") as ssh:
        hosts = {name: ssh.add_host(name) for name in ("good1", "drop1", "hang1")}
        for host in hosts.values():
            app = host.root / "srv" / "app"
            app.mkdir(parents=True)
            (app / "Dockerfile").write_text(DOCKERFILE)
        inventory = ssh.inventory({"refarch_scan_paths": ["{{ refarch_host_root }}/srv"],
                                   # a second remote task after dockerfile_info, so the drop is mid-play
                                   "refarch_scan_images": True, "refarch_container_engine": "podman"})
        for name in hosts:
            inventory["all"]["hosts"][name].update({"ansible_ssh_timeout": 5, "ansible_timeout": 5})
        inv = work / "inventory.json"
        inv.write_text(json.dumps(inventory))
        dropper = Dropper(hosts["drop1"].process.pid)
        dropper.start()
        os.kill(hosts["hang1"].process.pid, signal.SIGSTOP)
        start = time.monotonic()
        try:
            run = run_playbook("refarch.containers.scan", inv, work, timeout=400, extra_vars={
                "refarch_report_dir": str(work / "report"), "refarch_evaluation_date": "2026-11-28"})
        finally:
            dropper.stop = True
            os.kill(hosts["hang1"].process.pid, signal.SIGCONT)
        (work / "play.log").write_text(run.stdout + run.stderr)
        yield {"run": run, "work": work, "seconds": time.monotonic() - start, "dropper": dropper}


def _report(faulty_scan) -> dict:
    path = faulty_scan["work"] / "report" / "report.json"
    run = faulty_scan["run"]
    assert path.is_file(), f"no report.json (rc={run.returncode}):\n{run.stdout[-5000:]}\n{run.stderr[-2000:]}"
    return json.loads(path.read_text())


def test_connection_dropped_mid_play(case, faulty_scan):
    c = case("SSH connection dropped mid-play (sshd killed after the host's first task)",
             "report still written; that host unreachable or failed (never ok), with its message; others ok")
    report = _report(faulty_scan)
    host = report["hosts"].get("drop1", {})
    c.see(f"dropper: {faulty_scan['dropper'].state}; drop1 status={host.get('status')}, "
          f"message={str(host.get('message'))[:80]!r}; good1={report['hosts'].get('good1', {}).get('status')}")
    unreachable_tasks = [line for line in faulty_scan["run"].stdout.splitlines()
                         if line.startswith("fatal: [drop1]") and "UNREACHABLE" in line]
    c.see(f"tasks unreachable on drop1: {len(unreachable_tasks)}")
    assert faulty_scan["dropper"].state.startswith("dropped"), "the fault was not injected"
    assert unreachable_tasks, "the drop did not hit a task (nothing tested)"
    assert report["hosts"]["good1"]["status"] == "ok"
    assert host.get("status") in ("unreachable", "failed"), host


def test_hanging_host(case, faulty_scan):
    c = case("host that hangs (sshd SIGSTOPped)",
             "bounded by ansible_ssh_timeout; report written with that host unreachable")
    report = _report(faulty_scan)
    host = report["hosts"].get("hang1", {})
    c.see(f"hang1 status={host.get('status')}; whole run {faulty_scan['seconds']:.0f}s, "
          f"rc={faulty_scan['run'].returncode}")
    assert host.get("status") == "unreachable", host
    assert host.get("targets") == []


def test_lost_hosts_fail_the_run(open_case, faulty_scan):
    c = open_case("scan: a host dropped mid-play and a hanging host (SSH faults above)",
                  "rc != 0 after the report is written; complete=false; one message naming host_unreachable")
    report = _report(faulty_scan)
    run = faulty_scan["run"]
    gate = next((line for line in run.stdout.splitlines() if "run incomplete:" in line), "")
    c.see(f"rc={run.returncode}; complete={report['summary']['complete']}, "
          f"by reason={report['summary']['incomplete_by_reason']}")
    assert run.returncode != 0
    assert report["summary"]["complete"] is False
    lost = {(r["reason"], r["host"]) for r in report["summary"]["incomplete_reasons"]}
    assert {"drop1", "hang1"} <= {host for _reason, host in lost}
    assert ("host_unreachable", "hang1") in lost and "host_unreachable (" in gate
