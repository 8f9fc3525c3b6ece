# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``refarch_*`` settings of the scan and remediate playbooks, checked on the controller before any host is
touched (the ``validate_settings`` action runs this in the playbooks' first play).

The specification is not written twice: the type, choices and elements of each variable are read from the roles'
``meta/argument_specs.yml`` (:func:`role_specs`); this module adds only what a spec cannot say (a path that must
exist on the controller, a URL scheme, a date, a fix id) in :data:`CHECKS`, and the variables that are not role
options (:data:`PLAYBOOK_VARS`, :data:`OUTPUT_VARS`, :data:`OTHER_PLAYBOOK_VARS`).

Pure functions over plain values; the action plugin does the templating and the reading of host variables.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import json
import os
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ansible_collections.refarch.containers.plugins.plugin_utils._completeness import accepted_reasons
from ansible_collections.refarch.containers.plugins.plugin_utils._waivers import (
    WaiverError,
    load_waiver_file,
    validate_waivers,
)

COLLECTION_ROOT = Path(__file__).resolve().parents[2]
PREFIX = "refarch_"

#: The roles each playbook runs (their options are the playbook's settings).
PLAYBOOK_ROLES: dict[str, tuple[str, ...]] = {
    "scan": ("discover", "evaluate", "report"),
    "remediate": ("discover", "evaluate", "remediate", "rebuild", "report"),
}

#: Settings of the playbooks themselves (not options of one role).
PLAYBOOK_VARS: dict[str, dict[str, Any]] = {
    "refarch_hosts": {"type": "raw"},
}

#: Variables the roles set (registered results, facts, stats): known, never settings.
OUTPUT_VARS = frozenset({
    "refarch_discovery", "refarch_result", "refarch_estate_evaluation", "refarch_report", "refarch_summary",
    "refarch_report_files", "refarch_complete", "refarch_containers",
})

#: Variables of the collection's other playbooks (awx/configure.yml, awx/merge_reports.yml); an AWX workflow's
#: extra variables reach every job of the workflow, so they are known here, but not read.
OTHER_PLAYBOOK_VARS = frozenset({
    "refarch_merge_root", "refarch_merge_day", "refarch_slice_reports", "refarch_merged",
    "refarch_awx_organization", "refarch_awx_project_url", "refarch_awx_project_branch", "refarch_awx_ee_image",
    "refarch_awx_inventory", "refarch_awx_machine_credential", "refarch_awx_credential_type", "refarch_awx_opa_url",
    "refarch_awx_opa_token", "refarch_awx_opa_ca_cert", "refarch_awx_report_root", "refarch_awx_slice_report_dir",
    "refarch_awx_remediate_report_dir", "refarch_awx_image_map", "refarch_awx_slices", "refarch_awx_scan_vars",
})


class SettingError(ValueError):
    """A setting that stops the run: the message names the variable."""


@cache
def role_specs(root: str = str(COLLECTION_ROOT)) -> dict[str, dict[str, dict[str, Any]]]:
    """role name -> ``refarch_*`` option -> its spec, from every entry point of the role's argument_specs.yml."""
    import yaml  # noqa: PLC0415 - a controller dependency of Ansible itself

    # libyaml's safe loader when PyYAML has it (the same documents, a twentieth of the time: this runs first in
    # every scan), else the pure-Python one
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for path in sorted(Path(root, "roles").glob("*/meta/argument_specs.yml")):
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}  # noqa: S506 - a safe loader
        options: dict[str, dict[str, Any]] = {}
        for entry in (doc.get("argument_specs") or {}).values():
            for name, spec in (entry.get("options") or {}).items():
                if name.startswith(PREFIX):
                    options.setdefault(name, dict(spec))
        out[path.parent.parent.name] = options
    return out


def known_settings(playbook: str | None = None) -> dict[str, dict[str, Any]]:
    """Every setting (name -> spec) of ``playbook`` (``scan``, ``remediate``), or of both when None."""
    specs = role_specs()
    roles = PLAYBOOK_ROLES[playbook] if playbook else tuple(specs)
    out = dict(PLAYBOOK_VARS)
    for role in roles:
        for name, spec in specs.get(role, {}).items():
            out.setdefault(name, spec)
    return out


