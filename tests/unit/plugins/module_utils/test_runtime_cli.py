"""Tests for plugins/module_utils/_runtime_cli.py: parsing helpers, filters and engine error handling.

Error paths use real executables: the real docker CLI against a socket nobody listens on, a missing
path, and small shell scripts (written by the tests, named ``fake-*``) that misbehave the way a
broken engine can (hang, print garbage, fail with a permission message).
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest
from ansible_collections.refarch.containers.plugins.module_utils import _runtime_cli as E
from ansible_collections.refarch.containers.plugins.module_utils._runtime_scan import scan_containers, scan_images


@pytest.mark.parametrize("value,seconds", [(None, None), ("", None), (90, 90.0), ("90", 90.0), ("45m", 2700.0),
                                           ("12h", 43200.0), ("7d", 604800.0), ("2w", 1209600.0), ("1.5h", 5400.0)])
def test_parse_duration(value, seconds):
    assert E.parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["abc", "7y", "-3", True, -1])
def test_parse_duration_rejects(value):
    with pytest.raises(ValueError):
        E.parse_duration(value)


@pytest.mark.parametrize("value,epoch", [
    ("2026-11-28T11:23:09.41506363Z", 1795864989.41506363),
    ("2026-11-28T12:23:09+01:00", 1795864989.0),
    ("2026-11-28 11:23:09 +0000 UTC", 1795864989.0),
    (1795864989, 1795864989.0),
    ("0001-01-01T00:00:00Z", None),
    ("yesterday", None),
    (None, None),
])
def test_parse_timestamp(value, epoch):
    got = E.parse_timestamp(value)
    assert got == (pytest.approx(epoch) if epoch is not None else None)


LISTING = [
    {"id": "a" * 64, "names": ["docker.io/library/node:20"], "created": 1000.0, "dangling": False},
    {"id": "b" * 64, "names": ["localhost/app:1", "registry.example.com/team/app:1"], "created": 3000.0,
     "dangling": False},
    {"id": "c" * 64, "names": [], "created": 2000.0, "dangling": True},
    {"id": "d" * 64, "names": ["localhost/old:1"], "created": None, "dangling": False},
]


def _ids(rows):
    return [r["id"][0] for r in rows]


def test_select_images_filters():
    assert _ids(E.select_images(LISTING, now=4000.0)) == ["b", "c", "a", "d"]  # newest first, unknown last
    assert _ids(E.select_images(LISTING, names=["node:*"])) == ["a"]
    assert _ids(E.select_images(LISTING, names=["app:*"])) == ["b"]
    assert _ids(E.select_images(LISTING, names=["registry.example.com/*"])) == ["b"]
    assert _ids(E.select_images(LISTING, names=["ccc"])) == ["c"]  # id prefix
    assert _ids(E.select_images(LISTING, dangling="only")) == ["c"]
    assert _ids(E.select_images(LISTING, dangling="exclude", now=4000.0)) == ["b", "a", "d"]
    assert _ids(E.select_images(LISTING, max_age=2500.0, now=4000.0)) == ["b", "c"]
    assert _ids(E.select_images(LISTING, min_age=1500.0, now=4000.0)) == ["c", "a"]
    with pytest.raises(ValueError):
        E.select_images(LISTING, dangling="maybe")


def _script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_missing_executable_is_reported_not_raised(tmp_path):
    engines, status = E.detect_runtimes("podman", executable=str(tmp_path / "nope" / "podman"))
    assert engines == []
    assert status[0]["available"] is False and status[0]["error_code"] == "not_installed"


def test_docker_daemon_down_with_the_real_cli(tmp_path):
    docker = E.find_executable("docker")
    if not docker:
        pytest.skip("no docker CLI on this machine (Debian package docker.io or docker-ce-cli)")
    result = scan_images({"runtime": "docker", "docker_host": str(tmp_path / "none.sock"), "timeout": 20})
    assert result["images"] == []
    (entry,) = result["engines"]
    assert entry["available"] is False and entry["error_code"] == "daemon_unreachable"
    assert str(tmp_path / "none.sock") in entry["error"]
    assert result["engine_error"].startswith("no usable container engine")


def test_require_engine_raises_engine_error(tmp_path):
    with pytest.raises(E.RuntimeCommandError) as exc:
        scan_containers({"runtime": "podman", "executable": str(tmp_path / "podman"), "require_runtime": True})
    assert exc.value.code == "no_engine"


def test_fake_engine_that_hangs_times_out(tmp_path):
    fake = _script(tmp_path, "fake-docker-hang", "sleep 30")
    engines, status = E.detect_runtimes("docker", executable=fake, timeout=0.5)
    assert engines == [] and status[0]["error_code"] == "timeout"


def test_fake_engine_printing_garbage_is_bad_output(tmp_path):
    fake = _script(tmp_path, "fake-docker-garbage", 'echo "this is not json"')
    engines, status = E.detect_runtimes("docker", executable=fake)
    assert engines == [] and status[0]["error_code"] == "bad_output"


def test_fake_engine_permission_message_is_classified(tmp_path):
    fake = _script(tmp_path, "fake-docker-perm",
                   'echo "permission denied while trying to connect to the Docker daemon socket at '
                   'unix:///var/run/docker.sock: dial unix /var/run/docker.sock: connect: permission denied" >&2; '
                   "exit 1")
    engines, status = E.detect_runtimes("docker", executable=fake)
    assert engines == [] and status[0]["error_code"] == "permission_denied"
    assert "permission denied" in status[0]["error"]


def test_output_cap(tmp_path):
    fake = _script(tmp_path, "fake-podman-big", "head -c 100000 /dev/zero")
    eng = E.ContainerRuntime("podman", fake, max_output=1000)
    with pytest.raises(E.RuntimeCommandError) as exc:
        eng.run(["images"])
    assert exc.value.code == "output_too_large"


def test_podman_user_storage_paths():
    root, runroot = E.podman_user_storage("root")
    assert root == os.path.expanduser("~root") + "/.local/share/containers/storage"
    assert runroot == "/run/user/0/containers"
    with pytest.raises(ValueError):
        E.podman_user_storage("no-such-user-refarch")


def test_real_podman_with_an_empty_storage_root():
    if not shutil.which("podman") or os.geteuid() != 0:
        pytest.skip("needs podman as root")
    short = Path(tempfile.mkdtemp(prefix="rf-", dir="/tmp"))  # podman refuses a runroot over 50 characters
    try:
        result = scan_images({"runtime": "podman", "podman_root": str(short / "root"),
                              "podman_runroot": str(short / "run"), "podman_storage_driver": "vfs"})
        (entry,) = result["engines"]
        assert entry["available"] is True, entry["error"]
        assert entry["graph_root"] == str(short / "root")
        assert result["images"] == [] and result["matched"] == 0
        long_run = scan_images({"runtime": "podman", "podman_root": str(short / "root"),
                                "podman_runroot": str(short / ("r" * 60)), "podman_storage_driver": "vfs"})
        assert long_run["engines"][0]["available"] is False
        assert "runroot" in long_run["engines"][0]["error"]
    finally:
        shutil.rmtree(short, ignore_errors=True)


def test_bad_options_raise_value_error():
    with pytest.raises(ValueError):
        scan_images({"runtime": "podman", "max_age": "soon"})
    with pytest.raises(ValueError):
        scan_images({"runtime": "podman", "max_images": -1})
    with pytest.raises(ValueError):
        E.detect_runtimes("containerd")


def test_unknown_podman_user_is_a_bad_option_status():
    if not E.find_executable("podman"):
        pytest.skip("podman is not installed")
    result = scan_images({"runtime": "podman", "podman_user": "no-such-user-refarch"})
    (entry,) = result["engines"]
    assert entry["available"] is False and entry["error_code"] == "bad_option"
    assert "no-such-user-refarch" in entry["error"]
