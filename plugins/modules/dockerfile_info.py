#!/usr/bin/python
# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: dockerfile_info
short_description: Find Dockerfiles on a host and return normalized, secret-redacted facts
version_added: 0.1.0
description:
  - Walks the given roots on the managed host, finds every Dockerfile and Containerfile, parses it with
    BuildKit semantics and returns one normalized facts document per file (the C(kind=dockerfile) document of
    C(policies/schema/facts.schema.json), described in C(docs/facts-schema.md)).
  - The walk prunes excluded directories before descending (C(node_modules), C(.git), pseudo file systems),
    never follows a symlinked directory, is safe against directory loops, never opens FIFOs, sockets or devices
    and reads each file once with a size limit.
  - Each file's C(.dockerignore) (a C(<name>.dockerignore) beside it takes precedence, as in BuildKit) and the
    C(package.json) of its directory are read and summarized.
  - ENV and ARG values whose names look secret, inline C(NAME=value) secrets, npm C(_authToken)/C(_auth)/C(_password)
    settings and passwords in URLs are redacted on the host; they never reach the controller.
  - A file that cannot be read or parsed (permission denied, binary, too large, symlink loop, symlink leaving its
    root, FIFO) becomes a document with C(error) set and a problem; text that is not valid UTF-8, malformed exec-form
    JSON or an unterminated heredoc is a problem of an otherwise normal document. A root that does not exist or a
    directory that cannot be listed is reported in RV(problems). None of these fails the host.
  - The optional O(query) is applied on the controller by the action plugin of the same name, never on the host.
  - With O(descriptors) the walk also finds the files that declare how Dockerfiles are built (compose files, bake
    files, GitHub Actions workflows) and returns their text, secrets redacted, in RV(descriptors); they are parsed
    on the controller. The action plugin then calls the module again with O(builds) to evaluate each declared build.
author:
  - refarch.containers developers (@refarch)
extends_documentation_fragment:
  - refarch.containers.attributes
  - refarch.containers.attributes.INFO_MODULE
  - refarch.containers.walker
options:
  include_instructions:
    description:
      - Return each document's full C(instructions) list. V(false) leaves it empty (stages, final-stage summary,
        pragmas and problems are still returned), which keeps results small on large estates.
    type: bool
    default: true
  query:
    description:
      - A JMESPath expression applied to the result on the controller (needs the C(jmespath) Python library on
        the controller). Its value is returned as RV(query_result) and replaces RV(dockerfiles) in the result,
        so large scans come back small. For example V(dockerfiles[?final_stage.user.uid==`0`].path).
      - Handled by the action plugin; it is removed from the arguments before the module runs on the host.
    type: str
  publish_facts:
    description:
      - Also return RV(host_summary) as C(ansible_facts['refarch_containers']), so that it lands in the fact
        cache (AWX fact storage) without a separate C(set_fact) task. The discover role sets this.
      - Handled by the action plugin on the controller.
    type: bool
    default: false
  descriptors:
    description:
      - Also find build descriptors under the roots and return their text (at most 512 KiB each, secrets redacted
        on the host) in RV(descriptors). The files read are C(compose.yaml), C(compose.yml),
        C(docker-compose.yml), C(docker-compose.yaml) and their C(.override) and other
        C(docker-compose.<variant>.yml) files, C(docker-bake.hcl), C(docker-bake.json), and every YAML file in a
        C(.github/workflows) folder. Symlinked descriptors are not read.
    type: bool
    default: true
  builds:
    description:
      - Evaluate these declared builds instead of walking the roots (the action plugin sends them after parsing
        RV(descriptors) on the controller). Each is a dict with C(dockerfile) and C(context) (absolute paths inside
        O(paths)), C(target), C(args) (name to value, null when unknown), C(image), C(tags) and C(declared_by).
      - Each Dockerfile is reached from its scan root without following symlinks, whatever its name; its facts are
        built for the target and build arguments; the ignore file is C(<Dockerfile name>.dockerignore) beside it,
        else the C(.dockerignore) at the root of the context.
    type: list
    elements: dict
  output_encoding:
    description:
      - How the module sends RV(dockerfiles) and RV(host_summary) back. V(json) sends each as one JSON string
        (C(dockerfiles_json), C(host_summary_json)), which the collection's action plugin decodes on the controller;
        this keeps large scans fast, because Ansible processes every nested value of a module result one by one.
        The action plugin sets V(json) itself.
      - Leave the default when calling the module without its action plugin.
    type: str
    choices: [native, json]
    default: native
