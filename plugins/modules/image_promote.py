#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: refarch.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: image_promote
short_description: Promote a verified candidate image to its tag, or discard it
version_added: 0.1.0
description:
  - With O(state=promoted), tags the candidate built by M(refarch.containers.image_build) as O(image). The image that
    held that tag before keeps a second tag (O(image) with O(previous_suffix) appended) so the previous build is never
    lost.
  - With O(state=discarded), removes the candidate's tag and leaves O(image) exactly as it was (the rollback path).
  - With O(context_digest) (and O(dockerfile_sha256)), the build context (and the Dockerfile) is fingerprinted again
    before anything is tagged, the way M(refarch.containers.image_build) did; when it no longer matches (the
    source changed since the candidate was built) nothing is promoted and the module fails.
  - After a promotion the candidate's own tag is removed (the image keeps O(image)) unless O(keep_candidate=true).
  - Idempotent. Changes are decided by comparing image IDs.
author:
  - refarch.containers developers (@refarch)
extends_documentation_fragment:
  - refarch.containers.attributes.image_module
  - refarch.containers.attributes
options:
  image:
    description: The image reference to promote to.
    type: str
    required: true
  candidate:
    description: The candidate image reference (as returned by M(refarch.containers.image_build)).
    type: str
    required: true
  state:
    description: V(promoted) moves O(image) to the candidate; V(discarded) removes the candidate.
    type: str
    choices: [promoted, discarded]
    default: promoted
  previous_suffix:
    description: Tag suffix that keeps the image O(image) pointed at before the promotion.
    type: str
    default: -refarch-previous
  runtime:
    description:
      - Container runtime holding the images.
      - Called C(engine) before (the policy engine is another thing); that name remains as an alias.
    aliases: [engine]
    type: str
    choices: [auto, podman, buildah, docker]
    default: auto
  executable:
    description: Absolute path of the runtime's executable.
    type: path
  context:
    description: The build context the candidate was built from (for O(context_digest)).
    type: path
  dockerfile:
    description: The Dockerfile the candidate was built from (for O(dockerfile_sha256) and its ignore file).
    type: path
  context_digest:
    description:
      - The candidate's context digest (RV(refarch.containers.image_build#module:context_digest)).
      - Empty skips the check.
    type: str
    default: ""
  dockerfile_sha256:
    description: The sha256 of the Dockerfile the candidate was built from; empty skips the check.
    type: str
    default: ""
  keep_candidate:
    description: Keep the candidate's tag after a promotion.
    type: bool
    default: false
seealso:
  - module: refarch.containers.image_build
"""

EXAMPLES = r"""
- name: Keep the verified rebuild
  refarch.containers.image_promote:
    image: localhost/shop-api:1.4
    candidate: "{{ candidate.candidate }}"

- name: Roll back
  refarch.containers.image_promote:
    image: localhost/shop-api:1.4
    candidate: "{{ candidate.candidate }}"
    state: discarded
"""

RETURN = r"""
image_id:
  description: ID the image reference points at afterwards (empty if it does not exist).
  returned: always
  type: str
previous:
  description: The reference that keeps the image replaced by the promotion (empty when nothing was replaced).
  returned: always
  type: str
candidate_removed:
  description: True when the candidate's tag was removed (after a promotion, or on discard).
  returned: always
  type: bool
context_checked:
  description: True when the build context and Dockerfile were fingerprinted again and matched the candidate's.
  returned: always
  type: bool
commands:
  description: The argument lists run (or that would run in check mode).
  returned: always
  type: list
  elements: list
