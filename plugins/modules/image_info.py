#!/usr/bin/python
# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: image_info
short_description: Normalized facts about the container images on a host (podman and docker)
version_added: 0.1.0
description:
  - Lists the images of podman and/or docker on the managed host, filters them by name, dangling state and
    age, inspects them and returns one C(kind=image) facts document per image, the shape
    M(refarch.containers.policy_check) evaluates (see C(docs/contracts.md) section 7).
  - Each document carries the id, tags, digests, size, creation time, platform, config user, exposed ports,
    ENV (secret-looking values redacted on the host), ENTRYPOINT/CMD and the process they make, working
    directory, labels, healthcheck, layer and history counts (and the history when asked), the Node.js
    version (C(NODE_VERSION)/C(NODEJS_VERSION) ENV, labels, or a probe when asked), the base image named by
    the C(org.opencontainers.image.base.name) annotation or label, and the Dockerfile (path and sha256) the
    image was built from when the C(io.refarch.containers.dockerfile.*) labels say so.
  - Container runtimes are driven through their command line with argument lists (no shell) and a timeout per
    command. A host without a runtime, a daemon that is down or a socket it may not open is reported in
    RV(engines); the module does not fail for it unless O(require_runtime=true).
  - O(runtime) and O(require_runtime) were called C(engine) and C(require_engine) (the policy engine is another
    thing); the old names remain as aliases. The results keep their names (RV(engines), RV(engine_error), the
    C(engine) field of each document).
author:
  - refarch.containers developers (@refarch)
extends_documentation_fragment:
  - refarch.containers.attributes
  - refarch.containers.attributes.INFO_MODULE
