# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One safe way to touch files on a managed host that may be hostile (stdlib only).

Every host-side module that reads or writes a file below a scan root goes through here:

* A directory is reached by a **descriptor chain** from its scan root: the root is opened as given
  (it may itself be a symlink, as the walker allows), every component below it with
  ``O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC`` relative to its parent's descriptor
  (:func:`open_dir`). A component that is a symlink is refused; ``..`` is refused.
* A file is read relative to its directory's descriptor with ``O_NOFOLLOW | O_NONBLOCK``; the
  opened descriptor must be a regular file (``fstat``, ``S_ISREG``: a FIFO never blocks), within a
  size cap, and not a hard link (``st_nlink > 1``) unless that is allowed (:func:`read_at`).
* Files are created only with ``O_CREAT | O_EXCL | O_NOFOLLOW`` under unpredictable names
  (``secrets.token_hex``), relative to a directory descriptor; owner and mode are set by
  descriptor (``fchown``/``fchmod``), never by path.
* A file is replaced atomically (:func:`replace_at`): a temporary file in the same directory (by
  descriptor), flushed and synced, then ``rename`` relative to the directory descriptor, after
  re-checking that the directory reached from the root is still the one that was opened (and, when
  given, the one the scan recorded: ``(st_dev, st_ino)``); then the directory is synced.
* Backups go to a private directory (:func:`open_private_dir`): owned by the running user, not
  writable by group or others, reached without following symlinks, created ``0700`` when missing.

