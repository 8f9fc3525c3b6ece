# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for ``refarch.containers.discovery``: one host's discovery in one task.

Runs ``dockerfile_info`` on the host and, when asked, ``image_info`` and
``container_info``, and returns what the discover role registers as
``refarch_discovery``. One task instead of one per module (plus the set_fact
that merged them) is what keeps a large estate's scan close to a plain
``find``: every task costs Ansible a worker per host on the controller. The
documentation is in ``plugins/modules/discovery.py``.
"""

from __future__ import annotations

import json
from typing import Any

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
from ansible.plugins.action import ActionBase
from ansible_collections.refarch.containers.plugins.plugin_utils._completeness import failure_evidence
from ansible_collections.refarch.containers.plugins.plugin_utils._discovery_result import (
    decode_dockerfile_result,
)

DOCKERFILE_MODULE = "refarch.containers.dockerfile_info"
IMAGE_MODULE = "refarch.containers.image_info"
CONTAINER_MODULE = "refarch.containers.container_info"

#: Options handed to dockerfile_info unchanged (when set).
DOCKERFILE_OPTIONS = ("paths", "patterns", "excludes", "max_depth", "max_file_size", "one_filesystem",
                      "read_foreign_files", "allow_hardlinks")

ARGUMENT_SPEC: dict[str, Any] = {
    "paths": {"type": "list", "elements": "path", "default": []},
    "patterns": {"type": "list", "elements": "str"},
    "excludes": {"type": "list", "elements": "str"},
    "max_depth": {"type": "int"},
    "max_file_size": {"type": "int"},
    "one_filesystem": {"type": "bool"},
    "read_foreign_files": {"type": "bool"},
    "allow_hardlinks": {"type": "bool"},
    "images": {"type": "bool", "default": False},
    "containers": {"type": "bool", "default": False},
    # the container runtime (podman or docker), not the policy engine; container_engine is its earlier name
    "container_runtime": {"type": "str", "default": "auto", "choices": ["auto", "podman", "docker"],
                          "aliases": ["container_engine"]},
    "publish_facts": {"type": "bool", "default": False},
}


class ActionModule(ActionBase):
    """Dockerfiles, and optionally images and running containers, of one host."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        module_args: dict[str, Any] = {k: args[k] for k in DOCKERFILE_OPTIONS if args.get(k) not in (None, [])}
        module_args["output_encoding"] = "json"
        if not args["paths"]:
            # Images (or containers) only: no Dockerfile root to walk, so dockerfile_info does not run.
            from ansible_collections.refarch.containers.plugins.module_utils._discovery import (  # noqa: PLC0415
                _summarize,
            )
            found = {"dockerfiles_json": "[]", "summary": {"roots": 0, "dockerfiles": 0, "errors": 0},
                     "problems": [], "host_summary": _summarize([], 0)}
        else:
            # An unreachable host raises here, before anything was found: the task is unreachable.
            found = self._execute_module(module_name=DOCKERFILE_MODULE, module_args=module_args,
                                         task_vars=task_vars)
        if found.get("failed"):
            result.update(failed=True, msg=f"dockerfile_info: {found.get('msg') or 'failed'}")
            result.update(self._evidence(found))
            return result
        if args["paths"]:
            try:
                found = decode_dockerfile_result(found, keep_documents_encoded=True)
            except ValueError as exc:
                raise AnsibleActionFail(f"dockerfile_info returned {exc}") from exc
            # the builds that compose, bake and workflow files declare, parsed here, evaluated on the host
            # (imported only for a host that has some: every controller worker would load the parsers)
            if found.get("descriptors"):
                from ansible_collections.refarch.containers.plugins.plugin_utils._descriptors import (  # noqa: PLC0415
                    link_result,
                )
                try:
                    found = link_result(found, list(args["paths"]), lambda builds: self._builds(module_args, builds,
                                                                                                task_vars))
                except ValueError as exc:
                    raise AnsibleActionFail(f"dockerfile_info returned undecodable build documents: {exc}") from exc
        result.update(
            changed=False,
            dockerfiles_json=found.get("dockerfiles_json", "[]"),
            summary=found.get("summary", {}),
            problems=list(found.get("problems") or []),
            host_summary=found.get("host_summary", {}),
            images=[],
            containers=[],
            engines=[],
            # the roots walked: the report places each Dockerfile relative to its root (SARIF uriBaseId)
            scan_paths=list(args["paths"]),
            descriptors=list(found.get("descriptors") or []),
        )
        for wanted, module, key in ((args["images"], IMAGE_MODULE, "images"),
                                    (args["containers"], CONTAINER_MODULE, "containers")):
            if not wanted:
                continue
            try:
                listed = self._execute_module(module_name=module, module_args={"runtime": args["container_runtime"]},
                                              task_vars=task_vars)
            except AnsibleConnectionFailure as exc:
                # The host answered once and then went away: nothing it returned is trusted.
                raise AnsibleConnectionFailure(f"connection lost during discovery: {exc}") from exc
            if listed.get("unreachable"):
                raise AnsibleConnectionFailure(f"connection lost during discovery: {listed.get('msg') or ''}")
            if listed.get("failed"):
                result.update(failed=True, msg=f"{module.rsplit('.', 1)[-1]}: {listed.get('msg') or 'failed'}")
                result.update(self._evidence(listed))
                return result
            result[key] = list(listed.get(key) or [])
            if key == "images":
                result["engines"] = list(listed.get("engines") or [])
                if result["descriptors"] and result[key]:
                    # an image a build descriptor names for a Dockerfile: linked to it (a label still wins)
                    from ansible_collections.refarch.containers.plugins.plugin_utils._descriptors import (  # noqa: PLC0415
                        link_images,
                    )
                    result[key] = link_images(result[key], json.loads(result["dockerfiles_json"]))
        if args["publish_facts"] and isinstance(result.get("host_summary"), dict):
            # A module's ansible_facts go to the host's facts (and the fact cache): the AWX fact
            # storage entry, without a set_fact task per host.
            result["ansible_facts"] = {"refarch_containers": result["host_summary"]}
        return result

    def _builds(self, module_args: dict[str, Any], builds: list, task_vars: Any) -> dict[str, Any]:
        """dockerfile_info again, evaluating the declared builds (one more module run, only when there are some)."""
        try:
            answer = self._execute_module(module_name=DOCKERFILE_MODULE, module_args={**module_args, "builds": builds},
                                          task_vars=task_vars)
        except AnsibleConnectionFailure as exc:
            raise AnsibleConnectionFailure(f"connection lost during discovery: {exc}") from exc
        if answer.get("unreachable"):
            raise AnsibleConnectionFailure(f"connection lost during discovery: {answer.get('msg') or ''}")
        return answer

    @staticmethod
    def _evidence(failed: dict[str, Any]) -> dict[str, Any]:
        """What a module that failed on the host wrote (stderr, stdout, exit code), bounded and redacted.

        Kept for the report (``evidence``): "Module result deserialization failed" alone does not say
        that the host's Python is broken; the raw text itself is not returned.
        """
        evidence = {key: failure_evidence(failed.get(f"module_{key}")) for key in ("stderr", "stdout")}
        if failed.get("rc") is not None:
            evidence["rc"] = str(failed.get("rc"))
        evidence = {k: v for k, v in evidence.items() if v}
        return {"evidence": evidence} if evidence else {}
