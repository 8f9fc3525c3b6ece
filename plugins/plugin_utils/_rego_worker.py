# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Child-process worker for the embedded engine (regorus or regopy).

Run as ``python _rego_worker.py <memory_mb>``; it is deliberately standalone
(standard library + the Rego library, no collection imports) so that it can run
in a fresh interpreter. The parent writes one JSON request header line on stdin::

    {"modules": {"name": "text"}, "data": {...}, "query": "data.refarch.main.batch",
     "count": 2, "strict": true, "backend": "auto"}

followed by ``count`` lines, each one input as compact JSON text, read one at a
time as they are evaluated (the parent writes them while the first ones are
evaluated). The inputs stay text in this process: regorus reads each line as it
is (no decoding and encoding again in Python, which cost more than reading them
in Rust); regopy decodes it. A request that ends early or goes on after its
``count`` inputs ends with a ``bad_request`` error.

The parent reads JSON lines on stdout: ``{"event": "loaded", "backend": ..., "version": ...}``
(``"fallback"``: why ``auto`` could not take regorus) after the bundle is compiled,
then ``{"event": "result", "index": i, "value": ...}`` per input, or
``{"event": "error", "cause": "...", "message": "..."}`` and exit. A segfault or a
kill simply ends the process: the parent turns that into an error.

