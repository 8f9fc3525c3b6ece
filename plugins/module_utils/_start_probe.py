# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start a candidate image once and watch it (host side, stdlib only): the rebuild's "does it run" check.

The image's own ENTRYPOINT and CMD run as its own USER, without network (a private network namespace),
for ``seconds``; the probe then asks:

* did the process start and is it still running (an exit, whatever its code, fails the probe);
* does every process of the container run as the uid the image's USER names (read from the container's
  own ``/etc/passwd`` for a name, through a descriptor chain that follows no link), and not as root when
  ``require_non_root``;
* does it listen on every port the image declares (``EXPOSE``): a listening socket in the container's
  network namespace (``/proc/<pid>/net/tcp*``, ``udp*``) that one of its processes holds;
* does its ``HEALTHCHECK`` command succeed, when it has one.

How it is started, by runtime: ``docker run -d --network none`` (or ``podman run``); where ``podman run``
cannot start a container (some sandboxes refuse its rlimits), ``buildah from`` + ``buildah run --isolation
chroot`` inside ``unshare --net``. The processes are found through ``/proc`` (the container's init pid
and its descendants; for buildah the descendants whose root is not the host's). Every command has a
timeout, the whole probe is bounded by ``timeout``, and the container is always removed. The app's output
comes back bounded, with secrets redacted (by name and form, and the values of the image's secret-named
ENV variables).
"""
from __future__ import annotations

import abc
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from typing import Optional

from ansible_collections.refarch.containers.plugins.module_utils import _safefs
from ansible_collections.refarch.containers.plugins.module_utils._build import (
    _descendants,
    _stop_tree,
    inspect_argv,
    run,
)
from ansible_collections.refarch.containers.plugins.module_utils._image_facts import (
    get_ci,
    healthcheck_entry,
    port_entries,
    user_entry,
)
from ansible_collections.refarch.containers.plugins.module_utils._printable import printable
from ansible_collections.refarch.containers.plugins.module_utils._redact import redact_literals, redact_text
from ansible_collections.refarch.containers.plugins.module_utils._runtime_cli import find_executable
from ansible_collections.refarch.containers.plugins.module_utils._secret_names import is_secret_name

OUTPUT_LIMIT = 2000       # characters of the app's output kept in the result
READ_LIMIT = 16384        # bytes of the app's output read
MAX_PORTS = 64            # declared ports checked
POLL = 0.25
_TCP_LISTEN = "0A"
_UDP_BOUND = "07"
# Run inside ``unshare --net``: bring the new namespace's loopback up (a new one starts down, without ::1, and
# an app that binds "localhost" would fail there only), then become the buildah command. No shell involved.
_LOOPBACK_UP = ("import os, subprocess, sys\n"
                "if sys.argv[1]:\n"
                "    subprocess.run([sys.argv[1], 'link', 'set', 'lo', 'up'], stdout=subprocess.DEVNULL,\n"
                "                   stderr=subprocess.DEVNULL, check=False)\n"
                "os.execv(sys.argv[2], sys.argv[2:])\n")
_MEMFD_RACE = "sealing memfd"  # buildah's chroot runner failing before the command starts (not the image's fault)


class ProbeError(Exception):
    """The probe could not be carried out (no runtime, the image cannot be read): not a verdict on the image."""


def _result() -> dict:
    return {"passed": False, "reason": "", "method": "", "started": False, "up_seconds": 0.0, "exit_code": None,
            "user": "", "expected_uid": None, "uids": [], "ports_declared": [], "ports_listening": [],
            "healthcheck": None, "output": "", "notes": []}


# --------------------------------------------------------------------------- the image's configuration

def image_config(runtime: str, executable: str, image: str, timeout: float) -> dict:
    """The run configuration of ``image``: ``{user, argv, ports, healthcheck, secret_values}``."""
    rc, out, err = run(inspect_argv(runtime, executable, image), timeout=timeout, tail=None)
    if rc != 0:
        raise ProbeError("cannot inspect %s: %s" % (image, (err.strip().splitlines() or ["no message"])[-1][:300]))
    try:
        data = json.loads(out)
    except ValueError:
        raise ProbeError("cannot inspect %s: the runtime printed no JSON" % image) from None
    item = data[0] if isinstance(data, list) and data else data
    if not isinstance(item, dict):
        raise ProbeError("cannot inspect %s: unexpected output" % image)
    config = item.get("Config") if isinstance(item.get("Config"), dict) else {}
    if runtime == "buildah":
        oci = (item.get("OCIv1") or {}).get("config") or {}
        docker = (item.get("Docker") or {}).get("config") or {}
        config = dict(oci, **{k: v for k, v in docker.items() if k.lower() == "healthcheck"})
    words = []
    for key in ("Entrypoint", "Cmd"):
        value = get_ci(config, key)
        if isinstance(value, str):
            value = [value]
        words += [str(w) for w in value or []]
    env = get_ci(config, "Env") or []
    secret_values = []
    for entry in env if isinstance(env, list) else []:
        name, sep, value = str(entry).partition("=")
        if sep and value and len(value) >= 3 and is_secret_name(name):
            secret_values.append(value)
    return {"user": str(get_ci(config, "User") or ""), "argv": words,
            "ports": [p for p in port_entries(get_ci(config, "ExposedPorts")) if p.get("port")][:MAX_PORTS],
            # podman keeps a docker-format image's HEALTHCHECK beside the config (as image_info reads it)
            "healthcheck": healthcheck_entry(get_ci(config, "Healthcheck") or get_ci(item, "HealthCheck")),
            "secret_values": secret_values}


# --------------------------------------------------------------------------- /proc

def _status_uids(pid: int) -> Optional[tuple]:
    try:
        with open("/proc/%d/status" % pid, "rb") as handle:
            for line in handle.read().decode("ascii", "replace").splitlines():
                if line.startswith("Uid:"):
                    real, effective = line.split()[1:3]
                    return int(real), int(effective)
    except (OSError, ValueError):
        return None
    return None


def _root_is_host(pid: int) -> bool:
    try:
        return os.readlink("/proc/%d/root" % pid) == "/"
    except OSError:
        return True


def _socket_inodes(pids: list) -> set:
    out = set()
    for pid in pids:
        base = "/proc/%d/fd" % pid
        try:
            names = os.listdir(base)
        except OSError:
            continue
        for name in names:
            try:
                target = os.readlink("%s/%s" % (base, name))
            except OSError:
                continue
            if target.startswith("socket:["):
                out.add(target[8:-1])
    return out


def _bound_ports(pid: int, inodes: set) -> set:
    """``(port, protocol)`` the sockets ``inodes`` listen on (TCP) or are bound to (UDP), in ``pid``'s namespace."""
    found = set()
    for table, proto, state in (("tcp", "tcp", _TCP_LISTEN), ("tcp6", "tcp", _TCP_LISTEN),
                                ("udp", "udp", _UDP_BOUND), ("udp6", "udp", _UDP_BOUND)):
        try:
            with open("/proc/%d/net/%s" % (pid, table), "rb") as handle:
                rows = handle.read().decode("ascii", "replace").splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if len(cols) < 10 or cols[3] != state or cols[9] not in inodes:
                continue
            try:
                found.add((int(cols[1].partition(":")[2], 16), proto))  # HEXADDR:HEXPORT, one colon
            except (IndexError, ValueError):
                continue
    return found


def _passwd_uid(pid: int, name: str) -> Optional[int]:
    """The uid of ``name`` in the container's own /etc/passwd (no link followed inside the container)."""
    root = "/proc/%d/root" % pid
    try:
        with _safefs.open_dir(root, root + "/etc") as handle:
            data, _st = _safefs.read_at(handle.fd, "passwd", path="/etc/passwd", max_size=1 << 20,
                                        allow_hardlinks=True)
    except (_safefs.UnsafeFile, OSError):
        return None
    for line in data.decode("utf-8", "replace").splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[0] == name:
            try:
                return int(fields[2])
            except ValueError:
                return None
    return None


# --------------------------------------------------------------------------- runners

class _Runner(abc.ABC):
    """One way of starting the candidate: a container runtime's daemon, or buildah in a namespace."""

    method = ""

    @abc.abstractmethod
    def start(self, argv: list, timeout: float) -> Optional[str]:
        """Start the container; None, or the output of a start that failed."""

    @abc.abstractmethod
    def state(self, timeout: float) -> tuple:
        """``(running, exit code or None)``."""

    @abc.abstractmethod
    def pids(self, timeout: float) -> list:
        """The host-visible process ids running in the container."""

    @abc.abstractmethod
    def exec(self, argv: list, timeout: float) -> tuple:
        """Run ``argv`` inside the container: ``(exit code, output)``."""

    @abc.abstractmethod
    def output(self, timeout: float) -> str:
        """What the container printed so far."""

    @abc.abstractmethod
    def stop(self, timeout: float) -> None:
        """Stop and remove everything this runner started."""


class _DaemonRunner(_Runner):
    """``docker run -d`` / ``podman run -d`` with no network."""

    def __init__(self, runtime: str, executable: str, image: str) -> None:
        self.runtime, self.exe, self.image = runtime, executable, image
        self.name = "refarch-probe-" + secrets.token_hex(6)
        self.method = "%s run" % runtime
        self.created = False

    def start(self, argv: list, timeout: float) -> Optional[str]:
        cmd = [self.exe, "run", "-d", "--name", self.name, "--network", "none"]
        if self.runtime == "podman":
            cmd.append("--pull=never")
        cmd.append(self.image)  # the image's own ENTRYPOINT and CMD
        self.created = True
        rc, out, err = run(cmd, timeout=timeout)
        return None if rc == 0 else (err or out or "exit status %s" % rc)

    def _inspect_state(self, timeout: float) -> dict:
        rc, out, _err = run([self.exe, "inspect", "--type", "container", "--format", "{{json .State}}", self.name],
                            timeout=timeout, tail=None)
        if rc != 0:
            return {}
        try:
            state = json.loads(out)
        except ValueError:
            return {}
        return state if isinstance(state, dict) else {}

    def state(self, timeout: float) -> tuple:
        st = self._inspect_state(timeout)
        running = bool(st.get("Running"))
        return running, None if running else st.get("ExitCode")

    def pids(self, timeout: float) -> list:
        pid = self._inspect_state(timeout).get("Pid") or 0
        return [pid, *_descendants(pid)] if isinstance(pid, int) and pid > 0 else []

    def exec(self, argv: list, timeout: float) -> tuple:
        rc, out, err = run([self.exe, "exec", self.name, *argv], timeout=timeout)
        return rc, out + err

    def output(self, timeout: float) -> str:
        _rc, out, err = run([self.exe, "logs", "--tail", "200", self.name], timeout=timeout)
        return out + err

    def stop(self, timeout: float) -> None:
        if self.created:
            run([self.exe, "rm", "--force", self.name], timeout=timeout)


class _BuildahRunner(_Runner):
    """``buildah from`` + ``buildah run --isolation chroot`` in a network namespace of its own."""

    def __init__(self, buildah: str, image: str) -> None:
        self.buildah, self.image = buildah, image
        self.name = "refarch-probe-" + secrets.token_hex(6)
        self.unshare = find_executable("unshare")
        self.nsenter = find_executable("nsenter")
        self.ip = find_executable("ip") or ""
        self.method = "buildah run --isolation chroot" + (" (own network namespace)" if self.unshare else "")
        self.created = False
        self.proc: Optional[subprocess.Popen] = None
        self.log = None
        self.notes: list = []
        if not self.unshare:
            self.notes.append("unshare not found: the probe shared the host's network")
        elif not self.ip:
            self.notes.append("ip not found: the probe's loopback interface stayed down")

    def start(self, argv: list, timeout: float) -> Optional[str]:
        rc, out, err = run([self.buildah, "from", "--pull=never", "--name", self.name, self.image], timeout=timeout)
        if rc != 0:
            return err or out or "buildah from exited with %s" % rc
        self.created = True
        if not argv:
            return "the image has neither ENTRYPOINT nor CMD"
        cmd = [self.buildah, "run", "--isolation", "chroot", self.name, "--", *argv]
        if self.unshare:
            cmd = [self.unshare, "--net", "--", sys.executable, "-c", _LOOPBACK_UP, self.ip, *cmd]
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        return None

    def state(self, timeout: float) -> tuple:
        code = self.proc.poll() if self.proc else -1
        return code is None, code

    def pids(self, timeout: float) -> list:
        if not self.proc or self.proc.poll() is not None:
            return []
        return [pid for pid in _descendants(self.proc.pid) if not _root_is_host(pid)]

    def exec(self, argv: list, timeout: float) -> tuple:
        cmd = [self.buildah, "run", "--isolation", "chroot", self.name, "--", *argv]
        if self.unshare:
            if not self.nsenter or not self.proc:
                return 127, "nsenter not found: cannot run the HEALTHCHECK in the probe's network namespace"
            cmd = [self.nsenter, "--net=/proc/%d/ns/net" % self.proc.pid, "--", *cmd]
        rc, out, err = run(cmd, timeout=timeout)
        return rc, out + err

    def output(self, timeout: float) -> str:
        if self.log is None:
            return ""
        try:
            size = os.fstat(self.log.fileno()).st_size
            self.log.seek(max(0, size - READ_LIMIT))
            return self.log.read(READ_LIMIT).decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self, timeout: float) -> None:
        if self.proc is not None and self.proc.poll() is None:
            _stop_tree(self.proc, grace=min(10.0, max(timeout, 1.0)))
        if self.created:
            run([self.buildah, "rm", self.name], timeout=timeout)

    def close(self) -> None:
        if self.log is not None:
            self.log.close()
            self.log = None


