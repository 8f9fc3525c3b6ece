"""Fixes a reviewer merges, on six app styles (issue 16: "What it must show", the e2e test).

Over real SSH (one sshd on loopback), ``playbooks/remediate.yml`` with ``refarch_rebuild=true``, real podman builds
and the real start probe (``buildah run --isolation chroot`` in a network namespace of its own). Three runs:

* run 1 - the remediate playbook over six apps: one whose server reads ``PORT`` (and writes into its WORKDIR at
  start), one that hard-codes port 80, one on ``node:20-alpine`` started with ``npm start``, a multi-stage
  TypeScript build, an ``npm start`` app with a shell-form ``CMD``, and one that writes into its WORKDIR and a
  declared ``VOLUME`` at start. Each is rewritten, rebuilt, started and promoted. Backups go to the configured
  backup directory, outside every build context.
* run 2 - one small playbook: each promoted image is started again (``image_start_probe``: uid, ports), and the
  ``npm start`` app's Dockerfile is put back from its backup with ``dockerfile_restore`` (the documented restore).
* run 3 - only that app's source changes; remediating it again promotes an image holding the new source.

Checked: each promoted image runs as the uid its ``USER`` names (1000; root only for the hard-coded-port app, whose
non-root fix declines) and listens on its port; no backup, lock, temporary or ignore file of the remediation is
among the image's files (every file of the image is listed); the hard-coded-port app reports NRA002 and
``add_non_root_user`` skipped with the reason and is still rebuilt and promoted for the other rules; every rule a
fix claims is gone from the re-scanned Dockerfile (claims true, whatever the exact fix list).

The TypeScript app compiles with a small type-stripping script standing in for ``tsc`` (no npm registry is
reachable from the builds here). Images live under ``localhost/refarch-e2e-styles-<pid>/``, removed at teardown.
"""
from __future__ import annotations

import functools
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))

from harness import run_playbook  # noqa: E402
from sshhosts import SshEstate  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PLAYBOOK = str(REPO / "playbooks" / "remediate.yml")
EVALUATION_DATE = "2025-06-01"
PREFIX = f"localhost/refarch-e2e-styles-{os.getpid()}"
# NRA007 (init process) would install tini from a package mirror inside the build: left out here
FIXES = ["NRA001", "NRA002", "NRA004", "NRA005", "NRA009", "NRA010", "NRA011", "NRA012", "NRA013", "NRA014"]
TIMINGS: dict[str, float] = {}

PKG = {"name": "app", "version": "1.0.0", "private": True, "scripts": {"start": "node server.js"}}
WRITES_WORKDIR = "require('fs').writeFileSync('started.txt', String(process.pid));   // into its WORKDIR\n"