"""

import hashlib
import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.refarch.containers.plugins.module_utils._build import (
    BuildError,
    find_runtime,
    inspect_argv,
    previous_reference,
    run,
    tag_argv,
    untag_argv,
    validate_reference,
)
from ansible_collections.refarch.containers.plugins.module_utils._build_context import context_digest
from ansible_collections.refarch.containers.plugins.module_utils._printable import printable


def _image_id(engine, executable, ref):
    rc, out, _err = run(inspect_argv(engine, executable, ref), timeout=60, tail=None)
    if rc != 0:
        return ""
    try:
        data = json.loads(out)
    except ValueError:
        return ""
    item = data[0] if isinstance(data, list) and data else data
    return (item.get("Id") or item.get("FromImageID") or "") if isinstance(item, dict) else ""


def _stale(p):
    """Why the candidate is not known to be built from what the context and Dockerfile hold now ('' if it is)."""
    if p["dockerfile_sha256"]:
        if not p["dockerfile"]:
            return "dockerfile_sha256 needs dockerfile"
        try:
            with open(p["dockerfile"], "rb") as handle:
                now = hashlib.sha256(handle.read()).hexdigest()
        except OSError as exc:
            return "cannot read %s: %s" % (p["dockerfile"], exc.strerror)
        if now != p["dockerfile_sha256"]:
            return "%s changed since the candidate was built" % p["dockerfile"]
    if p["context_digest"]:
        context = p["context"] or (os.path.dirname(p["dockerfile"]) if p["dockerfile"] else "")
        if not context:
            return "context_digest needs context or dockerfile"
        now = context_digest(context, p["dockerfile"])
        if now["digest"] is None:
            return "the build context %s cannot be fingerprinted again (%s)" % (context, now["error"])
        if now["digest"] != p["context_digest"]:
            return ("the build context %s changed since the candidate was built (the candidate holds %s, the "
                    "context now %s)" % (context, p["context_digest"], now["digest"]))
    return ""


def main():
    module = AnsibleModule(
        argument_spec=dict(
            image=dict(type="str", required=True),
            candidate=dict(type="str", required=True),
            state=dict(type="str", default="promoted", choices=["promoted", "discarded"]),
            previous_suffix=dict(type="str", default="-refarch-previous"),
            runtime=dict(type="str", default="auto", choices=["auto", "podman", "buildah", "docker"],
                         aliases=["engine"]),
            executable=dict(type="path"),
            context=dict(type="path"),
            dockerfile=dict(type="path"),
            context_digest=dict(type="str", default=""),
            dockerfile_sha256=dict(type="str", default=""),
            keep_candidate=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    result = dict(changed=False, image_id="", previous="", commands=[], candidate_removed=False,
                  context_checked=False)
    try:
        validate_reference(p["image"])
        validate_reference(p["candidate"])
        engine, executable = find_runtime(p["runtime"], p["executable"])
        previous = previous_reference(p["image"], p["previous_suffix"])
    except BuildError as exc:
        module.fail_json(msg=str(exc), **result)

    current = _image_id(engine, executable, p["image"])
    candidate = _image_id(engine, executable, p["candidate"])
    commands = []
    if p["state"] == "discarded":
        if candidate:
            # Only the candidate's name goes; the image keeps whatever it pointed at.
            commands.append(untag_argv(engine, executable, p["candidate"]))
        final_id = current
    else:
        if not candidate:
            module.fail_json(msg="candidate %s does not exist on this host" % p["candidate"], **result)
        stale = _stale(p)
        if stale:
            module.fail_json(msg=printable("not promoted: %s" % stale), **result)
        result["context_checked"] = bool(p["context_digest"])
        if current != candidate:
            if current:
                commands.append(tag_argv(engine, executable, current, previous))
                result["previous"] = previous
            commands.append(tag_argv(engine, executable, candidate, p["image"]))
        if not p["keep_candidate"] and p["candidate"] != p["image"]:
            commands.append(untag_argv(engine, executable, p["candidate"]))
        final_id = candidate
    result["commands"] = commands
    if commands and not module.check_mode:
        for argv in commands:
            rc, _out, err = run(argv, timeout=120)
            if rc != 0:
                module.fail_json(msg="%s failed: %s" % (" ".join(argv[1:3]), err.strip()[-1000:]), **result)
    result.update(changed=bool(commands), image_id=final_id,
                  candidate_removed=untag_argv(engine, executable, p["candidate"]) in commands)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
