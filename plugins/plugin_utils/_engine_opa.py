# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""OPA engine: a running OPA server reached through ``opa-python-client`` 3.x.

Two modes:

* ``preloaded``: the server already serves the bundle (``opa run -s -b policies/``
  or a bundle service). With ``check_revision`` the server's revision (its
  bundle manifest revision and the hash of its non-test module texts) must
  equal the local bundle's, otherwise the engine refuses to evaluate.
* ``push``: modules are uploaded through the Policy API under ids
  ``refarch-push/<relative path>`` and data documents through the Data API.
  Idempotent: nothing is uploaded when the server already has the same texts;
  stale ``refarch-push/`` modules are deleted.

Evaluation posts ``{"input": batch}`` to ``/v1/data/refarch/main/batch`` (with
``strict-builtin-errors`` when ``strict``); a response without ``result`` is an undefined
decision and an error. Connection failures, timeouts and 502/503/504 are
retried a bounded number of times with exponential backoff.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ansible_collections.refarch.containers.plugins.module_utils._redact import REDACTED, redact_text
from ansible_collections.refarch.containers.plugins.plugin_utils._bundle import Bundle, modules_hash
from ansible_collections.refarch.containers.plugins.plugin_utils._engine_base import (
    DEFAULT_OPA_RETRIES,
    DEFAULT_OPA_TIMEOUT,
    Engine,
    EngineError,
)
from ansible_collections.refarch.containers.plugins.plugin_utils._provenance import safe_url

try:
    import requests
    from opa_client import OpaClient
    HAS_OPA_CLIENT = True
    OPA_CLIENT_IMPORT_ERROR: str | None = None
except ImportError as _exc:  # pragma: no cover - depends on the environment
    HAS_OPA_CLIENT = False
    OPA_CLIENT_IMPORT_ERROR = str(_exc)

PUSH_PREFIX = "refarch-push/"
_RETRY_STATUS = (502, 503, 504)


