"""The collection builds into a tarball that installs and documents itself."""
from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


def _env(tmp: Path, collections: Path) -> dict:
    """An environment that sees only the given collections path (not the checkout's ansible.cfg)."""
    cfg = tmp / "ansible.cfg"
    cfg.write_text("[defaults]\n")
    env = dict(os.environ)
    env.update({"ANSIBLE_COLLECTIONS_PATH": str(collections), "ANSIBLE_LOCAL_TEMP": str(tmp / "tmp"),
                "ANSIBLE_CONFIG": str(cfg), "ANSIBLE_NOCOLOR": "1"})
    return env


def test_galaxy_metadata_is_complete():
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    assert (galaxy["namespace"], galaxy["name"]) == ("refarch", "containers")
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    assert runtime["requires_ansible"] == ">=2.19.0"
    ee = yaml.safe_load((REPO / "meta" / "execution-environment.yml").read_text())
    # one controller requirements file, at the collection root: the EE definitions and make setup use it
    assert ee["dependencies"]["python"] == "requirements.txt"
    reqs = (REPO / ee["dependencies"]["python"]).read_text()
    for dep in ("regopy", "opa-python-client", "jmespath", "PyYAML"):
        assert dep in reqs, f"{dep} missing from the execution environment requirements"
    assert "-r requirements.txt" in (REPO / "requirements-dev.txt").read_text().splitlines()
    awx_ee = yaml.safe_load((REPO / "awx" / "execution-environment.yml").read_text())
    assert awx_ee["dependencies"]["python"] == "../requirements.txt"


def test_build_and_install_tarball(tmp_path):
    out = tmp_path / "dist"
    build = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(out), str(REPO)],
                           capture_output=True, text=True, env=_env(tmp_path, tmp_path / "none"), check=False)
    assert build.returncode == 0, build.stdout + build.stderr
    tarballs = list(out.glob("refarch-containers-*.tar.gz"))
    assert len(tarballs) == 1
    with tarfile.open(tarballs[0]) as tar:
        names = set(tar.getnames())
    assert "plugins/modules/dockerfile_info.py" in names
    assert "policies/.manifest" in names
    assert "playbooks/scan.yml" in names
    # what the README's install section uses from the installed collection
    assert {"requirements.txt", "meta/execution-environment.yml", "native/refarch_regorus/Cargo.lock"} <= names
    assert not any(n.startswith("native/refarch_regorus/target") for n in names)
    assert not any(n.startswith((".venv", ".tools", "build/", "tests/output")) for n in names)

    dest = tmp_path / "collections"
    install = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "-p", str(dest), str(tarballs[0])],
                             capture_output=True, text=True, env=_env(tmp_path, dest), check=False)
    assert install.returncode == 0, install.stdout + install.stderr
    doc = subprocess.run([str(BIN / "ansible-doc"), "refarch.containers.dockerfile_info"],
                         capture_output=True, text=True, env=_env(tmp_path, dest), check=False)
    assert doc.returncode == 0, doc.stderr
    assert "paths" in doc.stdout
