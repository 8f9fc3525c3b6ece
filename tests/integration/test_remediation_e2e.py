"""Remediation end to end over real SSH with real podman builds (issue 5, "What it must show").

One sshd host on loopback whose root holds six small Node.js apps in different styles (npm start in shell
form as root, port 80, a single stage that runs ``npm ci``, an alpine base, a UBI-like base with USER 0 and
port 443, none with a .dockerignore) plus two apps for the failure paths. Each original image is built first
with ``podman build --isolation chroot --pull=never`` on the local base images (tests/images/make_base_images.sh),
then ``playbooks/remediate.yml`` runs with ``refarch_rebuild=true`` and ``refarch_image_map``:

* check mode first: every planned Dockerfile is in the diff, no file (bytes or mtime) and no image changes;
* the real run: every Dockerfile is rewritten, rebuilt, verified and promoted; the old image keeps the
  ``-refarch-previous`` tag; the rebuilt images' facts (``image_info`` logic on ``podman image inspect``) show a
  non-root user, no exposed port below 1024, a process that is not npm and exec form (NRA001/2/10/11), where the
  previous images did not; ``buildah run --isolation chroot`` of each new image with its own ENTRYPOINT+CMD and
  ``REFARCH_SMOKE=1`` starts server.js, which prints its uid: the non-root uid;
* a second run reports ``changed=0`` for the host;
* failures: a rewrite whose new .dockerignore hides a file a COPY needs (the rebuild fails) and a Dockerfile
  edited between scan and remediation both leave the Dockerfile byte-identical and report the reason; the
  failed rebuild's old image is kept and the .dockerignore it created is removed.

The NRA007 fix (install tini with apt-get in the build) is left out: builds here have no package mirror.
The evaluation date is pinned to 2025-06-01 so the Node.js 20 base images are supported LTS lines.
Images are tagged under ``localhost/refarch-e2e-test/`` and removed at teardown.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ansible_collections.refarch.containers.plugins.module_utils._image_facts import image_facts
from harness import REPO, run_playbook
from sshhosts import SshEstate

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PLAYBOOK = str(REPO / "playbooks" / "remediate.yml")
EVALUATION_DATE = "2025-06-01"
PREFIX = "localhost/refarch-e2e-test"
UBI_BASE = "registry.access.redhat.com/ubi9/nodejs-20"
UBI_PINNED = UBI_BASE + ":1"        # a pinned tag (NRA014) made locally from the UBI-like base
FIXES = ["NRA001", "NRA002", "NRA004", "NRA005", "NRA009", "NRA010", "NRA011", "NRA012", "NRA013", "NRA014"]
PRIVILEGED = 1024
TIMINGS: dict[str, float] = {}

SERVER_JS = """\
const http = require('http');
const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
if (process.env.REFARCH_SMOKE === '1') {
  console.log('REFARCH_SMOKE uid=' + uid + ' argv=' + JSON.stringify(process.argv.slice(1)));
  process.exit(0);
}
http.createServer((req, res) => res.end('ok ' + uid)).listen(Number(process.env.PORT || 3000));
"""


def _package_json(name: str) -> str:
    return json.dumps({"name": name, "version": "1.0.0", "private": True,
                       "scripts": {"start": "node server.js"}}, indent=2) + "\n"


def _package_lock(name: str) -> str:
    return json.dumps({"name": name, "version": "1.0.0", "lockfileVersion": 3, "requires": True,
                       "packages": {"": {"name": name, "version": "1.0.0"}}}, indent=2) + "\n"


# name -> Dockerfile. Each breaks several recommendations in its own way.
APPS = {
    "npm-start": (
        "# started through npm, in shell form, as root\n"
        "FROM node:20-bookworm-slim\n"
        "WORKDIR /app\n"
        "COPY . .\n"
        "EXPOSE 3000\n"
        "CMD npm start\n"),
    "port80": (
        "FROM node:20-bookworm-slim\n"
        "WORKDIR /usr/src/app\n"
        "COPY package.json package-lock.json ./\n"
        "COPY server.js ./\n"
        "ENV PORT=80\n"
        "EXPOSE 80\n"
        "CMD [\"node\", \"server.js\"]\n"),
    "single-stage": (
        "FROM node:20\n"
        "WORKDIR /app\n"
        "COPY . .\n"
        "RUN npm ci --omit=dev --no-audit --no-fund --no-update-notifier\n"
        "EXPOSE 3000\n"
        "CMD [\"npm\", \"run\", \"start\"]\n"),
    "alpine": (
        "FROM node:20-alpine\n"
        "WORKDIR /app\n"
        "COPY package.json server.js ./\n"
        "USER node\n"
        "ENV PORT=8080\n"
        "EXPOSE 8080\n"
        "ENTRYPOINT node server.js\n"),
    "ubi": (
        f"FROM {UBI_PINNED}\n"
        "COPY --chown=1001:0 package.json server.js ./\n"
        "USER 0\n"
        "ENV PORT=443\n"
        "EXPOSE 443\n"
        "CMD npm start\n"),
    "root-no-user": (
        "FROM node:22-bookworm-slim\n"
        "WORKDIR /srv/api\n"
        "COPY package*.json ./\n"
        "COPY server.js ./\n"
        "EXPOSE 3000\n"
        "ENTRYPOINT [\"node\"]\n"
        "CMD [\"server.js\"]\n"),
}
# Failure paths (a separate root, a separate run). The build reads a file under .cache that
# COPY . . brought in: the .dockerignore fix (which leaves alone what a COPY names, but cannot
# see what a RUN reads) excludes .cache, and the rebuild fails.
FAILING_BUILD = (
    "FROM node:20-bookworm-slim\n"
    "WORKDIR /app\n"
    "COPY . .\n"
    "RUN cat .cache/settings.json > settings.json\n"
    "EXPOSE 80\n"
    "CMD npm start\n")
EDITED = (
    "FROM node:20-bookworm-slim\n"
    "WORKDIR /app\n"
    "COPY . .\n"
    "CMD [\"npm\", \"start\"]\n")


def _run(argv: list[str], timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n"
                             f"{proc.stderr[-3000:]}")
    return proc


def _load_support():
    spec = importlib.util.spec_from_file_location("refarch_image_support_e2e", REPO / "tests" / "images" / "support.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def _write_app(directory: Path, name: str, dockerfile: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "server.js").write_text(SERVER_JS)
    (directory / "package.json").write_text(_package_json(name))
    (directory / "package-lock.json").write_text(_package_lock(name))
    (directory / "Dockerfile").write_text(dockerfile)


def _build(ref: str, context: Path) -> str:
    argv = ["podman", "build", "--isolation", "chroot", "--pull=never", "--quiet", "-t", ref,
            "-f", str(context / "Dockerfile"), str(context)]
    for _attempt in range(2):
        proc = _run(argv, check=False)
        # other tests remove images from the same storage: a cached layer can vanish under the build
        if proc.returncode == 0 or "not known" not in proc.stderr:
            break
    assert proc.returncode == 0, f"{' '.join(argv)} failed: {proc.stderr[-3000:]}"
    return _image_id(ref)


def _image_id(ref: str) -> str:
    proc = _run(["podman", "image", "inspect", "--format", "{{.Id}}", ref], check=False)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under root: (bytes, mtime_ns)."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            out[str(path.relative_to(root))] = (path.read_bytes(), path.stat().st_mtime_ns)
    return out


def _recap(stdout: str, host: str) -> dict[str, int]:
    match = re.search(rf"^{re.escape(host)}\s+:\s+(.*)$", stdout, re.MULTILINE)
    assert match, f"no PLAY RECAP line for {host}:\n{stdout[-3000:]}"
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1))}


def _outcomes(out_dir: Path, host: str) -> dict[str, dict]:
    data = json.loads((out_dir / f"{host}.remediation.json").read_text())
    return {Path(o["path"]).parent.name: o for o in data["outcomes"]}


def _image_facts(refs: list[str]) -> dict[str, dict]:
    """The collection's own image facts (the image_info module logic) for real `podman image inspect` output."""
    inspected = json.loads(_run(["podman", "image", "inspect", *refs]).stdout)
    return {ref: image_facts(doc, "podman") for ref, doc in zip(refs, inspected, strict=True)}


