# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for refarch.containers.policy_check: evaluate facts on the controller.

Nothing runs on the managed host: the plugin takes facts documents (from
``dockerfile_info`` / ``image_info`` results), evaluates them against the Rego
bundle with the embedded engine (regopy in an isolated child process) or an OPA
server, applies waivers and pragmas, and returns findings and a summary.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.refarch.containers.plugins.plugin_utils._bundle import (
    DEFAULT_POLICY_DIR,
    load_bundle,
    validate_paths,
)
from ansible_collections.refarch.containers.plugins.plugin_utils._engine_base import EngineError
from ansible_collections.refarch.containers.plugins.plugin_utils._findings import (
    SEVERITIES,
    collect_documents,
    enrich,
    over_threshold,
    summarize,
    target_entries,
)
from ansible_collections.refarch.containers.plugins.plugin_utils._waivers import (
    WaiverError,
    load_waiver_file,
    parse_evaluation_date,
    validate_waivers,
)

ARGUMENT_SPEC: dict[str, Any] = {
    "facts": {"type": "raw", "required": True},
    "host": {"type": "str"},
    "engine": {"type": "str", "default": "embedded", "choices": ["embedded", "opa"]},
    "opa_url": {"type": "str", "default": "http://127.0.0.1:8181"},
    "opa_token": {"type": "str", "no_log": True},
    "opa_ca_file": {"type": "path"},
    "opa_validate_certs": {"type": "bool", "default": True},
    "opa_client_cert": {"type": "path"},
    "opa_client_key": {"type": "path", "no_log": False},
    "opa_timeout": {"type": "float", "default": 30.0},
    "opa_retries": {"type": "int", "default": 3},
    "opa_mode": {"type": "str", "default": "preloaded", "choices": ["preloaded", "push"]},
    "opa_check_revision": {"type": "bool", "default": True},
    "policy_path": {"type": "list", "elements": "path", "default": []},
    "include_default_policies": {"type": "bool", "default": True},
    "validate_policies": {"type": "bool", "default": True},
    "opa_binary": {"type": "path"},
    "data": {"type": "dict", "default": {}},
    "waivers": {"type": "raw"},
    "evaluation_date": {"type": "str"},
    "fail_on": {"type": "str", "default": "none", "choices": ["none", *SEVERITIES]},
    "batch_size": {"type": "int", "default": 0},
    "engine_timeout": {"type": "float", "default": 600.0},
    "engine_memory_mb": {"type": "int", "default": 4096},
    "embedded_backend": {"type": "str", "default": "auto", "choices": ["auto", "regorus", "regopy"]},
    "host_result": {"type": "dict"},
    "strict_builtin_errors": {"type": "bool", "default": False},
}


def _load_waivers(value: Any) -> list[dict[str, Any]]:
    if value in (None, "", []):
        return []
    if isinstance(value, str):
        return validate_waivers(load_waiver_file(value), source=value)
    if isinstance(value, dict) and "waivers" in value:
        value = value["waivers"]
    return validate_waivers(value, source="waivers")


def build_engine(args: dict[str, Any], bundle: Any) -> Any:
    """Create the engine named by ``args['engine']`` for ``bundle``."""
    batch_size = args.get("batch_size") or None
    if args.get("engine", "embedded") == "opa":
        from ansible_collections.refarch.containers.plugins.plugin_utils._engine_opa import (  # noqa: PLC0415
            OpaEngine,
        )
        return OpaEngine(bundle, args["opa_url"], token=args.get("opa_token"), ca_file=args.get("opa_ca_file"),
                         validate_certs=args.get("opa_validate_certs", True), client_cert=args.get("opa_client_cert"),
                         client_key=args.get("opa_client_key"), timeout=args.get("opa_timeout", 30.0),
                         retries=args.get("opa_retries", 3), batch_size=batch_size,
                         mode=args.get("opa_mode", "preloaded"), check_revision=args.get("opa_check_revision", True),
                         strict=args.get("strict_builtin_errors", False))
    from ansible_collections.refarch.containers.plugins.plugin_utils._engine_embedded import (  # noqa: PLC0415
        EmbeddedEngine,
    )
    return EmbeddedEngine(bundle, batch_size=batch_size, timeout=args.get("engine_timeout", 600.0),
                          memory_mb=args.get("engine_memory_mb", 4096), strict=args.get("strict_builtin_errors", False),
                          backend=args.get("embedded_backend") or "auto")


