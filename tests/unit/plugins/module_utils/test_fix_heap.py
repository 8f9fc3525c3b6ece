"""The heap fix (NRA009, issue 16 item 5): the start script sets node's heap limit from the container's memory.

The script is run for real: with dash and busybox sh when present, in front of the host's node, and under a real
cgroup v1 memory limit (a child cgroup and a cgroup namespace, as a container runtime sets them up) when this
machine lets root create one; otherwise that case is skipped and says why.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import dockerfile
import pytest
from ansible_collections.refarch.containers.plugins.module_utils import _dockerfile_facts
from ansible_collections.refarch.containers.plugins.module_utils import _rewriter as R
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.fix_heap import HEAP_SCRIPT
from ansible_collections.refarch.containers.plugins.module_utils._shellcmd import HEAP_WRAPPER

CTX = {"evaluation_date": "2026-11-28"}
PRINT = ("console.log(JSON.stringify({pid: process.pid, opts: process.env.NODE_OPTIONS || '', "
         "heap: Math.round(require('v8').getHeapStatistics().heap_size_limit / 1048576)}))")


def heap(text: str) -> dict:
    res = R.rewrite(text, ["set_heap_limit"], CTX)
    list(dockerfile.parse_string(res["text"]))  # BuildKit parses it
    again = R.rewrite(res["text"], ["set_heap_limit"], CTX)
    assert again["text"] == res["text"] and again["applied"] == []
    return res


def process_facts(text: str) -> dict:
    return _dockerfile_facts.dockerfile_facts("/app/Dockerfile", text.encode(), None, None)["analysis"]["process"]


@pytest.mark.parametrize("before, entrypoint", [
    ('FROM node:22-bookworm-slim\nCOPY . .\nCMD ["node", "a.js"]\n', f'ENTRYPOINT ["{HEAP_WRAPPER}"]'),
    ('FROM node:22-alpine\nUSER node\nENTRYPOINT ["/sbin/tini", "--"]\nCMD ["node", "a.js"]\n',
     f'ENTRYPOINT ["/sbin/tini", "--", "{HEAP_WRAPPER}"]'),
    ('FROM node:22\nENTRYPOINT ["dumb-init", "node", "a.js"]\n', f'ENTRYPOINT ["dumb-init", "{HEAP_WRAPPER}", "node"'),
    ("FROM node:22\nCOPY . .\n", f'ENTRYPOINT ["{HEAP_WRAPPER}", "docker-entrypoint.sh"]\nCMD ["node"]'),
])
def test_the_start_script_goes_in_front_of_the_command(before, entrypoint):
    res = heap(before)
    assert res["fix_status"][0]["status"] == "applied", res["fix_status"]
    assert entrypoint in res["text"]
    assert 'ENV HEAP_MEMORY_PERCENT=75 NODE_OPTIONS="--max-old-space-size=1024"' in res["text"]
    assert f"> {HEAP_WRAPPER} && chmod 0755 {HEAP_WRAPPER}" in res["text"]
    proc = process_facts(res["text"])
    # what NRA007/NRA009/NRA011 read: node is still the program, in exec form, with a heap limit in NODE_OPTIONS
    assert proc["node_options"]["heap_limit"] and not proc["through_shell"]
    view = proc["as_init"] if proc["first"] in ("tini", "dumb-init") else proc["direct"]
    assert view["program"] == ("docker-entrypoint.sh" if "docker-entrypoint.sh" in entrypoint else "node"), view


def test_the_script_is_written_as_root_and_the_user_restored():
    res = heap('FROM node:22 AS base\nUSER node\nFROM base\nCMD ["node", "a.js"]\n')
    lines = [x for x in res["text"].splitlines() if not x.startswith(" ")]
    assert lines[3:7] == ["ENTRYPOINT [\"/usr/local/bin/node-heap-from-cgroup\"]", "USER 0", "RUN printf '%s\\n' \\",
                          "USER node"], lines
    ubi = heap('FROM registry.access.redhat.com/ubi9/nodejs-22:1\nCMD ["node", "a.js"]\n')["text"].splitlines()
    ubi = [x for x in ubi if not x.startswith(" ")]
    assert ubi[2:5] == ["USER 0", "RUN printf '%s\\n' \\", "USER 1001"], ubi


def test_on_an_unknown_base_the_script_is_written_after_the_first_user():
    # the Dockerfile shows /bin/sh (its shell-form RUN) and names the user: the script is written as root there
    res = heap('FROM example.com/team/node-app:3\nUSER app\nWORKDIR /a\nRUN npm ci\nCMD ["node", "a.js"]\n')
    lines = [x for x in res["text"].splitlines() if not x.startswith(" ")]
    assert lines[:5] == ["FROM example.com/team/node-app:3", "USER app", "USER 0", "RUN printf '%s\\n' \\",
                         "USER app"], lines
    assert lines[-3:] == ['ENTRYPOINT ["/usr/local/bin/node-heap-from-cgroup"]',
                          'ENV HEAP_MEMORY_PERCENT=75 NODE_OPTIONS="--max-old-space-size=1024"',
                          'CMD ["node", "a.js"]'], lines
    assert res["fix_status"][0]["status"] == "applied"
    dockerfile.parse_string(res["text"])
    res = heap('FROM example.com/team/node-app:3\nUSER root\nRUN npm ci\nUSER app\nCMD ["node", "a.js"]\n')
    lines = [x for x in res["text"].splitlines() if not x.startswith(" ")]
    assert lines[:4] == ["FROM example.com/team/node-app:3", "USER root", "RUN printf '%s\\n' \\",
                         "RUN npm ci"], lines


@pytest.mark.parametrize("before, why", [
    ("FROM node:22\nCMD node a.js\n", "CMD at line 2 is in shell form"),
    # a base the rewriter does not know: /bin/sh must be shown (a shell-form RUN on a Linux image) and a USER named
    ('FROM example.com/team/node-app:3\nCMD ["node", "a.js"]\n', "(unknown) may have no /bin/sh"),
    ('FROM example.com/team/node-app:3\nRUN npm ci\nCMD ["node", "a.js"]\n', "no USER names one"),
    ('FROM example.com/team/node-app:3\nSHELL ["/bin/bash", "-c"]\nUSER app\nRUN npm ci\nCMD ["node", "a.js"]\n',
     "may have no /bin/sh"),
    ('FROM example.com/node-windows:7-nano\nUSER app\nRUN npm ci\nCMD ["node", "a.js"]\n', "may have no /bin/sh"),
    ("FROM node:22\nENTRYPOINT node a.js\n", "ENTRYPOINT at line 2 is in shell form"),
    ('FROM gcr.io/distroless/nodejs22-debian12\nCMD ["a.js"]\n', "may have no /bin/sh"),
    ('FROM node:22 AS b\nENTRYPOINT ["node"]\nFROM b\nCMD ["a.js"]\n', "inherited from an earlier stage"),
])
def test_without_a_place_for_the_script_the_limit_is_a_constant_and_partly_applied(before, why):
    res = heap(before)
    status = res["fix_status"][0]
    assert status["status"] == "partly_applied" and why in status["reason"] and "constant 1024 MiB" in status["reason"]
    assert HEAP_WRAPPER not in res["text"] and 'NODE_OPTIONS="--max-old-space-size=${MAX_NODE_MEMORY}"' in res["text"]


# --------------------------------------------------------------------------- the script itself

SHELLS = [s for s in (["dash"], ["busybox", "sh"]) if shutil.which(s[0])]
NODE = shutil.which("node")


@pytest.fixture(scope="module")
def script(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("heap") / "node-heap-from-cgroup"
    path.write_text("\n".join(HEAP_SCRIPT) + "\n", encoding="utf-8")
    path.chmod(0o755)
    return str(path)


def run_node(shell: list, script: str, env: dict, prefix: list | None = None) -> dict:
    import json  # noqa: PLC0415
    proc = subprocess.Popen([*(prefix or []), *shell, script, NODE, "-e", PRINT], stdout=subprocess.PIPE, text=True,
                            env={"PATH": os.environ["PATH"], **env})
    out, dummy = proc.communicate(timeout=60)
    assert proc.returncode == 0
    return dict(json.loads(out.strip().splitlines()[-1]), popen_pid=proc.pid)


@pytest.mark.skipif(not SHELLS or not NODE, reason="needs node and dash or busybox")
@pytest.mark.parametrize("shell", SHELLS, ids=lambda s: s[0])
def test_the_script_execs_node_and_honours_max_node_memory(shell, script):
    got = run_node(shell, script, {"MAX_NODE_MEMORY": "200", "NODE_OPTIONS": "--enable-source-maps"})
    assert got["opts"] == "--enable-source-maps --max-old-space-size=200"
    assert 200 < got["heap"] < 300  # node took the last --max-old-space-size (the heap adds its young generation)
    assert got["pid"] == got["popen_pid"]  # exec: node is the process the shell was, signals reach it
    junk = run_node(shell, script, {"MAX_NODE_MEMORY": "lots", "HEAP_MEMORY_PERCENT": "x"})
    assert junk["opts"] == ""  # nothing it cannot read is passed to node


def _cgroup_v1_memory() -> Path | None:
    base = Path("/sys/fs/cgroup/memory")
    if os.geteuid() != 0 or not (base / "memory.limit_in_bytes").exists() or not shutil.which("unshare"):
        return None
    return base


@pytest.mark.skipif(not SHELLS or not NODE, reason="needs node and dash or busybox")
@pytest.mark.parametrize("shell", SHELLS, ids=lambda s: s[0])
def test_the_heap_follows_a_real_cgroup_memory_limit(shell, script, tmp_path):
    base = _cgroup_v1_memory()
    if base is None:
        pytest.skip("needs root, cgroup v1 memory at /sys/fs/cgroup/memory and unshare (a runtime's set-up)")
    group = base / f"refarch-heap-test-{uuid.uuid4().hex[:8]}"
    try:
        group.mkdir()
        (group / "memory.limit_in_bytes").write_text(str(512 * 1048576))
    except OSError as exc:
        pytest.skip(f"cannot create a memory cgroup here: {exc}")
    mnt = tmp_path / "cg"
    mnt.mkdir()
    # in a new cgroup and mount namespace, mount the memory hierarchy rooted at the child cgroup where the script
    # reads it, as a container runtime does (then memory.limit_in_bytes is the container's limit)
    inner = (f"mount --make-rprivate / && mount -t cgroup -o memory none {mnt} && "
             f"mount --bind {mnt} /sys/fs/cgroup/memory && exec \"$@\"")
    try:
        enter = f"echo $$ > {group}/cgroup.procs && exec unshare --cgroup --mount sh -c '{inner}' sh \"$@\""
        starter = ["sh", "-c", enter, "sh"]
        got = run_node(shell, script, {"NODE_OPTIONS": "--enable-source-maps"}, prefix=starter)
        assert got["opts"] == "--enable-source-maps --max-old-space-size=384"  # 75 % of 512 MiB
        assert 384 <= got["heap"] < 512
        half = run_node(shell, script, {"HEAP_MEMORY_PERCENT": "50"}, prefix=starter)
        assert half["opts"] == "--max-old-space-size=256"
    finally:
        group.rmdir()