def _smoke(ref: str) -> tuple[int, str]:
    """buildah from + buildah run --isolation chroot of the image's own ENTRYPOINT+CMD with REFARCH_SMOKE=1."""
    config = json.loads(_run(["podman", "image", "inspect", "--format", "{{json .Config}}", ref]).stdout)
    argv = list(config.get("Entrypoint") or []) + list(config.get("Cmd") or [])
    assert argv, f"{ref} has neither ENTRYPOINT nor CMD"
    ctr = _run(["buildah", "from", "--pull=never", ref]).stdout.strip().splitlines()[-1]
    try:
        for _attempt in range(2):
            proc = _run(["buildah", "run", "--isolation", "chroot", "--env", "REFARCH_SMOKE=1", ctr, "--", *argv],
                        timeout=120, check=False)
            # buildah's chroot runner sometimes fails before the command starts ("Close_Fd sealing memfd copy:
            # Device or resource busy"): that is buildah's, not the image's; the command never ran, so run it again
            if proc.returncode == 0 or "sealing memfd" not in proc.stderr:
                break
    finally:
        _run(["buildah", "rm", ctr], check=False)
    output = proc.stdout + proc.stderr
    match = re.search(r"REFARCH_SMOKE uid=(\d+)", output)
    assert proc.returncode == 0 and match, \
        f"{ref}: {argv} did not start the app (rc {proc.returncode}): {output[-1500:]}"
    return int(match.group(1)), output


