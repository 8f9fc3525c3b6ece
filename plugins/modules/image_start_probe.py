#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: refarch.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: image_start_probe
short_description: Start a candidate image once and check that it runs as it should
version_added: 0.1.0
description:
  - Starts the image with its own ENTRYPOINT, CMD and USER, without network, and watches it for O(seconds). The probe
    passes when the container is still running at the end, every one of its processes runs as the uid the image's
    USER names (read from the container's own C(/etc/passwd) for a name) and not as root when
    O(require_non_root=true), it listens on every port the image declares (C(EXPOSE)) and, when the image has a
    C(HEALTHCHECK), that command succeeds. The container is then removed.
  - How it starts, by O(runtime) - V(docker) and V(podman) with C(run -d --network none); where C(podman run) cannot
    start a container (some sandboxes refuse its rlimits) and for V(buildah), with C(buildah from) and
    C(buildah run --isolation chroot) inside a network namespace of its own (C(unshare --net)).
  - The module fails when the probe fails (the message says why, with the app's output, bounded and with secrets
    redacted), when it cannot start a container at all (no usable runtime; never a pass), and when the probe goes
    over O(timeout) (everything it started is stopped).
author:
  - refarch.containers developers (@refarch)
extends_documentation_fragment:
  - refarch.containers.attributes.image_module
  - refarch.containers.attributes
attributes:
  check_mode:
    details: Starts nothing; returns C(passed=false) with the reason C(check mode).
  diff_mode:
    details: Nothing on the host is changed; the probe's container is removed.
options:
  image:
    description: The image to start (a reference or an image ID), as M(refarch.containers.image_build) returned it.
    type: str
    required: true
  runtime:
    description: The container runtime that holds the image. V(auto) uses the first of podman, buildah, docker found.
    type: str
    choices: [auto, podman, buildah, docker]
    default: auto
  executable:
    description: Absolute path of the runtime's executable, when it is not on C(PATH).
    type: path
  seconds:
    description: Seconds the container must stay up; its ports must be open by then.
    type: int
    default: 5
  timeout:
    description: Seconds the whole probe may take (start, watch, health check, removal) before it is stopped and fails.
    type: int
    default: 120
  require_non_root:
    description: Fail when a process of the container runs as root (uid 0).
    type: bool
    default: true
  check_ports:
    description: Fail when the container does not listen on a port the image declares.
    type: bool
    default: true
  check_healthcheck:
    description: Run the image's C(HEALTHCHECK) command once the container is up, and fail when it fails.
    type: bool
    default: true
seealso:
  - module: refarch.containers.image_build
  - module: refarch.containers.image_promote
"""

EXAMPLES = r"""
- name: Start the candidate before promoting it
  refarch.containers.image_start_probe:
    image: "{{ candidate.image_id }}"
    runtime: "{{ candidate.engine }}"
    seconds: 5
"""

RETURN = r"""
passed:
  description: True when the container stayed up, ran as the expected non-root uid and listened on its ports.
  returned: always
  type: bool
reason:
  description: Why the probe failed (empty when it passed).
  returned: always
  type: str
method:
  description: How the container was started (C(docker run), C(podman run), C(buildah run --isolation chroot ...)).
  returned: always
  type: str
started:
  description: True when a container was started.
  returned: always
  type: bool
up_seconds:
  description: Seconds the container was watched (up to its exit).
  returned: always
  type: float
exit_code:
  description: The exit code when the container stopped on its own during the probe, else null.
  returned: always
  type: int
user:
  description: The image's USER as configured (empty means root).
  returned: always
  type: str
expected_uid:
  description: The uid that USER names (null when a name could not be looked up).
  returned: always
  type: int
uids:
  description: The real and effective uids the container's processes ran as.
  returned: always
  type: list
  elements: int
ports_declared:
  description: The ports the image declares (C(8080/tcp)).
  returned: always
  type: list
  elements: str
ports_listening:
  description: The declared ports a process of the container listened on.
  returned: always
  type: list
  elements: str
healthcheck:
  description: C({ran, passed, tries, exit_code}) when the image has a HEALTHCHECK that was run, else null.
  returned: always
  type: dict
output:
  description: The end of the container's output (at most 2000 characters, secrets redacted, controls escaped).
  returned: always
  type: str
notes:
  description: What the probe could not do as usual (for example no network namespace of its own).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.refarch.containers.plugins.module_utils._build import BuildError, find_runtime
from ansible_collections.refarch.containers.plugins.module_utils._printable import printable
from ansible_collections.refarch.containers.plugins.module_utils._runtime_cli import find_executable
from ansible_collections.refarch.containers.plugins.module_utils._start_probe import ProbeError, probe


def main():
    module = AnsibleModule(
        argument_spec=dict(
            image=dict(type="str", required=True),
            runtime=dict(type="str", default="auto", choices=["auto", "podman", "buildah", "docker"]),
            executable=dict(type="path"),
            seconds=dict(type="int", default=5),
            timeout=dict(type="int", default=120),
            require_non_root=dict(type="bool", default=True),
            check_ports=dict(type="bool", default=True),
            check_healthcheck=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    empty = dict(passed=False, reason="", method="", started=False, up_seconds=0.0, exit_code=None, user="",
                 expected_uid=None, uids=[], ports_declared=[], ports_listening=[], healthcheck=None, output="",
                 notes=[])
    if p["seconds"] < 1 or p["timeout"] < p["seconds"] + 5:
        module.fail_json(msg="seconds must be at least 1 and timeout at least seconds + 5", **empty)
    if module.check_mode:
        empty["reason"] = "check mode: nothing was started"
        module.exit_json(changed=False, **empty)
    try:
        runtime, executable = find_runtime(p["runtime"], p["executable"])
        result = probe(runtime, executable, p["image"], seconds=p["seconds"], timeout=p["timeout"],
                       require_non_root=p["require_non_root"], check_ports=p["check_ports"],
                       check_healthcheck=p["check_healthcheck"], buildah=find_executable("buildah"))
    except (BuildError, ProbeError) as exc:
        empty["reason"] = printable(str(exc))
        module.fail_json(msg=printable("start probe of %s could not run: %s" % (p["image"], exc)), **empty)
    if not result["passed"]:
        msg = printable("start probe of %s failed (%s): %s" % (p["image"], result["method"], result["reason"]))
        if result["output"]:
            msg += "; its output: " + result["output"]  # already bounded, redacted and escaped
        module.fail_json(msg=msg, changed=False, **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