# --------------------------------------------------------------------------- the probe

def _expected_uid(user: str, pids: list) -> tuple:
    """(uid the USER names or None when unknown, its name)."""
    entry = user_entry(user)
    if entry["uid"] is not None:
        return entry["uid"], entry["raw"] or "root"
    for pid in pids:
        uid = _passwd_uid(pid, entry["name"] or "")
        if uid is not None:
            return uid, entry["raw"]
    return None, entry["raw"]


def _watch(runner: _Runner, config: dict, result: dict, seconds: float, deadline: float) -> dict:
    """Poll the started container for ``seconds``: liveness, uids, ports. Returns what was seen."""
    wanted = {(p["port"], p.get("protocol") or "tcp") for p in config["ports"]}
    seen = {"pids": [], "listening": set(), "ever_started": False, "uids": [], "expected": None}
    started = time.monotonic()
    while True:
        remaining = deadline - time.monotonic()
        running, code = runner.state(max(1.0, min(30.0, remaining)))
        pids = runner.pids(max(1.0, min(30.0, remaining))) if running else []
        if pids:
            seen["ever_started"] = True
            seen["pids"] = pids
            # sampled while it runs (the last sample counts): a process that drops root after starting passes
            seen["uids"] = sorted({u for pid in pids for u in (_status_uids(pid) or ())})
            if seen["expected"] is None:
                seen["expected"] = _expected_uid(config["user"], pids)
            if wanted - seen["listening"]:
                seen["listening"] |= _bound_ports(pids[0], _socket_inodes(pids)) & wanted
        result["up_seconds"] = round(time.monotonic() - started, 2)
        if not running:
            result["exit_code"] = code
            return seen
        if time.monotonic() - started >= seconds or time.monotonic() >= deadline:
            return seen
        time.sleep(POLL)


