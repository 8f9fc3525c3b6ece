# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Normalized facts for one container image (``kind: image``), host side, stdlib only.

``image_facts()`` is pure: the JSON one ``podman image inspect`` or ``docker image
inspect`` prints for an image (plus, optionally, its history and a node version
probe result) in, one JSON-ready dict out, shaped as ``docs/contracts.md`` section 7
and ``policies/schema/image.schema.json`` describe. Every key is always present
(null / [] / {} when unknown), whatever the engine or however odd the config.

Secrets: ENV and label values whose names look secret (``_redact.is_secret_name``)
are replaced by ``<redacted>``; every other value, the ENTRYPOINT/CMD words and the
history lines go through ``_redact.redact_text`` (inline ``NAME=secret``, URL
passwords, ``--password x``) and ``redact_literals`` (a redacted value repeated
elsewhere). Nothing secret-looking leaves the host.

The helpers shared with ``_container_facts`` (user, ports, process, heap limit) are
public here so both kinds read the same way.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Iterable
from re import Pattern
from typing import Any, Optional

from ansible_collections.refarch.containers.plugins.module_utils._image_ref import ImageRef, image_ref_facts
from ansible_collections.refarch.containers.plugins.module_utils._node_scope import image_node_scope
from ansible_collections.refarch.containers.plugins.module_utils._redact import (
    REDACTED,
    SECRET_NAME_RE,
    is_placeholder,
    is_secret_name,
    redact_literals,
    redact_text,
)
from ansible_collections.refarch.containers.plugins.module_utils._redact_spans import redact_argv
from ansible_collections.refarch.containers.plugins.module_utils._runtime_cli import iso_utc, parse_timestamp
from ansible_collections.refarch.containers.plugins.module_utils._shellcmd import HEAP_WRAPPER, INIT_PROGRAMS

_HEAP_WRAPPER_NAME = posixpath.basename(HEAP_WRAPPER)

SCHEMA_VERSION = "1.1"
DEFAULT_HISTORY_LIMIT = 50
MAX_LAYER_IDS = 200
LABEL_DOCKERFILE_PATH = "io.refarch.containers.dockerfile.path"
LABEL_DOCKERFILE_SHA256 = "io.refarch.containers.dockerfile.sha256"
BASE_NAME_KEY = "org.opencontainers.image.base.name"
BASE_DIGEST_KEY = "org.opencontainers.image.base.digest"
# labels that carry a Node.js version, checked in this order
NODE_VERSION_LABELS = ("org.nodejs.version", "io.nodejs.version", "nodejs.version", "node.version",
                       "node_version", "NODE_VERSION")
NODE_VERSION_ENVS = ("NODE_VERSION", "NODEJS_VERSION")
SHELLS = frozenset(("sh", "bash", "ash", "dash", "zsh", "ksh"))
INITS = INIT_PROGRAMS
ENTRYPOINT_WRAPPERS = frozenset(("docker-entrypoint.sh", "docker-entrypoint", "entrypoint.sh",
                                 _HEAP_WRAPPER_NAME))
# init options that take a value (tini: -p -e -l? ; dumb-init: -r/--rewrite)
_INIT_VALUE_OPTS = frozenset(("-p", "-e", "-r", "--rewrite"))
_VERSION_RE = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?")
_HEAP_RE = re.compile(r"--max[-_]old[-_]space[-_]size(?:=|\s+)(\S+)")
_PORT_RE = re.compile(r"^(\d+)(?:-(\d+))?(?:/([A-Za-z]+))?$")
_NANO = 1000000000


# --------------------------------------------------------------------------
# small shared helpers
# --------------------------------------------------------------------------
def bare_id(value: Any) -> Optional[str]:
    """``abc...`` from ``sha256:abc...`` or ``abc...``; None when empty."""
    text = str(value or "").strip()
    if text.startswith("sha256:"):
        text = text[7:]
    return text or None


def full_id(value: Any) -> Optional[str]:
    """``sha256:<hex>`` whatever the engine printed."""
    bare = bare_id(value)
    return "sha256:" + bare if bare else None


def get_ci(mapping: Any, *keys: str) -> Any:
    """First present key of a dict, also trying each key case-insensitively (engines disagree on case)."""
    if not isinstance(mapping, dict):
        return None
    for key in keys:
        if key in mapping:
            return mapping[key]
    lower = {str(k).lower(): v for k, v in mapping.items()}
    for key in keys:
        if key.lower() in lower:
            return lower[key.lower()]
    return None


