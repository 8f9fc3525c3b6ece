"""A rebuild that runs out of time: image_build's timeout and the rebuild role's rollback.

Real podman (``--isolation chroot --pull=never``) builds a Dockerfile whose
RUN step sleeps far longer than the build timeout. The module must fail within
the bound, say it timed out, leave no build process behind and no candidate
image; the rebuild role must restore the original Dockerfile from its backup
(byte-identical) and keep the old image under its tag.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.refarch.containers.plugins.modules import image_build, image_start_probe

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "hostile"))

from playrun import run_playbook  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.slow]
BASE = "localhost/refarch-faults/base:1"   # a tiny rootfs made here: /bin/sh and sleep with their libraries
ORIGINAL = f"FROM {BASE}\nCMD [\"/bin/sleep\", \"1\"]\n"
SLEEP = "617.25"          # an unusual duration, to find leftover processes by their command line
REMEDIATED = f"FROM {BASE}\nRUN sleep {SLEEP}\nUSER 1000\nCMD [\"/bin/sleep\", \"1\"]\n"


def _make_base(podman: str, tmp: Path) -> None:
    """Import a minimal rootfs (dash, sleep and the libraries ldd names) as BASE."""
    root = tmp / "rootfs"
    for binary in ("/bin/sh", "/bin/sleep"):
        real = Path(os.path.realpath(binary))
        files = {real}
        ldd = subprocess.run(["ldd", str(real)], capture_output=True, text=True, check=False).stdout
        for word in ldd.split():
            if word.startswith("/"):
                files.add(Path(word))
        for f in files:
            dest = root / str(f).lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(os.path.realpath(f), dest)
        link = root / binary.lstrip("/")
        if not link.exists():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(real)
    for lib in ("lib64", "lib"):
        (root / lib).mkdir(exist_ok=True)
    tar = tmp / "rootfs.tar"
    subprocess.run(["tar", "-C", str(root), "-cf", str(tar), "."], check=True)
    subprocess.run([podman, "import", str(tar), BASE], check=True, capture_output=True)


@pytest.fixture(scope="module")
def podman(tmp_path_factory) -> str:
    exe = shutil.which("podman")
    if not exe or os.geteuid() != 0:
        pytest.skip("needs podman and root")
    if subprocess.run([exe, "image", "exists", BASE], check=False).returncode != 0:
        _make_base(exe, tmp_path_factory.mktemp("base"))
    return exe


def _sleepers() -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if f"sleep {SLEEP}".encode() in cmd:
                found.append(int(entry))
    return found


def _kill_sleepers() -> None:
    for pid in _sleepers():
        try:
            os.kill(pid, 9)
        except OSError:
            pass


PLAY = """---
- name: Rebuild with a build that times out
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Rebuild role
      ansible.builtin.include_role:
        name: refarch.containers.rebuild
      vars:
        rebuild_dockerfile: "{dockerfile}"
        rebuild_image: "{image}"
        rebuild_backup: "{backup}"
        rebuild_original_sha256: "{sha}"
        refarch_build_timeout: 2
        refarch_build_poll: 1
        refarch_build_engine: podman
        refarch_build_force: true
    - name: Save the outcome
      ansible.builtin.copy:
        content: "{{{{ rebuild_outcome | to_json }}}}"
        dest: "{outcome}"
        mode: "0644"
