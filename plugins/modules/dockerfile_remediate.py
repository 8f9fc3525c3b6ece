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
  - A fix that cannot be applied safely is not guessed at; it is returned in RV(declined) with the reason. (The key
    is not C(skipped), which Ansible reads as "the whole task was skipped" and then hides the diff.)
  - Safety. O(expected_sha256) (or the C(target.sha256) of the findings) is checked against the file as it is now;
    if the file changed since it was scanned the module fails and writes nothing.
  - Safety on a host where other users write into the scanned directories. The Dockerfile's directory is opened
    through a chain of directory descriptors from O(root), never following a symlink below it; when
    O(expected_dir_identity) is given (the remediate role passes the scan's C(dir_identity)), a directory that is not
    the one that was scanned is refused. Every file read (the Dockerfile, its C(.dockerignore), C(package.json), the
    manifests it looks for) is opened relative to that descriptor without following symlinks and without blocking,
    and must be a regular file with one hard link (see O(allow_hardlinks)); anything else is refused with a clear
    message (C(refused) and C(refusal) in the result), in check mode too, and nothing is written.
  - Writes go to a temporary file created with an unpredictable name in the same directory (by descriptor), are
    flushed to disk, given the original's owner, group and permission bits by descriptor (setuid, setgid and sticky
    bits are dropped; the SELinux context is the directory's default) and renamed over the original relative to the
    directory descriptor, after checking again that the directory reached from O(root) is still the one opened.
  - An exclusive C(flock) on the Dockerfile's directory (no lock file is created) makes a concurrent run in the same
    directory fail with a conflict instead of interleaving; the Dockerfiles of one directory share its
    C(.dockerignore).
  - Backups are never written into the build context (where C(COPY . .) would put them into the image, and where
    another user could plant links); see O(backup_dir).
  - Check mode writes nothing and returns the planned content in the diff, so remediation can run as an AWX
    check job. It also checks what would stop the real run (read-only filesystem, unwritable directory,
    immutable or append-only file or directory, a held lock, an unsafe backup directory) and says so in
    RV(would_fail).
  - Secret ENV/ARG values and inline secrets are redacted in the diff and in the reasons returned; they never leave
    the host (the file itself keeps them).
  - Each requested fix reports its status in RV(fix_status) (V(applied), V(partly_applied), V(skipped) or
    V(not_needed), with the reason). The module does not decide which rules are fixed; it returns the facts of the
    rewritten files in RV(rewritten_facts), and the remediate role evaluates them on the controller with the same
    policies before it reports a rule as fixed (a rule is fixed only when it no longer fires and its fix's
    precondition holds).
  - V(remap_privileged_ports) changes a privileged port only when the application is shown to take its port from
    one environment variable. The entry point (from C(CMD)/C(ENTRYPOINT), or the C(package.json) start script or
    C(main)) and the local modules it requires are read on the host through the build context's descriptor,
    without following symlinks, at most 512 KiB each and 16 files; when one reads C(process.env.PORT) (or another
    C(*PORT) variable, with or without a C(||)/C(??) default), the variable is set with C(ENV) and C(EXPOSE) names
    the same port. A hard-coded port, a port from a configuration object, several port variables or an entry point
    that cannot be found or read leave the file unchanged for that rule, with the reason.
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
  root:
    description:
      - The scan root O(path) was found under. It is opened as given (it may be a symlink, as the scan allows); every
        directory below it on the way to O(path) is opened without following symlinks.
      - When not given, the first component of O(path) is the root (V(/srv) for V(/srv/app/Dockerfile)), so a
        symlink anywhere below it is refused.
    type: path
  expected_dir_identity:
    description:
      - Device and inode (C({"dev" INT, "ino" INT})) of the Dockerfile's directory as the scan saw it (the facts'
        C(dir_identity)). The module refuses, writing nothing, when the directory is not that one (it was swapped
        for another or for a symlink since the scan), and checks it again before every write.
    type: dict
  allow_hardlinks:
    description:
      - Read a Dockerfile, C(.dockerignore) or C(package.json) that has more than one hard link. By default such a
        file is refused, since it may be another user's file linked into the build context.
    type: bool
    default: false
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
      - Keep a copy of the Dockerfile (and of an existing C(.dockerignore)) in O(backup_dir) before changing it.
    type: bool
    default: false
  backup_dir:
    description:
      - Directory for the backups. It must belong to the user the module runs as and not be writable by group or
        others, and every directory above it must belong to root or that user and not be writable by others (sticky
        root-owned directories such as C(/tmp) excepted); it is reached without following symlinks and created with
        mode C(0700) when missing. Otherwise the module refuses to back up and writes nothing.
      - Backup names are C(<path with / as %>.<date>.<random>~), created exclusively, with the original's owner and
        mode.
      - Defaults to V(/var/lib/refarch-containers/backups) when running as root, else
        C(~/.local/state/refarch-containers/backups).
    type: path
  dockerignore:
    description:
      - Create or extend the build context's C(.dockerignore) when the V(write_dockerignore) fix is requested.
      - A C(<name>.dockerignore) beside the Dockerfile is used instead of C(.dockerignore) when it exists, as BuildKit
        does.
      - An entry that a C(COPY) or C(ADD) takes from the build context by name (C(COPY node_modules ./node_modules))
        is not excluded, since the build would then fail; the result says so under RV(declined).
      - When it writes the file it also excludes the remediation's own files (the ignore file itself and
        C(*.refarch.tmp), the temporary file a killed run can leave), so C(COPY . .) does not put them into the image.
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
      - When not given, the bundle's table is used (C(module_utils/_node_release_table.py), generated from the
        policy data by C(tools/gen_node_releases.py)); the lines given here replace its lines of the same name.
    type: dict
  node_line:
    description:
      - The Node.js major line (such as V(24)) that V(replace_base_image) moves base images to when their line is
        not in LTS on O(evaluation_date) or their tag floats. It must be an LTS line of the release table that is
        in LTS on that date. Empty means the newest line in LTS on that date.
      - The pin keeps its precision (an exact version becomes the line's newest release in the table, a major
        stays a major, a codename a codename, a floating tag such as V(lts) becomes an exact version) and the
        variant is kept (V(slim), V(alpine), a Debian release), except that Alpine leaves for Debian only when
        O(base_image_allow) has V(libc_change).
    type: str
  base_image_allow:
    description:
      - What V(replace_base_image) may do beyond its default. V(line_jump) lets it cross more than one LTS line
        (say 18 to 24); without it, the line moves one LTS line up when that line is supported, and the fix is
        reported partly applied with the reason. V(libc_change) lets it move the runtime stage from Alpine (musl)
        to Debian (glibc) when NRA012 asks it; without it, the Alpine variant is kept and the fix says why.
    type: list
    elements: str
    choices: [line_jump, libc_change]
    default: []
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
  build_target:
    description:
      - The stage a declared build (compose, bake, CI workflow) builds. The fixes act on that stage (and the stages
        it is built C(FROM)); a fix that can only change the last stage (V(split_multi_stage)) is declined with the
        reason when it is another stage, and every fix is declined when no stage has that name.
        RV(rewritten_facts) describe that stage, as the scan evaluated it.
    type: str
  build_context:
    description:
      - The build context a declared build (compose, bake, CI workflow) names, when it is not the Dockerfile's
        folder. C(package.json), the manifests and the application's source the fixes read are then that
        folder's, and the ignore file is the one BuildKit uses (C(<Dockerfile name>.dockerignore) beside the
        Dockerfile, else the context's C(.dockerignore), written there by V(write_dockerignore)). It is opened
        from O(root) one directory at a time without following symlinks; an unsafe one refuses the remediation.
    type: path
  build_args:
    description:
      - The build arguments of a declared build, for RV(rewritten_facts) (as the scan read them). Changes nothing in
        the rewrite.
    type: dict
  max_node_memory:
    description:
      - The heap limit (MiB) V(set_heap_limit) puts in C(NODE_OPTIONS) for a container without a memory limit. With a
        limit, the start script the fix adds sets C(--max-old-space-size) to C(HEAP_MEMORY_PERCENT) (75) % of it at
        start (C(MAX_NODE_MEMORY) set at run time wins). Where the script cannot run (shell-form command, a base
        without C(sh)) this is the default of the C(MAX_NODE_MEMORY) build argument (the fix is then partly applied).
    type: int
    default: 1024
