"""The start probe's readings of /proc and its output handling (module_utils/_start_probe.py), on real sockets.

The runs themselves (buildah, podman, docker) are tested with real runtimes in tests/e2e/test_rebuild_runs.py,
tests/integration/test_docker_engine.py and tests/faults/test_build_faults.py.
"""
from __future__ import annotations

import os
import socket

import pytest
from ansible_collections.refarch.containers.plugins.module_utils import _start_probe as sp

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs Linux /proc")


def test_listening_sockets_of_the_process_are_found():
    me = os.getpid()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listening, \
            socket.socket(socket.AF_INET, socket.SOCK_STREAM) as bound_only, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        listening.bind(("127.0.0.1", 0))
        listening.listen(1)
        bound_only.bind(("127.0.0.1", 0))                  # bound, not listening: not a served port
        udp.bind(("127.0.0.1", 0))
        tcp_port, idle_port, udp_port = (s.getsockname()[1] for s in (listening, bound_only, udp))
        inodes = sp._socket_inodes([me])
        found = sp._bound_ports(me, inodes)
        assert (tcp_port, "tcp") in found and (udp_port, "udp") in found
        assert (idle_port, "tcp") not in found
        assert sp._bound_ports(me, set()) == set()          # sockets of other processes do not count


def test_uids_and_users():
    me = os.getpid()
    assert sp._status_uids(me) == (os.getuid(), os.geteuid())
    assert sp._status_uids(2 ** 30) is None
    assert sp._expected_uid("1000", [me]) == (1000, "1000")
    assert sp._expected_uid("1001:0", [me]) == (1001, "1001:0")
    assert sp._expected_uid("", [me]) == (0, "root")          # no USER: root
    assert sp._expected_uid("root", [me]) == (0, "root")
    # a name is looked up in the process's own root (here the host's /etc/passwd)
    assert sp._passwd_uid(me, "root") == 0
    assert sp._passwd_uid(me, "no-such-user-refarch") is None
    assert sp._expected_uid("no-such-user-refarch", [me]) == (None, "no-such-user-refarch")


def test_output_is_redacted_bounded_and_printable():
    text = "start\nAPI_TOKEN=abcdefghij123 and db pw: " + "hunter2-literal" + "\x1b[31m\n" + "x" * 5000
    out = sp._clean_output(text, ["hunter2-literal"])
    assert "abcdefghij123" not in out and "hunter2-literal" not in out and "\x1b" not in out
    assert len(out) <= sp.OUTPUT_LIMIT + 10 and out.endswith("x")
    short = sp._clean_output("boom API_TOKEN=abcdefghij123\n", [])
    assert short.startswith("boom API_TOKEN=") and "abcdefghij123" not in short
