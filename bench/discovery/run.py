"""Discovery benchmark: dockerfile_info's walk+parse against GNU find and ansible.builtin.find.

Generates (once, cached) a tree of about 200,000 files: 2,000 Node.js projects,
each with a Dockerfile, package.json, .dockerignore, sources and a heavy
node_modules directory. Then, in one run, each measure the best of ``--repeat``
runs, the two sides of a comparison run alternately so that they see the same
file cache:

* ``find -prune`` listing the same Dockerfiles (pruning node_modules and .git),
  against the module's walk+parse on its own clock (from the first directory read
  to the last document encoded). Goal: at most 3x.
* ``ansible.builtin.find`` listing them, against ``dockerfile_info``: each module
  as Ansible runs it on a host, i.e. the AnsiballZ payload Ansible built for it
  (kept with ANSIBLE_KEEP_REMOTE_FILES from a real playbook run) executed as a
  process, start-up, walk, parse and output included on our side. Goal: at least
  3x faster.
* For context, both modules through a whole one-task playbook that registers the
  result, and a ``ping`` playbook: the fixed cost Ansible pays for any one-task
  play, which both sides carry and which caps any module's ratio.
* Peak memory of the module process and the controller's decoding of its answer.

Prints the ratios and ends with one ``RESULT`` line.

    .venv/bin/python bench/discovery/run.py [--projects 2000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent

DOCKERFILES = [
    "FROM node:{v}-bookworm-slim AS build\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\n"
    "RUN npm run build\nFROM node:{v}-bookworm-slim\nCOPY --from=build --chown=node:node /app /app\n"
    "USER node\nEXPOSE 8080\nCMD [\"node\", \"/app/dist/server.js\"]\n",
    "FROM node:{v}\nWORKDIR /usr/src/app\nCOPY . .\nRUN npm install\nEXPOSE 80\nCMD npm start\n",
    "ARG BASE=node:{v}-alpine\nFROM $BASE\nENV NODE_ENV=production API_TOKEN=t0ps3cret\nRUN apk add --no-cache tini\n"
    "WORKDIR /srv\nCOPY . .\nENTRYPOINT [\"/sbin/tini\", \"--\"]\nCMD [\"node\", \"index.js\"]\n",
]


def generate(root: Path, projects: int, seed: int = 7) -> int:
    """Write the tree under root; returns the number of files. Cached by a marker file."""
    marker = root / ".generated"
    if marker.exists() and marker.read_text() == str(projects):
        return int((root / ".files").read_text())
    shutil.rmtree(root, ignore_errors=True)
    rng = random.Random(seed)
    files = 0
    for p in range(projects):
        proj = root / f"team{p % 40:02d}" / f"svc{p:04d}"
        (proj / "src" / "lib").mkdir(parents=True)
        (proj / ".git" / "objects").mkdir(parents=True)
        name = "Dockerfile" if p % 10 else ("Containerfile" if p % 20 else "api.Dockerfile")
        (proj / name).write_text(rng.choice(DOCKERFILES).format(v=rng.choice([18, 20, 22])))
        (proj / "package.json").write_text(json.dumps({"name": f"svc{p}", "main": "index.js",
                                                        "scripts": {"start": "node index.js"},
                                                        "dependencies": {"express": "^4"}}))
        (proj / ".dockerignore").write_text("node_modules\n.git\n")
        files += 3
        for i in range(6):
            (proj / "src" / f"m{i}.js").write_text("module.exports = 1;\n")
            (proj / "src" / "lib" / f"l{i}.js").write_text("module.exports = 2;\n")
            files += 2
        for i in range(4):
            (proj / ".git" / "objects" / f"o{i}").write_bytes(b"x")
            files += 1
        # node_modules: packages with nested files, including Dockerfiles that must be pruned
        for pkg in range(12):
            pdir = proj / "node_modules" / f"pkg{pkg}" / "lib"
            pdir.mkdir(parents=True)
            (pdir.parent / "package.json").write_text("{}")
            (pdir.parent / "README.md").write_text("readme")
            files += 2
            for i in range(4):
                (pdir / f"f{i}.js").write_text("x")
                files += 1
            if pkg == 0:
                (pdir.parent / "Dockerfile").write_text("FROM node\n")
                files += 1
    marker.write_text(str(projects))
    (root / ".files").write_text(str(files))
    return files


def run_find(root: Path) -> list[str]:
    return subprocess.run(find_cmd(root), capture_output=True, text=True, check=True).stdout.split()


def find_cmd(root: Path) -> list[str]:
    return ["find", str(root), "(", "-name", "node_modules", "-o", "-name", ".git", ")", "-prune", "-o",
            "-type", "f", "(", "-name", "Dockerfile", "-o", "-name", "Containerfile", "-o", "-name", "*.Dockerfile",
            "-o", "-name", "Dockerfile.*", ")", "-print"]


def decode(stdout: bytes) -> dict:
    """What the action plugin does with the module's answer on the controller."""
    result = json.loads(stdout)
    result["dockerfiles"] = json.loads(result.pop("dockerfiles_json"))
    result["host_summary"] = json.loads(result.pop("host_summary_json"))
    return result


