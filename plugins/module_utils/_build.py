# -*- coding: utf-8 -*-
# Copyright: refarch.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Image build helpers shared by the image_build and image_promote modules.

Everything that reaches a container engine is an argument list built here from
validated values: image references are checked against the reference grammar
and paths must be absolute, so a tag such as ``x; rm -rf /`` is refused with a
clear message before anything runs. Pure functions except :func:`run`.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from typing import Dict, List, Optional, Sequence, Tuple

from ansible_collections.refarch.containers.plugins.module_utils._image_ref import ImageRef

LABEL_SHA = "io.refarch.containers.dockerfile.sha256"
LABEL_PATH = "io.refarch.containers.dockerfile.path"
LABEL_SOURCE = "io.refarch.containers.rebuilt-from"
#: what a candidate was built from (image_build sets them; see _build_context for the digest)
LABEL_CONTEXT = "io.refarch.containers.context.path"
LABEL_CONTEXT_DIGEST = "io.refarch.containers.context.digest"
LABEL_BASES = "io.refarch.containers.base-images"
LABEL_TARGET = "io.refarch.containers.build.target"
LABEL_BUILD_ARGS = "io.refarch.containers.build.arg-names"

#: The container runtimes that build (the modules' option ``runtime``, alias ``engine``).
RUNTIMES = ("podman", "buildah", "docker")

_ARG_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TARGET_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class BuildError(Exception):
    """A build request that cannot be carried out; the message says why."""


def checked_reference(ref: str) -> ImageRef:
    """The image reference ``ref``, refusing anything outside the reference grammar."""
    if not isinstance(ref, str) or not ref or len(ref) > 255:
        raise BuildError("image reference must be a non-empty string of at most 255 characters")
    try:
        return ImageRef.parse(ref, strict=True)
    except ValueError:
        raise BuildError(
            "invalid image reference %r: expected [registry[:port]/]name[:tag][@sha256:digest] "
            "with lowercase name components" % ref
        ) from None


def validate_reference(ref: str) -> str:
    checked_reference(ref)
    return ref


def candidate_reference(image: str, dockerfile_sha256: str) -> str:
    """The tag a rebuild is built under before it is verified and promoted."""
    parts = checked_reference(image)
    if parts.digest:
        raise BuildError("cannot rebuild into a digest reference %r: give a tag" % image)
    if not re.match(r"^[a-f0-9]{12,64}$", dockerfile_sha256 or ""):
        raise BuildError("dockerfile sha256 must be hex")
    name = parts.name
    tag = parts.tag or "latest"
    suffix = "-refarch-" + dockerfile_sha256[:12]
    return "%s:%s%s" % (name, tag[: 128 - len(suffix)], suffix)


def previous_reference(image: str, suffix: str = "-refarch-previous") -> str:
    parts = checked_reference(image)
    name = parts.name
    tag = parts.tag or "latest"
    return validate_reference("%s:%s%s" % (name, tag[: 128 - len(suffix)], suffix))


def find_runtime(preferred: str = "auto", executable: Optional[str] = None) -> Tuple[str, str]:
    """Return (container runtime name, executable path) or raise BuildError."""
    if executable:
        if not os.path.isabs(executable) or not os.access(executable, os.X_OK):
            raise BuildError("executable %r is not an absolute path to an executable file" % executable)
        name = os.path.basename(executable)
        engine = preferred if preferred != "auto" else next((e for e in RUNTIMES if name.startswith(e)), "")
        if engine not in RUNTIMES:
            raise BuildError("cannot tell which runtime %r is: set runtime to podman, buildah or docker" % executable)
        return engine, executable
    candidates = RUNTIMES if preferred == "auto" else (preferred,)
    for engine in candidates:
        path = shutil.which(engine)
        if path:
            return engine, path
    raise BuildError("no container engine found on this host (looked for %s)" % ", ".join(candidates))


