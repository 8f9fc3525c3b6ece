"""Remediation on a hostile host: an unprivileged user owns app folders under the scan root.

Issue 18, items 1-4. A throw-away account (useradd) owns one app folder per case under the scan
root. Between discovery and remediation (one task of the play, run as that account with setpriv,
so the timing is deterministic) it plants what the review found: the old predictable backup names
and the old lock name as symlinks to root-only files, a ``.dockerignore`` / ``package.json`` that is
a symlink to a root-only file, a FIFO or a hard link, and the app folder swapped for a symlink or
for another directory holding an identical Dockerfile. The play is the remediate playbook's
(discover, evaluate, remediate roles) with that one task inserted, run as root over real SSH,
once with ``--check --diff -v`` and once for real, each on a fresh tree.

Asserted for every case: nothing outside the scan root is read (no victim content in any output),
created, written, chowned or backed up (the victim files' bytes, owner, mode and mtime; the old
lock target does not appear; a snapshot of everything outside the scan root); nothing hangs (the
runs have a timeout); each Dockerfile ends with a clear outcome (rewritten with its backup in the
private backup directory, or refused with the reason).
"""
from __future__ import annotations

import json
import os
import pwd
import shlex
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))

from estate_fixtures import LocalUser, root_estate  # noqa: E402
from playrun import run_playbook  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MARK = "zqvictim"
DOCKERFILE = """FROM node:22-bookworm-slim
WORKDIR /app
COPY package*.json ./
RUN npm ci --omit=dev
COPY . .
EXPOSE 80
CMD npm start
"""
PACKAGE = json.dumps({"name": "app", "main": "server.js", "scripts": {"start": "node server.js"},
                      "dependencies": {"express": "4"}})
PLAYBOOK = """---
# The remediate playbook's first play (discover, evaluate, remediate) with the attacker's move in between.
- name: Discover, evaluate, let the attacker move, remediate
  hosts: all
  gather_facts: false
  tasks:
    - name: Discover Dockerfiles
      ansible.builtin.import_role:
        name: refarch.containers.discover
        rolespec_validate: false
    - name: Evaluate this host's findings
      ansible.builtin.import_role:
        name: refarch.containers.evaluate
    - name: The unprivileged user plants links, FIFOs and hard links and swaps folders (after the scan)
      ansible.builtin.command:
        argv: "{{ hostile_attack }}"
      check_mode: false
      changed_when: true
    - name: Remediate what the findings name
      ansible.builtin.import_role:
        name: refarch.containers.remediate
"""
# case -> (shell run as the attacker in the app folder after the scan, expected status, words in the reason)
# {victim}: root-only 0600 file outside the scan root; {victim_pkg}: the same, shaped like a package.json;
# {victim_df}: a root-owned 0644 copy of the Dockerfile outside the scan root (the sha256 guard would pass);
# {outside}: folder outside the scan root; {nologin}: a file that must never be created. Each case's
# Dockerfile is srv/<case>/app/Dockerfile, srv/<case> belonging to the attacker (who can swap app).
CASES = {
    "old backup names planted as symlinks": (
        "last=$(cat /proc/sys/kernel/ns_last_pid 2>/dev/null || echo $$); for s in $(seq 0 12); do "
        "d=$(date -d \"+$s sec\" +%Y-%m-%d@%H:%M:%S); for pid in $(seq $((last + 1)) $((last + 300))); do "
        "ln -s {victim} \"Dockerfile.$pid.$d~\"; done; done",
        "rewritten", ""),
    "old lock name planted as a symlink": (
        "ln -s {nologin} .Dockerfile.refarch-remediate.lock", "rewritten", ""),
    ".dockerignore symlink to a root-only file": (
        "ln -s {victim} .dockerignore", "refused", ".dockerignore is a symlink"),
    "package.json symlink to a root-only file": (
        "rm package.json && ln -s {victim_pkg} package.json", "refused", "package.json is a symlink"),
    "package.json is a FIFO": (
        "rm package.json && mkfifo package.json", "refused", "package.json is a FIFO"),
    "Dockerfile.dockerignore symlink to a root-only file": (
        "ln -s {victim} Dockerfile.dockerignore", "refused", "Dockerfile.dockerignore is a symlink"),
    "Dockerfile swapped for a symlink to a root-owned identical copy": (
        "rm Dockerfile && ln -s {victim_df} Dockerfile", "refused", "Dockerfile is a symlink"),
    ".dockerignore is a FIFO": (
        "mkfifo .dockerignore", "refused", ".dockerignore is a FIFO"),
    "package.json hard link to a file outside the root": (
        "rm package.json && (ln {victim_pkg} package.json 2>/dev/null || ln {outside}/package.json package.json)",
        "refused", "hard links"),
    "folder swapped for a symlink after the scan": (
        "cd .. && mv app app.scanned && ln -s {outside} app", "refused", "is a symlink"),
    "folder swapped for another folder after the scan": (
        "cd .. && mv app app.scanned && mkdir app && cp app.scanned/Dockerfile app.scanned/package.json app/",
        "refused", "changed since the scan"),
}