def _healthcheck(runner: _Runner, hc: dict, deadline: float) -> dict:
    test = list(hc.get("test") or [])
    kind = test[0].upper() if test else ""
    argv = test[1:] if kind == "CMD" else ["/bin/sh", "-c", " ".join(test[1:])] if kind == "CMD-SHELL" else []
    out = {"ran": False, "passed": False, "tries": 0, "exit_code": None}
    if not argv:
        out["passed"] = True  # nothing to run (an empty test): the ports and the process decide
        return out
    tries = hc.get("retries") or 3
    per_try = hc.get("timeout_s") or 10.0
    for attempt in range(tries):
        remaining = deadline - time.monotonic()
        if remaining <= 1:
            break
        out["ran"] = True
        out["tries"] = attempt + 1
        rc, _text = runner.exec(argv, min(per_try, remaining))
        out["exit_code"] = rc
        if rc == 0:
            out["passed"] = True
            break
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic() - 1)))
    return out


def _clean_output(text: str, secret_values: list) -> str:
    text = redact_literals(redact_text(text), secret_values)
    if len(text) > OUTPUT_LIMIT:
        text = "\u2026" + text[-(OUTPUT_LIMIT - 1):]
    return printable(text, keep_newlines=True)


def _runners(runtime: str, executable: str, image: str, buildah: Optional[str]) -> list:
    if runtime == "buildah":
        return [_BuildahRunner(executable, image)]
    out: list = [_DaemonRunner(runtime, executable, image)]
    if runtime == "podman" and buildah:
        out.append(_BuildahRunner(buildah, image))  # where podman run is refused (rlimits in a sandbox)
    return out


