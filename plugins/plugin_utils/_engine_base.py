# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Common ground of the policy evaluation engines.

An engine turns facts documents into the raw per-document findings of the
bundle's batch entry point (contracts.md section 3). Every failure mode (crash,
timeout, undefined result, error object, unreachable server, bundle problem)
is an :class:`EngineError`; an engine never answers "no findings" for a
document it could not evaluate.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import Any

#: Causes an :class:`EngineError` may carry.
CAUSES = (
    "bundle", "policy_syntax", "crash", "timeout", "memory", "undefined", "eval_error",
    "bad_result", "connection", "http", "tls", "revision", "config", "missing_library",
)


class EngineError(Exception):
    """An engine could not produce findings. ``cause`` is one of :data:`CAUSES`."""

    def __init__(self, cause: str, message: str) -> None:
        super().__init__(f"{cause}: {message}")
        self.cause = cause
        self.message = message


def validate_batch_result(result: Any, expected: int, where: str) -> list[list[dict[str, Any]]]:
    """Check that ``result`` is an array of ``expected`` arrays of finding objects."""
    if not isinstance(result, list):
        raise EngineError("bad_result",
                          f"{where}: expected an array of {expected} finding arrays, got {type(result).__name__}")
    if len(result) != expected:
        raise EngineError("bad_result",
                          f"{where}: expected {expected} finding arrays (one per document), got {len(result)}")
    for i, item in enumerate(result):
        if not isinstance(item, list) or not all(isinstance(f, dict) for f in item):
            raise EngineError("bad_result", f"{where}: element {i} is not an array of finding objects")
        for f in item:
            if not isinstance(f.get("rule_id"), str) or not f.get("rule_id"):
                raise EngineError("bad_result", f"{where}: element {i} holds a finding without rule_id: {str(f)[:200]}")
    return result


def batches(items: list[Any], size: int | None) -> list[list[Any]]:
    """Split ``items`` into consecutive batches of ``size`` (``None``/0 = one batch)."""
    if not size or size <= 0 or size >= len(items):
        return [items] if items else []
    return [items[i:i + size] for i in range(0, len(items), size)]


class Engine(ABC):
    """Evaluate facts documents against a policy bundle."""

    name: str = "abstract"

    def __init__(self, batch_size: int | None = None, strict: bool = False) -> None:
        self.batch_size = batch_size
        #: Strict builtin errors: a builtin error (type error, division by zero) fails the
        #: evaluation instead of making the expression undefined (OPA's default semantics).
        self.strict = strict
        self.stats: dict[str, Any] = {}

    @property
    @abstractmethod
    def policy_revision(self) -> str:
        """Revision of the policies actually used for evaluation."""

    @abstractmethod
    def _evaluate_inputs(self, inputs: list[dict[str, Any]]) -> list[Any]:
        """Evaluate each batch input (``{"documents", "evaluation_date", "config"}``), return raw results."""

    def _parts(self, documents: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        """The batches ``documents`` are sent in (``batch_size``; one batch when unset)."""
        return batches(documents, self.batch_size)

    def evaluate(self, documents: list[dict[str, Any]], evaluation_date: str,
                 config: dict[str, Any] | None = None) -> list[list[dict[str, Any]]]:
        """Return one list of raw findings per document, aligned with ``documents``."""
        if not documents:
            return []
        parts = self._parts(documents)
        inputs = [{"documents": p, "evaluation_date": evaluation_date, "config": dict(config or {})}
                  for p in parts]
        self.stats = {}
        start = time.monotonic()
        raw = self._evaluate_inputs(inputs)
        self.stats.update({"documents": len(documents), "batches": len(parts),
                           "seconds": round(time.monotonic() - start, 4)})
        if len(raw) != len(parts):
            raise EngineError("bad_result", f"{self.name} engine returned {len(raw)} results for {len(parts)} batches")
        out: list[list[dict[str, Any]]] = []
        for n, (part, res) in enumerate(zip(parts, raw, strict=True)):
            out.extend(validate_batch_result(res, len(part), f"{self.name} engine, batch {n + 1}/{len(parts)}"))
        return out
