#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: refarch.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: image_build
short_description: Build a candidate image from a Dockerfile with podman, buildah or docker
version_added: 0.1.0
description:
  - Builds the image of a (remediated) Dockerfile under a candidate tag derived from the target image and the
    Dockerfile's sha256, labelled with that sha256 and the Dockerfile path, so the rebuild can be verified before it
    replaces anything. M(refarch.containers.image_promote) then promotes or discards the candidate.
  - When an image with the candidate tag and the same Dockerfile sha256 label already exists, nothing is built
    (unchanged inputs skip the build) unless O(force=true).
  - Every command is an argument list built from validated values; image references outside the reference grammar
    (for example V(x; rm -rf /)) are refused before anything runs. Build-argument values never appear in the result.
author:
  - refarch.containers developers (@refarch)
extends_documentation_fragment:
  - refarch.containers.attributes
attributes:
  check_mode:
    support: full
    details: Returns the command that would run and builds nothing.
  diff_mode:
    support: none
    details: Images are not files; the result lists the commands run instead.
  platform:
    support: full
    platforms: posix
options:
  dockerfile:
    description: Absolute path of the Dockerfile to build.
    type: path
    required: true
  context:
    description: Build context directory. Defaults to the Dockerfile's directory.
    type: path
  image:
    description: The image reference the build is for (V(registry/name:tag)). The candidate is tagged from it.
    type: str
    required: true
  runtime:
    description:
      - Container runtime that builds. V(auto) uses the first of podman, buildah, docker found on the host.
      - Called C(engine) before (the policy engine is another thing); that name remains as an alias.
    aliases: [engine]
    type: str
    choices: [auto, podman, buildah, docker]
    default: auto
  executable:
    description: Absolute path of the runtime's executable, when it is not on C(PATH).
    type: path
  build_args:
    description: Build arguments. Values are treated as secrets and never returned.
    type: dict
    default: {}
  target:
    description: Build target stage.
    type: str
  isolation:
    description: Isolation for podman and buildah (V(chroot) works without a container runtime).
    type: str
    choices: [chroot, oci, rootless]
    default: chroot
  pull:
    description: Pull policy for base images.
    type: str
    choices: [never, missing, always]
    default: never
  network:
    description: Network mode for RUN instructions. Omitted by default.
    type: str
    choices: [none, host, default, private]
  labels:
    description: Extra labels. The Dockerfile sha256 and path labels are always added.
    type: dict
    default: {}
  timeout:
    description: Seconds the build may take before it is stopped and reported as failed.
    type: int
    default: 1800
  force:
    description: Build even when a candidate with the same Dockerfile sha256 exists.
    type: bool
    default: false
notes:
  - Use with C(async) for long builds; the module's own O(timeout) bounds the runtime's process.
seealso:
  - module: refarch.containers.image_promote
  - module: refarch.containers.image_info
"""

EXAMPLES = r"""
- name: Build the remediated Dockerfile as a candidate
  refarch.containers.image_build:
    dockerfile: /srv/shop/Dockerfile
    image: localhost/shop-api:1.4
  register: candidate

- name: Long build in the background
  refarch.containers.image_build:
    dockerfile: /srv/shop/Dockerfile
    image: localhost/shop-api:1.4
    timeout: 3600
  async: 3700
  poll: 10
"""

RETURN = r"""
candidate:
  description: The candidate image reference that was built (or would be).
  returned: always
  type: str
  sample: localhost/shop-api:1.4-refarch-5d41402abc4b
image_id:
  description: ID of the candidate image. Empty in check mode.
  returned: always
  type: str
dockerfile_sha256:
  description: sha256 of the Dockerfile that was built, also set as a label on the image.
  returned: always
  type: str
engine:
  description: The container runtime used (the result keeps the key's earlier name).
  returned: always
  type: str
  sample: podman
command:
  description: The exact argument list run, with build-argument values masked (for auditing).
  returned: always
  type: list
  elements: str
skipped_build:
  description: True when an existing candidate with the same Dockerfile sha256 was reused.
  returned: always
  type: bool
stdout_tail:
  description: Last part of the build output.
  returned: when a build ran
  type: str
retried:
  description:
    - How many times the build was run again because the runtime's storage changed under it (another job removed a
      layer or image the build was using, C(layer not known)). Such a failure says nothing about the Dockerfile.
  returned: when a build was retried
  type: int
