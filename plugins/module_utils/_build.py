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
import subprocess
from typing import Dict, List, Optional, Sequence, Tuple

LABEL_SHA = "io.refarch.containers.dockerfile.sha256"
LABEL_PATH = "io.refarch.containers.dockerfile.path"
LABEL_SOURCE = "io.refarch.containers.rebuilt-from"

ENGINES = ("podman", "buildah", "docker")

# The distribution reference grammar (name components, optional registry with
# port, tag, digest), written out here so references are checked before use.
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_REFERENCE_RE = re.compile(
    rf"^(?:(?P<domain>{_DOMAIN})/)?(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>sha256:[a-f0-9]{{64}}))?$"
)
_ARG_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TARGET_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class BuildError(Exception):
    """A build request that cannot be carried out; the message says why."""


def parse_reference(ref: str) -> Dict[str, Optional[str]]:
    """Split an image reference, refusing anything outside the grammar."""
    if not isinstance(ref, str) or not ref or len(ref) > 255:
        raise BuildError("image reference must be a non-empty string of at most 255 characters")
    match = _REFERENCE_RE.match(ref)
    if not match:
        raise BuildError(
            "invalid image reference %r: expected [registry[:port]/]name[:tag][@sha256:digest] "
            "with lowercase name components" % ref
        )
    domain = match.group("domain")
    path = match.group("path")
    # "name/x" without a dot, colon or localhost is a path component, not a registry.
    if domain and "." not in domain and ":" not in domain and domain != "localhost":
        path = "%s/%s" % (domain, path)
        domain = None
    return {"registry": domain, "repository": path, "tag": match.group("tag"), "digest": match.group("digest")}


def validate_reference(ref: str) -> str:
    parse_reference(ref)
    return ref


def candidate_reference(image: str, dockerfile_sha256: str) -> str:
    """The tag a rebuild is built under before it is verified and promoted."""
    parts = parse_reference(image)
    if parts["digest"]:
        raise BuildError("cannot rebuild into a digest reference %r: give a tag" % image)
    if not re.match(r"^[a-f0-9]{12,64}$", dockerfile_sha256 or ""):
        raise BuildError("dockerfile sha256 must be hex")
    name = parts["repository"] if not parts["registry"] else "%s/%s" % (parts["registry"], parts["repository"])
    tag = parts["tag"] or "latest"
    suffix = "-refarch-" + dockerfile_sha256[:12]
    return "%s:%s%s" % (name, tag[: 128 - len(suffix)], suffix)


def previous_reference(image: str, suffix: str = "-refarch-previous") -> str:
    parts = parse_reference(image)
    name = parts["repository"] if not parts["registry"] else "%s/%s" % (parts["registry"], parts["repository"])
    tag = parts["tag"] or "latest"
    return validate_reference("%s:%s%s" % (name, tag[: 128 - len(suffix)], suffix))


def find_engine(preferred: str = "auto", executable: Optional[str] = None) -> Tuple[str, str]:
    """Return (engine name, executable path) or raise BuildError."""
    if executable:
        if not os.path.isabs(executable) or not os.access(executable, os.X_OK):
            raise BuildError("executable %r is not an absolute path to an executable file" % executable)
        name = os.path.basename(executable)
        engine = preferred if preferred != "auto" else next((e for e in ENGINES if name.startswith(e)), "")
        if engine not in ENGINES:
            raise BuildError("cannot tell which engine %r is: set engine to podman, buildah or docker" % executable)
        return engine, executable
    candidates = ENGINES if preferred == "auto" else (preferred,)
    for engine in candidates:
        path = shutil.which(engine)
        if path:
            return engine, path
    raise BuildError("no container engine found on this host (looked for %s)" % ", ".join(candidates))


def build_argv(
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
        for secret in secrets:
            if secret and len(secret) >= 3:
                arg = arg.replace(secret, "********")
        out.append(arg)
    return out


def run(argv: Sequence[str], timeout: float, tail: Optional[int] = 8000) -> Tuple[int, str, str]:
    """Run an argument list (never a shell) with a timeout.

    Build output is long: by default only the last ``tail`` bytes of stdout and stderr are kept. Pass
    ``tail=None`` for commands whose whole output is parsed (``image inspect`` JSON).
    """
    try:
        proc = subprocess.run(list(argv), capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"")[-4000:].decode("utf-8", "replace")
        return 124, out, "timed out after %ss" % timeout
    except OSError as exc:
        return 127, "", "cannot run %s: %s" % (argv[0], exc)
    out, err = proc.stdout, proc.stderr
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
    return [executable, "image", "rm", ref] if engine == "docker" else [executable, "untag", ref]
