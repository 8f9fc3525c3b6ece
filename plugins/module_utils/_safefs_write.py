# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The writing half of ``_safefs``: remediation's way to create, replace and remove files on a managed host
that may be hostile, its backups and their rollback (stdlib only).

A scan only reads (``_safefs``); this module is loaded only by the modules that write, so a scan's module
start-up does not compile it. The rules are ``_safefs``'s, for writing:

* Files are created only with ``O_CREAT | O_EXCL | O_NOFOLLOW`` under unpredictable names
  (``secrets.token_hex``), relative to a directory descriptor (``_safefs.open_dir``); owner and mode
  are set by descriptor (``fchown``/``fchmod``), never by path.
* A file is replaced atomically (:func:`replace_at`): a temporary file in the same directory (by
  descriptor), flushed and synced, then ``rename`` relative to the directory descriptor, after
  re-checking that the directory reached from the root is still the one that was opened (and, when
  given, the one the scan recorded: ``(st_dev, st_ino)``); then the directory is synced.
* Backups go to a private directory (:func:`open_private_dir`): owned by the running user, not
  writable by group or others, reached without following symlinks, created ``0700`` when missing.

Every refusal raises ``_safefs.UnsafeFile``.
"""

from __future__ import annotations

import os
import posixpath
import secrets
import stat
import struct
import sys
import time
from typing import Optional

from ansible_collections.refarch.containers.plugins.module_utils._safefs import (
    DEFAULT_MAX_SIZE,
    DIR_FLAGS,
    O_CLOEXEC,
    O_NOFOLLOW,
    READ_FLAGS,
    ROOT_FLAGS,
    DirHandle,
    UnsafeFile,
    _classify,
    _os_code,
    open_dir,
    read_at,
    sha256,
)

#: a file to create: only a new name, never through a symlink
CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_NOFOLLOW | O_CLOEXEC
TMP_SUFFIX = ".refarch.tmp"


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
        _fill(fd, data, mode, uid, gid)
        handle.recheck(expected)
        rename_at(handle.fd, tmp, name)
    except BaseException:
        _discard(handle, tmp)
        raise
    handle.fsync()


def _fill(fd: int, data: bytes, mode: int, uid: Optional[int], gid: Optional[int]) -> None:
    """Write ``data`` to the new file open on ``fd``, give it its owner and mode by descriptor, sync and close it."""
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        _set_owner_mode(fh.fileno(), mode, uid, gid)
        os.fsync(fh.fileno())


def _discard(handle: DirHandle, name: str) -> None:
    """Remove a file this module created in ``handle`` and could not finish (gone already is fine)."""
    try:
        os.unlink(name, dir_fd=handle.fd)
    except OSError:
        pass


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
        _fill(fd, data, mode, uid, gid)
    except BaseException:
        _discard(handle, name)
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
