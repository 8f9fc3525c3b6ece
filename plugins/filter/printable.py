# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``printable`` filter: text from scanned hosts made safe for task names, loop labels and messages.

Documentation lives beside this file (``printable.yml``).
"""

from __future__ import annotations

from typing import Any

from ansible_collections.refarch.containers.plugins.module_utils._printable import printable as _printable


def printable(value: Any, keep_newlines: bool = False) -> str:
    """Escape control characters (C0, C1, DEL, U+2028/U+2029, bidi controls) visibly."""
    return _printable(value, keep_newlines=bool(keep_newlines))


class FilterModule:
    """refarch.containers text filters."""

    def filters(self) -> dict[str, Any]:
        """Map filter names to functions."""
        return {"printable": printable}
