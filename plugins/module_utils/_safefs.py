# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One safe way to touch files on a managed host that may be hostile (stdlib only).

Every host-side module that reads or writes a file below a scan root goes through here (writes through
``_safefs_write``, built on this module):

* A directory is reached by a **descriptor chain** from its scan root: the root is opened as given
  (it may itself be a symlink, as the walker allows), every component below it with
  ``O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC`` relative to its parent's descriptor
  (:func:`open_dir`). A component that is a symlink is refused; ``..`` is refused.
* A file is read relative to its directory's descriptor with ``O_NOFOLLOW | O_NONBLOCK``; the
  opened descriptor must be a regular file (``fstat``, ``S_ISREG``: a FIFO never blocks), within a
  size cap, and not a hard link (``st_nlink > 1``) unless that is allowed (:func:`read_at`).
* Writing (creating, replacing, removing a file, backups in a private directory, rollback, the check
  mode's "would a write fail?") is ``_safefs_write``: only remediation writes, and a scan, which only
  reads, does not load it (start-up of the host modules).

Every refusal raises :class:`UnsafeFile` with a ``code`` (see ``CODES``) and a message that names
the file; callers turn it into a per-file outcome.
"""

from __future__ import annotations

import errno
import hashlib
import os
import posixpath
import stat
from typing import Optional

O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
#: a directory below a root: never a symlink, never blocks
DIR_FLAGS = os.O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK
#: the root itself: opened as given (a symlinked root is followed, as the walker does)
ROOT_FLAGS = os.O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK
#: a file to read: never a symlink, never blocks (FIFO), checked with fstat afterwards
READ_FLAGS = os.O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC

DEFAULT_MAX_SIZE = 4 * 1024 * 1024

#: refusal codes and what they mean
CODES = {
    "symlink": "the file or a directory on its path is a symbolic link",
    "not_regular_file": "the file is a FIFO, socket, device or directory",
    "not_directory": "a component of the path is not a directory",
    "hardlink": "the file has more than one hard link",
    "too_large": "the file is larger than the size cap",
    "not_found": "the file or a directory on its path does not exist",
    "not_under_root": "the path is not below the scan root",
    "dir_changed": "the directory is not the one that was scanned (swapped or moved)",
    "unsafe_directory": "a directory is owned by another user or writable by others",
    "permission_denied": "permission denied",
    "checksum_mismatch": "the file does not hold the expected content",
    "io_error": "an input/output error",
}


class UnsafeFile(Exception):
    """A file or directory that is refused (``code``) or could not be used; ``path`` names it."""

    def __init__(self, code: str, path: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.path = path
        self.message = message

    def __str__(self) -> str:
        return self.message


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def identity(st: os.stat_result) -> dict:
    """The ``dir_identity`` of a stat result, as the facts carry it."""
    return {"dev": int(st.st_dev), "ino": int(st.st_ino)}


def _os_code(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission_denied"
    if exc.errno == errno.ENOENT:
        return "not_found"
    if exc.errno == errno.ELOOP:
        return "symlink"
    if exc.errno == errno.ENOTDIR:
        return "not_directory"
    return "io_error"


def _classify(dir_fd: int, name: str, exc: OSError, path: str, what: str) -> UnsafeFile:
    """An UnsafeFile for an ``open(name, dir_fd=...)`` that failed, saying what ``name`` really is."""
    code = _os_code(exc)
    if code in ("symlink", "not_directory", "io_error"):
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            st = None
        if st is not None and stat.S_ISLNK(st.st_mode):
            return UnsafeFile("symlink", path, f"{path} is a symlink; not followed ({what})")
        if st is not None and what == "directory" and not stat.S_ISDIR(st.st_mode):
            return UnsafeFile("not_directory", path, f"{path} is not a directory")
    if code == "not_found":
        return UnsafeFile(code, path, f"{path} does not exist")
    if code == "permission_denied":
        return UnsafeFile(code, path, f"permission denied opening {path}")
    if code == "symlink":
        return UnsafeFile(code, path, f"{path} is a symlink; not followed ({what})")
    return UnsafeFile(code, path, f"cannot open {path}: {exc.strerror}")


def split_under(root: str, path: str) -> list:
    """Components of ``path`` below ``root`` (both absolute); UnsafeFile ``not_under_root`` otherwise."""
    if not posixpath.isabs(root) or not posixpath.isabs(path):
        raise UnsafeFile("not_under_root", path, f"{path} and its scan root {root} must be absolute paths")
    nroot = posixpath.normpath(root)
    # normpath keeps a leading // (POSIX): treat it as /
    nroot = "/" + nroot.lstrip("/")
    raw = [c for c in path.split("/") if c not in ("", ".")]
    if ".." in raw:
        raise UnsafeFile("not_under_root", path, f"{path} contains '..'; refused")
    npath = "/" + "/".join(raw)
    if nroot == "/":
        return raw
    if npath == nroot:
        return []
    if not npath.startswith(nroot + "/"):
        raise UnsafeFile("not_under_root", path, f"{path} is not below the scan root {root}")
    return [c for c in npath[len(nroot) + 1:].split("/") if c]


def default_root(path: str) -> str:
    """The root used when no scan root is given: the path's first component (``/srv`` for ``/srv/app``)."""
    raw = [c for c in path.split("/") if c not in ("", ".")]
    return "/" + raw[0] if len(raw) > 1 else "/"


class DirHandle:
    """An open directory reached from a scan root without following symlinks below it.

    ``fd`` is the directory's descriptor, ``path`` its path (for messages), ``root`` the scan root
    and ``components`` the names below it; ``identity`` is ``(st_dev, st_ino)`` of the opened
    directory. Close it with :meth:`close` (or use it as a context manager).
    """

    def __init__(self, fd: int, path: str, root: str, components: list, ident: tuple) -> None:
        self.fd = fd
        self.path = path
        self.root = root
        self.components = components
        self.identity = ident

    def join(self, name: str) -> str:
        return posixpath.join(self.path, name)

    def recheck(self, expected: Optional[tuple] = None) -> None:
        """Re-walk the chain from the root: the directory must still be the one opened (and ``expected``).

        Raises UnsafeFile ``dir_changed`` when the path now leads elsewhere (swapped, moved, replaced).
        """
        try:
            again = open_dir(self.root, self.path)
        except UnsafeFile as exc:
            raise UnsafeFile("dir_changed", self.path,
                             f"directory {self.path} changed while it was being remediated ({exc.message}); "
                             "refused") from exc
        try:
            if again.identity != self.identity or (expected is not None and tuple(expected) != self.identity):
                raise UnsafeFile("dir_changed", self.path,
                                 f"directory {self.path} was replaced while it was being remediated; refused")
        finally:
            again.close()

    def fsync(self) -> None:
        try:
            os.fsync(self.fd)
        except OSError:
            pass

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> DirHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_dir(root: str, directory: str, expected: Optional[tuple] = None) -> DirHandle:
    """Open ``directory`` (absolute, at or below ``root``) through a descriptor chain from ``root``.

    ``root`` is opened as given (following a symlinked root); each component below it with
    ``O_NOFOLLOW``. ``expected`` ``(st_dev, st_ino)``, when given, must match the opened directory
    (``dir_changed`` otherwise). Raises UnsafeFile.
    """
    components = split_under(root, directory)
    try:
        fd = os.open(root, ROOT_FLAGS)
    except OSError as exc:
        code = _os_code(exc)
        raise UnsafeFile(code, root, f"cannot open scan root {root}: {exc.strerror}") from exc
    here = root.rstrip("/") or "/"
    try:
        for comp in components:
            here = posixpath.join(here, comp)
            try:
                nfd = os.open(comp, DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                raise _classify(fd, comp, exc, here, "directory") from exc
            os.close(fd)
            fd = nfd
        st = os.fstat(fd)
    except BaseException:
        os.close(fd)
        raise
    ident = (st.st_dev, st.st_ino)
    if expected is not None and tuple(expected) != ident:
        os.close(fd)
        raise UnsafeFile("dir_changed", directory,
                         f"directory {directory} changed since the scan (it is not the directory that was scanned): "
                         "refused, nothing written")
    return DirHandle(fd, posixpath.normpath(directory), root, components, ident)


def read_at(dir_fd: int, name: str, *, path: Optional[str] = None, max_size: int = DEFAULT_MAX_SIZE,
            allow_hardlinks: bool = False, missing_ok: bool = False) -> tuple:
    """Read the regular file ``name`` in the directory ``dir_fd``: ``(data, stat)``.

    Opened with ``O_NOFOLLOW | O_NONBLOCK`` (a symlink is refused, a FIFO never blocks), checked
    with ``fstat`` (``S_ISREG``, size cap, ``st_nlink`` unless ``allow_hardlinks``). ``path`` is the
    name used in messages. With ``missing_ok``, a name that does not exist gives ``(None, None)``.
    Raises UnsafeFile.
    """
    shown = path or name
    if "/" in name or name in ("", ".", ".."):
        raise UnsafeFile("not_under_root", shown, f"{shown}: not a plain file name")
    try:
        fd = os.open(name, READ_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ENOENT and missing_ok:
            return None, None
        raise _classify(dir_fd, name, exc, shown, "file") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a directory" if stat.S_ISDIR(st.st_mode) \
                else "a socket" if stat.S_ISSOCK(st.st_mode) else "a device"
            raise UnsafeFile("not_regular_file", shown, f"{shown} is {kind}, not a regular file; not read")
        if st.st_nlink > 1 and not allow_hardlinks:
            raise UnsafeFile("hardlink", shown, f"{shown} has {st.st_nlink} hard links; not read "
                                                "(it may be another user's file)")
        if st.st_size > max_size:
            raise UnsafeFile("too_large", shown, f"{shown} is {st.st_size} bytes, over the {max_size} byte cap")
        # One read of the size fstat gave plus a byte: a regular file returns fewer bytes than asked
        # only at its end, so the usual file needs no second read to see EOF.
        want = min(st.st_size + 1, max_size + 1)
        chunk = os.read(fd, want)
        if len(chunk) < want:
            return chunk, st
        chunks = [chunk]
        total = len(chunk)
        while total <= max_size:
            chunk = os.read(fd, min(1 << 20, max_size + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_size:
            raise UnsafeFile("too_large", shown, f"{shown} grew over the {max_size} byte cap while being read")
        return b"".join(chunks), st
    except OSError as exc:
        raise UnsafeFile(_os_code(exc), shown, f"error reading {shown}: {exc.strerror}") from exc
    finally:
        os.close(fd)


def exists_regular(dir_fd: int, name: str) -> bool:
    """True when ``name`` in ``dir_fd`` is a regular file (not followed if a symlink)."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode)


def lexists(dir_fd: int, name: str) -> bool:
    """True when anything (a symlink too) is named ``name`` in ``dir_fd``."""
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return False
    return True


# --------------------------------------------------------------------------------------------------
# privilege-aware reading: who may have planted a file (used by the scan's reads, _walker.Reader)

CODES["foreign_owner"] = ("read with more rights than the user who controls the file's directory, it is not "
                          "that user's own file (see owner_refusal)")


def owner_refusal(st: os.stat_result, dir_st: os.stat_result, link_uid: Optional[int] = None) -> Optional[str]:
    """Why a scan running as root must not read the file ``st`` found in the directory ``dir_st`` (None: it may).

    The threat: a user who can create names in a scanned directory (its owner) makes root read, and put
    into reports, a file that user could not read: a symlink to another user's key, a hard link to a
    root-only file. So a file is read only when the directory's owner could read it through that name
    anyway:

    * a regular file found by its own name: owned by the directory's owner; or in a root-owned
      directory that only root can write to (not writable by group or others: only root can have
      named it there, see ``root_only``); or with a single name (``st_nlink == 1``) and readable by
      everyone (``S_IROTH``), as a root-owned ``0644`` Dockerfile that a deployment tool or a
      ``sudo cp`` left in a user's directory;
    * a file found through a symlink (``link_uid``, the link's owner): the link belongs to the
      directory's owner (or to root) and its target to the directory's owner, or the link is root's in
      a directory only root can write to. Being readable by everyone does not count here: the target
      may sit in a directory the link's owner cannot enter.

    ``st`` describes the file itself (the symlink's target), ``dir_st`` the directory holding the name
    found; only ``st_uid``, ``st_mode`` and ``st_nlink`` are used. Hard links as such are ``read_at``'s
    ``allow_hardlinks`` rule; this one is only about owners.
    """
    st_uid, st_mode, st_nlink = st.st_uid, st.st_mode, st.st_nlink
    dir_uid = dir_st.st_uid
    only_root = root_only(dir_st)
    if link_uid is not None:
        if link_uid == 0 and only_root:
            return None
        if link_uid not in (dir_uid, 0):
            return f"is a symlink owned by uid {link_uid} in a directory owned by uid {dir_uid}"
        if st_uid != dir_uid:
            return f"links to a file owned by uid {st_uid}, not by uid {dir_uid} who owns the link's directory"
        return None
    if st_uid == dir_uid or only_root:
        return None
    if st_nlink == 1 and st_mode & stat.S_IROTH:
        return None
    why = "is not readable by everyone" if not st_mode & stat.S_IROTH else f"has {st_nlink} names (hard links)"
    return f"is owned by uid {st_uid}, not by uid {dir_uid} who owns its directory, and {why}"


def root_only(dir_st: os.stat_result) -> bool:
    """Whether only root can create names in the directory ``dir_st``: owned by root, not writable by group or
    others. Every file found there by its own name, and every root-owned symlink there, passes ``owner_refusal``."""
    return dir_st.st_uid == 0 and not dir_st.st_mode & 0o022