def build_argv(  # noqa: PLR0917 - one argument per build option, called from image_build only
    engine: str,
    executable: str,
    dockerfile: str,
    context: str,
    tag: str,
    labels: Dict[str, str],
    build_args: Dict[str, str],
    target: Optional[str] = None,
    isolation: Optional[str] = "chroot",
    pull: str = "never",
    network: Optional[str] = None,
) -> List[str]:
    """The exact argument list for one build. Values are validated, never quoted for a shell."""
    for path, what in ((dockerfile, "dockerfile"), (context, "context")):
        if not os.path.isabs(path):
            raise BuildError("%s must be an absolute path, got %r" % (what, path))
    validate_reference(tag)
    if target is not None and not _TARGET_RE.match(target):
        raise BuildError("invalid build target %r" % target)
    if pull not in ("never", "missing", "always"):
        raise BuildError("pull must be never, missing or always")
    if network is not None and network not in ("none", "host", "default", "private"):
        raise BuildError("network must be none, host, default or private")
    if engine == "docker":
        argv = [executable, "build", "--file", dockerfile, "--tag", tag]
        if pull == "always":
            argv.append("--pull")
    elif engine in ("podman", "buildah"):
        argv = [executable, "build" if engine == "podman" else "bud", "--file", dockerfile, "--tag", tag,
                "--pull=%s" % pull]
        if isolation:
            if isolation not in ("chroot", "oci", "rootless"):
                raise BuildError("isolation must be chroot, oci or rootless")
            argv.append("--isolation=%s" % isolation)
    else:
        raise BuildError("unknown engine %r" % engine)
    if network:
        argv.append("--network=%s" % network)
    for key in sorted(labels):
        if "\n" in key or "=" in key or "\n" in str(labels[key]):
            raise BuildError("label %r cannot contain newlines or '='" % key)
        argv += ["--label", "%s=%s" % (key, labels[key])]
    for key in sorted(build_args):
        if not _ARG_NAME_RE.match(key):
            raise BuildError("invalid build argument name %r" % key)
        argv += ["--build-arg", "%s=%s" % (key, build_args[key])]
    if target:
        argv += ["--target", target]
    argv.append(context)
    return argv


def masked(argv: Sequence[str], secrets: Sequence[str]) -> List[str]:
    """The argument list with build-argument values replaced, for results and logs."""
    out: List[str] = []
    mask_next = False
    for arg in argv:
        if mask_next:
            name = arg.split("=", 1)[0]
            out.append("%s=********" % name)
            mask_next = False
            continue
        if arg == "--build-arg":
            mask_next = True
        text = arg
        for secret in secrets:
            if secret and len(secret) >= 3:
                text = text.replace(secret, "********")
        out.append(text)
    return out


def _descendants(pid: int) -> List[int]:
    """Process ids below ``pid`` (Linux /proc; empty elsewhere)."""
    children: Dict[int, List[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as handle:
                stat = handle.read().decode("utf-8", "replace")
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found: List[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _signal_tree(proc: subprocess.Popen[bytes], sig: int, tree: List[int]) -> None:
    try:
        os.killpg(proc.pid, sig)
    except OSError:
        pass
    for pid in tree:  # engines start some helpers in sessions of their own
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def _stop_tree(proc: subprocess.Popen[bytes], grace: float = 10.0) -> bytes:
    """Stop a timed-out command and everything it started: SIGTERM (the engine cleans up), then SIGKILL."""
    tree = _descendants(proc.pid)
    _signal_tree(proc, signal.SIGTERM, tree)
    out = b""
    try:
        out, _err = proc.communicate(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    tree = sorted(set(tree) | set(_descendants(proc.pid)))
    _signal_tree(proc, signal.SIGKILL, tree)
    if proc.poll() is None:
        proc.kill()
    try:
        more, _err = proc.communicate(timeout=5)
        out = out or more or b""
    except (subprocess.TimeoutExpired, ValueError):
        pass
    return out or b""


def run(argv: Sequence[str], timeout: float, tail: Optional[int] = 8000) -> Tuple[int, str, str]:
    """Run an argument list (never a shell) with a timeout.

    Build output is long: by default only the last ``tail`` bytes of stdout and stderr are kept. Pass
    ``tail=None`` for commands whose whole output is parsed (``image inspect`` JSON).
    """
    try:
        # own session: on a timeout the whole tree goes (a build's RUN step is a grandchild of the engine)
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
    except OSError as exc:
        return 127, "", "cannot run %s: %s" % (argv[0], exc)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        out = _stop_tree(proc)
        return 124, out[-4000:].decode("utf-8", "replace"), "timed out after %ss" % timeout
    if tail is not None:
        out, err = out[-tail:], err[-tail:]
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def inspect_argv(engine: str, executable: str, ref: str) -> List[str]:
    validate_reference(ref)
    if engine == "buildah":
        return [executable, "inspect", "--type", "image", ref]
    return [executable, "image", "inspect", ref]


def tag_argv(engine: str, executable: str, source: str, dest: str) -> List[str]:
    validate_reference(dest)
    if not re.match(r"^(?:[a-f0-9]{12,64}|sha256:[a-f0-9]{64})$", source):
        validate_reference(source)
    return [executable, "tag", source, dest]


def untag_argv(engine: str, executable: str, ref: str) -> List[str]:
    validate_reference(ref)
    if engine == "buildah":
        return [executable, "rmi", ref]
    # `podman untag IMAGE` with no NAME removes every name of the image (the promoted tag too): name the one to go
    return [executable, "image", "rm", ref] if engine == "docker" else [executable, "untag", ref, ref]
