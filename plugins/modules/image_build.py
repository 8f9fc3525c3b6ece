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
  - Every call builds (a candidate is never reused). An image whose tag and labels match could have been built
    from another build context, base image or build arguments, and the runtime's layer cache already makes an
    unchanged rebuild cheap (about 1.2 s for a small app with podman, against about 0.2 s to check an existing
    candidate). C(changed) is true when the candidate tag now points at another image than before.
  - The candidate is labelled with what it was built from (see RV(labels)) - the Dockerfile's sha256 and path, the
    build context and its digest (the files the ignore files let through, links not followed, see
    RV(context)), the base images' IDs, the build target and the build arguments' names (never their values).
    The context digest is taken before and after the build; a context that changed during the build fails it.
  - Every command is an argument list built from validated values; image references outside the reference grammar
    (for example V(x; rm -rf /)) are refused before anything runs. Build-argument values never appear in the result.
author:
  - refarch.containers developers (@refarch)
extends_documentation_fragment:
  - refarch.containers.attributes.image_module
  - refarch.containers.attributes
attributes:
  check_mode:
    details: Returns the command that would run and builds nothing.
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
    description: Kept for compatibility; every call builds (see the description).
    type: bool
    default: false
  context_max_entries:
    description: Most files and directories of the build context that are fingerprinted; over it there is no digest.
    type: int
    default: 100000
  context_max_bytes:
    description: Most bytes of the build context that are fingerprinted; over it there is no digest.
    type: int
    default: 2147483648
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
  description: Always false (an existing candidate is never reused); kept for the outcome documents.
  returned: always
  type: bool
context_digest:
  description:
    - C(sha256:<hex>) of the build context as the build read it (the same before and after the build), or empty
      when it could not be taken (over a cap, an unreadable entry, an invalid ignore pattern; RV(context) says why).
  returned: always
  type: str
context:
  description:
    - The fingerprint of the build context - C(path), C(digest), C(entries), C(bytes), C(excluded) (paths every
      ignore file excludes), C(ignore_files) (the ignore files present; a path is left out only when all of them
      exclude it) and C(error).
  returned: always
  type: dict
base_images:
  description: Each image the Dockerfile is built FROM, with C(ref) and its local C(id) (empty when not found).
  returned: always
  type: list
  elements: dict
labels:
  description: The labels set on the candidate (extra labels and what it was built from).
  returned: always
  type: dict
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
    LABEL_BASES,
    LABEL_BUILD_ARGS,
    LABEL_CONTEXT,
    LABEL_CONTEXT_DIGEST,
    LABEL_PATH,
    LABEL_SHA,
    LABEL_TARGET,
    BuildError,
    build_argv,
    candidate_reference,
    find_runtime,
    inspect_argv,
    masked,
    run,
)
from ansible_collections.refarch.containers.plugins.module_utils._build_context import (
    base_references,
    context_digest,
)
from ansible_collections.refarch.containers.plugins.module_utils._printable import printable

STORAGE_RACE_RE = re.compile(r"(layer|image) not known|image not found in storage|no such (layer|image)", re.I)
STORAGE_RACE_RETRIES = 2


def _inspect(engine, executable, ref):
    """The image's inspect document, or None when there is no such image."""
    rc, out, _err = run(inspect_argv(engine, executable, ref), timeout=60, tail=None)
    if rc != 0:
        return None
    try:
        data = json.loads(out)
    except ValueError:
        return None
    item = data[0] if isinstance(data, list) and data else data
    return item if isinstance(item, dict) else None


def _image_id(item):
    return (item.get("Id") or item.get("FromImageID") or "") if item else ""


def _labels_of(item):
    config = item.get("Config")
    if not isinstance(config, dict):  # buildah inspect: Config is the config's JSON text; OCIv1.config is parsed
        config = (item.get("OCIv1") or {}).get("config") or {}
    return config.get("Labels") or item.get("Labels") or {}


def _base_images(engine, executable, data, build_args):
    out = []
    for base in base_references(data, build_args):
        item = None
        if base["resolved"]:
            try:
                item = _inspect(engine, executable, base["ref"])
            except BuildError:  # not a reference the grammar accepts: the build will say so
                item = None
        out.append({"ref": base["ref"], "id": _image_id(item)})
    return out


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
            context_max_entries=dict(type="int", default=100000),
            context_max_bytes=dict(type="int", default=2147483648),
        ),
        supports_check_mode=True,
    )
    params = module.params
    dockerfile = params["dockerfile"]
    context = params["context"] or os.path.dirname(dockerfile)
    secrets = [str(v) for v in params["build_args"].values()]
    build_args = {k: str(v) for k, v in params["build_args"].items()}
    result = dict(changed=False, candidate="", image_id="", dockerfile_sha256="", engine="", command=[],
                  skipped_build=False, context_digest="", context={}, base_images=[], labels={})
    try:
        if not os.path.isfile(dockerfile):
            raise BuildError("Dockerfile %s does not exist or is not a regular file" % dockerfile)
        with open(dockerfile, "rb") as handle:
            data = handle.read()
        sha = hashlib.sha256(data).hexdigest()
        engine, executable = find_runtime(params["runtime"], params["executable"])
        candidate = candidate_reference(params["image"], sha)
        # every value is checked before anything runs (the base images are inspected next)
        build_argv(engine, executable, dockerfile, context, candidate, params["labels"], build_args, params["target"],
                   params["isolation"] if engine != "docker" else None, params["pull"], params["network"])
        limits = dict(max_entries=params["context_max_entries"], max_bytes=params["context_max_bytes"])
        fingerprint = context_digest(context, dockerfile, **limits)
        fingerprint["path"] = context
        bases = _base_images(engine, executable, data, build_args)
        labels = dict(params["labels"])
        labels.update({
            LABEL_SHA: sha, LABEL_PATH: dockerfile, LABEL_CONTEXT: context,
            LABEL_CONTEXT_DIGEST: fingerprint["digest"] or "unknown",
            LABEL_BASES: json.dumps(bases, sort_keys=True, separators=(",", ":")),
            LABEL_TARGET: params["target"] or "",
            LABEL_BUILD_ARGS: ",".join(sorted(build_args)),
        })
        argv = build_argv(engine, executable, dockerfile, context, candidate, labels, build_args, params["target"],
                          params["isolation"] if engine != "docker" else None, params["pull"], params["network"])
    except BuildError as exc:
        module.fail_json(msg=printable("cannot build %s: %s" % (params["image"], exc)), **result)
    result.update(candidate=candidate, dockerfile_sha256=sha, engine=engine, command=masked(argv, secrets),
                  context_digest=fingerprint["digest"] or "", context=fingerprint, base_images=bases,
                  labels={k: masked([str(v)], secrets)[0] for k, v in labels.items()})
    if module.check_mode:
        result["changed"] = True
        module.exit_json(**result)

    before_id = _image_id(_inspect(engine, executable, candidate))
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
    item = _inspect(engine, executable, candidate)
    if item is None or _labels_of(item).get(LABEL_SHA) != sha:
        module.fail_json(msg="build of %s reported success but the image cannot be inspected" % candidate, **result)
    result.update(changed=_image_id(item) != before_id, image_id=_image_id(item))
    after = context_digest(context, dockerfile, **limits)
    if after["digest"] != fingerprint["digest"]:
        # the build read the context while it changed: which content the image holds is not known
        module.fail_json(msg=printable("the build context %s changed while %s was being built (%s before, %s after); "
                                       "the candidate is not known to hold the current content"
                                       % (context, candidate, fingerprint["digest"] or fingerprint["error"],
                                          after["digest"] or after["error"])), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
