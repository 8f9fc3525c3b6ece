# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Base image knowledge: what a FROM image is, for the facts builder and the rewriter.

:func:`base_analysis` is the facts' ``analysis.base`` (which Node.js image, which release line);
:func:`image_family` is the family the rewriter's fixes choose their commands by (package manager, default
user and working directory). Both read an image reference as the facts hold it
(``_image_ref.image_ref_facts``). Standard library only (runs on managed hosts).
"""
from __future__ import annotations

import re
from typing import Any, Optional

from ansible_collections.refarch.containers.plugins.module_utils._image_ref import DOCKER_HUB_REGISTRIES
from ansible_collections.refarch.containers.plugins.module_utils._lazy_re import lazy_re

_UBI_NODEJS_RE = re.compile(r"^(.*/)?(ubi[0-9]+|rhel[0-9]+)/nodejs-[0-9]+(-minimal)?$")
_UBI_LINE_RE = lazy_re(r"nodejs-([0-9]+)")
_NUMERIC_TAG_RE = re.compile(r"^(0\.[0-9]+|[1-9][0-9]*)(\.[0-9]+)*(-.*)?$")


def is_official_node(ref: dict) -> bool:
    """Whether the reference names Docker Hub's official ``node`` image (``node``, ``docker.io/library/node``)."""
    return ref.get("registry") in DOCKER_HUB_REGISTRIES and ref.get("repository") == "library/node"


def is_ubi_nodejs(ref: dict) -> bool:
    """Whether the reference names a Red Hat UBI/RHEL Node.js image (``ubi9/nodejs-20``,
    ``rhel8/nodejs-18-minimal``)."""
    repo = ref.get("repository")
    return bool(_UBI_NODEJS_RE.match(repo)) if isinstance(repo, str) else False


def base_analysis(ref: dict, line: Optional[int]) -> dict[str, Any]:
    """The runtime base image as Node.js knowledge needs it: which family, which release line."""
    repo = ref.get("repository") or ""
    tag = ref.get("tag")
    official = is_official_node(ref)
    ubi = is_ubi_nodejs(ref)
    short = repo.rsplit("/", 1)[-1]
    node_line = None
    tag_word = None
    if ubi:
        m = _UBI_LINE_RE.search(short)
        node_line = m.group(1) if m else None
    elif isinstance(tag, str):
        m = _NUMERIC_TAG_RE.match(tag)
        if m:
            node_line = m.group(1)
        else:
            tag_word = tag.split("-")[0]
    return {"line": line, "official_node": official, "ubi_nodejs": ubi,
            "node_image": official or ubi or short in ("node", "nodejs"),
            "node_line": node_line, "tag_word": tag_word, "tag_missing": tag is None,
            "alpine": isinstance(tag, str) and "alpine" in tag}


def image_family(ref: Optional[dict]) -> str:
    """Base image family: node-debian, node-alpine, ubi-node, ubi-node-minimal, ubi, ubi-minimal, alpine,
    debian, distroless, scratch, unknown.

    The node and UBI Node.js families are exactly the images :func:`base_analysis` calls ``official_node``
    and ``ubi_nodejs`` (the policy's ``imagefacts.official_node_ref``/``ubi_nodejs_ref`` read the same):
    a fix only relies on what it knows of those images where the rules know them too."""
    if ref is None:
        return "unknown"
    if ref["scratch"]:
        return "scratch"
    repo = ref["repository"].lower()
    tag = (ref["tag"] or "").lower()
    if repo in ("scratch", "library/scratch"):
        return "scratch"
    if "distroless" in repo or ref["registry"] == "cgr.dev":
        return "distroless"
    if is_official_node(ref):
        if "windows" in tag or "nanoserver" in tag or "servercore" in tag:
            return "unknown"
        return "node-alpine" if "alpine" in tag else "node-debian"
    if is_ubi_nodejs(ref):
        return "ubi-node-minimal" if "minimal" in repo else "ubi-node"
    if re.search(r"(^|/)ubi\d*(-minimal|-micro)?$", repo):
        if repo.endswith("-micro"):
            return "unknown"
        return "ubi-minimal" if repo.endswith("-minimal") else "ubi"
    if repo in ("library/alpine",) or "alpine" in tag:
        return "alpine"
    if repo in ("library/debian", "library/ubuntu") or re.search(r"(bookworm|bullseye|buster|jammy|noble|focal)", tag):
        return "debian"
    return "unknown"
