"""Commands built from facts: image_build turns strangers' values into argument lists, never shell strings.

``image_build`` runs here through its ``main()`` against a recording fake
``podman`` (an executable that writes the argv it received to a file). An
invalid tag, target or build-argument name must fail with a clear message
before anything is executed; a valid but nasty value (``$(...)``, ``;``) must
arrive as one untouched argv element.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.refarch.containers.plugins.module_utils import _build
from ansible_collections.refarch.containers.plugins.modules import image_build

FAKE = """#!/usr/bin/python3
import json, os, sys
with open(os.environ["REFARCH_FAKE_LOG"], "a") as fh:
    fh.write(json.dumps(sys.argv) + "\\n")
sys.exit(0 if sys.argv[1:2] == ["build"] else 1)
"""


@pytest.fixture
def fake_podman(tmp_path, monkeypatch):
    exe = tmp_path / "bin" / "podman"
    exe.parent.mkdir()
    exe.write_text(FAKE)
    exe.chmod(0o755)
    log = tmp_path / "argv.log"
    monkeypatch.setenv("REFARCH_FAKE_LOG", str(log))
    app = tmp_path / "app"
    app.mkdir()
    (app / "Dockerfile").write_text("FROM node:20\n")
    return exe, log, app


def _run(capsys, args: dict) -> tuple[bool, dict]:
    with patch_module_args(args), pytest.raises(SystemExit) as exc:
        image_build.main()
    return exc.value.code != 0, json.loads(capsys.readouterr().out)


def _calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


BAD = {
    "tag `x; rm -rf /`": {"image": "localhost/app:x; rm -rf /"},
    "image `$(touch /tmp/pwned)`": {"image": "$(touch /tmp/pwned)"},
    "image with newline": {"image": "localhost/app:1\n--privileged"},
    "image starting with -": {"image": "--rm"},
    "uppercase repository": {"image": "Evil/App:1"},
    "target `a b;c`": {"image": "localhost/app:1", "target": "a b;c"},
    "build-arg name `X;rm`": {"image": "localhost/app:1", "build_args": {"X;rm -rf /": "v1x"}},
    "label with newline": {"image": "localhost/app:1", "labels": {"a": "b\n--privileged"}},
}


@pytest.mark.parametrize("name", list(BAD))
def test_invalid_values_are_rejected_before_running(case, capsys, fake_podman, name):
    exe, log, app = fake_podman
    c = case(f"image_build {name}", "module fails with a clear message; no command executed")
    failed, res = _run(capsys, {"dockerfile": str(app / "Dockerfile"), "executable": str(exe), **BAD[name]})
    c.see(f"failed={failed}, msg={res.get('msg', '')[:90]!r}, commands run={len(_calls(log))}")
    assert failed and res["msg"].startswith("cannot build")
    assert _calls(log) == []
    assert not Path("/tmp/pwned").exists()


def test_nasty_but_valid_values_stay_single_arguments(case, capsys, fake_podman):
    exe, log, app = fake_podman
    c = case("image_build label/build-arg values `$(id)`, `; rm -rf /`",
             "passed as single argv elements to the engine, never through a shell")
    label = "$(touch /tmp/pwned-label); echo `id`"
    arg = "a; rm -rf / && echo $HOME"
    _run(capsys, {"dockerfile": str(app / "Dockerfile"), "executable": str(exe), "image": "localhost/app:1",
                  "labels": {"note": label}, "build_args": {"PLAIN": arg}})
    builds = [argv for argv in _calls(log) if argv[1:2] == ["build"]]
    assert len(builds) == 1, _calls(log)
    argv = builds[0]
    c.see(f"argv has note={label!r} as one element: {f'note={label}' in argv}; "
          f"build-arg as one element: {f'PLAIN={arg}' in argv}")
    assert f"note={label}" in argv and f"PLAIN={arg}" in argv
    assert not Path("/tmp/pwned-label").exists()


def test_build_argv_validates_directly(case):
    c = case("_build.build_argv / parse_reference on hostile references", "BuildError for each; valid ones accepted")
    bad = ["x; rm -rf /", "a b", "app:tag with space", "app@sha256:zz", "-x", "app:" + "t" * 200, "", "a" * 300,
           "localhost/app:1`id`", "app:1\x00"]
    rejected = []
    for ref in bad:
        with pytest.raises(_build.BuildError):
            _build.checked_reference(ref)
        rejected.append(ref)
    for ref in ["node:20", "localhost:5000/team/app:1.2-x", "docker.io/library/node@sha256:" + "a" * 64]:
        _build.checked_reference(ref)
    with pytest.raises(_build.BuildError):
        _build.build_argv("podman", "/usr/bin/podman", "Dockerfile", "/ctx", "app:1", {}, {})
    c.see(f"{len(rejected)}/{len(bad)} rejected; relative Dockerfile path rejected")
    assert len(rejected) == len(bad)
