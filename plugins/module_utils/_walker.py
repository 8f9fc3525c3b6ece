# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fast, safe discovery of Dockerfiles on a managed host (stdlib only).

``walk()`` scans roots with ``os.scandir`` and an explicit stack:

* prunes excluded directory names (``node_modules``, ``.git``, ...) and
  absolute-path globs (``/proc``, ``/sys``, ``/dev``, ``/run``) before descending;
* never follows a symlinked directory; a symlinked *file* whose name matches is
  read only when its target resolves inside the same root and is a regular file;
* is loop safe (each directory's ``(st_dev, st_ino)`` is visited once, which
  also stops bind-mount loops and overlapping roots) and optionally stays on
  the root's filesystem; a file path is reported once;
* never opens FIFOs, sockets or devices;
* collects per-directory and per-root problems instead of raising.

``Reader`` reads what the walk found, the one way of ``_safefs``: through the
directory's descriptor (checked to be the directory listed), ``O_NONBLOCK |
O_NOFOLLOW`` then ``S_ISREG`` with ``fstat`` (a file swapped for a FIFO between
listing and opening cannot block the scan), a size cap, no hard links unless
allowed, and, run as root, no file that the owner of its directory could not
read (``foreign_owner``). ``read_bounded()`` reads one file that way.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import stat
from collections.abc import Callable, Iterable
from re import Pattern
from typing import Optional

from ansible_collections.refarch.containers.plugins.module_utils import _safefs

# The default patterns match in any case (Dockerfile-dev, dockerfile_worker, Worker.DockerFile).
DEFAULT_PATTERNS = ("Dockerfile", "Containerfile", "*.Dockerfile", "Dockerfile.*", "Dockerfile-*", "Dockerfile_*",
                    "Containerfile.*", "Containerfile-*", "Containerfile_*", "*.Containerfile")
# Build descriptors (compose, bake; workflows by their folder): descriptor_kind says which is which.
_DESCRIPTOR_RE = (r"(?P<descriptor>(?i:(?:docker-)?compose(?:[.-][^/]*)?\.ya?ml"
                  r"|docker-bake(?:\.[^/]*)?\.(?:hcl|json)))\Z")
_WORKFLOW_RE = r"(?P<workflow>[^/]*\.ya?ml)\Z"
DEFAULT_EXCLUDES = ("node_modules", ".git", ".hg", ".svn", "/proc", "/sys", "/dev", "/run")
# Never Dockerfiles even though ``Dockerfile.*`` matches them.
# Names that match a Dockerfile pattern (Dockerfile.*) but are not Dockerfiles: the side file,
# backups (ours are Dockerfile.<pid>.<date>~), editor and patch leftovers, temp files.
_SIDE_SUFFIXES = (".dockerignore", "~", ".orig", ".bak", ".rej", ".swp", ".tmp")
# Directories are opened as descriptors and listed with scandir(fd) where supported. The root
# itself may be a symlink (os.stat followed it); below it, a symlink is never followed.
_SCANDIR_FD = os.scandir in getattr(os, "supports_fd", set()) and hasattr(os, "O_DIRECTORY")
_ROOT_DIR_FLAGS = (os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NONBLOCK", 0)
                   | getattr(os, "O_CLOEXEC", 0))
_DIR_FLAGS = _ROOT_DIR_FLAGS | getattr(os, "O_NOFOLLOW", 0)


def descriptor_kind(path: str) -> Optional[str]:
    """``compose``, ``bake`` or ``workflow`` for a descriptor's path, None for anything else."""
    directory, dummy, name = path.rpartition("/")
    name = name.lower()
    if directory.endswith("/.github/workflows") and name.endswith((".yml", ".yaml")):
        return "workflow"
    if name.startswith("docker-bake") and name.endswith((".hcl", ".json")):
        return "bake"
    if name.startswith(("compose.", "docker-compose.", "docker-compose-")) and name.endswith((".yml", ".yaml")):
        return "compose"
    return None


