# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decode what ``dockerfile_info`` sends back with ``output_encoding=json``.

The module sends its documents and its host summary as JSON strings
(``dockerfiles_json``, ``host_summary_json``): Ansible processes every nested
value of a module result one by one, which is slow for large scans. The action
plugins decode them here, on the controller.
"""

from __future__ import annotations

import json
from typing import Any


def decode_dockerfile_result(module_result: dict[str, Any], *, keep_documents_encoded: bool) -> dict[str, Any]:
    """Return ``module_result`` with ``host_summary`` decoded, and ``dockerfiles`` unless asked to keep the string.

    Raises ``ValueError`` naming the part that is not valid JSON.
    """
    out = dict(module_result)
    if not keep_documents_encoded:
        encoded = out.pop("dockerfiles_json", None)
        if encoded is not None:
            try:
                out["dockerfiles"] = json.loads(encoded)
            except ValueError as exc:
                raise ValueError(f"undecodable documents: {exc}") from exc
    encoded_summary = out.pop("host_summary_json", None)
    if encoded_summary is not None:
        try:
            out["host_summary"] = json.loads(encoded_summary)
        except ValueError as exc:
            raise ValueError(f"an undecodable host summary: {exc}") from exc
    return out
