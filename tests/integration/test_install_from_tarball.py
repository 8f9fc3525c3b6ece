"""Install the collection the way the README's "Install" section says, outside the checkout (issue 17).

``make build DIST=<tmp>`` writes the collection tarball and the regorus wheel.
A fresh virtualenv in a temporary directory (its own HOME, so
``ansible-galaxy collection install`` uses its default path there) gets
ansible-core, the collection, the collection's ``requirements.txt`` and, in a
second step, the wheel, all from PyPI and the two artefacts exactly as the
README lists them. ``ansible-playbook refarch.containers.scan`` then runs from
a directory outside the checkout against a copy of the example estate:

* before the wheel: the scan works on regopy and the report says so (a warning);
* after the wheel: regorus, its version, the installed collection's version;
* both find exactly what the checkout finds on the same files.

The wheel's stable ABI is checked by installing it into venvs of the other
CPython versions found on the machine, and ``ansible-builder create`` must turn
``awx/execution-environment.yml`` into a build context that installs the wheel
and has no cargo step.
"""
from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from harness import REPO, VENV_BIN, run_playbook

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EVALUATION_DATE = "2026-11-28"
PIP_CACHE = Path(os.environ.get("PIP_CACHE_DIR") or Path.home() / ".cache" / "pip")


def _clean_env(home: Path, venv: Path | None = None) -> dict[str, str]:
    """The caller's environment without anything that points into the checkout."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ANSIBLE_", "PYTHON", "VIRTUAL_ENV", "PYTEST", "REFARCH_"))}
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and not p.startswith(str(REPO))]
    if venv is not None:
        path.insert(0, str(venv / "bin"))
        env["VIRTUAL_ENV"] = str(venv)
    env.update({"HOME": str(home), "PATH": os.pathsep.join(path), "PIP_CACHE_DIR": str(PIP_CACHE),
                "PIP_DISABLE_PIP_VERSION_CHECK": "1", "ANSIBLE_NOCOLOR": "1"})
    return env


def _run(cmd: list[str], env: dict, cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env, cwd=str(cwd),
                          timeout=timeout, check=False)
    assert proc.returncode == 0, f"{cmd} failed (rc={proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc


def _ansible_core_spec() -> str:
    for line in (REPO / "requirements-dev.txt").read_text().splitlines():
        if line.startswith("ansible-core"):
            return line.split("#")[0].strip()
    raise AssertionError("requirements-dev.txt names no ansible-core version")


def _findings(report: dict) -> list[tuple]:
    """Every finding of a report as comparable tuples (paths are the same files in both runs)."""
    out = []
    for host, data in report["hosts"].items():
        for target in data["targets"]:
            for f in target["findings"]:
                out.append((host, target["path"], f["rule_id"], f["severity"], f.get("line"), f["message"],
                            f["waived"], f["fingerprint"]))
    return sorted(out, key=repr)


@pytest.fixture(scope="module")
def install(tmp_path_factory):
    work = tmp_path_factory.mktemp("install")
    assert not str(work).startswith(str(REPO))
    dist = work / "dist"
    # 1. the artefacts, as `make build` writes them (the cargo target cache makes the wheel quick)
    make_env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    _run(["make", "--no-print-directory", "build", f"DIST={dist}"], make_env, REPO, timeout=1800)
    tarballs = sorted(dist.glob("refarch-containers-*.tar.gz"))
    wheels = sorted(dist.glob("refarch_regorus-*.whl"))
    assert len(tarballs) == 1 and len(wheels) == 1, sorted(p.name for p in dist.iterdir())

    # 2. a fresh virtualenv outside the checkout, its own HOME
    home = work / "home"
    home.mkdir()
    venv = work / "venv"
    base_python = getattr(sys, "_base_executable", None) or sys.executable
    _run([base_python, "-m", "venv", venv], _clean_env(home), work)
    env = _clean_env(home, venv)
    pip = [venv / "bin" / "python", "-m", "pip", "install", "--quiet"]
    _run([*pip, _ansible_core_spec()], env, work)
    _run([venv / "bin" / "ansible-galaxy", "collection", "install", tarballs[0]], env, work)
    installed = home / ".ansible" / "collections" / "ansible_collections" / "refarch" / "containers"
    assert (installed / "MANIFEST.json").is_file(), f"the collection is not at the default path {installed}"
    _run([*pip, "-r", installed / "requirements.txt"], env, work)

    # 3. the scan, from a directory outside the checkout, of a copy of the example estate
    project = work / "project"
    estate = project / "estate"
    shutil.copytree(REPO / "examples" / "estate", estate)
    inventory = project / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": str(venv / "bin" / "python")}}}}))

    def scan(name: str) -> tuple[dict, str, subprocess.CompletedProcess]:
        report_dir = work / f"report-{name}"
        extra = {"refarch_scan_paths": [str(estate)], "refarch_report_dir": str(report_dir),
                 "refarch_evaluation_date": EVALUATION_DATE}
        run = _run([venv / "bin" / "ansible-playbook", "refarch.containers.scan", "-i", inventory,
                    "-e", json.dumps(extra)], env, project)
        return (json.loads((report_dir / "report.json").read_text()), (report_dir / "report.txt").read_text(), run)

    without_wheel = scan("regopy")
    _run([*pip, wheels[0]], env, work)
    with_wheel = scan("regorus")
    version = _run([venv / "bin" / "python", "-c", "import refarch_regorus; print(refarch_regorus.regorus_version())"],
                   env, work).stdout.strip()
    galaxy_list = _run([venv / "bin" / "ansible-galaxy", "collection", "list", "refarch.containers",
                        "--format", "json"], env, project).stdout

    # 4. the checkout, on the same files
    checkout_inventory = work / "checkout-inventory.yml"
    checkout_inventory.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))
    checkout_dir = work / "report-checkout"
    run = run_playbook("refarch.containers.scan", checkout_inventory, work, extra_vars={
        "refarch_scan_paths": [str(estate)], "refarch_report_dir": str(checkout_dir),
        "refarch_evaluation_date": EVALUATION_DATE})
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    checkout = json.loads((checkout_dir / "report.json").read_text())
    return {"work": work, "dist": dist, "tarball": tarballs[0], "wheel": wheels[0], "venv": venv, "env": env,
            "installed": installed, "without_wheel": without_wheel, "with_wheel": with_wheel,
            "regorus_version": version, "galaxy_list": galaxy_list, "checkout": checkout}


def test_the_wheel_uses_the_stable_abi(install):
    wheel = install["wheel"]
    name = wheel.name
    assert re.fullmatch(r"refarch_regorus-[0-9.]+-cp39-abi3-manylinux_2_[0-9]+_x86_64\.whl", name), name
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        meta = zf.read(next(n for n in names if n.endswith(".dist-info/WHEEL"))).decode()
    assert any(n.endswith(".abi3.so") for n in names), names
    assert "Tag: cp39-abi3-manylinux_2_" in meta, meta


def test_installed_collection_finds_what_the_checkout_finds_on_regorus(install):
    report, text, run = install["with_wheel"]
    checkout = install["checkout"]
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    # the installed collection ran, not the checkout
    listed = json.loads(install["galaxy_list"])
    assert list(listed) == [str(install["installed"].parent.parent)], listed
    assert str(REPO) not in run.stdout + run.stderr
    judged = report["judged_by"]
    assert judged["engine"] == "embedded" and judged["backend"] == "regorus", judged
    assert judged["backend_version"] == install["regorus_version"] and judged["backend_version"], judged
    assert judged["collection_version"] == galaxy["version"], judged
    assert judged["warnings"] == [], judged
    assert f"regorus {install['regorus_version']}" in text, text[:2000]
    assert checkout["judged_by"]["backend"] == "regorus"
    found = _findings(report)
    assert len(found) > 10, "the example estate should have findings"
    assert found == _findings(checkout)
    assert report["summary"] == checkout["summary"]


def test_without_the_wheel_the_scan_runs_on_regopy_and_says_so(install):
    report, text, _run_result = install["without_wheel"]
    judged = report["judged_by"]
    assert judged["backend"] == "regopy", judged
    assert judged["warnings"] and "regopy" in judged["warnings"][0] and "slow" in judged["warnings"][0], judged
    assert "regopy" in text and "slow" in text.lower(), text[:2000]
    assert _findings(report) == _findings(install["checkout"])


def _other_pythons() -> dict[str, str]:
    """CPython interpreters of other minor versions on this machine, checked by running them."""
    candidates = [shutil.which(f"python3.{minor}") for minor in range(9, 15)]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3")))
    found: dict[str, str] = {}
    own = f"{sys.version_info[0]}.{sys.version_info[1]}"
    for candidate in filter(None, candidates):
        proc = subprocess.run([candidate, "-c", "import sys, platform; "
                               "print('%d.%d' % sys.version_info[:2], platform.python_implementation())"],
                              capture_output=True, text=True, check=False, timeout=60)
        if proc.returncode != 0:
            continue  # a pyenv shim for a version that is not selected
        minor, impl = proc.stdout.split()
        if impl == "CPython" and minor != own and tuple(map(int, minor.split("."))) >= (3, 9):
            found.setdefault(minor, candidate)
    return found


def test_one_wheel_serves_every_python(install, tmp_path):
    pythons = _other_pythons()
    if not pythons:
        pytest.skip("no other CPython >= 3.9 on this machine to install the wheel into")
    policy = "package t\nimport rego.v1\nallow if input.n > 1\n"
    probe = ("import json, sys, refarch_regorus as r; e = r.Engine(); e.add_policy('t.rego', sys.argv[1]); "
             "e.set_input_json('{\"n\": 2}'); print(sys.version_info[1], e.eval_rule_json('data.t.allow'))")
    for minor, python in sorted(pythons.items()):
        venv = tmp_path / f"py{minor}"
        env = _clean_env(tmp_path / "home", venv)
        _run([python, "-m", "venv", venv], env, tmp_path)
        _run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", install["wheel"]],
             env, tmp_path)
        out = _run([venv / "bin" / "python", "-c", probe, policy], env, tmp_path).stdout.split()
        assert out[0] == minor.split(".")[1] and json.loads(out[1]) is True, (minor, out)


def test_execution_environment_installs_the_wheel_with_no_rust(install, tmp_path):
    """``ansible-builder create`` on the shipped EE definition, laid out as in the repository with dist/ built."""
    builder = VENV_BIN / "ansible-builder"
    assert builder.exists(), "ansible-builder not installed: run `make setup`"
    tree = tmp_path / "tree"
    (tree / "awx").mkdir(parents=True)
    (tree / "meta").mkdir()
    for rel in ("awx/execution-environment.yml", "awx/requirements.yml", "requirements.txt", "meta/ee-bindep.txt"):
        shutil.copy(REPO / rel, tree / rel)
    shutil.copytree(install["dist"], tree / "dist")
    context = tmp_path / "context"
    _run([builder, "create", "-f", tree / "awx" / "execution-environment.yml", "--context", context],
         dict(os.environ), tree, timeout=300)

    containerfile = (context / "Containerfile").read_text()
    assert not re.search(r"\b(cargo|rustup|rustc|maturin)\b", containerfile), containerfile
    wheel = install["wheel"].name
    assert (context / "_build" / "wheels" / wheel).is_file()
    assert (context / "_build" / "collections" / install["tarball"].name).is_file()
    install_line = next((line for line in containerfile.splitlines()
                         if "pip install" in line and "refarch_regorus-*.whl" in line), None)
    assert install_line and "--no-index" in install_line, containerfile
    assert containerfile.index("COPY _build/wheels/") < containerfile.index(install_line)
    final = containerfile.index("FROM base AS final")
    assert containerfile.index(install_line) > final, "the wheel must be installed in the final image"

    # the Python requirements are the collection's one file
    ee = yaml.safe_load((REPO / "awx" / "execution-environment.yml").read_text())
    collection_ee = yaml.safe_load((REPO / "meta" / "execution-environment.yml").read_text())
    assert ee["dependencies"]["python"] == "../requirements.txt"
    assert collection_ee["dependencies"]["python"] == "requirements.txt"
    assert (context / "_build" / "requirements.txt").read_text() == (REPO / "requirements.txt").read_text()
    # and the installed collection carries it where meta/execution-environment.yml says
    assert (install["installed"] / "requirements.txt").read_text() == (REPO / "requirements.txt").read_text()