notes:
  - Reads only; nothing on the host is changed.
  - Runs with the Python standard library only on the managed host.
  - On a host with more than one CPU, a scan that finds 100 Dockerfiles or more reads and parses them in up to
    three short-lived worker processes forked from the module (one per CPU, the module itself included), fed
    while the walk goes on; the result is the same as from one process, and a worker that cannot be started or
    fails only costs time.
seealso:
  - module: refarch.containers.dockerfile_facts
  - module: refarch.containers.policy_check
"""

EXAMPLES = r"""
- name: Find every Dockerfile under /srv and /opt
  refarch.containers.dockerfile_info:
    paths:
      - /srv
      - /opt
  register: scan

- name: Show the final user of each Dockerfile
  ansible.builtin.debug:
    msg: "{{ item.path }} runs as {{ item.final_stage.user.name | default('the base image default') }}"
  loop: "{{ scan.dockerfiles }}"
  when: item.final_stage is not none

- name: Large estate - lowercase names too, stay on one file system, no instruction lists
  refarch.containers.dockerfile_info:
    paths: [/]
    case_insensitive: true
    one_filesystem: true
    include_instructions: false
    max_depth: 8
    excludes: [node_modules, .git, .cache, vendor, /proc, /sys, /dev, /run, /var/lib/containers]

- name: Only the paths of Dockerfiles whose final stage may run as root (filtered on the controller)
  refarch.containers.dockerfile_info:
    paths: [/srv]
    query: "dockerfiles[?final_stage.user.source=='base' || final_stage.user.uid==`0`].path"
  register: rootish

- name: Treat a site-specific variable name as secret
  refarch.containers.dockerfile_info:
    paths: [/srv]
    redact_names: ['^ACME_.*_PIN$']
"""

RETURN = r"""
ansible_facts:
  description: With O(publish_facts=true), RV(host_summary) under C(refarch_containers).
  returned: when O(publish_facts=true)
  type: dict
  contains:
    refarch_containers:
      description: The host summary (see RV(host_summary)).
      returned: when O(publish_facts=true)
      type: dict
host_summary:
  description:
    - The compact host summary that M(refarch.containers.dockerfile_facts) publishes as
      C(ansible_facts['refarch_containers']) (counts, paths, sha256, final users, base images, problem counts).
    - With O(publish_facts=true) (the discover role) it is also returned as C(ansible_facts['refarch_containers']),
      which Ansible keeps in the fact cache (AWX fact storage).
    - With O(output_encoding=json) the module sends it as one JSON string, C(host_summary_json), which the
      action plugin decodes back into this dictionary on the controller.
  returned: success
  type: dict
dockerfiles:
  description:
    - One facts document per Dockerfile found (C(kind=dockerfile)), in walk order. Every key is always present.
    - See C(docs/facts-schema.md) for every field; the JSON Schema is C(policies/schema/facts.schema.json).
    - Omitted when O(query) is given.
  returned: success and O(query) not given
  type: list
  elements: dict
  sample:
    - schema_version: "1.1"
      kind: dockerfile
      path: /srv/app/Dockerfile
      name: Dockerfile
      sha256: 9f2c0d8b6f0a4c1e7f3b2a1d0c9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e
      size: 412
      context: /srv/app
      error: null
      stages:
        - index: 0
          name: null
          line: 1
          base: {raw: "node:20-bookworm-slim", resolved: "node:20-bookworm-slim", registry: docker.io,
                 repository: library/node, tag: 20-bookworm-slim, digest: null, unresolved: false, scratch: false}
      final_stage:
        user: {raw: node, name: node, group: null, line: 9, source: instruction, uid: null}
        exposed_ports: [{port: 8080, end_port: 8080, protocol: tcp, raw: "8080", line: 7, resolved: true}]
        process: {argv: [node, server.js], form: exec, shell_command: null, line: 10}
      target: null
      node_scope:
        classification: node
        evidence:
          - {signal: node_base, node: true, line: 1, stage: 0,
             detail: "node:20-bookworm-slim (official Node.js image)"}
          - {signal: node_process, node: true, line: 10, stage: 0, detail: "ENTRYPOINT/CMD runs node"}
      problems: []
