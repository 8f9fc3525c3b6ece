# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The evaluation service behind refarch.containers.policy_check (controller side, no remote code).

One call, :func:`run_task`, takes the validated options of a task and gives its result:
facts documents (from ``dockerfile_info`` / ``image_info`` / discovery results) are
evaluated against the Rego bundle with the embedded engine (regopy or regorus in an
isolated child process) or an OPA server, waivers and pragmas are applied, and the
findings and a summary are returned. In the estate mode (``hosts``) every host's
discovery result is read from hostvars and the hosts that share their data are
evaluated in one engine run.

:data:`ARGUMENT_SPEC` is the one place the options and their defaults are written; the
action plugin validates against it, and ``plugins/modules/policy_check.py`` documents it
(a unit test checks that the two agree).
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any, NamedTuple

from ansible.errors import AnsibleActionFail
from ansible_collections.refarch.containers.plugins.plugin_utils._bundle import (
    DEFAULT_POLICY_DIR,
    load_bundle,
    validate_paths,
)
from ansible_collections.refarch.containers.plugins.plugin_utils._engine_base import (
    DEFAULT_OPA_RETRIES,
    DEFAULT_OPA_TIMEOUT,
    EngineError,
)
from ansible_collections.refarch.containers.plugins.plugin_utils._engine_embedded import (
    BACKENDS,
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT,
)
from ansible_collections.refarch.containers.plugins.plugin_utils._findings import (
    DEFAULT_MAX_FINDINGS_PER_RULE,
    collect_documents,
    enrich,
    over_threshold,
    summarize,
    target_entries,
    weight,
)
from ansible_collections.refarch.containers.plugins.plugin_utils._hostvars import hosts_with
from ansible_collections.refarch.containers.plugins.plugin_utils._provenance import judged_by
from ansible_collections.refarch.containers.plugins.plugin_utils._scope import DEFAULT_MODE, MODES
from ansible_collections.refarch.containers.plugins.plugin_utils._vocabulary import SEVERITIES_ASCENDING
from ansible_collections.refarch.containers.plugins.plugin_utils._waivers import (
    WaiverError,
    load_waiver_file,
    parse_evaluation_date,
    validate_waivers,
)

ARGUMENT_SPEC: dict[str, Any] = {
    "facts": {"type": "raw"},
    "hosts": {"type": "list", "elements": "str"},
    "facts_var": {"type": "str", "default": "refarch_discovery"},
    "host_settings": {"type": "dict", "default": {}},
    "discovery_status": {"type": "bool", "default": False},
    "host": {"type": "str"},
    "engine": {"type": "str", "default": "embedded", "choices": ["embedded", "opa"]},
    "opa_url": {"type": "str", "default": "http://127.0.0.1:8181"},
    "opa_token": {"type": "str", "no_log": True},
    "opa_ca_file": {"type": "path"},
    "opa_validate_certs": {"type": "bool", "default": True},
    "opa_client_cert": {"type": "path"},
    "opa_client_key": {"type": "path", "no_log": False},
    "opa_timeout": {"type": "float", "default": DEFAULT_OPA_TIMEOUT},
    "opa_retries": {"type": "int", "default": DEFAULT_OPA_RETRIES},
    "opa_mode": {"type": "str", "default": "preloaded", "choices": ["preloaded", "push"]},
    "opa_check_revision": {"type": "bool", "default": True},
    "policy_path": {"type": "list", "elements": "path", "default": []},
    "include_default_policies": {"type": "bool", "default": True},
    "validate_policies": {"type": "bool", "default": True},
    "opa_binary": {"type": "path"},
    "data": {"type": "dict", "default": {}},
    "waivers": {"type": "raw"},
    "evaluation_date": {"type": "str"},
    "fail_on": {"type": "str", "default": "none", "choices": ["none", *SEVERITIES_ASCENDING]},
    "batch_size": {"type": "int", "default": 0},
    "engine_timeout": {"type": "float", "default": DEFAULT_TIMEOUT},
    "engine_memory_mb": {"type": "int", "default": DEFAULT_MEMORY_MB},
    "engine_workers": {"type": "int", "default": 0},
    "embedded_backend": {"type": "str", "default": "auto", "choices": list(BACKENDS)},
    "host_result": {"type": "dict"},
    "strict_builtin_errors": {"type": "bool", "default": False},
    "max_findings_per_rule": {"type": "int", "default": DEFAULT_MAX_FINDINGS_PER_RULE},
    "node_scope": {"type": "str", "default": DEFAULT_MODE, "choices": list(MODES)},
}

