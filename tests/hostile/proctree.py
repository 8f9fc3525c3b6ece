"""Run a command and measure its whole process tree's memory while it runs (Linux /proc).

The controller's memory is the tree of ``ansible-playbook``: its forked workers, the
embedded engine's worker processes and the ssh clients. Ansible's workers are forks that
share pages, so the tree's resident sizes added up count shared pages many times; the sum
of the proportional set sizes (PSS, each shared page split between its sharers) is what the
tree really holds. Both are recorded, with the largest single resident size (what
``/usr/bin/time -v`` reports as "Maximum resident set size"). Sampled every 20 ms; the
kernel's own peak of each finished process is not visible here, so a spike shorter than a
sample can be missed (the figures are a lower bound of the true peak, not a timing).
"""
from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass, field


@dataclass
class TreeRun:
    returncode: int
    stdout: str
    stderr: str
    peak_pss_mib: float = 0.0     # largest sum of PSS over the tree
    peak_rss_sum_mib: float = 0.0  # largest sum of RSS (shared pages counted once per process)
    peak_rss_max_mib: float = 0.0  # largest single process RSS
    samples: int = 0
    processes: set[int] = field(default_factory=set)


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        try:
            ppid = int(data[data.rindex(b")") + 2:].split()[1])
        except (ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def _tree(root: int) -> list[int]:
    kids = _children()
    out, stack = [], [root]
    while stack:
        pid = stack.pop()
        out.append(pid)
        stack.extend(kids.get(pid, []))
    return out


def _memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of ``pid`` in KiB from smaps_rollup; zeros when it is gone."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return rss, pss


def run_measured(cmd: list[str], *, env: dict, cwd: str, timeout: float) -> TreeRun:
    """Run ``cmd`` to its end, sampling the memory of its process tree."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
    out: dict[str, str] = {}

    def read(name: str, stream) -> None:
        out[name] = stream.read()

    readers = [threading.Thread(target=read, args=("out", proc.stdout), daemon=True),
               threading.Thread(target=read, args=("err", proc.stderr), daemon=True)]
    for t in readers:
        t.start()
    run = TreeRun(0, "", "")
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            break
        rss_sum = pss_sum = rss_max = 0
        for pid in _tree(proc.pid):
            rss, pss = _memory_kib(pid)
            run.processes.add(pid)
            rss_sum += rss
            pss_sum += pss
            rss_max = max(rss_max, rss)
        run.peak_pss_mib = max(run.peak_pss_mib, pss_sum / 1024)
        run.peak_rss_sum_mib = max(run.peak_rss_sum_mib, rss_sum / 1024)
        run.peak_rss_max_mib = max(run.peak_rss_max_mib, rss_max / 1024)
        run.samples += 1
        time.sleep(0.02)
    for t in readers:
        t.join(timeout=30)
    run.returncode = proc.returncode
    run.stdout, run.stderr = out.get("out", ""), out.get("err", "")
    return run
