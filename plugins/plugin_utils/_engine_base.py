# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Common ground of the policy evaluation engines.

An engine turns facts documents into the raw per-document findings of the
bundle's batch entry point (contracts.md section 3). Every failure mode (crash,
timeout, undefined result, error object, unreachable server, bundle problem)
is an :class:`EngineError`; an engine never answers "no findings" for a
document it could not evaluate.

One document that breaks an engine (a crash, an evaluation error, a result
that is not one array of findings) does not fail the others: when a run fails
for a cause a document can have (:data:`DOCUMENT_CAUSES`), the documents are
evaluated again on their own (:meth:`Engine._evaluate_each`) and each one that
still fails alone gets one ``NRA000`` finding saying that the engine failed on
it (``engine_failure`` names the cause), never an empty list. When an empty
probe document fails too, the engine itself is broken (a policy that errors on
every input, a worker that cannot start, a memory limit below what the bundle
needs): that is raised as before, without evaluating document by document.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import Any, Union

#: Causes an :class:`EngineError` may carry.
CAUSES = (
    "bundle", "policy_syntax", "crash", "timeout", "memory", "undefined", "eval_error",
    "bad_result", "connection", "http", "tls", "revision", "config", "missing_library",
)


#: Defaults of the OPA server engine (policy_check's opa_timeout and opa_retries).
DEFAULT_OPA_TIMEOUT = 30.0
DEFAULT_OPA_RETRIES = 3

#: Failures that one document can cause: the documents are then evaluated on their own.
DOCUMENT_CAUSES = frozenset({"eval_error", "undefined", "bad_result", "memory", "crash"})

#: The rule that reports a document the engine could not evaluate, and what it says when the
#: bundle's catalog does not describe it (a user bundle without the collection's rules).
FAILURE_RULE = "NRA000"
_FAILURE_META = {"severity": "high", "title": "Facts could not be evaluated", "fix": "manual", "aliases": [],
                 "category": "evaluation", "advisory": False}


class EngineError(Exception):
    """An engine could not produce findings. ``cause`` is one of :data:`CAUSES`.

    ``document``: whether the documents evaluated may be the cause (a failure while the
    bundle loads, or a timeout, is not about one document).
    """

    def __init__(self, cause: str, message: str, *, document: bool | None = None) -> None:
        super().__init__(f"{cause}: {message}")
        self.cause = cause
        self.message = message
        self.document = cause in DOCUMENT_CAUSES if document is None else bool(document)


#: What :meth:`Engine._evaluate_each` gives for one document: its raw findings, or why it failed.
Outcome = Union[list[dict[str, Any]], EngineError]


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
        """Return one list of raw findings per document, aligned with ``documents``.

        A document the engine fails on gets one ``NRA000`` finding instead (see the module docstring).
        """
        if not documents:
            return []
        self.stats = {}
        start = time.monotonic()
        try:
            out = self._evaluate_once(documents, evaluation_date, config)
        except EngineError as exc:
            if not exc.document:
                raise
            try:  # is it the engine rather than the documents? An empty document must evaluate.
                self._evaluate_once([{}], evaluation_date, config)
            except EngineError:
                raise exc from None
            outcomes = self._evaluate_each(documents, evaluation_date, config, exc)
            failed = [o for o in outcomes if isinstance(o, EngineError)]
            out = [self._failure_findings(o) if isinstance(o, EngineError) else o for o in outcomes]
            self.stats["engine_failures"] = len(failed)
        self.stats.update({"documents": len(documents), "batches": len(self._parts(documents)),
                           "seconds": round(time.monotonic() - start, 4)})
        return out

    def _evaluate_once(self, documents: list[dict[str, Any]], evaluation_date: str,
                       config: dict[str, Any] | None) -> list[list[dict[str, Any]]]:
        """One run over ``documents`` (in :meth:`_parts`); raises EngineError when any of it fails."""
        parts = self._parts(documents)
        inputs = [{"documents": p, "evaluation_date": evaluation_date, "config": dict(config or {})}
                  for p in parts]
        raw = self._evaluate_inputs(inputs)
        if len(raw) != len(parts):
            raise EngineError("bad_result", f"{self.name} engine returned {len(raw)} results for {len(parts)} batches")
        out: list[list[dict[str, Any]]] = []
        for n, (part, res) in enumerate(zip(parts, raw, strict=True)):
            out.extend(validate_batch_result(res, len(part), f"{self.name} engine, batch {n + 1}/{len(parts)}"))
        return out

    def _evaluate_each(self, documents: list[dict[str, Any]], evaluation_date: str,
                       config: dict[str, Any] | None, failure: EngineError | None = None) -> list[Outcome]:
        """Each document's findings as if evaluated alone, or the EngineError it fails with alone.

        By halves: a half that evaluates is kept whole, a failing half is split again, so a few
        broken documents cost a few runs per level. ``failure``: how ``documents`` together
        already failed (not asked again). Failures that are not about the documents (a dead
        server, a timeout) are raised.
        """
        if failure is None:
            try:
                return list(self._evaluate_once(documents, evaluation_date, config))
            except EngineError as exc:
                if not exc.document:
                    raise
                failure = exc
        if len(documents) == 1:
            return [failure]
        middle = len(documents) // 2
        return (self._evaluate_each(documents[:middle], evaluation_date, config)
                + self._evaluate_each(documents[middle:], evaluation_date, config))

    def _failure_findings(self, exc: EngineError) -> list[dict[str, Any]]:
        """The raw findings of a document the engine failed on alone: one NRA000, never a pass."""
        bundle = getattr(self, "bundle", None)
        catalog = (((getattr(bundle, "data", None) or {}).get("refarch") or {}).get("catalog") or {}).get("rules")
        meta = dict(_FAILURE_META)
        if isinstance(catalog, dict) and isinstance(catalog.get(FAILURE_RULE), dict):
            meta.update({k: v for k, v in catalog[FAILURE_RULE].items() if k in meta})
        detail = " ".join(str(exc.message).split())
        if len(detail) > 400:
            detail = detail[:399] + "\u2026"
        return [{
            "rule_id": FAILURE_RULE, "severity": meta["severity"], "title": meta["title"],
            "message": (f"the {self.name} policy engine failed on this document ({exc.cause}), so it was not "
                        f"evaluated and is not compliant; the other documents were evaluated normally: {detail}"),
            "line": None, "fix": meta["fix"], "related": list(meta["aliases"] or []), "category": meta["category"],
            "advisory": False, "engine_failure": exc.cause,
        }]