#: Option rules the action plugin validates with :data:`ARGUMENT_SPEC`.
MUTUALLY_EXCLUSIVE = [["facts", "hosts"], ["host", "hosts"], ["host_result", "hosts"]]
REQUIRED_ONE_OF = [["facts", "hosts"]]

#: Each option's default, read from :data:`ARGUMENT_SPEC` (callers without validation, such as tests, get the same).
DEFAULTS: dict[str, Any] = {name: spec["default"] for name, spec in ARGUMENT_SPEC.items() if "default" in spec}


def option(args: dict[str, Any], name: str) -> Any:
    """``args[name]``, or its default when the option is not given at all."""
    return args.get(name, DEFAULTS[name])


def _fail(message: str, reason: str) -> AnsibleActionFail:
    """A failure that says why in the incomplete-run vocabulary (``reason`` in the task result, _completeness)."""
    return AnsibleActionFail(message, result={"reason": reason})


def _reason(exc: AnsibleActionFail, default: str = "evaluation_failed") -> str:
    return str((exc.result or {}).get("reason") or default)


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
    strict = option(args, "strict_builtin_errors")
    if option(args, "engine") == "opa":
        from ansible_collections.refarch.containers.plugins.plugin_utils._engine_opa import (  # noqa: PLC0415
            OpaEngine,
        )
        return OpaEngine(bundle, args["opa_url"], token=args.get("opa_token"), ca_file=args.get("opa_ca_file"),
                         validate_certs=option(args, "opa_validate_certs"), client_cert=args.get("opa_client_cert"),
                         client_key=args.get("opa_client_key"), timeout=option(args, "opa_timeout"),
                         retries=option(args, "opa_retries"), batch_size=batch_size,
                         mode=option(args, "opa_mode"), check_revision=option(args, "opa_check_revision"),
                         strict=strict)
    from ansible_collections.refarch.containers.plugins.plugin_utils._engine_embedded import (  # noqa: PLC0415
        EmbeddedEngine,
    )
    return EmbeddedEngine(bundle, batch_size=batch_size, timeout=option(args, "engine_timeout"),
                          memory_mb=option(args, "engine_memory_mb"), strict=strict,
                          backend=args.get("embedded_backend") or "auto", workers=args.get("engine_workers") or 0)


def discovery_outcome(facts: Any) -> dict[str, Any]:
    """Status, message and host problems of a discover role result (``refarch_discovery``).

    An unreachable or failed registered result is never evaluated (and never read as
    "nothing found"): it becomes that status with its message.
    """
    if isinstance(facts, dict):
        if facts.get("unreachable"):
            return {"status": "unreachable", "message": str(facts.get("msg") or "unreachable"), "problems": []}
        if facts.get("failed"):
            outcome = {"status": "failed", "message": str(facts.get("msg") or "discovery failed"), "problems": [],
                       "reason": "host_failed"}
            if isinstance(facts.get("evidence"), dict) and facts["evidence"]:
                outcome["evidence"] = dict(facts["evidence"])  # what the failed module wrote (bounded, redacted)
            return outcome
        problems = facts.get("problems")
        outcome = {"status": "ok", "message": "", "problems": list(problems) if isinstance(problems, list) else []}
        if isinstance(facts.get("scan_paths"), list):
            outcome["scan_paths"] = list(facts["scan_paths"])  # each Dockerfile's root, for the report
        return outcome
    return {"status": "ok", "message": "", "problems": []}


def _pass_through(prior: dict[str, Any]) -> dict[str, Any]:
    """The task result for a host whose discovery did not succeed: its outcome, unevaluated."""
    status = str(prior.get("status") or "failed")
    return dict(prior, status=status, changed=False,
                msg=f"not evaluated: discovery status {status}: {prior.get('message') or ''}".rstrip(": "))


#: Options a host may set for itself in the estate mode (``host_settings``): what is applied per host.
HOST_SETTINGS = ("waivers", "data")


class _Settings(NamedTuple):
    """What may differ between hosts of one estate run: the policy data and the waivers."""

    data: dict[str, Any]
    waivers: list[dict[str, Any]]
    hadolint_pragmas: bool


