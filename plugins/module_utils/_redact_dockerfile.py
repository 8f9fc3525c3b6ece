# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A whole Dockerfile text with its secrets hidden, its lines kept (remediation diffs; stdlib only).

The rules are ``_redact``'s (a ``Redactor``); this is remediation's use of them, in a module of its own
so that a scan, which never shows a diff, does not load it (start-up of the host modules).
"""

from __future__ import annotations

from typing import Optional

from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_parser import parse
from ansible_collections.refarch.containers.plugins.module_utils._redact import REDACTED, Redactor
from ansible_collections.refarch.containers.plugins.module_utils._redact_spans import _apply


def redact_dockerfile(text: str, redactor: Optional[Redactor] = None, parsed: Optional[dict] = None) -> str:
    """A whole Dockerfile text with its secrets hidden, instruction by instruction, lines kept.

    Each instruction is judged as BuildKit reads it (its continuation lines joined, comment lines
    inside it left out), so a secret split by a line continuation is hidden on every line it
    spans; heredoc bodies, comments and lines that are not instructions are judged too. The
    result has the same number of lines as ``text`` (remediation diffs stay aligned).
    ``redactor`` (default: a new one) learns the file's secret ENV/ARG values first.
    """
    if not text:
        return text
    if parsed is None:
        parsed = parse(text)
    redactor = redactor or Redactor()
    instrs = [i for i in parsed.get("instructions") or [] if i.get("cmd") is not None]
    redactor.instructions(instrs)  # learns the secret values (stray words of ENV NAME= value too)
    escape = parsed.get("escape") or "\\"
    lines = text.splitlines(True)
    out = list(lines)
    done = [False] * len(lines)
    for ins in instrs:
        first, last = ins["start_line"] - 1, min(ins["end_line"], len(lines))
        if first < 0 or first >= len(lines):
            continue
        k = first
        cmd_lines = [k]
        cont = _continues(lines[first], escape)
        while cont and k < last - 1:
            k += 1
            cmd_lines.append(k)
            if not _comment_or_blank(lines[k]):  # comment lines inside a continuation are skipped
                cont = _continues(lines[k], escape)
        # the instruction itself: joined without its continuations and inner comment lines
        pieces = []
        cuts = []
        pos = 0
        block = "".join(lines[j] for j in cmd_lines)
        for j in cmd_lines:
            line = lines[j]
            if j != first and _comment_or_blank(line) and j != cmd_lines[-1]:
                cuts.append((pos, pos + len(line)))
                out[j] = redactor.text(line)
                done[j] = True
            elif j != cmd_lines[-1]:
                body = line.rstrip("\r\n").rstrip(" \t")
                cut = len(body) - len(escape) if body.endswith(escape) else len(line.rstrip("\r\n"))
                pieces.append(line[:cut])
                cuts.append((pos + cut, pos + len(line)))
            else:
                pieces.append(line)
            pos += len(line)
        joined = "".join(pieces).rstrip("\r\n")
        spans = redactor.spans(joined, joined)
        red = _apply(block, spans, cuts) if spans else block
        red_lines = red.splitlines(True)
        if len(red_lines) == len(cmd_lines):
            for j, r in zip(cmd_lines, red_lines):  # noqa: B905 - hosts may run Python 3.9
                if not done[j]:
                    out[j] = r
        else:  # cannot happen (spans keep the line breaks); fail closed
            for j in cmd_lines:
                out[j] = REDACTED + ("\n" if lines[j].endswith("\n") else "")
        for j in cmd_lines:
            done[j] = True
        # heredoc bodies and their end markers: one text, continuations joined as a shell would
        if k + 1 < last:
            body = "".join(lines[k + 1:last])
            red = redactor.text(body, ins.get("original") or "")
            red_lines = red.splitlines(True)
            if len(red_lines) == last - k - 1:
                out[k + 1:last] = red_lines
            else:
                out[k + 1:last] = [REDACTED + "\n"] * (last - k - 1)
            for j in range(k + 1, last):
                done[j] = True
    for j, line in enumerate(lines):
        if not done[j]:
            out[j] = redactor.text(line)
    return "".join(out)


def _continues(line: str, escape: str) -> bool:
    body = line.rstrip("\r\n").rstrip(" \t")
    return body.endswith(escape) and not _comment_or_blank(line)


def _comment_or_blank(line: str) -> bool:
    s = line.strip()
    return not s or s.startswith("#")
