# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Normalized facts for one container (``kind: container``), host side, stdlib only.

``container_facts()`` is pure: one ``podman container inspect`` / ``docker container
inspect`` object (plus, optionally, the ``kind: image`` document of its image) in, one
JSON-ready dict out, shaped as ``docs/contracts.md`` section 7 and
``policies/schema/image.schema.json`` (``$defs/container``) describe. Every key is always
present. Secrets in ENV, labels and the command line are redacted as for images.

What the policies need from a running container: who it runs as, what PID 1 is and
whether an init stands in front of node (``--init`` or tini/dumb-init in the command),
the memory limit and the Node.js heap limit (``--max-old-space-size`` from the command
or ``NODE_OPTIONS``) to compare them, published ports, privileged mode and the restart
policy.
"""

from __future__ import annotations

import posixpath
from re import Pattern
from typing import Any, Optional

from ansible_collections.refarch.containers.plugins.module_utils._image_facts import (
    SCHEMA_VERSION,
    bare_id,
    clean_argv,
    env_map,
    full_id,
    get_ci,
    heap_limit,
    port_entries,
    redact_mapping,
    run_process,
    scrub_values,
    start_script_heap,
    user_entry,
)
from ansible_collections.refarch.containers.plugins.module_utils._node_scope import image_node_scope
from ansible_collections.refarch.containers.plugins.module_utils._redact import SECRET_NAME_RE
from ansible_collections.refarch.containers.plugins.module_utils._runtime_cli import iso_utc, parse_timestamp
from ansible_collections.refarch.containers.plugins.module_utils._shellcmd import NODE_PROGRAMS

_MB = 1048576


def _published(ports: Any) -> list[dict[str, Any]]:
    """``{"80/tcp": [{"HostIp", "HostPort"}]}`` (or podman's list form) → sorted bindings."""
    out: list[dict[str, Any]] = []
    if isinstance(ports, dict):
        for key, bindings in ports.items():
            port, dummy, proto = str(key).partition("/")
            for b in bindings or []:
                if not isinstance(b, dict):
                    continue
                host_port = str(get_ci(b, "HostPort") or "")
                out.append({"container_port": int(port) if port.isdigit() else None, "protocol": proto or "tcp",
                            "host_ip": get_ci(b, "HostIp") or None,
                            "host_port": int(host_port) if host_port.isdigit() else None})
    elif isinstance(ports, list):  # podman `ps` style: [{"container_port", "host_port", ...}]
        for b in ports:
            if isinstance(b, dict) and b.get("container_port") is not None:
                out.append({"container_port": b.get("container_port"), "protocol": b.get("protocol") or "tcp",
                            "host_ip": b.get("host_ip") or None, "host_port": b.get("host_port")})
    out.sort(key=lambda p: (p["container_port"] or 0, p["protocol"], p["host_ip"] or "", p["host_port"] or 0))
    return out


def _exposed(config: dict[str, Any], ports: Any, image: Optional[dict[str, Any]],
             problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Config.ExposedPorts (docker), else the keys of the port map (podman lists exposed ports there with
    no binding), else the image's."""
    if config.get("ExposedPorts"):
        return port_entries(config.get("ExposedPorts"), problems)
    if isinstance(ports, dict) and ports:
        return port_entries(list(ports.keys()), problems)
    if image and isinstance(image.get("exposed_ports"), list):
        return [dict(p) for p in image["exposed_ports"]]
    return []


def _is_node(command: list[str], image: Optional[dict[str, Any]], env: dict[str, Any]) -> bool:
    for word in command[:1]:
        if posixpath.basename(word) in NODE_PROGRAMS:
            return True
    if command and posixpath.basename(command[0]) in ("sh", "bash") and any(
            posixpath.basename(w) in NODE_PROGRAMS for w in command[1:]):
        return True
    return bool(not command and image and (image.get("node") or {}).get("version"))


def _positive_int(value: Any) -> Optional[int]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value) if value > 0 else None


def container_facts(inspect: Any, engine: str = "podman", image: Optional[dict[str, Any]] = None,
                    names_re: Pattern[str] = SECRET_NAME_RE) -> dict[str, Any]:
    """Normalize one container inspect object into a ``kind: container`` facts document.

    ``image``: the ``kind: image`` document of the container's image, when known; the
    container document then carries its node version and Dockerfile link.
    """
    problems: list[dict[str, Any]] = []
    if not isinstance(inspect, dict):
        problems.append({"code": "not_an_object", "message": "inspect output is not an object"})
        inspect = {}
    config = inspect.get("Config") if isinstance(inspect.get("Config"), dict) else {}
    host = inspect.get("HostConfig") if isinstance(inspect.get("HostConfig"), dict) else {}
    state = inspect.get("State") if isinstance(inspect.get("State"), dict) else {}
    net = inspect.get("NetworkSettings") if isinstance(inspect.get("NetworkSettings"), dict) else {}
    cid = bare_id(inspect.get("Id") or inspect.get("ID"))
    secrets: list[str] = []
    env, env_secrets = env_map(config.get("Env"), names_re)
    secrets.extend(env_secrets)
    labels = redact_mapping(config.get("Labels"), secrets, names_re)
    scrub_values(env, secrets)
    path = inspect.get("Path")
    args = inspect.get("Args") if isinstance(inspect.get("Args"), list) else []
    argv = ([str(path)] if path else []) + [str(a) for a in args]
    argv = clean_argv(argv, None, secrets, names_re)[0] or []
    process = run_process(argv, None)
    init_flag = bool(host.get("Init"))
    init_process = (process or {}).get("init")
    command = (process or {}).get("command") or []
    memory = _positive_int(host.get("Memory"))
    heap = start_script_heap(heap_limit(process, env), process, env, memory)
    heap_bytes = heap["mb"] * _MB if heap["mb"] is not None else None
    restart = host.get("RestartPolicy") if isinstance(host.get("RestartPolicy"), dict) else {}
    ports = net.get("Ports") if net.get("Ports") else host.get("PortBindings")
    created_epoch = parse_timestamp(inspect.get("Created"))
    started_epoch = parse_timestamp(state.get("StartedAt"))
    image_ref = config.get("Image") or inspect.get("ImageName") or None
    node = dict(image.get("node")) if image and isinstance(image.get("node"), dict) else {
        "version": None, "major": None, "source": None, "source_key": None, "probe": None}
    is_node = _is_node(command, image, env)
    doc = {
        "schema_version": SCHEMA_VERSION,
        "kind": "container",
        "engine": engine,
        "id": cid,
        "short_id": (cid or "")[:12] or None,
        "name": str(inspect.get("Name") or "").lstrip("/") or None,
        "image": str(image_ref) if image_ref else None,
        "image_id": full_id(inspect.get("Image")),
        "state": (state.get("Status") or None),
        "running": bool(state.get("Running")),
        "exit_code": state.get("ExitCode") if isinstance(state.get("ExitCode"), int) else None,
        "health": ((state.get("Health") or state.get("Healthcheck") or {}).get("Status") or None)
        if isinstance(state.get("Health") or state.get("Healthcheck"), dict) else None,
        "created": iso_utc(created_epoch),
        "started_at": iso_utc(started_epoch),
        "user": user_entry(config.get("User")),
        "env": env,
        "labels": labels,
        "process": process,
        "pid1": argv[0] if argv else None,
        "init": {"flag": init_flag, "process": init_process, "effective": init_flag or init_process is not None},
        "memory_limit": memory,
        "memory_limit_mb": round(memory / float(_MB), 1) if memory else None,
        "memory_swap_limit": _positive_int(host.get("MemorySwap")),
        "node": {
            "is_node": is_node,
            "version": node.get("version"),
            "major": node.get("major"),
            "source": node.get("source"),
        },
        "heap_limit": heap,
        "heap_exceeds_memory": (heap_bytes > memory) if heap_bytes is not None and memory else None,
        "exposed_ports": _exposed(config, ports, image, problems),
        "published_ports": _published(ports),
        "privileged": bool(host.get("Privileged")),
        "readonly_rootfs": bool(host.get("ReadonlyRootfs")),
        "cap_add": [str(c) for c in (host.get("CapAdd") or [])],
        "cap_drop": [str(c) for c in (host.get("CapDrop") or [])],
        "network_mode": host.get("NetworkMode") or None,
        "pids_limit": _positive_int(host.get("PidsLimit")),
        "restart_policy": {"name": (restart.get("Name") or "no") if restart else "no",
                           "maximum_retry_count": restart.get("MaximumRetryCount") or 0},
        "image_facts": {"id": image.get("id"), "image": image.get("image"), "dockerfile": image.get("dockerfile"),
                        "base": image.get("base")} if image else None,
        "problems": problems,
        "error": None,
    }
    doc["node_scope"] = image_node_scope(doc, image)
    return doc


def container_error_document(container_id: Optional[str], engine: str, code: str, message: str) -> dict[str, Any]:
    """A ``kind: container`` document for a container that could not be inspected."""
    doc = container_facts({"Id": container_id}, engine)
    doc["error"] = {"code": code, "message": message}
    doc["node_scope"] = image_node_scope(doc)
    return doc