class _Evaluation:
    """What every host of one task shares: date, bundle and engine (built once), default settings."""

    def __init__(self, args: dict[str, Any]) -> None:
        self.args = args
        self.engine_name = option(args, "engine")
        self.max_per_rule = option(args, "max_findings_per_rule")
        self.node_scope = option(args, "node_scope")
        if self.node_scope not in MODES:
            raise AnsibleActionFail(f"policy_check: node_scope must be one of {', '.join(MODES)}, "
                                    f"not {self.node_scope!r}")
        if not isinstance(self.max_per_rule, int) or self.max_per_rule < 0:
            raise AnsibleActionFail(f"policy_check: max_findings_per_rule must be 0 (no cap) or more, "
                                    f"not {self.max_per_rule!r}")
        try:
            self.date = parse_evaluation_date(args.get("evaluation_date") or _dt.date.today().isoformat())
        except ValueError as exc:
            raise AnsibleActionFail(f"policy_check: {exc}") from exc
        waivers = self._waivers(args.get("waivers"))
        user_paths = list(args.get("policy_path") or [])
        include_default = option(args, "include_default_policies")
        try:
            if user_paths and option(args, "validate_policies"):
                validate_paths(([DEFAULT_POLICY_DIR] if include_default else []) + user_paths,
                               args.get("opa_binary"))
            self.bundle = load_bundle(user_paths, include_default=include_default)
        except EngineError as exc:
            raise _fail(self.failure(exc).message, "policy_unusable") from exc
        try:
            self.engine = build_engine(args, self.bundle)
        except EngineError as exc:
            raise self.failure(exc) from exc
        self._config = dict((self.bundle.data.get("refarch") or {}).get("config") or {})
        self.default = self._settings(args.get("data") or {}, waivers)
        self._cache: dict[str, _Settings] = {}
        self.evaluated = False
        #: engine figures summed over the task's engine runs (the estate mode may make several)
        self.stats_total: dict[str, Any] = {}

    @staticmethod
    def _waivers(value: Any) -> list[dict[str, Any]]:
        try:
            return _load_waivers(value)
        except WaiverError as exc:
            raise _fail(f"policy_check: {exc}", "waivers_unusable") from exc

    def _settings(self, data: Any, waivers: list[dict[str, Any]]) -> _Settings:
        if not isinstance(data, dict):
            raise _fail(f"policy_check: data must be a dictionary, got {type(data).__name__}", "policy_unusable")
        config = dict(self._config)
        config.update(data)
        return _Settings(dict(data), waivers, bool(config.get("hadolint_pragmas", True)))

    def settings(self, overrides: dict[str, Any]) -> _Settings:
        """The settings of a host that sets some of :data:`HOST_SETTINGS` itself (cached per distinct value).

        Raises AnsibleActionFail naming the problem when a value is unusable (a bad waiver file).
        """
        if not overrides:
            return self.default
        key = json.dumps(overrides, sort_keys=True, default=str)
        if key not in self._cache:
            waivers = self._waivers(overrides["waivers"]) if "waivers" in overrides else self.default.waivers
            self._cache[key] = self._settings(overrides.get("data", self.default.data), waivers)
        return self._cache[key]

    def failure(self, exc: EngineError) -> AnsibleActionFail:
        return _fail(f"policy_check: {self.engine_name} engine failed ({exc.cause}): {exc.message}", "engine_failure")

    def evaluate_raw(self, documents: list[dict[str, Any]],
                     settings: _Settings | None = None) -> list[list[dict[str, Any]]]:
        """Raw findings per document; raises EngineError when the engine fails."""
        data = self._engine_data((settings or self.default).data)
        raw = self.engine.evaluate(documents, self.date.isoformat(), data)
        self.evaluated = self.evaluated or bool(documents)
        if documents:
            self._add_stats(dict(getattr(self.engine, "stats", {}) or {}))
        return raw

    def _engine_data(self, data: dict[str, Any]) -> dict[str, Any]:
        """The policy data overrides of a query: ``data`` with the task's node_scope (only when it differs from
        what the data or the bundle's defaults say, so the common query carries no override)."""
        if data.get("node_scope", self._config.get("node_scope")) == self.node_scope:
            return dict(data)
        return dict(data, node_scope=self.node_scope)

    def _add_stats(self, stats: dict[str, Any]) -> None:
        """Figures of every engine run of this task: counts and seconds add up, peaks are the largest."""
        totals = self.stats_total
        totals["runs"] = int(totals.get("runs", 0)) + 1
        for key, value in stats.items():
            summed = ("documents", "batches", "seconds", "pushed", "engine_failures")
            if key in summed and isinstance(value, (int, float)):
                totals[key] = round(totals.get(key, 0) + value, 4)
            elif key.endswith("_mib") and isinstance(value, (int, float)):
                totals[key] = max(totals.get(key, 0), value)
            else:
                totals[key] = value

    def evaluate(self, documents: list[dict[str, Any]],
                 settings: _Settings | None = None) -> list[list[dict[str, Any]]]:
        """Raw findings per document; raises AnsibleActionFail when the engine fails."""
        try:
            return self.evaluate_raw(documents, settings)
        except EngineError as exc:
            raise self.failure(exc) from exc

    @property
    def revision(self) -> str:
        return self.engine.policy_revision if self.evaluated else self.bundle.revision

    def judged_by(self) -> dict[str, Any]:
        """Engine, backend and its version, policy revision and collection version (every report names them)."""
        return judged_by(self.engine_name, self.stats_total or getattr(self.engine, "stats", {}), self.revision,
                         requested_backend=self.args.get("embedded_backend"), opa_url=self.args.get("opa_url"))

    def host_result(self, documents: list[dict[str, Any]], raw: list[list[dict[str, Any]]],
                    host: str | None, settings: _Settings | None = None, roots: Any = None) -> dict[str, Any]:
        """Findings, targets and summary of one host (no ``msg``, no status); ``roots``: its scan paths."""
        settings = settings or self.default
        findings, waiver_report = enrich(documents, raw, host, waivers=settings.waivers, evaluation_date=self.date,
                                         hadolint_pragmas=settings.hadolint_pragmas,
                                         max_per_rule=self.max_per_rule)
        return {
            "changed": False,
            "findings": findings,
            "targets": target_entries(documents, findings, host, roots, node_scope=self.node_scope),
            "summary": summarize(documents, findings, host, waiver_report, node_scope=self.node_scope),
            "engine": self.engine_name,
            "policy_revision": self.revision,
            "evaluation_date": self.date.isoformat(),
            "engine_stats": dict(getattr(self.engine, "stats", {}) or {}),
            "judged_by": self.judged_by(),
        }