def probe(runtime: str, executable: str, image: str, *, seconds: float = 5.0, timeout: float = 60.0,
          require_non_root: bool = True, check_ports: bool = True, check_healthcheck: bool = True,
          buildah: Optional[str] = None) -> dict:
    """Start ``image`` once and judge it; the result dict (``passed``, ``reason``, what was seen).

    Raises ProbeError when the image cannot be read or no runner can start any container at all.
    """
    deadline = time.monotonic() + timeout
    result = _result()
    config = image_config(runtime, executable, image, min(60.0, timeout))
    result["user"] = config["user"]
    result["ports_declared"] = ["%s/%s" % (p["port"], p.get("protocol") or "tcp") for p in config["ports"]]
    failures = []
    for runner in _runners(runtime, executable, image, buildah):
        try:
            result["method"] = runner.method
            text, seen = _one_run(runner, config, result, seconds=seconds, deadline=deadline,
                                  check_healthcheck=check_healthcheck)
        finally:
            try:
                runner.stop(max(5.0, min(60.0, deadline - time.monotonic() + 5)))
            finally:
                if isinstance(runner, _BuildahRunner):
                    result["notes"] += runner.notes
                    runner.close()
        if seen is None:  # could not start a container at all: try the next way
            failures.append("%s: %s" % (runner.method, _clean_output(text, config["secret_values"]).strip()[-500:]))
            continue
        result["output"] = _clean_output(text, config["secret_values"])
        _judge(result, config, seen, seconds=seconds, require_non_root=require_non_root, check_ports=check_ports)
        return result
    raise ProbeError("could not start a container from %s (%s)" % (image, "; ".join(failures) or "no runner"))