def user_entry(raw: Any) -> dict[str, Any]:
    """The config user as facts: ``{raw, name, group, uid, line, source, is_root}``.

    An empty user means the engine default, root (``source: "default"``, ``uid: 0``).
    ``uid`` is numeric only when the user is numeric or ``root``; a named user's uid is
    not known without reading the image's /etc/passwd (null).
    """
    text = "" if raw is None else str(raw).strip()
    if not text:
        return {"raw": text, "name": None, "group": None, "uid": 0, "line": None, "source": "default",
                "is_root": True}
    name, sep, group = text.partition(":")
    uid: Optional[int] = None
    if name == "root":
        uid = 0
    elif name.isdigit():
        uid = int(name)
    return {"raw": text, "name": name or None, "group": group if sep and group else None, "uid": uid,
            "line": None, "source": "config", "is_root": uid == 0 or not name}


def port_entries(exposed: Any, problems: Optional[list[dict[str, Any]]] = None) -> list[dict[str, Any]]:
    """``{"80/tcp": {}}`` (or a list of such keys) → sorted ``[{port, end_port, protocol, raw, line, resolved}]``."""
    keys: Iterable[Any]
    if isinstance(exposed, dict):
        keys = exposed.keys()
    elif isinstance(exposed, list):
        keys = exposed
    else:
        keys = []
    out = []
    for key in keys:
        raw = str(key)
        m = _PORT_RE.match(raw.strip())
        if not m:
            if problems is not None:
                problems.append({"code": "invalid_port", "message": f"exposed port {raw!r} is not port[/protocol]"})
            out.append({"port": None, "end_port": None, "protocol": raw.rpartition("/")[2].lower() or "tcp",
                        "raw": raw, "line": None, "resolved": False})
            continue
        port = int(m.group(1))
        end = int(m.group(2)) if m.group(2) else port
        out.append({"port": port, "end_port": end, "protocol": (m.group(3) or "tcp").lower(), "raw": raw,
                    "line": None, "resolved": True})
    out.sort(key=lambda p: (p["port"] is None, p["port"] or 0, p["protocol"], p["raw"]))
    return out


def env_map(env_list: Any, names_re: Pattern[str] = SECRET_NAME_RE) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """``["A=b", ...]`` → ``({"A": {value, line, redacted}}, [secret values seen])``; last one wins."""
    out: dict[str, dict[str, Any]] = {}
    secrets: list[str] = []
    if isinstance(env_list, dict):
        env_list = [f"{k}={v}" for k, v in env_list.items()]
    for item in env_list if isinstance(env_list, list) else []:
        name, sep, value = str(item).partition("=")
        if not name:
            continue
        val: Optional[str] = value if sep else None
        redacted = False
        if val and is_secret_name(name, names_re):
            if not is_placeholder(val):
                secrets.append(val)
                val = REDACTED
            redacted = True
        elif val:
            cleaned = redact_text(val, names_re, name)  # the name says whether a hex value is a checksum
            redacted = cleaned != val
            val = cleaned
        out[name] = {"value": val, "line": None, "redacted": redacted}
    return out, secrets


def scrub_values(env: dict[str, dict[str, Any]], secrets: list[str]) -> None:
    """Second pass over ENV entries: a known secret value repeated inside another value is redacted too."""
    literals = [s for s in secrets if len(s) >= 4]
    if not literals:
        return
    for entry in env.values():
        value = entry.get("value")
        if value and value != REDACTED:
            cleaned = redact_literals(value, literals)
            if cleaned != value:
                entry["value"], entry["redacted"] = cleaned, True


def redact_mapping(mapping: Any, secrets: list[str], names_re: Pattern[str] = SECRET_NAME_RE) -> dict[str, str]:
    """Labels/annotations: secret-named values replaced, others scrubbed of inline secrets (adds to ``secrets``)."""
    out: dict[str, str] = {}
    if not isinstance(mapping, dict):
        return out
    for key, value in mapping.items():
        text = "" if value is None else str(value)
        if text and is_secret_name(str(key), names_re) and not is_placeholder(text):
            secrets.append(text)
            out[str(key)] = REDACTED
        else:
            out[str(key)] = redact_text(text, names_re, str(key))  # the key says whether hex is a checksum
    return out