def _message(result: dict[str, Any], fail_on: str) -> dict[str, Any]:
    """Set ``msg`` (and ``failed`` when ``fail_on`` is reached) on one host's result."""
    hits = over_threshold(result["findings"], fail_on)
    summary = result["summary"]
    if hits:
        rules = sorted({str(f.get("rule_id")) for f in hits})
        targets = len({str(f.get("target")) for f in hits})
        result["failed"] = True
        count = sum(weight(f) for f in hits)  # folded findings count
        result["msg"] = (f"{count} finding(s) at or above severity '{fail_on}' in {targets} target(s): "
                         f"{', '.join(rules)}")
    else:
        result["msg"] = (f"{summary['open']} open finding(s), {summary['waived']} waived, "
                         f"{summary['compliant_targets']}/{summary['targets']} target(s) compliant"
                         + (f", {summary['not_judged_targets']} not Node.js (not judged)"
                            if summary.get("not_judged_targets") else ""))
    return result


def _prior(args: dict[str, Any], facts: Any) -> dict[str, Any] | None:
    """The host's outcome so far: ``host_result``, or the discovery result's own status when asked."""
    if args.get("host_result") is not None:
        return args["host_result"]
    if args.get("discovery_status"):
        return discovery_outcome(facts)
    return None


def run_policy_check(args: dict[str, Any], host: str | None) -> dict[str, Any]:
    """Evaluate, apply waivers and summarize; return the task result (raises AnsibleActionFail on errors).

    Separated from the Ansible plumbing so that it is testable without a play.
    """
    prior = _prior(args, args.get("facts"))
    if prior is not None and str(prior.get("status") or "failed") != "ok":
        # Discovery did not succeed on this host: nothing to evaluate, and the outcome
        # stays what discovery recorded (a role registers it under one name either way).
        return _pass_through(prior)
    try:
        documents = collect_documents(args["facts"])
    except ValueError as exc:
        raise AnsibleActionFail(f"policy_check: invalid facts: {exc}") from exc
    evaluation = _Evaluation(args)
    roots = args["facts"].get("scan_paths") if isinstance(args["facts"], dict) else None
    result = evaluation.host_result(documents, evaluation.evaluate(documents), host, roots=roots)
    if prior is not None:
        result.update(status="ok", message="", problems=list(prior.get("problems") or []))
    return _message(result, option(args, "fail_on"))


