#!/usr/bin/python
# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: dockerfile_remediate
short_description: Rewrite a Dockerfile (and its .dockerignore) so it follows the Node.js reference architecture
version_added: 0.1.0
description:
  - Applies the fixes that C(refarch.containers.policy_check) findings name (their C(fix) field), or an explicit
    list of fixes, to one Dockerfile on the managed host, and creates or extends the C(.dockerignore) of its
    build context.
  - Fixes splice line spans; lines a fix does not touch are kept byte for byte (comments, trailing whitespace,
    CRLF line endings). They run in a fixed order and are idempotent, so a second run reports C(changed=false).
  - A fix that cannot be applied safely is not guessed at; it is returned in RV(skipped) with the reason.
  - Safety. O(expected_sha256) (or the C(target.sha256) of the findings) is checked against the file as it is now;
    if the file changed since it was scanned the module fails and writes nothing. Writes go to a temporary file in
    the same directory, are flushed to disk and moved over the original atomically, keeping its owner, group, mode
    and SELinux context. An exclusive lock beside the file makes a concurrent run on the same file fail with a
    conflict instead of interleaving.
  - Check mode writes nothing and returns the planned content in the diff, so remediation can run as an AWX
    check job.
  - Secret ENV/ARG values and inline secrets are redacted in the diff and in the reasons returned; they never leave
    the host (the file itself keeps them).
author:
  - refarch.containers developers (@refarch)
extends_documentation_fragment:
  - refarch.containers.attributes