def clean_argv(entrypoint: Optional[list[str]], cmd: Optional[list[str]], secrets: list[str],
               names_re: Pattern[str] = SECRET_NAME_RE) -> tuple[Optional[list[str]], Optional[list[str]]]:
    """ENTRYPOINT and CMD words with secrets hidden, judged as the one argv they make (``--token X``)."""
    words = [str(w) for w in (entrypoint or []) + (cmd or [])]
    clean = redact_argv(words, names_re, literals=secrets)
    n = len(entrypoint or [])
    return (clean[:n] if entrypoint is not None else None), (clean[n:] if cmd is not None else None)


def scrub(text: Optional[str], secrets: list[str], names_re: Pattern[str] = SECRET_NAME_RE) -> Optional[str]:
    """Free text with inline and known secrets redacted."""
    if text is None:
        return None
    return redact_literals(redact_text(text, names_re), [s for s in secrets if len(s) >= 4])


def _words(value: Any) -> Optional[list[str]]:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    return None


def _split(cmd: str) -> list[str]:
    try:
        return shlex.split(cmd, comments=False, posix=True)
    except ValueError:
        return cmd.split()


def shell_command_of(argv: list[str]) -> Optional[str]:
    """The command string when ``argv`` is ``<shell> -c "<command>"`` (what shell form becomes)."""
    if len(argv) >= 3 and posixpath.basename(argv[0]) in SHELLS and argv[1] == "-c":
        return argv[2]
    return None


def process_entry(words: Optional[list[str]]) -> Optional[dict[str, Any]]:
    """An image's ENTRYPOINT or CMD as a ``Process`` (form inferred: ``sh -c x`` is shell form)."""
    if words is None or not words:
        return None
    shell = shell_command_of(words)
    if shell is not None and len(words) == 3:
        return {"form": "shell", "argv": _split(shell), "raw": shell, "line": None}
    return {"form": "exec", "argv": list(words), "raw": " ".join(words), "line": None}


def effective_command(argv: list[str]) -> tuple[Optional[str], list[str], list[str]]:
    """Peel what stands in front of the program: ``(init, wrappers, command argv)``.

    Strips an official-image ``docker-entrypoint.sh``, an init (tini, dumb-init, ...) with its
    options and ``--``, ``sh -c "..."`` (split, a leading ``exec`` dropped), in any order.
    """
    init: Optional[str] = None
    wrappers: list[str] = []
    rest = list(argv)
    for dummy in range(8):
        if not rest:
            break
        head = posixpath.basename(rest[0])
        if head in ENTRYPOINT_WRAPPERS:
            wrappers.append(rest[0])
            rest = rest[1:]
            continue
        if head in INITS and init is None:
            init = head
            i = 1
            while i < len(rest) and rest[i].startswith("-") and rest[i] != "--":
                i += 2 if rest[i] in _INIT_VALUE_OPTS else 1
            if i < len(rest) and rest[i] == "--":
                i += 1
            rest = rest[i:]
            continue
        shell = shell_command_of(rest)
        if shell is not None:
            wrappers.append(f"{rest[0]} -c")
            rest = _split(shell)
            if rest and rest[0] == "exec":
                rest = rest[1:]
            continue
        break
    return init, wrappers, rest


def run_process(entrypoint: Optional[list[str]], cmd: Optional[list[str]]) -> Optional[dict[str, Any]]:
    """What the engine runs for this config: ENTRYPOINT + CMD, with ``init`` and ``command`` peeled out.

    ``form`` is ``shell`` when a ``<shell> -c "<command>"`` stands anywhere in the chain (a shell-form
    CMD or ENTRYPOINT, also behind ``docker-entrypoint.sh`` or an init); ``shell_command`` is that command.
    """
    argv = list(entrypoint or []) + list(cmd or [])
    if not argv:
        return None
    init, wrappers, command = effective_command(argv)
    shell = None
    for i in range(len(argv)):
        shell = shell_command_of(argv[i:])
        if shell is not None:
            break
    return {"argv": argv, "form": "shell" if shell is not None else "exec",
            "shell_command": shell, "line": None, "init": init, "wrappers": wrappers, "command": command}


def _megabytes(raw: str) -> Optional[int]:
    m = re.match(r"^(\d+)$", raw)
    return int(m.group(1)) if m else None


