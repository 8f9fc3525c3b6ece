# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Node scope: does a Dockerfile target, an image or a container run Node.js, and why.

Pure, standard library only (runs on managed hosts). The facts builders put the result in each
document as ``node_scope``::

    {"classification": "node" | "not_node" | "unknown",
     "evidence": [{"signal": "node_base", "node": true, "line": 3, "stage": 0, "detail": "node:20 ..."}]}

``node`` is true for evidence that Node.js runs in the image, false for evidence that something
else does, null for what only explains (a Node.js build stage outside the target's chain).

A Dockerfile target (its final stage, or the ``target`` stage) is ``node`` when its chain (the
stage and the stages it is built FROM) has a Node.js base image (official node, UBI/RHEL nodejs,
distroless or Chainguard node, other ``*node*`` images), installs Node.js (an OS package, nvm, n,
volta, fnm, asdf, a nodejs.org download), copies the node binary from a Node.js image, or runs
node/npm/yarn/pnpm/npx as its process; a ``package.json`` (or ``node_modules``) copied into the
chain is Node.js evidence too, but weaker: it decides only when nothing says otherwise. It is
``not_node`` when nothing says Node.js and the base image is another runtime or a plain OS image
(python, golang, eclipse-temurin, dotnet, nginx, caddy, alpine, distroless/static, scratch, ...)
or the process is another runtime (python, java, dotnet, nginx, caddy, ...). A Node.js build
stage whose output another base serves is therefore ``not_node``. Anything else is ``unknown``
(an unresolved ``FROM ${BASE}``, a company base image and a shell script as the process): the
policy treats it as Node.js (fail closed), see ``docs/rules.md``.

Images and containers: ``NODE_VERSION``/``NODEJS_VERSION`` in the environment, a Node.js version
label, ``node --version`` answering in the image (the probe), a Node.js base annotation or a
Node.js process say ``node``; another runtime as the process or a non-Node base annotation say
``not_node`` when nothing says ``node``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Optional

from ansible_collections.refarch.containers.plugins.module_utils._base_image import _UBI_NODEJS_RE
from ansible_collections.refarch.containers.plugins.module_utils._image_ref import image_ref_facts
from ansible_collections.refarch.containers.plugins.module_utils._lazy_re import lazy_re
from ansible_collections.refarch.containers.plugins.module_utils._shellcmd import (
    NODE_PROGRAMS,
    NON_NODE_PROGRAMS,
    node_installs,
    process_programs,
)

NODE = "node"
NOT_NODE = "not_node"
UNKNOWN = "unknown"
CLASSIFICATIONS = (NODE, NOT_NODE, UNKNOWN)

# Node.js images by repository (registry left out: mirrors and private registries hold the same names).
_SCLORG_NODEJS_RE = lazy_re(r"^(.*/)?(sclorg|centos|openshift)/nodejs-[0-9]+")
_DISTROLESS_NODE_RE = lazy_re(r"^(.*/)?distroless/nodejs[0-9]*(-debian[0-9]+)?$")
_CHAINGUARD_NODE_RE = lazy_re(r"^(.*/)?chainguard/node(js)?(-[a-z0-9-]+)?$")
# any other repository whose last component is a Node.js name: node, nodejs-20, alpine-node, javascript-node
_NODE_NAME_RE = lazy_re(r"(^|[-_.])node(js)?[0-9]*([-_.]|$)")

# Images of other runtimes and servers, and plain OS images (no Node.js unless a RUN installs it),
# by the last repository component (or a path below a vendor's namespace).
_OTHER_RUNTIME_IMAGES = frozenset({
    "python", "pypy", "golang", "go", "openjdk", "eclipse-temurin", "amazoncorretto", "ibm-semeru-runtimes",
    "ibmjava", "sapmachine", "maven", "gradle", "tomcat", "jetty", "ruby", "php", "perl", "rust", "nginx",
    "nginx-unprivileged", "caddy", "httpd", "haproxy", "traefik", "envoy", "redis", "postgres", "mysql",
    "mariadb", "mongo", "elasticsearch", "rabbitmq", "memcached", "erlang", "elixir", "swift", "julia",
    "r-base", "clojure", "gcc", "deno", "bun", "openresty", "varnish", "squid", "consul", "vault", "kong",
})
_OS_IMAGES = frozenset({
    "alpine", "debian", "ubuntu", "busybox", "centos", "fedora", "rockylinux", "almalinux", "amazonlinux",
    "oraclelinux", "archlinux", "photon", "clearlinux", "mageia", "leap", "tumbleweed", "ubi", "ubi-minimal",
    "ubi-micro", "ubi-init", "minideb", "wolfi-base", "cirros", "scratch",
})
# vendor namespaces of other runtimes (mcr.microsoft.com/dotnet/runtime-deps, gcr.io/distroless/java17-debian12)
_VENDOR_OTHER_RE = lazy_re(r"(^|/)(dotnet|dotnet/[a-z-]+)$|(^|/)distroless/(java|python)[0-9a-z-]*$|"
                           r"(^|/)(openjdk|eclipse-temurin|python|golang)/[a-z0-9-]+$")
# OS images by path: UBI/RHEL base images, distroless and Chainguard images without a runtime
_OS_REPO_RE = lazy_re(r"^(.*/)?(ubi[0-9]+|rhel[0-9]+)(/ubi(-minimal|-micro|-init)?)?$|"
                      r"(^|/)distroless/(static|base|cc)(-debian[0-9]+)?(-nossl)?$|"
                      r"(^|/)chainguard/(static|wolfi-base|busybox)$")
_PACKAGE_JSON_RE = lazy_re(r"(^|/)package([*?][^/]*|\.json|-lock\.json)$")
_NODE_BINARY_RE = lazy_re(r"(^|/)bin/(node|nodejs)$")
# what a Node.js stage's runtime is made of (COPY --from=<a Node.js stage> /usr/local /usr/local)
_NODE_RUNTIME_PATH_RE = lazy_re(r"^/usr/local(/bin|/lib|/lib/node_modules|/include/node)?$|^/opt/node[^/]*$")
# a Node.js release archive (ADD node-v20.11.1-linux-x64.tar.xz /usr/local/)
_NODE_ARCHIVE_RE = lazy_re(r"(^|/)node-v[0-9][^/]*\.(tar\.(gz|xz)|tgz|zip)$")
# a tag that names a Node.js variant of another image (cimg/python:3.12-node, circleci/ruby:2.7-node)
_NODE_TAG_RE = lazy_re(r"(^|[-_.])node(js)?[0-9]*([-_.]|$)")
_NODE_VERSION_ENVS = ("NODE_VERSION", "NODEJS_VERSION")
_HUB = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
_MAX_DETAIL = 300
_READ_INSTRUCTIONS = frozenset({"RUN", "COPY", "ADD"})


def _ev(signal: str, node: Optional[bool], detail: str, line: Optional[int] = None,
        stage: Optional[int] = None) -> dict[str, Any]:
    if len(detail) > _MAX_DETAIL:  # an image name or an ENV value can be long: the evidence stays small
        detail = detail[:_MAX_DETAIL - 3] + "..."
    return {"signal": signal, "node": node, "line": line, "stage": stage, "detail": detail}


def base_family(ref: Optional[dict[str, Any]]) -> tuple[Optional[bool], str]:
    """What a base image reference says: ``(True, why)`` a Node.js image, ``(False, why)`` another
    runtime or a plain OS image, ``(None, why)`` unknown (unresolved, a private image)."""
    if not isinstance(ref, dict):
        return None, "no base image"
    name = str(ref.get("resolved") or ref.get("raw") or "")
    if ref.get("scratch"):
        return False, "scratch (an empty image)"
    if ref.get("unresolved"):
        return None, f"{name} (a variable with no known value)"
    repo = str(ref.get("repository") or "").lower()
    if not repo:
        return None, name or "no base image"
    node, why = _repository_family(repo, ref.get("registry") in _HUB)
    if node is not True and isinstance(ref.get("tag"), str) and _NODE_TAG_RE.search(ref["tag"].lower()):
        return True, f"{name} (a Node.js variant by its tag)"
    return node, f"{name} ({why})"


@lru_cache(maxsize=512)
def _repository_family(repo: str, hub: bool) -> tuple[Optional[bool], str]:
    """``base_family`` by repository (an estate names few base images: remembered)."""
    last = repo.rsplit("/", 1)[-1]
    if repo == "library/node" and hub:
        return True, "official Node.js image"
    if _UBI_NODEJS_RE.match(repo) or _SCLORG_NODEJS_RE.match(repo):
        return True, "Red Hat Node.js image"
    if _DISTROLESS_NODE_RE.match(repo):
        return True, "distroless Node.js image"
    if _CHAINGUARD_NODE_RE.match(repo):
        return True, "Chainguard Node.js image"
    if _NODE_NAME_RE.search(last):
        return True, "a Node.js image by its name"
    if _VENDOR_OTHER_RE.search(repo) or last in _OTHER_RUNTIME_IMAGES or repo in _OTHER_RUNTIME_IMAGES:
        return False, "an image of another runtime or server"
    if last in _OS_IMAGES or _OS_REPO_RE.match(repo):
        return False, "an OS image without Node.js"
    return None, "not known to hold Node.js or not"


def _program_evidence(argv: list[str], line: Optional[int], stage: Optional[int],
                      what: str) -> list[dict[str, Any]]:
    """Node.js / other-runtime evidence from the programs a process command line starts."""
    out = []
    key = tuple(argv)
    kinds = _PROGRAM_KINDS.get(key)
    if kinds is None:
        kinds = _program_kinds(argv)
        if sum(map(len, argv)) <= 2048:  # only short command lines are remembered, and a bounded number
            if len(_PROGRAM_KINDS) >= 512:
                _PROGRAM_KINDS.clear()
            _PROGRAM_KINDS[key] = kinds
    node, other = kinds
    if node:
        out.append(_ev("node_process", True, f"{what} runs {', '.join(node)}", line, stage))
    if other and not node:
        out.append(_ev("other_process", False, f"{what} runs {', '.join(other)}", line, stage))
    return out


_PROGRAM_KINDS: dict = {}  # _program_kinds by argv (an estate repeats its command lines)


def _program_kinds(argv: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The Node.js and the other-runtime programs among those a command line starts."""
    programs = process_programs(argv)
    return tuple(p for p in programs if p in NODE_PROGRAMS), tuple(p for p in programs if p in NON_NODE_PROGRAMS)


def decide(evidence: list[dict[str, Any]]) -> str:
    """The classification the evidence supports (strong Node.js evidence wins; see the module doc)."""
    strong = weak = against = False
    for e in evidence:
        if e["node"] is True:
            if e["signal"] in ("package_json", "node_modules"):
                weak = True
            else:
                strong = True
        elif e["node"] is False:
            against = True
    if strong:
        return NODE
    if against:
        return UNKNOWN if weak else NOT_NODE
    return NODE if weak else UNKNOWN


def _result(evidence: list[dict[str, Any]]) -> dict[str, Any]:
    """The classification and its evidence, the first of each signal only (bounded whatever the file)."""
    seen: set[str] = set()
    kept = []
    for e in evidence:
        if e["signal"] not in seen:
            seen.add(e["signal"])
            kept.append(e)
    return {"classification": decide(kept), "evidence": kept}


def unknown_node_scope(detail: str, signal: str = "not_evaluated") -> dict[str, Any]:
    """The node scope of a document that could not be read or parsed: unknown, with why."""
    return {"classification": UNKNOWN, "evidence": [_ev(signal, None, detail)]}


# --------------------------------------------------------------------------
# Dockerfile targets
# --------------------------------------------------------------------------
def _flag_value(flags: list[Any], name: str) -> Optional[str]:
    for f in flags or []:
        key, sep, val = str(f).lstrip("-").partition("=")
        if key.lower() == name and sep:
            return val
    return None


def dockerfile_node_scope(doc: dict[str, Any], instructions: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``node_scope`` of a Dockerfile facts document's final (target) stage.

    ``doc`` needs ``stages``, ``final_stage``, ``package_json`` and ``analysis`` (``final_chain``,
    ``process``); ``instructions`` are the document's redacted instructions with their ``stage``.
    """
    final = doc.get("final_stage")
    analysis = doc.get("analysis") or {}
    if not final or not analysis:
        return unknown_node_scope("the Dockerfile has no FROM or could not be read")
    stages = {s["index"]: s for s in doc.get("stages") or []}
    final_chain = analysis.get("final_chain") or [final["index"]]
    chain = set(final_chain)
    evidence: list[dict[str, Any]] = []
    node_base = False
    for index in (final_chain if len(final_chain) == 1 else sorted(chain)):
        st = stages.get(index) or {}
        if st.get("from_stage") is None:
            node, why = base_family(st.get("base"))
            signal = "node_base" if node else ("other_base" if node is False else "unknown_base")
            node_base = node_base or signal == "node_base"
            evidence.append(_ev(signal, node, why, st.get("line"), index))
    # a Node.js base decides: the other stages and the instructions are read only when it does not
    if not node_base:
        evidence += _other_evidence(doc, instructions, stages, chain)
    proc = final.get("process")
    if isinstance(proc, dict) and proc.get("argv"):
        evidence.extend(_program_evidence([a for a in proc["argv"] if isinstance(a, str)], proc.get("line"),
                                          final["index"], "ENTRYPOINT/CMD"))
    return _result(evidence)


def _other_evidence(doc: dict[str, Any], instructions: list[dict[str, Any]], stages: dict[int, dict[str, Any]],
                    chain: set[int]) -> list[dict[str, Any]]:
    """Evidence beyond the base image: Node.js build stages outside the chain (said, not counted), Node.js
    installed or copied in by the chain's instructions, a package.json or node_modules copied in."""
    evidence = []
    for index, st in sorted(stages.items()):
        if index not in chain and st.get("from_stage") is None and base_family(st.get("base"))[0]:
            label = f"stage {index}" + (f" ({st['name']})" if st.get("name") else "")
            evidence.append(_ev("node_build_stage", None, f"{label} on {st['base'].get('resolved')} is a build stage "
                                "the target does not run", st.get("line"), index))
    names = {s["name"]: s["index"] for s in stages.values() if s.get("name")}
    context_pj = (doc.get("package_json") or {}).get("exists") and not (doc.get("package_json") or {}).get("error")
    for ins in instructions:
        cmd = ins["cmd"]
        if cmd not in _READ_INSTRUCTIONS:
            continue
        stage = ins.get("stage")
        if stage not in chain:
            continue
        line = ins.get("start_line")
        if cmd == "RUN":
            for step in node_installs(ins):
                evidence.append(_ev("node_install", True, f"RUN {step}", line, stage))
        else:
            evidence.extend(_copy_evidence(ins, stage, line, names, stages, context_pj))
    return evidence


def _node_stage(index: int, stages: dict[int, dict[str, Any]]) -> bool:
    """Whether the stage is built on a Node.js base image (following FROM <stage>)."""
    seen = set()
    st = stages.get(index)
    while st is not None and st.get("from_stage") is not None and st["index"] not in seen:
        seen.add(st["index"])
        st = stages.get(st["from_stage"])
    return bool(st) and base_family(st.get("base"))[0] is True


def _copy_evidence(ins: dict[str, Any], stage: int, line: Optional[int], names: dict[str, int],  # noqa: PLR0917
                   stages: dict[int, dict[str, Any]], context_pj: bool) -> list[dict[str, Any]]:
    value = [v for v in ins.get("value") or [] if isinstance(v, str)]
    sources = value[:-1] if len(value) > 1 else []
    src_from = _flag_value(ins.get("flags") or [], "from")
    out = []
    if src_from is not None:
        index = names.get(src_from.lower())
        if index is None and src_from.isdigit():
            index = int(src_from)
        if index is None:  # an image: COPY --from=node:20 /usr/local/bin/node /usr/local/bin/
            if base_family(image_ref_facts(src_from, src_from, False))[0]:
                out.append(_ev("node_copy", True, f"{ins['cmd']} --from={src_from} copies from a Node.js image",
                               line, stage))
        elif any(_NODE_BINARY_RE.search(s.rstrip("/")) for s in sources) or (
                _node_stage(index, stages) and any(_NODE_RUNTIME_PATH_RE.match(s.rstrip("/") or "/") for s in sources)):
            out.append(_ev("node_copy", True, f"{ins['cmd']} --from={src_from} copies the node binary", line, stage))
    elif any(_NODE_ARCHIVE_RE.search(s) for s in sources):
        out.append(_ev("node_install", True, f"{ins['cmd']} of a Node.js release archive", line, stage))
    if any(_PACKAGE_JSON_RE.search(s) for s in sources):
        out.append(_ev("package_json", True, f"{ins['cmd']} copies a package.json in", line, stage))
    elif any(s.rstrip("/").endswith("node_modules") for s in sources):
        out.append(_ev("node_modules", True, f"{ins['cmd']} copies node_modules in", line, stage))
    elif src_from is None and context_pj and any(s in (".", "./", "*", "./*", "./.") for s in sources):
        out.append(_ev("package_json", True, f"{ins['cmd']} copies the build context, which has a package.json",
                       line, stage))
    return out


# --------------------------------------------------------------------------
# images and containers
# --------------------------------------------------------------------------
def image_node_scope(doc: dict[str, Any], image: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """The ``node_scope`` of a ``kind: image`` or ``kind: container`` document (``image``: a container's image)."""
    if doc.get("error"):
        return unknown_node_scope("the image or container could not be inspected")
    evidence: list[dict[str, Any]] = []
    env = doc.get("env") or {}
    for name in _NODE_VERSION_ENVS:
        value = (env.get(name) or {}).get("value")
        if value:
            evidence.append(_ev("node_version_env", True, f"{name}={value} in the environment"))
            break
    node = doc.get("node") or {}
    probe = node.get("probe") or {}
    if probe.get("version"):
        evidence.append(_ev("node_binary", True, f"node --version answers {probe['version']} in the image"))
    elif node.get("source") == "label" and doc.get("kind") == "image":
        evidence.append(_ev("node_version_label", True, f"label {node.get('source_key')} names Node.js "
                                                        f"{node.get('version')}"))
    if image is not None:
        inherited = (image.get("node_scope") or {}).get("classification")
        if inherited == NODE:
            evidence.append(_ev("image", True, f"its image {image.get('image') or image.get('id')} is Node.js"))
    base = doc.get("base") or (image or {}).get("base")
    if isinstance(base, dict) and isinstance(base.get("ref"), dict):
        fam, why = base_family(base["ref"])
        if fam is not None:
            evidence.append(_ev("node_base" if fam else "other_base", fam, f"base image {why}"))
    proc = doc.get("process")
    if isinstance(proc, dict) and proc.get("argv"):
        evidence.extend(_program_evidence([a for a in proc["argv"] if isinstance(a, str)], None, None,
                                          "the command"))
    return _result(evidence)
