# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for ``refarch.containers.report``: build and write the estate report on the controller.

Nothing runs on the managed host.  The documentation is in ``plugins/modules/report.py``.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.refarch.containers.plugins.plugin_utils._completeness import accepted_reasons, gate_message
from ansible_collections.refarch.containers.plugins.plugin_utils._hostvars import hosts_with
from ansible_collections.refarch.containers.plugins.plugin_utils._provenance import collection_version
from ansible_collections.refarch.containers.plugins.plugin_utils._report import ReportError, build_report
from ansible_collections.refarch.containers.plugins.plugin_utils._report_writer import (
    RENDER_OPTIONS,
    load_catalog_option,
    load_previous,
    render_and_write,
)
from ansible_collections.refarch.containers.plugins.plugin_utils._vocabulary import SEVERITIES_ASCENDING, SEVERITY_RANK

ARGUMENT_SPEC: dict[str, Any] = dict(
    RENDER_OPTIONS,
    host_results={"type": "dict"},
    hosts={"type": "list", "elements": "str"},
    result_var={"type": "str", "default": "refarch_result"},
    results_from={"type": "str"},
    remediation_var={"type": "str", "default": "remediate_outcomes"},
    engine={"type": "str", "default": "embedded"},
    policy_revision={"type": "str"},
    generated_at={"type": "str"},
    rules_catalog={"type": "raw"},
    judged_by={"type": "dict"},
    allow_incomplete={"type": "raw", "default": False},
    fail_on={"type": "str", "default": "none", "choices": ["none", *SEVERITIES_ASCENDING]},
)


class ActionModule(ActionBase):
    """Build report.json from per-host results and render JUnit, SARIF and HTML beside it."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC,
                                                        required_one_of=[["host_results", "hosts", "results_from"]])
        host_results = self._from_hostvars(args, task_vars or {})
        judged = self._judged_by(args, task_vars or {}, host_results)
        try:
            catalog, revision, warnings = load_catalog_option(args.get("rules_catalog"))
            previous, more = load_previous(args)
            generated_at = args.get("generated_at") or _dt.datetime.now(_dt.UTC).replace(microsecond=0)
            report = build_report(
                host_results,
                engine=str(judged.get("engine") or args["engine"]),
                policy_revision=args.get("policy_revision") or judged.get("policy_revision") or revision,
                generated_at=generated_at,
                rules_catalog=catalog,
                previous=previous,
                judged_by=judged,
            )
            result.update(render_and_write(report, args, check_mode=bool(self._task.check_mode)))
        except ReportError as exc:
            raise AnsibleActionFail(f"refarch.containers.report: {exc}") from exc
        warnings += list(report["judged_by"]["warnings"])  # the slow fallback: on the console too
        if warnings + more:
            result.setdefault("warnings", []).extend(warnings + more)
        result["judged_by"] = report["judged_by"]
        # in check mode nothing was written: the gate messages must not point at files
        files = {"json": "report.json (not written: check mode)"} if self._task.check_mode \
            else (result.get("files") or {})
        result.update(self._outcome(report["summary"], args, files))
        result["findings_gate_message"] = self._findings_gate(report["summary"], args, files)
        return result

    @staticmethod
    def _findings_gate(summary: dict[str, Any], args: dict[str, Any], files: dict[str, Any]) -> str:
        """What the playbooks' gate fails with for open findings at or above ``fail_on`` ('' when none)."""
        fail_on = args.get("fail_on") or "none"
        if fail_on == "none":
            return ""
        by_severity = summary.get("findings_by_severity") or {}
        count = sum(int(n or 0) for sev, n in by_severity.items()
                    if sev in SEVERITY_RANK and SEVERITY_RANK[sev] >= SEVERITY_RANK[fail_on])
        if not count:
            return ""
        where = files.get("html") or files.get("json") or "report.json"
        return f"{count} open finding(s) at or above '{fail_on}'; see {where}"

    @staticmethod
    def _outcome(summary: dict[str, Any], args: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        """``complete`` and ``incomplete_message``: what the playbooks' gate fails with after the report is written.

        The message names each reason the user did not accept (``allow_incomplete``) and where the
        details are; an ``allow_incomplete`` that is not valid is itself the message (fail closed).
        """
        where = str(files.get("json") or "report.json")
        try:
            accepted = accepted_reasons(args.get("allow_incomplete"), "allow_incomplete")
        except ValueError as exc:
            return {"complete": bool(summary.get("complete")), "incomplete_message": str(exc)}
        reasons = [r for r in summary.get("incomplete_reasons") or [] if r.get("reason") not in accepted]
        unlisted = {k: v for k, v in (summary.get("incomplete_by_reason") or {}).items() if k not in accepted}
        message = gate_message(reasons, where) if reasons else ""
        if not message and unlisted:
            # only counted (the list in the summary is bounded): still never a pass
            counted = "; ".join(f"{k} ({v})" for k, v in unlisted.items())
            message = f"run incomplete: {counted}; details in {where}"
        return {"complete": bool(summary.get("complete")), "incomplete_message": message}

    @staticmethod
    def _judged_by(args: dict[str, Any], task_vars: dict[str, Any], host_results: dict[str, Any]) -> dict[str, Any]:
        """What judged: the ``judged_by`` option, else what the evaluation recorded (estate or a host's result).

        The collection version is the running collection's (its MANIFEST.json or galaxy.yml).
        """
        judged = args.get("judged_by")
        if not judged and args.get("results_from"):
            judged = (task_vars.get(args["results_from"]) or {}).get("judged_by")
        if not judged:
            judged = next((r["judged_by"] for r in host_results.values()
                           if isinstance(r, dict) and isinstance(r.get("judged_by"), dict)), None)
        judged = dict(judged or {})
        if not judged.get("collection_version"):
            judged["collection_version"] = collection_version()
        return judged

    @staticmethod
    def _from_hostvars(args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        """``host_results``, plus ``result_var`` of each host in ``hosts`` read from hostvars
        (with its ``remediation_var`` when it has one), or the estate evaluation ``results_from`` names."""
        collected: dict[str, Any] = {}
        if args.get("results_from"):
            # An estate evaluation registered on this (controller) host, read without templating it.
            name = args["results_from"]
            registered = task_vars.get(name)
            if not isinstance(registered, dict) or not isinstance(registered.get("host_results"), dict):
                raise AnsibleActionFail(f"refarch.containers.report: results_from names {name!r}, which does not "
                                        "hold an estate evaluation (policy_check with hosts: its host_results)")
            collected.update(registered["host_results"])
        if args.get("hosts"):
            remediation = args.get("remediation_var")
            for host, result, host_vars in hosts_with(task_vars, args["hosts"], args["result_var"]):
                if remediation and remediation in host_vars and isinstance(result, dict):
                    # what the remediate role did on this host, reported beside its findings
                    collected[host] = dict(result, remediation=host_vars[remediation])
                else:
                    collected[host] = result
        collected.update(args.get("host_results") or {})
        return collected
