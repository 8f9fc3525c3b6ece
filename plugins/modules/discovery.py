#!/usr/bin/python
# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation for the refarch.containers.discovery action plugin (it runs the discovery modules on the host)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: discovery
short_description: Discover one host's Dockerfiles, images and running containers in one task
version_added: "0.2.0"
description:
  - Runs M(refarch.containers.dockerfile_info) on the managed host and, when asked, M(refarch.containers.image_info)
    and M(refarch.containers.container_info), and returns their documents together, ready for
    M(refarch.containers.policy_check). The discover role registers this result as C(refarch_discovery).
  - One task instead of one task per module. Ansible spends a worker process per host on the controller for
    every task, so on a large estate the number of tasks per host, not the work on the host, sets the pace.
  - The Dockerfile documents stay one JSON string (RV(dockerfiles_json)); M(refarch.containers.policy_check)
    decodes it.
  - Build descriptors (compose, bake, GitHub Actions workflows) found under O(paths) come back as redacted text and
    are parsed on the controller; when they declare builds, M(refarch.containers.dockerfile_info) runs once more on
    the host to evaluate each declared build (its context, target and build arguments) in place of the default
    evaluation of that Dockerfile. Images that a descriptor names are linked to their Dockerfile.
  - A host that cannot be reached makes the task unreachable. A host that answers the first module and is then
    lost makes it unreachable too (C(connection lost during discovery)); nothing it returned is kept.
author:
  - refarch.containers developers (@refarch)
extends_documentation_fragment:
  - refarch.containers.attributes
  - refarch.containers.attributes.INFO_MODULE
  - refarch.containers.attributes.FACTS
options:
  paths:
    description:
      - Roots to walk, as M(refarch.containers.dockerfile_info) walks them.
      - Empty for an images-only (or containers-only) scan with O(images) or O(containers); no Dockerfile is
        looked for then.
    type: list
    elements: path
    default: []
  patterns:
    description: File name patterns; unset means the module's defaults.
    type: list
    elements: str
  excludes:
    description: Extra directory names or globs to prune, added to the module's defaults.
    type: list
    elements: str
  max_depth:
    description: Deepest directory level walked below each root; unset means the module's default.
    type: int
  max_file_size:
    description: Larger Dockerfiles are reported as a problem, not read; unset means the module's default.
    type: int
  one_filesystem:
    description: Stay on each root's filesystem; unset means the module's default.
    type: bool
  read_foreign_files:
    description:
      - Run as root, also read files that the owner of their directory could not read (a symlink to another user's
        key, a root-only file); unset means the module's default (V(false)), where they get the problem
        C(foreign_owner). See M(refarch.containers.dockerfile_info).
    type: bool
  allow_hardlinks:
    description:
      - Read files with more than one name; unset means the module's default (V(false)), where they get the problem
        C(hardlink).
    type: bool
  images:
    description: Also list the host's images with M(refarch.containers.image_info).
    type: bool
    default: false
  containers:
    description: Also list the host's running containers with M(refarch.containers.container_info).
    type: bool
    default: false
  container_runtime:
    description:
      - Container runtime (podman or docker) for O(images) and O(containers); not the policy engine.
      - C(container_engine), its earlier name, remains as an alias.
    aliases: [container_engine]
    type: str
    choices: [auto, podman, docker]
    default: auto
  publish_facts:
    description:
      - Also return RV(host_summary) as C(ansible_facts['refarch_containers']), so that it lands in the fact cache
        (AWX fact storage) without a C(set_fact) task.
    type: bool
    default: false
notes:
  - This is an action plugin; the module file holds its documentation only. The modules it runs on the host
    use the Python standard library only.
seealso:
  - module: refarch.containers.dockerfile_info
  - module: refarch.containers.image_info
  - module: refarch.containers.container_info
  - module: refarch.containers.policy_check
"""

EXAMPLES = r"""
- name: Discover Dockerfiles and images
  refarch.containers.discovery:
    paths: [/srv, /opt]
    images: true
  register: refarch_discovery
  ignore_unreachable: true

- name: Evaluate what was found (an unreachable host is returned as such, never as compliant)
  refarch.containers.policy_check:
    facts: "{{ refarch_discovery }}"
  register: refarch_result
"""

RETURN = r"""
dockerfiles_json:
  description: The Dockerfile documents (facts schema) as one JSON string.
  returned: success
  type: str
summary:
  description: M(refarch.containers.dockerfile_info)'s counts (Dockerfiles found, errors, files seen).
  returned: success
  type: dict
problems:
  description: Host-level problems of the walk (unreadable directories, missing roots, loops).
  returned: success
  type: list
  elements: dict
host_summary:
  description: One small entry per Dockerfile (the fact published with O(publish_facts)).
  returned: success
  type: dict
images:
  description: Image documents; empty unless O(images).
  returned: success
  type: list
  elements: dict
containers:
  description: Container documents; empty unless O(containers).
  returned: success
  type: list
  elements: dict
engines:
  description: What M(refarch.containers.image_info) found out about the container runtimes; empty unless O(images).
  returned: success
  type: list
  elements: dict
descriptors:
  description:
    - The build descriptors found, each with C(path), C(kind) (C(compose), C(bake), C(workflow)), C(error) (when it
      was not read) and C(builds) (how many builds it declares). Their problems are in RV(problems).
  returned: success
  type: list
  elements: dict
scan_paths:
  description: The roots walked (O(paths)); the report places each Dockerfile relative to the root it was found under.
  returned: success
  type: list
  elements: str
evidence:
  description:
    - When a module failed on the host, what it wrote, kept for the report (the host's C(evidence)) -
      C(stderr), C(stdout) and C(rc), each at most 4,000 characters, with secrets redacted and control
      characters escaped. A Python that cannot run the module shows here, not only as
      C(Module result deserialization failed).
  returned: when a module failed on the host
  type: dict
  sample: {stderr: '/usr/bin/python3: error while loading shared libraries ...', rc: '127'}
"""
