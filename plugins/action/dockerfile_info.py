# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side wrapper for ``refarch.containers.dockerfile_info``.

Runs the module on the host unchanged, minus the ``query`` option, which is a
JMESPath expression applied here on the controller to trim the result.
"""

from __future__ import annotations

from typing import Any, Optional

from ansible.errors import AnsibleActionFail
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible_collections.refarch.containers.plugins.plugin_utils._descriptors import link_result
from ansible_collections.refarch.containers.plugins.plugin_utils._discovery_result import (
    decode_dockerfile_result,
)

try:
    import jmespath
except ImportError:  # pragma: no cover - exercised by the missing-library test through a flag
    jmespath = None

MODULE = "refarch.containers.dockerfile_info"


def compile_query(query: Any) -> Any:
    """Compile a JMESPath expression or raise ``AnsibleActionFail`` with a clear message."""
    if not isinstance(query, str) or not query.strip():
        raise AnsibleActionFail("query must be a non-empty JMESPath expression string")
    if jmespath is None:
        raise AnsibleActionFail(
            f"the query option of {MODULE} needs the Python library jmespath on the controller "
            "(pip install jmespath, or add it to the execution environment)"
        )
    try:
        return jmespath.compile(query)
    except jmespath.exceptions.JMESPathError as exc:
        raise AnsibleActionFail(f"invalid JMESPath query {query!r}: {exc}") from exc


def apply_query(expression: Any, result: dict[str, Any]) -> dict[str, Any]:
    """Return ``result`` with ``query_result`` set and the bulky ``dockerfiles`` list removed."""
    data = {k: result.get(k) for k in ("dockerfiles", "problems", "summary")}
    try:
        value = expression.search(data)
    except jmespath.exceptions.JMESPathError as exc:
        raise AnsibleActionFail(f"JMESPath query failed on the scan result: {exc}") from exc
    out = dict(result)
    out.pop("dockerfiles", None)
    out["query_result"] = value
    return out


class ActionModule(ActionBase):
    """Run dockerfile_info on the host; apply ``query`` on the controller."""

    TRANSFERS_FILES = False

    def run(self, tmp: Optional[str] = None, task_vars: Optional[dict[str, Any]] = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        query = args.pop("query", None)
        publish = boolean(args.pop("publish_facts", False), strict=False)
        expression = compile_query(query) if query is not None else None
        # The documents travel as one JSON string (see the output_encoding option). They are decoded
        # here unless the caller asked for the string itself (the discover role does, and hands it to
        # policy_check as is, so large scans never go through per-value result processing).
        keep_encoded = args.get("output_encoding") == "json" and expression is None
        args["output_encoding"] = "json"
        module_result = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
        # The host summary (one small entry per Dockerfile) is always decoded: the discover role stores it
        # as a fact.
        try:
            module_result = decode_dockerfile_result(module_result, keep_documents_encoded=keep_encoded)
        except ValueError as exc:
            raise AnsibleActionFail(f"{MODULE} returned {exc}") from exc
        if module_result.get("descriptors") and not module_result.get("failed") and not args.get("builds"):
            # the builds that compose, bake and workflow files declare: parsed here, evaluated on the host
            roots = args.get("paths") or []
            roots = [p.strip() for p in roots.split(",")] if isinstance(roots, str) else [str(p) for p in roots]

            def evaluate(builds: list) -> dict[str, Any]:
                answer = self._execute_module(module_name=MODULE, module_args={**args, "builds": builds},
                                              task_vars=task_vars)
                return decode_dockerfile_result(answer, keep_documents_encoded=keep_encoded)

            try:
                module_result = link_result(module_result, roots, evaluate)
            except ValueError as exc:
                raise AnsibleActionFail(f"{MODULE} returned undecodable build documents: {exc}") from exc
        result.update(module_result)
        if publish and isinstance(result.get("host_summary"), dict) and not result.get("failed"):
            # A module's ansible_facts go to the host's facts (and the fact cache): the AWX fact
            # storage entry, without a set_fact task per host.
            result["ansible_facts"] = {"refarch_containers": result["host_summary"]}
        if expression is None or result.get("failed") or result.get("skipped") or result.get("unreachable"):
            return result
        return apply_query(expression, result)
