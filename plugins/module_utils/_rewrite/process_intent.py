# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a container's command means when it is not written the way the process fixes expect (issue 16 item 9).

* :func:`broken_exec_array`: ``CMD [ "node" "index.js" ]`` (no comma) or the same words in typographic quotes
  (U+201C, U+201D) is not JSON, so Docker runs it as a shell command (``/bin/sh -c '[ "node" "index.js" ]'``, which
  fails: the image does not start). The array it spells is what was meant; ``exec_form_cmd`` writes it (and says so).
* :func:`nodemon_argv`: ``nodemon app.js`` is ``node app.js`` restarted on file changes (nodemon does not restart a
  crashed app); in a container the file never changes, so ``replace_npm_start`` runs ``node app.js`` when nothing
  configures nodemon to run another program (no ``nodemon.json``, no ``nodemonConfig`` in ``package.json``, a
  ``.js``/``.cjs``/``.mjs`` script, no nodemon options).
* :func:`env_prefix`: ``cross-env NODE_ENV=production node a.js`` and ``NODE_ENV=production node a.js`` set
  variables for the process; ``replace_npm_start`` sets them with ``ENV`` and runs the rest.

Pure, standard library only; files are read through ``FixContext.read_file`` (bounded, links never followed).
"""
from __future__ import annotations

import json
import re
import shlex

from ansible_collections.refarch.containers.plugins.module_utils._redact import redact_text

#: A word of a JSON-like array: a "string" or a string in typographic quotes (U+201C ... U+201D), followed by an
#: optional comma.
_ARRAY_WORD = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|\u201c([^\u201c\u201d"]*)\u201d)\s*(,?)')
_ENV_WORD = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=([A-Za-z0-9_.:/@%+,=-]*)$")
#: A script nodemon runs with node: ``.js``/``.cjs``/``.mjs``, or a last component without an extension.
_NODEMON_SCRIPT = re.compile(r"^(?:\./)?(?:[\w@.-]+/)*(?:[\w@.-]+\.[cm]?js|[\w@-]+)$")


def broken_exec_array(command: str) -> list | None:
    """The argv a shell-form command that spells a JSON array meant (see the module docstring), or None.

    Only a command that is nothing but ``[`` quoted words ``]`` counts; a valid JSON array is exec form already and
    is never passed here by the parser."""
    text = command.strip()
    if not (text.startswith("[") and text.endswith("]")):
        return None
    inner, pos, words, commas = text[1:-1], 0, [], []
    while pos < len(inner):
        if not inner[pos:].strip():
            break
        match = _ARRAY_WORD.match(inner, pos)
        if match is None or match.end() == pos:
            return None
        raw = match.group(1)
        if raw is not None:
            try:
                words.append(json.loads('"' + raw + '"'))
            except ValueError:
                return None
        else:
            words.append(match.group(2))
        commas.append(bool(match.group(3)))
        pos = match.end()
    if not words or not all(words) or commas[-1]:
        return None
    try:
        json.loads(text)
        return None     # valid JSON: not broken
    except ValueError:
        return words


def env_prefix(words: list) -> tuple:
    """``([(name, value)], rest)`` for ``[cross-env] NAME=value ... program ...``; ``([], words)`` when there is no
    prefix; ``(None, why)`` when a prefix cannot be written as ``ENV`` (a value with quotes, ``$``...)."""
    rest = list(words)
    wrapper = rest[:1] == ["cross-env"]
    if wrapper:
        rest = rest[1:]
    pairs = []
    while rest and "=" in rest[0] and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", rest[0]):
        match = _ENV_WORD.match(rest[0])
        if match is None:
            return None, f"the value of {rest[0].split('=', 1)[0]} cannot be written as ENV"
        if redact_text(rest[0]) != rest[0]:
            return None, f"{match.group(1)} may hold a secret, which ENV would put into the image's configuration"
        pairs.append((match.group(1), match.group(2)))
        rest = rest[1:]
    if wrapper and not pairs:
        return None, "cross-env sets no variable"
    if pairs and not rest:
        return None, "it sets variables and runs nothing"
    return pairs, rest


def nodemon_argv(words: list, read) -> tuple:
    """(``["node", script, *args]``, None) for ``nodemon script [args]`` when nothing configures nodemon, else
    (None, why)."""
    args = words[1:]
    if not args or any(a.startswith("-") for a in args):
        return None, "nodemon is called with options or without a script"
    if not _NODEMON_SCRIPT.match(args[0]):
        return None, f"nodemon runs {args[0]!r}, which nodemon may run with another program than node"
    if read is None:
        return None, "nodemon's configuration (nodemon.json, package.json nodemonConfig) cannot be read"
    text, why = read("nodemon.json")
    if text is not None or "does not exist" not in (why or ""):
        return None, "nodemon.json configures nodemon" if text is not None else \
            f"nodemon.json cannot be checked: {why}"
    text, why = read("package.json")
    try:
        pkg = json.loads(text) if text is not None else None
    except ValueError:
        pkg = None
    if not isinstance(pkg, dict):
        return None, f"package.json cannot be read to check nodemonConfig: {why or 'not a JSON object'}"
    if "nodemonConfig" in pkg:
        return None, "package.json nodemonConfig configures nodemon"
    return ["node", *args], None


def script_intent(script: str, name: str, convert, read) -> tuple:
    """``(env pairs, argv, note)`` for a package.json script that runs node behind an environment prefix or
    nodemon (``convert(text) -> (argv, why)`` turns the rest into a node argv, as ``replace_npm_start`` does), or
    ``(None, None, why)`` when this module does not apply (why is None) or declines (why says why)."""
    try:
        words = shlex.split(script)
    except ValueError:
        return None, None, None
    pairs, rest = env_prefix(words)
    if pairs is None:
        return None, None, f"the {name} script sets variables for the command: {rest}"
    if rest[:1] == ["nodemon"]:
        argv, why = nodemon_argv(rest, read)
        if argv is None:
            return None, None, f"the {name} script runs nodemon, a development file watcher: {why}"
        note = (f"the {name} script runs nodemon, a development file watcher: the container runs {argv[1]} with "
                "node (no restart on file changes; nodemon does not restart a crashed app either)")
    elif pairs:
        argv, why = convert(shlex.join(rest))
        if argv is None:
            return None, None, why
        note = None
    else:
        return None, None, None
    if pairs:
        shown = ", ".join(n for n, _v in pairs)
        note = "; ".join(x for x in (note, f"the {name} script sets {shown} for the process: set with ENV") if x)
    return pairs, argv, note