def _one_run(runner: _Runner, config: dict, result: dict, *, seconds: float, deadline: float,
             check_healthcheck: bool) -> tuple:
    """Start, watch and (when it stays up) health-check one container: (its output, what was seen or None)."""
    for attempt in range(2):
        failed = runner.start(config["argv"], max(1.0, min(120.0, deadline - time.monotonic())))
        if failed is not None:
            return failed, None
        seen = _watch(runner, config, result, seconds, deadline)
        text = runner.output(max(1.0, min(30.0, deadline - time.monotonic() + 5)))
        if (not seen["ever_started"] and result["exit_code"] not in (None, 0) and _MEMFD_RACE in text
                and attempt == 0 and isinstance(runner, _BuildahRunner)):
            runner.stop(30.0)
            runner.close()
            runner.created = False
            runner.name = "refarch-probe-" + secrets.token_hex(6)
            result["notes"].append("buildah failed before the command started (%s); started again" % _MEMFD_RACE)
            continue
        break
    result["started"] = True
    hc = config["healthcheck"]
    if check_healthcheck and hc and not hc.get("none") and result["exit_code"] is None:
        result["healthcheck"] = _healthcheck(runner, hc, deadline)
        text = runner.output(max(1.0, min(30.0, deadline - time.monotonic() + 5)))
    return text, seen


def _judge(result: dict, config: dict, seen: dict, *, seconds: float, require_non_root: bool,
           check_ports: bool) -> None:
    problems = []
    if result["exit_code"] is not None:
        problems.append("the container exited with code %s after %.1fs (it must stay up %ss)"
                        % (result["exit_code"], result["up_seconds"], seconds))
    elif not seen["pids"]:
        problems.append("no process of the container could be seen in /proc")
    if seen["pids"] and result["exit_code"] is None:  # judged on the last sample of a container still up
        expected = (seen["expected"] or (None, ""))[0]
        result["expected_uid"] = expected
        uids = seen["uids"]
        result["uids"] = uids
        if not uids:
            problems.append("the uid of the container's processes could not be read")
        elif expected is not None and uids != [expected]:
            problems.append("the container runs as uid %s, not as the image's USER %r (uid %s)"
                            % (", ".join(map(str, uids)), config["user"] or "root", expected))
        if require_non_root and 0 in uids:
            problems.append("the container runs as root (uid 0)")
    listening = sorted(seen["listening"])
    result["ports_listening"] = ["%s/%s" % p for p in listening]
    if check_ports and result["exit_code"] is None and seen["pids"]:
        missing = [p for p in result["ports_declared"] if p not in result["ports_listening"]]
        if missing:
            problems.append("it does not listen on %s after %ss (declared: %s)"
                            % (", ".join(missing), seconds, ", ".join(result["ports_declared"])))
    hc = result["healthcheck"]
    if hc is not None and not hc["passed"]:
        problems.append("its HEALTHCHECK failed (%s tries, last exit code %s)" % (hc["tries"], hc["exit_code"]))
    result["passed"] = not problems
    result["reason"] = "; ".join(problems)
