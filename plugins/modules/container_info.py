#!/usr/bin/python
# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: container_info
short_description: Normalized facts about the running containers on a host (podman and docker)
version_added: 0.1.0
description:
  - Lists the running (or, with O(all), every) container of podman and/or docker on the managed host and returns
    one C(kind=container) facts document per container (see C(docs/contracts.md) section 7).
  - Each document carries the image (reference, id, and the image's Node.js version and Dockerfile link), the
    user, the PID 1 command with any init in front of it, the C(--init) flag, the memory limit, the Node.js heap
    limit (C(--max-old-space-size) from the command or C(NODE_OPTIONS)) and whether it exceeds the memory limit,
    published ports, the privileged flag and the restart policy. ENV and label values that look secret are
    redacted on the host.
  - Container runtime problems (none installed, daemon down, socket permission) are reported in RV(engines), as in
    M(refarch.containers.image_info).
  - O(runtime) and O(require_runtime) were called C(engine) and C(require_engine); the old names remain as aliases.
    The results keep their names.
author:
  - refarch.containers developers (@refarch)
extends_documentation_fragment:
  - refarch.containers.attributes
  - refarch.containers.attributes.INFO_MODULE
options:
  runtime:
    description: Which container runtime to read; V(auto) reads every runtime that is installed and answers.
    aliases: [engine]
    type: str
    default: auto
    choices: [auto, podman, docker]
  executable:
    description: Path (or name) of the runtime's executable. With O(runtime=auto) its name picks the runtime.
    type: path
  docker_host:
    description: Docker daemon address, passed as C(--host). A bare path means C(unix://PATH).
    type: str
  podman_root:
    description: Podman storage root, passed as C(--root).
    type: path
  podman_runroot:
    description: Podman run root, passed as C(--runroot).
    type: path
  podman_storage_driver:
    description: Podman storage driver, passed as C(--storage-driver).
    type: str
  podman_user:
    description: Read the rootless podman storage of this user (see M(refarch.containers.image_info)).
    type: str
  timeout:
    description: Seconds each runtime command may take.
    type: float
    default: 60
  require_runtime:
    description: Fail when no container runtime can be used.
    aliases: [require_engine]
    type: bool
    default: false
  redact_names:
    description: Extra regular expressions for secret ENV/label names.
    type: list
    elements: str
    default: []
  names:
    description: Glob patterns a container name must match (any of them), or container id prefixes. Empty means all.
    type: list
    elements: str
    default: []
  all:
    description: Include containers that are not running.
    type: bool
    default: false
  max_containers:
    description: Most containers returned; RV(truncated) says when more matched.
    type: int
    default: 1000
seealso:
  - module: refarch.containers.image_info
  - module: refarch.containers.policy_check
"""

EXAMPLES = r"""
- name: Running containers
  refarch.containers.container_info:
  register: ctr

- name: Node.js containers whose heap limit is missing or above their memory limit
  ansible.builtin.debug:
    msg: >-
      {{ ctr.containers | selectattr('node.is_node') | rejectattr('heap_exceeds_memory', 'false')
         | map(attribute='name') }}

- name: Containers of a docker daemon on a non-default socket, stopped ones too
  refarch.containers.container_info:
    runtime: docker
    docker_host: /srv/docker/docker.sock
    all: true
"""

RETURN = r"""
containers:
  description: One C(kind=container) facts document per container (see C(docs/contracts.md) section 7).
  returned: always
  type: list
  elements: dict
  sample:
    - schema_version: "1.1"
      kind: container
      engine: docker
      name: web
      image: localhost/app:1
      user: {raw: "", name: null, group: null, uid: 0, line: null, source: default, is_root: true}
      process: {argv: [docker-entrypoint.sh, node, server.js], form: exec, shell_command: null, line: null,
                init: null, wrappers: [docker-entrypoint.sh], command: [node, server.js]}
      init: {flag: true, process: null, effective: true}
      memory_limit: 268435456
      heap_limit: {raw: "200", mb: 200, source: command, from_env: null}
      heap_exceeds_memory: false
      node_scope: {classification: node, evidence: [{signal: node_process, node: true, line: null, stage: null,
                                                     detail: "the command runs node"}]}
      published_ports: [{container_port: 3000, protocol: tcp, host_ip: null, host_port: 8080}]
      privileged: false
      restart_policy: {name: on-failure, maximum_retry_count: 3}
engines:
  description: What each container runtime did on this host (same entries as M(refarch.containers.image_info)).
  returned: always
  type: list
  elements: dict
engine_error:
  description: Set when no container runtime could be used at all; null otherwise.
  returned: always
  type: str
matched:
  description: Containers that passed the name filter.
  returned: always
  type: int
container_count:
  description: Documents returned.
  returned: always
  type: int
truncated:
  description: Whether O(max_containers) cut the list.
  returned: always
  type: bool
commands:
  description: The runtime commands run (argument lists, first 200).
  returned: always
  type: list
  elements: list
elapsed:
  description: Seconds the module spent.
  returned: always
  type: float
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.refarch.containers.plugins.module_utils._runtime_cli import RuntimeCommandError
from ansible_collections.refarch.containers.plugins.module_utils._runtime_scan import (
    container_argument_spec,
    scan_containers,
)


def main() -> None:
    """Read the containers; never changes anything."""
    module = AnsibleModule(argument_spec=container_argument_spec(), supports_check_mode=True)
    try:
        result = scan_containers(module.params)
    except ValueError as exc:
        module.fail_json(msg=f"invalid option: {exc}")
    except RuntimeCommandError as exc:
        module.fail_json(msg=exc.message, error_code=exc.code)
    else:
        module.exit_json(**result)


if __name__ == "__main__":
    main()
