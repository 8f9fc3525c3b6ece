#!/usr/bin/python
# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: dockerfile_facts
short_description: Publish a compact summary of a host's Dockerfiles as ansible_facts
version_added: 0.1.0
description:
  - Scans the host exactly like M(refarch.containers.dockerfile_info) and publishes one namespaced fact,
    C(ansible_facts['refarch_containers']), with a compact per-host summary suited to AWX / Automation
    Controller fact storage (counts, paths, sha256, final user, base images, problem counts).
  - Full documents (instructions, stages, findings input) are not stored as facts; use
    M(refarch.containers.dockerfile_info) for those.
  - Secrets are redacted on the host; the summary carries no ENV or ARG values at all.
author:
  - refarch.containers developers (@refarch)
extends_documentation_fragment:
  - refarch.containers.attributes
  - refarch.containers.attributes.INFO_MODULE
  - refarch.containers.attributes.FACTS
  - refarch.containers.walker
options: {}
notes:
  - Read facts as C(ansible_facts['refarch_containers']), not as an injected top-level variable.
  - On a host with more than one CPU, a scan that finds 100 Dockerfiles or more reads and parses them in up to
    three short-lived worker processes forked from the module (one per CPU, the module itself included), fed
    while the walk goes on; the result is the same as from one process, and a worker that cannot be started or
    fails only costs time.
seealso:
  - module: refarch.containers.dockerfile_info
"""

EXAMPLES = r"""
- name: Store a Dockerfile summary for each host (AWX fact cache)
  refarch.containers.dockerfile_facts:
    paths: [/srv, /opt]

- name: Report hosts with Dockerfiles that fall back to the base image's user
  ansible.builtin.debug:
    msg: "{{ ansible_facts['refarch_containers'].dockerfiles | selectattr('final_user_source', 'equalto', 'base')
             | map(attribute='path') | list }}"
"""

RETURN = r"""
ansible_facts:
  description: Facts published by this module.
  returned: always
  type: dict
  contains:
    refarch_containers:
      description: Compact summary of the host's Dockerfiles.
      returned: always
      type: dict
      contains:
        schema_version:
          description: Version of this summary's shape.
          type: str
        scanned_at:
          description: UTC time of the scan (ISO 8601).
          type: str
        dockerfile_count:
          description: Dockerfiles found.
          type: int
        error_count:
          description: Dockerfiles that could not be read or parsed.
          type: int
        problem_counts:
          description: Problems across all Dockerfiles, by problem code.
          type: dict
        scan_problems:
          description: Problems with roots and directories (missing root, permission denied).
          type: int
        base_images:
          description:
            - External base image of each final stage (after ARG resolution, as C(registry/repository:tag@digest))
              and how many files use it.
          type: dict
        dockerfiles:
          description: One entry per Dockerfile.
          type: list
          elements: dict
          contains:
            path:
              description: Absolute path.
              type: str
            sha256:
              description: SHA-256 of the file's bytes (null when unreadable).
              type: str
            error:
              description: Error code when the file could not be read or parsed, else null.
              type: str
            stages:
              description: Number of build stages.
              type: int
            base_image:
              description: The final stage's external base image.
              type: str
            final_user:
              description: Effective user of the final stage (null when the base image's default applies).
              type: str
            final_user_source:
              description: C(instruction), C(stage) or C(base).
              type: str
            problems:
              description: Number of problems.
              type: int
      sample:
        schema_version: "1.0"
        scanned_at: "2026-11-28T12:00:00Z"
        dockerfile_count: 1
        error_count: 0
        problem_counts: {}
        scan_problems: 0
        base_images: {"docker.io/library/node:20-bookworm-slim": 1}
        dockerfiles:
          - {path: /srv/app/Dockerfile, sha256: 9f2c0d8b6f0a4c1e7f3b2a1d0c9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e,
             error: null, stages: 2, base_image: "docker.io/library/node:20-bookworm-slim", final_user: node,
             final_user_source: instruction, problems: 0}
"""

import gc

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.refarch.containers.plugins.module_utils._discovery import (
    discovery_argument_spec,
    host_summary,
    scan_from_params,
)


def main() -> None:
    """Scan and publish ``ansible_facts['refarch_containers']`` only."""
    # short-lived and acyclic: the cyclic garbage collector would only rescan what the scan builds
    gc.disable()
    spec = discovery_argument_spec()
    del spec["include_instructions"]
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    params = dict(module.params, include_instructions=False)
    try:
        result = scan_from_params(params, output="summary")
    except ValueError as exc:
        module.fail_json(msg=f"invalid option: {exc}")
    else:
        module.exit_json(changed=False, ansible_facts={"refarch_containers": host_summary(result)})


if __name__ == "__main__":
    main()