# Peak memory (largest process) of a command and of the processes it waits for (the module's
# workers). Not from this process's RUSAGE_CHILDREN: subprocess starts children with vfork, and
# Linux then records the *parent's* peak (this bench, holding decoded results) as the child's
# ru_maxrss. GNU time, a small C program, forks and waits for the command instead; without it a
# small Python launcher does, and its own ~10 MiB are then a floor of the figure.
_PEAK = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(os.wait4(proc.pid, 0)[2].ru_maxrss)
"""


def peak_mib(cmd: list[str], env: dict) -> float:
    gnu_time = shutil.which("time", path="/usr/bin:/bin")
    if gnu_time:
        with tempfile.NamedTemporaryFile("r", suffix=".peak") as out:
            subprocess.run([gnu_time, "-f", "%M", "-o", out.name, *cmd], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, env=env, check=True)
            return int(out.read().split()[-1]) / 1024
    proc = subprocess.run([sys.executable, "-c", _PEAK, *cmd], capture_output=True, text=True, env=env, check=True)
    return int(proc.stdout) / 1024


PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Scan
      {module}:
{args}
      register: scanned
"""

PATTERNS = ["Dockerfile", "Containerfile", "*.Dockerfile", "Dockerfile.*"]


class Play:
    """A one-task playbook that registers the result (as a scan role does), run on localhost."""

    def __init__(self, module: str, module_args: dict, env: dict, work: Path):
        self.module = module
        self.env = env
        self.work = work
        self.name = module.rsplit(".", 1)[-1]
        args = "\n".join(f"        {k}: {json.dumps(v)}" for k, v in module_args.items())
        self.path = work / f"{self.name}.yml"
        self.path.write_text(PLAY.format(module=module, args=args))

    def run(self, env: dict | None = None) -> float:
        cmd = [str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", str(self.path),
               "-e", f"ansible_python_interpreter={sys.executable}"]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env or self.env, check=False)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"{self.module} playbook failed: {proc.stdout[-1500:]} {proc.stderr[-1500:]}")
        return elapsed

    def payload(self) -> Path:
        """The AnsiballZ file Ansible builds for this task, kept from a real run of the playbook."""
        remote_tmp = self.work / f"remote-tmp-{self.name}"
        self.run(dict(self.env, ANSIBLE_KEEP_REMOTE_FILES="1", ANSIBLE_REMOTE_TMP=str(remote_tmp)))
        found = sorted(remote_tmp.glob(f"*/AnsiballZ_{self.name}.py"))
        if len(found) != 1:
            raise SystemExit(f"expected one AnsiballZ_{self.name}.py under {remote_tmp}, found {found}")
        return found[0]


def run_payload(payload: Path, env: dict) -> bytes:
    """A module as Ansible runs it on the host: its AnsiballZ payload as a process, answer on stdout."""
    proc = subprocess.run([sys.executable, str(payload)], capture_output=True, env=env, check=False)
    answer = proc.stdout.decode("utf-8", "replace")
    if proc.returncode != 0 or '"failed": true' in answer[-4000:]:
        raise SystemExit(f"{payload.name} failed: {answer[-2000:]!r} {proc.stderr[-2000:]!r}")
    return proc.stdout


def alternate(repeat: int, *fns) -> list[tuple[float, object]]:
    """Best time of each function over ``repeat`` rounds, the functions run alternately in each round."""
    times: list[list[float]] = [[] for _ in fns]
    outs: list[object] = [None] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            outs[i] = fn()
            times[i].append(time.perf_counter() - start)
    return [(min(t), out) for t, out in zip(times, outs, strict=True)]


