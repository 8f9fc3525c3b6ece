# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Child-process worker for the embedded (regopy) engine.

Run as ``python _rego_worker.py <memory_mb>``; it is deliberately standalone
(standard library + regopy, no collection imports) so that it can run in a
fresh interpreter. The parent writes one JSON request on stdin::

    {"modules": {"name": "text"}, "data": {...}, "query": "data.refarch.main.batch",
     "inputs": [{...}, ...], "strict": true}

and reads JSON lines on stdout: ``{"event": "loaded"}`` after the bundle is
compiled, then ``{"event": "result", "index": i, "value": ...}`` per input, or
``{"event": "error", "cause": "...", "message": "..."}`` and exit. A segfault
or a kill simply ends the process: the parent turns that into an error.
"""

from __future__ import annotations

import json
import os
import sys


def _emit(stream, obj) -> None:
    stream.write(json.dumps(obj, separators=(",", ":")) + "\n")
    stream.flush()


def _vm_size() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _limit_memory(megabytes: int) -> None:
    """Cap further address-space growth at ``megabytes``.

    rego-cpp's allocator (snmalloc) reserves a huge virtual range (256 GiB) when
    the library initializes, so a plain RLIMIT_AS would stop it from starting.
    The cap is therefore set *after* that reservation, relative to the current
    size; it bounds growth outside the reservation, and the parent also watches
    the resident size (which covers allocations inside it).
    """
    if megabytes <= 0:
        return
    try:
        import resource  # noqa: PLC0415 - POSIX only
    except ImportError:  # pragma: no cover - non-POSIX
        return
    limit = _vm_size() + megabytes * 1024 * 1024
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY and limit > hard:
        limit = hard
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _error_text(output, fallback: str) -> str:
    """Collect the ``errormsg`` lines of a failed query's error sequence."""
    messages = []
    try:
        node = output.node()
        for i in range(len(node)):
            rendered = node.at(i).json()
            for raw in str(rendered).splitlines():
                line = raw.strip()
                if line.startswith("(errormsg"):
                    messages.append(line.split(":", 1)[-1].rstrip(")").strip())
    except Exception:  # noqa: S110  # pylint: disable=broad-except
        pass  # best effort: the caller falls back to the plain output text
    return "; ".join(messages) or fallback


def _query(interp, compiled, query: str, value) -> dict:
    """Evaluate ``query`` for one input; return ``{"value": ...}`` or ``{"error": event}``."""
    interp.set_input_term(json.dumps(value))
    output = interp.query_bundle(compiled) if compiled is not None else interp.query(query)
    text = str(output)
    if not output.ok():
        return {"error": {"event": "error", "cause": "eval_error", "message": _error_text(output, text)}}
    if text.strip() == "undefined" or len(output) == 0 or not output[0].expressions:
        return {"error": {"event": "error", "cause": "undefined", "message": f"{query} is undefined for this input"}}
    return {"value": output[0].expressions[0]}


def main(argv: list[str]) -> int:
    """Serve one evaluation request; see the module docstring for the protocol."""
    # Keep a private handle on the real stdout and point fd 1 at stderr, so that
    # anything the native library prints cannot corrupt the protocol stream.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    try:
        import regopy  # noqa: PLC0415 - imported in the child only, never in the Ansible worker
    except ImportError as exc:
        _emit(out, {"event": "error", "cause": "missing_library", "message": f"regopy is not importable: {exc}"})
        return 2
    try:
        interp = regopy.Interpreter()  # initializes the native allocator before the cap is set
        _limit_memory(int(argv[1]) if len(argv) > 1 else 0)
        request = json.load(sys.stdin)
    except MemoryError:
        _emit(out, {"event": "error", "cause": "memory", "message": "memory limit reached while reading the request"})
        return 3
    except (ValueError, OSError) as exc:
        _emit(out, {"event": "error", "cause": "bad_request", "message": f"invalid request: {exc}"})
        return 2
    try:
        if request.get("strict", False):
            interp.strict_built_in_errors = True
        for name, text in request.get("modules", {}).items():
            interp.add_module(name, text)
        interp.add_data_json(json.dumps(request.get("data") or {}))
        query = request["query"]
        # Compile once: a plain query() recompiles the whole bundle for every input.
        compiled = interp.build(query)
        if not compiled.ok():
            compiled = None
        _emit(out, {"event": "loaded", "compiled": compiled is not None})
    except MemoryError:
        _emit(out, {"event": "error", "cause": "memory", "message": "memory limit reached while loading the bundle"})
        return 3
    except Exception as exc:  # regopy.RegoError and friends  # pylint: disable=broad-except
        _emit(out, {"event": "error", "cause": "bundle", "message": str(exc)})
        return 1
    split = bool(request.get("split", True))
    for index, value in enumerate(request.get("inputs", [])):
        try:
            if split and isinstance(value, dict) and isinstance(value.get("documents"), list):
                # One document per query: regopy 1.5.2 was seen to mix up function results between
                # documents evaluated in the same query. With the analysis-based bundle, 1,000 documents
                # in queries of 100 matched OPA exactly, but batching saved no time (the cost is per
                # document: input conversion and rule evaluation), so the safe form stays.
                merged = []
                for doc in value["documents"]:
                    one = dict(value, documents=[doc])
                    result = _query(interp, compiled, query, one)
                    if "error" in result:
                        _emit(out, dict(result["error"], index=index))
                        return 1
                    if not isinstance(result["value"], list) or len(result["value"]) != 1:
                        _emit(out, {"event": "error", "cause": "bad_result", "index": index,
                                    "message": f"{query} did not return one array for one document"})
                        return 1
                    merged.append(result["value"][0])
                _emit(out, {"event": "result", "index": index, "value": merged})
            else:
                result = _query(interp, compiled, query, value)
                if "error" in result:
                    _emit(out, dict(result["error"], index=index))
                    return 1
                _emit(out, {"event": "result", "index": index, "value": result["value"]})
        except MemoryError:
            _emit(out, {"event": "error", "cause": "memory", "index": index,
                        "message": "memory limit reached while evaluating"})
            return 3
        except Exception as exc:  # pylint: disable=broad-except
            _emit(out, {"event": "error", "cause": "eval_error", "index": index, "message": str(exc)})
            return 1
    _emit(out, {"event": "done"})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