def _slug(case: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in case).strip("-")[:40]


def _stat(path: Path) -> tuple:
    st = os.lstat(path)
    return (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), st.st_mtime_ns, st.st_nlink)


def _outside_snapshot(host_root: Path, srv: Path) -> dict:
    """Every entry under the host root but outside the scan root: bytes (files), link target, owner, mode, mtime."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(host_root):
        if Path(dirpath) == host_root and srv.name in dirnames:
            dirnames.remove(srv.name)
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = os.lstat(p)
            body = os.readlink(p) if p.is_symlink() else p.read_bytes() if stat.S_ISREG(st.st_mode) else None
            out[str(p.relative_to(host_root))] = (body, _stat(p)[:4])
    return out


def _build_tree(host_root: Path, user: LocalUser) -> dict:
    """A fresh tree: victims and an attacker folder outside the scan root, one attacker app folder per case."""
    subprocess.run(["rm", "-rf", str(host_root / "srv"), str(host_root / "victims"), str(host_root / "outside")],
                   check=True)
    victims = host_root / "victims"
    victims.mkdir(mode=0o755)
    victim = victims / "shadow"
    victim.write_text(f"root:{MARK}SHADOW:19000:0:99999:7:::\n")
    victim_pkg = victims / "package.json"
    victim_pkg.write_text(json.dumps({"name": "victim", "scripts": {"start": f"node {MARK}PKG.js"}}))
    victim_df = victims / "Dockerfile"
    victim_df.write_text(DOCKERFILE)
    for v in (victim, victim_pkg, victim_df):
        os.chown(v, 0, 0)
        os.chmod(v, 0o644 if v == victim_df else 0o600)
    outside = host_root / "outside"     # the attacker's own folder outside the scan root (identical copy)
    outside.mkdir()
    (outside / "Dockerfile").write_text(DOCKERFILE)
    (outside / "package.json").write_text(PACKAGE)
    srv = host_root / "srv"
    srv.mkdir(mode=0o755)
    apps = {}
    for case in CASES:
        app = srv / _slug(case) / "app"
        app.mkdir(parents=True)
        (app / "Dockerfile").write_text(DOCKERFILE)
        (app / "package.json").write_text(PACKAGE)
        apps[case] = app
    for p in [outside, *outside.iterdir(), *(q for a in apps.values() for q in (a.parent, a, *a.iterdir()))]:
        os.chown(p, user.uid, user.gid)
    script = ["set -e"]
    for case, (shell, _status, _why) in CASES.items():
        app = apps[case]
        cmd = shell.format(victim=shlex.quote(str(victim)), victim_pkg=shlex.quote(str(victim_pkg)),
                           victim_df=shlex.quote(str(victim_df)),
                           outside=shlex.quote(str(outside)), nologin=shlex.quote(str(host_root / "nologin")))
        script.append(f"( cd {shlex.quote(str(app))} && {cmd} )")
    attack = host_root / "attack.sh"
    attack.write_text("\n".join(script) + "\n")
    return {"victim": victim, "victim_pkg": victim_pkg, "victim_df": victim_df, "outside": outside, "srv": srv,
            "apps": apps, "attack": attack,
            "victims_before": {v: (v.read_bytes(), _stat(v)[:4]) for v in (victim, victim_pkg, victim_df)},
            "outside_before": None}


def _run(host, inventory: Path, work: Path, user: LocalUser, check: bool) -> dict:
    tree = _build_tree(host.root, user)
    tree["outside_before"] = _outside_snapshot(host.root, tree["srv"])
    mode = "check" if check else "real"
    out = work / f"outcomes-{mode}"
    out.mkdir()
    playbook = work / "hostile-remediate.yml"
    playbook.write_text(PLAYBOOK)
    attack = ["setpriv", f"--reuid={user.uid}", f"--regid={user.gid}", "--clear-groups", "--",
              "/bin/sh", str(tree["attack"])]
    extra = {"refarch_scan_paths": [str(tree["srv"])], "refarch_evaluation_date": "2026-11-28",
             "refarch_remediation_outcomes_dir": str(out), "refarch_remediate_backup_dir": str(work / "backups"),
             "hostile_attack": attack}
    start = time.monotonic()
    proc = run_playbook(str(playbook), inventory, work, extra, args=["--check", "--diff", "-v"] if check else ["-v"],
                        timeout=600)
    tree["seconds"] = time.monotonic() - start
    tree["proc"] = proc
    files = list(out.glob("*.remediation.json"))
    tree["outcomes"] = {o["path"]: o for f in files for o in json.loads(f.read_text())["outcomes"]}
    tree["outside_after"] = _outside_snapshot(host.root, tree["srv"])
    tree["victims_after"] = {v: (v.read_bytes(), _stat(v)[:4])
                             for v in (tree["victim"], tree["victim_pkg"], tree["victim_df"])}
    tree["host_root"] = str(host.root)
    tree["nologin"] = os.path.lexists(host.root / "nologin")
    tree["files_after"] = {case: sorted(os.listdir(app)) if app.is_dir() and not app.is_symlink() else None
                           for case, app in tree["apps"].items()}
    tree["snapshots"] = {case: {n: (app / n).read_bytes() for n in ("Dockerfile", "package.json")
                                if (app / n).is_file() and not (app / n).is_symlink()}
                         for case, app in tree["apps"].items() if app.is_dir() and not app.is_symlink()}
    tree["scanned_copies"] = {case: (Path(f"{app}.scanned") / "Dockerfile").read_bytes()
                              for case, app in tree["apps"].items() if Path(f"{app}.scanned").is_dir()}
    return tree


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    if not shutil.which("setpriv"):
        pytest.skip("setpriv (util-linux) is needed to act as the unprivileged user")
    work = tmp_path_factory.mktemp("hostile-host")
    with root_estate("refarch-hostile-host-") as ssh:
        user = LocalUser(ssh.workdir / "attacker-home")
        try:
            host = ssh.add_host("web1")
            os.chmod(host.root.parent, 0o755)  # noqa: S103 - the attacker must reach its folders
            os.chmod(host.root, 0o755)  # noqa: S103
            inventory = ssh.write_inventory(work / "inventory.json")
            yield {"check": _run(host, inventory, work, user, check=True),
                   "real": _run(host, inventory, work, user, check=False),
                   "work": work, "user": user}
        finally:
            user.remove()


def _outcome(run: dict, case: str) -> dict:
    path = str(run["apps"][case] / "Dockerfile")
    return run["outcomes"].get(path) or {"status": "MISSING", "reason": f"no outcome for {path}"}


def test_runs_completed_without_hanging(host_case, runs):
    c = host_case("remediation on a hostile host: the check and real runs complete",
                  "both playbook runs end (timeout 600 s), every planted case has an outcome")
    for mode in ("check", "real"):
        run = runs[mode]
        proc = run["proc"]
        c.see(f"{mode}: rc={proc.returncode}, {len(run['outcomes'])} outcomes")
        assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
        assert "The unprivileged user plants" in proc.stdout
        missing = [case for case in CASES if _outcome(run, case)["status"] == "MISSING"]
        assert not missing, (missing, sorted(run["outcomes"]), proc.stdout[-4000:])


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_case(host_case, runs, case):
    _shell, status, why = CASES[case]
    expect = f"{status}{': ' + why if why else ''}"
    c = host_case(f"remediate as root: {case}",
                  f"check mode {'planned' if status == 'rewritten' else 'refused'}, real run {expect}; nothing "
                  "outside the scan root read, created, written, chowned or backed up; no hang")
    for mode in ("check", "real"):
        run = runs[mode]
        out = _outcome(run, case)
        want = ("planned" if status == "rewritten" else status) if mode == "check" else status
        reason = out.get("reason", "").replace(run["host_root"], "<host>")
        c.see(f"{mode}: {out['status']}" + (f" ({reason[:160]})" if reason else ""))
        assert out["status"] == want, out
        if why:
            assert why in out["reason"] and "nothing was written" in out["reason"], out["reason"]
        # nothing outside the scan root read (no victim content in any output), created, written or chowned
        text = run["proc"].stdout + run["proc"].stderr + json.dumps(run["outcomes"])
        assert MARK not in text, text[max(0, text.find(MARK) - 300):text.find(MARK) + 100]
        assert run["victims_after"] == run["victims_before"], "a root-only file outside the root was touched"
        assert not run["nologin"], "a file was created through the planted lock symlink"
        assert run["outside_after"] == run["outside_before"], "something outside the scan root changed"
        files = run["files_after"][case]
        if files is not None:
            assert not [n for n in files if n.endswith(".refarch.tmp")], files
        if status == "refused" or mode == "check":
            snap = run["snapshots"].get(case)
            if snap is not None and "Dockerfile" in snap:
                assert snap["Dockerfile"] == DOCKERFILE.encode(), f"{mode}: the Dockerfile was written"
            if files is not None:
                assert ".dockerignore" not in files or case.startswith(".dockerignore"), files
            scanned = run["scanned_copies"].get(case)
            if scanned is not None:
                assert scanned == DOCKERFILE.encode(), "the folder that was scanned was written through a swap"
        else:
            backup = Path(out["backup_file"])
            assert backup.parent == runs["work"] / "backups", backup
            assert backup.read_text() == DOCKERFILE
            owner = pwd.getpwuid(os.stat(backup).st_uid).pw_name
            assert owner == runs["user"].name, "the backup keeps the Dockerfile's owner (by descriptor)"
            assert run["snapshots"][case]["Dockerfile"] != DOCKERFILE.encode()
            c.see(f"backup in the private backup directory (owner {owner}), Dockerfile rewritten")
    if "hard link" in case:
        protected = Path("/proc/sys/fs/protected_hardlinks").read_text().strip() == "1"
        c.see("the kernel refused a hard link to the root-only file (protected_hardlinks=1): the attacker linked its "
              "own file from outside the root" if protected else "the attacker hard-linked the root-only file")
