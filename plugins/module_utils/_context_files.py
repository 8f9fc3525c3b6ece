# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read application source files of a build context on the host, safely and bounded.

The rewriter is pure; the fixes that must look at the application (``remap_privileged_ports`` reads the entry
point to see which variable sets the port) get a reader through ``FixContext.read_file``. This is the host's
reader: a callable ``read(relpath) -> (text | None, why_not | None)`` over the build context directory the
remediation module opened through its descriptor chain.

* ``relpath`` is relative to the build context; an absolute path, ``..``, an empty component or a NUL is refused.
* Every directory below the context is opened with ``O_NOFOLLOW`` relative to its parent's descriptor; the file
  is read with the walker's :class:`~_walker.Reader` (``_safefs.read_at``: ``O_NOFOLLOW | O_NONBLOCK``, regular
  files only, no hard links, the size cap, and as root the owner rule), so a symlink, FIFO or device is refused
  and never followed or opened for reading.
* At most ``max_files`` files read (and eight times as many names tried) and ``max_size`` bytes each; the text
  is decoded as UTF-8 (invalid bytes replaced).
  The text stays on the host: the fixes return only what they decided (a variable name, a port, a line number);
  the reasons they return are redacted by the module like every other reason.

Standard library only.
"""
from __future__ import annotations

import os
from typing import Optional

from ansible_collections.refarch.containers.plugins.module_utils import _safefs
from ansible_collections.refarch.containers.plugins.module_utils._walker import Reader

#: Bytes read of one source file at most, and files read per Dockerfile at most.
MAX_SOURCE_SIZE = 512 * 1024
MAX_SOURCE_FILES = 16
#: Names listed of the context's top level at most (:meth:`ContextFiles.entries`).
MAX_ENTRIES = 1024


class ContextFiles:
    """``read(relpath)`` over the directory descriptor ``dir_fd`` (the build context, shown as ``path``)."""

    def __init__(self, dir_fd: int, path: str, *, max_size: int = MAX_SOURCE_SIZE, max_files: int = MAX_SOURCE_FILES,
                 allow_hardlinks: bool = False, euid: Optional[int] = None) -> None:
        self.dir_fd = dir_fd
        self.path = path.rstrip("/") or "/"
        self.max_files = max_files
        self.reads = 0      # files read
        self.attempts = 0   # names tried (a module specifier is tried with several extensions)
        self._reader = Reader(max_size, allow_hardlinks=allow_hardlinks, euid=euid)
        self._answers: dict = {}   # a name asked again (two fixes read the same entry point) is not read twice

    def __call__(self, relpath: str) -> tuple:
        key = str(relpath)
        if key not in self._answers:
            self._answers[key] = self._read(key)
        return self._answers[key]

    def _read(self, relpath: str) -> tuple:
        parts = str(relpath).split("/")
        shown = f"{self.path}/{relpath}"
        if str(relpath).startswith("/") or any(p in ("", ".", "..") for p in parts) or "\0" in str(relpath):
            return None, f"{relpath!r} is not a plain path inside the build context"
        if self.reads >= self.max_files or self.attempts >= 8 * self.max_files:
            return None, f"{shown} not read: at most {self.max_files} source files are read"
        self.attempts += 1
        fd, opened = self.dir_fd, []
        try:
            dir_st = os.fstat(fd)
            for comp in parts[:-1]:
                try:
                    nfd = os.open(comp, _safefs.DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    err = _safefs._classify(fd, comp, exc, shown, "directory")
                    return None, err.message if err.code != "not_found" else f"{shown} does not exist"
                opened.append(nfd)
                fd = nfd
                dir_st = os.fstat(fd)
            result = self._reader.read(fd, parts[-1], shown, dir_st=dir_st)
        except OSError as exc:
            return None, f"cannot read {shown}: {exc.strerror}"
        finally:
            for nfd in opened:
                os.close(nfd)
        if result.error is not None:
            code, message = result.error
            return None, f"{shown} does not exist" if code == "not_found" else message
        self.reads += 1
        return result.data.decode("utf-8", "replace"), None

    def entries(self) -> Optional[dict]:
        """The build context's top-level names: ``{name: "dir" | "file" | "other"}`` (a symlink is ``other``: it is
        never followed), or None when the directory cannot be listed or holds more than :data:`MAX_ENTRIES` names.
        Listed through the context's descriptor (``os.scandir`` duplicates it); nothing is opened."""
        out = {}
        try:
            with os.scandir(self.dir_fd) as it:
                for entry in it:
                    if len(out) >= MAX_ENTRIES:
                        return None
                    kind = "dir" if entry.is_dir(follow_symlinks=False) else \
                        "file" if entry.is_file(follow_symlinks=False) else "other"
                    out[entry.name] = kind
        except OSError:
            return None
        return out

    def close(self) -> None:
        self._reader.close()
