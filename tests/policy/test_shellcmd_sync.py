"""The lists that exist on both sides: the policy's toolchain packages and build CLIs equal the host's (_shellcmd)."""
from __future__ import annotations

import json
import subprocess

import pytest
from policy_paths import POLICIES, REPO

LISTS = [("toolchain", "TOOLCHAIN_PACKAGES"), ("build_clis", "BUILD_CLI_PACKAGES")]


@pytest.mark.parametrize("rego_name,python_name", LISTS)
def test_rego_list_equals_the_host_side_set(opa_bin: str, facts_module, rego_name: str, python_name: str) -> None:
    from ansible_collections.refarch.containers.plugins.module_utils import _shellcmd  # noqa: PLC0415
    rego = POLICIES / "refarch" / "lib" / "shellcmd" / "shellcmd.rego"
    query = f"data.refarch.lib.shellcmd.{rego_name}"
    run = subprocess.run([opa_bin, "eval", "-d", str(rego), "--format", "json", query],
                         capture_output=True, text=True, timeout=120, check=False, cwd=REPO)
    assert run.returncode == 0, run.stderr
    value = json.loads(run.stdout)["result"][0]["expressions"][0]["value"]
    assert value and set(value) == set(getattr(_shellcmd, python_name))