class Candidate:
    """One file found by the walk (a Dockerfile, or a matched name that must be reported)."""

    __slots__ = ("depth", "dir_identity", "dockerignore", "error", "package_json", "path", "read_path", "root")

    def __init__(self, path: str, root: str, read_path: Optional[str] = None,
                 error: Optional[tuple[str, str]] = None) -> None:
        self.path = path                  # path as found under the root
        self.root = root
        self.read_path = read_path or path  # resolved target for in-root symlinks
        self.error = error                # (code, message) when it must not be read
        self.dockerignore: Optional[str] = None  # path of the applicable .dockerignore, when listed
        self.package_json: Optional[str] = None
        self.depth = 0
        # (st_dev, st_ino) of the directory the file was listed in, as the walk opened it: remediation
        # refuses to write into a directory that is not this one (swapped since the scan)
        self.dir_identity: Optional[tuple[int, int]] = None

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Candidate({self.path!r}, error={self.error!r})"


class Matcher:
    """Compiled file-name patterns and exclude rules, built once per walk."""

    def __init__(self, patterns: Optional[Iterable[str]] = None, excludes: Optional[Iterable[str]] = None,
                 case_insensitive: bool = False, descriptors: bool = False) -> None:
        pats = list(patterns) if patterns else list(DEFAULT_PATTERNS)
        flags = re.IGNORECASE if case_insensitive or tuple(pats) == DEFAULT_PATTERNS else 0
        names = "|".join(f"(?:{fnmatch.translate(p)})" for p in pats)
        self.name_re: Pattern[str] = re.compile(names, flags)
        # what the walk matches each name with: the Dockerfile names, and the build descriptors when asked
        # (one match per file either way; ``lastgroup`` is "descriptor" for a descriptor); in a
        # .github/workflows folder every YAML file is a descriptor
        self.walk_re: Pattern[str] = re.compile(f"{names}|{_DESCRIPTOR_RE}", flags) if descriptors else self.name_re
        self.workflow_re: Optional[Pattern[str]] = re.compile(f"{names}|{_DESCRIPTOR_RE}|{_WORKFLOW_RE}", flags) \
            if descriptors else None
        # with the default patterns, a name ``walk_re`` matches starts with d or c (Dockerfile*, Containerfile*,
        # compose*, docker-compose*, docker-bake*) or ends with e (*.Dockerfile, *.Containerfile), in any case
        # (no other character folds to these): the walk tests that first, the regex only when it holds
        self.quick = tuple(pats) == DEFAULT_PATTERNS
        excl = list(DEFAULT_EXCLUDES if excludes is None else excludes)
        self.exclude_names = frozenset(e for e in excl if "/" not in e and not _has_magic(e))
        name_globs = [e for e in excl if "/" not in e and _has_magic(e)]
        path_globs = [e.rstrip("/") or "/" for e in excl if "/" in e]
        self.exclude_name_re = re.compile("|".join(f"(?:{fnmatch.translate(g)})" for g in name_globs)) \
            if name_globs else None
        self.exclude_path_re = re.compile("|".join(f"(?:{fnmatch.translate(g)})" for g in path_globs)) \
            if path_globs else None

    def is_dockerfile(self, name: str) -> bool:
        return self.name_re.match(name) is not None and not name.lower().endswith(_SIDE_SUFFIXES)

    def excluded(self, name: str, path: str) -> bool:
        if name in self.exclude_names:
            return True
        if self.exclude_name_re is not None and self.exclude_name_re.match(name):
            return True
        return self.exclude_path_re is not None and self.exclude_path_re.match(path) is not None


def _has_magic(s: str) -> bool:
    return any(c in s for c in "*?[")


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root if root.endswith("/") else root + "/")


def _problem(path: str, code: str, message: str) -> dict[str, str]:
    return {"path": path, "code": code, "message": message}


