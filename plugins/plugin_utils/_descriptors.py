# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build descriptors: how a Dockerfile is really built, read on the controller (pure).

A managed host sends the text of every build descriptor its walk found (bounded, secrets
redacted on the host: ``module_utils/_builds.py``); this module reads them where PyYAML is:

* docker compose files (``compose.yaml``, ``docker-compose.yml``, their ``.override`` files and
  ``docker-compose.<variant>.yml`` files): ``build`` (its short form ``build: <path>`` too) with
  ``context``, ``dockerfile``, ``target``, ``args``, and ``image``;
* bake files (``docker-bake.hcl`` with the small HCL parser of ``_hcl.py``, ``docker-bake.json``):
  ``target`` blocks with ``context``, ``dockerfile``, ``target``, ``args``, ``tags`` and ``inherits``;
* GitHub Actions workflows (``.github/workflows/*.yml``): steps that use
  ``docker/build-push-action`` with ``context``, ``file``, ``target``, ``build-args`` and ``tags``.

:func:`parse_descriptor` turns one file into declared builds and named problems; :func:`plan_builds`
links the builds of every descriptor of a host to their Dockerfiles (``context`` relative to the
descriptor, or to the repository root for a workflow; ``dockerfile`` relative to the context, or to
the repository root for a workflow's ``file``), keeps only contexts and Dockerfiles inside the scan
roots, merges identical builds and names two descriptors that build one Dockerfile differently.

Nothing here evaluates: a value that depends on the environment or on an expression (compose
``${VAR:-default}``, a bake variable or function, a workflow ``${{ ... }}``) is never guessed; it
becomes a problem of the file, and the build it belongs to is left out when the value says where
or what is built, or its value is unknown (a build argument) or dropped (an image name).
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterable
from typing import Any, Optional

from ansible_collections.refarch.containers.plugins.module_utils._image_ref import DOCKER_HUB_REGISTRIES, ImageRef
from ansible_collections.refarch.containers.plugins.module_utils._walker import descriptor_kind  # light: not _builds
from ansible_collections.refarch.containers.plugins.plugin_utils import _hcl, _yaml_bounded
from ansible_collections.refarch.containers.plugins.plugin_utils._completeness import DESCRIPTOR_SOURCE

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML is a controller requirement (requirements.txt)
    yaml = None

KINDS = ("compose", "bake", "workflow")
#: what one build is called in each kind of descriptor
_UNIT = {"compose": "service", "bake": "target", "workflow": "step"}

#: compose variable interpolation ($VAR, ${VAR}, ${VAR:-default}, ...); ``$$`` is a literal dollar
_COMPOSE_VAR_RE = re.compile(r"\$(?:\{|[A-Za-z_])")
#: a build context that is not a directory on this host: a URL or a Git repository
_REMOTE_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|git@|github\.com/|gitlab\.com/|bitbucket\.org/)|\.git(?:#|$)",
                        re.IGNORECASE)
_GHA_EXPR = "${{"
_BUILD_PUSH_RE = re.compile(r"^docker/build-push-action(?:@|$)", re.IGNORECASE)
_OVERRIDE_RE = re.compile(r"^(?:docker-)?compose\.override\.ya?ml$", re.IGNORECASE)
_BASE_COMPOSE = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


def _problem(path: str, code: str, message: str) -> dict[str, Any]:
    return {"path": path, "code": code, "message": message}


def _build(descriptor: str, kind: str, name: str,  # noqa: PLR0917 - one field each
           context: str, dockerfile: str, target: Optional[str],
           args: dict[str, Optional[str]], tags: list[str], base: Optional[str] = None) -> dict[str, Any]:
    return {"descriptor": descriptor, "kind": kind, "name": name, "context": context, "dockerfile": dockerfile,
            "target": target, "args": args, "tags": tags, "dockerfile_base": base or "context"}


# --------------------------------------------------------------------------------------------------
# YAML (compose, workflows): safe_load with anchors, aliases and merge keys, bounded (_yaml_bounded)
# --------------------------------------------------------------------------------------------------
def _load_yaml(path: str, text: str, problems: list[dict[str, Any]]) -> Any:
    if yaml is None:  # pragma: no cover
        problems.append(_problem(path, "descriptor_unreadable", f"{path}: PyYAML is not installed on the controller"))
        return None
    try:
        return _yaml_bounded.load(text)
    except _yaml_bounded.Refused as exc:
        problems.append(_problem(path, exc.code, f"{path}: {exc}; the file is not used"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        # the parser's own message can quote the file: only the position is shown
        problems.append(_problem(path, "invalid_yaml", f"{path} is not valid YAML{where}; the file is not used"))
    except RecursionError:
        problems.append(_problem(path, "invalid_yaml", f"{path} is nested too deeply to read; the file is not used"))
    return None


def _scalar(value: Any) -> Optional[str]:
    """A YAML scalar as the string compose would see; None for anything that is not a scalar."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


# --------------------------------------------------------------------------------------------------
# compose
# --------------------------------------------------------------------------------------------------
def _compose_services(path: str, data: Any, problems: list[dict[str, Any]]) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.append(_problem(path, "invalid_descriptor", f"{path}: a compose file is a mapping; the file is not "
                                                             "used"))
        return {}
    services = data.get("services")
    if services is None:
        return {}
    if not isinstance(services, dict):
        problems.append(_problem(path, "invalid_descriptor", f"{path}: 'services' is not a mapping; the file is not "
                                                             "used"))
        return {}
    if data.get("include"):
        problems.append(_problem(path, "compose_include", f"{path}: 'include' (other compose files) is not followed"))
    return {str(k): v for k, v in services.items()}


def _merge_service(base: Any, override: Any) -> Any:
    """A service of an override file merged into the base file's (compose's rules for the keys read here)."""
    if not isinstance(base, dict) or not isinstance(override, dict):
        return override if override is not None else base
    out = dict(base)
    for key, value in override.items():
        if key == "build":
            b, o = base.get("build"), value
            b = {"context": b} if isinstance(b, str) else b
            o = {"context": o} if isinstance(o, str) else o
            if isinstance(b, dict) and isinstance(o, dict):
                merged = dict(b)
                merged.update({k: v for k, v in o.items() if k != "args"})
                if "args" in o:
                    merged["args"] = {**_args_map(b.get("args")), **_args_map(o.get("args"))}
                out["build"] = merged
            else:
                out["build"] = value
        else:
            out[key] = value
    return out


def _args_map(raw: Any) -> dict[str, Any]:
    """compose ``args`` (a mapping, or a list of ``NAME=value`` / ``NAME``) as a mapping; NAME alone is None."""
    if isinstance(raw, dict):
        return {str(k): v for k, v in raw.items()}
    out: dict[str, Any] = {}
    if isinstance(raw, list):
        for item in raw:
            if isinstance(item, str):
                name, sep, value = item.partition("=")
                out[name.strip()] = value if sep else None
    return out


def _interpolated(value: str) -> bool:
    return _COMPOSE_VAR_RE.search(value.replace("$$", "")) is not None


#: the longest chain of ``extends`` followed (a service extending one extending another ...)
MAX_EXTENDS_DEPTH = 16


def resolve_extends(path: str, services: dict[str, Any], files: dict[str, dict[str, Any]],
                    problems: list[dict[str, Any]]) -> dict[str, Any]:
    """``services`` of the compose file ``path`` with each ``extends`` resolved as compose does.

    ``extends: <service>`` or ``{service, file}``: the base service (itself resolved first) with the extending
    service merged over it (``_merge_service``: ``build`` merged key by key, its ``args`` merged). A base from
    another file is taken from ``files`` (compose files of this scan as ``path -> services``, loaded, not yet
    resolved); its relative build context is relative to that file's folder. A service whose ``extends`` cannot
    be resolved (the other file was not read by the scan, the service is missing, a cycle, a variable) is left
    out with a ``compose_extends`` problem naming it.
    """
    out: dict[str, Any] = {}
    for name, svc in services.items():
        resolved, why = _extended(path, name, svc, files, ())
        if why is None:
            out[name] = resolved
        else:
            problems.append(_problem(path, "compose_extends", f"{path}: service {name!r}: {why}; not used"))
    return out


def _extended(path: str, name: str, svc: Any, files: dict[str, dict[str, Any]],
              seen: tuple[tuple[str, str], ...]) -> tuple[Any, Optional[str]]:
    if not isinstance(svc, dict) or "extends" not in svc:
        return svc, None
    ext = svc["extends"]
    base_name, base_file = (ext, None) if isinstance(ext, str) else (
        (ext.get("service"), ext.get("file")) if isinstance(ext, dict) else (None, None))
    if not isinstance(base_name, str) or not base_name or not isinstance(base_file, (str, type(None))):
        return None, "'extends' names no service"
    if _interpolated(base_name) or (base_file is not None and _interpolated(base_file)):
        return None, "'extends' uses variable interpolation (${...})"
    other = path if base_file is None else _join(posixpath.dirname(path), base_file)
    if (other, base_name) in seen or (path, name) in seen:
        return None, f"'extends' makes a cycle through service {base_name!r}"
    if len(seen) >= MAX_EXTENDS_DEPTH:
        return None, f"'extends' chains more than {MAX_EXTENDS_DEPTH} services"
    if other not in files:
        return None, (f"extends service {base_name!r} of {other}, which this scan did not read (only compose "
                      "files found under the scan roots by name are read)")
    base = files[other].get(base_name)
    if not isinstance(base, dict):
        return None, f"extends service {base_name!r}, which {other} does not define"
    base, why = _extended(other, base_name, base, files, (*seen, (path, name)))
    if why is not None:
        return None, f"extends service {base_name!r} of {other}, which cannot be used ({why})"
    if other != path:
        base = _rebased(base, posixpath.dirname(other))
    return _merge_service(base, {k: v for k, v in svc.items() if k != "extends"}), None


def _rebased(svc: dict[str, Any], folder: str) -> dict[str, Any]:
    """A service from another compose file with its relative build context made absolute (relative to its file)."""
    build = svc.get("build")
    build = {"context": build} if isinstance(build, str) else build
    if not isinstance(build, dict):
        return svc
    context = build.get("context", ".")
    context = _scalar(context) if context is not None else "."
    if context is None or _interpolated(context) or _REMOTE_RE.search(context):
        return svc  # left for _compose_builds to name
    return dict(svc, build=dict(build, context=_join(folder, context)))


def _compose_builds(path: str, services: dict[str, Any], problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    here = posixpath.dirname(path)
    builds = []
    for name, svc in services.items():
        if not isinstance(svc, dict):
            continue
        build = svc.get("build")
        if build is None:
            continue
        if isinstance(build, str):
            build = {"context": build}
        if not isinstance(build, dict):
            problems.append(_problem(path, "invalid_descriptor", f"{path}: service {name!r} has a 'build' that is "
                                                                 "neither a path nor a mapping; not used"))
            continue
        if "dockerfile_inline" in build:
            problems.append(_problem(path, "inline_dockerfile", f"{path}: service {name!r} builds an inline "
                                                                "Dockerfile (dockerfile_inline); not evaluated"))
            continue
        fields = {}
        skip = False
        for key, default in (("context", "."), ("dockerfile", "Dockerfile"), ("target", None)):
            value = build.get(key, default)
            value = _scalar(value) if value is not None else None
            if value is not None and _interpolated(value):
                problems.append(_problem(path, "interpolation", f"{path}: service {name!r}: build.{key} uses variable "
                                                                "interpolation (${...}); the build is not evaluated"))
                skip = True
            fields[key] = value.replace("$$", "$") if value is not None else None
        if skip:
            continue
        if _REMOTE_RE.search(fields["context"] or ""):
            problems.append(_problem(path, "remote_context", f"{path}: service {name!r} builds from a URL or Git "
                                                             "context; not followed"))
            continue
        args: dict[str, Optional[str]] = {}
        for key, raw in _args_map(build.get("args")).items():
            value = _scalar(raw) if raw is not None else None
            if value is not None and _interpolated(value):
                problems.append(_problem(path, "interpolation", f"{path}: service {name!r}: build argument {key} uses "
                                                                "variable interpolation; its value is unknown"))
                value = None
            args[key] = value.replace("$$", "$") if value is not None else None
        tags = []
        image = _scalar(svc.get("image")) if svc.get("image") is not None else None
        if image is not None and _interpolated(image):
            problems.append(_problem(path, "interpolation", f"{path}: service {name!r}: image uses variable "
                                                            "interpolation; the image name is not used"))
        elif image:
            tags.append(image)
        builds.append(_build(path, "compose", name, _join(here, fields["context"] or "."),
                             fields["dockerfile"] or "Dockerfile", fields["target"], args, tags))
    return builds


# --------------------------------------------------------------------------------------------------
# bake
# --------------------------------------------------------------------------------------------------
def _bake_targets(path: str, text: str, problems: list[dict[str, Any]]) -> Optional[dict[str, Any]]:
    """``{"target": {name: attrs}, "group": {...}, "variable": [...], "function": [...]}`` or None."""
    if path.lower().endswith(".json"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            where = f" at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
            problems.append(_problem(path, "invalid_json", f"{path} is not valid JSON{where}; the file is not used"))
            return None
        except RecursionError:
            problems.append(_problem(path, "invalid_json",
                                     f"{path} is nested too deeply to read; the file is not used"))
            return None
        if not isinstance(data, dict):
            problems.append(_problem(path, "invalid_descriptor", f"{path}: a bake file is an object; not used"))
            return None
        targets = data.get("target") if isinstance(data.get("target"), dict) else {}
        groups = data.get("group") if isinstance(data.get("group"), dict) else {}
        variables = list(data["variable"]) if isinstance(data.get("variable"), dict) else []
        # JSON bake files interpolate ${...} in strings too
        return {"target": {str(k): _json_unknowns(v) for k, v in targets.items() if isinstance(v, dict)},
                "group": groups, "variable": variables, "function": []}
    try:
        blocks = _hcl.parse(text)
    except _hcl.HCLError as exc:
        problems.append(_problem(path, "invalid_hcl", f"{path} is not HCL this scan reads (line {exc.line}: "
                                                      f"{exc.reason}); the file is not used"))
        return None
    except RecursionError:
        problems.append(_problem(path, "invalid_hcl", f"{path} is nested too deeply to read; the file is not used"))
        return None
    out: dict[str, Any] = {"target": {}, "group": {}, "variable": [], "function": []}
    for block in blocks:
        label = block.labels[0] if block.labels else ""
        if block.type in ("target", "group") and label:
            out[block.type][label] = block.attributes
        elif block.type in ("variable", "function"):
            out[block.type].append(label)
        elif block.type == "" and block.attributes:
            out["variable"].extend(block.attributes)  # top-level attributes are variables in bake
    return out


def _json_unknowns(value: Any) -> Any:
    if isinstance(value, str):
        return _hcl.Unknown("interpolation") if "${" in value.replace("$${", "") else value.replace("$${", "${")
    if isinstance(value, list):
        return [_json_unknowns(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_unknowns(v) for k, v in value.items()}
    return value


def _unknown_message(value: _hcl.Unknown) -> str:
    if value.kind == "variable":
        return "uses the bake variable " + repr(value.name)
    if value.kind == "function":
        return "calls the bake function " + repr(value.name)
    if value.kind == "interpolation":
        return "uses interpolation (${...})"
    return "is an expression"


def _bake_builds(path: str, text: str, problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    parsed = _bake_targets(path, text, problems)
    if parsed is None:
        return []
    if parsed["variable"]:
        names = ", ".join(parsed["variable"][:5])
        problems.append(_problem(path, "bake_variable", f"{path} declares variables ({names}"
                                 f"{', ...' if len(parsed['variable']) > 5 else ''}): the environment can change "
                                 "them at build time; values that use them are not evaluated"))
    if parsed["function"]:
        problems.append(_problem(path, "bake_function", f"{path} declares functions; values that call them are not "
                                                        "evaluated"))
    targets: dict[str, Any] = parsed["target"]
    inherited: set[str] = set()
    grouped: set[str] = set()
    for attrs in targets.values():
        if isinstance(attrs.get("inherits"), list):
            inherited.update(str(t) for t in attrs["inherits"] if isinstance(t, str))
    for attrs in parsed["group"].values():
        if isinstance(attrs, dict) and isinstance(attrs.get("targets"), list):
            grouped.update(str(t) for t in attrs["targets"] if isinstance(t, str))
    here = posixpath.dirname(path)
    builds = []
    for name in targets:
        if name in inherited and name not in grouped:
            continue  # a base other targets inherit from, built by none of the groups: not a build of its own
        attrs = _bake_resolve(path, name, targets, problems, ())
        if attrs is None:
            continue
        if "dockerfile-inline" in attrs:
            problems.append(_problem(path, "inline_dockerfile", f"{path}: target {name!r} builds an inline Dockerfile "
                                                                "(dockerfile-inline); not evaluated"))
            continue
        if "matrix" in attrs:
            problems.append(_problem(path, "bake_matrix", f"{path}: target {name!r} is a matrix; not evaluated"))
            continue
        fields: dict[str, Optional[str]] = {}
        skip = False
        for key, default in (("context", "."), ("dockerfile", "Dockerfile"), ("target", None)):
            value = attrs.get(key, default)
            if isinstance(value, _hcl.Unknown):
                problems.append(_problem(path, _unknown_code(value), f"{path}: target {name!r}: {key} "
                                         f"{_unknown_message(value)}; the build is not evaluated"))
                skip = True
                continue
            fields[key] = _scalar(value) if value is not None else None
        if skip:
            continue
        if _REMOTE_RE.search(fields["context"] or ""):
            problems.append(_problem(path, "remote_context", f"{path}: target {name!r} builds from a URL or Git "
                                                             "context; not followed"))
            continue
        args: dict[str, Optional[str]] = {}
        raw_args = attrs.get("args")
        if isinstance(raw_args, _hcl.Unknown):
            problems.append(_problem(path, _unknown_code(raw_args), f"{path}: target {name!r}: args "
                                     f"{_unknown_message(raw_args)}; the build arguments are unknown"))
        elif isinstance(raw_args, dict):
            for key, value in raw_args.items():
                if isinstance(value, _hcl.Unknown):
                    problems.append(_problem(path, _unknown_code(value), f"{path}: target {name!r}: build argument "
                                             f"{key} {_unknown_message(value)}; its value is unknown"))
                    args[key] = None
                else:
                    args[key] = _scalar(value) if value is not None else None
        tags = []
        raw_tags = attrs.get("tags")
        if isinstance(raw_tags, list):
            for tag in raw_tags:
                if isinstance(tag, _hcl.Unknown):
                    problems.append(_problem(path, _unknown_code(tag), f"{path}: target {name!r}: a tag "
                                             f"{_unknown_message(tag)}; it is not used"))
                elif isinstance(tag, str) and tag:
                    tags.append(tag)
        elif isinstance(raw_tags, _hcl.Unknown):
            problems.append(_problem(path, _unknown_code(raw_tags), f"{path}: target {name!r}: tags "
                                     f"{_unknown_message(raw_tags)}; not used"))
        builds.append(_build(path, "bake", name, _join(here, fields["context"] or "."),
                             fields["dockerfile"] or "Dockerfile", fields["target"], args, tags))
    return builds


def _unknown_code(value: _hcl.Unknown) -> str:
    return {"variable": "bake_variable", "function": "bake_function"}.get(value.kind, "interpolation")


def _bake_resolve(path: str, name: str, targets: dict[str, Any], problems: list[dict[str, Any]],
                  seen: tuple[str, ...]) -> Optional[dict[str, Any]]:
    """A target's attributes with what it ``inherits`` (parents first, its own last; ``args`` merged)."""
    if name in seen:
        problems.append(_problem(path, "invalid_descriptor", f"{path}: target {name!r} inherits from itself; "
                                                             "not evaluated"))
        return None
    own = targets.get(name)
    if not isinstance(own, dict):
        problems.append(_problem(path, "invalid_descriptor", f"{path}: target {seen[-1] if seen else name!r} inherits "
                                                             f"from {name!r}, which this file does not define"))
        return None
    parents = own.get("inherits") or []
    if isinstance(parents, _hcl.Unknown) or not isinstance(parents, list):
        problems.append(_problem(path, "invalid_descriptor", f"{path}: target {name!r}: inherits is not a list of "
                                                             "names; not evaluated"))
        return None
    merged: dict[str, Any] = {}
    for parent in parents:
        if not isinstance(parent, str):
            continue
        got = _bake_resolve(path, parent, targets, problems, (*seen, name))
        if got is None:
            return None
        args = {**(merged.get("args") or {}), **(got.get("args") or {})} \
            if isinstance(got.get("args"), dict) and isinstance(merged.get("args", {}), dict) else got.get("args")
        merged.update(got)
        if args is not None:
            merged["args"] = args
    for key, value in own.items():
        if key == "inherits":
            continue
        if key == "args" and isinstance(value, dict) and isinstance(merged.get("args"), dict):
            merged["args"] = {**merged["args"], **value}
        else:
            merged[key] = value
    return merged


# --------------------------------------------------------------------------------------------------
# GitHub Actions workflows
# --------------------------------------------------------------------------------------------------
def _lines_or_list(value: Any, split_commas: bool) -> list[str]:
    if isinstance(value, list):
        items = [_scalar(v) or "" for v in value]
    elif value is None:
        return []
    else:
        text = _scalar(value) or ""
        items = []
        for line in text.splitlines():
            items.extend(line.split(",") if split_commas else [line])
    return [i.strip() for i in items if i and i.strip()]


def _workflow_builds(path: str, data: Any, problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not isinstance(data, dict) or not isinstance(data.get("jobs"), dict):
        return []
    # the repository root: the folder holding .github/workflows
    root = posixpath.dirname(posixpath.dirname(posixpath.dirname(path)))
    builds = []
    for job_id, job in data["jobs"].items():
        if not isinstance(job, dict) or not isinstance(job.get("steps"), list):
            continue
        for index, step in enumerate(job["steps"]):
            if not isinstance(step, dict) or not _BUILD_PUSH_RE.match(str(step.get("uses") or "")):
                continue
            name = f"{job_id}/{_scalar(step.get('name')) or _scalar(step.get('id')) or f'step {index + 1}'}"
            inputs = step.get("with") if isinstance(step.get("with"), dict) else {}
            fields: dict[str, Optional[str]] = {}
            skip = False
            for key in ("context", "file", "target"):
                value = _scalar(inputs.get(key)) if inputs.get(key) is not None else None
                if value is not None and _GHA_EXPR in value:
                    problems.append(_problem(path, "workflow_expression", f"{path}: step {name!r}: {key} is a "
                                             "workflow expression (${{ ... }}); the build is not evaluated"))
                    skip = True
                fields[key] = value.strip() if value is not None else None
            if skip:
                continue
            context = fields["context"] or "."
            if _REMOTE_RE.search(context):
                problems.append(_problem(path, "remote_context", f"{path}: step {name!r} builds from a URL or Git "
                                                                 "context; not followed"))
                continue
            args: dict[str, Optional[str]] = {}
            for line in _lines_or_list(inputs.get("build-args"), False):
                key, sep, value = line.partition("=")
                key = key.strip()
                if _GHA_EXPR in key:
                    problems.append(_problem(path, "workflow_expression", f"{path}: step {name!r}: a build argument "
                                                                          "name is a workflow expression; not used"))
                    continue
                if sep and _GHA_EXPR in value:
                    problems.append(_problem(path, "workflow_expression", f"{path}: step {name!r}: build argument "
                                             f"{key} is a workflow expression; its value is unknown"))
                    args[key] = None
                else:
                    args[key] = value if sep else None
            tags = []
            for tag in _lines_or_list(inputs.get("tags"), True):
                if _GHA_EXPR in tag:
                    problems.append(_problem(path, "workflow_expression", f"{path}: step {name!r}: a tag is a "
                                                                          "workflow expression; it is not used"))
                else:
                    tags.append(tag)
            ctx = _join(root, context)
            # build-push-action's file is relative to the workspace (the repository root), not to the context
            dockerfile = _join(root, fields["file"]) if fields["file"] else posixpath.join(ctx, "Dockerfile")
            builds.append(_build(path, "workflow", name, ctx, dockerfile, fields["target"], args, tags, "absolute"))
    return builds


# --------------------------------------------------------------------------------------------------
# one file, and every file of a host
# --------------------------------------------------------------------------------------------------
def _join(base: str, rel: str) -> str:
    return posixpath.normpath(rel if posixpath.isabs(rel) else posixpath.join(base, rel))


_Found = tuple[list[dict[str, Any]], list[dict[str, Any]]]


def parse_descriptor(path: str, text: str, kind: Optional[str] = None) -> _Found:
    """``(builds, problems)`` of one descriptor file; never raises.

    Each build: ``descriptor``, ``kind``, ``name`` (service, bake target or ``job/step``), ``context``
    (absolute), ``dockerfile`` (relative to the context, or absolute), ``target``, ``args`` (name ->
    value, None when unknown), ``tags`` (image names, the first is the image).
    """
    problems: list[dict[str, Any]] = []
    kind = kind or descriptor_kind(path)
    if kind == "compose":
        services = _compose_services(path, _load_yaml(path, text, problems), problems)
        services = resolve_extends(path, services, {path: services}, problems)
        return _compose_builds(path, services, problems), problems
    if kind == "bake":
        return _bake_builds(path, text, problems), problems
    if kind == "workflow":
        data = _load_yaml(path, text, problems)
        return _workflow_builds(path, data, problems), problems
    problems.append(_problem(path, "invalid_descriptor", f"{path} is not a build descriptor this scan reads"))
    return [], problems


def _compose_projects(descriptors: list[dict[str, Any]], problems: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """compose files as (path, services), each ``*.override.*`` merged into its folder's base file."""
    by_dir: dict[str, dict[str, Any]] = {}
    overrides: list[dict[str, Any]] = []
    plain: list[dict[str, Any]] = []
    for desc in descriptors:
        name = posixpath.basename(desc["path"])
        if _OVERRIDE_RE.match(name):
            overrides.append(desc)
        elif name.lower() in _BASE_COMPOSE and posixpath.dirname(desc["path"]) not in by_dir:
            by_dir[posixpath.dirname(desc["path"])] = desc
            plain.append(desc)
        else:
            plain.append(desc)
    loaded: dict[str, dict[str, Any]] = {}
    for desc in plain + overrides:
        loaded[desc["path"]] = _compose_services(desc["path"], _load_yaml(desc["path"], desc["text"], problems),
                                                 problems)
    # extends first, each file on its own (as compose loads each file), then the override files merged
    resolved = {p: resolve_extends(p, services, loaded, problems) for p, services in loaded.items()}
    out = []
    for desc in overrides:
        base = by_dir.get(posixpath.dirname(desc["path"]))
        if base is None:
            out.append((desc["path"], resolved[desc["path"]]))  # an override with no base file: read on its own
            continue
        services = resolved[base["path"]]
        for name, svc in resolved[desc["path"]].items():
            services[name] = _merge_service(services.get(name), svc)
    out.extend((desc["path"], resolved[desc["path"]]) for desc in plain)
    return out


def plan_builds(descriptors: Iterable[dict[str, Any]], roots: Iterable[str]) -> _Found:
    """Every declared build of a host, linked to its Dockerfile, and the descriptors' problems.

    ``descriptors``: what the host sent, ``{"path", "kind", "text", "error"}``. Returns ``(builds,
    problems)``; each build is one evaluation: ``dockerfile`` (absolute), ``context``, ``target``,
    ``args``, ``image`` (the first tag), ``tags`` and ``declared_by`` (every descriptor, service or target
    that declares exactly this build). A Dockerfile or context outside every scan root is a problem,
    never a build; so is one Dockerfile built differently (other context or arguments for the same
    target) by two descriptor files.
    """
    roots = [posixpath.normpath(r) for r in roots if r]
    problems: list[dict[str, Any]] = []
    uids: dict[str, Any] = {}
    raw: list[dict[str, Any]] = []
    compose: list[dict[str, Any]] = []
    for desc in descriptors:
        path = desc.get("path") or ""
        uids[path] = desc.get("uid")
        if desc.get("error"):
            err = desc["error"]
            problems.append(_problem(path, str(err.get("code") or "descriptor_unreadable"),
                                     str(err.get("message") or "not read")))
            continue
        kind = desc.get("kind") or descriptor_kind(path)
        if kind == "compose":
            compose.append({"path": path, "text": desc.get("text") or ""})
            continue
        builds, found = parse_descriptor(path, desc.get("text") or "", kind)
        raw.extend(builds)
        problems.extend(found)
    for path, services in _compose_projects(compose, problems):
        raw.extend(_compose_builds(path, services, problems))

    merged: dict[tuple, dict[str, Any]] = {}
    for b in raw:
        context = b["context"]
        dockerfile = b["dockerfile"] if b["dockerfile_base"] == "absolute" else _join(context, b["dockerfile"])
        where = f"{b['descriptor']}: {_UNIT[b['kind']]} {b['name']!r}"
        if not any(_inside(context, r) for r in roots):
            problems.append(_problem(b["descriptor"], "context_outside_roots", f"{where}: the build context {context} "
                                     "is outside every scan root; not followed"))
            continue
        if not any(_inside(dockerfile, r) for r in roots):
            problems.append(_problem(b["descriptor"], "context_outside_roots", f"{where}: the Dockerfile {dockerfile} "
                                     "is outside every scan root; not followed"))
            continue
        key = (dockerfile, context, b["target"], tuple(sorted(b["args"].items(), key=lambda kv: kv[0])))
        entry = merged.get(key)
        declared = {"path": b["descriptor"], "kind": b["kind"], "name": b["name"]}
        if isinstance(uids.get(b["descriptor"]), int):  # whose descriptor (the host's owner rule for what it names)
            declared["uid"] = uids[b["descriptor"]]
        if entry is None:
            merged[key] = {"dockerfile": dockerfile, "context": context, "target": b["target"], "args": dict(b["args"]),
                           "tags": list(b["tags"]), "image": b["tags"][0] if b["tags"] else None,
                           "declared_by": [declared]}
        else:
            entry["declared_by"].append(declared)
            entry["tags"].extend(t for t in b["tags"] if t not in entry["tags"])
            entry["image"] = entry["image"] or (b["tags"][0] if b["tags"] else None)
    builds = sorted(merged.values(), key=lambda e: (e["dockerfile"], e["target"] or "", e["context"],
                                                    sorted(e["args"].items())))
    by_target: dict[tuple, list[dict[str, Any]]] = {}
    for b in builds:
        by_target.setdefault((b["dockerfile"], b["target"]), []).append(b)
    for (dockerfile, target), same in by_target.items():
        files = {d["path"] for b in same for d in b["declared_by"]}
        if len(same) > 1 and len(files) > 1:
            first = same[0]["declared_by"][0]["path"]
            for other in sorted(files - {first}):
                problems.append(_problem(other, "conflicting_builds", f"{other} builds {dockerfile}"
                                         f"{f' (target {target})' if target else ''} differently from {first} (another "
                                         "context or other build arguments); each build is evaluated"))
    return builds, problems


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


# --------------------------------------------------------------------------------------------------
# one host's discovery result: declared builds in place of the default evaluation
# --------------------------------------------------------------------------------------------------
def _marked(problems: list[Any]) -> list[dict[str, Any]]:
    """Problems of descriptors and of the builds they declare, marked ``source: descriptor``: each one (but
    ``conflicting_builds``, where every build is evaluated) makes the run incomplete (``_completeness``)."""
    return [dict(p, source=DESCRIPTOR_SOURCE) for p in problems if isinstance(p, dict)]


def link_result(found: dict[str, Any], roots: list[str], evaluate: Any) -> dict[str, Any]:
    """``found`` (a ``dockerfile_info`` result, documents as ``dockerfiles_json`` or ``dockerfiles``) with the
    builds its ``descriptors`` declare evaluated in place of the default evaluation of their Dockerfiles.

    ``evaluate(builds)`` runs ``dockerfile_info`` with ``builds`` on the host and returns its result. A
    Dockerfile that a descriptor builds is evaluated once per declared build and its default document
    (the last stage from its own folder) is dropped; every other Dockerfile keeps its default document.
    The descriptors' problems join ``problems``; ``descriptors`` keeps each file's path, kind and error
    (not its text) and ``builds`` how many builds it declares. Raises ``ValueError`` on an undecodable answer.
    """
    out = dict(found)
    descriptors = [d for d in out.pop("descriptors", None) or [] if isinstance(d, dict)]
    if not descriptors:
        return out
    builds, problems = plan_builds(descriptors, roots)
    counts: dict[str, int] = {}
    for b in builds:
        for decl in b["declared_by"]:
            counts[decl["path"]] = counts.get(decl["path"], 0) + 1
    out["descriptors"] = [{"path": d.get("path"), "kind": d.get("kind"), "error": d.get("error"),
                           "builds": counts.get(str(d.get("path")), 0)} for d in descriptors]
    out["problems"] = list(out.get("problems") or []) + _marked(problems)
    if not builds:
        return out
    answer = evaluate(builds)
    if answer.get("failed") or answer.get("unreachable"):
        out["problems"].extend(_marked([{"path": roots[0] if roots else "", "code": "builds_not_evaluated",
                                         "message": "the declared builds could not be evaluated on the host: "
                                                    f"{answer.get('msg') or 'failed'}; each Dockerfile is evaluated "
                                                    "as its last stage from its own folder"}]))
        return out
    encoded = "dockerfiles_json" in out
    docs = json.loads(out["dockerfiles_json"]) if encoded else list(out.get("dockerfiles") or [])
    extra = answer.get("dockerfiles")
    if extra is None:
        extra = json.loads(answer.get("dockerfiles_json") or "[]")
    declared = {d.get("path") for d in extra if isinstance(d, dict)}
    docs = [d for d in docs if d.get("path") not in declared] + list(extra)
    out["problems"].extend(_marked(answer.get("problems") or []))
    if encoded:
        out["dockerfiles_json"] = json.dumps(docs, separators=(",", ":"))
    else:
        out["dockerfiles"] = docs
    summary = dict(out.get("summary") or {})
    summary["dockerfiles"] = len(docs)
    summary["declared_builds"] = len(extra)
    out["summary"] = summary
    if "host_summary" in out:
        from ansible_collections.refarch.containers.plugins.module_utils._discovery import (  # noqa: PLC0415
            _host_row,
            _summarize,
        )
        out["host_summary"] = _summarize([_host_row(d) for d in docs], len(out["problems"]))
    return out


def _norm_ref(ref: str) -> str:
    """An image reference as compared with a descriptor's: ``web:1``, ``localhost/web:1`` and
    ``docker.io/library/web:1`` are one name; no tag is ``latest``."""
    parsed = ImageRef.parse(ref.strip())
    registry, path = parsed.registry, parsed.path
    if registry == "localhost" or registry in DOCKER_HUB_REGISTRIES:
        registry = None
    if registry is None and path.startswith("library/"):
        path = path[len("library/"):]
    tag = parsed.tag if parsed.tag is not None or parsed.digest is not None else "latest"
    return (path if registry is None else f"{registry}/{path}") + (f":{tag}" if tag is not None else "") \
        + (f"@{parsed.digest}" if parsed.digest is not None else "")


def link_images(images: list[dict[str, Any]], dockerfiles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Image documents with ``dockerfile`` linked (``source: descriptor``) to the Dockerfile a build descriptor
    tags with the image's name, when no label links it already. Returns new documents; pure."""
    by_ref: dict[str, dict[str, Any]] = {}
    for doc in dockerfiles:
        build = doc.get("build") if isinstance(doc, dict) else None
        if not isinstance(build, dict):
            continue
        for tag in build.get("tags") or []:
            if isinstance(tag, str) and tag:
                by_ref.setdefault(_norm_ref(tag), doc)
    if not by_ref:
        return images
    out = []
    for img in images:
        link = img.get("dockerfile") if isinstance(img, dict) else None
        if not isinstance(img, dict) or (isinstance(link, dict) and link.get("path")):
            out.append(img)
            continue
        names = [img.get("image"), *(img.get("tags") or [])]
        match = next((by_ref[_norm_ref(n)] for n in names if isinstance(n, str) and _norm_ref(n) in by_ref), None)
        if match is None:
            out.append(img)
        else:
            out.append(dict(img, dockerfile={"path": match.get("path"), "sha256": match.get("sha256"),
                                             "source": "descriptor", "valid": bool(match.get("sha256"))}))
    return out
