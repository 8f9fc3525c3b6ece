"""Dockerfile text -> facts -> engine -> findings, the way the collection does it.

Used by the end-to-end tests: the host-side normalizer builds the facts, the
controller-side engine evaluates the real bundle in ``policies/``.
"""
from __future__ import annotations

import json
from pathlib import Path

from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_facts import dockerfile_facts
from ansible_collections.refarch.containers.plugins.plugin_utils._bundle import load_bundle
from ansible_collections.refarch.containers.plugins.plugin_utils._engine_embedded import EmbeddedEngine

EVALUATION_DATE = "2026-11-28"


def facts_for_dir(directory: Path, name: str = "Dockerfile") -> dict:
    """Facts for ``directory/name`` with its .dockerignore and package.json when present."""
    def read(p: Path) -> bytes | None:
        return p.read_bytes() if p.is_file() else None

    return dockerfile_facts(str(directory / name), (directory / name).read_bytes(),
                            read(directory / ".dockerignore"), read(directory / "package.json"))


def facts_for_text(text: str, path: str = "/src/app/Dockerfile",
                   dockerignore: str | None = "node_modules\n.git\n.cache\n",
                   package_json: dict | None = None) -> dict:
    return dockerfile_facts(path, text.encode("utf-8"),
                            dockerignore.encode() if dockerignore is not None else None,
                            json.dumps(package_json).encode() if package_json is not None else None)


_ENGINE: EmbeddedEngine | None = None


def embedded_engine() -> EmbeddedEngine:
    global _ENGINE  # noqa: PLW0603 - one engine (one bundle load) per test session
    if _ENGINE is None:
        _ENGINE = EmbeddedEngine(load_bundle())
    return _ENGINE


def evaluate(documents: list[dict], date: str = EVALUATION_DATE, config: dict | None = None) -> list[list[dict]]:
    return embedded_engine().evaluate(documents, date, config)


def rule_ids(findings: list[dict]) -> set[str]:
    return {f["rule_id"] for f in findings}