def _os_error_code(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission_denied"
    if exc.errno == errno.ENOENT:
        return "not_found"
    if exc.errno == errno.ELOOP:
        return "symlink_loop"
    return "read_error"


def walk(roots: Iterable[str], matcher: Optional[Matcher] = None, max_depth: Optional[int] = None,
         one_filesystem: bool = False, follow_symlinks_within_root: bool = True, *,
         progress: Optional[Callable[[list[Candidate]], None]] = None,
         descriptors: Optional[list[Candidate]] = None,
         ) -> tuple[list[Candidate], list[dict[str, str]], dict[str, int]]:
    """Walk ``roots`` and return ``(candidates, problems, stats)``.

    ``max_depth`` counts directory levels below a root (0 = the root's own
    entries only; None = unlimited).  Problems are dicts ``{path, code,
    message}`` for roots and directories; per-file trouble is put on the
    candidate (``error``) so it becomes that file's document.

    ``progress``, when given, is called with the candidate list (read only; complete
    candidates, in their final order) each time a directory added some, so the
    caller can start on them while the walk goes on.

    ``descriptors``, when given, receives the build descriptors the walk finds (compose and bake files,
    GitHub Actions workflows; only with a ``Matcher(descriptors=True)``), as candidates to read.
    """
    m = matcher or Matcher()
    found: list[Candidate] = []
    problems: list[dict[str, str]] = []
    stats = {"directories": 0, "files": 0, "pruned": 0}
    seen_dirs: set = set()
    seen_paths: set = set()
    for root in roots:
        _walk_root(root, m, max_depth, one_filesystem, follow_symlinks_within_root, found, problems, stats,
                   seen_dirs, seen_paths, progress, descriptors)
    return found, problems, stats


def _walk_root(root: str,  # noqa: PLR0917 - internal, called once
                m: Matcher, max_depth: Optional[int], one_fs: bool, follow_links: bool,
               found: list[Candidate], problems: list[dict[str, str]], stats: dict[str, int],
               seen_dirs: set, seen_paths: set,
               progress: Optional[Callable[[list[Candidate]], None]] = None,
               descriptors: Optional[list[Candidate]] = None) -> None:
    root_abs = os.path.abspath(root)
    try:
        st = os.stat(root_abs)  # an explicitly given root may itself be a symlink
    except OSError as exc:
        code = _os_error_code(exc)
        if code == "not_found":
            problems.append(_problem(root_abs, "root_not_found", f"scan root {root_abs} does not exist"))
        else:
            problems.append(_problem(root_abs, code, f"cannot access scan root {root_abs}: {exc.strerror}"))
        return
    real_root = os.path.realpath(root_abs)
    if stat.S_ISREG(st.st_mode):
        # a file given explicitly is scanned whatever its name
        if root_abs not in seen_paths:
            seen_paths.add(root_abs)
            cand = Candidate(root_abs, os.path.dirname(root_abs), real_root)
            _side_files_by_stat(cand, os.path.dirname(real_root))
            try:
                dst = os.stat(os.path.dirname(root_abs))
                cand.dir_identity = (dst.st_dev, dst.st_ino)
            except OSError:
                pass
            found.append(cand)
        return
    if not stat.S_ISDIR(st.st_mode):
        problems.append(_problem(root_abs, "not_a_directory",
                                 f"scan root {root_abs} is neither a directory nor a regular file"))
        return
    root_dev = st.st_dev
    stack: list[tuple[str, int]] = [(root_abs, 0)]
    key = (st.st_dev, st.st_ino)
    if key in seen_dirs:
        return
    seen_dirs.add(key)
    walk_match = m.walk_re.match
    workflow_match = m.workflow_re.match if m.workflow_re is not None and descriptors is not None else walk_match
    exclude_names = m.exclude_names
    exclude_name_match = m.exclude_name_re.match if m.exclude_name_re is not None else None
    exclude_path_match = m.exclude_path_re.match if m.exclude_path_re is not None else None
    files = 0
    while stack:
        dirpath, depth = stack.pop()
        stats["directories"] += 1
        local: list[Candidate] = []
        has_ignore = False
        has_pkg = False
        names: set = set()
        descs: list[Candidate] = []
        name_match = workflow_match if dirpath.endswith("/.github/workflows") else walk_match
        quick = m.quick and name_match is walk_match
        # Listed through a descriptor when the platform allows: the lstat of each subdirectory
        # (loop check) is then an fstatat relative to it instead of a lookup of the full path,
        # and a subdirectory swapped for a symlink since it was listed is refused (O_NOFOLLOW).
        dfd = -1
        try:
            if _SCANDIR_FD:
                dfd = os.open(dirpath, _DIR_FLAGS if depth else _ROOT_DIR_FLAGS)
                it = os.scandir(dfd)
            else:
                it = os.scandir(dirpath)
        except OSError as exc:
            if dfd >= 0:
                os.close(dfd)
            code = _os_error_code(exc)
            problems.append(_problem(dirpath, code, f"cannot list directory {dirpath}: {exc.strerror}"))
            continue
        prefix = dirpath if dirpath.endswith("/") else dirpath + "/"
        descend = max_depth is None or depth < max_depth
        try:
            with it:
                # Matcher.excluded / Matcher.is_dockerfile inlined: this loop sees every entry of the tree
                for entry in it:
                    name = entry.name
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            path = prefix + name
                            if (name in exclude_names
                                    or (exclude_name_match is not None and exclude_name_match(name) is not None)
                                    or (exclude_path_match is not None and exclude_path_match(path) is not None)):
                                stats["pruned"] += 1
                                continue
                            if not descend:
                                continue
                            est = entry.stat(follow_symlinks=False)
                            if one_fs and est.st_dev != root_dev:
                                stats["pruned"] += 1
                                continue
                            dkey = (est.st_dev, est.st_ino)
                            if dkey in seen_dirs:
                                continue
                            seen_dirs.add(dkey)
                            stack.append((path, depth + 1))
                            continue
                        files += 1
                        if name == ".dockerignore":
                            has_ignore = True
                        elif name == "package.json":
                            has_pkg = True
                        elif name.endswith(".dockerignore"):
                            names.add(name)
                        if quick and name[0] not in "dDcC" and name[-1] not in "eE":
                            continue  # no default pattern matches (see Matcher.quick)
                        match = name_match(name)
                        if match is None or name.lower().endswith(_SIDE_SUFFIXES):
                            continue
                        path = prefix + name
                        if match.lastgroup is not None:  # a build descriptor: regular files only, never a link
                            if descriptors is not None and entry.is_file(follow_symlinks=False):
                                descs.append(Candidate(path, root_abs))
                            continue
                        if path in seen_paths:
                            continue
                        seen_paths.add(path)
                        if entry.is_symlink():
                            local.append(_symlink_candidate(path, real_root, follow_links))
                        elif entry.is_file(follow_symlinks=False):
                            local.append(Candidate(path, root_abs))
                        else:
                            local.append(Candidate(path, root_abs, error=(
                                "not_regular_file", f"{path} is a FIFO, socket or device; not opened")))
                    except OSError as exc:
                        problems.append(_problem(prefix + name, _os_error_code(exc),
                                                 f"cannot inspect {prefix + name}: {exc.strerror}"))
        except OSError as exc:  # from the listing itself: what was listed so far is kept
            problems.append(_problem(dirpath, _os_error_code(exc), f"error while listing {dirpath}: {exc.strerror}"))
        finally:
            ident = None
            if local or descs:   # the identity of the directory really listed (one fstat, only where files were found)
                try:
                    dst = os.fstat(dfd) if dfd >= 0 else os.stat(dirpath)
                    ident = (dst.st_dev, dst.st_ino)
                except OSError:
                    pass
            if dfd >= 0:
                os.close(dfd)
        for cand in descs:
            cand.depth = depth
            cand.dir_identity = ident
        if descs and descriptors is not None:
            descriptors.extend(descs)
        for cand in local:
            cand.root = root_abs
            cand.depth = depth
            cand.dir_identity = ident
            if cand.error is None:
                specific = os.path.basename(cand.path) + ".dockerignore"
                if specific in names:
                    cand.dockerignore = os.path.join(dirpath, specific)
                elif has_ignore:
                    cand.dockerignore = os.path.join(dirpath, ".dockerignore")
                if has_pkg:
                    cand.package_json = os.path.join(dirpath, "package.json")
            found.append(cand)
        if local and progress is not None:
            progress(found)
    stats["files"] += files


def _symlink_candidate(path: str, real_root: str, follow: bool) -> Candidate:
    """A matching symlink: readable only when it resolves to a regular file inside the root.

    Each link is its own candidate (its directory is its build context), even when
    several links share a target.
    """
    if not follow:
        return Candidate(path, real_root, error=("symlink_not_followed",
                                                 f"{path} is a symlink and follow_symlinks_within_root is off"))
    target = os.path.realpath(path)
    if not _within(target, real_root):
        return Candidate(path, real_root, error=("symlink_outside_root",
                                                 f"{path} links outside its scan root ({real_root}); not read"))
    try:
        st = os.stat(target)
    except OSError as exc:
        code = _os_error_code(exc)
        if code == "symlink_loop":
            msg = f"{path} is part of a symlink loop"
        elif code == "not_found":
            code = "broken_symlink"
            msg = f"{path} is a dangling symlink"
        else:
            msg = f"cannot resolve {path}: {exc.strerror}"
        return Candidate(path, real_root, error=(code, msg))
    if not stat.S_ISREG(st.st_mode):
        return Candidate(path, real_root, error=("not_regular_file",
                                                 f"{path} links to something that is not a regular file"))
    return Candidate(path, real_root, read_path=target)


def _side_files_by_stat(cand: Candidate, dirpath: str) -> None:
    """Locate ``.dockerignore``/``package.json`` for an explicitly given file (no listing available)."""
    specific = os.path.join(dirpath, os.path.basename(cand.path) + ".dockerignore")
    generic = os.path.join(dirpath, ".dockerignore")
    for p in (specific, generic):
        if os.path.lexists(p):
            cand.dockerignore = p
            break
    pj = os.path.join(dirpath, "package.json")
    if os.path.lexists(pj):
        cand.package_json = pj


class ReadResult:
    """Outcome of a read: data or an error ``(code, message)``, plus what ``fstat`` said."""

    __slots__ = ("data", "error", "mtime", "size")

    def __init__(self, data: Optional[bytes] = None, error: Optional[tuple[str, str]] = None,
                 size: Optional[int] = None, mtime: Optional[float] = None) -> None:
        self.data = data
        self.error = error
        self.size = size
        self.mtime = mtime


# _safefs refusal codes -> the problem codes of the facts (docs/facts-schema.md)
_FACT_CODES = {"symlink": "symlink_not_followed", "io_error": "read_error", "not_directory": "dir_changed",
               "not_under_root": "symlink_outside_root"}


class Reader:
    """The scan's reads: every file through its directory's descriptor, with ``_safefs.read_at``.

    * A directory is opened without following a final symlink (a scan root as given) and must still be
      the directory the walk listed (``Candidate.dir_identity``; ``dir_changed`` otherwise).
    * A file is read with ``_safefs.read_at``: ``O_NOFOLLOW | O_NONBLOCK``, ``S_ISREG`` on the opened
      descriptor, the size cap, and no hard links (``st_nlink > 1``: ``hardlink``) unless
      ``allow_hardlinks``.
    * Run as root (``euid`` 0), a file is read only when the owner of the directory holding the name
      found could read it through that name (``_safefs.owner_refusal``): otherwise it is refused with
      ``foreign_owner`` before it is opened, unless ``read_foreign_files``. The opened descriptor is
      checked again, so a file swapped in between is dropped unparsed.

    The last few directories stay open (candidates come grouped by directory); ``close`` closes them.
    """

    KEEP = 4

    def __init__(self, max_size: int, read_foreign_files: bool = False, allow_hardlinks: bool = False,
                 euid: Optional[int] = None) -> None:
        self.max_size = max_size
        self.allow_hardlinks = allow_hardlinks
        self.check_owner = not read_foreign_files and (os.geteuid() if euid is None else euid) == 0
        self._dirs: dict[str, tuple[int, os.stat_result]] = {}

    def close(self) -> None:
        dirs, self._dirs = self._dirs, {}
        for fd, dummy in dirs.values():
            os.close(fd)

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def directory(self, path: str, identity: Optional[tuple[int, int]] = None,
                  follow: bool = False) -> tuple[int, os.stat_result]:
        """``(descriptor, stat)`` of the directory ``path``; ``follow`` follows a final symlink (a scan root).

        ``identity`` ``(st_dev, st_ino)``, when given, must match. Raises ``_safefs.UnsafeFile``.
        """
        hit = self._dirs.get(path)
        if hit is None:
            try:
                fd = os.open(path, _safefs.ROOT_FLAGS if follow else _safefs.DIR_FLAGS)
            except OSError as exc:
                code = _safefs._os_code(exc)
                if code in ("symlink", "not_directory"):
                    raise _safefs.UnsafeFile("dir_changed", path, f"directory {path} was replaced (now a symlink "
                                             "or not a directory) since it was listed; not read") from exc
                raise _safefs.UnsafeFile(code, path, f"cannot open directory {path}: {exc.strerror}") from exc
            try:
                st = os.fstat(fd)
            except OSError as exc:
                os.close(fd)
                raise _safefs.UnsafeFile("io_error", path, f"cannot open directory {path}: {exc.strerror}") from exc
            if len(self._dirs) >= self.KEEP:
                os.close(self._dirs.pop(next(iter(self._dirs)))[0])
            hit = self._dirs[path] = (fd, st)
        if identity is not None and (hit[1].st_dev, hit[1].st_ino) != tuple(identity):
            raise _safefs.UnsafeFile("dir_changed", path, f"directory {path} was replaced since it was listed; "
                                     "not read")
        return hit

    def read(self, dir_fd: int, name: str, path: str, dir_st: Optional[os.stat_result] = None,
             link_uid: Optional[int] = None) -> ReadResult:
        """Read ``name`` in the directory ``dir_fd`` (``path`` names it in messages); never raises.

        ``dir_st`` is the directory holding the name that was found (for a symlink: the link's, whose
        owner is ``link_uid``); without it the owner rule does not apply.
        """
        # in a directory only root can write to, every file found by its own name (or through root's link)
        # passes the rule: no look needed (the common case of a root-owned tree costs no extra system call)
        check = self.check_owner and dir_st is not None and not (
            (link_uid is None or link_uid == 0) and _safefs.root_only(dir_st))
        if check:
            try:
                pre = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except OSError:
                pre = None  # read_at says why
            # a hard link is read_at's refusal (it opens, never reads); anything else not regular too
            if pre is not None and stat.S_ISREG(pre.st_mode) and (pre.st_nlink == 1 or self.allow_hardlinks):
                why = _safefs.owner_refusal(pre, dir_st, link_uid)  # type: ignore[arg-type]
                if why is not None:
                    return _foreign(path, why)
        try:
            data, st = _safefs.read_at(dir_fd, name, path=path, max_size=self.max_size,
                                       allow_hardlinks=self.allow_hardlinks)
        except _safefs.UnsafeFile as exc:
            return self._refused(exc, dir_fd, name)
        if check:
            why = _safefs.owner_refusal(st, dir_st, link_uid)  # type: ignore[arg-type]
            if why is not None:  # swapped since the first look: what was read is dropped
                return _foreign(path, why)
        return ReadResult(data=data, size=len(data), mtime=st.st_mtime)

    def read_path(self, path: str, identity: Optional[tuple[int, int]] = None, follow_dir: bool = False,
                  link: Optional[str] = None) -> ReadResult:
        """Read the file ``path`` through its directory (see ``directory``); never raises.

        ``identity`` and ``follow_dir`` are about the directory holding the name that was found: ``path``'s
        own, or ``link``'s when the name found was the symlink ``link`` (resolved to ``path``); the owner
        rule then compares with that directory and the link's owner.
        """
        directory, dummy, name = path.rpartition("/")
        if link is None:
            # a directory still open (the side files beside a Dockerfile): what ``directory`` would return
            hit = self._dirs.get(directory or "/")
            if hit is not None and (identity is None or (hit[1].st_dev, hit[1].st_ino) == tuple(identity)):
                return self.read(hit[0], name, path, hit[1], None)
        try:
            if link is None:
                dfd, dst = self.directory(directory or "/", identity, follow_dir)
                link_uid = None
            else:
                ldir, dummy, lname = link.rpartition("/")
                lfd, dst = self.directory(ldir or "/", identity, follow_dir)
                link_uid = os.stat(lname, dir_fd=lfd, follow_symlinks=False).st_uid if self.check_owner else None
                dfd, dummy = self.directory(directory or "/")
        except _safefs.UnsafeFile as exc:
            return ReadResult(error=(_FACT_CODES.get(exc.code, exc.code), exc.message))
        except OSError as exc:  # the link itself is gone
            return ReadResult(error=(_os_error_code(exc), f"cannot inspect {link}: {exc.strerror}"))
        return self.read(dfd, name, path, dst, link_uid)

    def _refused(self, exc: _safefs.UnsafeFile, dir_fd: int, name: str) -> ReadResult:
        code = _FACT_CODES.get(exc.code, exc.code)
        message = exc.message
        size = None
        if code == "hardlink":
            message += "; the allow_hardlinks option reads it"
        elif code == "too_large":
            try:
                size = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_size
            except OSError:
                pass
        return ReadResult(error=(code, message), size=size)


def _foreign(path: str, why: str) -> ReadResult:
    return ReadResult(error=("foreign_owner", f"{path} {why}; not read: run as root, the scan reads another "
                                              "user's file only with the read_foreign_files option"))


def read_bounded(path: str, max_size: int, *, allow_hardlinks: bool = True) -> ReadResult:
    """Read one regular file of at most ``max_size`` bytes without ever blocking (``Reader`` for one file).

    The final component is never followed (a symlink is ``symlink_not_followed``), a FIFO or device is
    ``not_regular_file``, a larger file ``too_large``; nothing is raised. No owner rule (there is no
    directory a name was found in).
    """
    with Reader(max_size, read_foreign_files=True, allow_hardlinks=allow_hardlinks) as reader:
        return reader.read_path(path, follow_dir=True)
