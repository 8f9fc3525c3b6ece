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
    fields = [("host_summary", "an undecodable host summary")]
    if not keep_documents_encoded:
        fields.insert(0, ("dockerfiles", "undecodable documents"))
    for key, what in fields:
        encoded = out.pop(f"{key}_json", None)
        if encoded is not None:
            try:
                out[key] = json.loads(encoded)
            except ValueError as exc:
                raise ValueError(f"{what}: {exc}") from exc
    return out
