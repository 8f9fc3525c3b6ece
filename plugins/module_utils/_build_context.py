# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a build context holds: the files its ignore files let through, as one digest (host side, stdlib only).

``image_build`` labels a candidate with the digest of the context it was built from, and ``image_promote``
computes it again before it promotes: an image whose context changed since (a source edit during the run)
is not promoted. So a digest must change whenever what the build can read changes:

* **Ignore rules.** BuildKit's ``.dockerignore`` rules (moby ``patternmatcher``): patterns anchored at the
  context root, ``filepath.Clean``-ed, ``*`` and ``?`` within one path component, ``**`` across them,
  ``[...]`` classes, ``\\`` escapes, ``!`` re-includes; the last matching pattern wins and a pattern that
  matches a parent directory matches everything below it. Which ignore file a runtime reads differs
  (``<Dockerfile>.dockerignore`` beside the Dockerfile for BuildKit, ``.containerignore`` or ``.dockerignore``
  at the context root for podman and buildah, ``.dockerignore`` for docker's classic builder): a path is left
  out of the digest only when **every** ignore file present excludes it, so the digest covers at least what
  any of them sends. The ignore files' own bytes are in the digest too.
* **What is hashed.** Per entry, in a fixed order: its path, type and permission bits; a file's size and
  content sha256; a symlink's target as written (**links are never followed**); nothing else for a directory.
  Times and owners are left out (a ``COPY`` does not keep them), so touching a file changes nothing.
* **Safe and bounded.** The tree is read through directory descriptors (``O_NOFOLLOW``, ``O_NONBLOCK``; a
  FIFO, socket or device is recorded by type and never opened), with caps on entries, bytes and depth. A
  context over a cap or with an unreadable entry has no digest (``digest`` None, ``error`` says why): the
  caller then cannot confirm the image matches the context, and says so.
"""
from __future__ import annotations

import hashlib
import os
import posixpath
import re
import stat
from typing import Optional

from ansible_collections.refarch.containers.plugins.module_utils import _safefs
from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_parser import parse_bytes
from ansible_collections.refarch.containers.plugins.module_utils._stages import Chain

DEFAULT_MAX_ENTRIES = 100000
DEFAULT_MAX_BYTES = 2 * 1024 * 1024 * 1024
MAX_DEPTH = 128
IGNORE_FILE_MAX = 1024 * 1024
_CHUNK = 1 << 20
_SHOULD_ESCAPE = frozenset(".+()|{}$")


class IgnorePatternError(ValueError):
    """A pattern BuildKit would refuse (the build would fail on it)."""


def _clean(path: str) -> str:
    """Go's ``filepath.Clean`` on a slash-separated path."""
    if not path:
        return "."
    rooted = path.startswith("/")
    out: list = []
    for comp in path.split("/"):
        if comp in ("", "."):
            continue
        if comp == "..":
            if out and out[-1] != "..":
                out.pop()
            elif not rooted:
                out.append("..")
            continue
        out.append(comp)
    text = "/".join(out)
    return ("/" + text) if rooted else (text or ".")


def read_ignore_patterns(data: bytes) -> list:
    """The patterns of an ignore file as BuildKit reads them: ``[(exclusion, pattern)]`` in order."""
    text = data.decode("utf-8", "surrogateescape")
    if text.startswith("\ufeff"):
        text = text[1:]
    out = []
    for line in text.splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:].strip()
        if pattern:
            pattern = _clean(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern[1:]
        if not pattern:
            continue
        out.append((invert, pattern))
    return out


def _compile(pattern: str) -> re.Pattern[str]:
    """moby patternmatcher's regular expression for one (cleaned) pattern."""
    out = ["^"]
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        i += 1
        if ch == "*":
            if i < n and pattern[i] == "*":
                i += 1
                if i < n and pattern[i] == "/":
                    i += 1
                out.append(".*" if i >= n else "(.*/)?")
            else:
                out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch in _SHOULD_ESCAPE:
            out.append("\\" + ch)
        elif ch == "\\":
            if i < n:
                out.append("\\" + pattern[i])
                i += 1
            else:
                out.append("\\\\")
        else:  # '[', ']', '-' and the rest pass through as moby passes them (a class keeps its ranges)
            out.append(ch)
    out.append("$")
    try:
        return re.compile("".join(out), re.DOTALL)
    except re.error as exc:
        raise IgnorePatternError("invalid ignore pattern %r: %s" % (pattern, exc)) from None


class IgnoreRules:
    """One ignore file's rules; :meth:`excluded` answers for a slash-separated path below the context."""

    def __init__(self, patterns: list) -> None:
        self.rules = [(invert, _compile(p)) for invert, p in patterns]
        self.has_exclusions = any(invert for invert, _rx in self.rules)

    def excluded(self, path: str) -> bool:
        """moby's ``MatchesOrParentMatches``: the last pattern that matches the path or a parent wins."""
        parents = path.split("/")[:-1]
        prefixes = ["/".join(parents[: i + 1]) for i in range(len(parents))]
        matched = False
        for invert, rx in self.rules:
            if invert != matched:  # an exclusion only matters once matched, a pattern only before
                continue
            hit = rx.match(path) is not None or any(rx.match(p) is not None for p in prefixes)
            if hit:
                matched = not invert
        return matched

    def prunes(self, directory: str) -> bool:
        """True when nothing below ``directory`` can be sent (excluded, and no ``!`` pattern to bring a file back)."""
        return not self.has_exclusions and self.excluded(directory)


class IgnoreSet:
    """Every ignore file present: a path is left out only when all of them exclude it (none: nothing is)."""

    def __init__(self, rules: list) -> None:
        self.rules = rules

    def excluded(self, path: str) -> bool:
        return bool(self.rules) and all(r.excluded(path) for r in self.rules)

    def prunes(self, directory: str) -> bool:
        return bool(self.rules) and all(r.prunes(directory) for r in self.rules)


def ignore_file_names(dockerfile: Optional[str], context: str) -> list:
    """``(directory, name)`` of each ignore file a runtime may read for this build, most specific first."""
    out = []
    if dockerfile:
        base = posixpath.basename(dockerfile)
        for suffix in (".dockerignore", ".containerignore"):
            out.append((posixpath.dirname(dockerfile) or context, base + suffix))
    out += [(context, ".containerignore"), (context, ".dockerignore")]
    return out


def base_references(data: bytes, build_args: Optional[dict] = None) -> list:
    """The images a Dockerfile is built FROM (not earlier stages, not ``scratch``), in order, each once.

    Global ARGs take the build arguments' values as BuildKit does. ``{"ref": resolved, "resolved": bool}``;
    a reference with a variable that has no value is returned as written with ``resolved`` False.
    """
    args = {str(k): str(v) for k, v in (build_args or {}).items()}
    parsed = parse_bytes(data)
    chain = Chain(parsed.get("escape") or "\\")
    for ins in parsed.get("instructions") or []:
        if not ins.get("cmd"):
            continue
        if ins["cmd"] == "ARG" and not chain.stages:
            words = []
            for word in ins.get("value") or []:
                name = word.partition("=")[0]
                words.append("%s=%s" % (name, args[name]) if name in args else word)
            chain.add(dict(ins, value=words))
            continue
        chain.add(ins)
    out: list = []
    for st in chain.stages:
        if st.parent is not None or (st.base or {}).get("scratch"):
            continue
        entry = {"ref": st.base_raw if st.unresolved else st.resolved, "resolved": not st.unresolved}
        if entry not in out:
            out.append(entry)
    return out


class ContextTooLarge(Exception):
    """The context is over a cap; no digest."""


def context_digest(context: str, dockerfile: Optional[str] = None, *, max_entries: int = DEFAULT_MAX_ENTRIES,
                   max_bytes: int = DEFAULT_MAX_BYTES) -> dict:
    """The digest of what a build of ``dockerfile`` in ``context`` can read.

    Returns ``{"digest": "sha256:<hex>" | None, "entries", "bytes", "excluded", "ignore_files": [paths],
    "error": None | why there is no digest}``. Never follows a link below ``context`` (the context itself may
    be a symlink, as a runtime follows it) and never raises for the tree's content.
    """
    result = {"digest": None, "entries": 0, "bytes": 0, "excluded": 0, "ignore_files": [], "error": None}
    digest = hashlib.sha256(b"refarch-context-v1\n")
    try:
        rules = []
        for directory, name in ignore_file_names(dockerfile, context):
            data = _read_ignore(directory, name)
            if data is None:
                continue
            path = posixpath.join(directory, name)
            if path in result["ignore_files"]:
                continue
            result["ignore_files"].append(path)
            digest.update(b"I" + os.fsencode(path) + b"\0" + hashlib.sha256(data).hexdigest().encode() + b"\n")
            rules.append(IgnoreRules(read_ignore_patterns(data)))
        _walk(context, IgnoreSet(rules), digest, result, max_entries=max_entries, max_bytes=max_bytes)
    except (_safefs.UnsafeFile, IgnorePatternError, ContextTooLarge) as exc:
        result["error"] = str(exc)
        return result
    except OSError as exc:
        result["error"] = "cannot read the build context %s: %s" % (context, exc.strerror or exc)
        return result
    result["digest"] = "sha256:" + digest.hexdigest()
    return result


def _read_ignore(directory: str, name: str) -> Optional[bytes]:
    try:
        fd = os.open(directory, _safefs.ROOT_FLAGS)
    except OSError:
        return None
    try:
        data, _st = _safefs.read_at(fd, name, path=posixpath.join(directory, name), max_size=IGNORE_FILE_MAX,
                                    allow_hardlinks=True, missing_ok=True)
        return data
    finally:
        os.close(fd)


def _walk(context: str, ignore: IgnoreSet, digest, result: dict, *, max_entries: int, max_bytes: int) -> None:
    try:
        root_fd = os.open(context, _safefs.ROOT_FLAGS)
    except OSError as exc:
        raise _safefs.UnsafeFile("not_found" if not os.path.exists(context) else "io_error", context,
                                 "cannot open the build context %s: %s" % (context, exc.strerror)) from exc
    # a stack of (directory fd, relative path, sorted names left); fds are closed as directories finish
    stack = [(root_fd, "", sorted(os.listdir(root_fd), key=os.fsencode, reverse=True))]
    try:
        while stack:
            fd, rel, names = stack[-1]
            if not names:
                os.close(fd)
                stack.pop()
                continue
            name = names.pop()
            path = rel + "/" + name if rel else name
            shown = posixpath.join(context, path)
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                continue  # gone since the listing: not in the context any more
            is_dir = stat.S_ISDIR(st.st_mode)
            if ignore.excluded(path):
                result["excluded"] += 1
                if not is_dir or ignore.prunes(path):
                    continue
                excluded_dir = True  # a '!' pattern may bring back something below it
            else:
                excluded_dir = False
            result["entries"] += 1
            if result["entries"] > max_entries:
                raise ContextTooLarge("the build context %s has more than %d entries (not fingerprinted)"
                                      % (context, max_entries))
            mode = "%o" % stat.S_IMODE(st.st_mode)
            record = os.fsencode(path) + b"\0" + mode.encode() + b"\0"
            if is_dir:
                if len(stack) >= MAX_DEPTH:
                    raise ContextTooLarge("the build context %s is deeper than %d directories" % (context, MAX_DEPTH))
                if not excluded_dir:
                    digest.update(b"D" + record + b"\n")
                try:
                    child = os.open(name, _safefs.DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    raise _safefs.UnsafeFile("io_error", shown, "cannot open %s: %s" % (shown, exc.strerror)) from exc
                try:
                    listing = sorted(os.listdir(child), key=os.fsencode, reverse=True)
                except OSError:
                    os.close(child)
                    raise
                stack.append((child, path, listing))
            elif stat.S_ISLNK(st.st_mode):
                target = os.readlink(name, dir_fd=fd)
                digest.update(b"L" + record + os.fsencode(target) + b"\n")
            elif stat.S_ISREG(st.st_mode):
                if result["bytes"] + st.st_size > max_bytes:
                    raise ContextTooLarge("the build context %s holds more than %d bytes (not fingerprinted)"
                                          % (context, max_bytes))
                size, sha = _hash_file(fd, name, shown, max_bytes - result["bytes"])
                result["bytes"] += size
                digest.update(b"F" + record + str(size).encode() + b"\0" + sha.encode() + b"\n")
            else:  # FIFO, socket, device: never opened
                digest.update(b"S" + record + b"%o" % stat.S_IFMT(st.st_mode) + b"\n")
    finally:
        for fd, _rel, _names in stack:
            os.close(fd)


def _hash_file(dir_fd: int, name: str, shown: str, limit: int) -> tuple:
    try:
        fd = os.open(name, _safefs.READ_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        raise _safefs.UnsafeFile("io_error", shown, "cannot read %s: %s" % (shown, exc.strerror)) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _safefs.UnsafeFile("not_regular_file", shown, "%s changed while it was read" % shown)
        sha = hashlib.sha256()
        size = 0
        while True:
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:  # grew while being read
                raise ContextTooLarge("%s grew over the build context's byte cap while it was read" % shown)
            sha.update(chunk)
        return size, sha.hexdigest()
    finally:
        os.close(fd)
