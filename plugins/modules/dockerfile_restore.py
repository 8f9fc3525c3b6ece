#!/usr/bin/python
# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: dockerfile_restore
short_description: Roll back what dockerfile_remediate wrote, without following links
version_added: 0.1.0
description:
  - The rollback half of M(refarch.containers.dockerfile_remediate). With O(state=restored), puts the backup the
    remediation made back as O(path); with O(state=absent), removes a C(.dockerignore) the remediation created.
  - The backup is read from its private backup directory (owned by the running user, not writable by others,
    reached without following symlinks) and must hold O(backup_sha256), the content the remediation backed up; a
    backup that does not is refused.
  - O(path)'s directory is opened through a chain of directory descriptors from O(root) without following
    symlinks below it and, with O(expected_dir_identity), must be the directory that was scanned. The file is
    replaced atomically (a temporary file with an unpredictable name in the same directory, owner and mode set by
    descriptor, a rename relative to the directory descriptor); whatever is at O(path) now, a planted symlink too,
    is replaced and never followed or read.
  - With O(state=absent), the file is removed only when it is a regular file that still holds O(sha256) (what the
    remediation wrote).
author:
  - refarch.containers developers (@refarch)
extends_documentation_fragment:
  - refarch.containers.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
    details: The content restored is the original the remediation diff showed as C(before).
  platform:
    platforms: posix
options:
  path:
    description: Absolute path of the file to restore or remove (the Dockerfile or its C(.dockerignore)).
    type: path
    required: true
  state:
    description:
      - V(restored) puts O(backup_file) back as O(path); V(absent) removes O(path) when it holds O(sha256).
    type: str
    choices: [restored, absent]
    default: restored
  backup_file:
    description: The backup M(refarch.containers.dockerfile_remediate) returned (C(backup_file) or
      C(dockerignore_backup_file)). Required with O(state=restored).
    type: path
  backup_sha256:
    description: SHA-256 the backup must hold (the remediation's C(sha256_before) for a Dockerfile). Required with
      O(state=restored).
    type: str
  sha256:
    description: SHA-256 of what the remediation wrote (its C(dockerignore_sha256_after)). Required with
      O(state=absent).
    type: str
  root:
    description:
      - The scan root O(path) was found under; see M(refarch.containers.dockerfile_remediate). Defaults to the first
        component of O(path).
    type: path
  expected_dir_identity:
    description: C({"dev" INT, "ino" INT}) of O(path)'s directory as the scan saw it; another directory is refused.
    type: dict
seealso:
  - module: refarch.containers.dockerfile_remediate
"""

EXAMPLES = r"""
- name: Put the original Dockerfile back
  refarch.containers.dockerfile_restore:
    path: /srv/app/Dockerfile
    backup_file: "{{ rewrite.backup_file }}"
    backup_sha256: "{{ rewrite.sha256_before }}"

- name: Remove the .dockerignore the remediation created
  refarch.containers.dockerfile_restore:
    path: "{{ rewrite.dockerignore_path }}"
    state: absent
    sha256: "{{ rewrite.dockerignore_sha256_after }}"
"""

RETURN = r"""
sha256:
  description: SHA-256 of O(path) after the run (read back through its descriptor); null once removed.
  returned: always
  type: str
refused:
  description: True when a file or directory was refused; nothing was written.
  returned: on refusal
  type: bool
refusal:
  description: What was refused, C({"code" ..., "path" ...}) (codes as in M(refarch.containers.dockerfile_remediate),
    plus C(checksum_mismatch)).
  returned: on refusal
  type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.refarch.containers.plugins.module_utils import _safefs, _safefs_write
from ansible_collections.refarch.containers.plugins.module_utils._printable import printable


def main() -> None:
    """Module entry point."""
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            state=dict(type="str", choices=["restored", "absent"], default="restored"),
            backup_file=dict(type="path"),
            backup_sha256=dict(type="str"),
            sha256=dict(type="str"),
            root=dict(type="path"),
            expected_dir_identity=dict(type="dict"),
        ),
        required_if=[["state", "restored", ["backup_file", "backup_sha256"]], ["state", "absent", ["sha256"]]],
        supports_check_mode=True,
    )
    p = module.params
    if not os.path.isabs(p["path"]):
        module.fail_json(msg=f"path must be absolute: {printable(p['path'])}")
    ident = None
    if p["expected_dir_identity"] is not None:
        try:
            ident = (int(p["expected_dir_identity"]["dev"]), int(p["expected_dir_identity"]["ino"]))
        except (KeyError, TypeError, ValueError):
            module.fail_json(msg="expected_dir_identity must be {'dev': INT, 'ino': INT}")
    root = p["root"] or _safefs.default_root(p["path"])
    try:
        if p["state"] == "restored":
            result = _safefs_write.restore_from_backup(root, p["path"], p["backup_file"], p["backup_sha256"],
                                                       expected=ident, check=module.check_mode)
        else:
            result = _safefs_write.remove_created(root, p["path"], p["sha256"], expected=ident, check=module.check_mode)
    except _safefs.UnsafeFile as exc:
        module.fail_json(msg=f"refused: {printable(exc.message)}; nothing was written", refused=True,
                         refusal={"code": exc.code, "path": printable(exc.path)}, changed=False)
    except OSError as exc:
        module.fail_json(msg=f"cannot restore {printable(p['path'])}: {exc.strerror or exc}", changed=False)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
