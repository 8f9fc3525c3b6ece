"""Discovery benchmark: dockerfile_info's walk+parse against GNU find and ansible.builtin.find.

Generates (once, cached) a tree of about 200,000 files: 2,000 Node.js projects,
each with a Dockerfile, package.json, .dockerignore, sources and a heavy
node_modules directory. Then, in one run:

* ``find -prune`` listing the same Dockerfiles (pruning node_modules and .git),
* the dockerfile_info module run as a process on the host (walk + read + parse
  + normalize + JSON output), the way Ansible runs it. Two figures: the walk+parse
  time on the module's own clock (from the first directory read to the last
  document encoded: what the issue's goal names) and the whole process (Python and
  Ansible start-up and writing the output included). Decoding its answer on the
  controller (the action plugin's json.loads) is timed and reported separately,
* ``ansible.builtin.find`` and ``refarch.containers.dockerfile_info`` each run
  through a one-task playbook that registers the result (same Ansible overhead on both sides).

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
MODULE = REPO / "plugins" / "modules" / "dockerfile_info.py"

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


def best_of(repeat: int, fn):
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def run_find(root: Path) -> list[str]:
    return subprocess.run(find_cmd(root), capture_output=True, text=True, check=True).stdout.split()


def find_cmd(root: Path) -> list[str]:
    return ["find", str(root), "(", "-name", "node_modules", "-o", "-name", ".git", ")", "-prune", "-o",
            "-type", "f", "(", "-name", "Dockerfile", "-o", "-name", "Containerfile", "-o", "-name", "*.Dockerfile",
            "-o", "-name", "Dockerfile.*", ")", "-print"]


def module_cmd(root: Path, args_file: Path) -> list[str]:
    # output_encoding=json is what the collection's action plugin asks the module for
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"paths": [str(root)], "output_encoding": "json"}}))
    return [sys.executable, str(MODULE), str(args_file)]


def run_module(cmd: list[str], env: dict) -> str:
    """The module as a process: walk + read + parse + normalize + JSON on its stdout."""
    proc = subprocess.run(cmd, capture_output=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"dockerfile_info failed: {proc.stdout[-2000:]!r} {proc.stderr[-2000:]!r}")
    return proc.stdout


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


def run_play(module: str, module_args: dict, env: dict, work: Path) -> float:
    """A one-task playbook that registers the result (as a scan role does), timed end to end."""
    args = "\n".join(f"        {k}: {json.dumps(v)}" for k, v in module_args.items())
    play = work / f"{module.rsplit('.', 1)[-1]}.yml"
    play.write_text(PLAY.format(module=module, args=args))
    cmd = [str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", str(play),
           "-e", f"ansible_python_interpreter={sys.executable}"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{module} failed: {proc.stdout[-1500:]} {proc.stderr[-1500:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--projects", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--root", default=os.path.join(tempfile.gettempdir(), "refarch-bench-discovery"))
    parser.add_argument("--skip-ansible", action="store_true", help="skip the ansible.builtin.find comparison")
    opts = parser.parse_args()

    root = Path(opts.root)
    start = time.perf_counter()
    files = generate(root, opts.projects)
    print(f"tree: {root} ({files} files, {opts.projects} projects, generated/checked in "
          f"{time.perf_counter() - start:.1f}s)")

    env = dict(os.environ, PYTHONPATH=str(REPO / ".venv" / "collections"), ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    work = Path(tempfile.mkdtemp(prefix="refarch-bench-"))
    cmd = module_cmd(root, work / "args.json")
    t_find, listed = best_of(opts.repeat, lambda: run_find(root))
    inner_runs: list[float] = []

    def module_run() -> bytes:
        out = run_module(cmd, env)
        inner = json.loads(out)["summary"]
        inner_runs.append(inner["walk_seconds"] + inner["parse_seconds"])
        return out

    t_mod, stdout = best_of(opts.repeat, module_run)
    t_inner = min(inner_runs)
    t_dec, result = best_of(opts.repeat, lambda: decode(stdout))
    mod_peak, find_peak = peak_mib(cmd, env), peak_mib(find_cmd(root), env)
    found = {d["path"] for d in result["dockerfiles"]}
    if found != set(listed):
        print(f"MISMATCH: module found {len(found)} files, find listed {len(listed)}")
        return 1
    parsed = sum(1 for d in result["dockerfiles"] if d["error"] is None and d["final_stage"])
    ratio_find = t_mod / t_find
    inner = result["summary"]
    print(f"find -prune:            {t_find:.3f}s  ({len(listed)} Dockerfiles listed, peak {find_peak:.1f} MiB)")
    print(f"dockerfile_info module: {t_mod:.3f}s  ({len(found)} found, {parsed} parsed into facts; inside: walk "
          f"{inner['walk_seconds']:.3f}s, read+parse+facts+encode {inner['parse_seconds']:.3f}s; "
          f"peak {mod_peak:.1f} MiB, largest process)")
    print(f"walk+parse (the module's own clock, from the first directory read to the last document encoded): "
          f"{t_inner:.3f}s = {t_inner / t_find:.2f}x find  (goal: at most 3x, parsing included)")
    print(f"module process, Python and Ansible start-up and the output included: {ratio_find:.2f}x find")
    print(f"decoding its answer on the controller (action plugin): {t_dec:.3f}s more, "
          f"{(t_mod + t_dec) / t_find:.2f}x find with it")
    fields = {"files": files, "dockerfiles": len(found), "find_s": round(t_find, 3), "module_s": round(t_mod, 3),
              "walk_parse_s": round(t_inner, 3), "walk_parse_ratio_vs_find": round(t_inner / t_find, 2),
              "ratio_vs_find": round(ratio_find, 2), "decode_s": round(t_dec, 3),
              "ratio_with_decode": round((t_mod + t_dec) / t_find, 2), "peak_mib": round(mod_peak, 1)}
    if not opts.skip_ansible:
        patterns = ["Dockerfile", "Containerfile", "*.Dockerfile", "Dockerfile.*"]
        t_af, _ = best_of(1, lambda: run_play("ansible.builtin.find",
                                              {"paths": [str(root)], "patterns": patterns, "recurse": True}, env, work))
        t_ours, _ = best_of(1, lambda: run_play("refarch.containers.dockerfile_info",
                                                {"paths": [str(root)], "output_encoding": "json"}, env, work))
        speedup = t_af / t_ours
        print(f"ansible.builtin.find:   {t_af:.3f}s (lists only, walks node_modules: it cannot prune)")
        print(f"dockerfile_info (ansible): {t_ours:.3f}s  -> {speedup:.2f}x faster (goal: at least 3x)")
        fields.update({"ansible_find_s": round(t_af, 3), "ansible_ours_s": round(t_ours, 3),
                       "speedup_vs_ansible_find": round(speedup, 2)})
    shutil.rmtree(work, ignore_errors=True)
    print("RESULT " + " ".join(f"{k}={v}" for k, v in fields.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
