#!/usr/bin/python
# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation for the refarch.containers.report_merge action (it runs on the controller only)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: report_merge
short_description: Merge estate reports from AWX job slices or several runs into one
version_added: 0.1.0
description:
  - Reads several C(report.json) files (for example one per AWX job slice, or one per controller
    in a large estate), merges them into one estate report and renders JUnit XML, SARIF 2.1.0 and
    HTML from it, like M(refarch.containers.report).
  - Hosts are unioned. A host present in more than one report keeps the entry from the report with
    the newest C(generated_at) (on a tie, the one listed later); each such choice is listed under
    C(merge.conflicts) in the merged report.
  - The summary is recomputed from the merged hosts.
  - When the reports were produced by different engines or policy revisions, the merged report
    says so (C(merge.mismatches), C(engine) / C(policy_revision) set to C(mixed)) and the task
    warns; with O(strict=true) the task fails instead.
  - Runs on the controller only; files are written atomically, C(report.json) last.
author:
  - refarch.containers developers (@refarch)
options:
  src:
    description:
      - The reports to merge. Each item is a C(report.json) path, a directory holding one, or a
        glob pattern (matches are taken in sorted order).
    type: list
    elements: path
    required: true
  strict:
    description: Fail when the reports come from different engines or policy revisions.
    type: bool
    default: false
extends_documentation_fragment:
  - refarch.containers.attributes.controller_action
  - refarch.containers.report_output
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  check_mode:
    details: Merges and renders, returns what it would write (RV(would_write)); writes nothing.
seealso:
  - module: refarch.containers.report
"""

EXAMPLES = r"""
- name: Merge the reports the slices of an AWX sliced job left on shared storage
  refarch.containers.report_merge:
    src:
      - /var/lib/refarch/slices/*/report.json
    dest: /var/lib/refarch/estate
    strict: true
    diff_with_existing: true
  register: refarch_merged

- name: Publish the merged summary to the workflow
  ansible.builtin.set_stats:
    data:
      refarch_summary: "{{ refarch_merged.summary }}"
"""

RETURN = r"""
changed:
  description: Whether any file was (or in check mode would be) written with new content.
  returned: always
  type: bool
sources:
  description: The report files that were merged, in merge order.
  returned: always
  type: list
  elements: str
dest:
  description: The directory the files are written into.
  returned: always
  type: str
files:
  description: Path of each written file, by format.
  returned: always
  type: dict
would_write:
  description: In check mode, each file that would be written, with size, SHA-256 and whether it would change.
  returned: in check mode
  type: list
  elements: dict
summary:
  description: The merged report's recomputed summary (see M(refarch.containers.report)).
  returned: always
  type: dict
judged_by:
  description:
    - What judged the merged findings (see M(refarch.containers.report)); each field is the sources' common value,
      or C(mixed) when they differ. Null when no source report names it. Its C(warnings) are task warnings too.
  returned: always
  type: dict
merge:
  description: How the merge went.
  returned: always
  type: dict
  contains:
    conflicts:
      description: Hosts found in several reports, with the report kept and the one dropped.
      type: list
      elements: dict
    mismatches:
      description: Engine or policy revision differences between the reports.
      type: list
      elements: str
    consistent:
      description: True when all reports used the same engine and policy revision.
      type: bool
text:
  description: A short plain-text summary of the merged report.
  returned: always
  type: str
diff_counts:
  description: Counts of new, fixed, still open and not rechecked findings against the previous report.
  returned: when a previous report was given or found
  type: dict
content:
  description: The rendered files' text, by format.
  returned: when O(return_content=true)
  type: dict
"""
