"""Every module's documented options say what its argument spec does: options, defaults, types, choices, aliases.

The documentation is read as ``ansible-doc`` renders it (doc fragments merged); the argument
spec is the one the code validates with: the action plugin's ``ARGUMENT_SPEC`` when the module
has one (controller-side modules) and the ``AnsibleModule`` spec the module's ``main()`` builds
(captured by replacing ``AnsibleModule`` in the module's namespace before it parses anything).
"""
from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[4]
MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if not p.stem.startswith("_"))
PREFIX = "ansible_collections.refarch.containers.plugins"


class _Captured(Exception):
    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__("captured")
        self.spec = spec


class _Recorder:
    def __init__(self, argument_spec: dict[str, Any], **_kwargs: Any) -> None:
        raise _Captured(argument_spec)


def _module_spec(name: str) -> dict[str, Any] | None:
    module = importlib.import_module(f"{PREFIX}.modules.{name}")
    if not hasattr(module, "AnsibleModule"):
        return None  # a documentation stub: the action plugin holds the spec
    original = module.AnsibleModule
    module.AnsibleModule = _Recorder
    try:
        module.main()
    except _Captured as captured:
        return captured.spec
    finally:
        module.AnsibleModule = original
    raise AssertionError(f"{name}.main() built no AnsibleModule")


def _action_spec(name: str) -> dict[str, Any] | None:
    if not (REPO / "plugins" / "action" / f"{name}.py").exists():
        return None
    return getattr(importlib.import_module(f"{PREFIX}.action.{name}"), "ARGUMENT_SPEC", None)


@pytest.fixture(scope="module")
def documented() -> dict[str, dict[str, Any]]:
    """Each module's options as ansible-doc renders them (one ansible-doc run for all)."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    run = subprocess.run([str(Path(sys.executable).with_name("ansible-doc")), "-t", "module", "--json",
                          *(f"refarch.containers.{m}" for m in MODULES)],
                         capture_output=True, text=True, cwd=REPO, env=env, timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    docs = json.loads(run.stdout)
    return {m: docs[f"refarch.containers.{m}"]["doc"].get("options") or {} for m in MODULES}


def _differences(doc: dict[str, Any], spec: dict[str, Any], where: str) -> list[str]:
    problems = []
    for option in sorted(set(doc) | set(spec)):
        if option not in spec:
            problems.append(f"{where}: {option} documented but not in the argument spec")
            continue
        if option not in doc:
            problems.append(f"{where}: {option} in the argument spec but not documented")
            continue
        written, coded = doc[option], spec[option]
        if written.get("default") != coded.get("default"):
            problems.append(f"{where}: {option} default documented {written.get('default')!r}, "
                            f"argument spec {coded.get('default')!r}")
        if written.get("type", "str") != coded.get("type", "str"):
            problems.append(f"{where}: {option} type documented {written.get('type')!r}, spec {coded.get('type')!r}")
        if list(written.get("choices") or []) != list(coded.get("choices") or []):
            problems.append(f"{where}: {option} choices documented {written.get('choices')}, "
                            f"spec {coded.get('choices')}")
        if sorted(written.get("aliases") or []) != sorted(coded.get("aliases") or []):
            problems.append(f"{where}: {option} aliases documented {written.get('aliases')}, "
                            f"spec {coded.get('aliases')}")
        if written.get("suboptions") or coded.get("options"):
            problems += _differences(written.get("suboptions") or {}, coded.get("options") or {},
                                     f"{where}.{option}")
    return problems


@pytest.mark.parametrize("name", MODULES)
def test_documented_defaults_are_the_argument_spec(name: str, documented: dict[str, dict[str, Any]]) -> None:
    specs = {kind: spec for kind, spec in (("action", _action_spec(name)), ("module", _module_spec(name)))
             if spec is not None}
    assert specs, f"{name}: neither an action plugin ARGUMENT_SPEC nor an AnsibleModule spec"
    problems = []
    for kind, spec in specs.items():
        problems += _differences(documented[name], spec, f"{name} ({kind})")
    assert not problems, "\n".join(problems)