notes:
  - The heap limit follows the container's memory limit through a start script in front of the command
    (C(/usr/local/bin/node-heap-from-cgroup)); set C(MAX_NODE_MEMORY) at run time to fix it instead.
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
fix_status:
  description: One entry per requested fix, in the order they ran. C(status) is V(applied), V(partly_applied)
    (C(reason) says what was left undone or why the fix's precondition failed), V(skipped) (C(reason) says why) or
    V(not_needed); C(claims) lists the rules the fix stands behind (empty unless applied or partly applied), which
    the remediate role reports as fixed only after re-evaluating RV(rewritten_facts); C(precondition) says what the
    fix relied on (for V(remap_privileged_ports), the port variable the application reads), checked again on the
    final text.
  returned: always
  type: list
  elements: dict
  sample: [{"fix": "remap_privileged_ports", "rule_ids": ["NRA002"], "status": "skipped", "claims": [],
            "reason": "EXPOSE 80 left unchanged: the application's port cannot be shown to follow an environment
            variable (server.js line 3 listens on port 80 (hard-coded))", "precondition": null}]
rewritten_facts:
  description: The facts document (as C(refarch.containers.dockerfile_info) returns it, secrets redacted) of the
    rewritten Dockerfile and C(.dockerignore), for the controller to evaluate before it reports a rule as fixed.
  returned: when RV(changed) is true
  type: dict
declined:
  description: Requested fixes that were not applied, each with the reason; C(not_needed) is true when the file
    already complies, C(partial) when part of an applied fix was left undone. Declined fixes never make the task
    skipped; a rewritten file is C(changed) with its diff.
  returned: always
  type: list
  elements: dict
  sample: [{"fix": "replace_npm_start", "reason": "the start script 'nodemon app.js' runs a development tool"}]
backup_file:
  description: Backup of the Dockerfile made before writing (in O(backup_dir)).
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
  returned: when the Dockerfile was read
  type: str
dockerignore_created:
  description: Whether the C(.dockerignore) did not exist before (a rollback removes it).
  returned: when RV(dockerignore_changed) is true
  type: bool
dockerignore_sha256_after:
  description: SHA-256 of the C(.dockerignore) written (a rollback removes a created one only if it still holds this).
  returned: when RV(dockerignore_changed) is true
  type: str
dockerignore_sha256_before:
  description: SHA-256 of the C(.dockerignore) before it was extended (what its backup holds).
  returned: when RV(dockerignore_changed) is true and it existed before
  type: str
would_fail:
  description: Check mode only. Why the real run would fail to write, found without writing anything (a read-only
    filesystem, a directory the module's user cannot write into, an immutable or append-only file or directory
    (C(chattr +i), C(+a)), a lock held by another run, an unsafe backup directory). The diff is still returned.
  returned: in check mode, when a change is planned and a write is known to fail
  type: str
  sample: the directory /srv/app is on a read-only filesystem
refused:
  description: True when a file or directory was refused (a symlink, FIFO, hard link, a directory that is not the
    one scanned, an unsafe backup directory); the task fails and nothing is written.
  returned: on refusal
  type: bool
refusal:
  description: What was refused, C({"code" ..., "path" ...}); codes are C(symlink), C(not_regular_file),
    C(hardlink), C(too_large), C(not_directory), C(not_found), C(not_under_root), C(dir_changed),
    C(unsafe_directory), C(permission_denied), C(io_error).
  returned: on refusal
  type: dict
diff:
  description: Before/after of the Dockerfile and, when it changes, of the C(.dockerignore).
  returned: in diff mode
  type: list
  elements: dict
"""

import errno
import fcntl
import json
import os
import posixpath
import pwd
from contextlib import contextmanager

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.refarch.containers.plugins.module_utils import (
    _redact,
    _redact_dockerfile,
    _rewriter,
    _safefs,
    _safefs_write,
)
from ansible_collections.refarch.containers.plugins.module_utils._context_files import ContextFiles
from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_facts import dockerfile_facts
from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_parser import parse
from ansible_collections.refarch.containers.plugins.module_utils._printable import printable
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.model import FixContext
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.node_releases import node_line_problem
from ansible_collections.refarch.containers.plugins.module_utils._safefs import UnsafeFile

MAX_SIZE = 4 * 1024 * 1024
ROOT_BACKUP_DIR = "/var/lib/refarch-containers/backups"


class Conflict(Exception):
    """Another run holds the lock on the same directory."""


def _sha256(data: bytes) -> str:
    return _safefs.sha256(data)


def default_backup_dir() -> str:
    """Where backups go when ``backup_dir`` is not given: root's state directory, else the user's."""
    if os.geteuid() == 0:
        return ROOT_BACKUP_DIR
    return posixpath.join(pwd.getpwuid(os.geteuid()).pw_dir, ".local", "state", "refarch-containers", "backups")


def _package_context(handle: _safefs.DirHandle) -> tuple:
    """(package_json facts-like dict, production dependency names) read fresh from the context.

    Read through the directory descriptor (never a symlink, never a FIFO); a refusal raises UnsafeFile.
    """
    path = handle.join("package.json")
    data, _st = _safefs.read_at(handle.fd, "package.json", path=path, max_size=MAX_SIZE, missing_ok=True)
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
    """Exclusive, non-blocking ``flock`` on the Dockerfile's directory: no lock file is created.

    One lock per directory, because the Dockerfiles of one directory share its ``.dockerignore``.
    ``fd`` is the directory's descriptor (the module passes the one it opened through the chain); without
    it the directory of ``target`` is opened (tests).
    """

    def __init__(self, target: str, fd: int = -1):
        self.path = posixpath.dirname(target)
        self.fd = fd
        self._own = fd < 0
        self._held = False

    def acquire(self) -> None:
        if self.fd < 0:
            self.fd = os.open(self.path, _safefs.ROOT_FLAGS)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise Conflict("another remediation in this directory is in progress (the lock on "
                               f"{printable(self.path)} is held)") from exc
            raise
        self._held = True

    def release(self) -> None:
        if self._held:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            self._held = False
        if self._own and self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _backup(module: AnsibleModule, path: str, data: bytes, st: os.stat_result, result: dict) -> str:
    """Save ``data`` (the content of ``path`` as read) in the private backup directory; return the backup's path.

    The backup gets an unpredictable name, is created ``O_EXCL|O_NOFOLLOW`` and gets the original's owner and
    mode by descriptor. A failure (unsafe backup directory, disk full, read-only) fails the task: nothing has been
    written yet then.
    """
    backup_dir = module.params["backup_dir"] or default_backup_dir()
    try:
        with _safefs_write.open_private_dir(backup_dir) as handle:
            return _safefs_write.write_new(handle, _safefs_write.backup_name(path), data, mode=st.st_mode,
                                           uid=st.st_uid, gid=st.st_gid)
    except (UnsafeFile, OSError) as exc:
        why = exc.message if isinstance(exc, UnsafeFile) else to_native(exc.strerror or exc)
        module.fail_json(msg=f"cannot back up {printable(path)} into {printable(backup_dir)}: {printable(why)}; "
                             "nothing was written, the original is unchanged",
                         **dict(result, changed=False))
    return ""


def _requested_fixes(module: AnsibleModule, path: str) -> tuple:
    """(fix list for the rewriter, sha256 the findings carry or None, the rule ids of those findings or None)."""
    fixes = module.params["fixes"]
    findings = module.params["findings"]
    allowed, unknown = _rewriter.normalize_fixes(fixes) if fixes is not None else (list(_rewriter.FIX_ORDER), [])
    if unknown:
        module.fail_json(msg=_rewriter.unknown_fixes_message(unknown))
    if findings is None:
        return allowed, None, None
    wanted, shas, rules = set(), set(), set()
    for f in findings:
        target = f.get("target") or {}
        tpath = target.get("path")
        if tpath and posixpath.normpath(tpath) != path:
            continue
        if target.get("sha256"):
            shas.add(target["sha256"])
        if f.get("waived") or not f.get("fix") or f.get("fix") == "manual":
            continue
        fix = f["fix"]
        if fix in allowed:
            wanted.add(fix)
            rules.add(str(f.get("rule_id") or ""))
    if len(shas) > 1:
        module.fail_json(msg="the findings for {} come from different scans (sha256 {}); rescan first".format(
            printable(path), printable(", ".join(sorted(shas)))))
    return [f for f in _rewriter.FIX_ORDER if f in wanted], (shas.pop() if shas else None), sorted(rules - {""})


def _rewritten_facts(handle: _safefs.DirHandle, path: str, data: bytes, dockerignore, dockerignore_path: str, *,
                     target=None, build_args=None) -> dict:
    """The facts document of the rewritten Dockerfile (and .dockerignore), as the scan builds it (for a declared
    build: its target stage and build arguments)."""
    try:
        package_json, _st = _safefs.read_at(handle.fd, "package.json", path=handle.join("package.json"),
                                            max_size=MAX_SIZE, missing_ok=True)
    except UnsafeFile:
        package_json = None
    return dockerfile_facts(path, data, dockerignore, package_json, dockerignore_path=dockerignore_path,
                            package_json_path=handle.join("package.json"), include_instructions=False,
                            target=target, build_args={str(k): None if v is None else str(v)
                                                       for k, v in (build_args or {}).items()} or None)


def _write_problems(module: AnsibleModule, handle: _safefs.DirHandle, path: str, names: list) -> list:
    """Check mode: why the real run would fail to lock the directory, back up or replace ``names``, found
    without writing (a read-only filesystem, an unwritable, immutable or append-only directory or file, a lock
    held by another run, an unsafe backup directory). Empty when nothing is known to stop it."""
    problems = []
    for name in names:
        problems += [p for p in _safefs_write.replace_problems(handle, name) if p not in problems]
    try:
        fcntl.flock(handle.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(handle.fd, fcntl.LOCK_UN)
    except OSError as exc:
        held = exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK)
        problems.append(f"the lock on {handle.path} is held by another remediation" if held
                        else f"cannot lock {handle.path}: {to_native(exc.strerror or exc)}")
    if module.params["backup"] and names:
        backup_dir = module.params["backup_dir"] or default_backup_dir()
        try:
            with _safefs_write.open_private_dir(backup_dir, create=False) as backups:
                problems += [p for p in _safefs_write.replace_problems(backups, _safefs_write.backup_name(path)) if p]
        except UnsafeFile as exc:
            if exc.code != "not_found":  # a missing backup directory is created by the real run
                problems.append(f"cannot back up into {backup_dir}: {exc.message}")
    return problems


def _redactor(*texts: str) -> _redact.Redactor:
    """A redactor that knows the secret ENV/ARG values of the given Dockerfile texts."""
    redactor = _redact.Redactor()
    for text in texts:
        redactor.instructions(parse(text).get("instructions") or [])
    return redactor


def _redacted(redactor: _redact.Redactor, text: str, dockerfile: bool = True) -> str:
    """Secrets never leave the host: redact text returned to the controller, lines kept.

    A Dockerfile is judged instruction by instruction (continuation lines joined), so a secret
    split by a line continuation is hidden on every line; other text (.dockerignore) as a whole.
    """
    return _redact_dockerfile.redact_dockerfile(text, redactor) if dockerfile else redactor.text(text)


def _dockerignore_name(handle: _safefs.DirHandle, name: str) -> str:
    """The ignore file BuildKit uses: ``<name>.dockerignore`` beside the Dockerfile when it exists (even as a
    symlink, which is then refused), else ``.dockerignore``."""
    specific = name + ".dockerignore"
    return specific if _safefs.lexists(handle.fd, specific) else ".dockerignore"


def _identity(module: AnsibleModule):
    value = module.params["expected_dir_identity"]
    if value is None:
        return None
    try:
        return (int(value["dev"]), int(value["ino"]))
    except (KeyError, TypeError, ValueError):
        module.fail_json(msg="expected_dir_identity must be {'dev': INT, 'ino': INT} (the scan's dir_identity)")
    return None


def _refuse(module: AnsibleModule, exc: UnsafeFile, result: dict) -> None:
    """A file or directory the module will not touch: a per-file refusal, nothing written."""
    module.fail_json(msg=f"refused: {printable(exc.message)}; nothing was written", refused=True,
                     refusal={"code": exc.code, "path": printable(exc.path)},
                     conflict=exc.code == "dir_changed", **dict(result, changed=False))


def run(module: AnsibleModule) -> dict:
    """Remediate one Dockerfile; returns the module result (fails through ``module.fail_json``)."""
    path = module.params["path"]
    if not os.path.isabs(path):
        module.fail_json(msg=f"path must be absolute: {printable(path)}")
    path = posixpath.normpath(path)
    directory, name = posixpath.split(path)
    root = module.params["root"] or _safefs.default_root(path)
    fixes, findings_sha, rule_ids = _requested_fixes(module, path)
    expected = module.params["expected_sha256"] or findings_sha
    if module.params["node_line"] and "replace_base_image" in fixes:
        problem = node_line_problem(module.params["node_line"], FixContext(
            base_image_table=module.params["base_image_table"], evaluation_date=module.params["evaluation_date"]))
        if problem:
            module.fail_json(msg=f"node_line: {problem}; nothing was read or written")
    ident = _identity(module)
    try:
        handle = _safefs.open_dir(root, directory, expected=ident)
    except UnsafeFile as exc:
        _refuse(module, exc, {"changed": False})
        return {}
    with handle:
        lock = _Lock(path, handle.fd)
        if not module.check_mode:
            try:
                lock.acquire()
            except Conflict as exc:
                module.fail_json(msg=f"conflict on {printable(path)}: {exc}; nothing was written", conflict=True,
                                 changed=False)
            except OSError as exc:
                module.fail_json(msg=f"cannot lock {printable(path)}: {to_native(exc)}", changed=False)
        try:
            with _context_handle(module, root, handle) as ctx:
                return _remediate(module, handle, name, fixes, expected=expected, ident=ident, rule_ids=rule_ids,
                                  ctx=ctx)
        finally:
            lock.release()


def _read_dockerfile(module: AnsibleModule, handle: _safefs.DirHandle, name: str, result: dict) -> tuple:
    path = handle.join(name)
    data = st = None
    try:
        data, st = _safefs.read_at(handle.fd, name, path=path, max_size=MAX_SIZE,
                                   allow_hardlinks=module.params["allow_hardlinks"])
    except UnsafeFile as exc:
        if exc.code == "not_found":
            module.fail_json(msg=f"{printable(path)} is not a regular file (remediation needs the Dockerfile that "
                                 "was scanned)", **result)
        _refuse(module, exc, result)
    return data, st


@contextmanager
def _context_handle(module: AnsibleModule, root: str, handle: _safefs.DirHandle):
    """The declared build context's directory (O(build_context)), else the Dockerfile's own ``handle``."""
    context = module.params["build_context"]
    if not context or posixpath.normpath(context) == handle.path:
        yield handle
        return
    try:
        ctx = _safefs.open_dir(root, posixpath.normpath(context))
    except UnsafeFile as exc:
        _refuse(module, exc, {"changed": False})
        return
    with ctx:
        yield ctx


def _remediate(module: AnsibleModule, handle: _safefs.DirHandle, name: str, fixes: list, *, expected,
               ident, rule_ids=None, ctx: _safefs.DirHandle | None = None) -> dict:
    ctx = ctx or handle  # the declared build context (_context_handle), else the Dockerfile's folder
    path = handle.join(name)
    shown = printable(path)
    data, st = _read_dockerfile(module, handle, name, {"changed": False})
    sha_before = _sha256(data)
    result = {"changed": False, "fixes": fixes, "applied": [], "declined": [], "sha256_before": sha_before,
              "sha256_after": sha_before, "dockerignore_changed": False}
    if expected and expected.lower() != sha_before:
        module.fail_json(msg=f"{shown} changed since it was scanned (expected sha256 {printable(expected)}, "
                             f"found {sha_before}); nothing was written: "
                             "rescan and remediate again",
                         conflict=True, **result)
    bom = b""
    if data.startswith(b"\xef\xbb\xbf"):
        bom, data = data[:3], data[3:]
    text = data.decode("utf-8", "surrogateescape")

    di_name = _dockerignore_name(handle, name)
    di_handle = handle if di_name != ".dockerignore" else ctx  # BuildKit's: beside the Dockerfile, else the context's
    di_ident = ident if di_handle is handle else ctx.identity
    di_path = di_handle.join(di_name)
    result["dockerignore_path"] = printable(di_path)
    package_json, dependencies = None, None
    try:
        package_json, dependencies = _package_context(ctx)
    except UnsafeFile as exc:
        _refuse(module, exc, result)
    context = {
        "package_json": package_json,
        "package_dependencies": dependencies,
        "context_files": sorted(n for n in _rewriter.MANIFEST_CANDIDATES if _safefs.exists_regular(ctx.fd, n)),
        "evaluation_date": module.params["evaluation_date"],
        "port_map": module.params["port_map"],
        "port_offset": module.params["port_offset"] if module.params["unmapped_ports"] == "offset" else None,
        "base_image_table": module.params["base_image_table"],
        "node_line": module.params["node_line"],
        "base_image_allow": tuple(module.params["base_image_allow"] or ()),
        "rule_ids": rule_ids,
        "user_ids": module.params["user_ids"],
        "init_tool": module.params["init_tool"],
        "max_node_memory": module.params["max_node_memory"],
        "target": module.params["build_target"] or None,
    }
    di_data = di_st = None
    if module.params["dockerignore"]:
        try:
            di_data, di_st = _safefs.read_at(di_handle.fd, di_name, path=di_path, max_size=MAX_SIZE,
                                             missing_ok=True)
        except UnsafeFile as exc:
            _refuse(module, exc, result)
        context["dockerignore_text"] = di_data.decode("utf-8", "surrogateescape") if di_data is not None else None
        context["dockerignore_name"] = di_name
    try:
        port_map = {int(k): int(v) for k, v in (module.params["port_map"] or {}).items()}
    except (TypeError, ValueError):
        module.fail_json(msg="port_map keys and values must be port numbers: {!r}".format(
            module.params["port_map"]), **result)
    context["port_map"] = port_map

    # the application's files (the entry point the port fix reads), through the context's descriptor, bounded
    source_reader = ContextFiles(ctx.fd, ctx.path, allow_hardlinks=module.params["allow_hardlinks"])
    context["read_file"] = source_reader
    try:
        if fixes:
            try:
                res = _rewriter.rewrite(text, fixes, context)
            except _rewriter.RewriteError as exc:
                module.fail_json(msg=f"cannot rewrite {shown}: {_redact.redact_text(to_native(exc))}; "
                                     "nothing was written", **result)
        else:
            res = {"text": text, "dockerignore": None, "applied": [], "skipped": [], "fix_status": []}
    finally:
        source_reader.close()
    new_data = bom + res["text"].encode("utf-8", "surrogateescape")
    redactor = _redactor(text, res["text"])
    for entry in res["applied"] + res["skipped"] + res["fix_status"]:
        for key in ("reason", "note", "precondition"):
            if isinstance(entry.get(key), str):
                entry[key] = redactor.text(entry[key])
    # the rewriter's "skipped" are returned as "declined": Ansible reads a result key "skipped" as a skipped task
    result["applied"], result["declined"] = res["applied"], res["skipped"]
    result["fix_status"] = res["fix_status"]
    result["sha256_after"] = _sha256(new_data)
    file_changed = new_data != bom + data
    new_di = res["dockerignore"]
    new_di_data = new_di.encode("utf-8", "surrogateescape") if new_di is not None else None
    di_changed = new_di is not None and (di_data is None or new_di_data != di_data)
    result["dockerignore_changed"] = di_changed
    if di_changed:
        result["dockerignore_created"] = di_data is None
        result["dockerignore_sha256_after"] = _sha256(new_di_data)
        if di_data is not None:
            result["dockerignore_sha256_before"] = _sha256(di_data)
    result["changed"] = file_changed or di_changed
    if result["changed"]:
        # the facts of the rewritten files (redacted like the scan's), for the controller to evaluate before it
        # reports a rule as fixed (the remediate role; see _rewrite/claims.py)
        result["rewritten_facts"] = _rewritten_facts(ctx, path, new_data, new_di_data if di_changed else di_data,
                                                     di_path, target=module.params["build_target"] or None,
                                                     build_args=module.params["build_args"] or None)

    if module._diff:
        diffs = [{"before": _redacted(redactor, (bom + data).decode("utf-8", "replace")),
                  "after": _redacted(redactor, new_data.decode("utf-8", "replace")),
                  "before_header": shown, "after_header": f"{shown} (remediated)"}]
        if di_changed:
            shown_di = printable(di_path)
            diffs.append({"before": _redacted(redactor, di_data.decode("utf-8", "replace"), False)
                          if di_data is not None else "",
                          "after": _redacted(redactor, new_di, False),
                          "before_header": shown_di if di_data is not None else f"{shown_di} (absent)",
                          "after_header": f"{shown_di} (remediated)"})
        result["diff"] = diffs
    if module.check_mode and result["changed"]:
        problems = _write_problems(module, handle, path, [name] * file_changed + [di_name] * (
            di_changed and di_handle is handle))
        if di_changed and di_handle is not handle:
            problems += [p for p in _safefs_write.replace_problems(di_handle, di_name) if p not in problems]
        if problems:
            result["would_fail"] = printable("; ".join(problems))
    if module.check_mode or not result["changed"]:
        return result

    # re-check the guard right before writing: the file may have changed while we computed
    current, st = _read_dockerfile(module, handle, name, dict(result, changed=False))
    if _sha256(current) != sha_before:
        module.fail_json(msg=f"{shown} changed while it was being remediated; nothing was written",
                         conflict=True, **dict(result, changed=False))
    if file_changed:
        if module.params["backup"]:
            result["backup_file"] = _backup(module, path, current, st, result)
        try:
            _safefs_write.replace_at(handle, name, new_data, mode=st.st_mode, uid=st.st_uid, gid=st.st_gid,
                                     expected=ident)
        except UnsafeFile as exc:
            _refuse(module, exc, result)
        except OSError as exc:
            module.fail_json(msg=f"cannot write {shown}: {to_native(exc.strerror or exc)}; the original is unchanged",
                             **dict(result, changed=False))
        try:
            written, _st = _safefs.read_at(handle.fd, name, path=path, max_size=MAX_SIZE)
        except UnsafeFile as exc:
            written = b""
            result["msg"] = exc.message
        if _sha256(written) != result["sha256_after"]:
            module.fail_json(msg=f"{shown} does not hold the content written (sha256 {_sha256(written)}); "
                                 "check it and the backup", **result)
    if di_changed:
        if di_data is not None:
            if module.params["backup"]:
                result["dockerignore_backup_file"] = _backup(module, di_path, di_data, di_st, result)
            mode, uid, gid = di_st.st_mode, di_st.st_uid, di_st.st_gid
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode, uid, gid = 0o666 & ~umask, st.st_uid, st.st_gid   # a new file belongs to the Dockerfile's owner
        try:
            _safefs_write.replace_at(di_handle, di_name, new_di_data, mode=mode, uid=uid, gid=gid, expected=di_ident)
        except UnsafeFile as exc:
            _refuse(module, exc, result)
        except OSError as exc:
            module.fail_json(msg=f"cannot write {printable(di_path)}: {to_native(exc.strerror or exc)}", **result)
    return result


def main() -> None:
    """Module entry point."""
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            root=dict(type="path"),
            expected_dir_identity=dict(type="dict"),
            allow_hardlinks=dict(type="bool", default=False),
            backup_dir=dict(type="path"),
            fixes=dict(type="list", elements="str"),
            findings=dict(type="list", elements="dict"),
            expected_sha256=dict(type="str"),
            backup=dict(type="bool", default=False),
            dockerignore=dict(type="bool", default=True),
            port_map=dict(type="dict", default={"80": 8080, "443": 8443}),
            unmapped_ports=dict(type="str", choices=["offset", "skip"], default="offset"),
            port_offset=dict(type="int", default=8000),
            base_image_table=dict(type="dict"),
            node_line=dict(type="str"),
            base_image_allow=dict(type="list", elements="str", choices=["line_jump", "libc_change"], default=[]),
            evaluation_date=dict(type="str"),
            user_ids=dict(type="dict"),
            init_tool=dict(type="str", choices=["tini", "dumb-init"], default="tini"),
            max_node_memory=dict(type="int", default=1024),
            build_target=dict(type="str"),
            build_context=dict(type="path"),
            build_args=dict(type="dict"),
        ),
        required_one_of=[["fixes", "findings"]],
        supports_check_mode=True,
    )
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