class OpaEngine(Engine):
    """Evaluate through an OPA server's REST API."""

    name = "opa"

    def __init__(self, bundle: Bundle, url: str, *, token: str | None = None, ca_file: str | None = None,
                 validate_certs: bool = True, client_cert: str | None = None, client_key: str | None = None,
                 timeout: float = DEFAULT_OPA_TIMEOUT, retries: int = DEFAULT_OPA_RETRIES, backoff: float = 0.5,
                 batch_size: int | None = None,
                 mode: str = "preloaded", check_revision: bool = True,
                 package_path: str = "refarch.main", rule_name: str = "batch", strict: bool = False) -> None:
        super().__init__(batch_size, strict)
        if not HAS_OPA_CLIENT:
            raise EngineError("missing_library",
                              f"the opa engine needs opa-python-client 3.x: {OPA_CLIENT_IMPORT_ERROR}")
        if mode not in ("preloaded", "push"):
            raise EngineError("config", f"opa mode must be preloaded or push, got {mode!r}")
        if retries < 0 or retries > 10:
            raise EngineError("config", f"opa retries must be between 0 and 10, got {retries}")
        self.bundle = bundle
        # what messages show: the URL without user information (http://user:pass@host), and nothing
        # of the token or of that user information, even when a server echoes them in an error body
        self.url = safe_url(url) or "(no url)"
        self._secrets = [s for s in (token, urlparse(str(url)).password) if s and len(s) >= 4]
        self.mode = mode
        self.check_revision = check_revision
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.package_path = package_path
        self.rule_name = rule_name
        self._server_revision: str | None = None
        #: the server's OPA version (its Config API's ``labels.version``); None when it does not say
        self.server_version: str | None = None
        self._prepared = False
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise EngineError("config", f"opa_url must be http(s)://host[:port][/prefix], got {self.url!r}")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        ssl: Any = False
        if parsed.scheme == "https":
            ssl = ca_file if (ca_file and validate_certs) else True
        cert: Any = None
        if client_cert:
            cert = (client_cert, client_key) if client_key else client_cert
        # retries=0: the client's own urllib3 retry would not retry POSTs; we retry ourselves.
        self.client = OpaClient(host=parsed.hostname, port=port, ssl=ssl, cert=cert, token=token,
                                retries=0, timeout=self.timeout)
        if parsed.scheme == "https":
            verify: Any = (ca_file or True) if validate_certs else False
            _pin_verify(self.client._session, verify)  # pylint: disable=protected-access
        prefix = parsed.path.rstrip("/")
        if prefix:
            # Reverse-proxied OPA under a path prefix: the client only builds host:port/v1.
            self.client.root_url = f"{parsed.scheme}://{parsed.hostname}:{port}{prefix}/v1"

    # ------------------------------------------------------------------ HTTP helpers

    def _mask(self, text: str) -> str:
        """``text`` without the token, the URL's user information, or any other credential it quotes."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return redact_text(text)

    def _call(self, what: str, func, *args, **kwargs):
        """Run one client call with bounded retries; map failures to EngineError (credentials masked)."""
        try:
            return self._call_raw(what, func, *args, **kwargs)
        except EngineError as exc:
            raise EngineError(exc.cause, self._mask(exc.message), document=exc.document) from exc.__cause__

    def _call_raw(self, what: str, func, *args, **kwargs):
        attempt = 0
        while True:
            try:
                return func(*args, **kwargs)
            except requests.exceptions.SSLError as exc:
                raise EngineError("tls", f"TLS error talking to OPA at {self.url} ({what}): {exc}") from exc
            except requests.exceptions.HTTPError as exc:
                resp = exc.response
                status = resp.status_code if resp is not None else 0
                detail = _error_detail(resp)
                if status in _RETRY_STATUS and attempt < self.retries:
                    attempt += 1
                    time.sleep(self.backoff * (2 ** (attempt - 1)))
                    continue
                if status == 500 and "eval_" in detail:
                    raise EngineError("eval_error", f"OPA at {self.url} failed to evaluate ({what}): {detail}") from exc
                if status in (401, 403):
                    raise EngineError("http", f"OPA at {self.url} refused the request ({what}): HTTP {status} "
                                      f"(check opa_token): {detail}") from exc
                raise EngineError("http", f"OPA at {self.url} answered HTTP {status} ({what}"
                                  f"{', after ' + str(attempt) + ' retries' if attempt else ''}): {detail}") from exc
            except requests.exceptions.Timeout as exc:
                if attempt < self.retries:
                    attempt += 1
                    time.sleep(self.backoff * (2 ** (attempt - 1)))
                    continue
                raise EngineError("timeout", f"OPA at {self.url} did not answer within {self.timeout:g}s ({what}, "
                                  f"{attempt + 1} attempt(s))") from exc
            except requests.exceptions.ConnectionError as exc:
                timed_out = "timed out" in str(exc).lower()  # read timeouts arrive wrapped in MaxRetryError
                if attempt < self.retries:
                    attempt += 1
                    time.sleep(self.backoff * (2 ** (attempt - 1)))
                    continue
                if timed_out:
                    raise EngineError("timeout", f"OPA at {self.url} did not answer within {self.timeout:g}s "
                                      f"({what}, {attempt + 1} attempt(s))") from exc
                raise EngineError("connection", f"cannot connect to OPA at {self.url} ({what}, {attempt + 1} "
                                  f"attempt(s)): {_short(exc)}") from exc
            except RecursionError as exc:  # a document nested too deep to be encoded
                raise EngineError("bad_result", f"the documents cannot be sent to OPA at {self.url} ({what}): "
                                                f"{exc}") from None
            except ValueError as exc:  # body that is not JSON
                raise EngineError("http", f"OPA at {self.url} returned a non-JSON answer ({what}): {exc}") from exc
            except Exception as exc:  # opa_client's own exception classes  # pylint: disable=broad-except
                errors = getattr(exc, "errors", None) or []
                details = "; ".join(_one_error(e) for e in errors if isinstance(e, dict))
                msg = details or getattr(exc, "message", None) or str(exc)
                cause = "policy_syntax" if type(exc).__name__ == "RegoParseError" else "http"
                raise EngineError(cause, f"OPA at {self.url} ({what}): {msg}") from exc

    def _get_json(self, path: str) -> dict[str, Any]:
        def _get() -> dict[str, Any]:
            resp = self.client._session.get(f"{self.client.root_url}/{path}",  # pylint: disable=protected-access
                                            timeout=self.timeout)
            resp.raise_for_status()
            return resp.json()
        return self._call(f"GET /v1/{path}", _get)

    # ------------------------------------------------------------------ revision / push

    def server_revision(self) -> tuple[str | None, str]:
        """Return (manifest revision or None, modules hash) of what the server serves."""
        policies = self._get_json("policies").get("result") or []
        texts = [p.get("raw", "") for p in policies
                 if isinstance(p, dict) and not str(p.get("id", "")).endswith("_test.rego")]
        revisions: list[str] = []
        bundles = self._get_json("data/system/bundles").get("result") or {}
        for info in bundles.values() if isinstance(bundles, dict) else []:
            rev = ((info or {}).get("manifest") or {}).get("revision")
            if rev:
                revisions.append(str(rev))
        # Several bundles (the collection's and a user's): report the local one's revision when served.
        if self.bundle.manifest_revision in revisions:
            manifest_rev: str | None = self.bundle.manifest_revision
        else:
            manifest_rev = sorted(revisions)[0] if revisions else None
        return manifest_rev, modules_hash(texts)

    def _relative_ids(self) -> dict[str, str]:
        ids: dict[str, str] = {}
        common = _common_parent(list(self.bundle.modules))
        for path in self.bundle.modules:
            rel = Path(path).relative_to(common).as_posix() if common else Path(path).name
            ids[PUSH_PREFIX + rel] = path
        return ids

    def push(self) -> bool:
        """Upload the bundle's modules and data; return True when anything changed."""
        policies = self._get_json("policies").get("result") or []
        have = {p.get("id"): p.get("raw") for p in policies if isinstance(p, dict)}
        changed = False
        for key, doc in sorted(self.bundle.data_files.items()):
            if not key:
                raise EngineError("config", "push mode cannot upload a data.json at the bundle root")
            current = self._get_json(f"data/{key}").get("result")
            if not (isinstance(current, dict) and isinstance(doc, dict)
                    and all(current.get(k) == v for k, v in doc.items())):
                self._call(f"PUT /v1/data/{key}", self.client.update_or_create_data, doc, key)
                changed = True
        wanted = self._relative_ids()
        # The Policy API compiles each module against what the server already has,
        # so a module that uses another one must come after it: push in passes
        # until every module is accepted or a pass makes no progress.
        pending = [pid for pid in sorted(wanted) if have.get(pid) != self.bundle.modules[wanted[pid]]]
        while pending:
            failed: list[tuple[str, EngineError]] = []
            for pid in pending:
                try:
                    self._call(f"PUT /v1/policies/{pid}", self.client.update_policy_from_string,
                               self.bundle.modules[wanted[pid]], pid, rego_compat=False)
                    changed = True
                except EngineError as exc:
                    if exc.cause != "policy_syntax":
                        raise
                    failed.append((pid, exc))
            if len(failed) == len(pending):
                raise EngineError("policy_syntax", "OPA rejected the pushed policies: "
                                  + "; ".join(f"{pid}: {exc.message}" for pid, exc in failed[:5]))
            pending = [item[0] for item in failed]
        for pid in sorted(have):
            if pid and pid.startswith(PUSH_PREFIX) and pid not in wanted:
                self._call(f"DELETE /v1/policies/{pid}", self.client.delete_policy, pid)
                changed = True
        return changed

    def prepare(self) -> None:
        """Push (push mode) and verify the server's revision (when ``check_revision``)."""
        if self._prepared:
            return
        if self.mode == "push":
            self.stats["pushed"] = self.push()
        manifest_rev, mhash = self.server_revision()
        if self.mode == "push":  # pushed modules carry no manifest: the local one describes them
            manifest_rev = manifest_rev or self.bundle.manifest_revision
        self._server_revision = f"{manifest_rev or 'unversioned'}+{mhash[:12]}"
        if self.check_revision:
            local = self.bundle
            if mhash != local.content_hash or (manifest_rev and local.manifest_revision
                                               and manifest_rev != local.manifest_revision):
                raise EngineError(
                    "revision",
                    f"OPA at {self.url} serves policy revision {manifest_rev or 'unversioned'}+{mhash[:12]} but the "
                    f"local bundle is {local.revision}; deploy the same bundle to the server, use opa_mode=push, "
                    f"or turn revision checking off")
        self.server_version = self._ask_version()
        self._prepared = True

    def _ask_version(self) -> str | None:
        """The server's version from ``GET /v1/config`` (``labels.version``): one try, never an error.

        OPA puts its version among the labels of its active configuration; a server whose
        authorization policy refuses the Config API simply leaves the version unknown.
        """
        try:
            resp = self.client._session.get(f"{self.client.root_url}/config",  # pylint: disable=protected-access
                                            timeout=min(self.timeout, 5.0))
            if resp.status_code != 200:
                return None
            labels = ((resp.json() or {}).get("result") or {}).get("labels") or {}
        except Exception:  # pylint: disable=broad-except  # a version is a nicety, the evaluation goes on
            return None
        version = labels.get("version") if isinstance(labels, dict) else None
        return str(version)[:64] if version else None

    @property
    def policy_revision(self) -> str:
        if self._server_revision is None:
            self.prepare()
        return self._server_revision or self.bundle.revision

    # ------------------------------------------------------------------ evaluation

    def _evaluate_inputs(self, inputs: list[dict[str, Any]]) -> list[Any]:
        self.prepare()
        self.stats.update(backend="opa", backend_version=self.server_version)
        out: list[Any] = []
        for n, item in enumerate(inputs):
            what = f"query data.{self.package_path}.{self.rule_name}, batch {n + 1}/{len(inputs)}"
            body = self._call(what, self.client.query_rule, item, self.package_path, self.rule_name,
                              query_params={"strict-builtin-errors": "true"} if self.strict else None)
            if not isinstance(body, dict) or "result" not in body:
                raise EngineError("undefined", f"OPA at {self.url}: data.{self.package_path}.{self.rule_name} is "
                                  f"undefined ({what}); is the refarch bundle loaded on the server?")
            out.append(body["result"])
        return out

    def close(self) -> None:
        """Close the HTTP session."""
        self.client.close_connection()