# --------------------------------------------------------------------------- types (from the role specs)

_TRUE = ("true", "yes", "on", "1", "y", "t")
_FALSE = ("false", "no", "off", "0", "n", "f")


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return "null" if value is None else type(value).__name__


def _coerce(name: str, kind: str, value: Any) -> Any:
    """The value as the role will use it, or SettingError: stricter than Ansible's conversions (no list from a
    comma-separated string, no string from a list)."""
    if kind == "raw":
        return value
    if kind in ("str", "path"):
        if isinstance(value, str):
            return value
        raise SettingError(f"{name} must be a string, not {_type_name(value)} ({value!r})")
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise SettingError(f"{name} must be an integer, not {_type_name(value)} ({value!r})")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
            return value.strip().lower() in _TRUE
        raise SettingError(f"{name} must be true or false, not {_type_name(value)} ({value!r})")
    if kind == "list":
        if isinstance(value, (list, tuple)):
            return list(value)
        example = json.dumps({name: ["..."]})
        raise SettingError(f"{name} must be a list, not {_type_name(value)} ({value!r}); "
                           f"on the command line pass JSON: -e '{example}'")
    if kind == "dict":
        if isinstance(value, Mapping):
            return dict(value)
        raise SettingError(f"{name} must be a mapping, not {_type_name(value)} ({value!r})")
    return value


def check_type(name: str, spec: Mapping[str, Any], value: Any) -> Any:
    """``value`` checked against the role spec of ``name`` (type, elements, choices); returns it coerced."""
    kind = str(spec.get("type") or "str")
    value = _coerce(name, kind, value)
    if kind == "list" and spec.get("elements"):
        value = [_coerce(f"{name}[{i}]", str(spec["elements"]), item) for i, item in enumerate(value)]
    choices = spec.get("choices")
    if choices and kind == "list":  # Ansible's rule for a list option: each element is one of the choices
        for i, item in enumerate(value):
            if item not in choices:
                raise SettingError(f"{name}[{i}]: {item!r} is not one of {', '.join(str(c) for c in choices)}")
    elif choices and value not in choices:
        raise SettingError(f"{name}: {value!r} is not one of {', '.join(str(c) for c in choices)}")
    return value


# --------------------------------------------------------------------------- what a spec cannot say

def _absolute_paths(name: str, value: list) -> None:
    for i, item in enumerate(value):
        if not item.startswith("/"):
            raise SettingError(f"{name}[{i}]: {item!r} is not an absolute path")


def _existing(name: str, path: str, kind: str) -> None:
    """``path`` exists on the controller as a regular file (``file``) or a directory (``dir``)."""
    p = Path(path).expanduser()
    if not p.exists():
        raise SettingError(f"{name}: {path} does not exist on the controller")
    if kind == "file" and not p.is_file():
        raise SettingError(f"{name}: {path} is not a regular file")
    if kind == "dir" and not p.is_dir():
        raise SettingError(f"{name}: {path} is not a directory")


def _fixes(name: str, value: Any) -> None:
    if not isinstance(value, (str, list, tuple)):
        raise SettingError(f"{name} must be 'all' or a list of rule or fix ids, not {_type_name(value)}")
    if isinstance(value, (list, tuple)) and not all(isinstance(v, str) for v in value):
        raise SettingError(f"{name} must be 'all' or a list of rule or fix ids (strings), got {value!r}")
    # the rewriter (every fix) is loaded only when a run names fixes: a scan's settings check stays light
    from ansible_collections.refarch.containers.plugins.module_utils._rewriter import (  # noqa: PLC0415
        parse_fix_selection,
        unknown_fixes_message,
    )
    unknown = parse_fix_selection(value)["unknown"]
    if unknown:
        raise SettingError(unknown_fixes_message(unknown, name))


def _waivers(name: str, value: str) -> None:
    if not value:
        return
    _existing(name, value, "file")
    try:
        validate_waivers(load_waiver_file(value), source=value)
    except WaiverError as exc:
        raise SettingError(f"{name}: {exc}") from None


