#!/usr/bin/python
# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation for the refarch.containers.report action (it runs on the controller only)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: report
short_description: Write the estate compliance report (JSON, JUnit, SARIF, HTML) on the controller
version_added: 0.1.0
description:
  - Builds C(report.json) from per-host scan results (status, targets and the findings
    R(refarch.containers.policy_check,ansible_collections.refarch.containers.policy_check_module) returned)
    and renders JUnit XML, SARIF 2.1.0 and a self-contained HTML dashboard from it.
  - Runs entirely on the controller (an action plugin); nothing is sent to the managed host.
    Call it once per play for the whole estate, for example with C(delegate_to) set to V(localhost)
    from a play on C(localhost) that reads C(hostvars), never with C(run_once) inside the scan
    play (AWX job slicing would give each slice a partial report; merge slices with
    M(refarch.containers.report_merge) instead).
  - Every file is written atomically (temporary file in O(dest), then rename); C(report.json) is
    written last. A file whose content would not change is not rewritten.
  - Everything that comes from scanned data is treated as hostile. The HTML page has no
    JavaScript and a Content-Security-Policy that forbids scripts and network access; all
    values are HTML-escaped with ANSI escape sequences and control characters removed. JUnit
    XML stays well-formed (characters XML 1.0 forbids are removed).
  - The returned RV(summary) is small and suitable for M(ansible.builtin.set_stats).
author:
  - refarch.containers developers (@refarch)