APPS: dict[str, dict[str, str]] = {
    "reads-port": {
        "Dockerfile": "FROM node:20-bookworm-slim\nWORKDIR /app\nCOPY . .\nEXPOSE 80\nCMD [\"node\", \"server.js\"]\n",
        "server.js": WRITES_WORKDIR + "const port = Number(process.env.PORT || 80);\n"
                                      "require('http').createServer((q, r) => r.end('ok')).listen(port);\n",
    },
    "hard-coded-80": {
        "Dockerfile": "FROM node:20-bookworm-slim\nWORKDIR /app\nCOPY . .\nEXPOSE 80\nCMD node server.js\n",
        "server.js": "const port = 80;\nrequire('http').createServer((q, r) => r.end('ok')).listen(port);\n",
    },
    "alpine": {
        "Dockerfile": "FROM node:20-alpine\nWORKDIR /usr/src/app\nCOPY . .\nEXPOSE 3000\nCMD [\"npm\", \"start\"]\n",
        "server.js": WRITES_WORKDIR + "require('http').createServer((q, r) => r.end('ok'))"
                                      ".listen(process.env.PORT || 3000);\n",
    },
    "multi-stage-ts": {
        "Dockerfile": ("FROM node:20 AS build\nWORKDIR /src\nCOPY package.json tsconfig.json build.js ./\n"
                       "COPY src ./src\nRUN npm run build\n"
                       "FROM node:20-bookworm-slim\nWORKDIR /app\nCOPY --from=build /src/package.json ./\n"
                       "COPY --from=build /src/dist ./dist\nEXPOSE 3000\nCMD [\"node\", \"dist/main.js\"]\n"),
        "src/main.ts": ("import * as http from 'http';\n"
                        "const port: number = Number(process.env.PORT ?? 3000);\n"
                        "http.createServer((q: http.IncomingMessage, r: http.ServerResponse) => r.end('ok'))"
                        ".listen(port);\n"),
        "tsconfig.json": '{"compilerOptions": {"outDir": "dist", "rootDir": "src", "module": "commonjs"}}\n',
        # a stand-in for tsc: strips the type annotations and turns the import into a require
        "build.js": ("const fs = require('fs');\nlet src = fs.readFileSync('src/main.ts', 'utf8');\n"
                     "src = src.replace(/^import \\* as (\\w+) from '([^']+)';/mg, \"const $1 = require('$2');\")\n"
                     "  .replace(/(\\w+)\\s*:\\s*[\\w.]+(?=\\s*[=,)])/g, '$1');\n"
                     "fs.mkdirSync('dist', {recursive: true});\nfs.writeFileSync('dist/main.js', src);\n"),
        "package.json": json.dumps(dict(PKG, scripts={"build": "node build.js", "start": "node dist/main.js"})),
    },
    "npm-start": {
        "Dockerfile": "FROM node:20-bookworm-slim\nWORKDIR /app\nCOPY . .\nEXPOSE 3000\nCMD npm start\n",
        "server.js": "// source version 1\nrequire('http').createServer((q, r) => r.end('ok'))"
                     ".listen(process.env.PORT || 3000);\n",
    },
    "writes-volume": {
        "Dockerfile": ("FROM node:20-bookworm-slim\nWORKDIR /srv/app\nCOPY . .\nVOLUME /srv/data\nEXPOSE 3000\n"
                       "CMD [\"node\", \"server.js\"]\n"),
        "server.js": (WRITES_WORKDIR + "require('fs').writeFileSync('/srv/data/started.txt', 'up');   // its VOLUME\n"
                      "require('http').createServer((q, r) => r.end('ok')).listen(process.env.PORT || 3000);\n"),
    },
}
EXPECTED = {  # uid the promoted image runs as, and the port it listens on
    "reads-port": (1000, "8080/tcp"), "hard-coded-80": (0, "80/tcp"), "alpine": (1000, "3000/tcp"),
    "multi-stage-ts": (1000, "3000/tcp"), "npm-start": (1000, "3000/tcp"), "writes-volume": (1000, "3000/tcp"),
}
APP_DIRS = {"reads-port": "/app", "hard-coded-80": "/app", "alpine": "/usr/src/app", "multi-stage-ts": "/app",
            "npm-start": "/app", "writes-volume": "/srv/app"}