def _outcomes_dir(name: str, value: str) -> None:
    if not value:
        return
    _existing(name, value, "dir")
    if not os.access(Path(value).expanduser(), os.W_OK | os.X_OK):
        raise SettingError(f"{name}: {value} is not writable by this user (uid {os.geteuid()})")


def _report_dir(name: str, value: str) -> None:
    p = Path(value).expanduser()
    if p.exists() and not p.is_dir():
        raise SettingError(f"{name}: {value} exists and is not a directory")


def _url(name: str, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        shown = value if "@" not in value else "<url with user information>"
        raise SettingError(f"{name}: {shown!r} is not an http:// or https:// URL with a host")


def _date(name: str, value: str) -> None:
    if value:
        try:
            _dt.date.fromisoformat(value.strip())
        except ValueError:
            raise SettingError(f"{name}: {value!r} is not an ISO date (YYYY-MM-DD)") from None


def _image_map(name: str, value: dict) -> None:
    for key, ref in value.items():
        if not isinstance(key, str) or not key.startswith("/"):
            raise SettingError(f"{name}: key {key!r} is not an absolute Dockerfile path")
        if not isinstance(ref, str) or not ref.strip():
            raise SettingError(f"{name}[{key}]: {ref!r} is not an image reference")


def _port_map(name: str, value: dict) -> None:
    for key, port in value.items():
        try:
            ok = 0 < int(key) < 65536 and 0 < int(port) < 65536 and not isinstance(port, bool)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise SettingError(f"{name}: {key!r}: {port!r} is not a port number mapping (1-65535)")


def _at_least(low: int) -> Callable[[str, int], None]:
    def check(name: str, value: int) -> None:
        if value < low:
            raise SettingError(f"{name} must be at least {low}, got {value}")
    return check


def _absolute_or_empty(name: str, value: str) -> None:
    if value and not value.startswith("/"):
        raise SettingError(f"{name}: {value!r} is not an absolute path")


def _allow_incomplete(name: str, value: Any) -> None:
    try:
        accepted_reasons(value, name)
    except ValueError as exc:
        raise SettingError(str(exc)) from None


def node_line_errors(settings: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """``refarch_node_line`` against the bundle's release table on the run's evaluation date (today when none)."""
    dates = settings.get("refarch_evaluation_date") or {}
    out = []
    for where, value in (settings.get("refarch_node_line") or {}).items():
        if value in (None, ""):
            continue
        # the release table and the rewriter's context, loaded only when the variable is set
        from ansible_collections.refarch.containers.plugins.module_utils._rewrite.model import (  # noqa: PLC0415
            FixContext,
        )
        from ansible_collections.refarch.containers.plugins.module_utils._rewrite.node_releases import (  # noqa: PLC0415
            node_line_problem,
        )
        day = dates.get(where, dates.get("")) or None
        problem = node_line_problem(value, FixContext(evaluation_date=str(day).strip() if day else None))
        if problem:
            out.append(f"refarch_node_line: {problem}" + (f" (set for {where})" if where else ""))
    return out


#: name -> check of the (type-checked) value; controller paths are checked on the controller.
CHECKS: dict[str, Callable[[str, Any], None]] = {
    "refarch_scan_paths": _absolute_paths,
    "refarch_scan_max_depth": _at_least(0),
    "refarch_scan_max_file_size": _at_least(1),
    "refarch_fixes": _fixes,
    "refarch_waivers": _waivers,
    "refarch_remediation_outcomes_dir": _outcomes_dir,
    "refarch_report_dir": _report_dir,
    "refarch_report_previous": lambda n, v: _existing(n, v, "file") if v else None,
    "refarch_opa_url": _url,
    "refarch_opa_ca_file": lambda n, v: _existing(n, v, "file") if v else None,
    "refarch_opa_timeout": _at_least(1),
    "refarch_policy_paths": lambda n, v: [_existing(f"{n}[{i}]", p, "dir") for i, p in enumerate(v)],
    "refarch_evaluation_date": _date,
    "refarch_max_findings_per_rule": _at_least(0),
    "refarch_image_map": _image_map,
    "refarch_port_map": _port_map,
    "refarch_max_node_memory": _at_least(1),
    "refarch_remediate_backup_dir": _absolute_or_empty,
    "refarch_build_executable": _absolute_or_empty,
    "refarch_build_timeout": _at_least(1),
    "refarch_build_poll": _at_least(1),
    "refarch_start_probe_seconds": _at_least(1),
    "refarch_start_probe_timeout": _at_least(6),
    "refarch_allow_incomplete": _allow_incomplete,
}


#: settings checked together: the start probe's timeout must leave room for its stay-up time (image_start_probe)
PROBE_SECONDS, PROBE_TIMEOUT = "refarch_start_probe_seconds", "refarch_start_probe_timeout"
PROBE_MARGIN = 5


def probe_timing_errors(pairs: Mapping[str, tuple[Any, Any]], playbook: str) -> list[str]:
    """``refarch_start_probe_timeout`` at least ``refarch_start_probe_seconds`` + 5 where both apply.

    ``pairs`` maps where (``""``: everywhere; else the hosts) to the ``(seconds, timeout)`` values in force
    there, None for a variable not set (its role default applies). A value that is not an integer is left to its
    own check. Returns the error messages, naming both variables.
    """
    ours = known_settings(playbook)
    if PROBE_SECONDS not in ours or PROBE_TIMEOUT not in ours:
        return []
    out = []
    for where, (seconds, timeout) in sorted(pairs.items()):
        try:
            s = check_type(PROBE_SECONDS, ours[PROBE_SECONDS],
                           ours[PROBE_SECONDS].get("default") if seconds is None else seconds)
            t = check_type(PROBE_TIMEOUT, ours[PROBE_TIMEOUT],
                           ours[PROBE_TIMEOUT].get("default") if timeout is None else timeout)
        except SettingError:
            continue
        if isinstance(s, int) and isinstance(t, int) and t < s + PROBE_MARGIN:
            out.append(f"{PROBE_TIMEOUT} ({t}) must be at least {PROBE_SECONDS} ({s}) + {PROBE_MARGIN}: the probe "
                       f"needs that long to start the container and stop it" + (f" (set for {where})" if where else ""))
    return out


def check_setting(name: str, value: Any, spec: Mapping[str, Any]) -> None:
    """Raise SettingError (naming ``name``) when ``value`` is not usable. A secret (``no_log``) is never shown."""
    try:
        value = check_type(name, spec, value)
        check = CHECKS.get(name)
        if check is not None:
            check(name, value)
    except SettingError:
        if spec.get("no_log"):
            raise SettingError(f"{name}: invalid value (not shown: it is a secret)") from None
        raise


def unknown_message(name: str, playbook: str | None = None) -> str:
    """``name: unknown variable; did you mean X?`` for a ``refarch_*`` name nothing reads."""
    known = sorted(known_settings())
    # compared without the common prefix, which would make every name look close
    close = difflib.get_close_matches(name[len(PREFIX):], [k[len(PREFIX):] for k in known], n=1, cutoff=0.6)
    hint = f"; did you mean {PREFIX}{close[0]}?" if close else " (no role reads it)"
    return f"{name}: unknown variable{hint}"


def validate(settings: Mapping[str, Mapping[str, Any]], playbook: str) -> tuple[list[str], list[str]]:
    """Check every ``refarch_*`` value a run sees. ``settings`` maps each variable name to ``{where: value}``
    (``where`` names the hosts or ``extra vars`` that carry that value). Returns (errors, warnings)."""
    ours = known_settings(playbook)
    every = known_settings()
    errors: list[str] = []
    warnings: list[str] = []
    for name in sorted(settings):
        if not name.startswith(PREFIX):
            continue
        if name in ours:
            for where, value in settings[name].items():
                try:
                    check_setting(name, value, ours[name])
                except SettingError as exc:
                    errors.append(f"{exc}" + (f" (set for {where})" if where else ""))
        elif name in every:
            roles = [r for r, opts in role_specs().items() if name in opts]
            warnings.append(f"{name}: not read by the {playbook} playbook (an option of the "
                            f"{', '.join(roles)} role{'s' if len(roles) > 1 else ''})")
        elif name not in OUTPUT_VARS and name not in OTHER_PLAYBOOK_VARS:
            warnings.append(unknown_message(name, playbook))
    if "refarch_node_line" in ours:
        errors += node_line_errors(settings)
    return errors, warnings
