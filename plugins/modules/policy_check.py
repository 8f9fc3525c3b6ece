#!/usr/bin/python
# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation for the refarch.containers.policy_check action plugin (the code runs on the controller)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: policy_check
short_description: Evaluate container facts against the Node.js reference-architecture policies
version_added: "0.1.0"
description:
  - Evaluates normalized facts documents (from M(refarch.containers.dockerfile_info) and
    M(refarch.containers.image_info)) against the collection's Rego policy bundle and returns findings.
  - Runs entirely on the controller as an action plugin; nothing is executed on the managed host.
  - The C(embedded) engine runs regopy in an isolated child process with a timeout and a memory
    bound, so an engine crash fails the task with a clear message instead of killing the Ansible worker.
  - The C(opa) engine queries a running OPA server through opa-python-client; policies are either
    already loaded on the server (C(opa_mode=preloaded)) or uploaded through the Policy and Data APIs
    (C(opa_mode=push)).
  - Any engine failure (crash, timeout, undefined decision, evaluation error, unreachable server,
    policy syntax error) fails the task; it is never reported as "no findings".
  - Waivers (file or list) and inline pragmas (C(# refarch:ignore NRA002 reason=...),
    C(# hadolint ignore=DL3002)) mark findings as waived; waived findings stay in the output.
author:
  - refarch.containers developers (@refarch)
options:
  facts:
    description:
      - Facts to evaluate. A single facts document, a list of them, a registered result of
        M(refarch.containers.dockerfile_info) / M(refarch.containers.image_info) (holding
        C(dockerfiles), C(images) and/or C(containers) lists), loop results (C(results)), or a list of those.
      - A registered result that failed or was unreachable is an error (never "nothing to check"), unless
        O(discovery_status) is set.
      - Exactly one of O(facts) and O(hosts) is required.
    type: raw
  discovery_status:
    description:
      - O(facts) is a discovery result (what the discover role registers as C(refarch_discovery), or a
        registered M(refarch.containers.discovery) / M(refarch.containers.dockerfile_info) result). When it
        was unreachable or failed, nothing is evaluated and the task returns RV(status) V(unreachable) or
        V(failed) with the result's message; otherwise the result carries RV(status=ok), an empty
        RV(message) and the discovery's RV(problems). The evaluate role sets this.
    type: bool
    default: false
  hosts:
    description:
      - Evaluate many hosts in one task (the estate mode, for a play on the controller). The O(facts_var) of
        each host named here is read from C(hostvars), all their documents are evaluated in one engine run,
        and RV(host_results) holds each host's result as O(discovery_status) would give it for that host.
        Hosts without O(facts_var) are left out.
      - If the documents of one host make the engine fail, the hosts are evaluated one by one, so that only
        that host gets RV(status=failed). A failure that is not about documents (a dead OPA server, a timeout,
        an unusable bundle or waiver file) gives every evaluated host RV(status=failed) with its message. The
        task itself fails only for invalid arguments and for O(fail_on).
    type: list
    elements: str
  facts_var:
    description: The host variable holding each host's discovery result, with O(hosts).
    type: str
    default: refarch_discovery
  host_settings:
    description:
      - With O(hosts), options each host may set for itself, as a mapping of option name to the host variable
        that holds the host's value. Allowed options are V(waivers) and V(data).
      - A host that defines the variable (in its inventory, C(host_vars) or C(group_vars)) is evaluated with its
        own value, as a one-host evaluation on that host would be; the others use the task's O(waivers) and
        O(data).
      - Hosts with the same O(data) share one engine run. A host whose own value is unusable (a waiver file that
        does not exist, O(data) that is not a dictionary, a variable that does not template) gets
        RV(status=failed) with the reason; the other hosts are evaluated.
      - The evaluate role's C(estate) entry point maps V(waivers) to C(refarch_waivers) and V(data) to
        C(refarch_policy_data).
    type: dict
    default: {}
  host:
    description: Host name recorded in each finding's target. Defaults to C(inventory_hostname).
    type: str
  engine:
    description: Evaluation engine.
    type: str
    choices: [embedded, opa]
    default: embedded
  opa_url:
    description: Base URL of the OPA server (C(http://host:port) or C(https://host:port/prefix)).
    type: str
    default: http://127.0.0.1:8181
  opa_token:
    description: Bearer token sent to the OPA server.
    type: str
  opa_ca_file:
    description: CA bundle used to verify the OPA server's certificate.
    type: path
  opa_validate_certs:
    description: Verify the OPA server's TLS certificate.
    type: bool
    default: true
  opa_client_cert:
    description: Client certificate (PEM) for mutual TLS with the OPA server.
    type: path
  opa_client_key:
    description: Private key of O(opa_client_cert) when it is a separate file.
    type: path
  opa_timeout:
    description: Timeout in seconds for each request to the OPA server.
    type: float
    default: 30.0
  opa_retries:
    description:
      - Retries (with exponential backoff) on connection errors, timeouts and HTTP 502/503/504.
        Evaluation errors are not retried. Between 0 and 10.
    type: int
    default: 3
  opa_mode:
    description:
      - V(preloaded) queries the policies the server already serves (for example C(opa run -s -b policies/)).
      - V(push) uploads the bundle's modules (ids C(refarch-push/...)) and data documents first; it
        uploads nothing when the server already holds the same texts.
    type: str
    choices: [preloaded, push]
    default: preloaded
  opa_check_revision:
    description:
      - Refuse to evaluate when the server's policy revision (bundle manifest revision and hash of the
        module texts) differs from the local bundle's.
    type: bool
    default: true
  policy_path:
    description:
      - Extra policy directories (or C(.rego) files) loaded together with the collection's bundle.
    type: list
    elements: path
    default: []
  include_default_policies:
    description: Load the collection's own bundle (C(policies/)) in addition to O(policy_path).
    type: bool
    default: true
  validate_policies:
    description:
      - When O(policy_path) is set, run C(opa check --strict) over all policy directories first so that
        a syntax error in a user policy is reported with its file and line. Skipped when no C(opa)
        binary is found (O(opa_binary), C($OPA), C(PATH)).
    type: bool
    default: true
  opa_binary:
    description: Path of the C(opa) binary used by O(validate_policies).
    type: path
  data:
    description:
      - Configuration overrides passed to the policies as C(input.config) (for example C(port_floor),
        C(disabled_rules), C(size_budget_mb), C(hadolint_pragmas)).
    type: dict
    default: {}
  waivers:
    description:
      - A waiver file (YAML or JSON) or a list of waiver entries. Each entry has C(rule) (id, list of ids
        or C(*)), optional C(id) and C(host) / C(path) / C(image) globs, and required C(reason),
        C(owner) and C(expires) (ISO date, inclusive). Expired waivers do not apply; findings they
        match carry C(waiver_expired).
    type: raw
  evaluation_date:
    description: Date (YYYY-MM-DD) used by date-dependent rules and waiver expiry. Defaults to today.
    type: str
  fail_on:
    description:
      - Fail the task when a finding that is not waived has this severity or higher. V(none) never fails
        on findings (engine errors always fail).
    type: str
    choices: [none, info, low, medium, high, critical]
    default: none
  batch_size:
    description:
      - Documents per OPA request; V(0) sends all documents in one request.
      - With the embedded engine's regorus backend, documents per query. Its regopy backend compiles the
        query once and always evaluates one document per query (regopy 1.5.2 can mix up results between
        documents of one query); there it only groups documents.
    type: int
    default: 0
  host_result:
    description:
      - The host's outcome so far (C(status), C(message), C(problems), ...); O(discovery_status) reads the
        same from a discovery result.
      - When its C(status) is not V(ok) (the host was unreachable or discovery failed), nothing is
        evaluated and the task returns it unchanged, so that a role can register the host's outcome
        under one name whatever happened. Otherwise the result also carries C(status=ok), C(message)
        and the C(problems) given here.
    type: dict
  embedded_backend:
    description:
      - Rego library of the embedded engine. V(regorus) is the C(refarch_regorus) extension over
        Microsoft's Rust engine (built from C(native/refarch_regorus) in the collection, about ten times
        faster); V(regopy) is rego-cpp; V(auto) takes regorus when it is importable, else regopy.
      - Either runs in a child process of the controller, never in the Ansible worker.
    type: str
    choices: [auto, regorus, regopy]
    default: auto
  engine_timeout:
    description: Wall-clock limit in seconds for the embedded engine's child process.
    type: float
    default: 600.0
  engine_memory_mb:
    description: Resident-memory limit of the embedded engine's child process (MiB, V(0) = none).
    type: int
    default: 4096
  engine_workers:
    description:
      - Embedded engine worker processes evaluating at the same time, each with its share of the documents in order
        (and each held to O(engine_memory_mb) and O(engine_timeout)).
      - V(0) means one per CPU the controller lets this process use, at most 4, as long as each worker gets at least
        24 documents (a worker costs a Python start and a bundle load, about 35 ms), so a whole-estate evaluation
        (O(hosts)) uses several cores.
    type: int
    default: 0
  strict_builtin_errors:
    description:
      - Fail the evaluation when a builtin raises an error (type error, division by zero) instead of
        treating the expression as undefined, which is OPA's default. Applies to both engines.
    type: bool
    default: false
  max_findings_per_rule:
    description:
      - At most this many findings of one rule are listed per target (and waiver state), in line order;
        the last one listed carries C(folded), the number of further findings of that rule on that target.
        Folded findings still count in every total and make the target non-compliant.
      - Applied on the controller right after evaluation, so that a file with thousands of repeated lines
        (99,990 C(EXPOSE 80)) costs the controller and the reports a bounded number of findings.
      - V(0) lists every finding.
    type: int
    default: 20
  node_scope:
    description:
      - Which targets are judged, by the node scope the facts give each one (C(node), C(not_node) or C(unknown),
        with its evidence).
      - V(node) judges C(node) and C(unknown) targets with every rule; C(not_node) targets get no finding (except
        C(NRA000) when their facts cannot be evaluated) and are listed in C(targets) with C(judged=false).
      - V(neutral) also judges C(not_node) targets, with the rules whose METADATA scope is C(neutral) (non-root,
        privileged ports, exec form, init as PID 1, pinned base, size).
      - V(all) judges every target with every rule.
      - Passed to the policy as its C(node_scope) setting; it wins over a C(node_scope) in O(data).
    type: str
    choices: [node, neutral, all]
    default: node
attributes:
  check_mode:
    support: full
    description: Read-only; evaluates the same way in check mode.
  diff_mode:
    support: none
    description: Returns no diff; it changes nothing.
  platform:
    support: full
    platforms: all
    description: Runs on the controller only; nothing is executed on the managed host.
requirements:
  - regopy (embedded engine)
  - opa-python-client >= 3.0 (opa engine)
  - PyYAML (YAML waiver files)
notes:
  - This is an action plugin; the module file holds its documentation only.
seealso:
  - module: refarch.containers.dockerfile_info
"""

EXAMPLES = r"""
- name: Discover Dockerfiles
  refarch.containers.dockerfile_info:
    paths: [/srv]
  register: scan

- name: Evaluate with the embedded engine and fail on high findings
  refarch.containers.policy_check:
    facts: "{{ scan }}"
    fail_on: high
    waivers: files/waivers.yml
  register: policy

- name: Evaluate through a central OPA server over TLS
  refarch.containers.policy_check:
    facts: "{{ scan.dockerfiles }}"
    engine: opa
    opa_url: https://opa.example.com:8181
    opa_token: "{{ vault_opa_token }}"
    opa_ca_file: /etc/pki/opa-ca.pem
    opa_mode: preloaded

- name: Add an organisation policy package and override the port floor
  refarch.containers.policy_check:
    facts: "{{ scan }}"
    policy_path: [policies/org]
    data:
      port_floor: 8000

# In a play on localhost after the hosts' discovery play (what the scan playbook does):
- name: Evaluate every host's refarch_discovery in one engine run
  refarch.containers.policy_check:
    hosts: "{{ groups['all'] }}"
  register: estate

- name: Write the report from the per-host results
  refarch.containers.report:
    host_results: "{{ estate.host_results }}"
    dest: /var/tmp/refarch-report
"""

RETURN = r"""
targets:
  description:
    - One entry per evaluated document, compliant ones included, so a report can list every target.
    - Each has the finding target fields (C(kind), C(host), C(path) and C(sha256) or C(image) and C(id)), the
      document's parse C(problems), its C(error) (null when it was read and parsed) and C(open_findings), the number of
      findings on it that are not waived.
    - C(error) is an object with C(code=engine_error) and a C(message) when the engine failed on this document
      alone; it then has one C(NRA000) finding with C(engine_failure) (the cause), and the other documents are
      evaluated normally.
    - C(node_scope) is the document's classification (C(node), C(not_node), C(unknown)) with its C(evidence),
      C(judged) (false for a C(not_node) target in the O(node_scope=node) mode) and C(rules), the rule scopes
      that judged it.
  returned: success, without O(hosts)
  type: list
  elements: dict
findings:
  description:
    - Findings sorted by target, rule id and line (contracts.md section 4).
    - At most O(max_findings_per_rule) per target, rule and waiver state; the last one listed of such a group
      carries C(folded), the number of further findings it stands for.
  returned: success, without O(hosts)
  type: list
  elements: dict
  sample:
    - rule_id: NRA001
      severity: high
      title: Build non-root containers
      message: final stage runs as root (inherited from node:20)
      target: {kind: dockerfile, host: web1, path: /srv/app/Dockerfile, sha256: "..."}
      line: 12
      fix: add_non_root_user
      related: [DS-0002, DL3002]
      waived: false
      waiver: null
summary:
  description: >-
    Counts (folded findings included): C(total), C(folded) (not listed), C(open) (not waived), C(by_severity) and
    C(by_rule) (open findings), C(targets),
    C(targets_by_kind), C(compliant_targets) (judged, and no open finding except advisory ones),
    C(non_compliant_targets), C(not_judged_targets) (not Node.js, not judged, no open finding: never compliant),
    C(targets_by_node_scope) (C(node), C(not_node), C(unknown)), C(waived), C(waived_by_source),
    C(expired_waivers) and C(unused_waivers) (waiver ids).
    With O(hosts), the estate's counts instead - C(hosts), C(evaluated), C(unreachable), C(failed), C(targets),
    C(open) and C(waived).
  returned: success
  type: dict
engine:
  description: Engine used (V(embedded) or V(opa)).
  returned: success
  type: str
policy_revision:
  description: Revision of the policies evaluated, C(<manifest revision>+<hash of the module texts>).
  returned: success
  type: str
evaluation_date:
  description: Date used for date-dependent rules and waiver expiry.
  returned: success
  type: str
engine_stats:
  description:
    - Documents, batches and seconds spent in the engine; for the embedded engine also the backend used
      (C(regorus) or C(regopy)) and the worker's peak RSS.
    - C(engine_failures) when documents had to be evaluated alone, the number the engine failed on (each has an
      C(NRA000) finding with C(engine_failure)).
    - With O(hosts), the figures of every engine run of the task added up, with C(runs) the number of engine
      runs (one per distinct O(data) among the hosts, more when hosts were evaluated one by one after a failure).
  returned: success
  type: dict
judged_by:
  description:
    - What judged the findings, as every report names it - C(tool), C(collection_version) (of the running
      collection), C(engine), C(backend) (C(regorus), C(regopy) or C(opa)), C(backend_version) (for the opa engine
      the server's version from its Config API, when it tells), C(policy_revision), C(opa_url) (without user
      information, query or fragment) and C(warnings).
    - A warning says when the embedded engine fell back to regopy, the slow backend, because regorus is not
      importable; the task shows it as a warning too (with O(hosts)).
  returned: success
  type: dict
  sample:
    tool: refarch.containers
    collection_version: 0.1.0
    engine: embedded
    backend: regorus
    backend_version: 0.5.0
    policy_revision: 3f2c1e0+9ab01c2d4e5f
    opa_url: null
    warnings: []
status:
  description: V(ok) after an evaluation, else the C(status) of O(host_result), returned unchanged.
  returned: when O(host_result) or O(discovery_status) is given
  type: str
message:
  description: Empty after an evaluation, else the C(message) of O(host_result) or of the discovery result.
  returned: when O(host_result) or O(discovery_status) is given
  type: str
problems:
  description: The C(problems) of O(host_result) or of the discovery result (host-level discovery problems).
  returned: when O(host_result) or O(discovery_status) is given
  type: list
  elements: dict
host_results:
  description:
    - With O(hosts), each evaluated host's result (the keys a one-host evaluation returns, RV(status),
      RV(message) and RV(problems) included), by host name.
  returned: when O(hosts) is given
  type: dict
"""
