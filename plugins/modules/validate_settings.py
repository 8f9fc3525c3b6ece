#!/usr/bin/python
# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation for the refarch.containers.validate_settings action (it runs on the controller only)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: validate_settings
short_description: Check every refarch_* setting of a run on the controller before any host is touched
version_added: 0.1.0
description:
  - Runs first in the collection's C(scan) and C(remediate) playbooks, in a play on C(localhost), and fails that play
    (which stops the playbook before any managed host is contacted) when a setting is unusable, with one message per
    variable naming it.
  - Reads the C(refarch_*) variables the controller sees (extra variables, and the host and group variables of each
    host in O(hosts)) and checks each against the type, elements and choices of the roles' C(meta/argument_specs.yml)
    (read, not copied), then what a spec cannot say, on the controller. A waiver file exists, is a regular file and
    parses; C(refarch_remediation_outcomes_dir) exists and is writable; C(refarch_policy_paths),
    C(refarch_opa_ca_file) and C(refarch_report_previous) exist; C(refarch_opa_url) is C(http) or C(https);
    C(refarch_scan_paths) is a list of absolute paths; C(refarch_image_map) and C(refarch_port_map) are mappings of
    the right shape; C(refarch_fixes) names known rule or fix ids (any case; the remediate role and
    M(refarch.containers.dockerfile_remediate) read them the same way); C(refarch_evaluation_date) is an ISO date;
    counts are not negative; C(refarch_allow_incomplete) is a boolean or a list of known reasons.
  - Strings are not turned into lists (V(/srv) for C(refarch_scan_paths) is an error, not a one-element list) and
    lists are not turned into strings.
  - A C(refarch_*) variable that no role of the playbook reads is a warning naming it and the closest known name
    ("refarch_scan_path - unknown variable; did you mean refarch_scan_paths?", with a colon after the name).
  - A secret (C(refarch_opa_token)) is never shown in a message.
author:
  - refarch.containers developers (@refarch)
options:
  playbook:
    description: Which playbook's settings to check (the roles it runs).
    type: str
    choices: [scan, remediate]
    required: true
  hosts:
    description:
      - Inventory hosts whose host and group variables are checked too (the hosts the playbook will run on).
      - Empty checks only what the controller's play sees (extra variables, the variables of C(localhost)).
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - refarch.containers.attributes.controller_action
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  check_mode:
    details: Nothing is changed; the checks run the same in check mode.
seealso:
  - module: refarch.containers.dockerfile_remediate
"""

EXAMPLES = r"""
- name: Check the settings before any host is touched
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Validate the refarch_* settings
      refarch.containers.validate_settings:
        playbook: scan
        hosts: "{{ query('inventory_hostnames', refarch_hosts | default('all')) }}"
"""

RETURN = r"""
checked:
  description: The C(refarch_*) variables checked, sorted.
  returned: always
  type: list
  elements: str
  sample: [refarch_fail_on, refarch_scan_paths]
errors:
  description: One message per unusable value, naming the variable (and the hosts that set it, when not all do).
  returned: when a value is unusable
  type: list
  elements: str
  sample: ["refarch_scan_paths must be a list, not a string ('/srv')"]
unknown:
  description: The C(refarch_*) variables no role of the playbook reads (each is also a warning).
  returned: always
  type: list
  elements: str
  sample: [refarch_scan_path]
"""
