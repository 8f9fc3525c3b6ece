# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Image references: one value type with one parser, used by the facts builder, the rewriter,
the image facts, the build helpers and the remediation filters.

:meth:`ImageRef.parse` splits a reference as written (``[registry/]path[:tag][@digest]``, the
registry only when the first component has a dot, a colon or is ``localhost``); with
``strict=True`` it first checks the distribution reference grammar (the build helpers refuse
anything else before it reaches a container engine). :meth:`ImageRef.docker` applies docker's
defaults (registry ``docker.io``, ``index.docker.io`` read as ``docker.io``, the ``library/``
prefix); :func:`image_ref_facts` is the reference as the facts documents hold it.
Standard library only (runs on managed hosts).
"""
from __future__ import annotations

from typing import Any, NamedTuple, Optional

from ansible_collections.refarch.containers.plugins.module_utils._lazy_re import lazy_re

DOCKER_HUB = "docker.io"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io"})  # read as docker.io
#: Registry names that are Docker Hub (registry-1.docker.io is its API host, kept as written).
DOCKER_HUB_REGISTRIES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

# The distribution reference grammar (name components, optional registry with
# port, tag, digest), written out here so references are checked before use.
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_REFERENCE_RE = lazy_re(
    rf"^(?:(?P<domain>{_DOMAIN})/)?(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>sha256:[a-f0-9]{{64}}))?$"
)


class ImageRef(NamedTuple):
    """An image reference as written: ``registry`` None when it names none, ``tag``/``digest`` None when absent."""

    registry: Optional[str]
    path: str
    tag: Optional[str]
    digest: Optional[str]

    @classmethod
    def parse(cls, text: str, strict: bool = False) -> ImageRef:
        """Split ``text``; ``strict`` raises ValueError unless it follows the reference grammar."""
        if strict and (not isinstance(text, str) or not text or len(text) > 255 or not _REFERENCE_RE.match(text)):
            raise ValueError(text)
        name, dummy, digest = text.partition("@")
        tag = None
        colon = name.rfind(":")
        if colon > name.rfind("/"):
            name, tag = name[:colon], name[colon + 1:]
        first, slash, rest = name.partition("/")
        if slash and ("." in first or ":" in first or first == "localhost"):
            return cls(first, rest, tag or None, digest or None)
        return cls(None, name, tag or None, digest or None)

    @property
    def name(self) -> str:
        """Registry and path as written, without tag and digest."""
        return self.path if self.registry is None else f"{self.registry}/{self.path}"

    @property
    def tagged(self) -> str:
        """The reference as written without its digest."""
        return self.name if self.tag is None else f"{self.name}:{self.tag}"

    def docker(self) -> tuple[Optional[str], Optional[str]]:
        """(registry, repository) with docker's defaults; None for a part that holds a ``$``."""
        if self.registry is None and "$" in self.path.partition("/")[0]:
            return None, None
        registry = DOCKER_HUB if self.registry is None or self.registry in _HUB_ALIASES else self.registry
        repo = self.path
        if registry == DOCKER_HUB and "/" not in repo and repo:
            repo = "library/" + repo
        return (None if "$" in registry else registry), (repo if repo and "$" not in repo else None)


def image_ref_facts(raw: str, resolved: str, unresolved: bool) -> dict[str, Any]:
    """The facts documents' image reference (docker's defaults, no implied tag)."""
    ref: dict[str, Any] = {"raw": raw, "resolved": resolved, "registry": None, "repository": None,
                           "tag": None, "digest": None, "unresolved": unresolved, "scratch": False}
    text = resolved.strip()
    if text.lower() == "scratch":
        ref["scratch"] = True
        return ref
    if not text:
        ref["unresolved"] = True
        return ref
    parsed = ImageRef.parse(text)
    ref["registry"], ref["repository"] = parsed.docker()
    ref["tag"], ref["digest"] = parsed.tag, parsed.digest
    return ref