def run_policy_check(args: dict[str, Any], host: str | None) -> dict[str, Any]:
    """Evaluate, apply waivers and summarize; return the task result (raises AnsibleActionFail on errors).

    Separated from the Ansible plumbing so that it is testable without a play.
    """
    prior = args.get("host_result")
    if prior is not None:
        status = str(prior.get("status") or "failed")
        if status != "ok":
            # Discovery did not succeed on this host: nothing to evaluate, and the outcome
            # stays what discovery recorded (a role registers it under one name either way).
            return dict(prior, status=status, changed=False,
                        msg=f"not evaluated: discovery status {status}: {prior.get('message') or ''}".rstrip(": "))
    try:
        documents = collect_documents(args["facts"])
    except ValueError as exc:
        raise AnsibleActionFail(f"policy_check: invalid facts: {exc}") from exc
    try:
        date = parse_evaluation_date(args.get("evaluation_date") or _dt.date.today().isoformat())
    except ValueError as exc:
        raise AnsibleActionFail(f"policy_check: {exc}") from exc
    try:
        waivers = _load_waivers(args.get("waivers"))
    except WaiverError as exc:
        raise AnsibleActionFail(f"policy_check: {exc}") from exc
    user_paths = list(args.get("policy_path") or [])
    include_default = args.get("include_default_policies", True)
    engine_name = args.get("engine", "embedded")
    try:
        if user_paths and args.get("validate_policies", True):
            validate_paths(([DEFAULT_POLICY_DIR] if include_default else []) + user_paths, args.get("opa_binary"))
        bundle = load_bundle(user_paths, include_default=include_default)
        engine = build_engine(args, bundle)
        raw = engine.evaluate(documents, date.isoformat(), dict(args.get("data") or {}))
        revision = engine.policy_revision if documents else bundle.revision
    except EngineError as exc:
        raise AnsibleActionFail(f"policy_check: {engine_name} engine failed ({exc.cause}): {exc.message}") from exc
    config = dict((bundle.data.get("refarch") or {}).get("config") or {})
    config.update(args.get("data") or {})
    hadolint_pragmas = bool(config.get("hadolint_pragmas", True))
    findings, waiver_report = enrich(documents, raw, host, waivers=waivers, evaluation_date=date,
                                     hadolint_pragmas=hadolint_pragmas)
    summary = summarize(documents, findings, host, waiver_report)
    result: dict[str, Any] = {
        "changed": False,
        "findings": findings,
        "targets": target_entries(documents, findings, host),
        "summary": summary,
        "engine": engine_name,
        "policy_revision": revision,
        "evaluation_date": date.isoformat(),
        "engine_stats": dict(getattr(engine, "stats", {}) or {}),
    }
    if prior is not None:
        result.update(status="ok", message="", problems=list(prior.get("problems") or []))
    fail_on = args.get("fail_on", "none")
    hits = over_threshold(findings, fail_on)
    if hits:
        rules = sorted({str(f.get("rule_id")) for f in hits})
        targets = len({str(f.get("target")) for f in hits})
        result["failed"] = True
        result["msg"] = (f"{len(hits)} finding(s) at or above severity '{fail_on}' in {targets} target(s): "
                         f"{', '.join(rules)}")
    else:
        result["msg"] = (f"{summary['open']} open finding(s), {summary['waived']} waived, "
                         f"{summary['compliant_targets']}/{summary['targets']} target(s) compliant")
    return result


class ActionModule(ActionBase):
    """Controller-side policy evaluation (no remote code)."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        """Validate the arguments and run the evaluation on the controller."""
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        host = args.get("host") or task_vars.get("inventory_hostname")
        result.update(run_policy_check(args, host))
        return result
