"""One base image classification: the rewriter's family and the facts' analysis.base agree on which
images are the official node and the UBI Node.js images."""
from __future__ import annotations

import pytest
from ansible_collections.refarch.containers.plugins.module_utils._base_image import base_analysis, image_family
from ansible_collections.refarch.containers.plugins.module_utils._image_ref import image_ref_facts

CASES = [
    ("node:20-bookworm-slim", "node-debian"),
    ("docker.io/library/node:20-alpine3.19", "node-alpine"),
    ("index.docker.io/library/node:18", "node-debian"),
    ("mcr.microsoft.com/windows/node:20", "unknown"),
    ("node:20-windowsservercore", "unknown"),
    # a mirror is not Docker Hub's image: neither the rules nor the fixes take it for one
    ("mirror.gcr.io/library/node:20", "unknown"),
    ("registry.access.redhat.com/ubi9/nodejs-20", "ubi-node"),
    ("registry.access.redhat.com/ubi9/nodejs-20-minimal:1", "ubi-node-minimal"),
    ("registry.redhat.io/rhel9/nodejs-20", "ubi-node"),
    ("quay.example/mirror/ubi8/nodejs-18", "ubi-node"),
    ("registry.redhat.io/nodejs-20", "unknown"),
    ("registry.access.redhat.com/ubi9/ubi-minimal", "ubi-minimal"),
    ("alpine:3.20", "alpine"),
    ("debian:bookworm", "debian"),
    ("gcr.io/distroless/nodejs20-debian12", "distroless"),
    ("scratch", "scratch"),
]


@pytest.mark.parametrize("image,family", CASES)
def test_family_and_analysis_agree(image: str, family: str) -> None:
    ref = image_ref_facts(image, image, False)
    assert image_family(ref) == family
    if ref["scratch"]:
        return
    base = base_analysis(ref, 1)
    assert base["official_node"] == family.startswith("node-") or "windows" in image
    assert base["ubi_nodejs"] == family.startswith("ubi-node")