def run_estate_check(args: dict[str, Any], host_facts: dict[str, Any],
                     host_settings: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Evaluate many hosts' discovery results with one engine run; return per-host results.

    ``host_facts`` maps a host name to its discovery result (``refarch_discovery``). Each
    host's entry in ``host_results`` is what :func:`run_policy_check` returns for it with
    ``discovery_status`` and that host's own ``waivers`` / ``data`` from ``host_settings``
    (``{host: {option: value}}``, or an AnsibleActionFail when they could not be read; a
    host not in it uses the task's). Hosts with the same
    data go to the engine together (one run when no host sets its own); if that fails, each
    of them is evaluated on its own, so that one host's documents fail that host only.
    """
    fail_on = option(args, "fail_on")
    host_settings = host_settings or {}
    host_results: dict[str, dict[str, Any]] = {}
    pending: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    for host in sorted(host_facts):
        prior = discovery_outcome(host_facts[host])
        if prior["status"] != "ok":
            host_results[host] = _pass_through(prior)
            continue
        try:
            pending[host] = (prior, collect_documents(host_facts[host]))
        except ValueError as exc:
            host_results[host] = _evaluation_failed(f"policy_check: invalid facts: {exc}", prior)
    try:
        evaluation = _Evaluation(args)
    except AnsibleActionFail as exc:
        # Nothing can be evaluated with these options (a bad date or waiver file, an unusable
        # bundle): every discovered host fails with the reason, as each would on its own.
        for host, (prior, _docs) in pending.items():
            host_results[host] = _evaluation_failed(exc.message, prior, _reason(exc))
        return _estate_result(dict(sorted(host_results.items())), None, args)
    # Hosts grouped by the data they are evaluated with: one engine run per group.
    groups: dict[str, list[tuple[str, _Settings]]] = {}
    for host, (prior, _docs) in pending.items():
        own = host_settings.get(host) or {}
        try:
            if isinstance(own, AnsibleActionFail):
                raise own
            settings = evaluation.settings(own)
        except AnsibleActionFail as exc:
            host_results[host] = _evaluation_failed(f"{exc.message} (the host's own settings)", prior, _reason(exc))
            continue
        groups.setdefault(json.dumps(settings.data, sort_keys=True, default=str), []).append((host, settings))
    shared_failure: str | None = None
    for members in groups.values():
        shared_failure = _evaluate_group(evaluation, members, pending, host_results, fail_on=fail_on,
                                         shared_failure=shared_failure)
    return _estate_result(dict(sorted(host_results.items())), evaluation, args)


def _evaluate_group(evaluation: _Evaluation, members: list[tuple[str, _Settings]],
                    pending: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]],
                    host_results: dict[str, dict[str, Any]], *, fail_on: str,
                    shared_failure: str | None) -> str | None:
    """Evaluate hosts that share their data in one engine run; fill ``host_results``.

    Returns the failure every later group shares (a dead OPA server, a timeout, a bad
    bundle), which is then not asked of the engine again.
    """
    raw_by_host: dict[str, list[list[dict[str, Any]]]] = {}
    if shared_failure is None:
        everything = [doc for host, _settings in members for doc in pending[host][1]]
        try:
            raw = evaluation.evaluate_raw(everything, members[0][1])
        except EngineError as exc:
            raw = None
            # The engine already evaluates a document that breaks it alone (an NRA000 for it); what
            # still fails here failed on every document, so each host is tried on its own below.
            if not exc.document:
                # Not about any one host's documents: every host fails with it.
                shared_failure = evaluation.failure(exc).message  # an engine_failure on every host
        if raw is not None:
            offset = 0
            for host, _settings in members:
                count = len(pending[host][1])
                raw_by_host[host] = raw[offset:offset + count]
                offset += count
    for host, settings in members:
        prior, docs = pending[host]
        if shared_failure is not None:
            host_results[host] = _evaluation_failed(shared_failure, prior, "engine_failure")
            continue
        if host not in raw_by_host:
            try:
                raw_by_host[host] = evaluation.evaluate(docs, settings)
            except AnsibleActionFail as exc:
                host_results[host] = _evaluation_failed(exc.message, prior, _reason(exc, "engine_failure"))
                continue
        result = evaluation.host_result(docs, raw_by_host[host], host, settings, roots=prior.get("scan_paths"))
        result.update(status="ok", message="", problems=list(prior.get("problems") or []))
        host_results[host] = _message(result, fail_on)
    return shared_failure


def _estate_result(host_results: dict[str, dict[str, Any]], evaluation: _Evaluation | None,
                   args: dict[str, Any]) -> dict[str, Any]:
    """The estate task result: per-host results, a summary and the engine's figures."""
    fail_on = option(args, "fail_on")
    statuses = [str(r.get("status")) for r in host_results.values()]
    over = sorted(h for h, r in host_results.items() if r.get("status") == "ok" and r.get("failed"))
    summary = {
        "hosts": len(host_results),
        "evaluated": statuses.count("ok"),
        "unreachable": statuses.count("unreachable"),
        "failed": statuses.count("failed"),
        "targets": sum(len(r.get("targets") or []) for r in host_results.values()),
        "open": sum(int((r.get("summary") or {}).get("open") or 0) for r in host_results.values()),
        "waived": sum(int((r.get("summary") or {}).get("waived") or 0) for r in host_results.values()),
    }
    result: dict[str, Any] = {
        "changed": False,
        "host_results": host_results,
        "summary": summary,
        "engine": option(args, "engine"),
        "policy_revision": evaluation.revision if evaluation else None,
        "evaluation_date": evaluation.date.isoformat() if evaluation else None,
        "engine_stats": dict(evaluation.stats_total) if evaluation else {},
        "judged_by": evaluation.judged_by() if evaluation else None,
        "msg": (f"{summary['evaluated']}/{summary['hosts']} host(s) evaluated: {summary['targets']} target(s), "
                f"{summary['open']} open finding(s), {summary['waived']} waived"),
    }
    if result["judged_by"] and result["judged_by"]["warnings"]:
        result["warnings"] = list(result["judged_by"]["warnings"])  # the slow fallback, said on the console
    if over:
        result["failed"] = True
        result["msg"] = (f"findings at or above severity '{fail_on}' on {len(over)} host(s): {', '.join(over)}; "
                         + result["msg"])
    return result


def _evaluation_failed(message: str, prior: dict[str, Any], reason: str = "evaluation_failed") -> dict[str, Any]:
    """A host whose evaluation failed: never read as compliant (the evaluate role's rescue, in one place).

    ``reason`` says why in the incomplete-run vocabulary (``_completeness.REASONS``).
    """
    return {"changed": False, "status": "failed", "message": f"evaluation failed: {message}", "reason": reason,
            "targets": [], "findings": [], "problems": list(prior.get("problems") or [])}


def from_hostvars(args: dict[str, Any], task_vars: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``facts_var`` of each host in ``hosts`` and the ``host_settings`` variables each host sets.

    Hosts without ``facts_var`` (not in this run) are left out. A setting that cannot be
    read for a host (an undefined variable in its template) fails that host alone.
    """
    facts: dict[str, Any] = {}
    settings: dict[str, Any] = {}
    for host, value, host_vars in hosts_with(task_vars, args["hosts"], args["facts_var"]):
        facts[host] = value
        own: dict[str, Any] = {}
        for option, name in (args.get("host_settings") or {}).items():
            try:
                if name in host_vars:
                    own[option] = host_vars[name]
            except Exception as exc:  # a templating error in that host's variable  # pylint: disable=broad-except
                own = AnsibleActionFail(f"policy_check: cannot read {name}: {exc}")
                break
        if own:
            settings[host] = own
    return facts, settings


def run_task(args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
    """The result of one policy_check task with validated ``args`` (raises AnsibleActionFail on errors).

    With ``hosts`` (the estate mode) every listed host's ``facts_var`` is read from hostvars and
    evaluated; otherwise ``facts`` is evaluated for ``host`` (default: the task's host).
    """
    if args.get("host_settings") and args.get("hosts") is None:
        raise AnsibleActionFail("policy_check: host_settings is only used with hosts (the estate mode)")
    if args.get("hosts") is not None:
        unknown = sorted(set(args["host_settings"]) - set(HOST_SETTINGS))
        if unknown:
            raise AnsibleActionFail(f"policy_check: host_settings accepts {', '.join(HOST_SETTINGS)}, "
                                    f"not {', '.join(unknown)}")
        facts, settings = from_hostvars(args, task_vars)
        return run_estate_check(args, facts, settings)
    return run_policy_check(args, args.get("host") or task_vars.get("inventory_hostname"))