Backends: ``regorus`` (the ``refarch_regorus`` extension built from
``native/refarch_regorus``: Microsoft's Rust Rego engine, one query per batch)
and ``regopy`` (rego-cpp, one query per document). ``auto`` takes regorus when
it is importable, else regopy.
"""

from __future__ import annotations

import json
import os
import sys


def _emit(stream, obj) -> None:
    """One event per line: ASCII JSON, so no line break but the final ``\\n`` (the parent splits on that byte only)."""
    stream.write(json.dumps(obj, separators=(",", ":"), ensure_ascii=True) + "\n")
    stream.flush()


def _line_safe(text: str) -> str:
    """JSON text with the Unicode line breaks other than U+000A escaped (equal JSON, one line for any reader).

    They can only occur inside JSON strings, where the escape means the same character.
    """
    if "\u2028" in text or "\u2029" in text or "\x85" in text:
        text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace("\x85", "\\u0085")
    return text


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


def _regopy_json(value) -> str:
    """JSON text for regopy (rego-cpp): non-ASCII characters as themselves, not as ``\\uXXXX`` escapes.

    rego-cpp keeps a string's escapes as they were written: an input string sent as ``"\\u00e9"`` then has 6
    characters for ``count``, is not equal to the policy's ``"\u00e9"``, and ``upper`` changes the escape, so
    regopy disagreed with OPA and regorus on any non-ASCII text. Text that is not valid Unicode (a lone
    surrogate) cannot be sent as itself and keeps the escapes.
    """
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value)
    return text


def _query(interp, compiled, query: str, value) -> dict:
    """Evaluate ``query`` for one input; return ``{"value": ...}`` or ``{"error": event}``."""
    interp.set_input_term(_regopy_json(value))
    output = interp.query_bundle(compiled) if compiled is not None else interp.query(query)
    text = str(output)
    if not output.ok():
        return {"error": {"event": "error", "cause": "eval_error", "message": _error_text(output, text)}}
    if text.strip() == "undefined" or len(output) == 0 or not output[0].expressions:
        return {"error": {"event": "error", "cause": "undefined", "message": f"{query} is undefined for this input"}}
    return {"value": output[0].expressions[0]}


def _load_regopy(out, request, memory_mb: int, fallback: str | None = None):
    """regopy interpreter with the bundle loaded, and the compiled query (or None).

    ``fallback``: why ``auto`` did not take regorus (reported in the loaded event).
    """
    import regopy  # noqa: PLC0415 - imported in the child only, never in the Ansible worker

    interp = regopy.Interpreter()  # initializes the native allocator before the cap is set
    _limit_memory(memory_mb)
    if request.get("strict", False):
        interp.strict_built_in_errors = True
    for name, text in request.get("modules", {}).items():
        interp.add_module(name, text)
    interp.add_data_json(_regopy_json(request.get("data") or {}))
    # Compile once: a plain query() recompiles the whole bundle for every input.
    compiled = interp.build(request["query"])
    if not compiled.ok():
        compiled = None
    _emit(out, {"event": "loaded", "backend": "regopy", "compiled": compiled is not None,
                "version": _dist_version("regopy"), "fallback": fallback})
    return interp, compiled


def _serve_regopy(out, request, interp, compiled) -> int:
    query = request["query"]
    split = bool(request.get("split", True))
    for index, text in enumerate(request.get("inputs", []), int(request.get("first_index", 0))):
        try:
            value = json.loads(text)
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


def _dist_version(name: str) -> str | None:
    """The installed version of the distribution ``name`` (None when unknown)."""
    try:
        from importlib import metadata  # noqa: PLC0415 - only when asked

        return metadata.version(name)
    except Exception:  # pylint: disable=broad-except
        return None


def _rule_path(query: str) -> str | None:
    """``query`` when it is a plain rule path (``data.a.b``), which is what regorus evaluates."""
    parts = query.split(".")
    if len(parts) >= 2 and parts[0] == "data" and all(p.isidentifier() for p in parts[1:]):
        return query
    return None


def _load_regorus(out, request, memory_mb: int, refarch_regorus):
    """regorus engine with the bundle loaded."""
    _limit_memory(memory_mb)
    engine = refarch_regorus.Engine()
    if request.get("strict", False):
        engine.set_strict_builtin_errors(True)
    for name, text in request.get("modules", {}).items():
        engine.add_policy(name, text)
    engine.add_data_json(json.dumps(request.get("data") or {}))
    version = getattr(refarch_regorus, "regorus_version", None)
    _emit(out, {"event": "loaded", "backend": "regorus", "compiled": True,
                "version": str(version()) if callable(version) else None})
    return engine


def _serve_regorus(out, request, engine) -> int:
    query = request["query"]
    rule = _rule_path(query)
    for index, given in enumerate(request.get("inputs", []), int(request.get("first_index", 0))):
        try:
            if rule is None:
                _emit(out, {"event": "error", "cause": "eval_error", "index": index,
                            "message": f"the regorus backend evaluates rule paths (data.pkg.rule), not {query!r}"})
                return 1
            try:
                engine.set_input_json(given)
            except Exception as exc:  # refarch_regorus.RegoError  # pylint: disable=broad-except
                if "recursion limit" not in str(exc):
                    raise
                _emit(out, {"event": "error", "cause": "eval_error", "index": index,
                            "message": "the input nests deeper than the regorus backend reads (128 levels): "
                                       f"{exc}; evaluate it with embedded_backend=regopy or the opa engine"})
                return 1
            text = engine.eval_rule_json(rule)
            if text is None:
                _emit(out, {"event": "error", "cause": "undefined", "index": index,
                            "message": f"{query} is undefined for this input"})
                return 1
            # The value is already JSON text: splice it in rather than decode and encode it again.
            out.write(f'{{"event":"result","index":{index},"value":{_line_safe(text)}}}\n')
            out.flush()
        except MemoryError:
            _emit(out, {"event": "error", "cause": "memory", "index": index,
                        "message": "memory limit reached while evaluating"})
            return 3
        except Exception as exc:  # refarch_regorus.RegoError  # pylint: disable=broad-except
            _emit(out, {"event": "error", "cause": "eval_error", "index": index, "message": str(exc)})
            return 1
    _emit(out, {"event": "done"})
    return 0


def _import_backend(name: str):
    """(backend name, module, why regorus was not taken) for ``auto`` / ``regorus`` / ``regopy``.

    Raises ImportError with the reasons when no backend is importable.
    """
    reasons = []
    if name in ("auto", "regorus"):
        try:
            import refarch_regorus  # noqa: PLC0415 - child only

            return "regorus", refarch_regorus, None
        except ImportError as exc:
            reasons.append(f"refarch_regorus: {exc}")
    if name in ("auto", "regopy"):
        try:
            import regopy  # noqa: PLC0415 - child only

            return "regopy", regopy, "; ".join(reasons) or None
        except ImportError as exc:
            reasons.append(f"regopy: {exc}")
    if name not in ("auto", "regorus", "regopy"):
        reasons.append(f"unknown backend {name!r} (auto, regorus or regopy)")
    raise ImportError("; ".join(reasons))


class _BadRequest(ValueError):
    """The request is not what the parent writes (see the module docstring)."""


def _read_request(stream) -> dict:
    """The request header, with ``inputs``: an iterator over its ``count`` input lines, as text."""
    request = json.loads(stream.readline())
    if not isinstance(request, dict) or not isinstance(request.get("query"), str):
        raise ValueError("the request is not an object with a query")
    count = request.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ValueError("the request header has no input count")
    request["inputs"] = _input_lines(stream, count)
    return request


def _input_lines(stream, count: int):
    """Each input line as text, read when asked for; _BadRequest when there are not exactly ``count``."""
    for n in range(count):
        line = stream.readline()
        if not line.endswith(b"\n"):
            raise _BadRequest(f"the request ends after {n} of {count} inputs")
        try:
            yield line[:-1].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _BadRequest(f"input {n} is not UTF-8: {exc}") from None
    if stream.read(1):
        raise _BadRequest(f"the request has more than {count} inputs")


def main(argv: list[str]) -> int:
    """Serve one evaluation request; see the module docstring for the protocol."""
    # Keep a private handle on the real stdout and point fd 1 at stderr, so that
    # anything the native library prints cannot corrupt the protocol stream.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    memory_mb = int(argv[1]) if len(argv) > 1 else 0
    try:
        request = _read_request(sys.stdin.buffer)
    except MemoryError:
        _emit(out, {"event": "error", "cause": "memory", "message": "memory limit reached while reading the request"})
        return 3
    except (ValueError, OSError) as exc:
        _emit(out, {"event": "error", "cause": "bad_request", "message": f"invalid request: {exc}"})
        return 2
    try:
        backend, library, fallback = _import_backend(str(request.get("backend") or "auto"))
    except ImportError as exc:
        _emit(out, {"event": "error", "cause": "missing_library", "message": f"no Rego library is importable: {exc}"})
        return 2
    try:
        if backend == "regorus":
            engine = _load_regorus(out, request, memory_mb, library)
        else:
            interp, compiled = _load_regopy(out, request, memory_mb, fallback)
    except MemoryError:
        _emit(out, {"event": "error", "cause": "memory", "message": "memory limit reached while loading the bundle"})
        return 3
    except Exception as exc:  # regopy.RegoError, refarch_regorus.RegoError  # pylint: disable=broad-except
        _emit(out, {"event": "error", "cause": "bundle", "backend": backend, "message": str(exc)})
        return 1
    if backend == "regorus":
        def serve(req):
            return _serve_regorus(out, req, engine)
    else:
        def serve(req):
            return _serve_regopy(out, req, interp, compiled)
    try:
        return _serve_all(out, serve, request)
    except MemoryError:  # reading an input line
        _emit(out, {"event": "error", "cause": "memory", "message": "memory limit reached while reading the request"})
        return 3
    except (_BadRequest, OSError) as exc:
        _emit(out, {"event": "error", "cause": "bad_request", "message": f"invalid request: {exc}"})
        return 2


def _serve_all(out, serve, request) -> int:
    """Evaluate every input of the request with ``serve``; the worker's exit status."""
    if not request.get("keep_going"):
        return serve(request)
    # keep_going: each input on its own, so that one that fails (an error event with its index)
    # does not stop the next ones; a memory error or a crash still ends the worker.
    for index, value in enumerate(request.get("inputs", [])):
        status = serve(dict(request, inputs=[value], first_index=index))
        if status not in (0, 1):
            return status
    _emit(out, {"event": "done"})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
