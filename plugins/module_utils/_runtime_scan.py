# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What ``image_info`` and ``container_info`` do, without Ansible (host side, stdlib only).

``scan_images(params)`` and ``scan_containers(params)`` take the modules' parameters as a
plain dict, talk to the engines through ``_runtime_cli`` and return the module result
(``images`` / ``containers``, ``engines``, counts). They never raise for an engine
problem: each engine's trouble is in its ``engines`` entry. Bad option values raise
ValueError (the module turns that into ``fail_json``).
"""

from __future__ import annotations

import fnmatch
import time
from typing import Any, Optional

from ansible_collections.refarch.containers.plugins.module_utils._container_facts import (
    container_error_document,
    container_facts,
)
from ansible_collections.refarch.containers.plugins.module_utils._image_facts import (
    DEFAULT_HISTORY_LIMIT,
    bare_id,
    image_error_document,
    image_facts,
)
from ansible_collections.refarch.containers.plugins.module_utils._redact import compile_secret_names
from ansible_collections.refarch.containers.plugins.module_utils._runtime_cli import (
    DEFAULT_TIMEOUT,
    ContainerRuntime,
    RuntimeCommandError,
    detect_runtimes,
    parse_duration,
    select_images,
)


def runtime_argument_spec() -> dict[str, Any]:
    """The options both modules share (container runtime selection and storage).

    ``runtime`` and ``require_runtime`` were called ``engine`` and ``require_engine``; the old names stay
    as aliases (the "engine" of this collection is the policy engine)."""
    return dict(
        runtime=dict(type="str", default="auto", choices=["auto", "podman", "docker"], aliases=["engine"]),
        executable=dict(type="path"),
        docker_host=dict(type="str"),
        podman_root=dict(type="path"),
        podman_runroot=dict(type="path"),
        podman_storage_driver=dict(type="str"),
        podman_user=dict(type="str"),
        timeout=dict(type="float", default=float(DEFAULT_TIMEOUT)),
        require_runtime=dict(type="bool", default=False, aliases=["require_engine"]),
        redact_names=dict(type="list", elements="str", default=[]),
    )


def image_argument_spec() -> dict[str, Any]:
    """``image_info`` options."""
    spec = runtime_argument_spec()
    spec.update(
        names=dict(type="list", elements="str", default=[]),
        dangling=dict(type="str", default="include", choices=["include", "exclude", "only"]),
        max_age=dict(type="str"),
        min_age=dict(type="str"),
        include_history=dict(type="bool", default=False),
        history_limit=dict(type="int", default=DEFAULT_HISTORY_LIMIT),
        node_version_probe=dict(type="str", default="off", choices=["off", "missing", "always"]),
        probe_timeout=dict(type="float", default=60.0),
        max_probes=dict(type="int", default=20),
        max_images=dict(type="int", default=1000),
    )
    return spec


def container_argument_spec() -> dict[str, Any]:
    """``container_info`` options."""
    spec = runtime_argument_spec()
    spec.update(
        names=dict(type="list", elements="str", default=[]),
        all=dict(type="bool", default=False),
        max_containers=dict(type="int", default=1000),
    )
    return spec


def _engines(params: dict[str, Any]):
    timeout = params.get("timeout") or DEFAULT_TIMEOUT
    if timeout <= 0:
        raise ValueError("timeout must be positive")
    return detect_runtimes(runtime=params.get("runtime") or "auto", executable=params.get("executable"),
                           docker_host=params.get("docker_host"), podman_root=params.get("podman_root"),
                           podman_runroot=params.get("podman_runroot"),
                           podman_storage_driver=params.get("podman_storage_driver"),
                           podman_user=params.get("podman_user"), timeout=timeout)


def _mark_failed(status: list[dict[str, Any]], eng: ContainerRuntime, exc: RuntimeCommandError) -> None:
    for entry in status:
        if entry["name"] == eng.name and entry["available"]:
            entry["available"] = False
            entry["error"] = exc.message
            entry["error_code"] = exc.code


def _finish(result: dict[str, Any], engines: list[ContainerRuntime], status: list[dict[str, Any]],
            require: bool, started: float) -> dict[str, Any]:
    result["engines"] = status
    result["commands"] = [argv for eng in engines for argv in eng.commands][:200]
    result["elapsed"] = round(time.time() - started, 3)
    usable = [e for e in status if e["available"]]
    result["engine_error"] = None
    if not usable:
        reasons = "; ".join("{}: {}".format(e["name"], e["error"]) for e in status if e.get("error")) or "none found"
        result["engine_error"] = f"no usable container engine ({reasons})"
        if require:
            raise RuntimeCommandError("no_engine", result["engine_error"])
    return result


def _retry_once(call):
    """Run an engine listing; once more after a short pause when it failed outright (an image or container
    removed while the engine walked its store makes podman fail the whole listing)."""
    try:
        return call()
    except RuntimeCommandError as exc:
        if exc.code != "command_failed":
            raise
        time.sleep(0.5)
        return call()


def scan_images(params: dict[str, Any], now: Optional[float] = None) -> dict[str, Any]:
    """List, filter, inspect and normalize the images of every usable engine."""
    started = time.time()
    now = started if now is None else now
    max_age = parse_duration(params.get("max_age"))
    min_age = parse_duration(params.get("min_age"))
    max_images = params.get("max_images", 1000)
    if max_images is None or max_images < 0:
        raise ValueError("max_images must be 0 or more")
    history_limit = params.get("history_limit", DEFAULT_HISTORY_LIMIT)
    if history_limit is None or history_limit < 0:
        raise ValueError("history_limit must be 0 or more")
    names_re = compile_secret_names(params.get("redact_names") or [])
    probe_mode = params.get("node_version_probe") or "off"
    probes_left = params.get("max_probes", 20) or 0
    engines, status = _engines(params)
    images: list[dict[str, Any]] = []
    matched = 0
    truncated = False
    for eng in engines:
        try:
            listing = _retry_once(eng.list_images)
            selected = select_images(listing, names=params.get("names") or None,
                                     dangling=params.get("dangling") or "include",
                                     max_age=max_age, min_age=min_age, now=now)
            matched += len(selected)
            budget = max_images - len(images)
            if len(selected) > budget:
                truncated = True
                selected = selected[:max(budget, 0)]
            inspected, errors = eng.inspect_images([s["id"] for s in selected])
        except RuntimeCommandError as exc:
            _mark_failed(status, eng, exc)
            continue
        names_by_id = {s["id"]: s["names"] for s in selected}
        for data in inspected:
            iid = bare_id(data.get("Id") or data.get("ID")) if isinstance(data, dict) else None
            history = None
            extra_problems = []
            if params.get("include_history") and eng.name == "docker" and iid:
                try:
                    history = eng.image_history(iid)
                except RuntimeCommandError as exc:
                    extra_problems.append({"code": "history_failed", "message": exc.message})
            probe = None
            if probe_mode != "off" and iid and probes_left > 0:
                env = ((data.get("Config") or {}).get("Env") or []) if isinstance(data, dict) else []
                known = any(str(e).startswith(("NODE_VERSION=", "NODEJS_VERSION=")) for e in env)
                if probe_mode == "always" or not known:
                    probes_left -= 1
                    probe = eng.probe_node_version(iid, params.get("probe_timeout") or 60.0)
            doc = image_facts(data, eng.name, history=history, probe=probe,
                              include_history=bool(params.get("include_history")),
                              history_limit=history_limit, names_re=names_re, now=now)
            doc["problems"].extend(extra_problems)
            if not doc["tags"] and names_by_id.get(iid):  # podman lists names inspect may not repeat
                doc["tags"] = list(names_by_id[iid])
            images.append(doc)
        for err in errors:
            names = names_by_id.get(err["id"]) or []
            images.append(image_error_document(err["id"], eng.name, err["error"]["code"], err["error"]["message"],
                                               names[0] if names else None))
    result = {"changed": False, "images": images, "matched": matched, "truncated": truncated,
              "image_count": len(images)}
    return _finish(result, engines, status, bool(params.get("require_runtime")), started)


def scan_containers(params: dict[str, Any]) -> dict[str, Any]:
    """List, inspect and normalize the (running, or all) containers of every usable engine."""
    started = time.time()
    max_containers = params.get("max_containers", 1000)
    if max_containers is None or max_containers < 0:
        raise ValueError("max_containers must be 0 or more")
    names_re = compile_secret_names(params.get("redact_names") or [])
    patterns = params.get("names") or []
    engines, status = _engines(params)
    containers: list[dict[str, Any]] = []
    matched = 0
    truncated = False
    for eng in engines:
        try:
            ids = _retry_once(lambda eng=eng: eng.list_containers(all_states=bool(params.get("all"))))
            inspected, errors = eng.inspect_containers(ids)
        except RuntimeCommandError as exc:
            _mark_failed(status, eng, exc)
            continue
        image_cache: dict[str, Any] = {}
        for data in inspected:
            name = str(data.get("Name") or "").lstrip("/")
            if patterns and not any(fnmatch.fnmatchcase(name, p) or (data.get("Id") or "").startswith(p)
                                    for p in patterns):
                continue
            matched += 1
            if len(containers) >= max_containers:
                truncated = True
                continue
            image_id = bare_id(data.get("Image"))
            image_doc = None
            if image_id:
                if image_id not in image_cache:
                    try:
                        found, _errs = eng.inspect_images([image_id])
                        image_cache[image_id] = found[0] if found else None
                    except RuntimeCommandError:
                        image_cache[image_id] = None
                if image_cache[image_id] is not None:
                    image_doc = image_facts(image_cache[image_id], eng.name, names_re=names_re)
            containers.append(container_facts(data, eng.name, image=image_doc, names_re=names_re))
        for err in errors:
            containers.append(container_error_document(err["id"], eng.name, err["error"]["code"],
                                                       err["error"]["message"]))
    result = {"changed": False, "containers": containers, "matched": matched, "truncated": truncated,
              "container_count": len(containers)}
    return _finish(result, engines, status, bool(params.get("require_runtime")), started)