"""

import hashlib
import json
import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.refarch.containers.plugins.module_utils._build import (
    LABEL_PATH,
    LABEL_SHA,
    BuildError,
    build_argv,
    candidate_reference,
    find_runtime,
    inspect_argv,
    masked,
    run,
)
from ansible_collections.refarch.containers.plugins.module_utils._printable import printable

STORAGE_RACE_RE = re.compile(r"(layer|image) not known|image not found in storage|no such (layer|image)", re.I)
STORAGE_RACE_RETRIES = 2


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def _existing(engine, executable, ref, sha):
    rc, out, _err = run(inspect_argv(engine, executable, ref), timeout=60, tail=None)
    if rc != 0:
        return None
    try:
        data = json.loads(out)
    except ValueError:
        return None
    item = data[0] if isinstance(data, list) and data else data
    if not isinstance(item, dict):
        return None
    config = item.get("Config") or item.get("OCIv1", {}).get("config") or {}
    labels = config.get("Labels") or item.get("Labels") or {}
    if labels.get(LABEL_SHA) == sha:
        return item.get("Id") or item.get("FromImageID") or ""
    return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dockerfile=dict(type="path", required=True),
            context=dict(type="path"),
            image=dict(type="str", required=True),
            runtime=dict(type="str", default="auto", choices=["auto", "podman", "buildah", "docker"],
                         aliases=["engine"]),
            executable=dict(type="path"),
            build_args=dict(type="dict", default={}, no_log=True),
            target=dict(type="str"),
            isolation=dict(type="str", default="chroot", choices=["chroot", "oci", "rootless"]),
            pull=dict(type="str", default="never", choices=["never", "missing", "always"]),
            network=dict(type="str", choices=["none", "host", "default", "private"]),
            labels=dict(type="dict", default={}),
            timeout=dict(type="int", default=1800),
            force=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    dockerfile = params["dockerfile"]
    context = params["context"] or os.path.dirname(dockerfile)
    secrets = [str(v) for v in params["build_args"].values()]
    result = dict(changed=False, candidate="", image_id="", dockerfile_sha256="", engine="", command=[],
                  skipped_build=False)
    try:
        if not os.path.isfile(dockerfile):
            raise BuildError("Dockerfile %s does not exist or is not a regular file" % dockerfile)
        sha = _sha256(dockerfile)
        engine, executable = find_runtime(params["runtime"], params["executable"])
        candidate = candidate_reference(params["image"], sha)
        labels = dict(params["labels"])
        labels[LABEL_SHA] = sha
        labels[LABEL_PATH] = dockerfile
        argv = build_argv(engine, executable, dockerfile, context, candidate, labels,
                          {k: str(v) for k, v in params["build_args"].items()}, params["target"],
                          params["isolation"] if engine != "docker" else None, params["pull"], params["network"])
    except BuildError as exc:
        module.fail_json(msg=printable("cannot build %s: %s" % (params["image"], exc)), **result)
    result.update(candidate=candidate, dockerfile_sha256=sha, engine=engine, command=masked(argv, secrets))

    if not params["force"]:
        existing = _existing(engine, executable, candidate, sha)
        if existing is not None:
            result.update(image_id=existing, skipped_build=True)
            module.exit_json(**result)
    if module.check_mode:
        result["changed"] = True
        module.exit_json(**result)

    rc, out, err = run(argv, timeout=params["timeout"])
    for _attempt in range(STORAGE_RACE_RETRIES):
        # Another job removing images on the same host can pull a cached layer from under the build
        # ("layer not known"): that says nothing about the Dockerfile, so the build is tried again.
        if rc in (0, 124) or not STORAGE_RACE_RE.search(err[-4000:]):
            break
        result["retried"] = result.get("retried", 0) + 1
        rc, out, err = run(argv, timeout=params["timeout"])
    result["stdout_tail"] = "\n".join(masked(out[-3000:].splitlines(), secrets))
    if rc != 0:
        reason = "timed out after %ss" % params["timeout"] if rc == 124 else "exited with %s" % rc
        detail = "\n".join(masked(err[-2000:].splitlines(), secrets))
        # the engine's output and the paths come from the host: escaped, they cannot act on a terminal
        module.fail_json(msg=printable("build of %s %s: %s" % (candidate, reason, detail), keep_newlines=True),
                         rc=rc, **result)
    image_id = _existing(engine, executable, candidate, sha)
    if image_id is None:
        module.fail_json(msg="build of %s reported success but the image cannot be inspected" % candidate, **result)
    result.update(changed=True, image_id=image_id)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
