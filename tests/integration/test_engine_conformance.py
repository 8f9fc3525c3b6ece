"""Engine conformance: the embedded engine and a REAL OPA server give identical findings.

Every Dockerfile in ../shared/corpus and every example Dockerfile under policies/ is turned
into facts, evaluated by the collection's bundle through both engines, and compared. The OPA
server is a real ``opa run --server -b policies/`` process started here (binary from $OPA,
.tools/bin/opa or PATH). The policy_check action is also run through
ansible-playbook (normal and check mode) with both engines.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("REFARCH_SHARED", REPO.parent / "shared"))
CORPUS = SHARED / "corpus" / "cases"
POLICIES = REPO / "policies"
DATE = "2026-11-28"

sys.path.insert(0, str(REPO / "tests" / "unit" / "plugins" / "plugin_utils"))

from opa_helpers import OpaServer  # noqa: E402

pytestmark = pytest.mark.integration


def _opa() -> str:
    for cand in (os.environ.get("OPA"), str(REPO / ".tools" / "bin" / "opa"), shutil.which("opa")):
        if cand and os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    pytest.fail("no opa binary: set OPA=/path/to/opa or run `make setup` (installs .tools/bin/opa)")


def _bundle_ready() -> bool:
    return (POLICIES / "refarch" / "main" / "main.rego").is_file()


@pytest.fixture(scope="module")
def documents() -> list[dict]:
    if not _bundle_ready():
        pytest.skip("the policy bundle (policies/refarch/main/main.rego) is not there yet")
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS}")
    from ansible_collections.refarch.containers.plugins.module_utils._discovery import scan  # noqa: PLC0415
    from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_facts import (  # noqa: PLC0415
        dockerfile_facts,
    )
    docs = scan([str(CORPUS)])["dockerfiles"]
    assert len(docs) >= 100, f"expected the whole corpus, got {len(docs)} documents"
    examples = sorted(p for p in POLICIES.rglob("*") if p.is_file() and "dockerfile" in p.name.lower()
                      and p.suffix not in (".rego", ".json", ".md"))
    for path in examples:
        docs.append(dockerfile_facts(str(path), path.read_bytes()))
    return docs


@pytest.fixture(scope="module")
def bundle():
    from ansible_collections.refarch.containers.plugins.plugin_utils._bundle import load_bundle  # noqa: PLC0415
    return load_bundle()


@pytest.fixture(scope="module")
def opa_server():
    if not _bundle_ready():
        pytest.skip("the policy bundle is not there yet")
    server = OpaServer(_opa(), [str(POLICIES)])
    yield server
    server.stop()


def _embedded(documents, bundle, backend: str) -> list:
    from ansible_collections.refarch.containers.plugins.plugin_utils._engine_embedded import (  # noqa: PLC0415
        EmbeddedEngine,
    )
    engine = EmbeddedEngine(bundle, batch_size=25, timeout=1800, backend=backend)
    result = engine.evaluate(documents, DATE, {})
    assert engine.stats["backend"] == backend
    return result


@pytest.fixture(scope="module")
def embedded_result(documents, bundle):
    """The default backend (regorus, which make setup installs)."""
    return _embedded(documents, bundle, "regorus")


@pytest.fixture(scope="module")
def opa_result(documents, bundle, opa_server):
    from ansible_collections.refarch.containers.plugins.plugin_utils._engine_opa import OpaEngine  # noqa: PLC0415
    engine = OpaEngine(bundle, opa_server.url, batch_size=50, timeout=300)
    result = engine.evaluate(documents, DATE, {})
    assert engine.policy_revision == bundle.revision
    return result


def _differences(documents, left, right) -> list[str]:
    out = []
    for doc, a, b in zip(documents, left, right, strict=True):
        if a != b:
            ka = {(f["rule_id"], f.get("line")) for f in a}
            kb = {(f["rule_id"], f.get("line")) for f in b}
            detail = f"only embedded {sorted(ka - kb, key=str)}, only opa {sorted(kb - ka, key=str)}"
            if ka == kb:
                detail = "same rule/line pairs, different finding fields"
            out.append(f"{doc['path']}: {detail}")
    return out


def test_embedded_and_opa_server_agree_on_corpus_and_examples(documents, embedded_result, opa_result):
    assert sum(len(r) for r in embedded_result) > 0, "no findings at all on the corpus: the bundle cannot be right"
    diffs = _differences(documents, embedded_result, opa_result)
    assert not diffs, f"{len(diffs)} of {len(documents)} documents differ:\n" + "\n".join(diffs[:40])


def test_regopy_backend_agrees_with_opa_too(documents, bundle, opa_result):
    result = _embedded(documents, bundle, "regopy")
    diffs = _differences(documents, result, opa_result)
    assert not diffs, f"regopy: {len(diffs)} of {len(documents)} documents differ:\n" + "\n".join(diffs[:40])


def test_push_mode_agrees_too(documents, bundle, embedded_result):
    from ansible_collections.refarch.containers.plugins.plugin_utils._engine_opa import OpaEngine  # noqa: PLC0415
    server = OpaServer(_opa())
    try:
        engine = OpaEngine(bundle, server.url, mode="push", timeout=300)
        result = engine.evaluate(documents[:30], DATE, {})
        assert engine.stats["pushed"] is True
        assert not _differences(documents[:30], embedded_result[:30], result)
        again = OpaEngine(bundle, server.url, mode="push", timeout=300)
        again.evaluate(documents[:2], DATE, {})
        assert again.stats["pushed"] is False
    finally:
        server.stop()


def _playbook(tmp_path: Path, facts: list[dict], engine: str, opa_url: str, check: bool) -> dict:
    facts_file = tmp_path / "facts.json"
    facts_file.write_text(json.dumps(facts))
    out = tmp_path / f"out-{engine}-{check}.json"
    play = tmp_path / "play.yml"
    play.write_text(f"""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Evaluate
      refarch.containers.policy_check:
        facts: "{{{{ lookup('file', '{facts_file}') | from_json }}}}"
        engine: {engine}
        opa_url: {opa_url}
        evaluation_date: "{DATE}"
        batch_size: 25
      register: policy
    - name: Save
      ansible.builtin.copy:
        content: "{{{{ policy | to_json }}}}"
        dest: {out}
      check_mode: false
""")
    collections = REPO / ".venv" / "collections"  # linked by make setup / tests/conftest.py
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1")
    playbook = shutil.which("ansible-playbook", path=str(Path(sys.executable).parent)) or "ansible-playbook"
    argv = [playbook, "-i", "localhost,", "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}",
            str(play), *(["--check"] if check else [])]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=1800, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text())


def test_policy_check_through_ansible_both_engines_and_check_mode(tmp_path, documents, opa_server):
    facts = documents[:12]
    embedded = _playbook(tmp_path, facts, "embedded", opa_server.url, check=False)
    opa = _playbook(tmp_path, facts, "opa", opa_server.url, check=False)
    checked = _playbook(tmp_path, facts, "embedded", opa_server.url, check=True)
    assert embedded["findings"] == opa["findings"] == checked["findings"]
    assert embedded["summary"] == opa["summary"]
    assert embedded["policy_revision"] == opa["policy_revision"]
    assert embedded["changed"] is False and embedded["findings"]
    assert all(f["target"]["host"] == "localhost" for f in embedded["findings"])