"""


def test_image_build_timeout(case, podman, tmp_path, capsys):
    c = case("image_build timeout=2 on a RUN that sleeps",
             "fails within the bound saying it timed out; no build process left; no candidate image")
    app = tmp_path / "app"
    app.mkdir()
    (app / "Dockerfile").write_text(REMEDIATED)
    start = time.monotonic()
    try:
        with patch_module_args({"dockerfile": str(app / "Dockerfile"), "image": "localhost/refarch-faults/app:1",
                                "timeout": 2, "force": True, "runtime": "podman"}), pytest.raises(SystemExit):
            image_build.main()
        took = time.monotonic() - start
        result = json.loads(capsys.readouterr().out)
        time.sleep(2)
        left = _sleepers()
        exists = subprocess.run([podman, "image", "exists", result.get("candidate") or "none"],
                                check=False).returncode == 0
    finally:
        _kill_sleepers()
    c.see(f"failed={result.get('failed')}, msg={result.get('msg', '')[:60]!r}, {took:.0f}s, "
          f"build processes left={len(left)}, candidate image exists={exists}")
    assert result.get("failed") and "timed out" in result["msg"]
    assert (app / "Dockerfile").read_text() == REMEDIATED
    assert not exists
    assert not left, f"the timed-out build left its RUN step running (pids {left})"


def test_rebuild_role_rolls_back(case, podman, tmp_path):
    c = case("rebuild role: build times out", "original Dockerfile restored byte-identical; old image kept")
    app = tmp_path / "app"
    app.mkdir()
    image = "localhost/refarch-faults/app:1"
    subprocess.run([podman, "tag", BASE, image], check=True)
    old_id = subprocess.run([podman, "image", "inspect", "--format", "{{.Id}}", image], capture_output=True,
                            text=True, check=True).stdout.strip()
    backups = tmp_path / "backups"   # a private backup directory, as dockerfile_remediate makes them
    backups.mkdir(mode=0o700)
    backup = backups / "Dockerfile.orig~"
    backup.write_text(ORIGINAL)
    (app / "Dockerfile").write_text(REMEDIATED)
    sha = hashlib.sha256(ORIGINAL.encode()).hexdigest()
    play = tmp_path / "play.yml"
    outcome = tmp_path / "outcome.json"
    play.write_text(PLAY.format(dockerfile=app / "Dockerfile", image=image, backup=backup, sha=sha, outcome=outcome))
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(f"localhost ansible_python_interpreter={sys.executable}\n")
    try:
        run = run_playbook(str(play), inventory, tmp_path, timeout=300)
    finally:
        time.sleep(1)
        left = _sleepers()
        _kill_sleepers()
        new_id = subprocess.run([podman, "image", "inspect", "--format", "{{.Id}}", image], capture_output=True,
                                text=True, check=False).stdout.strip()
        subprocess.run([podman, "untag", image, image], check=False, capture_output=True)  # that name only
    assert outcome.is_file(), run.stdout[-4000:] + run.stderr[-2000:]
    data = json.loads(outcome.read_text())
    c.see(f"status={data.get('status')}, restored={data.get('restored')}, reason={str(data.get('reason'))[:50]!r}, "
          f"old image kept={new_id == old_id}, build processes left={len(left)}")
    assert data["status"] == "rolled_back" and str(data["restored"]).lower() == "true"
    assert (app / "Dockerfile").read_text() == ORIGINAL
    assert new_id == old_id


HANG = "718.25"   # the HEALTHCHECK's sleep: an unusual duration, to find leftover processes by their command line
PROBED = (f"FROM {BASE}\nUSER 1000\nHEALTHCHECK --timeout=3s --retries=2 CMD [\"/bin/sleep\", \"{HANG}\"]\n"
          "CMD [\"/bin/sleep\", \"1000.5\"]\n")


def _left(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
            except OSError:
                continue
    return found


def test_start_probe_that_hangs_is_stopped(case, podman, tmp_path, capsys):
    c = case("image_start_probe: the image's HEALTHCHECK hangs (sleeps far past the probe's timeout)",
             "fails within the bound saying the HEALTHCHECK failed; no probe process and no probe container left")
    app = tmp_path / "app"
    app.mkdir()
    (app / "Dockerfile").write_text(PROBED)
    image = "localhost/refarch-faults/probed:1"
    subprocess.run([podman, "build", "--isolation", "chroot", "--pull=never", "--format", "docker", "--quiet",
                    "-t", image, str(app)], check=True, capture_output=True, timeout=300)
    start = time.monotonic()
    try:
        with patch_module_args({"image": image, "runtime": "podman", "seconds": 1, "timeout": 12}), \
                pytest.raises(SystemExit):
            image_start_probe.main()
        took = time.monotonic() - start
        result = json.loads(capsys.readouterr().out)
        left = _left(HANG) + _left("1000.5")
        containers = subprocess.run(["buildah", "containers", "--noheading", "--format", "{{.ContainerName}}"],
                                    capture_output=True, text=True, check=False).stdout.split()
    finally:
        for pid in _left(HANG) + _left("1000.5"):
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        subprocess.run([podman, "rmi", "--force", image], check=False, capture_output=True)
    probes = [n for n in containers if n.startswith("refarch-probe-")]
    c.see(f"failed={result.get('failed')}, reason={result.get('reason', '')[:80]!r}, {took:.0f}s, "
          f"processes left={len(left)}, probe containers left={len(probes)}")
    assert result.get("failed") and result["passed"] is False and "HEALTHCHECK failed" in result["reason"], result
    assert result["started"] is True and result["uids"] == [1000], result
    assert took < 12 + 30, f"the probe took {took:.0f}s"
    assert not left, f"the probe left processes behind (pids {left})"
    assert not probes, probes


def test_start_probe_without_a_usable_runtime(case, tmp_path, capsys, monkeypatch):
    c = case("image_start_probe: the runtime cannot be reached (docker with no daemon behind its socket)",
             "fails saying the probe could not run; never passed")
    docker = shutil.which("docker")
    if not docker:
        pytest.skip("the docker CLI is not installed")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-daemon.sock")
    with patch_module_args({"image": "localhost/refarch-faults/app:1", "runtime": "docker"}), \
            pytest.raises(SystemExit):
        image_start_probe.main()
    result = json.loads(capsys.readouterr().out)
    c.see(f"failed={result.get('failed')}, passed={result.get('passed')}, msg={result.get('msg', '')[:90]!r}")
    assert result.get("failed") and result["passed"] is False and "could not run" in result["msg"], result


PROBE_OFF_PLAY = """---
- name: Rebuild with the start probe turned off
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Rebuild role
      ansible.builtin.include_role:
        name: refarch.containers.rebuild
      vars:
        rebuild_dockerfile: "{dockerfile}"
        rebuild_image: "{image}"
        rebuild_backup: "{backup}"
        rebuild_original_sha256: "{sha}"
        refarch_build_runtime: podman
        refarch_start_probe: false
        rebuild_rules_before: {before}
    - name: Save the outcome
      ansible.builtin.copy:
        content: "{{{{ rebuild_outcome | to_json }}}}"
        dest: "{outcome}"
        mode: "0644"
