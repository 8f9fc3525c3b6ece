"""The container runtime options kept their earlier names as aliases: ``engine`` for ``runtime`` (image_info,
container_info, image_build, image_promote), ``require_engine`` for ``require_runtime``, ``container_engine`` for
discovery's ``container_runtime``. Each old name is given here and must change what the module does."""
from __future__ import annotations

import json

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.testing import patch_module_args
from ansible_collections.refarch.containers.plugins.action.discovery import ARGUMENT_SPEC as DISCOVERY_SPEC
from ansible_collections.refarch.containers.plugins.module_utils._runtime_cli import RuntimeCommandError
from ansible_collections.refarch.containers.plugins.module_utils._runtime_scan import (
    container_argument_spec,
    image_argument_spec,
    scan_containers,
    scan_images,
)
from ansible_collections.refarch.containers.plugins.modules import image_build, image_promote


def _validated(spec: dict, given: dict) -> dict:
    result = ArgumentSpecValidator(spec).validate(given)
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


@pytest.mark.parametrize(("spec", "scan"), [(image_argument_spec, scan_images),
                                            (container_argument_spec, scan_containers)])
def test_engine_and_require_engine_still_pick_and_require_the_runtime(spec, scan, tmp_path):
    params = _validated(spec(), {"engine": "docker", "require_engine": True,
                                 "executable": str(tmp_path / "absent" / "docker")})
    assert params["runtime"] == "docker" and params["require_runtime"] is True
    # only docker was looked for (auto would list podman too), and its absence fails the module
    with pytest.raises(RuntimeCommandError) as failed:
        scan(params)
    assert failed.value.code == "no_engine" and failed.value.message.startswith("no usable container engine (docker:")
    assert "podman" not in failed.value.message


def test_discovery_container_engine_is_container_runtime():
    assert _validated(DISCOVERY_SPEC, {"container_engine": "podman"})["container_runtime"] == "podman"
    bad = ArgumentSpecValidator(DISCOVERY_SPEC).validate({"container_engine": "lxc"})
    assert bad.error_messages == ["value of container_runtime must be one of: auto, podman, docker, got: lxc"]


def _run(module, args: dict, capsys) -> dict:
    with patch_module_args(dict(args, _ansible_check_mode=True)), pytest.raises(SystemExit):
        module.main()
    return json.loads(capsys.readouterr().out)


def _fake_runtime(tmp_path) -> str:
    """An executable whose name says no runtime: only the option can make it docker."""
    fake = tmp_path / "fake-cli"
    fake.write_text('#!/bin/sh\necho \'[{"Id": "sha256:' + "a" * 64 + '"}]\'\n')
    fake.chmod(0o755)
    return str(fake)


def test_image_build_engine_alias(tmp_path, capsys):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    args = {"dockerfile": str(tmp_path / "Dockerfile"), "image": "localhost/alias:1",
            "executable": _fake_runtime(tmp_path), "force": True}
    result = _run(image_build, dict(args, engine="docker"), capsys)
    assert not result.get("failed"), result.get("msg")
    assert result["engine"] == "docker" and result["command"][1:4] == ["build", "--file", str(tmp_path / "Dockerfile")]
    assert _run(image_build, dict(args, runtime="docker"), capsys)["command"] == result["command"]
    without = _run(image_build, args, capsys)
    assert without.get("failed") and "set runtime to podman, buildah or docker" in without["msg"]


def test_image_promote_engine_alias(tmp_path, capsys):
    args = {"image": "localhost/alias:1", "candidate": "localhost/alias:1-refarch-0", "state": "discarded",
            "executable": _fake_runtime(tmp_path)}
    docker = _run(image_promote, dict(args, engine="docker"), capsys)
    podman = _run(image_promote, dict(args, engine="podman"), capsys)
    assert docker["commands"] == [[args["executable"], "image", "rm", args["candidate"]]]
    assert podman["commands"] == [[args["executable"], "untag", args["candidate"], args["candidate"]]]  # that name only
