# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""YAML of build descriptors, read on the controller: PyYAML's safe loader, bounded (pure).

Compose files use anchors, aliases and merge keys (``x-common: &common {...}`` then
``<<: *common``); PyYAML resolves them. An alias is a reference, so a small file can stand for
a huge document (the "billion laughs": each level repeats the one before it several times); a
merge key copies the pairs of the mappings it names, and whoever walks the result walks every
repetition. So before anything is constructed, the composed node graph is measured as if every
alias were expanded (each node counted once per path that reaches it, computed once per node,
so the measure itself is linear in the file): more than :data:`MAX_EXPANDED_NODES`, or an alias
that refers to a node containing it (a recursive structure), and the file is refused with
:class:`Refused` (``yaml_expansion``). What is loaded is then at most that large, whatever reads it.
"""

from __future__ import annotations

from typing import Any

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML is a controller requirement (requirements.txt)
    yaml = None

#: The most nodes (scalars, sequences, mappings) a document may hold with every alias expanded.
#: A 512 KiB descriptor without aliases holds far fewer; a billion-laughs file holds far more.
MAX_EXPANDED_NODES = 1_000_000


class Refused(ValueError):
    """A YAML document that is refused before it is constructed (``code``, ``line``)."""

    def __init__(self, code: str, line: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.line = line


def _children(node: Any) -> list[Any]:
    value = node.value
    if isinstance(value, list):  # sequence: nodes; mapping: (key node, value node) pairs
        return [n for item in value for n in (item if isinstance(item, tuple) else (item,))]
    return []  # a scalar


def _line(node: Any) -> int:
    mark = getattr(node, "start_mark", None)
    return mark.line + 1 if mark is not None else 0


def expanded_size(root: Any, limit: int = MAX_EXPANDED_NODES) -> int:
    """How many nodes ``root`` (a composed node) holds with every alias expanded; raises :class:`Refused` above
    ``limit`` or on a recursive alias. Each node is measured once (iteratively, no recursion)."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()  # entered, not finished: the path from the root to the node being measured
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            open_nodes.discard(key)
            total = 1 + sum(sizes[id(child)] for child in _children(node))
            if total > limit:
                raise Refused("yaml_expansion", _line(node),
                              f"line {_line(node)}: with its aliases expanded the document holds more than {limit} "
                              "values (an alias bomb?)")
            sizes[key] = total
            continue
        if key in sizes:
            continue
        open_nodes.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in open_nodes:
                raise Refused("yaml_expansion", _line(child),
                              f"line {_line(child)}: an alias refers to a value that contains it (a recursive "
                              "structure)")
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes[id(root)]


if yaml is not None:
    # libyaml's parser when PyYAML has it (much faster; it also stops at 1,000 levels of nesting), else PyYAML's own;
    # the constructor is the safe one either way
    class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc,name-defined]
        """Safe loader that measures the composed document before constructing it (see the module docstring)."""

        def construct_document(self, node: Any) -> Any:
            expanded_size(node)
            return super().construct_document(node)


def load(text: str) -> Any:
    """One YAML document, anchors, aliases and merge keys resolved, bounded.

    Raises :class:`Refused`, ``yaml.YAMLError`` (not YAML, several documents, nested too deeply for libyaml) or
    ``RecursionError`` (nested too deeply for PyYAML's own parser); ``RuntimeError`` when PyYAML is missing.
    """
    if yaml is None:  # pragma: no cover
        raise RuntimeError("PyYAML is not installed on the controller")
    return yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