options:
  runtime:
    description:
      - Which container runtime to read. V(auto) reads every runtime that is installed and answers.
    aliases: [engine]
    type: str
    default: auto
    choices: [auto, podman, docker]
  executable:
    description:
      - Path (or name) of the runtime's executable. With O(runtime=auto) its name picks the runtime.
    type: path
  docker_host:
    description:
      - Docker daemon address, passed as C(--host). A bare path means C(unix://PATH).
      - Without it the docker CLI uses E(DOCKER_HOST) or its default socket.
    type: str
  podman_root:
    description:
      - Podman (and buildah) storage root, passed as C(--root). Use it to read another user's storage.
    type: path
  podman_runroot:
    description: Podman run root, passed as C(--runroot).
    type: path
  podman_storage_driver:
    description: Podman storage driver, passed as C(--storage-driver) (for example V(overlay) or V(vfs)).
    type: str
  podman_user:
    description:
      - Read the rootless podman storage of this user (its default C(~/.local/share/containers/storage) and
        C(/run/user/UID/containers)), unless O(podman_root) / O(podman_runroot) say otherwise.
      - Needs read access to that storage, normally root (C(become)).
    type: str
  timeout:
    description: Seconds each runtime command may take.
    type: float
    default: 60
  require_runtime:
    description: Fail when no container runtime can be used (otherwise the host reports the reasons in RV(engines)).
    aliases: [require_engine]
    type: bool
    default: false
  redact_names:
    description: Extra regular expressions for secret ENV/label names, added to the built-in ones.
    type: list
    elements: str
    default: []
  names:
    description:
      - Glob patterns an image name must match (any of them). Short forms match too (V(node:*) matches
        C(docker.io/library/node:20)); a pattern can also be an image id prefix.
      - Empty means every image.
    type: list
    elements: str
    default: []
  dangling:
    description: Untagged images. V(include) them, V(exclude) them, or list V(only) them.
    type: str
    default: include
    choices: [include, exclude, only]
  max_age:
    description: Only images created at most this long ago (seconds, or a number with C(s), C(m), C(h), C(d), C(w)).
    type: str
  min_age:
    description: Only images created at least this long ago (same format as O(max_age)).
    type: str
  include_history:
    description:
      - Return the image history (newest O(history_limit) entries, secrets redacted).
        The counts are returned either way.
      - With docker this costs one C(docker history) call per image.
    type: bool
    default: false
  history_limit:
    description: Most history entries kept per image.
    type: int
    default: 50
  node_version_probe:
    description:
      - Run C(node --version) inside images to learn the Node.js version. V(off) never runs anything;
        V(missing) probes images whose ENV does not name a version; V(always) probes every image.
      - Probes use C(podman run --rm --network none) / C(docker run --rm --network none), and for podman fall back
        to C(buildah from) + C(buildah run --isolation chroot) where C(podman run) is not possible.
    type: str
    default: "off"
    choices: ["off", missing, always]
  probe_timeout:
    description: Seconds one version probe may take.
    type: float
    default: 60
  max_probes:
    description: Most images probed per run.
    type: int
    default: 20
  max_images:
    description:
      - Most images inspected and returned (newest first); RV(truncated) says when more matched.
    type: int
    default: 1000
notes:
  - The same image seen by two runtimes appears twice, once per runtime (see the C(engine) field of each document
    in RV(images)).
  - The base images the test suite builds locally carry C(io.refarch.containers.test-base) labels; they are
    ordinary images to this module.
seealso:
  - module: refarch.containers.container_info
  - module: refarch.containers.policy_check
"""

EXAMPLES = r"""
- name: Facts for every image on the host
  refarch.containers.image_info:
  register: img

- name: Node images built in the last week, through a non-default docker socket
  refarch.containers.image_info:
    runtime: docker
    docker_host: unix:///srv/docker/docker.sock
    names: ['*node*', 'registry.example.com/apps/*']
    max_age: 7d
    dangling: exclude

- name: A rootless user's podman images, with the Node.js version checked by running the binary
  refarch.containers.image_info:
    runtime: podman
    podman_user: builder
    node_version_probe: missing
  become: true

- name: Evaluate them
  refarch.containers.policy_check:
    documents: "{{ img.images }}"
"""

RETURN = r"""
images:
  description: One C(kind=image) facts document per image (see C(docs/contracts.md) section 7).
  returned: always
  type: list
  elements: dict
  sample:
    - schema_version: "1.1"
      kind: image
      engine: podman
      id: "sha256:8026..."
      image: localhost/app:latest
      tags: [localhost/app:latest]
      size: 234573582
      user: {raw: node, name: node, group: null, uid: null, line: null, source: config, is_root: false}
      exposed_ports: [{port: 80, end_port: 80, protocol: tcp, raw: 80/tcp, line: null, resolved: true}]
      process: {argv: [docker-entrypoint.sh, node, x.js], form: exec, shell_command: null, line: null,
                init: null, wrappers: [docker-entrypoint.sh], command: [node, x.js]}
      node: {version: 20.20.2, major: 20, source: env, source_key: NODE_VERSION, probe: null}
      node_scope:
        classification: node
        evidence:
          - {signal: node_version_env, node: true, line: null, stage: null,
             detail: "NODE_VERSION=20.20.2 in the environment"}
          - {signal: node_process, node: true, line: null, stage: null, detail: "the command runs node"}
      dockerfile: {path: /srv/app/Dockerfile, sha256: "3b1f...", source: label, valid: true}
engines:
  description: What each container runtime did on this host (the key keeps its earlier name).
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: V(podman) or V(docker)., type: str, returned: always}
    executable: {description: The executable used (null when none was found)., type: str, returned: always}
    available: {description: Whether the runtime answered and listed its images., type: bool, returned: always}
    version: {description: Runtime (server) version., type: str, returned: always}
    error: {description: Why the runtime could not be used., type: str, returned: always}
    error_code:
      description: >-
        V(not_installed), V(daemon_unreachable), V(permission_denied), V(timeout), V(bad_output),
        V(command_failed), V(output_too_large), V(bad_option), or null.
      type: str
      returned: always
  sample: [{name: podman, executable: /usr/bin/podman, available: true, version: 4.3.1, error: null,
            error_code: null},
           {name: docker, executable: /usr/bin/docker, available: false, version: null,
            error: "docker version failed (rc=1): Cannot connect to the Docker daemon ...",
            error_code: daemon_unreachable}]
engine_error:
  description: Set when no container runtime could be used at all (the reasons joined); null otherwise.
  returned: always
  type: str
matched:
  description: Images that passed the filters (before O(max_images)).
  returned: always
  type: int
image_count:
  description: Documents returned.
  returned: always
  type: int
truncated:
  description: Whether O(max_images) cut the list.
  returned: always
  type: bool
commands:
  description: The runtime commands run (argument lists, first 200), for auditing.
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
    image_argument_spec,
    scan_images,
)


def main() -> None:
    """Read the images; never changes anything."""
    module = AnsibleModule(argument_spec=image_argument_spec(), supports_check_mode=True)
    try:
        result = scan_images(module.params)
    except ValueError as exc:
        module.fail_json(msg=f"invalid option: {exc}")
    except RuntimeCommandError as exc:
        module.fail_json(msg=exc.message, error_code=exc.code)
    else:
        module.exit_json(**result)


if __name__ == "__main__":
    main()