"""


def test_rebuild_with_the_probe_off_is_never_called_verified(case, podman, tmp_path):
    c = case("rebuild role with refarch_start_probe: false",
             "promoted on the static checks; verified false and the note says it was not started; no candidate tag")
    app = tmp_path / "app"
    app.mkdir()
    image = "localhost/refarch-faults/probe-off:1"
    backups = tmp_path / "backups"
    backups.mkdir(mode=0o700)
    backup = backups / "Dockerfile.orig~"
    backup.write_text(ORIGINAL)
    (app / "Dockerfile").write_text(f"FROM {BASE}\nUSER 1000\nCMD [\"/bin/sleep\", \"1\"]\n")
    play = tmp_path / "play.yml"
    outcome = tmp_path / "outcome.json"
    play.write_text(PROBE_OFF_PLAY.format(dockerfile=app / "Dockerfile", image=image, backup=backup,
                                          sha=hashlib.sha256(ORIGINAL.encode()).hexdigest(), outcome=outcome,
                                          # the rules this tiny image breaks were open before: none is new
                                          before=json.dumps([f"NRA{n:03d}" for n in range(1, 16)])))
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(f"localhost ansible_python_interpreter={sys.executable}\n")
    try:
        run = run_playbook(str(play), inventory, tmp_path, timeout=300)
        tags = subprocess.run([podman, "images", "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True,
                              text=True, check=False).stdout.split()
    finally:
        for ref in (image, image + "-refarch-previous"):
            subprocess.run([podman, "untag", ref, ref], check=False, capture_output=True)
    assert outcome.is_file(), run.stdout[-4000:] + run.stderr[-2000:]
    data = json.loads(outcome.read_text())
    candidates = [t for t in tags if t.startswith(image + "-refarch-") and not t.endswith("-previous")]
    c.see(f"status={data.get('status')}, verified={data.get('verified')}, start_probe={data.get('start_probe')}, "
          f"note ends {str(data.get('note'))[-60:]!r}, candidate tags left={len(candidates)}")
    assert data["status"] == "promoted", data
    assert str(data["verified"]).lower() == "false" and data["start_probe"] == {}, data
    assert "not verified: not started (refarch_start_probe is false)" in data["note"], data["note"]
    assert data["context_digest"].startswith("sha256:")
    assert candidates == [], candidates