def heap_limit(process: Optional[dict[str, Any]], env: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``--max-old-space-size`` from the command (wins) or NODE_OPTIONS.

    ``{"raw", "mb", "source": "command"|"NODE_OPTIONS"|null, "from_env": VAR|null}``; ``mb`` is
    null when the value is an unexpanded variable (then ``from_env`` names it).
    """
    found: Optional[tuple[str, str]] = None
    texts: list[str] = []
    if process:
        texts = [" ".join(process.get("argv") or [])]
    for text in texts:
        m = _HEAP_RE.search(text)
        if m:
            found = (m.group(1), "command")
    if found is None:
        opts = (env.get("NODE_OPTIONS") or {}).get("value")
        if opts:
            m = _HEAP_RE.search(opts)
            if m:
                found = (m.group(1), "NODE_OPTIONS")
    if found is None:
        return {"raw": None, "mb": None, "source": None, "from_env": None}
    raw = found[0].strip("\"'")
    var = None
    vm = re.match(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)", raw)
    if vm:
        var = vm.group(1)
    return {"raw": raw, "mb": _megabytes(raw), "source": found[1], "from_env": var}


def start_script_heap(heap: dict[str, Any], process: Optional[dict[str, Any]], env: dict[str, dict[str, Any]],
                      memory: Optional[int]) -> dict[str, Any]:
    """The heap limit a container started through the heap start script (``HEAP_WRAPPER``, written by the
    ``set_heap_limit`` fix) gets: the script appends ``--max-old-space-size`` to NODE_OPTIONS at start, from
    ``MAX_NODE_MEMORY`` or ``HEAP_MEMORY_PERCENT`` (default 75) % of the memory limit, with the script's own
    integer arithmetic. A flag on the command line wins over NODE_OPTIONS, and without a limit (or a value the
    script would not use) NODE_OPTIONS stays as the image sets it: ``heap`` is returned unchanged then.
    """
    wrappers = (process or {}).get("wrappers") or []
    if heap.get("source") == "command" or not any(posixpath.basename(w) == _HEAP_WRAPPER_NAME for w in wrappers):
        return heap
    value = str((env.get("MAX_NODE_MEMORY") or {}).get("value") or "")
    if not value:
        pct = str((env.get("HEAP_MEMORY_PERCENT") or {}).get("value") or "")
        pct_n = int(pct) if pct.isdigit() and pct.isascii() else 75
        if memory and memory > 0 and len(str(memory)) <= 15:
            value = str(memory // 1048576 * pct_n // 100)
    if not (value.isdigit() and value.isascii()) or value == "0":
        return heap
    return {"raw": value, "mb": int(value), "source": "start_script", "from_env": None}


def node_version(env: dict[str, dict[str, Any]], labels: dict[str, str],
                 probe: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """``{"version", "major", "source": "env"|"label"|"probe"|null, "source_key", "probe"}``.

    A probe result, when there is one, wins (it is what the binary says); then the env
    (NODE_VERSION, NODEJS_VERSION as UBI images set it), then labels.
    """
    version: Optional[str] = None
    source: Optional[str] = None
    key: Optional[str] = None
    if probe and probe.get("version"):
        version, source, key = str(probe["version"]), "probe", None
    if version is None:
        for name in NODE_VERSION_ENVS:
            value = (env.get(name) or {}).get("value")
            if value and _VERSION_RE.match(value):
                version, source, key = value, "env", name
                break
    if version is None:
        for name in NODE_VERSION_LABELS:
            value = labels.get(name)
            if value and _VERSION_RE.match(value):
                version, source, key = value, "label", name
                break
    major = None
    if version:
        m = _VERSION_RE.match(version)
        major = int(m.group(1)) if m else None
        version = version.lstrip("v")
    return {"version": version, "major": major, "source": source, "source_key": key,
            "probe": dict(probe) if probe else None}


def _duration_flag(name: str, nanos: Any) -> tuple[Optional[float], Optional[str]]:
    if not isinstance(nanos, (int, float)) or isinstance(nanos, bool) or nanos <= 0:
        return None, None
    secs = nanos / float(_NANO)
    text = f"{int(secs)}" if secs == int(secs) else f"{secs:g}"
    return secs, f"--{name}={text}s"


def healthcheck_entry(hc: Any) -> Optional[dict[str, Any]]:
    """Config.Healthcheck → ``{line, none, test, flags, interval_s, timeout_s, start_period_s, retries}``."""
    if not isinstance(hc, dict):
        return None
    test = _words(get_ci(hc, "Test")) or []
    flags: list[str] = []
    out: dict[str, Any] = {"line": None, "none": bool(test) and test[0].upper() == "NONE", "test": test}
    for key, flag, field in (("Interval", "interval", "interval_s"), ("Timeout", "timeout", "timeout_s"),
                             ("StartPeriod", "start-period", "start_period_s")):
        secs, text = _duration_flag(flag, get_ci(hc, key))
        out[field] = secs
        if text:
            flags.append(text)
    retries = get_ci(hc, "Retries")
    out["retries"] = retries if isinstance(retries, int) and not isinstance(retries, bool) and retries > 0 else None
    if out["retries"]:
        flags.append(f"--retries={retries}")
    out["flags"] = flags
    return out


def _history(raw: Any, limit: int, secrets: list[str], names_re: Pattern[str]) -> tuple[list[dict[str, Any]], int]:
    rows = raw if isinstance(raw, list) else []
    out = []
    # keep the newest entries when capped: they describe the app layers
    start = max(0, len(rows) - limit) if limit >= 0 else 0
    for row in rows[start:]:
        if not isinstance(row, dict):
            continue
        out.append({
            "created": row.get("created") or row.get("Created"),
            "created_by": scrub(row.get("created_by") or row.get("CreatedBy"), secrets, names_re),
            "comment": scrub(row.get("comment") or row.get("Comment"), secrets, names_re) or None,
            "empty_layer": bool(row.get("empty_layer") or row.get("EmptyLayer")),
        })
    return out, len(rows)


def _primary_reference(tags: list[str], digests: list[str], iid: Optional[str]) -> Optional[str]:
    if tags:
        return tags[0]
    if digests:
        return digests[0]
    return full_id(iid)


def _base(annotations: dict[str, str], labels: dict[str, str]) -> Optional[dict[str, Any]]:
    for source, mapping in (("annotation", annotations), ("label", labels)):
        name = mapping.get(BASE_NAME_KEY)
        if name:
            ref = image_ref_facts(name, name, False)
            return {"name": name, "digest": mapping.get(BASE_DIGEST_KEY) or ref.get("digest"), "source": source,
                    "ref": ref}
    return None


def _dockerfile(labels: dict[str, str]) -> Optional[dict[str, Any]]:
    path = labels.get(LABEL_DOCKERFILE_PATH)
    sha = labels.get(LABEL_DOCKERFILE_SHA256)
    if not path and not sha:
        return None
    sha_ok = bool(sha) and re.match(r"^[0-9a-f]{64}$", sha or "") is not None
    return {"path": path or None, "sha256": sha if sha_ok else None, "source": "label",
            "valid": bool(path) and sha_ok}


def _size(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, float) and value >= 0:
        return int(value)
    return None


def _created(value: Any) -> tuple[Optional[str], Optional[float]]:
    epoch = parse_timestamp(value)
    return iso_utc(epoch), epoch


def image_facts(inspect: Any, engine: str = "podman", *, history: Optional[list[dict[str, Any]]] = None,
                probe: Optional[dict[str, Any]] = None, include_history: bool = False,
                history_limit: int = DEFAULT_HISTORY_LIMIT, names_re: Pattern[str] = SECRET_NAME_RE,
                now: Optional[float] = None) -> dict[str, Any]:
    """Normalize one image inspect object into a ``kind: image`` facts document.

    ``history``: rows from ``docker history`` (oldest first) when the inspect JSON has none
    (docker); podman's inspect carries ``History`` itself. ``probe``: the result of
    ``ContainerRuntime.probe_node_version``. ``include_history``: put the (capped) history rows in the
    document; the layer/history counts are there either way. ``now``: epoch seconds for
    ``age_days`` (None leaves it null, keeping the function pure).
    """
    problems: list[dict[str, Any]] = []
    if not isinstance(inspect, dict):
        problems.append({"code": "not_an_object",
                         "message": f"inspect output is {type(inspect).__name__}, not an object"})
        inspect = {}
    config = inspect.get("Config")
    if not isinstance(config, dict):
        if config is not None:
            problems.append({"code": "bad_config", "message": f"Config is {type(config).__name__}, not an object"})
        else:
            problems.append({"code": "no_config", "message": "the image has no Config (imported or scratch image?)"})
        config = {}
    iid = bare_id(inspect.get("Id") or inspect.get("ID"))
    if not iid:
        problems.append({"code": "no_id", "message": "inspect output has no Id"})
    tags = [str(t) for t in (inspect.get("RepoTags") or []) if t and str(t) != "<none>:<none>"]
    digests = [str(d) for d in (inspect.get("RepoDigests") or []) if d and not str(d).startswith("<none>")]
    secrets: list[str] = []
    env, env_secrets = env_map(config.get("Env"), names_re)
    secrets.extend(env_secrets)
    labels = redact_mapping(config.get("Labels") if config.get("Labels") is not None else inspect.get("Labels"),
                            secrets, names_re)
    annotations = redact_mapping(inspect.get("Annotations"), secrets, names_re)
    scrub_values(env, secrets)

    entrypoint_words, cmd_words = clean_argv(_words(config.get("Entrypoint")), _words(config.get("Cmd")), secrets,
                                             names_re)
    process = run_process(entrypoint_words, cmd_words)
    hist_raw = inspect.get("History") if isinstance(inspect.get("History"), list) else history
    hist_rows, hist_count = _history(hist_raw, history_limit, secrets, names_re)
    layers = (inspect.get("RootFS") or {}).get("Layers") if isinstance(inspect.get("RootFS"), dict) else None
    layers = [str(x) for x in layers] if isinstance(layers, list) else []
    created, created_epoch = _created(inspect.get("Created"))
    size = _size(inspect.get("Size"))
    age_days = None
    if now is not None and created_epoch is not None:
        age_days = round((now - created_epoch) / 86400.0, 3)
    hc = healthcheck_entry(config.get("Healthcheck") or inspect.get("HealthCheck") or inspect.get("Healthcheck"))
    user = user_entry(config.get("User") if "User" in config else inspect.get("User"))
    exposed = port_entries(config.get("ExposedPorts"), problems)
    reference = _primary_reference(tags, digests, iid)
    doc = {
        "schema_version": SCHEMA_VERSION,
        "kind": "image",
        "engine": engine,
        "id": full_id(iid),
        "short_id": (iid or "")[:12] or None,
        "image": reference,
        "tags": tags,
        "refs": [image_ref_facts(t, t, False) for t in tags],
        "digests": digests,
        "digest": inspect.get("Digest") or (ImageRef.parse(digests[0]).digest or "" if digests else None),
        "dangling": not tags,
        "size": size,
        "size_mb": round(size / 1048576.0, 1) if size is not None else None,
        "created": created,
        "created_epoch": created_epoch,
        "age_days": age_days,
        "architecture": inspect.get("Architecture") or None,
        "os": inspect.get("Os") or None,
        "variant": inspect.get("Variant") or None,
        "author": scrub(inspect.get("Author"), secrets, names_re) or None,
        "user": user,
        "exposed_ports": exposed,
        "env": env,
        "entrypoint": process_entry(entrypoint_words),
        "cmd": process_entry(cmd_words),
        "process": process,
        "workdir": config.get("WorkingDir") or None,
        "stop_signal": config.get("StopSignal") or None,
        "shell": _words(config.get("Shell")),
        "labels": labels,
        "annotations": annotations,
        "healthcheck": hc,
        "layer_count": len(layers),
        "layers": layers[:MAX_LAYER_IDS],
        "history_count": hist_count if hist_raw is not None else None,
        "history": hist_rows if include_history else [],
        "history_truncated": include_history and hist_count > len(hist_rows),
        "node": node_version(env, labels, probe),
        "heap_limit": heap_limit(process, env),
        "base": _base(annotations, labels),
        "dockerfile": _dockerfile(labels),
        "problems": problems,
        "error": None,
    }
    doc["node_scope"] = image_node_scope(doc)
    return doc


def image_error_document(image_id: Optional[str], engine: str, code: str, message: str,
                         reference: Optional[str] = None) -> dict[str, Any]:
    """A ``kind: image`` document for an image that could not be inspected (every key present)."""
    doc = image_facts({"Id": image_id, "Config": {}}, engine)
    doc["image"] = reference or doc["image"]
    doc["problems"] = []
    doc["error"] = {"code": code, "message": message}
    doc["node_scope"] = image_node_scope(doc)
    return doc