options:
  host_results:
    description:
      - Per-host results, keyed by inventory hostname.
      - Each value is a dictionary with C(status) (V(ok), V(unreachable) or V(failed); an unknown
        status is reported as V(failed)), C(message) (why a host failed), C(targets) (facts documents
        or C({kind, path|image, sha256, problems, error}) descriptors) and C(findings) (the findings
        of that host, each with a C(target) naming its file or image).
      - A target named only by a finding is added to the report.
      - At least one of O(host_results), O(hosts) and O(results_from) is required; entries here win over the others.
    type: dict
  hosts:
    description:
      - Inventory hostnames whose O(result_var) variable (from C(hostvars)) is read as their result, the way
        the P(refarch.containers.report#role) role collects a scan. Hosts without the variable are left out.
    type: list
    elements: str
  result_var:
    description: Host variable read for each of O(hosts).
    type: str
    default: refarch_result
  remediation_var:
    description:
      - Host variable holding what the remediate role did on each of O(hosts) (one outcome per Dockerfile);
        when a host has it, its outcomes are reported under the host's C(remediation) and counted in the
        summary's C(remediation). Empty to leave remediation out.
    type: str
    default: remediate_outcomes
  results_from:
    description:
      - Name of a variable of the controller host (the host the task runs for) that holds a whole-estate
        evaluation, the registered result of M(refarch.containers.policy_check) with its
        O(refarch.containers.policy_check#module:hosts) option; its C(host_results) are reported. The scan
        playbook uses this (C(refarch_estate_evaluation)).
      - It is read as it is, without templating, so a large estate costs nothing extra here.
    type: str
  engine:
    description:
      - Name of the policy engine that produced the findings, recorded in the report.
      - The engine the evaluation recorded (its C(judged_by)) takes precedence when there is one.
    type: str
    default: embedded
  allow_incomplete:
    description:
      - Which reasons an incomplete run is accepted for. V(true) for every reason, V(false) for none, or a
        list of reasons (V(host_unreachable), V(host_failed), V(directory_unreadable), V(descriptor_unusable),
        V(target_unreadable),
        V(engine_failure), V(waivers_unusable), V(policy_unusable), V(evaluation_failed),
        V(remediation_failed), V(remediation_refused), V(remediation_rolled_back)).
      - The task itself never fails for an incomplete run (the report is written either way); it returns
        RV(incomplete_message) naming each reason not accepted, which the playbooks' gate fails with.
    type: raw
    default: false
  fail_on:
    description:
      - The findings gate. When an open finding has this severity or higher, RV(findings_gate_message) says how many
        and where the report is; V(none) never does. The task itself does not fail for it (the report is written
        either way); the last task of the playbooks fails with it, together with RV(incomplete_message).
      - Severities are ordered V(info) < V(low) < V(medium) < V(high) < V(critical), the order the whole
        collection uses.
    type: str
    default: none
    choices: [none, info, low, medium, high, critical]
  judged_by:
    description:
      - What judged the findings (C(engine), C(backend), C(backend_version), C(policy_revision), C(opa_url),
        C(warnings)), recorded in the report's C(judged_by) block.
      - Defaults to the C(judged_by) that M(refarch.containers.policy_check) returned (the estate evaluation
        named by O(results_from), else the first host result that has one). The collection version is always
        that of the collection running this task.
    type: dict
  policy_revision:
    description:
      - Revision of the policy bundle that produced the findings, recorded in the report.
      - Defaults to the C(revision) recorded in the rule catalog, when it has one.
    type: str
  generated_at:
    description:
      - ISO 8601 timestamp for the report. Defaults to the current UTC time.
      - Set it to make the output reproducible (tests, comparing engines).
    type: str
  rules_catalog:
    description:
      - The rule catalog (rule id to title, description, severity, recommended_action, fix,
        aliases, related_resources), as a dictionary or a path to a JSON file.
      - Defaults to the collection's C(policies/refarch/catalog/data.json). Missing keys are tolerated.
    type: raw
extends_documentation_fragment:
  - refarch.containers.attributes.controller_action
  - refarch.containers.report_output
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  check_mode:
    details: Renders everything and returns what it would write (RV(would_write)); writes nothing.
seealso:
  - module: refarch.containers.report_merge
  - module: ansible.builtin.set_stats
notes:
  - The report format is described in C(docs/report-format.md) and checked by
    C(policies/schema/report.schema.json).
"""

EXAMPLES = r"""
- name: Write the estate report from the scan results every host left behind
  refarch.containers.report:
    host_results: "{{ dict(groups['all'] | zip(groups['all'] | map('extract', hostvars, 'refarch_result'))) }}"
    dest: "{{ refarch_report_dir }}"
    engine: embedded
    policy_revision: "{{ refarch_policy_revision | default(omit) }}"
    diff_with_existing: true
    sarif_root: /srv
  register: refarch_report

- name: Hand the summary to the next job of an AWX workflow
  ansible.builtin.set_stats:
    data:
      refarch_summary: "{{ refarch_report.summary }}"

- name: Show the short summary
  ansible.builtin.debug:
    msg: "{{ refarch_report.text }}"

- name: See what would be written (check mode)
  refarch.containers.report:
    host_results: "{{ results }}"
    dest: /var/lib/refarch/report
    generated_at: "2026-11-28T00:00:00Z"
  check_mode: true
"""

RETURN = r"""
changed:
  description: Whether any file was (or in check mode would be) written with new content.
  returned: always
  type: bool
dest:
  description: The directory the files are written into.
  returned: always
  type: str
  sample: /var/lib/refarch/report
files:
  description: Path of each written file, by format (V(diff) when a previous report was given).
  returned: always
  type: dict
  sample:
    json: /var/lib/refarch/report/report.json
    junit: /var/lib/refarch/report/report.junit.xml
    sarif: /var/lib/refarch/report/report.sarif
    html: /var/lib/refarch/report/report.html
would_write:
  description: In check mode, each file that would be written, with its size, SHA-256 and whether it would change.
  returned: in check mode
  type: list
  elements: dict
  sample: [{format: json, path: /var/lib/refarch/report/report.json, size: 18311, sha256: 3f1c..., changed: true}]
summary:
  description:
    - The report's summary block. Open findings exclude waived ones; advisory findings are
      counted but do not make a target non-compliant.
  returned: always
  type: dict
  sample:
    hosts: 8
    hosts_by_status: {ok: 6, unreachable: 1, failed: 1}
    targets: 7
    targets_by_kind: {dockerfile: 6, image: 1, container: 0}
    compliant_targets: 2
    noncompliant_targets: 4
    error_targets: 1
    not_node_targets: 0
    targets_by_node_scope: {node: 6, not_node: 0, unknown: 1}
    compliance_percent: 33.3
    findings: 8
    findings_by_severity: {critical: 1, high: 3, medium: 3, low: 0, info: 1}
    findings_by_rule: {NRA001: 3, NRA002: 3, NRA006: 1, NRA014: 1}
    advisory: 1
    waived: 3
    expired_waivers: 1
    problems: 2
    complete: false
    incomplete_by_reason: {host_unreachable: 1, host_failed: 1, target_unreadable: 1}
    incomplete_reasons: [{reason: host_unreachable, host: web3, target: null, detail: 'timed out'}]
complete:
  description:
    - Whether the run checked everything it was asked to (C(summary.complete)), that is every host reached,
      every target read and evaluated, waivers and policy data usable and every remediation done.
  returned: always
  type: bool
incomplete_message:
  description:
    - Empty when the run is complete or every reason it is not was accepted with O(allow_incomplete);
      else one message naming each reason, how often and where first, and the path of C(report.json).
  returned: always
  type: str
  sample: 'run incomplete: host_failed (web2); waivers_unusable (web1 and 3 more); details in /r/report.json'
findings_gate_message:
  description:
    - Empty unless O(fail_on) is reached; else how many open findings are at or above it and the path of
      C(report.html) (in check mode, that no report was written).
  returned: always
  type: str
  sample: "12 open finding(s) at or above 'high'; see /r/report.html"
text:
  description: A short plain-text summary (counts by severity, top rules, worst hosts, hosts not scanned).
  returned: always
  type: str
diff_counts:
  description: Counts of new, fixed, still open and not rechecked findings against the previous report.
  returned: when a previous report was given or found
  type: dict
  sample: {new: 2, fixed: 5, still_open: 40, not_rechecked: 3}
judged_by:
  description:
    - What judged the findings, as recorded in the report; its C(warnings) (the slow regopy fallback) are
      also the task's warnings.
  returned: always
  type: dict
  sample:
    tool: refarch.containers
    collection_version: 0.1.0
    engine: embedded
    backend: regorus
    backend_version: 0.5.0
    policy_revision: 3f2c1e0
    opa_url: null
    warnings: []
content:
  description: The rendered files' text, by format.
  returned: when O(return_content=true)
  type: dict
"""