def _our_images() -> list[str]:
    """``repository:tag id`` of every image under PREFIX (other tests share this podman storage)."""
    out = _run(["podman", "images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]).stdout
    return sorted(line for line in out.splitlines() if line.startswith(PREFIX + "/"))


def _remove_images(prefix: str) -> None:
    refs = _run(["podman", "images", "--format", "{{.Repository}}:{{.Tag}}"], check=False).stdout.split()
    for ref in refs:
        if ref.startswith(prefix + "/"):
            _run(["podman", "rmi", "--force", ref], check=False)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """The SSH host, the apps, their original images, and the playbook runs (check, real, second)."""
    if os.geteuid() != 0:
        pytest.skip("the SSH estate logs in as root and podman builds need root: run the tests as root")
    for tool in ("podman", "buildah"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed")
    support = _load_support()
    support.require_base_images()
    created_ubi_tag = not _image_id(UBI_PINNED)
    if created_ubi_tag:
        _run(["podman", "tag", f"{UBI_BASE}:latest", UBI_PINNED])
    work = tmp_path_factory.mktemp("remediation")
    estate = SshEstate(work / "estate")
    try:
        host = estate.add_host("web1")
        inventory = estate.write_inventory(work / "inventory.json")
        apps_root = host.root / "srv"
        images, originals = {}, {}
        start = time.monotonic()
        for name, dockerfile in APPS.items():
            _write_app(apps_root / name, name, dockerfile)
            images[str(apps_root / name / "Dockerfile")] = f"{PREFIX}/{name}:1"
            originals[name] = _build(f"{PREFIX}/{name}:1", apps_root / name)
        TIMINGS["original_builds_s"] = time.monotonic() - start
        extra = {"refarch_scan_paths": [str(apps_root)], "refarch_report_dir": str(work / "report"),
                 "refarch_evaluation_date": EVALUATION_DATE, "refarch_fixes": FIXES, "refarch_rebuild": True,
                 "refarch_image_map": images, "refarch_remediation_outcomes_dir": str(work / "out"),
                 "refarch_remediate_backup_dir": str(work / "backups"), "refarch_start_probe_seconds": 2}
        (work / "out").mkdir()

        before_files = _snapshot(apps_root)
        before_images = _our_images()
        start = time.monotonic()
        check = run_playbook(PLAYBOOK, inventory, work, extra, args=["--check", "--diff"])
        TIMINGS["check_run_s"] = time.monotonic() - start
        check_outcomes = _outcomes(work / "out", "web1")
        after_check_files = _snapshot(apps_root)
        after_check_images = _our_images()

        start = time.monotonic()
        real = run_playbook(PLAYBOOK, inventory, work, extra)
        TIMINGS["remediation_run_s"] = time.monotonic() - start
        real_outcomes = _outcomes(work / "out", "web1")
        report_path = work / "report" / "report.json"
        real_report = json.loads(report_path.read_text()) if report_path.is_file() else None
        for name, outcome in real_outcomes.items():
            print(f"\n{name}: {outcome['status']} {outcome['rules_fixed']} {outcome['reason']} {outcome['note']}")
        after_real_files = _snapshot(apps_root)

        start = time.monotonic()
        second = run_playbook(PLAYBOOK, inventory, work, extra)
        TIMINGS["second_run_s"] = time.monotonic() - start
        second_outcomes = _outcomes(work / "out", "web1")
        after_second_files = _snapshot(apps_root)
        yield {
            "estate": estate, "host": host, "inventory": inventory, "work": work, "apps_root": apps_root,
            "images": images, "originals": originals, "check": check, "real": real, "second": second,
            "check_outcomes": check_outcomes, "real_outcomes": real_outcomes, "second_outcomes": second_outcomes,
            "real_report": real_report,
            "before_files": before_files, "after_check_files": after_check_files, "after_real_files": after_real_files,
            "after_second_files": after_second_files, "before_images": before_images,
            "after_check_images": after_check_images,
        }
    finally:
        estate.stop()
        _remove_images(PREFIX)
        if created_ubi_tag:
            _run(["podman", "untag", UBI_PINNED, UBI_PINNED], check=False)  # that name only, not the base
        print("\nremediation e2e timings: " + " ".join(f"{k}={v:.1f}" for k, v in TIMINGS.items()))


def test_check_mode_shows_every_planned_diff_and_writes_nothing(lab):
    check = lab["check"]
    assert check.returncode == 0, check.stdout[-4000:] + check.stderr[-2000:]
    assert lab["after_check_files"] == lab["before_files"], "check mode changed a file (bytes or mtime)"
    assert lab["after_check_images"] == lab["before_images"], "check mode built or removed an image"
    outcomes = lab["check_outcomes"]
    assert set(outcomes) == set(APPS)
    assert {o["status"] for o in outcomes.values()} == {"planned"}, outcomes
    for name in APPS:
        path = str(lab["apps_root"] / name / "Dockerfile")
        assert f"before: {path}" in check.stdout and f"after: {path} (remediated)" in check.stdout, name
    # the planned content is in the diff: the npm start in shell form becomes an exec-form node command
    assert '+CMD ["node", "server.js"]' in check.stdout
    assert "-CMD npm start" in check.stdout
    assert "+EXPOSE 8080" in check.stdout and "+EXPOSE 8443" in check.stdout


def test_every_dockerfile_is_rewritten_rebuilt_and_promoted(lab):
    real = lab["real"]
    assert real.returncode == 0, real.stdout[-4000:] + real.stderr[-2000:]
    outcomes = lab["real_outcomes"]
    assert set(outcomes) == set(APPS)
    for name, outcome in outcomes.items():
        assert outcome["status"] == "promoted", (name, outcome["reason"], outcome)
        assert outcome["reason"] == ""
        assert outcome["rebuild"]["restored"] is False
        assert outcome["rebuild"]["verdict"]["passed"] is True
        # built from the current context and started (the start probe) before it was promoted
        assert outcome["verified"] is True and outcome["rebuild"]["start_probe"]["passed"] is True, outcome
        # what the bundle cannot check on an image is said, never passed silently
        verdict = outcome["rebuild"]["verdict"]
        assert sorted(verdict["verified_by_image"] + verdict["not_verified_by_image"]) == sorted(outcome["rules_fixed"])
        if verdict["not_verified_by_image"]:
            assert "not checked by image" in outcome["note"]
        path = lab["apps_root"] / name / "Dockerfile"
        assert path.read_text() != APPS[name]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == outcome["sha256_after"]
        assert Path(outcome["backup_file"]).read_text() == APPS[name], "the backup must hold the original"
        assert (lab["apps_root"] / name / ".dockerignore").exists(), "NRA004: a .dockerignore is created"
        ref = lab["images"][str(path)]
        new_id = _image_id(ref)
        assert new_id and new_id != lab["originals"][name], f"{ref} still points at the original image"
        assert _image_id(outcome["rebuild"]["previous"]) == lab["originals"][name], "the old image lost its tag"
    fixed = {name: set(o["rules_fixed"]) for name, o in outcomes.items()}
    assert {"NRA010", "NRA011", "NRA001"} <= fixed["npm-start"]
    assert {"NRA002", "NRA001"} <= fixed["port80"]
    # Alpine is kept by default (NRA012 asks to leave it; a change of C library is the user's opt-in):
    # not claimed, and the base-image fix says why
    assert "NRA012" not in fixed["alpine"]
    assert "NRA012" in {n["rule_id"] for n in outcomes["alpine"]["not_fixed"]}
    base_fix = {e["fix"]: e for e in outcomes["alpine"]["fix_status"]}["replace_base_image"]
    assert base_fix["status"] in ("skipped", "partly_applied") and "libc_change" in base_fix["reason"], base_fix
    assert {"NRA001", "NRA002", "NRA010", "NRA011"} <= fixed["ubi"]
    for name in ("port80", "ubi"):   # the apps that read PORT: the variable and EXPOSE move together
        status = {e["fix"]: e for e in outcomes[name]["fix_status"]}["remap_privileged_ports"]
        assert status["status"] == "applied" and "reads process.env.PORT" in status["precondition"], status


def test_the_estate_report_says_what_remediation_did(lab):
    """report.json of the remediation run: each Dockerfile's outcome beside the re-scanned findings."""
    report = lab["real_report"]
    assert report is not None, "the remediation run wrote no report.json"
    entries = {Path(e["path"]).parent.name: e for e in report["hosts"]["web1"]["remediation"]}
    assert set(entries) == set(APPS)
    for name, outcome in lab["real_outcomes"].items():
        entry = entries[name]
        assert entry["status"] == outcome["status"] == "promoted"
        assert entry["rebuild"] == "promoted"
        assert entry["verified"] is True and outcome["verified"] is True  # built from this context and started
        assert entry["rules_fixed"] == sorted(set(outcome["rules_fixed"]))
        assert {f["fix"]: f["status"] for f in entry["fix_status"]} == {
            f["fix"]: f["status"] for f in outcome["fix_status"]}
        assert entry["sha256_after"] == outcome["sha256_after"]
    counts = report["summary"]["remediation"]
    assert counts["dockerfiles"] == len(APPS) and counts["by_status"]["promoted"] == len(APPS)
    assert counts["rules_fixed"] == sum(len(set(o["rules_fixed"])) for o in lab["real_outcomes"].values())
    html = (lab["work"] / "report" / "report.html").read_text()
    assert 'id="remediation"' in html


def _assert_image_complies(facts: dict) -> None:
    assert facts["error"] is None, facts["error"]
    assert facts["user"]["is_root"] is False, facts["user"]                                   # NRA001
    assert all(p["port"] >= PRIVILEGED for p in facts["exposed_ports"]), facts["exposed_ports"]  # NRA002
    command = facts["process"]["command"] or facts["process"]["argv"]
    assert Path(command[0]).name not in ("npm", "yarn", "pnpm", "npx"), facts["process"]     # NRA010
    assert facts["process"]["form"] == "exec", facts["process"]                              # NRA011


def _violates(facts: dict) -> set[str]:
    out = set()
    if facts["user"]["is_root"]:
        out.add("NRA001")
    if any(p["port"] < PRIVILEGED for p in facts["exposed_ports"]):
        out.add("NRA002")
    command = facts["process"]["command"] or facts["process"]["argv"]
    if Path(command[0]).name in ("npm", "yarn", "pnpm", "npx"):
        out.add("NRA010")
    if facts["process"]["form"] != "exec":
        out.add("NRA011")
    return out


def test_rebuilt_images_pass_nra001_002_010_011_when_inspected(lab):
    outcomes = lab["real_outcomes"]
    refs = [lab["images"][str(lab["apps_root"] / name / "Dockerfile")] for name in APPS]
    previous = [outcomes[name]["rebuild"]["previous"] for name in APPS]
    new_facts = _image_facts(refs)
    old_facts = _image_facts(previous)
    for name, ref, prev in zip(APPS, refs, previous, strict=True):
        _assert_image_complies(new_facts[ref])
        assert new_facts[ref]["dockerfile"]["path"] == str(lab["apps_root"] / name / "Dockerfile")
        assert _violates(old_facts[prev]), f"{name}: the original image already complied, the test proves nothing"
    # the originals broke these rules, so the checks above can fail
    union = set().union(*(_violates(f) for f in old_facts.values()))
    assert {"NRA001", "NRA002", "NRA010", "NRA011"} <= union


def test_rebuilt_images_start_the_app_as_the_non_root_user(lab):
    start = time.monotonic()
    for name in APPS:
        ref = lab["images"][str(lab["apps_root"] / name / "Dockerfile")]
        uid, output = _smoke(ref)
        assert uid != 0, f"{name}: the rebuilt image runs the app as root: {output}"
        expected = 1001 if name == "ubi" else 1000
        assert uid == expected, f"{name}: uid {uid}, expected {expected}: {output}"
    TIMINGS["smoke_runs_s"] = time.monotonic() - start
    # and the original npm-start image did run as root (the smoke test tells the difference)
    uid, dummy = _smoke(lab["real_outcomes"]["npm-start"]["rebuild"]["previous"])
    assert uid == 0


def test_second_run_reports_no_change(lab):
    second = lab["second"]
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-2000:]
    assert _recap(second.stdout, "web1")["changed"] == 0, second.stdout[-4000:]
    assert all(o["status"] == "unchanged" for o in lab["second_outcomes"].values()), lab["second_outcomes"]
    assert lab["after_second_files"] == lab["after_real_files"], "the second run changed a file"
    # backups go to the private backup directory, never into the build context (COPY . . would ship them)
    assert not any(name.endswith("~") for name in lab["after_real_files"]), sorted(lab["after_real_files"])
    backups = sorted(p.name for p in (lab["work"] / "backups").iterdir())
    assert any("npm-start%Dockerfile." in name for name in backups), backups
    assert all(o["path"].endswith("/Dockerfile") for o in lab["second_outcomes"].values())


EDIT_PLAYBOOK = """\
- name: Scan (discover and evaluate)
  hosts: all
  gather_facts: false
  roles:
    - role: refarch.containers.discover
    - role: refarch.containers.evaluate
  tasks:
    - name: Someone edits a Dockerfile after the scan
      ansible.builtin.lineinfile:
        path: "{{ refarch_edited_dockerfile }}"
        line: "LABEL edited-after-scan=true"

- name: Remediate with the findings of that scan
  hosts: all
  gather_facts: false
  roles:
    - role: refarch.containers.remediate
"""


def test_failed_build_and_edited_file_leave_the_dockerfile_byte_identical(lab):
    work, root = lab["work"], lab["host"].root / "failing"
    build_dir, edited_dir = root / "failing-build", root / "edited"
    _write_app(build_dir, "failing-build", FAILING_BUILD)
    (build_dir / ".cache").mkdir()
    (build_dir / ".cache" / "settings.json").write_text('{"greeting": "hello"}\n')
    _write_app(edited_dir, "edited", EDITED)
    build_ref, edited_ref = f"{PREFIX}/failing-build:1", f"{PREFIX}/edited:1"
    build_old, edited_old = _build(build_ref, build_dir), _build(edited_ref, edited_dir)
    edited_path = edited_dir / "Dockerfile"
    playbook = work / "edit-between.yml"
    playbook.write_text(EDIT_PLAYBOOK)
    out = work / "out-failing"
    out.mkdir()
    extra = {"refarch_scan_paths": [str(root)], "refarch_report_dir": str(work / "report-failing"),
             "refarch_evaluation_date": EVALUATION_DATE, "refarch_fixes": FIXES, "refarch_rebuild": True,
             "refarch_image_map": {str(build_dir / "Dockerfile"): build_ref, str(edited_path): edited_ref},
             "refarch_remediation_outcomes_dir": str(out), "refarch_edited_dockerfile": str(edited_path),
             "refarch_remediate_backup_dir": str(work / "backups")}
    start = time.monotonic()
    proc = run_playbook(str(playbook), lab["inventory"], work, extra)
    TIMINGS["failure_run_s"] = time.monotonic() - start
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    outcomes = _outcomes(out, "web1")

    failed = outcomes["failing-build"]
    assert failed["status"] == "rolled_back", failed
    assert "build of" in failed["reason"] and ".cache/settings.json" in failed["reason"], failed["reason"]
    assert failed["rebuild"]["restored"] is True
    assert (build_dir / "Dockerfile").read_bytes() == FAILING_BUILD.encode(), "Dockerfile not restored byte for byte"
    assert not (build_dir / ".dockerignore").exists(), "the .dockerignore the remediation created must go"
    assert _image_id(build_ref) == build_old, "the old image must be kept"
    assert not _image_id(failed["rebuild"]["candidate"]), "the failed candidate must be discarded"

    edited = outcomes["edited"]
    assert edited["status"] == "refused", edited
    assert "changed since it was scanned" in edited["reason"], edited["reason"]
    assert edited_path.read_bytes() == (EDITED + "LABEL edited-after-scan=true\n").encode()
    assert not (edited_dir / ".dockerignore").exists()
    assert _image_id(edited_ref) == edited_old
    assert not list(edited_dir.glob("Dockerfile.*~")), "nothing (not even a backup) is written for a refused file"