problems:
  description: Problems with roots and directories (missing root, permission denied while listing).
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The root or directory concerned.
      type: str
    code:
      description: C(root_not_found), C(permission_denied), C(not_a_directory), C(read_error), ...
      type: str
    message:
      description: What happened, in words.
      type: str
  sample:
    - {path: /srv/missing, code: root_not_found, message: scan root /srv/missing does not exist}
summary:
  description: Counts and timings of the scan.
  returned: always
  type: dict
  contains:
    roots:
      description: Number of roots given.
      type: int
    directories_scanned:
      description: Directories listed.
      type: int
    files_seen:
      description: Non-directory entries seen.
      type: int
    directories_pruned:
      description: Directories skipped by O(excludes) or O(one_filesystem).
      type: int
    dockerfiles:
      description: Documents returned.
      type: int
    errors:
      description: Documents whose file could not be read or parsed at all.
      type: int
    with_problems:
      description: Documents with at least one problem.
      type: int
    problems:
      description: Entries in RV(problems).
      type: int
    walk_seconds:
      description: Time spent walking.
      type: float
    parse_seconds:
      description: Time spent reading, parsing and normalizing.
      type: float
  sample: {roots: 1, directories_scanned: 120, files_seen: 2400, directories_pruned: 3, dockerfiles: 4,
           errors: 0, with_problems: 1, problems: 0, walk_seconds: 0.01, parse_seconds: 0.02}
descriptors:
  description:
    - With O(descriptors), one entry per build descriptor found, with C(path), C(kind) (C(compose), C(bake) or
      C(workflow)), C(scan_root), C(text) (secrets redacted) or C(error) (C(code), C(message)) when it was not read.
  returned: when O(descriptors) is true and O(builds) is not given
  type: list
  elements: dict
query_result:
  description: The value of O(query) applied to the result on the controller.
  returned: when O(query) is given
  type: raw
  sample: [/srv/legacy/Dockerfile]
"""

import gc
import json

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.refarch.containers.plugins.module_utils._discovery import (
    discovery_argument_spec,
    host_summary,
    scan_builds,
    scan_from_params,
)


def main() -> None:
    """Scan the requested roots and return the documents; never changes anything."""
    # A short-lived process whose data is acyclic and all alive until it exits: the cyclic
    # garbage collector would only rescan the documents while they are built and encoded.
    gc.disable()
    spec = discovery_argument_spec()
    # applied by the action plugin on the controller; accepted here only so the documented option validates
    spec["query"] = dict(type="str")
    spec["publish_facts"] = dict(type="bool", default=False)
    spec["output_encoding"] = dict(type="str", default="native", choices=["native", "json"])
    spec["descriptors"] = dict(type="bool", default=True)
    spec["builds"] = dict(type="list", elements="dict")
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    params = dict(module.params)
    encoding = params.pop("output_encoding")
    params.pop("publish_facts", None)
    builds = params.pop("builds", None)
    try:
        # json: the documents come back as one JSON string (encoded once, while they are built),
        # because Ansible's per-value result processing (no_log scrubbing, tagging) costs more than
        # the scan itself on large trees.
        if builds is not None:
            result = scan_builds(params, builds, output="json" if encoding == "json" else "native")
        else:
            result = scan_from_params(params, output="json" if encoding == "json" else "native")
    except ValueError as exc:
        module.fail_json(msg=f"invalid option: {exc}")
    # The same compact summary dockerfile_facts publishes, so a scan can feed fact storage
    # (publish_facts) without walking the roots a second time. With output_encoding=json it
    # travels as a JSON string too (one entry per Dockerfile); the action plugin decodes it.
    summary = host_summary(result)
    result.pop("host_summary", None)
    if encoding == "json":
        result["host_summary_json"] = json.dumps(summary, separators=(",", ":"))
    else:
        result["host_summary"] = summary
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
