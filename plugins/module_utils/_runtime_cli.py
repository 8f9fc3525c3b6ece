# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container runtime command lines (podman, docker, buildah), host side, stdlib only.

"Runtime" here is what runs containers and stores images; the *policy engine* (OPA, the
embedded regorus/regopy) is controller code in ``plugin_utils/_engine_*.py``. The modules'
options say so (``runtime``, ``require_runtime``; ``engine`` and ``require_engine`` remain as
aliases); their results keep their names (``engines``, ``engine_error``, a document's ``engine``).

Every command runs from an argument list (never a shell) with a timeout and a cap on
the output kept in memory. Failures come back as :class:`RuntimeCommandError` with a short
``code`` (``not_installed``, ``daemon_unreachable``, ``permission_denied``,
``timeout``, ``bad_output``, ``command_failed``, ``output_too_large``) so a module can
report a clear per-runtime status instead of a traceback.

What is runtime specific lives here: how to find the executable, the global options
(``--host`` for docker; ``--root``/``--runroot``/``--storage-driver`` for podman and
buildah, which is how the storage of another (rootless) user is read), and how to list
images and containers. Normalizing what the runtimes return is ``_image_facts`` and
``_container_facts``' job.
"""

from __future__ import annotations

import calendar
import fnmatch
import json
import os
import pwd
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from typing import Any, Optional

RUNTIME_NAMES = ("podman", "docker")
DEFAULT_TIMEOUT = 60
DEFAULT_MAX_OUTPUT = 256 * 1024 * 1024  # bytes of stdout kept from one command
INSPECT_CHUNK = 500  # ids per inspect call: each call loads the whole store, so few big calls win
_EXTRA_PATHS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class RuntimeCommandError(Exception):
    """A container runtime command that could not give an answer."""

    def __init__(self, code: str, message: str, argv: Optional[Sequence[str]] = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.argv = list(argv) if argv else None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``{"code", "message", "command"}``."""
        return {"code": self.code, "message": self.message, "command": self.argv}


def parse_duration(value: Any) -> Optional[float]:
    """Seconds from ``None``, a number, or a string like ``90``, ``45m``, ``12h``, ``7d``, ``2w``.

    Raises ValueError for anything else.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"negative duration: {value!r}")
        return float(value)
    m = _DURATION_RE.match(str(value))
    if not m:
        raise ValueError(f"not a duration: {value!r} (use seconds or a number with s, m, h, d or w)")
    return float(m.group(1)) * _DURATION_UNITS[m.group(2).lower()]


def parse_timestamp(value: Any) -> Optional[float]:
    """Epoch seconds from an engine timestamp: an int/float, RFC 3339 (any fraction/offset) or docker's
    ``2024-01-02 03:04:05 +0000 UTC`` form. None when unknown or unparsable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if value > 0 else None
    text = str(value).strip()
    m = re.match(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d+)?\s*(Z|[+-]\d{2}:?\d{2})?", text)
    if not m:
        return None
    year, month, day, hour, minute, sec = (int(m.group(i)) for i in range(1, 7))
    if year < 1971:  # zero time ("0001-01-01T00:00:00Z") means unknown
        return None
    epoch = float(calendar.timegm((year, month, day, hour, minute, sec, 0, 0, 0)))
    if m.group(7):
        epoch += float("0" + m.group(7))
    off = m.group(8)
    if off and off != "Z":
        sign = 1 if off[0] == "+" else -1
        digits = off[1:].replace(":", "")
        epoch -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return epoch


def iso_utc(epoch: Optional[float]) -> Optional[str]:
    """``2026-11-28T11:22:57Z`` from epoch seconds (None stays None)."""
    if epoch is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def find_executable(name: str) -> Optional[str]:
    """The path of ``name`` (a name or an absolute path) on PATH or the usual sbin/bin directories."""
    if os.path.isabs(name):
        return name if os.path.isfile(name) and os.access(name, os.X_OK) else None
    path = os.environ.get("PATH", "")
    extra = os.pathsep.join(p for p in _EXTRA_PATHS if p not in path.split(os.pathsep))
    return shutil.which(name, path=path + (os.pathsep + extra if extra else ""))


def _classify(stderr: str) -> str:
    low = stderr.lower()
    if "permission denied" in low and ("sock" in low or "connect" in low or "daemon" in low):
        return "permission_denied"
    if ("cannot connect to the docker daemon" in low or "is the docker daemon running" in low
            or "connection refused" in low or ("no such file or directory" in low and ".sock" in low)
            or "error during connect" in low):
        return "daemon_unreachable"
    if "permission denied" in low:
        return "permission_denied"
    return "command_failed"


def _label(argv: Sequence[str]) -> str:
    """``podman image inspect`` from a full argument list: the program and its first two plain words."""
    words = [os.path.basename(argv[0])] if argv else []
    skip = False
    for word in argv[1:]:
        if skip:
            skip = False
            continue
        if word.startswith("-"):
            skip = "=" not in word and word in ("--host", "-H", "--root", "--runroot", "--storage-driver")
            continue
        words.append(word)
        if len(words) == 3:
            break
    return " ".join(words)


def _first_line(text: str, limit: int = 400) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    msg = lines[-1] if lines else ""
    for ln in lines:  # prefer the line that says "Error"
        if ln.lower().startswith("error"):
            msg = ln
            break
    return msg[:limit]


class ContainerRuntime:
    """One runtime's command line: executable, global options and environment."""

    def __init__(self, name: str, executable: str, *, global_args: Optional[list[str]] = None,
                 env: Optional[dict[str, str]] = None, timeout: float = DEFAULT_TIMEOUT,
                 max_output: int = DEFAULT_MAX_OUTPUT, buildah: Optional[str] = None,
                 buildah_args: Optional[list[str]] = None) -> None:
        self.name = name
        self.executable = executable
        self.global_args = list(global_args or [])
        self.env = dict(env or {})
        self.timeout = timeout
        self.max_output = max_output
        self.buildah = buildah
        self.buildah_args = list(buildah_args or [])
        self.commands: list[list[str]] = []  # audit trail of what ran

    def argv(self, args: Sequence[str]) -> list[str]:
        """The full argument list for ``args``."""
        return [self.executable, *self.global_args, *list(args)]

    def run(self, args: Sequence[str], timeout: Optional[float] = None, check: bool = True,
            executable_argv: Optional[list[str]] = None) -> tuple[int, str, str]:
        """Run one command; return ``(rc, stdout, stderr)``.

        Raises RuntimeCommandError on a missing executable, a timeout, too much output, or (with
        ``check``) a non-zero exit status.
        """
        argv = executable_argv if executable_argv is not None else self.argv(args)
        self.commands.append(argv)
        env = dict(os.environ)
        env.update(self.env)
        env.setdefault("LC_ALL", "C")
        try:
            proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, env=env,
                                  timeout=timeout or self.timeout, check=False)
        except FileNotFoundError:
            raise RuntimeCommandError("not_installed", f"{argv[0]}: executable not found", argv) from None
        except PermissionError as exc:
            raise RuntimeCommandError("permission_denied", f"{argv[0]}: {exc}", argv) from exc
        except subprocess.TimeoutExpired:
            raise RuntimeCommandError("timeout", f"{_label(argv)} did not finish within {timeout or self.timeout}s",
                                      argv) from None
        except OSError as exc:
            raise RuntimeCommandError("command_failed", f"{argv[0]}: {exc}", argv) from exc
        if len(proc.stdout) > self.max_output:
            raise RuntimeCommandError("output_too_large", f"{_label(argv)} printed more than {self.max_output} bytes",
                                      argv)
        out = proc.stdout.decode("utf-8", "replace")
        err = proc.stderr.decode("utf-8", "replace")
        if check and proc.returncode != 0:
            raise RuntimeCommandError(_classify(err), f"{_label(argv)} failed (rc={proc.returncode}): "
                                      f"{_first_line(err) or 'no message'}", argv)
        return proc.returncode, out, err

    def run_json(self, args: Sequence[str], timeout: Optional[float] = None, lines: bool = False) -> Any:
        """Run a command and parse its JSON output (``lines``: one JSON document per line)."""
        _rc, out, _err = self.run(args, timeout=timeout)
        try:
            if lines:
                return [json.loads(ln) for ln in out.splitlines() if ln.strip()]
            text = out.strip()
            return json.loads(text) if text else []
        except ValueError as exc:
            raise RuntimeCommandError("bad_output", f"{_label(self.argv(args))} did not print JSON: {exc}",
                                      self.argv(args)) from exc

    # ------------------------------------------------------------------ status
    def probe(self) -> dict[str, Any]:
        """Check that the runtime answers; return ``{"version": ..., "server": bool}`` or raise RuntimeCommandError."""
        if self.name == "docker":
            data = self.run_json(["version", "--format", "{{json .}}"])
            server = data.get("Server") if isinstance(data, dict) else None
            if not server:
                raise RuntimeCommandError("daemon_unreachable", "docker daemon did not answer", self.argv(["version"]))
            return {"version": server.get("Version"), "api_version": server.get("ApiVersion")}
        data = self.run_json(["version", "--format", "json"])  # also validates --root/--runroot
        client = (data.get("Client") or {}) if isinstance(data, dict) else {}
        return {"version": client.get("Version"), "api_version": client.get("APIVersion"),
                "graph_root": self._global("--root"), "run_root": self._global("--runroot")}

    def _global(self, flag: str) -> Optional[str]:
        """The value of a global option we pass (``--root`` ...), or None."""
        for i, word in enumerate(self.global_args[:-1]):
            if word == flag:
                return self.global_args[i + 1]
        return None

    # ------------------------------------------------------------------ images
    def list_images(self) -> list[dict[str, Any]]:
        """Every (non-intermediate) image: ``[{"id", "names", "created", "dangling"}]``, ids without a prefix."""
        if self.name == "docker":
            rows = self.run_json(["images", "--no-trunc", "--format", "{{json .}}"], lines=True)
            by_id: dict[str, dict[str, Any]] = {}
            for row in rows:
                iid = _bare_id(row.get("ID"))
                if not iid:
                    continue
                entry = by_id.setdefault(iid, {"id": iid, "names": [], "created": parse_timestamp(row.get("CreatedAt")),
                                               "dangling": True})
                repo, tag = row.get("Repository") or "<none>", row.get("Tag") or "<none>"
                if repo != "<none>" and tag != "<none>":
                    entry["names"].append(f"{repo}:{tag}")
                    entry["dangling"] = False
                elif repo != "<none>":
                    entry["dangling"] = False  # digest-only reference
            return list(by_id.values())
        rows = self.run_json(["images", "--no-trunc", "--format", "json"])
        out = []
        for row in rows or []:
            iid = _bare_id(row.get("Id") or row.get("ID"))
            if not iid:
                continue
            names = [n for n in (row.get("Names") or []) if n]
            out.append({"id": iid, "names": names, "created": parse_timestamp(row.get("Created")),
                        "dangling": bool(row.get("Dangling")) if "Dangling" in row else not names})
        return out

    def inspect_images(self, ids: Sequence[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Inspect images in chunks; an image that vanished in between becomes an error entry."""
        return self._inspect(["image", "inspect"], ids)

    def inspect_containers(self, ids: Sequence[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Inspect containers in chunks (same contract as :meth:`inspect_images`)."""
        return self._inspect(["container", "inspect"], ids)

    def _inspect(self, verb: list[str], ids: Sequence[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        found: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for start in range(0, len(ids), INSPECT_CHUNK):
            chunk = list(ids[start:start + INSPECT_CHUNK])
            try:
                found.extend(_as_list(self.run_json(verb + chunk)))
            except RuntimeCommandError as exc:
                if exc.code in ("timeout", "not_installed", "daemon_unreachable", "permission_denied"):
                    raise
                for one in chunk:  # one of them disappeared meanwhile: retry one by one
                    try:
                        found.extend(_as_list(self.run_json([*verb, one])))
                    except RuntimeCommandError as exc1:
                        if exc1.code in ("timeout", "daemon_unreachable"):
                            raise
                        errors.append({"id": one, "error": exc1.as_dict()})
        return found, errors

    def image_history(self, image_id: str) -> list[dict[str, Any]]:
        """``history`` of one image, oldest first: ``[{"created", "created_by", "size", "comment", "empty_layer"}]``."""
        rows = self.run_json(["history", "--no-trunc", "--format", "{{json .}}", image_id], lines=True)
        out = []
        for row in reversed(rows):
            size = row.get("Size")
            out.append({"created": row.get("CreatedAt"), "created_by": row.get("CreatedBy"),
                        "size": size, "comment": row.get("Comment") or None,
                        "empty_layer": size in ("0B", "0 B", 0, "0")})
        return out

    # ------------------------------------------------------------------ containers
    def list_containers(self, all_states: bool = False) -> list[str]:
        """Ids of running containers (all of them with ``all_states``)."""
        args = ["ps", "--no-trunc", "--quiet"]
        if all_states:
            args.append("--all")
        _rc, out, _err = self.run(args)
        return [ln.strip() for ln in out.splitlines() if ln.strip()]

    # ------------------------------------------------------------------ node version probe
    def probe_node_version(self, image_id: str, timeout: float) -> dict[str, Any]:
        """Run ``node --version`` in the image; ``{"version", "method", "error"}``.

        docker: ``docker run --rm --network none --entrypoint node``. podman: the same with
        ``podman run``, and when that fails (it does in some sandboxes) ``buildah from`` +
        ``buildah run --isolation chroot`` on the same storage.
        """
        run_args = ["run", "--rm", "--network", "none", "--entrypoint", "node"]
        if self.name == "podman":
            run_args.append("--pull=never")
        run_args += [image_id, "--version"]
        first_error = None
        try:
            _rc, out, _err = self.run(run_args, timeout=timeout)
            return {"version": _node_version(out), "method": f"{self.name} run", "error": None}
        except RuntimeCommandError as exc:
            first_error = exc
        if self.name == "podman" and self.buildah:
            try:
                return {"version": self._buildah_node_version(image_id, timeout), "method": "buildah run",
                        "error": None}
            except RuntimeCommandError as exc:
                return {"version": None, "method": "buildah run", "error": f"{first_error.message}; {exc.message}"}
        return {"version": None, "method": f"{self.name} run", "error": first_error.message}

    def _buildah_node_version(self, image_id: str, timeout: float) -> Optional[str]:
        base = [self.buildah or "buildah", *self.buildah_args]
        _rc, out, _err = self.run([], timeout=timeout,
                                  executable_argv=[*base, "from", "--pull-never", "--quiet", image_id])
        ctr = out.strip().splitlines()[-1] if out.strip() else ""
        if not ctr:
            raise RuntimeCommandError("bad_output", "buildah from printed no container name", base)
        try:
            _rc, out, _err = self.run([], timeout=timeout, executable_argv=[
                *base, "run", "--isolation", "chroot", ctr, "--", "node", "--version"])
            return _node_version(out)
        finally:
            try:
                self.run([], timeout=timeout, check=False, executable_argv=[*base, "rm", ctr])
            except RuntimeCommandError:
                pass


def _node_version(out: str) -> Optional[str]:
    m = re.search(r"v?(\d+\.\d+\.\d+)", out or "")
    return m.group(1) if m else None


def _as_list(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, list):
        return [d for d in data if isinstance(d, dict)]
    if isinstance(data, dict):
        return [data]
    return []


def _bare_id(value: Any) -> str:
    text = str(value or "")
    return text.split(":", 1)[1] if text.startswith("sha256:") else text


def podman_user_storage(user: str) -> tuple[str, str]:
    """``(graph_root, run_root)`` of a rootless podman user's default storage (XDG defaults).

    Raises ValueError when the user does not exist.
    """
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        raise ValueError(f"no such user: {user}") from None
    return (os.path.join(pw.pw_dir, ".local", "share", "containers", "storage"),
            f"/run/user/{pw.pw_uid}/containers")


def runtime_status(name: str, executable: Optional[str], available: bool,
                   error: Optional[RuntimeCommandError] = None,
                   details: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """One entry of the module's ``engines`` list."""
    entry: dict[str, Any] = {"name": name, "executable": executable, "available": available,
                             "version": None, "error": None, "error_code": None}
    if details:
        keep = ("version", "api_version", "graph_root", "run_root")
        entry.update({k: v for k, v in details.items() if k in keep})
    if error is not None:
        entry["error"] = error.message
        entry["error_code"] = error.code
    return entry


def detect_runtimes(runtime: str = "auto", *, executable: Optional[str] = None, docker_host: Optional[str] = None,
                    podman_root: Optional[str] = None, podman_runroot: Optional[str] = None,
                    podman_storage_driver: Optional[str] = None, podman_user: Optional[str] = None,
                    timeout: float = DEFAULT_TIMEOUT) -> tuple[list[ContainerRuntime], list[dict[str, Any]]]:
    """Find the container runtimes to use and check that they answer.

    ``runtime``: ``auto`` (every runtime found; absent ones are reported with ``not_installed``
    only when none is found at all), ``podman`` or ``docker``. ``executable`` overrides the
    path of the chosen runtime (with ``auto`` its basename picks the runtime).

    Returns ``(usable runtimes, status entries)``; never raises for a runtime problem.
    """
    if runtime not in ("auto", *RUNTIME_NAMES):
        raise ValueError(f"runtime must be auto, podman or docker, not {runtime!r}")
    wanted: list[str] = list(RUNTIME_NAMES) if runtime == "auto" else [runtime]
    if runtime == "auto" and executable:
        base = os.path.basename(executable)
        wanted = [n for n in RUNTIME_NAMES if n in base] or list(RUNTIME_NAMES)
    usable: list[ContainerRuntime] = []
    status: list[dict[str, Any]] = []
    missing: list[dict[str, Any]] = []
    for name in wanted:
        path = find_executable(executable) if executable else find_executable(name)
        if not path:
            err = RuntimeCommandError("not_installed", f"{name} not found (looked for {executable or name!r} on PATH "
                                      f"and in {', '.join(_EXTRA_PATHS)})")
            missing.append(runtime_status(name, executable, False, err))
            continue
        global_args: list[str] = []
        env: dict[str, str] = {}
        buildah_args: list[str] = []
        if name == "docker":
            if docker_host:
                host = docker_host if "://" in docker_host else "unix://" + docker_host
                global_args = ["--host", host]
        else:
            root, runroot = podman_root, podman_runroot
            if podman_user:
                try:
                    user_root, user_runroot = podman_user_storage(podman_user)
                except ValueError as exc:
                    status.append(runtime_status(name, path, False, RuntimeCommandError("bad_option", str(exc))))
                    continue
                root = root or user_root
                runroot = runroot or user_runroot
            for flag, value in (("--root", root), ("--runroot", runroot),
                                ("--storage-driver", podman_storage_driver)):
                if value:
                    global_args += [flag, value]
            buildah_args = list(global_args)
        eng = ContainerRuntime(name, path, global_args=global_args, env=env, timeout=timeout,
                               buildah=find_executable("buildah"), buildah_args=buildah_args)
        try:
            details = eng.probe()
        except RuntimeCommandError as exc:
            status.append(runtime_status(name, path, False, exc))
            continue
        usable.append(eng)
        status.append(runtime_status(name, path, True, None, details))
    if runtime != "auto" or not status:
        status.extend(missing)
    else:
        # auto: a missing runtime is worth a line, but it is not an error for the host
        for entry in missing:
            entry["error_code"] = "not_installed"
            status.append(entry)
    return usable, status


def select_images(listing: list[dict[str, Any]], *, names: Optional[Sequence[str]] = None, dangling: str = "include",
                  max_age: Optional[float] = None, min_age: Optional[float] = None,
                  now: Optional[float] = None) -> list[dict[str, Any]]:
    """Filter an image listing (from :meth:`ContainerRuntime.list_images`); newest first.

    ``names``: glob patterns matched against every name of an image, also in its short forms
    (``node:20`` matches ``docker.io/library/node:20``) and against the id (prefix).
    ``dangling``: ``include`` | ``exclude`` | ``only``. Ages in seconds, from ``created``; an image
    with an unknown creation time passes age filters only when none is set.
    """
    if dangling not in ("include", "exclude", "only"):
        raise ValueError("dangling must be include, exclude or only")
    now = time.time() if now is None else now
    out = []
    for img in listing:
        if dangling == "exclude" and img.get("dangling"):
            continue
        if dangling == "only" and not img.get("dangling"):
            continue
        created = img.get("created")
        if max_age is not None or min_age is not None:
            if created is None:
                continue
            age = now - created
            if max_age is not None and age > max_age:
                continue
            if min_age is not None and age < min_age:
                continue
        if names and not _name_matches(img, names):
            continue
        out.append(img)
    out.sort(key=lambda i: (-(i.get("created") or 0), i.get("id") or ""))
    return out


def short_names(name: str) -> list[str]:
    """``docker.io/library/node:20`` → itself, ``library/node:20``, ``node:20``; ``localhost/x`` → ``x`` too."""
    forms = [name]
    for prefix in ("docker.io/library/", "docker.io/", "localhost/"):
        if name.startswith(prefix):
            forms.append(name[len(prefix):])
    return forms


def _name_matches(img: dict[str, Any], patterns: Sequence[str]) -> bool:
    iid = img.get("id") or ""
    for pat in patterns:
        if iid and (iid.startswith(pat) or (pat.startswith("sha256:") and iid.startswith(pat[7:]))):
            return True
        for name in img.get("names") or []:
            for form in short_names(name):
                if fnmatch.fnmatchcase(form, pat):
                    return True
    return False
