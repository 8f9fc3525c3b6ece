# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build descriptors on the host (stdlib only): read them for the controller, evaluate declared builds.

A managed host may lack PyYAML, so descriptors are not parsed here. The walk finds them
(``_walker``: compose and bake files by name, every YAML file of a ``.github/workflows`` folder);
:func:`read_descriptors` reads each one the walker's way (through its directory's descriptor, no
link followed, no FIFO opened, the owner rule as root), bounded by :data:`MAX_DESCRIPTOR_SIZE`, and
redacts its secrets with the redactor the Dockerfiles use (``_redact.redact_text``) before the text
leaves the host. The controller parses them (``plugin_utils/_descriptors.py``) and sends back the
builds they declare; :func:`build_documents` evaluates each one: the Dockerfile is reached from its
scan root one directory at a time without following symlinks (``_safefs.open_dir``), whatever its
name; its facts are built for the declared target and build arguments; the ignore file is the one
BuildKit would use (``<Dockerfile name>.dockerignore`` beside the Dockerfile, else ``.dockerignore``
at the root of the declared context) and ``package.json`` is the context's.
"""

from __future__ import annotations

import os
import posixpath
from re import Pattern
from typing import Any, Optional

from ansible_collections.refarch.containers.plugins.module_utils import _safefs
from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_facts import (
    dockerfile_facts,
    error_document,
)
from ansible_collections.refarch.containers.plugins.module_utils._redact import (
    REDACTED,
    is_secret_name,
    redact_text,
)
from ansible_collections.refarch.containers.plugins.module_utils._walker import (
    _FACT_CODES,
    Candidate,
    Reader,
    ReadResult,
    descriptor_kind,
)

#: The largest descriptor read (a compose file, a bake file, a workflow); a larger one is a problem.
MAX_DESCRIPTOR_SIZE = 512 * 1024
#: At most this many descriptors, and this many bytes of them, are read per scan (the rest are a problem): a bound
#: on what goes to the controller.
MAX_DESCRIPTORS = 2000
MAX_DESCRIPTOR_TOTAL = 16 * 1024 * 1024


def read_descriptors(found: list[Candidate], read_foreign_files: bool = False, allow_hardlinks: bool = False,
                     names_re: Optional[Pattern[str]] = None) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """``(descriptors, problems)``: each found descriptor's redacted text, or why it was not read (a problem is
    ``source: descriptor``: the run is incomplete, ``_completeness``)."""
    out: list[dict[str, Any]] = []
    problems: list[dict[str, str]] = []
    if len(found) > MAX_DESCRIPTORS:
        problems.append({"path": found[MAX_DESCRIPTORS].path, "code": "too_many_descriptors",
                         "message": f"more than {MAX_DESCRIPTORS} build descriptors under the scan roots; the rest "
                                    "are not read", "source": "descriptor"})
        found = found[:MAX_DESCRIPTORS]
    total = 0
    with Reader(MAX_DESCRIPTOR_SIZE, read_foreign_files, allow_hardlinks) as reader:
        for cand in found:
            if total > MAX_DESCRIPTOR_TOTAL:
                out.append({"path": cand.path, "kind": descriptor_kind(cand.path), "scan_root": cand.root,
                            "text": None, "error": {"code": "too_many_descriptors",
                                                    "message": f"{cand.path} was not read: the build descriptors "
                                                               f"read before it already hold more than "
                                                               f"{MAX_DESCRIPTOR_TOTAL} bytes"}})
                continue
            entry: dict[str, Any] = {"path": cand.path, "kind": descriptor_kind(cand.path), "scan_root": cand.root,
                                     "text": None, "error": None}
            res = reader.read_path(cand.path, cand.dir_identity, (cand.path.rpartition("/")[0] or "/") == cand.root)
            if res.error is not None:
                code, message = res.error
                if code == "too_large":
                    message = (f"{cand.path} is larger than {MAX_DESCRIPTOR_SIZE} bytes; a build descriptor that "
                               "large is not read")
                entry["error"] = {"code": code, "message": message}
            else:
                try:
                    text = (res.data or b"").decode("utf-8-sig")
                except UnicodeDecodeError as exc:
                    entry["error"] = {"code": "decode_error", "message": f"{cand.path} is not valid UTF-8 "
                                                                         f"({exc.reason}); not read"}
                else:
                    total += len(res.data or b"")
                    entry["text"] = redact_text(text, names_re) if names_re is not None else redact_text(text)
                    try:  # whose file it is: run as root, a build it declares reads only that user's (or root's) files
                        entry["uid"] = os.stat(cand.path, follow_symlinks=False).st_uid
                    except OSError:
                        entry["uid"] = None
            out.append(entry)
    return out, problems


def _root_of(path: str, roots: list[str]) -> Optional[str]:
    best = None
    for root in roots:
        base = posixpath.normpath(root)
        if (path == base or path.startswith(base.rstrip("/") + "/")) and (best is None or len(base) > len(best)):
            best = base
    return best


def _build_entry(build: dict[str, Any], names_re: Optional[Pattern[str]]) -> dict[str, Any]:
    """The ``build`` of a document: what declares it and how; argument values redacted like ENV."""
    args = {}
    for name, value in (build.get("args") or {}).items():
        secret = is_secret_name(name, names_re) if names_re is not None else is_secret_name(name)
        args[str(name)] = REDACTED if secret and value is not None else value
    return {"declared": True, "context": build["context"], "target": build.get("target"), "args": args,
            "image": build.get("image"), "tags": list(build.get("tags") or []),
            "declared_by": [{k: d.get(k) for k in ("path", "kind", "name")} for d in build.get("declared_by") or []]}


def _not_found(build: dict[str, Any], what: str) -> list[dict[str, str]]:
    """A ``dockerfile_not_found`` problem for each descriptor that declares ``build``."""
    out = []
    for decl in build.get("declared_by") or [{"path": build["dockerfile"], "name": "", "kind": ""}]:
        out.append({"path": decl["path"], "code": "dockerfile_not_found",
                    "message": f"{decl['path']}: {decl.get('name') or 'a build'} names the Dockerfile "
                               f"{build['dockerfile']}, which {what}"})
    return out


def build_documents(builds: list[dict[str, Any]], roots: list[str], read_options: tuple,
                    names_re: Optional[Pattern[str]] = None,
                    include_instructions: bool = True) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """One facts document per declared build, and the problems of the builds that name no file.

    ``builds`` come from the controller (``_descriptors.plan_builds``): ``dockerfile``, ``context``,
    ``target``, ``args``, ``image``, ``tags``, ``declared_by``. ``read_options`` is ``(max_file_size,
    read_foreign_files, allow_hardlinks)`` (see ``_walker.Reader``). Never raises for one build.
    """
    docs: list[dict[str, Any]] = []
    problems: list[dict[str, str]] = []
    with Reader(*read_options) as reader:
        for build in builds:
            try:
                doc = _build_document(build, roots, reader, names_re, include_instructions, problems)
            except Exception as exc:  # never fail a host because of one build
                doc = error_document(str(build.get("dockerfile")), "internal_error",
                                     f"could not build facts for {build.get('dockerfile')}: {type(exc).__name__}")
            if doc is not None:
                doc["build"] = _build_entry(build, names_re)
                doc["context"] = build["context"]
                docs.append(doc)
    return docs, problems


def _foreign_to(reader: Reader, dir_fd: int, name: str, path: str, build: dict[str, Any]) -> Optional[tuple]:
    """Run as root: ``(code, message)`` when ``name`` belongs to neither root nor a user whose descriptor declares
    this build. A descriptor may name any file under the roots; it must not make root read, and put into reports,
    another user's file (the walk's owner rule, for files found by a descriptor instead of by their name)."""
    if not reader.check_owner or not build.get("declared_by"):
        return None  # no descriptor (a re-scan of one build): the walk's owner rule alone, in Reader.read
    owners = {d.get("uid") for d in build.get("declared_by") or [] if isinstance(d.get("uid"), int)}
    if 0 in owners:
        return None  # root's descriptor (a deployment's): only the walk's owner rule, in Reader.read
    try:
        uid = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_uid
    except OSError:
        return None  # the read says why
    if uid == 0 or uid in owners:
        return None
    return ("foreign_owner", f"{path} belongs to uid {uid}, and no descriptor of that user declares this build; "
                             "not read: run as root, the scan reads another user's file only with the "
                             "read_foreign_files option")


def _build_document(build: dict[str, Any], roots: list[str], reader: Reader,  # noqa: PLR0917 - internal
                    names_re: Optional[Pattern[str]], include_instructions: bool,
                    problems: list[dict[str, str]]) -> Optional[dict[str, Any]]:
    path = posixpath.normpath(str(build["dockerfile"]))
    context = posixpath.normpath(str(build["context"]))
    root = _root_of(path, roots)
    ctx_root = _root_of(context, roots)
    if root is None or ctx_root is None:
        problems.extend({"path": d["path"], "code": "context_outside_roots",
                         "message": f"{d['path']}: {d.get('name')}: {path if root is None else context} is outside "
                                    "every scan root; not followed"}
                        for d in build.get("declared_by") or [])
        return None
    directory, dummy, name = path.rpartition("/")
    try:
        handle = _safefs.open_dir(root, directory or "/")
    except _safefs.UnsafeFile as exc:
        if exc.code == "not_found":
            problems.extend(_not_found(build, "does not exist"))
            return None
        return _scan_place(error_document(path, _code(exc.code), exc.message), root, None)
    with handle:
        dir_st = _fstat(handle.fd)
        foreign = _foreign_to(reader, handle.fd, name, path, build)
        res = reader.read(handle.fd, name, path, dir_st) if foreign is None else ReadResult(error=foreign)
        if res.error is not None:
            if res.error[0] == "not_found":
                problems.extend(_not_found(build, "does not exist"))
                return None
            return _scan_place(error_document(path, res.error[0], res.error[1], size=res.size, mtime=res.mtime),
                               root, handle.identity)
        di_path = path + ".dockerignore"
        foreign = _foreign_to(reader, handle.fd, name + ".dockerignore", di_path, build)
        di = reader.read(handle.fd, name + ".dockerignore", di_path, dir_st) if foreign is None \
            else ReadResult(error=foreign)
        extra: list[dict[str, Any]] = []
        pj_path = posixpath.join(context, "package.json")
        pj = None
        if di.error is not None and di.error[0] == "not_found":
            di_path = posixpath.join(context, ".dockerignore")
            di, pj, ctx_problem = _context_files(ctx_root, context, reader, build)
            if ctx_problem:
                extra.append(ctx_problem)
        else:
            dummy, pj, ctx_problem = _context_files(ctx_root, context, reader, build, ignore=False)
            if ctx_problem:
                extra.append(ctx_problem)
        di_data, di_err = _side(di)
        pj_data, pj_err = _side(pj)
        doc = dockerfile_facts(path, res.data or b"", di_data, pj_data, mtime=res.mtime, dockerignore_path=di_path,
                               package_json_path=pj_path, dockerignore_error=di_err, package_json_error=pj_err,
                               secret_names=names_re, include_instructions=include_instructions,
                               target=build.get("target"), build_args=build.get("args") or None)
        for err in (di_err, pj_err):
            if err is not None:
                doc["problems"].append({"line": None, "code": err["code"], "message": err["message"]})
        doc["problems"].extend(extra)
        return _scan_place(doc, root, handle.identity)


def _context_files(root: str, context: str, reader: Reader, build: dict[str, Any],
                   ignore: bool = True) -> tuple[Any, Any, Optional[dict]]:
    """The context root's ``.dockerignore`` (when ``ignore``) and ``package.json`` read results, and a problem."""
    try:
        handle = _safefs.open_dir(root, context)
    except _safefs.UnsafeFile as exc:
        code = "context_not_found" if exc.code == "not_found" else _code(exc.code)
        # source: descriptor: the declared build was not evaluated as declared, the run is incomplete (_completeness)
        return None, None, {"line": None, "code": code, "message": f"the build context {context} cannot be opened: "
                                                                   f"{exc.message}", "source": "descriptor"}
    with handle:
        dir_st = _fstat(handle.fd)
        found = []
        for wanted, name in ((ignore, ".dockerignore"), (True, "package.json")):
            path = posixpath.join(context, name)
            foreign = _foreign_to(reader, handle.fd, name, path, build) if wanted else None
            found.append(None if not wanted else ReadResult(error=foreign) if foreign is not None
                         else reader.read(handle.fd, name, path, dir_st))
    return found[0], found[1], None


def _side(res: Any) -> tuple[Optional[bytes], Optional[dict]]:
    if res is None or (res.error is not None and res.error[0] == "not_found"):
        return None, None
    if res.error is not None:
        return None, {"code": res.error[0], "message": res.error[1]}
    return res.data, None


def _fstat(fd: int) -> os.stat_result:
    return os.fstat(fd)


def _code(code: str) -> str:
    return _FACT_CODES.get(code, code)


def _scan_place(doc: dict[str, Any], root: str, identity: Optional[tuple]) -> dict[str, Any]:
    """Where remediation finds the file again (as ``_discovery`` records it)."""
    doc["scan_root"] = root
    doc["dir_identity"] = {"dev": identity[0], "ino": identity[1]} if identity is not None else None
    return doc
