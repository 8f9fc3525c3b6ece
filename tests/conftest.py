"""Repository-wide pytest setup.

Makes ``ansible_collections.refarch.containers`` importable from the checkout
(``make setup`` links the repository into ``.venv/collections``) and exposes the
locations of the shared test data.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("REFARCH_SHARED", REPO.parent / "shared"))
COLLECTIONS = REPO / ".venv" / "collections"


def _ensure_collection_importable() -> None:
    link = COLLECTIONS / "ansible_collections" / "refarch" / "containers"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO, target_is_directory=True)
    if str(COLLECTIONS) not in sys.path:
        sys.path.insert(0, str(COLLECTIONS))


_ensure_collection_importable()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared test data not found at {SHARED} (set REFARCH_SHARED or check out ../shared)")
    return SHARED


@pytest.fixture(scope="session")
def corpus_dir(shared_dir: Path) -> Path:
    path = shared_dir / "corpus" / "cases"
    if not path.is_dir():
        pytest.skip(f"corpus not found at {path}")
    return path