def pruned(path: str) -> bool:
    return any(part in ("node_modules", ".git") for part in Path(path).parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--projects", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--root", default=os.path.join(tempfile.gettempdir(), "refarch-bench-discovery"))
    opts = parser.parse_args()

    root = Path(opts.root)
    start = time.perf_counter()
    files = generate(root, opts.projects)
    print(f"tree: {root} ({files} files, {opts.projects} projects, generated/checked in "
          f"{time.perf_counter() - start:.1f}s); best of {opts.repeat} runs each")

    env = dict(os.environ, PYTHONPATH=str(REPO / ".venv" / "collections"), ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    work = Path(tempfile.mkdtemp(prefix="refarch-bench-"))
    try:
        return measure(root, files, opts.repeat, env, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(root: Path, files: int, repeat: int, env: dict, work: Path) -> int:
    # output_encoding=json is what the collection's action plugin and the discover role ask for
    ours_play = Play("refarch.containers.dockerfile_info", {"paths": [str(root)], "output_encoding": "json"}, env, work)
    find_play = Play("ansible.builtin.find", {"paths": [str(root)], "patterns": PATTERNS, "recurse": True}, env, work)
    ping_play = Play("ansible.builtin.ping", {}, env, work)
    # Building the payloads is also the warm-up: both walks have been through the tree once.
    ours, theirs = ours_play.payload(), find_play.payload()

    inner_runs: list[float] = []

    def ours_run() -> bytes:
        out = run_payload(ours, env)
        summary = json.loads(out)["summary"]
        inner_runs.append(summary["walk_seconds"] + summary["parse_seconds"])
        return out

    (t_find, listed), (t_ours, stdout) = alternate(repeat, lambda: run_find(root), ours_run)
    t_inner = min(inner_runs)
    (t_afind, afind_out), (t_ours2, _) = alternate(repeat, lambda: run_payload(theirs, env), ours_run)
    t_ours = min(t_ours, t_ours2)
    [(t_dec, result)] = alternate(repeat, lambda: decode(stdout))
    (t_play_find, _), (t_play_ours, _), (t_play_ping, _) = alternate(repeat, find_play.run, ours_play.run,
                                                                     ping_play.run)
    ours_peak, find_peak = peak_mib([sys.executable, str(ours)], env), peak_mib(find_cmd(root), env)

    # Same files on every side: find -prune's list, ours, and ansible.builtin.find's minus what it cannot prune.
    found = {d["path"] for d in result["dockerfiles"]}
    afind = {f["path"] for f in json.loads(afind_out)["files"]}
    afind_kept = {p for p in afind if not pruned(p)}
    if not found == set(listed) == afind_kept:
        print(f"MISMATCH: module found {len(found)} files, find listed {len(listed)}, "
              f"ansible.builtin.find {len(afind_kept)} outside node_modules and .git")
        return 1
    parsed = sum(1 for d in result["dockerfiles"] if d["error"] is None and d["final_stage"])
    inner = result["summary"]
    speedup = t_afind / t_ours
    fixed = t_play_ping
    print(f"find -prune:               {t_find:.3f}s  ({len(listed)} Dockerfiles listed, peak {find_peak:.1f} MiB)")
    print(f"ansible.builtin.find:      {t_afind:.3f}s  (its AnsiballZ payload run on the host; lists {len(afind)} "
          f"files: it cannot prune node_modules, {len(afind) - len(afind_kept)} of them are in there)")
    print(f"dockerfile_info:           {t_ours:.3f}s  (its AnsiballZ payload run on the host; {len(found)} found, "
          f"{parsed} parsed into facts; inside: walk {inner['walk_seconds']:.3f}s, read+parse+facts+encode "
          f"{inner['parse_seconds']:.3f}s; peak {ours_peak:.1f} MiB, largest process)")
    print(f"walk+parse (the module's own clock, first directory read to last document encoded): {t_inner:.3f}s "
          f"= {t_inner / t_find:.2f}x find -prune  (goal: at most 3x, parsing included)")
    print(f"dockerfile_info against ansible.builtin.find, each as Ansible runs it on the host: "
          f"{speedup:.2f}x faster  (goal: at least 3x)")
    print(f"  whole module process against find -prune (start-up and output included): {t_ours / t_find:.2f}x")
    print(f"  decoding its answer on the controller (action plugin): {t_dec:.3f}s more")
    print(f"through a one-task playbook: ansible.builtin.find {t_play_find:.3f}s, dockerfile_info {t_play_ours:.3f}s "
          f"-> {t_play_find / t_play_ours:.2f}x faster;")
    print(f"  both carry Ansible's fixed cost of a one-task play ({fixed:.3f}s for ansible.builtin.ping), so no module"
          f" could score more than {t_play_find / fixed:.2f}x here; above that fixed cost: "
          f"{t_play_find - fixed:.3f}s against {t_play_ours - fixed:.3f}s = "
          f"{(t_play_find - fixed) / max(t_play_ours - fixed, 1e-3):.2f}x")
    fields = {"files": files, "dockerfiles": len(found), "find_s": round(t_find, 3),
              "walk_parse_s": round(t_inner, 3), "walk_parse_ratio_vs_find": round(t_inner / t_find, 2),
              "module_s": round(t_ours, 3), "ansible_find_module_s": round(t_afind, 3),
              "speedup_vs_ansible_find": round(speedup, 2), "ratio_vs_find": round(t_ours / t_find, 2),
              "decode_s": round(t_dec, 3), "peak_mib": round(ours_peak, 1),
              "play_ansible_find_s": round(t_play_find, 3), "play_ours_s": round(t_play_ours, 3),
              "play_ping_s": round(fixed, 3), "play_speedup": round(t_play_find / t_play_ours, 2)}
    print("RESULT " + " ".join(f"{k}={v}" for k, v in fields.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
