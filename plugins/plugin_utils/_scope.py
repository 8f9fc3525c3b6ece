# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Node scope on the controller: which targets a run judges (the ``node_scope`` setting).

The host classifies each target (``node_scope`` in the facts, ``module_utils/_node_scope.py``); the
policy decides which rules apply (``policies/refarch/lib/scope``). The reports need one more thing:
whether a target was judged at all, to list a ``not_node`` target as not judged instead of compliant.
This is the policy's ``scope.judged``, said again here for the reports; ``tests/policy`` checks that the
policy gives no finding but NRA000 to a target this module calls not judged.
"""

from __future__ import annotations

from typing import Any

#: The modes of ``node_scope``: judge Node.js (and unknown) targets only, also the others with the
#: neutral rules, or everything with every rule.
MODES: tuple[str, ...] = ("node", "neutral", "all")
DEFAULT_MODE = "node"
CLASSIFICATIONS: tuple[str, ...] = ("node", "not_node", "unknown")


def classification(doc: Any) -> str:
    """The document's classification; ``unknown`` when it has none (facts 1.0) or an unknown one."""
    scope = doc.get("node_scope") if isinstance(doc, dict) else None
    value = scope.get("classification") if isinstance(scope, dict) else None
    return value if value in CLASSIFICATIONS else "unknown"


def judged(doc: Any, mode: str) -> bool:
    """Whether a run in ``mode`` judges the document (an unknown mode judges everything, as the policy does)."""
    return mode != "node" or classification(doc) != "not_node"


def rule_scopes(doc: Any, mode: str) -> list[str]:
    """The rule scopes (METADATA ``scope``) a run in ``mode`` applies to the document (policy: ``scope.applies``)."""
    if not judged(doc, mode):
        return []
    if classification(doc) != "not_node" or mode not in ("node", "neutral"):
        return ["neutral", "node"]
    return ["neutral"]


def target_scope(doc: Any, mode: str) -> dict[str, Any]:
    """What a report says of a target's node scope: classification, evidence, whether it was judged and the
    scopes of the rules that judged it."""
    scope = doc.get("node_scope") if isinstance(doc, dict) else None
    evidence = scope.get("evidence") if isinstance(scope, dict) else None
    return {"classification": classification(doc),
            "evidence": [dict(e) for e in evidence if isinstance(e, dict)] if isinstance(evidence, list) else [],
            "judged": judged(doc, mode), "rules": rule_scopes(doc, mode)}
