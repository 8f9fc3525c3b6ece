# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for ``refarch.containers.validate_settings``: the settings of a run, checked on the controller.

Nothing runs on a managed host. The checks are in ``plugin_utils/_settings.py``; the documentation in
``plugins/modules/validate_settings.py``.
"""

from __future__ import annotations

import json
from typing import Any

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase
from ansible_collections.refarch.containers.plugins.plugin_utils._settings import (
    PREFIX,
    PROBE_SECONDS,
    PROBE_TIMEOUT,
    probe_timing_errors,
    validate,
)

ARGUMENT_SPEC: dict[str, Any] = {
    "playbook": {"type": "str", "choices": ["scan", "remediate"], "required": True},
    "hosts": {"type": "list", "elements": "str", "default": []},
}
#: hosts named in one message at most
SHOWN_HOSTS = 5


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _where(hosts: list[str], every: int) -> str:
    if len(hosts) == every and every > 1:
        return f"all {every} hosts"
    shown = ", ".join(hosts[:SHOWN_HOSTS])
    more = f" (+{len(hosts) - SHOWN_HOSTS} more)" if len(hosts) > SHOWN_HOSTS else ""
    return f"host{'s' if len(hosts) > 1 else ''} {shown}{more}"


def _controller_value(seen: dict[str, dict[str, tuple[Any, list[str]]]], name: str) -> Any:
    for value, wheres in (seen.get(name) or {}).values():
        if "" in wheres:
            return value
    return None


class ActionModule(ActionBase):
    """Check every refarch_* variable the controller sees; fail naming each unusable one."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def _templated(self, value: Any) -> Any:
        return self._templar.template(value)

    @staticmethod
    def _probe_pairs(seen: dict[str, dict[str, tuple[Any, list[str]]]], hostvars: Any,
                     hosts: list[str]) -> dict[str, tuple[Any, Any]]:
        """where -> the (seconds, timeout) of the start probe in force there (None: the role default)."""
        base = (_controller_value(seen, PROBE_SECONDS), _controller_value(seen, PROBE_TIMEOUT))
        by_pair: dict[str, tuple[tuple[Any, Any], list[str]]] = {}
        for host in hosts:
            pair = list(base)
            for i, name in enumerate((PROBE_SECONDS, PROBE_TIMEOUT)):
                try:
                    if name in hostvars[host]:
                        pair[i] = hostvars[host][name]
                except AnsibleError:
                    pass  # reported by the per-variable check
            by_pair.setdefault(_key(pair), (tuple(pair), []))[1].append(host)
        if not hosts:
            return {"": base}
        return {("" if len(named) == len(hosts) else _where(named, len(hosts))): pair
                for pair, named in by_pair.values()}

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        # name -> value key -> (value, [where]); "" is what the controller's play sees (extra vars, localhost)
        seen: dict[str, dict[str, tuple[Any, list[str]]]] = {}
        errors: list[str] = []

        def note(name: str, value: Any, where: str) -> None:
            entry = seen.setdefault(name, {}).setdefault(_key(value), (value, []))
            entry[1].append(where)

        for name in [n for n in task_vars if n.startswith(PREFIX)]:
            try:
                note(name, self._templated(task_vars[name]), "")
            except AnsibleError:
                # a group variable templated from host variables (refarch_scan_paths: ["{{ my_root }}/srv"]) has
                # no value here; each host's value is checked below, and a template broken everywhere fails there
                continue
        hostvars = task_vars.get("hostvars") or {}
        hosts = [h for h in args["hosts"] if h in hostvars]
        for host in hosts:
            hvars = hostvars[host]
            for name in [n for n in hvars if str(n).startswith(PREFIX)]:
                try:
                    value = hvars[name]
                except AnsibleError as exc:
                    errors.append(f"{name} (host {host}): cannot be templated: {exc.message}")
                    continue
                if _key(value) not in seen.get(name, {}) or "" not in seen[name][_key(value)][1]:
                    note(name, value, host)
        settings: dict[str, dict[str, Any]] = {}
        for name, values in seen.items():
            for value, wheres in values.values():
                named = [w for w in wheres if w]
                everywhere = "" in wheres or (len(values) == 1 and len(named) == len(hosts))
                where = "" if everywhere else _where(named, len(hosts))
                settings.setdefault(name, {})[where] = value
        found, warnings = validate(settings, args["playbook"])
        errors += found
        errors += probe_timing_errors(self._probe_pairs(seen, hostvars, hosts), args["playbook"])
        unknown = sorted(w.split(":", 1)[0] for w in warnings if ": unknown variable" in w)
        result.update(changed=False, checked=sorted(settings), unknown=unknown)
        if warnings:
            result["warnings"] = warnings
        if errors:
            result.update(failed=True, errors=errors,
                          msg=f"{len(errors)} unusable setting(s), nothing was run on any host: " + "; ".join(errors))
        return result