def _run(argv: list[str], check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc


def _image_id(ref: str) -> str:
    return _load_support().image_id(ref)


def _image_files(ref: str, read: str | None = None) -> tuple:
    """(every path of the image's root filesystem, the text of ``read`` or None), from ``buildah mount``."""
    ctr = _run(["buildah", "from", "--pull=never", ref]).stdout.strip().splitlines()[-1]
    try:
        mount = Path(_run(["buildah", "mount", ctr]).stdout.strip())
        paths = []
        for top, dirs, files in os.walk(mount):
            rel = os.path.relpath(top, mount)
            rel = "/" if rel == "." else "/" + rel
            paths += [os.path.join(rel, name) for name in dirs + files]
        text = (mount / read.lstrip("/")).read_text() if read else None
        return paths, text
    finally:
        _run(["buildah", "umount", ctr], check=False)
        _run(["buildah", "rm", ctr], check=False)


def _stray(paths: list[str], app_dir: str) -> list[str]:
    """Files the remediation could have left in an image: backups (``~``, ``%``-named), temporary files of its
    atomic writes, anything named after it, and in the app's directory lock files and the ignore file it writes
    (the base image's own ``/etc/.pwd.lock`` is not the remediation's)."""
    return [p for p in paths if p.endswith("~") or ".refarch.tmp" in p or "%" in os.path.basename(p)
            or "refarch" in os.path.basename(p) or p.endswith(".dockerignore")
            or (p.startswith(app_dir + "/") and p.endswith(".lock"))]


def _our_tags() -> list[str]:
    for _try in range(5):   # listing races with other jobs removing images on a busy host ("image not known")
        proc = _run(["podman", "images", "--format", "{{.Repository}}:{{.Tag}}"], check=False)
        if proc.returncode == 0:
            break
        time.sleep(2)
    else:
        raise AssertionError(f"podman images failed: {proc.stderr[-2000:]}")
    return sorted(ref for ref in proc.stdout.split() if ref.startswith(PREFIX + "/"))


def _outcomes(out_dir: Path) -> dict[str, dict]:
    data = json.loads((out_dir / "web1.remediation.json").read_text())
    return {Path(o["path"]).parent.name: o for o in data["outcomes"]}


def _rules_after(report_dir: Path) -> dict[str, set]:
    """Rule ids the run's report (the Dockerfiles re-scanned after the remediation) raises, per app."""
    report = json.loads((report_dir / "report.json").read_text())
    out: dict[str, set] = {}
    for target in report["hosts"]["web1"]["targets"]:
        if target.get("kind") == "dockerfile":
            out[Path(target["path"]).parent.name] = {f["rule_id"] for f in target.get("findings") or []
                                                     if not f.get("waived")}
    return out


def _write_app(directory: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if "package.json" not in files:
        (directory / "package.json").write_text(json.dumps(dict(PKG, name=directory.name)) + "\n")


@functools.cache
def _load_support():
    spec = importlib.util.spec_from_file_location("refarch_image_support_e2e_styles",
                                                  REPO / "tests" / "images" / "support.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def _probe_and_restore_playbook(path: Path, images: dict[str, str], restore: dict) -> None:
    """Run 2: start every promoted image once more, and put one Dockerfile back from its backup."""
    play = {"name": "Run the promoted images; restore one Dockerfile", "hosts": "web1", "gather_facts": False,
            "tasks": [
                {"name": "Start each promoted image", "refarch.containers.image_start_probe": {
                    "image": "{{ item.value }}", "seconds": 2,
                    "require_non_root": "{{ item.key != 'hard-coded-80' }}"},
                 "loop": "{{ probe_images | dict2items }}", "register": "probes", "failed_when": False},
                {"name": "Put the original Dockerfile back (the documented restore)",
                 "refarch.containers.dockerfile_restore": restore, "register": "restored"},
                {"name": "Keep the results", "ansible.builtin.copy": {
                    "content": "{{ {'probes': probes.results, 'restored': restored} | to_json }}",
                    "dest": "{{ results_file }}", "mode": "0600"}, "delegate_to": "localhost"},
            ]}
    path.write_text(yaml.safe_dump([play], sort_keys=False))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    _load_support().require_rebuild_lab()
    work = tmp_path_factory.mktemp("app-styles")
    estate = SshEstate(work / "estate")
    try:
        host = estate.add_host("web1")
        inventory = estate.write_inventory(work / "inventory.json")
        root = host.root / "srv"
        for name, files in APPS.items():
            _write_app(root / name, files)
        refs = {name: f"{PREFIX}/{name}:1" for name in APPS}
        backups = work / "backups"
        out1, out3 = work / "out1", work / "out3"
        out1.mkdir()
        out3.mkdir()
        extra = {"refarch_scan_paths": [str(root)], "refarch_report_dir": str(work / "report1"),
                 "refarch_evaluation_date": EVALUATION_DATE, "refarch_fixes": FIXES, "refarch_rebuild": True,
                 "refarch_image_map": {str(root / n / "Dockerfile"): r for n, r in refs.items()},
                 "refarch_remediate_backup_dir": str(backups), "refarch_start_probe_seconds": 2,
                 "refarch_allow_incomplete": True}

        start = time.monotonic()
        first = run_playbook(PLAYBOOK, inventory, work, dict(extra, refarch_remediation_outcomes_dir=str(out1)))
        TIMINGS["run1_s"] = time.monotonic() - start
        assert (out1 / "web1.remediation.json").is_file(), first.stdout[-4000:] + first.stderr[-2000:]
        outcomes1 = _outcomes(out1)
        for name, outcome in sorted(outcomes1.items()):
            print(f"\nrun 1 {name}: {outcome['status']} {outcome['reason'][:600]} | {outcome['note'][:300]}")
        seen = {"ids_1": {n: _image_id(r) for n, r in refs.items()}, "files_1": {}, "source_1": None,
                "dockerfiles_1": {n: (root / n / "Dockerfile").read_text() for n in APPS},
                "rules_after_1": _rules_after(work / "report1")}
        for name, ref in refs.items():
            if seen["ids_1"][name]:
                read = "/app/server.js" if name == "npm-start" else None
                seen["files_1"][name], text = _image_files(ref, read)
                seen["source_1"] = text if read else seen["source_1"]

        # run 2: every promoted image started again; the npm-start app's Dockerfile restored from its backup
        app = root / "npm-start"
        restore = {"path": str(app / "Dockerfile"), "backup_file": outcomes1["npm-start"]["backup_file"],
                   "backup_sha256": outcomes1["npm-start"]["sha256_before"], "root": str(root)}
        playbook2 = work / "probe-and-restore.yml"
        _probe_and_restore_playbook(playbook2, {n: r for n, r in refs.items() if seen["ids_1"][n]}, restore)
        results2 = work / "run2.json"
        start = time.monotonic()
        second = run_playbook(str(playbook2), inventory, work, {"probe_images": {n: r for n, r in refs.items()
                                                                                 if seen["ids_1"][n]},
                                                                "results_file": str(results2)})
        TIMINGS["run2_s"] = time.monotonic() - start
        assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-2000:]
        run2 = json.loads(results2.read_text())
        seen["restored_dockerfile"] = (app / "Dockerfile").read_text()

        # run 3: only the source changed since; remediating again promotes an image holding the new source
        (app / "server.js").write_text(APPS["npm-start"]["server.js"].replace("version 1", "version 2"))
        start = time.monotonic()
        third = run_playbook(PLAYBOOK, inventory, work, dict(extra, refarch_remediation_outcomes_dir=str(out3),
                                                             refarch_report_dir=str(work / "report3"),
                                                             refarch_scan_paths=[str(app)]))
        TIMINGS["run3_s"] = time.monotonic() - start
        assert (out3 / "web1.remediation.json").is_file(), third.stdout[-4000:] + third.stderr[-2000:]
        seen["id_3"] = _image_id(refs["npm-start"])
        _paths, seen["source_3"] = _image_files(refs["npm-start"], "/app/server.js")
        yield {"first": first, "outcomes1": outcomes1, "run2": run2, "outcomes3": _outcomes(out3), "seen": seen,
               "root": root, "backups": backups, "refs": refs, "tags_left": [t for t in _our_tags() if "-refarch-"
                                                                             in t and "previous" not in t]}
    finally:
        estate.stop()
        for ref in _our_tags():
            _run(["podman", "rmi", "--force", ref], check=False)
        print("\napp-styles e2e timings: " + " ".join(f"{k}={v:.1f}" for k, v in TIMINGS.items()))


def test_every_app_style_is_rebuilt_started_and_promoted(runs):
    for name in APPS:
        outcome = runs["outcomes1"][name]
        assert outcome["status"] == "promoted" and outcome["verified"] is True, (name, outcome["reason"], outcome)
        probe = outcome["rebuild"]["start_probe"]
        uid, port = EXPECTED[name]
        assert probe["passed"] is True and probe["uids"] == [uid], (name, probe)
        assert probe["ports_listening"] == [port], (name, probe)
        assert runs["seen"]["ids_1"][name], name
    assert runs["tags_left"] == [], runs["tags_left"]


def test_each_promoted_image_runs_as_its_user_and_listens_on_its_port(runs):
    probes = {r["item"]["key"]: r for r in runs["run2"]["probes"]}
    assert sorted(probes) == sorted(APPS)
    for name, probe in probes.items():
        uid, port = EXPECTED[name]
        assert probe["passed"] is True, (name, probe.get("reason"), probe.get("output"))
        assert probe["uids"] == [uid] and probe["ports_listening"] == [port], (name, probe)
        assert probe["started"] is True and probe["exit_code"] is None, (name, probe)


def test_no_backup_lock_or_remediation_file_is_in_any_image(runs):
    backups = runs["backups"]
    for name in APPS:
        paths = runs["seen"]["files_1"][name]
        app_dir = APP_DIRS[name]
        assert any(p.startswith(app_dir + "/") for p in paths), (name, "the listing must see the app's files")
        assert _stray(paths, app_dir) == [], (name, _stray(paths, app_dir))
        outcome = runs["outcomes1"][name]
        backup = Path(outcome["backup_file"])
        # the backup is in the configured directory, outside the build context, and holds the original
        assert backup.parent == backups and backup.is_file(), outcome["backup_file"]
        assert backup.read_text() == APPS[name]["Dockerfile"]
        assert not str(backup).startswith(str(runs["root"]) + "/")
        # the .dockerignore the remediation wrote excludes its own files
        ignore = (runs["root"] / name / ".dockerignore").read_text().split()
        assert ".dockerignore" in ignore and "*.refarch.tmp" in ignore, (name, ignore)
    assert oct(backups.stat().st_mode & 0o777) == "0o700"
    # the writing apps could write where they run: their WORKDIR (and VOLUME) belong to the runtime user
    for name, workdir in (("reads-port", "/app"), ("writes-volume", "/srv/app"), ("alpine", "/usr/src/app")):
        assert f"RUN chown 1000:1000 {workdir}" in runs["seen"]["dockerfiles_1"][name] or \
            f"chown 1000:1000 {workdir} " in runs["seen"]["dockerfiles_1"][name], runs["seen"]["dockerfiles_1"][name]
    assert "mkdir -p /srv/data && chown 1000:1000 /srv/app /srv/data" in runs["seen"]["dockerfiles_1"]["writes-volume"]


def test_the_hard_coded_port_app_declines_nra002_and_the_user_but_is_rebuilt_for_the_rest(runs):
    outcome = runs["outcomes1"]["hard-coded-80"]
    status = {e["fix"]: e for e in outcome["fix_status"]}
    port, user = status["remap_privileged_ports"], status["add_non_root_user"]
    assert (port["status"], port["claims"]) == ("skipped", []), port
    assert "server.js line 1 listens on port 80 (hard-coded)" in port["reason"], port
    assert (user["status"], user["claims"]) == ("skipped", []), user
    assert user["reason"].startswith("the application binds privileged port 80 itself (server.js line 1)"), user
    not_fixed = {e["rule_id"] for e in outcome["not_fixed"]}
    assert {"NRA001", "NRA002"} <= not_fixed, outcome["not_fixed"]
    assert "NRA011" in outcome["rules_fixed"], outcome          # the shell-form CMD became exec form
    assert outcome["status"] == "promoted", outcome
    assert runs["seen"]["ids_1"]["hard-coded-80"], "rebuilt and promoted for the other rules"
    assert "EXPOSE 80\n" in runs["seen"]["dockerfiles_1"]["hard-coded-80"]


def test_every_claim_is_true_on_the_rescanned_dockerfile(runs):
    after = runs["seen"]["rules_after_1"]
    assert sorted(after) == sorted(APPS), after
    reads_port = {e["fix"]: e for e in runs["outcomes1"]["reads-port"]["fix_status"]}
    assert reads_port["remap_privileged_ports"]["status"] == "applied", reads_port   # through PORT
    assert "ENV PORT=8080" in runs["seen"]["dockerfiles_1"]["reads-port"]
    for name in APPS:
        outcome = runs["outcomes1"][name]
        claimed = {r for e in outcome["fix_status"] if e["status"] in ("applied", "partly_applied")
                   for r in e["claims"]}
        assert claimed, (name, outcome["fix_status"])
        assert not claimed & after[name], (name, claimed & after[name], outcome["fix_status"])
        assert set(outcome["rules_fixed"]) <= claimed and not set(outcome["rules_fixed"]) & after[name], name


def test_a_source_only_change_is_promoted_after_the_documented_restore(runs):
    assert runs["run2"]["restored"]["sha256"] == runs["outcomes1"]["npm-start"]["sha256_before"]
    assert runs["seen"]["restored_dockerfile"] == APPS["npm-start"]["Dockerfile"]
    outcome = runs["outcomes3"]["npm-start"]
    assert outcome["status"] == "promoted" and outcome["verified"] is True, outcome
    assert outcome["sha256_after"] == runs["outcomes1"]["npm-start"]["sha256_after"]     # the same rewrite
    assert "// source version 1" in runs["seen"]["source_1"]
    assert "// source version 2" in runs["seen"]["source_3"], runs["seen"]["source_3"][:200]
    assert runs["seen"]["id_3"] != runs["seen"]["ids_1"]["npm-start"]
