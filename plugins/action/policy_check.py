# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for refarch.containers.policy_check: evaluate facts on the controller.

Nothing runs on the managed host. The plugin validates the task's options against
the evaluation service's argument spec and calls it
(``plugin_utils/_evaluation.run_task``): the bundle, the engines, waivers, the estate
grouping and the shape of the result live there.
"""

from __future__ import annotations

from typing import Any

from ansible.plugins.action import ActionBase
from ansible_collections.refarch.containers.plugins.plugin_utils._evaluation import (
    ARGUMENT_SPEC,
    HOST_SETTINGS,
    MUTUALLY_EXCLUSIVE,
    REQUIRED_ONE_OF,
    build_engine,
    discovery_outcome,
    run_estate_check,
    run_policy_check,
    run_task,
)

# The service's entry points stay importable from here (tests and older callers).
__all__ = ["ARGUMENT_SPEC", "HOST_SETTINGS", "ActionModule", "build_engine", "discovery_outcome",
           "run_estate_check", "run_policy_check"]


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
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC,
                                                        mutually_exclusive=MUTUALLY_EXCLUSIVE,
                                                        required_one_of=REQUIRED_ONE_OF)
        result.update(run_task(args, task_vars))
        return result
