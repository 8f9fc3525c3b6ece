"""The one list that exists on both sides: the policy's toolchain packages equal the host's (_shellcmd)."""
from __future__ import annotations

import json
import subprocess

from policy_paths import POLICIES, REPO


def test_rego_toolchain_equals_the_host_side_set(opa_bin: str, facts_module) -> None:
    from ansible_collections.refarch.containers.plugins.module_utils._shellcmd import (  # noqa: PLC0415
        TOOLCHAIN_PACKAGES,
    )
    rego = POLICIES / "refarch" / "lib" / "shellcmd" / "shellcmd.rego"
    run = subprocess.run([opa_bin, "eval", "-d", str(rego), "--format", "json", "data.refarch.lib.shellcmd.toolchain"],
                         capture_output=True, text=True, timeout=120, check=False, cwd=REPO)
    assert run.returncode == 0, run.stderr
    value = json.loads(run.stdout)["result"][0]["expressions"][0]["value"]
    assert value and set(value) == set(TOOLCHAIN_PACKAGES)