def _pin_verify(session: Any, verify: Any) -> None:
    """Make every request of ``session`` use ``verify``.

    requests lets ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` override ``session.verify``
    (the per-request value wins, and it is filled from the environment), which would
    silently ignore opa_ca_file / opa_validate_certs; passing it per request prevents that.
    """
    session.verify = verify
    original = session.request

    def request(method: str, url: str, **kwargs: Any) -> Any:
        kwargs.setdefault("verify", verify)
        return original(method, url, **kwargs)

    session.request = request


def _short(exc: BaseException) -> str:
    text = str(exc)
    if "Connection refused" in text:
        return "connection refused"
    return text[:300]


def _one_error(err: dict[str, Any]) -> str:
    loc = err.get("location") or {}
    where = f"{loc.get('file')}:{loc.get('row')}: " if loc.get("file") else ""
    return f"{where}{err.get('message', '')}"


def _error_detail(resp: Any) -> str:
    if resp is None:
        return "no response"
    try:
        body = resp.json()
    except ValueError:
        return (resp.text or "").strip()[:300] or resp.reason or ""
    if isinstance(body, dict):
        parts = [str(body.get("message", ""))]
        for err in body.get("errors") or []:
            if isinstance(err, dict):
                loc = err.get("location") or {}
                where = f" at {loc.get('file')}:{loc.get('row')}" if loc.get("file") else ""
                parts.append(f"{err.get('code', '')}: {err.get('message', '')}{where}")
        return "; ".join(p for p in parts if p)[:800]
    return str(body)[:300]


def _common_parent(paths: list[str]) -> Path | None:
    if not paths:
        return None
    parents = [Path(p).parent for p in paths]
    common = parents[0]
    for p in parents[1:]:
        while common not in (p, *p.parents):
            if common.parent == common:
                return None
            common = common.parent
    return common.parent if len(paths) == 1 else common
