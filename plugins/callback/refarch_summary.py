# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
name: refarch_summary
type: aggregate
short_description: Per-host progress and a short compliance summary for refarch.containers scans
version_added: 0.1.0
description:
  - An aggregate callback (it runs beside the stdout callback, it does not replace it), so it works with
    the default, yaml or AWX output alike.
  - >-
    While a scan runs it prints one progress line per host when the host's discovery finishes
    (C([3/16] web3 ok: 12 Dockerfiles)) and one when its evaluation finishes
    (C([3/16] web3 evaluated: 12 targets, 30 open findings) and the counts by severity). Unreachable hosts,
    failed discoveries and failed evaluations get a line too. The total is the number of hosts the play
    targets (after C(--limit)).
  - At the end of the playbook it prints a short human summary read from the result of
    M(refarch.containers.report) or M(refarch.containers.report_merge), or else from the C(refarch_summary)
    statistics published with C(ansible.builtin.set_stats) - hosts by status, targets and compliance,
    open findings by severity, the rules that fail most and the hosts with the most open findings - and what
    judged them (engine, backend and its version, policy revision, collection version), with a warning when the
    embedded engine ran on regopy, the slow fallback.
  - Prints nothing for playbooks that do not use refarch.containers.
  - The summary also lists the roots each host scanned (hosts with the same roots grouped) and the roots that did
    not exist or could not be opened, with the hosts concerned.
  - Every value that comes from scanned data (host names, messages, paths) is printed on one line with its
    control characters escaped in a visible form (C(\\x1b[2J), C(\\u2028)), so it cannot act on the terminal.
requirements:
  - Enable it with C(callbacks_enabled = refarch.containers.refarch_summary) in the C([defaults]) section of
    C(ansible.cfg), or C(ANSIBLE_CALLBACKS_ENABLED=refarch.containers.refarch_summary).
options:
  progress:
    description: Print a progress line per host as its discovery and its evaluation finish.
    type: bool
    default: true
    env:
      - name: REFARCH_SUMMARY_PROGRESS
    ini:
      - section: refarch_summary
        key: progress
  summary:
    description: Print the summary at the end of the playbook.
    type: bool
    default: true
    env:
      - name: REFARCH_SUMMARY_FINAL
    ini:
      - section: refarch_summary
        key: summary
  top:
    description: How many rules and hosts the summary lists.
    type: int
    default: 5
    env:
      - name: REFARCH_SUMMARY_TOP
    ini:
      - section: refarch_summary
        key: top
"""

EXAMPLES = r"""
# ansible.cfg
# [defaults]
# callbacks_enabled = refarch.containers.refarch_summary
#
# [refarch_summary]
# top = 10

# One run, on the command line:
#   ANSIBLE_CALLBACKS_ENABLED=refarch.containers.refarch_summary \
#     ansible-playbook refarch.containers.scan -i inventory.yml
#
# Output:
#   [1/3] web1 ok: 4 Dockerfiles
#   [2/3] web2 ok: 12 Dockerfiles
#   [3/3] db1 unreachable: Failed to connect to the host via ssh
#   [1/3] web1 evaluated: 4 targets, 0 open findings
#   [2/3] web2 evaluated: 12 targets, 30 open findings (high 4, medium 26)
#   [3/3] db1 not evaluated: unreachable
#   refarch summary: 3 hosts (2 ok, 1 unreachable, 0 failed); 16 targets, 5 compliant (31.2%)
#     judged by: embedded engine (regorus 0.5.0), policy revision 3f2c1e0, refarch.containers 0.1.0
#     open findings: 30 (critical 0, high 4, medium 26, low 0, info 0); waived 0
#     top rules: NRA001 10, NRA014 8, NRA010 6, NRA011 4, NRA002 2
#     worst hosts: web2 30 (high 4, medium 26)
#     not scanned: db1 (unreachable)
"""

from collections.abc import Mapping  # noqa: E402 - imports follow the documentation blocks (Ansible layout)
from typing import Any  # noqa: E402

from ansible.plugins.callback import CallbackBase  # noqa: E402
from ansible_collections.refarch.containers.plugins.module_utils._printable import printable  # noqa: E402
from ansible_collections.refarch.containers.plugins.plugin_utils._text import (  # noqa: E402
    format_summary,
    open_counts,
    severity_detail,
    shortened,
)

DISCOVERY_ACTIONS = frozenset({"dockerfile_info", "discovery"})
EVALUATION_ACTIONS = frozenset({"policy_check"})
REPORT_ACTIONS = frozenset({"report", "report_merge"})


def clean(value: Any, limit: int = 120) -> str:
    """Return ``value`` as one printable line: control characters escaped (``\\x1b``), at most ``limit`` chars."""
    return printable(value, limit=limit)


def _short_action(task: Any) -> str:
    action = getattr(task, "resolved_action", None) or getattr(task, "action", None) or ""
    return str(action).rsplit(".", 1)[-1]


def _is_refarch(task: Any) -> bool:
    action = str(getattr(task, "resolved_action", None) or getattr(task, "action", None) or "")
    return action.startswith("refarch.containers.") or "." not in action


def _discovery_counts(data: Mapping[str, Any]) -> tuple[int, int]:
    """Dockerfiles found and how many could not be read, from a dockerfile_info result.

    The module's ``summary`` counts are used when present (the documents may travel as one JSON
    string, ``dockerfiles_json``, which is not worth decoding for a progress line).
    """
    summary = data.get("summary")
    if isinstance(summary, Mapping) and isinstance(summary.get("dockerfiles"), int):
        errors = summary.get("errors")
        return summary["dockerfiles"], errors if isinstance(errors, int) else 0
    dockerfiles = data.get("dockerfiles")
    if not isinstance(dockerfiles, list):
        return 0, 0
    return len(dockerfiles), sum(1 for d in dockerfiles if isinstance(d, Mapping) and d.get("error"))


def _detail(counts: Mapping[str, int]) -> str:
    detail = severity_detail(counts)
    return f" ({detail})" if detail else ""


def _roots(data: Mapping[str, Any]) -> dict[str, Any]:
    """The roots a discovery result walked and those it could not (``root_not_found`` or another problem on the
    root itself, by its code)."""
    roots = [str(r) for r in data.get("scan_paths") or [] if isinstance(r, str)]
    missing: dict[str, str] = {}
    for problem in data.get("problems") or []:
        if isinstance(problem, Mapping) and problem.get("path") in roots:
            missing[str(problem["path"])] = str(problem.get("code") or "error")
    return {"roots": [r for r in roots if r not in missing], "missing_roots": missing}


class CallbackModule(CallbackBase):
    """Aggregate callback: per-host progress lines and a final summary for refarch.containers scans."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "refarch.containers.refarch_summary"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._total: int | None = None
        self._discovered: list[str] = []
        self._evaluated: list[str] = []
        self._hosts: dict[str, dict[str, Any]] = {}
        self._report: dict[str, Any] | None = None
        self._seen_refarch = False

    # ------------------------------------------------------------------ helpers
    def _progress(self) -> bool:
        try:
            return bool(self.get_option("progress"))
        except KeyError:
            return True

    def _option(self, name: str, default: Any) -> Any:
        try:
            value = self.get_option(name)
        except KeyError:
            return default
        return default if value is None else value

    def _emit(self, line: str) -> None:
        self._display.display(line)

    def _counter(self, seen: list[str], host: str) -> str:
        if host not in seen:
            seen.append(host)
        total = self._total if self._total and self._total >= len(seen) else "?"
        return f"[{seen.index(host) + 1}/{total}]"

    def _host(self, name: str) -> dict[str, Any]:
        return self._hosts.setdefault(name, {"status": "ok", "message": "", "open": {}})

    # ------------------------------------------------------------------ play
    def v2_playbook_on_play_start(self, play: Any) -> None:
        """Count the hosts the play targets, for the ``[n/N]`` counters."""
        try:
            inventory = play._variable_manager._inventory  # no public accessor from a callback
            hosts = inventory.get_hosts(play.hosts)
        except Exception:  # a missing count only changes N to "?"
            return
        self._total = len(hosts)
        self._discovered = []
        self._evaluated = []

    # ------------------------------------------------------------------ results
    def v2_runner_on_ok(self, result: Any) -> None:
        """Progress for discovery/evaluation results; remember the report result."""
        task = result.task
        if not _is_refarch(task):
            return
        action = _short_action(task)
        host = clean(result.host.get_name(), 80)
        data = result.result
        if action in DISCOVERY_ACTIONS:
            self._seen_refarch = True
            self._host(host)["status"] = "ok"
            count, unreadable = _discovery_counts(data)
            problems = data.get("problems")
            if "scan_paths" in data:   # the discovery action says which roots it walked
                self._host(host).update(_roots(data))
            extra = f", {unreadable} unreadable" if unreadable else ""
            extra += f", {len(problems)} problem(s)" if isinstance(problems, list) and problems else ""
            if self._progress():
                self._emit(f"{self._counter(self._discovered, host)} {host} ok: {count} Dockerfile"
                           f"{'' if count == 1 else 's'}{extra}")
        elif action in EVALUATION_ACTIONS and isinstance(data.get("host_results"), Mapping):
            # the estate entry point: every host's evaluation in one result
            self._seen_refarch = True
            results = data["host_results"]
            self._total = len(results)
            self._evaluated = []
            for name in sorted(results):
                if isinstance(results[name], Mapping):
                    self._evaluation_line(clean(str(name), 80), results[name])
        elif action in EVALUATION_ACTIONS:
            self._seen_refarch = True
            self._evaluation_line(host, data)
        elif action in REPORT_ACTIONS and isinstance(data.get("summary"), Mapping):
            self._seen_refarch = True
            written = "would_write" not in data and not getattr(task, "check_mode", False)
            self._report = {"summary": data["summary"], "files": data.get("files") if written else None,
                            "judged_by": data.get("judged_by")}

    def _evaluation_line(self, host: str, data: Mapping[str, Any]) -> None:
        """One host's evaluation: its open findings, or why it was not evaluated."""
        status = str(data.get("status", "ok"))
        if status != "ok":
            # policy_check handed a failed discovery back unevaluated, or the evaluation failed
            if status == "failed" and str(data.get("message") or "").startswith("evaluation failed"):
                message = shortened(data.get("message"), 300)
                self._host(host).update(status="failed", message=message)
                if self._progress():
                    self._emit(f"{self._counter(self._evaluated, host)} {host} {message}")
            elif self._progress():
                self._emit(f"{self._counter(self._evaluated, host)} {host} not evaluated: {clean(status, 40)}")
            return
        findings = data.get("findings")
        # the report's tally: folded findings count, severities spelled as the report reads them
        counts = open_counts(findings if isinstance(findings, list) else [])
        self._host(host)["open"] = counts
        targets = data.get("targets")
        ntargets = len(targets) if isinstance(targets, list) else 0
        total = sum(counts.values())
        if self._progress():
            self._emit(f"{self._counter(self._evaluated, host)} {host} evaluated: {ntargets} target"
                       f"{'' if ntargets == 1 else 's'}, {total} open finding{'' if total == 1 else 's'}"
                       f"{_detail(counts)}")

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        """A failed discovery or evaluation is a progress line too."""
        task = result.task
        if not _is_refarch(task):
            return
        action = _short_action(task)
        host = clean(result.host.get_name(), 80)
        # not cut mid-word: when shortened, it says the full text is in the report
        message = shortened(result.result.get("msg") or "failed", 300)
        if action in DISCOVERY_ACTIONS:
            self._seen_refarch = True
            self._host(host).update(status="failed", message=message)
            if self._progress():
                self._emit(f"{self._counter(self._discovered, host)} {host} failed: {message}")
        elif action in EVALUATION_ACTIONS:
            self._seen_refarch = True
            self._host(host).update(status="failed", message=message)
            if self._progress():
                self._emit(f"{self._counter(self._evaluated, host)} {host} evaluation failed: {message}")

    def v2_runner_on_unreachable(self, result: Any) -> None:
        """An unreachable host during discovery."""
        task = result.task
        if not _is_refarch(task) or _short_action(task) not in DISCOVERY_ACTIONS:
            return
        self._seen_refarch = True
        host = clean(result.host.get_name(), 80)
        message = shortened(result.result.get("msg") or "unreachable", 300)
        self._host(host).update(status="unreachable", message=message)
        if self._progress():
            self._emit(f"{self._counter(self._discovered, host)} {host} unreachable: {message}")

    def v2_runner_on_skipped(self, result: Any) -> None:
        """Hosts whose evaluation is skipped (unreachable, failed discovery) still advance the counter."""
        task = result.task
        if not _is_refarch(task) or _short_action(task) not in EVALUATION_ACTIONS:
            return
        host = clean(result.host.get_name(), 80)
        status = self._hosts.get(host, {}).get("status", "skipped")
        if self._progress():
            self._emit(f"{self._counter(self._evaluated, host)} {host} not evaluated: {status}")

    # ------------------------------------------------------------------ end
    def v2_playbook_on_stats(self, stats: Any) -> None:
        """Print the summary from the report result, or else from the ``refarch_summary`` set_stats data."""
        if not self._option("summary", True):
            return
        summary: Mapping[str, Any] | None = None
        files = judged = None
        if self._report:
            summary, files = self._report["summary"], self._report.get("files")
            judged = self._report.get("judged_by")
        else:
            custom = getattr(stats, "custom", None) or {}
            candidate = (custom.get("_run") or {}).get("refarch_summary")
            if isinstance(candidate, Mapping):
                summary = candidate
        if summary is None and not self._seen_refarch:
            return
        top = int(self._option("top", 5))
        for line in format_summary(summary or {}, self._hosts, top=top, files=files, judged=judged):
            self._emit(line)
