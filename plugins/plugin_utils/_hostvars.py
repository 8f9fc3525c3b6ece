# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read one variable of many hosts from an action plugin's ``task_vars['hostvars']``.

The estate evaluation (policy_check ``hosts``) and the report (``hosts``) both collect
a per-host variable on the controller. Reading hostvars costs one lookup per host; the
same in a looped ``set_fact`` re-templates a growing dictionary for every host.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any


def hosts_with(task_vars: Mapping[str, Any], hosts: Iterable[str], name: str) -> Iterator[tuple[str, Any, Any]]:
    """``(host, value of name, all its hostvars)`` for each of ``hosts`` that has ``name``, in order.

    Hosts unknown to the inventory or without the variable (not in this run: outside
    ``--limit``, another job slice) are left out.
    """
    hostvars = task_vars.get("hostvars") or {}
    for host in hosts:
        try:
            host_vars = hostvars[host]
        except KeyError:
            continue
        if name in host_vars:
            yield host, host_vars[name], host_vars