options:
  path:
    description:
      - Absolute path of the Dockerfile (or Containerfile) to rewrite. Its directory is the build context whose
        C(package.json) and C(.dockerignore) are read.
    type: path
    required: true
  fixes:
    description:
      - Fix ids (for example V(add_non_root_user)), rule ids (for example V(NRA001)) or V(all).
      - With O(findings), restricts the fixes the findings name to these; without, the fixes to apply.
      - One of O(fixes) and O(findings) is required.
    type: list
    elements: str
  findings:
    description:
      - Findings from C(refarch.containers.policy_check). Only those whose C(target.path) is O(path) (or that carry no
        target), that are not waived and whose C(fix) is not V(manual) are used.
    type: list
    elements: dict
  expected_sha256:
    description:
      - SHA-256 of the Dockerfile when it was scanned. The module refuses to write if the file differs.
      - When not given, the C(target.sha256) shared by the findings for O(path) is used; with neither, no guard.
    type: str
  backup:
    description:
      - Keep a timestamped copy of the Dockerfile (and of an existing C(.dockerignore)) before changing it.
    type: bool
    default: false
  dockerignore:
    description:
      - Create or extend the build context's C(.dockerignore) when the V(write_dockerignore) fix is requested.
      - A C(<name>.dockerignore) beside the Dockerfile is used instead of C(.dockerignore) when it exists, as BuildKit
        does.
      - An entry that a C(COPY) or C(ADD) takes from the build context by name (C(COPY node_modules ./node_modules))
        is not excluded, since the build would then fail; the result says so under C(skipped).
    type: bool
    default: true
  port_map:
    description:
      - Privileged port to unprivileged port for V(remap_privileged_ports).
    type: dict
    default: {'80': 8080, '443': 8443}
  unmapped_ports:
    description:
      - What V(remap_privileged_ports) does with a privileged port that O(port_map) does not list.
      - V(offset) adds O(port_offset); V(skip) leaves it and reports the reason.
    type: str
    choices: [offset, skip]
    default: offset
  port_offset:
    description:
      - Added to a privileged port that O(port_map) does not list when O(unmapped_ports=offset).
    type: int
    default: 8000
  base_image_table:
    description:
      - Node.js release data for V(replace_base_image), C({"node_releases" {"22" {"lts_start" ..., "eol" ...}},
        "debian_codename" "bookworm"}). The remediate role passes the policy bundle's
        C(policies/refarch/config/data.json) so the rewriter and the rules agree.
      - When not given, a built-in table (a copy of the bundle's) is used.
    type: dict
  evaluation_date:
    description:
      - ISO date that decides which Node.js lines are LTS and not end-of-life. Defaults to today on the host.
    type: str
  user_ids:
    description:
      - UID/GID per base family for V(add_non_root_user), for example C({"node" {"uid" 1000, "gid" 1000}}).
      - Families are V(node) (official node images), V(ubi) (UBI Node.js), V(distroless) and V(other).
    type: dict
  init_tool:
    description:
      - Init process V(add_init_process) installs and puts in front of the application.
    type: str
    choices: [tini, dumb-init]
    default: tini
  max_node_memory:
    description:
      - Default of the C(MAX_NODE_MEMORY) build argument (MiB) that V(set_heap_limit) feeds to
        C(--max-old-space-size) through C(NODE_OPTIONS).
    type: int
    default: 1024
notes:
  - The heap limit is passed through C(NODE_OPTIONS) because exec-form C(CMD) does not expand variables; build
    with C(--build-arg MAX_NODE_MEMORY=...) or override C(NODE_OPTIONS) at run time.
  - The non-root user is numeric (C(USER 1000) on official node images, C(1001) on UBI) so Kubernetes
    C(runAsNonRoot) can verify it.
  - Runs on the managed host with the Python standard library only.
attributes:
  check_mode:
    support: full
    details: Nothing is written; the planned Dockerfile and C(.dockerignore) are returned in the diff.
  diff_mode:
    support: full
  platform:
    platforms: posix
seealso:
  - module: refarch.containers.dockerfile_info
  - module: refarch.containers.policy_check
"""

EXAMPLES = r"""
- name: Fix what the scan found, refusing if the file changed since
  refarch.containers.dockerfile_remediate:
    path: /srv/app/Dockerfile
    findings: "{{ scan.findings }}"
    backup: true

- name: Apply two fixes by rule id, with a guard from an earlier scan
  refarch.containers.dockerfile_remediate:
    path: /srv/app/Dockerfile
    fixes: [NRA001, NRA010]
    expected_sha256: "{{ facts.dockerfiles[0].sha256 }}"

- name: Dry run of every fix (shows the planned file)
  refarch.containers.dockerfile_remediate:
    path: /srv/app/Dockerfile
    fixes: all
  check_mode: true
  diff: true

- name: Remap 80 to 3000 and leave other privileged ports alone
  refarch.containers.dockerfile_remediate:
    path: /srv/app/Dockerfile
    fixes: [remap_privileged_ports]
    port_map: {'80': 3000}
    unmapped_ports: skip
"""

RETURN = r"""
changed:
  description: Whether the Dockerfile or the C(.dockerignore) was (or in check mode would be) changed.
  returned: always
  type: bool
fixes:
  description: The fix ids that were requested, in the order they ran.
  returned: always
  type: list
  elements: str
  sample: [replace_npm_start, add_non_root_user]
applied:
  description: Fixes that changed a file, with the rules they remediate and the original line numbers they replaced
    or next to which they inserted lines (empty when a fix only changed lines an earlier fix added); C(note) says
    what was left undone, C(warning) what the rebuild must confirm.
  returned: always
  type: list
  elements: dict
  sample: [{"fix": "add_non_root_user", "rule_id": "NRA001", "rule_ids": ["NRA001"], "lines": [12, 14]}]
skipped:
  description: Requested fixes that were not applied, each with the reason; C(not_needed) is true when the file
    already complies, C(partial) when part of an applied fix was left undone.
  returned: always
  type: list
  elements: dict
  sample: [{"fix": "replace_npm_start", "reason": "the start script 'nodemon app.js' runs a development tool"}]
backup_file:
  description: Backup of the Dockerfile made before writing.
  returned: when O(backup=true) and the Dockerfile changed (not in check mode)
  type: str
dockerignore_backup_file:
  description: Backup of the C(.dockerignore) made before writing.
  returned: when O(backup=true) and an existing C(.dockerignore) changed (not in check mode)
  type: str
sha256_before:
  description: SHA-256 of the Dockerfile as read.
  returned: always
  type: str
sha256_after:
  description: SHA-256 of the Dockerfile after the run (planned content in check mode).
  returned: always
  type: str
dockerignore_changed:
  description: Whether the C(.dockerignore) was (or would be) created or extended.
  returned: always
  type: bool
dockerignore_path:
  description: The C(.dockerignore) the module read and would write.
  returned: always
  type: str
diff:
  description: Before/after of the Dockerfile and, when it changes, of the C(.dockerignore).
  returned: in diff mode
  type: list
  elements: dict
"""

import errno
import fcntl
import hashlib
import json
import os
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.refarch.containers.plugins.module_utils import _redact, _rewriter
from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_parser import parse

LOCK_SUFFIX = ".refarch-remediate.lock"


class Conflict(Exception):
    """Another run holds the lock on the same file."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read(path: str, limit: int = 4 * 1024 * 1024):
    """Bytes of a regular file, or None when it does not exist."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except FileNotFoundError:
        return None
    if len(data) > limit:
        raise ValueError(f"{path} is larger than {limit} bytes")
    return data


def _package_context(directory: str) -> tuple:
    """(package_json facts-like dict, production dependency names) read fresh from the context."""
    path = os.path.join(directory, "package.json")
    try:
        data = _read(path)
    except (OSError, ValueError) as exc:
        return {"path": path, "exists": True, "error": {"code": "unreadable", "message": to_native(exc)}}, None
    if data is None:
        return {"path": path, "exists": False, "error": None}, None
    try:
        doc = json.loads(data.decode("utf-8-sig"))
        if not isinstance(doc, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        return {"path": path, "exists": True, "error": {"code": "invalid_json", "message": to_native(exc)}}, None
    scripts = doc.get("scripts") if isinstance(doc.get("scripts"), dict) else {}
    deps = doc.get("dependencies") if isinstance(doc.get("dependencies"), dict) else {}
    pkg = {"path": path, "exists": True, "error": None, "name": doc.get("name"), "main": doc.get("main"),
           "scripts": {str(k): str(v) for k, v in scripts.items()}, "workspaces": doc.get("workspaces"),
           "engines": doc.get("engines") if isinstance(doc.get("engines"), dict) else {}}
    return pkg, sorted(deps)


class _Lock:
    """Exclusive, non-blocking lock on a file beside the target (removed on release)."""

    def __init__(self, target: str):
        directory, name = os.path.split(target)
        self.path = os.path.join(directory, "." + name + LOCK_SUFFIX)
        self.fd = None

    def acquire(self) -> None:
        for _attempt in range(3):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise Conflict(f"another remediation of this file is in progress (lock {self.path} is held)"
                                   ) from exc
                raise
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self.fd = fd
                return
            os.close(fd)   # the holder removed the lock file after we opened it: try again
            time.sleep(0.01)
        raise Conflict(f"could not lock {self.path}: it keeps being replaced by another run")

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            os.unlink(self.path)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None


def _backup(module, path, result):
    """module.backup_local, with its failures (disk full, read-only) turned into a clear task failure.

    ansible-core raises a plain Exception when the copy fails; nothing has been written yet then.
    """
    try:
        return module.backup_local(path)
    except Exception as exc:
        cause = exc.__cause__ or exc.__context__
        why = to_native(cause.strerror if isinstance(cause, OSError) and cause.strerror else cause or exc)
        module.fail_json(msg=f"cannot back up {path}: {why}; nothing was written, the original is unchanged",
                         **dict(result, changed=False))
    return None


def _write_atomic(module: AnsibleModule, path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a synced temp file in the same directory and an atomic move."""
    directory, name = os.path.split(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + name + ".", suffix=".refarch.tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            st = os.stat(path)
        except FileNotFoundError:
            st = None
        if st is not None:
            os.chmod(tmp, st.st_mode & 0o7777)
            try:
                os.chown(tmp, st.st_uid, st.st_gid)
            except PermissionError:
                pass
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        module.atomic_move(tmp, path, unsafe_writes=False)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def _requested_fixes(module: AnsibleModule, path: str) -> tuple:
    """(fix list for the rewriter, sha256 the findings carry or None)."""
    fixes = module.params["fixes"]
    findings = module.params["findings"]
    allowed, unknown = _rewriter.normalize_fixes(fixes) if fixes is not None else (list(_rewriter.FIX_ORDER), [])
    if unknown:
        module.fail_json(msg="unknown fix or rule id(s) in fixes: {} (known fixes: {}; rules: {})".format(
            ", ".join(unknown), ", ".join(_rewriter.FIX_ORDER), ", ".join(sorted(_rewriter.RULE_FIXES))))
    if findings is None:
        return allowed, None
    wanted, shas = set(), set()
    real = os.path.realpath(path)
    for f in findings:
        target = f.get("target") or {}
        tpath = target.get("path")
        if tpath and os.path.realpath(tpath) != real:
            continue
        if target.get("sha256"):
            shas.add(target["sha256"])
        if f.get("waived") or not f.get("fix") or f.get("fix") == "manual":
            continue
        fix = f["fix"]
        if fix in allowed:
            wanted.add(fix)
    if len(shas) > 1:
        module.fail_json(msg="the findings for {} come from different scans (sha256 {}); rescan first".format(
            path, ", ".join(sorted(shas))))
    return [f for f in _rewriter.FIX_ORDER if f in wanted], (shas.pop() if shas else None)


def _redactor(*texts: str) -> _redact.Redactor:
    """A redactor that knows the secret ENV/ARG values of the given Dockerfile texts."""
    redactor = _redact.Redactor()
    for text in texts:
        redactor.instructions(parse(text).get("instructions") or [])
    return redactor


def _redacted(redactor: _redact.Redactor, text: str) -> str:
    """Secrets never leave the host: redact every line of text returned to the controller."""
    return "".join(redactor.text(line) for line in text.splitlines(True))


def _dockerignore_path(path: str) -> str:
    directory, name = os.path.split(path)
    specific = os.path.join(directory, name + ".dockerignore")
    return specific if os.path.isfile(specific) else os.path.join(directory, ".dockerignore")


def run(module: AnsibleModule) -> dict:
    """Remediate one Dockerfile; returns the module result (fails through ``module.fail_json``)."""
    path = module.params["path"]
    if not os.path.isabs(path):
        module.fail_json(msg=f"path must be absolute: {path}")
    if not os.path.isfile(path):
        module.fail_json(msg=f"{path} is not a regular file (remediation needs the Dockerfile that was scanned)")
    directory = os.path.dirname(path)
    fixes, findings_sha = _requested_fixes(module, path)
    expected = module.params["expected_sha256"] or findings_sha

    lock = _Lock(path)
    if not module.check_mode:
        try:
            lock.acquire()
        except Conflict as exc:
            module.fail_json(msg=f"conflict on {path}: {exc}; nothing was written", conflict=True, changed=False)
        except OSError as exc:
            module.fail_json(msg=f"cannot lock {path}: {to_native(exc)}", changed=False)
    try:
        return _remediate(module, path, directory, fixes, expected)
    finally:
        lock.release()


def _remediate(module: AnsibleModule, path: str, directory: str, fixes: list, expected) -> dict:
    try:
        data = _read(path)
    except (OSError, ValueError) as exc:
        module.fail_json(msg=f"cannot read {path}: {to_native(exc)}")
    sha_before = _sha256(data)
    result = {"changed": False, "fixes": fixes, "applied": [], "skipped": [], "sha256_before": sha_before,
              "sha256_after": sha_before, "dockerignore_changed": False}
    if expected and expected.lower() != sha_before:
        module.fail_json(msg=f"{path} changed since it was scanned (expected sha256 {expected}, "
                             f"found {sha_before}); nothing was written: "
                             "rescan and remediate again",
                         conflict=True, **result)
    bom = b""
    if data.startswith(b"\xef\xbb\xbf"):
        bom, data = data[:3], data[3:]
    text = data.decode("utf-8", "surrogateescape")

    di_path = _dockerignore_path(path)
    result["dockerignore_path"] = di_path
    package_json, dependencies = _package_context(directory)
    context = {
        "package_json": package_json,
        "package_dependencies": dependencies,
        "context_files": sorted(n for n in _rewriter.MANIFEST_CANDIDATES if os.path.isfile(os.path.join(directory, n))),
        "evaluation_date": module.params["evaluation_date"],
        "port_map": module.params["port_map"],
        "port_offset": module.params["port_offset"] if module.params["unmapped_ports"] == "offset" else None,
        "base_image_table": module.params["base_image_table"],
        "user_ids": module.params["user_ids"],
        "init_tool": module.params["init_tool"],
        "max_node_memory": module.params["max_node_memory"],
    }
    di_data = None
    if module.params["dockerignore"]:
        try:
            di_data = _read(di_path)
        except (OSError, ValueError) as exc:
            module.fail_json(msg=f"cannot read {di_path}: {to_native(exc)}", **result)
        context["dockerignore_text"] = di_data.decode("utf-8", "surrogateescape") if di_data is not None else None
    try:
        port_map = {int(k): int(v) for k, v in (module.params["port_map"] or {}).items()}
    except (TypeError, ValueError):
        module.fail_json(msg="port_map keys and values must be port numbers: {!r}".format(
            module.params["port_map"]), **result)
    context["port_map"] = port_map

    if fixes:
        try:
            res = _rewriter.rewrite(text, fixes, context)
        except _rewriter.RewriteError as exc:
            module.fail_json(msg=f"cannot rewrite {path}: {to_native(exc)}; nothing was written", **result)
    else:
        res = {"text": text, "dockerignore": None, "applied": [], "skipped": []}
    new_data = bom + res["text"].encode("utf-8", "surrogateescape")
    redactor = _redactor(text, res["text"])
    for entry in res["applied"] + res["skipped"]:
        for key in ("reason", "note"):
            if key in entry:
                entry[key] = redactor.text(entry[key])
    result["applied"], result["skipped"] = res["applied"], res["skipped"]
    result["sha256_after"] = _sha256(new_data)
    file_changed = new_data != bom + data
    new_di = res["dockerignore"]
    di_changed = new_di is not None and (di_data is None or new_di.encode("utf-8", "surrogateescape") != di_data)
    result["dockerignore_changed"] = di_changed
    result["changed"] = file_changed or di_changed

    if module._diff:
        diffs = [{"before": _redacted(redactor, (bom + data).decode("utf-8", "replace")),
                  "after": _redacted(redactor, new_data.decode("utf-8", "replace")),
                  "before_header": path, "after_header": f"{path} (remediated)"}]
        if di_changed:
            diffs.append({"before": di_data.decode("utf-8", "replace") if di_data is not None else "",
                          "after": new_di, "before_header": di_path if di_data is not None else f"{di_path} (absent)",
                          "after_header": f"{di_path} (remediated)"})
        result["diff"] = diffs
    if module.check_mode or not result["changed"]:
        return result

    # re-check the guard right before writing: the file may have changed while we computed
    current = _read(path)
    if current is None or _sha256(current) != sha_before:
        module.fail_json(msg=f"{path} changed while it was being remediated; nothing was written",
                         conflict=True, **dict(result, changed=False))
    if file_changed:
        if module.params["backup"]:
            result["backup_file"] = _backup(module, path, result)
        try:
            _write_atomic(module, path, new_data)
        except OSError as exc:
            module.fail_json(msg=f"cannot write {path}: {to_native(exc)}; the original is unchanged",
                             **dict(result, changed=False))
        written = _read(path)
        if written is None or _sha256(written) != result["sha256_after"]:
            module.fail_json(msg="{} does not hold the content written (sha256 {}); check it and the backup".format(
                path, _sha256(written or b"")), **result)
    if di_changed:
        if module.params["backup"] and di_data is not None:
            result["dockerignore_backup_file"] = _backup(module, di_path, result)
        try:
            _write_atomic(module, di_path, new_di.encode("utf-8", "surrogateescape"))
        except OSError as exc:
            module.fail_json(msg=f"cannot write {di_path}: {to_native(exc)}", **result)
    return result


def main() -> None:
    """Module entry point."""
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            fixes=dict(type="list", elements="str"),
            findings=dict(type="list", elements="dict"),
            expected_sha256=dict(type="str"),
            backup=dict(type="bool", default=False),
            dockerignore=dict(type="bool", default=True),
            port_map=dict(type="dict", default={"80": 8080, "443": 8443}),
            unmapped_ports=dict(type="str", choices=["offset", "skip"], default="offset"),
            port_offset=dict(type="int", default=8000),
            base_image_table=dict(type="dict"),
            evaluation_date=dict(type="str"),
            user_ids=dict(type="dict"),
            init_tool=dict(type="str", choices=["tini", "dumb-init"], default="tini"),
            max_node_memory=dict(type="int", default=1024),
        ),
        required_one_of=[["fixes", "findings"]],
        supports_check_mode=True,
    )
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
