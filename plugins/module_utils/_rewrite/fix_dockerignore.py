# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fix ``write_dockerignore`` (NRA004): create or extend the build context's ``.dockerignore``.

Part of the rewriter (``module_utils/_rewriter.py``); pure, standard library only."""
from __future__ import annotations

import fnmatch
from typing import NamedTuple

from ansible_collections.refarch.containers.plugins.module_utils._rewrite.model import (
    DOCKERIGNORE_ENTRIES,
    FixContext,
    NotNeeded,
    Skip,
    _body,
    _Doc,
    _ending,
    _newline_of,
    _split_lines,
)

# --------------------------------------------------------------------------- fix: .dockerignore


def _pattern_covers(pattern: str, entry: str) -> bool:
    p = pattern.strip()
    if p.startswith("/"):
        p = p[1:]
    p = p.rstrip("/")
    if not p:
        return False
    candidates = [p]
    while candidates[-1].startswith("**/"):
        candidates.append(candidates[-1][3:])
    return any(fnmatch.fnmatchcase(entry, c) for c in candidates) or p in ("**", "*")


def _dockerignore_patterns(ctx: FixContext) -> list:
    """Patterns of the build context's .dockerignore (from its text, else from the facts)."""
    text = ctx.dockerignore_text
    if text is not None:
        bodies = (_body(x).strip() for x in _split_lines(text))
        return [b for b in bodies if b and not b.startswith("#")]
    facts = ctx.dockerignore or {}
    return list(facts.get("patterns") or [])


_GLOB_CHARS = frozenset("*?[")


def _copied_entries(doc: _Doc, entries: list) -> dict:
    """Entries that a COPY or ADD takes from the build context by name: ``{entry: line}``.

    Excluding such an entry in the .dockerignore would make that instruction fail (or copy
    less), so the fix leaves it alone. Only the first path component of a source counts, the
    way an unanchored .dockerignore pattern matches from the context root; ``.``, ``*`` and
    the like copy the whole context, which is what the exclusion is for.
    """
    found: dict = {}
    for ins in doc.instructions:
        flags = ins.get("flags") or []
        if ins["cmd"] not in ("COPY", "ADD") or any(str(f).lower().startswith("--from") for f in flags):
            continue
        for arg in list(ins.get("value") or [])[:-1]:
            src = str(arg)
            if src.startswith("<<") or "://" in src or src.startswith("git@"):
                continue
            first = src.lstrip("/").removeprefix("./").split("/", 1)[0]
            if not first or first in (".", "..") or first.strip("*.") == "":
                continue
            for entry in entries:
                hit = first == entry or (bool(_GLOB_CHARS & set(first)) and fnmatch.fnmatchcase(entry, first))
                if hit and entry not in found:
                    found[entry] = ins.get("start_line")
    return found


#: Files the remediation itself may leave in the build context: the ignore file it writes and the temporary file of
#: an atomic write a killed run leaves behind (``_safefs_write.TMP_SUFFIX``). When the fix writes the ignore file it
#: excludes them too, so ``COPY . .`` never puts them into the image.
OWN_ENTRIES = ("*.refarch.tmp",)


def _own_entries(ctx: FixContext) -> list:
    return [ctx.dockerignore_name or ".dockerignore", *OWN_ENTRIES]


#: What the fix says when every entry is already excluded (after ``not needed: ``).
ALREADY_EXCLUDED = ".dockerignore already excludes node_modules, .git and .cache"


class DockerignoreText(NamedTuple):
    """The fix's answer when it writes the .dockerignore: its new ``text``, the ``lines`` touched
    (1-based, in the new file) and a ``note`` on entries left out (or None)."""

    text: str
    lines: list
    note: str | None = None


def _fix_write_dockerignore(doc_text: str | None, ctx: FixContext,
                            doc: _Doc) -> DockerignoreText | Skip | NotNeeded:
    """Return the new .dockerignore (:class:`DockerignoreText`), ``Skip(reason)`` when it must not be
    changed (it re-includes an entry, or every missing entry is copied by name), or ``NotNeeded``.

    ``doc`` is the Dockerfile as rewritten so far: entries its COPY/ADD instructions take from
    the context by name are not excluded (see :func:`_copied_entries`).
    """
    text = doc_text
    lines = _split_lines(text or "")
    patterns = []
    for line in lines:
        body = _body(line).strip()
        if body and not body.startswith("#"):
            patterns.append(body)
    required = list(ctx.dockerignore_entries or DOCKERIGNORE_ENTRIES)
    for pat in patterns:
        if pat.startswith("!"):
            inner = pat[1:].strip()
            for entry in required:
                if _pattern_covers(inner, entry) or inner.lstrip("/").startswith(entry + "/"):
                    return Skip(f"the .dockerignore re-includes {entry} with {pat!r}; not overriding it")
    missing = [e for e in required if not any(_pattern_covers(p, e) for p in patterns if not p.startswith("!"))]
    if not missing:
        return NotNeeded(ALREADY_EXCLUDED)
    copied = _copied_entries(doc, missing)
    note = None
    if copied:
        note = "; ".join(f"line {line} copies {entry} from the build context, so it is not excluded"
                         for entry, line in copied.items())
        missing = [e for e in missing if e not in copied]
        if not missing:
            return Skip(note)
    # the remediation's own files, unless already excluded or copied by name
    # (one the file re-includes with ``!`` is left as the user wants it)
    own = [e for e in _own_entries(ctx) if e not in missing
           and not any(_pattern_covers(p.lstrip("!").strip(), e) for p in patterns)]
    missing += [e for e in own if e not in _copied_entries(doc, own)]
    nl = _newline_of(lines) if lines else "\n"
    out = list(lines)
    touched = []
    if out and not _ending(out[-1]):
        out[-1] += nl
        touched.append(len(out))
    out += [e + nl for e in missing]
    return DockerignoreText("".join(out), touched or ([len(lines)] if lines else []), note)