Every refusal raises :class:`UnsafeFile` with a ``code`` (see ``CODES``) and a message that names
the file; callers turn it into a per-file outcome.
"""

from __future__ import annotations

import errno
import hashlib
import os
import posixpath
import secrets
import stat
import struct
import sys
import time
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
#: a file to create: only a new name, never through a symlink
CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_NOFOLLOW | O_CLOEXEC

DEFAULT_MAX_SIZE = 4 * 1024 * 1024
TMP_SUFFIX = ".refarch.tmp"

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


def create_exclusive(dir_fd: int, prefix: str, suffix: str = "", mode: int = 0o600) -> tuple:
    """Create a new file ``<prefix><random><suffix>`` in ``dir_fd``: ``(fd, name)`` (``O_EXCL|O_NOFOLLOW``)."""
    for _attempt in range(16):
        name = f"{prefix}{secrets.token_hex(8)}{suffix}"
        try:
            return os.open(name, CREATE_FLAGS, mode, dir_fd=dir_fd), name
        except FileExistsError:
            continue
    raise UnsafeFile("io_error", prefix, f"could not create a new file named {prefix}*{suffix}")


def _set_owner_mode(fd: int, mode: int, uid: Optional[int], gid: Optional[int]) -> None:
    if uid is not None or gid is not None:
        try:
            os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
        except PermissionError:
            pass  # not root: the file stays ours
    os.fchmod(fd, mode & 0o777)


def rename_at(dir_fd: int, src: str, dst: str) -> None:
    """``rename`` within one directory, relative to its descriptor (a symlink at ``dst`` is replaced, not followed)."""
    os.rename(src, dst, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)


def replace_at(handle: DirHandle, name: str, data: bytes, *, mode: int = 0o644, uid: Optional[int] = None,
               gid: Optional[int] = None, expected: Optional[tuple] = None) -> None:
    """Atomically replace (or create) ``name`` in ``handle`` with ``data``.

    The temporary file is created ``O_EXCL|O_NOFOLLOW`` under a random name in the same directory,
    written, given ``mode``/``uid``/``gid`` by descriptor and synced; the directory is re-checked
    (:meth:`DirHandle.recheck`) and the file renamed over ``name`` by descriptor; the directory is
    synced. Setuid, setgid and sticky bits are never set. On failure the temporary file is removed
    and the original is untouched.
    """
    fd, tmp = create_exclusive(handle.fd, "." + name[:120] + ".", TMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            _set_owner_mode(fh.fileno(), mode, uid, gid)
            os.fsync(fh.fileno())
        handle.recheck(expected)
        rename_at(handle.fd, tmp, name)
    except BaseException:
        try:
            os.unlink(tmp, dir_fd=handle.fd)
        except OSError:
            pass
        raise
    handle.fsync()


def unlink_at(handle: DirHandle, name: str, expected_sha256: str, expected: Optional[tuple] = None) -> bool:
    """Remove ``name`` from ``handle`` when it is a regular file holding ``expected_sha256``.

    Returns False when it does not exist; raises UnsafeFile when it is not what was written
    (``checksum_mismatch``), a symlink, a FIFO, ...
    """
    data, _st = read_at(handle.fd, name, path=handle.join(name), missing_ok=True)
    if data is None:
        return False
    if sha256(data) != expected_sha256:
        raise UnsafeFile("checksum_mismatch", handle.join(name),
                         f"{handle.join(name)} no longer holds what was written; not removed")
    handle.recheck(expected)
    os.unlink(name, dir_fd=handle.fd)
    handle.fsync()
    return True


# --------------------------------------------------------------------------------------------------
# private directories (backups)

def _trusted_parent(st: os.stat_result) -> bool:
    """A directory on the way to a private one: owned by root or us, not writable by others unless sticky."""
    if st.st_uid not in (0, os.geteuid()):
        return False
    return not (st.st_mode & 0o022) or bool(st.st_mode & stat.S_ISVTX and st.st_uid == 0)


def open_private_dir(path: str, create: bool = True) -> DirHandle:
    """Open (creating ``0700`` when missing and ``create``) a directory only the running user can write.

    Walked from ``/`` without following symlinks; every directory on the way must be owned by root
    or the running user and not writable by others (sticky, root-owned ones like ``/tmp`` pass);
    the directory itself must be owned by the running user and not writable by group or others.
    Raises UnsafeFile (``unsafe_directory``, ``symlink``, ...).
    """
    if not posixpath.isabs(path):
        raise UnsafeFile("unsafe_directory", path, f"backup directory {path} must be an absolute path")
    components = [c for c in path.split("/") if c not in ("", ".")]
    if ".." in components:
        raise UnsafeFile("unsafe_directory", path, f"backup directory {path} contains '..'")
    fd = os.open("/", ROOT_FLAGS)
    here = "/"
    try:
        for i, comp in enumerate(components):
            here = posixpath.join(here, comp)
            try:
                nfd = os.open(comp, DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise UnsafeFile("not_found", here, f"{here} does not exist") from None
                try:
                    os.mkdir(comp, 0o700, dir_fd=fd)
                except FileExistsError:
                    pass
                except OSError as exc:
                    raise UnsafeFile(_os_code(exc), here, f"cannot create {here}: {exc.strerror}") from exc
                try:
                    nfd = os.open(comp, DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    raise _classify(fd, comp, exc, here, "directory") from exc
            except OSError as exc:
                raise _classify(fd, comp, exc, here, "directory") from exc
            os.close(fd)
            fd = nfd
            st = os.fstat(fd)
            last = i == len(components) - 1
            if last:
                if st.st_uid != os.geteuid() or st.st_mode & 0o022:
                    raise UnsafeFile("unsafe_directory", here,
                                     f"backup directory {here} is owned by uid {st.st_uid} with mode "
                                     f"{stat.S_IMODE(st.st_mode):04o}: it must belong to uid {os.geteuid()} and "
                                     "not be writable by group or others; refused")
            elif not _trusted_parent(st):
                raise UnsafeFile("unsafe_directory", here,
                                 f"{here} (on the way to the backup directory {path}) is owned by uid {st.st_uid} "
                                 f"with mode {stat.S_IMODE(st.st_mode):04o}: another user could replace what is "
                                 "below it; refused")
        st = os.fstat(fd)
    except BaseException:
        os.close(fd)
        raise
    return DirHandle(fd, posixpath.normpath(path), "/", components, (st.st_dev, st.st_ino))


def backup_name(path: str) -> str:
    """An unpredictable backup file name that still says which file it saves."""
    hint = "".join(c if c.isalnum() or c in "._-%" else "_" for c in path.strip("/").replace("/", "%"))
    hint = hint[-150:].lstrip(".") or "file"
    return f"{hint}.{time.strftime('%Y%m%dT%H%M%S')}.{secrets.token_hex(8)}~"


def write_new(handle: DirHandle, name: str, data: bytes, *, mode: int = 0o600, uid: Optional[int] = None,
              gid: Optional[int] = None) -> str:
    """Write ``data`` to the new file ``name`` in ``handle`` (``O_EXCL|O_NOFOLLOW``), owner/mode by descriptor.

    Returns its path. A partly written file is removed on failure.
    """
    try:
        fd = os.open(name, CREATE_FLAGS, 0o600, dir_fd=handle.fd)
    except OSError as exc:
        raise UnsafeFile(_os_code(exc), handle.join(name), f"cannot create {handle.join(name)}: {exc.strerror}"
                         ) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            _set_owner_mode(fh.fileno(), mode, uid, gid)
            os.fsync(fh.fileno())
    except BaseException:
        try:
            os.unlink(name, dir_fd=handle.fd)
        except OSError:
            pass
        raise
    handle.fsync()
    return handle.join(name)


def read_private(path: str, max_size: int = DEFAULT_MAX_SIZE) -> tuple:
    """Read a file we wrote into a private directory (a backup): ``(data, stat)``; the directory is checked."""
    with open_private_dir(posixpath.dirname(path), create=False) as handle:
        return read_at(handle.fd, posixpath.basename(path), path=path, max_size=max_size)


# --------------------------------------------------------------------------------------------------
# rollback: put back what a remediation replaced, remove what it created

def restore_from_backup(root: str, path: str, backup_path: str, backup_sha256: str, *,
                        expected: Optional[tuple] = None, check: bool = False) -> dict:
    """Put the backup ``backup_path`` (in a private directory) back as ``path``, reached from ``root``.

    The backup must hold ``backup_sha256`` (it is the one the remediation wrote); ``path``'s directory must be
    the one scanned (``expected``). The file is replaced atomically with the backup's owner and mode (whatever
    is at ``path`` now, a symlink too, is replaced, never followed). Returns ``{"changed", "sha256"}``.
    Raises UnsafeFile.
    """
    data, bst = read_private(backup_path)
    if sha256(data) != backup_sha256.lower():
        raise UnsafeFile("checksum_mismatch", backup_path,
                         f"backup {backup_path} does not hold the original (sha256 {backup_sha256}); not restored")
    directory, name = posixpath.split(posixpath.normpath(path))
    with open_dir(root, directory, expected=expected) as handle:
        try:
            current, _st = read_at(handle.fd, name, path=path, missing_ok=True, allow_hardlinks=True)
        except UnsafeFile:
            current = None   # a symlink, FIFO, ... planted since: replaced below, never read
        if current is not None and sha256(current) == sha256(data):
            return {"changed": False, "sha256": sha256(data)}
        if not check:
            replace_at(handle, name, data, mode=bst.st_mode, uid=bst.st_uid, gid=bst.st_gid, expected=expected)
            written, _st = read_at(handle.fd, name, path=path)
            return {"changed": True, "sha256": sha256(written)}
    return {"changed": True, "sha256": sha256(data)}


def remove_created(root: str, path: str, written_sha256: str, *, expected: Optional[tuple] = None,
                   check: bool = False) -> dict:
    """Remove ``path`` (reached from ``root``) if it is a regular file that still holds ``written_sha256``.

    Returns ``{"changed", "sha256"}`` (``sha256`` None once removed). Raises UnsafeFile, for example
    ``checksum_mismatch`` when someone changed it since it was written.
    """
    directory, name = posixpath.split(posixpath.normpath(path))
    with open_dir(root, directory, expected=expected) as handle:
        data, _st = read_at(handle.fd, name, path=path, missing_ok=True)
        if data is None:
            return {"changed": False, "sha256": None}
        if sha256(data) != written_sha256.lower():
            raise UnsafeFile("checksum_mismatch", path, f"{path} no longer holds what was written; not removed")
        if not check:
            unlink_at(handle, name, written_sha256.lower(), expected=expected)
    return {"changed": True, "sha256": None}


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


# --------------------------------------------------------------------------- check mode: would a write fail?

#: inode attribute flags (``lsattr``): no rename over, no unlink, no new name in an immutable directory
FS_IMMUTABLE_FL = 0x00000010
FS_APPEND_FL = 0x00000020
#: ``_IOR('f', 1, long)``, the Linux ioctl ``lsattr`` uses (the encoding of x86, arm, s390 and riscv; other
#: architectures encode ioctls differently and are not asked)
FS_IOC_GETFLAGS = (2 << 30) | (struct.calcsize("l") << 16) | (ord("f") << 8) | 1
_IOCTL_OTHER_ENCODING = ("mips", "ppc", "powerpc", "sparc", "alpha", "parisc")


def inode_flags(fd: int) -> Optional[int]:
    """The attribute flags of the inode open as ``fd`` (``FS_IOC_GETFLAGS``), or None where there are none
    (not Linux, a filesystem without attributes, an architecture with another ioctl encoding)."""
    if not sys.platform.startswith("linux") or os.uname().machine.startswith(_IOCTL_OTHER_ENCODING):
        return None
    try:
        import fcntl  # noqa: PLC0415 - POSIX only, and only needed here
        buf = fcntl.ioctl(fd, FS_IOC_GETFLAGS, bytes(struct.calcsize("l")))
    except (ImportError, OSError):
        return None
    return struct.unpack("i", buf[:4])[0]


def attribute_problem(fd: int, what: str) -> Optional[str]:
    """``what is immutable`` / ``append-only`` when the inode open as ``fd`` carries that attribute, else None."""
    flags = inode_flags(fd)
    if flags is None:
        return None
    if flags & FS_IMMUTABLE_FL:
        return f"{what} is immutable (chattr +i)"
    if flags & FS_APPEND_FL:
        return f"{what} is append-only (chattr +a)"
    return None


def read_only_problem(fd: int, what: str) -> Optional[str]:
    """``what is on a read-only filesystem`` when the filesystem of ``fd`` is mounted read-only, else None."""
    try:
        flags = os.fstatvfs(fd).f_flag
    except OSError:
        return None
    return f"{what} is on a read-only filesystem" if flags & getattr(os, "ST_RDONLY", 1) else None


def dir_write_problem(fd: int, what: str) -> Optional[str]:
    """``what is not writable by uid N`` when the effective user cannot create names in directory ``fd``."""
    try:
        ok = os.access(".", os.W_OK | os.X_OK, dir_fd=fd, effective_ids=True)
    except (NotImplementedError, OSError):
        st = os.fstat(fd)
        ok = os.geteuid() == 0 or (st.st_uid == os.geteuid() and st.st_mode & stat.S_IWUSR)
    return None if ok else f"{what} is not writable by uid {os.geteuid()}"


def replace_problems(handle: DirHandle, name: str) -> list:
    """Why :func:`replace_at` of ``name`` in ``handle``'s directory would fail, found without writing anything
    (check mode): a read-only filesystem, a directory the effective user cannot write into, an immutable or
    append-only directory or file. Empty when nothing is known to stop it (a write can still fail: a full disk)."""
    directory = f"the directory {handle.path}"
    problems = [p for p in (read_only_problem(handle.fd, directory), attribute_problem(handle.fd, directory)) if p]
    if not problems:  # either one also makes the directory unwritable: say it once, with its cause
        problems = [p for p in (dir_write_problem(handle.fd, directory),) if p]
    try:
        fd = os.open(name, READ_FLAGS, dir_fd=handle.fd)
    except OSError:
        return problems  # a new file (a .dockerignore to create), or one the read already refused
    try:
        problem = attribute_problem(fd, handle.join(name))
    finally:
        os.close(fd)
    return problems + ([problem] if problem else [])
