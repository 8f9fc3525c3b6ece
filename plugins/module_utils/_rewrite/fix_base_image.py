# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fix ``replace_base_image`` (NRA012, NRA013, NRA014): supported LTS Node.js base, Alpine to Debian translations.

Part of the rewriter (``module_utils/_rewriter.py``); pure, standard library only."""
from __future__ import annotations

import re
import shlex

from ansible_collections.refarch.containers.plugins.module_utils._base_image import image_family
from ansible_collections.refarch.containers.plugins.module_utils._expand import expand
from ansible_collections.refarch.containers.plugins.module_utils._image_ref import ImageRef
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.model import (
    _VAR_RE,
    DEFAULT_DEBIAN_CODENAME,
    FixContext,
    NotNeeded,
    Skip,
    _body,
    _Doc,
    _dumps_argv,
    _Edits,
    _ending,
    _kv_pairs,
    _node_tag_parts,
)
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.node_releases import (
    _codenames,
    _major_of,
    active_lts,
    codename_of,
    known,
    latest_version,
    step_major,
    table_date,
    target_major,
)
from ansible_collections.refarch.containers.plugins.module_utils._shellcmd import (
    is_apk_cache_clean,
    relies_on_alpine,
    split_and,
    uses_alpine_tools,
)
from ansible_collections.refarch.containers.plugins.module_utils._stages import Stage

# --------------------------------------------------------------------------- fix: base image

_DEBIAN_VARIANT = re.compile(r"^(slim|bookworm|bullseye|buster|stretch|jessie|trixie|wheezy)(-slim)?$")
#: Alpine package -> Debian package for the translations the base-image fix may do ("" = not needed on Debian).
APK_TO_APT = {"python3": "python3", "make": "make", "g++": "g++", "gcc": "gcc", "git": "git", "bash": "bash",
              "tini": "tini", "dumb-init": "dumb-init", "curl": "curl", "wget": "wget", "openssl": "openssl",
              "ca-certificates": "ca-certificates", "build-base": "build-essential", "libc6-compat": "",
              "tzdata": "tzdata", "openssh-client": "openssh-client", "zip": "zip", "unzip": "unzip",
              "jq": "jq", "python2": "python2", "musl-dev": "libc6-dev", "linux-headers": "linux-libc-dev",
              "libstdc++": "", "libgcc": "", "ffmpeg": "ffmpeg", "imagemagick": "imagemagick",
              "graphicsmagick": "graphicsmagick", "vips-dev": "libvips-dev", "chromium": "chromium",
              "py3-pip": "python3-pip"}


_CURRENT_DEBIAN = ("bookworm", "trixie")


def _tag_version(old: str | None, kind: str, major: int, same_line: bool, ctx: FixContext) -> tuple:
    """The version part of the new tag, keeping the precision of ``old``: (version, note or None).

    ``kind``: ``exact`` (1.2.3), ``minor`` (1.2), ``major`` (1), ``codename`` (iron) or ``floating`` (lts, latest,
    no version): a floating tag is pinned to an exact version, as NRA014 advises."""
    if same_line and kind != "floating":
        return old, None
    if kind == "major":
        return str(major), None
    if kind == "codename":
        return codename_of(major, ctx) or str(major), None
    newest = latest_version(major, ctx)
    if newest is None:
        return str(major), (f"the release table (dated {table_date(ctx)}) has no release of Node.js {major}: "
                            f"pinned the line {major} only")
    return (".".join(newest.split(".")[:2]) if kind == "minor" else newest), None


def _new_variant(variant: str | None, version_changed: bool, to_debian: bool, ctx: FixContext) -> str | None:
    codename = (ctx.base_image_table or {}).get("debian_codename") or DEFAULT_DEBIAN_CODENAME
    if to_debian:
        return codename + "-slim"
    if not variant or not version_changed:
        return variant
    if variant.startswith("alpine"):
        return "alpine"  # alpine3.17 and the like are published per release; the plain alias is not
    head, dummy, slim = variant.partition("-")
    if head in ("slim",) or head in _CURRENT_DEBIAN:
        return variant
    return codename + ("-slim" if slim == "slim" else "")  # an old Debian release is not published for new lines


def _new_node_tag(tag: str | None, ctx: FixContext, leave_alpine: bool = False) -> tuple:
    """(new official node tag or None, notes, skip reason or None); (None, [], None) when the tag is fine.

    Keeps the pin's precision and the variant; moves a line NRA013 refuses (or a floating tag) to the target line
    (``node_releases.target_major``) within one LTS line unless allowed; leaves Alpine when ``leave_alpine`` (NRA012
    asks it) only when a change of C library is allowed."""
    version, variant = _node_tag_parts(tag)
    if version is None and variant is not None:
        head, dummy, rest = variant.partition("-")
        if head.lower() in _codenames(ctx) or head.lower() in ("lts", "current", "latest"):
            version, variant = head.lower(), rest or None
    if variant and not (variant.startswith("alpine") or _DEBIAN_VARIANT.match(variant)):
        return None, [], f"unrecognised node tag {tag!r}"
    if version and version[0].isalpha() and version not in ("latest", "lts", "current") \
            and _major_of(version, ctx) is None:
        return None, [], f"unrecognised node tag {tag!r}"
    notes = []
    if version is None or version in ("latest", "lts", "current"):
        kind, old = "floating", None  # pinned to the target line, whatever line the tag names today
    else:
        kind = "codename" if version[0].isalpha() else ("exact", "minor", "major")[2 - version.count(".")]
        old = _major_of(version, ctx)
        if old is None or version.startswith("0.") or not known(old, ctx):
            return None, [], (f"the release table (dated {table_date(ctx)}) does not know Node.js {version}; "
                              "update node_releases in policies/refarch/config/data.json")
    new = old
    if kind == "floating" or old is None or not active_lts(old, ctx):
        target, why = target_major(ctx)
        if target is None:
            return None, [], why
        if kind != "floating" and old is not None:
            new, why = step_major(old, target, ctx)
            if why:
                notes.append(why)
            if new is None:
                new = old
        else:
            new = target
    alpine = bool(variant and variant.startswith("alpine"))
    to_debian = False
    if alpine and leave_alpine:
        if "libc_change" in (ctx.base_image_allow or ()):
            to_debian = True
        else:
            notes.append("NRA012 asks to leave Alpine, but moving from Alpine (musl) to Debian (glibc) changes the C "
                         "library: native modules must be rebuilt and Alpine-only commands replaced; allow it with "
                         "base_image_allow: [libc_change] (refarch_base_image_allow)")
    new_version, note = _tag_version(version, kind, new, new == old, ctx)
    if note:
        notes.append(note)
    new_variant = _new_variant(variant, new_version != version, to_debian, ctx)
    new_tag = new_version + ("-" + new_variant if new_variant else "")
    if new_tag == tag:
        return None, notes, ("; ".join(notes) or None)
    return new_tag, notes, None


def _name_as_written(ref: dict) -> str:
    """The image name without tag and digest, spelled as in the Dockerfile."""
    raw = ref.get("raw") or ""
    if raw:
        return ImageRef.parse(raw).name
    registry = "" if ref["registry"] == "docker.io" else ref["registry"] + "/"
    repo = ref["repository"][len("library/"):] if ref["registry"] == "docker.io" else ref["repository"]
    return registry + repo


def _digest_note(new: str) -> str:
    return (f"the digest pin named the old image and was removed: pin the digest of {new} again "
            "(it cannot be known here)")


def _new_base(ref: dict, ctx: FixContext, leave_alpine: bool = False) -> tuple:
    """(new image reference or None, notes, skip reason or None); (None, [], None) when the base is fine."""
    family = image_family(ref)
    if family in ("node-debian", "node-alpine"):
        if ref.get("digest") and not ref.get("tag"):
            return None, [], ("the image is pinned by digest only, so its Node.js line and variant cannot be read; "
                              "choose the new image and its digest by hand")
        tag, notes, reason = _new_node_tag(ref["tag"], ctx, leave_alpine)
        if tag is None:
            return None, notes, reason
        new = f"{_name_as_written(ref)}:{tag}"
        if ref.get("digest"):
            notes.append(_digest_note(new))
        return new, notes, None
    if family.startswith("ubi-node"):
        return _new_ubi(ref, ctx)
    return None, [], "base image {}/{} is not an official node or UBI Node.js image; choose a replacement by " \
        "hand".format(ref["registry"], ref["repository"])


def _new_ubi(ref: dict, ctx: FixContext) -> tuple:
    match = re.search(r"nodejs-(\d+)", ref["repository"])
    major = int(match.group(1))
    notes = []
    new_major = major
    if not known(major, ctx):
        return None, [], (f"the release table (dated {table_date(ctx)}) does not know Node.js {major}; "
                          "update node_releases in policies/refarch/config/data.json")
    if not active_lts(major, ctx):
        target, why = target_major(ctx)
        if target is None:
            return None, [], why
        new_major, why = step_major(major, target, ctx)
        if why:
            notes.append(why)
        new_major = major if new_major is None else new_major
    tag = ref["tag"]
    new_tag = tag if tag and tag != "latest" else "1"
    repo = ref["repository"]
    if new_major != major:
        repo = repo.replace(f"nodejs-{major}", f"nodejs-{new_major}")
        if tag and tag not in ("1", "latest"):
            notes.append(f"the tag {tag} names a build of nodejs-{major}: pinned 1 (the newest build of "
                         f"nodejs-{new_major}); pin its build by hand")
        new_tag = "1"
    if repo == ref["repository"] and new_tag == tag:
        return None, notes, ("; ".join(notes) or None)
    name = _name_as_written(ref)
    new = "{}{}:{}".format(name[:len(name) - len(ref["repository"])], repo, new_tag)
    if ref.get("digest"):
        notes.append(_digest_note(new))
    return new, notes, None


def _keep_alpine(ref: dict, new: str, ctx: FixContext) -> str | None:
    """The version-only change for an Alpine node image that cannot move to Debian (None = nothing)."""
    version = _node_tag_parts(ImageRef.parse(new).tag)[0]
    old_version, old_variant = _node_tag_parts(ref["tag"])
    if version is None or old_variant is None:
        return None
    keep = old_variant if version == old_version else "alpine"
    tag = version + "-" + keep
    if tag == ref["tag"]:
        return None
    return ImageRef.parse(new).name + ":" + tag


def _translate_alpine_run(command: str) -> tuple:
    """Translate a RUN command from Alpine to Debian tools: (new command, None) or (None, reason)."""
    parts = split_and(command)
    if parts is None:
        return None, "it uses shell operators other than &&"
    out, needs = [], []
    for part in parts:
        words = re.sub(r"\s+", " ", part.strip()).split(" ")
        if words[0] == "apk":
            if words[1:] == ["update"]:
                continue
            if "add" not in words:
                return None, "`{}` has no Debian equivalent here".format(" ".join(words))
            opts = [w for w in words[1:] if w.startswith("-")]
            if any(o not in ("--no-cache", "--update", "-U", "--virtual", "-t") for o in opts):
                return None, "apk options {} cannot be translated".format(" ".join(opts))
            pkgs = [w for w in words[words.index("add") + 1:] if not w.startswith("-")]
            if "--virtual" in words or "-t" in words:
                pkgs = pkgs[1:]
            mapped = []
            for pkg in pkgs:
                name = re.split(r"[=<>~]", pkg)[0]
                if name not in APK_TO_APT:
                    return None, f"no known Debian package for Alpine package {pkg!r}"
                if APK_TO_APT[name]:
                    mapped.append(APK_TO_APT[name])
            if mapped:
                out.append("apt-get update && apt-get install -y --no-install-recommends {} && "
                           "rm -rf /var/lib/apt/lists/*".format(" ".join(mapped)))
        elif words[0] in ("adduser", "addgroup"):
            translated = _translate_busybox_user(words)
            if translated is None:
                return None, "`{}` uses options the fix cannot translate".format(" ".join(words))
            out.append(translated)
        elif words[0] == "wget" and "wget" not in needs:
            needs.append("wget")
            out.append(" ".join(words))
        elif is_apk_cache_clean(" ".join(words)):
            continue        # apk's cache (the path names apk): nothing to clean on Debian
        elif relies_on_alpine(part):
            return None, f"`{part.strip()}` relies on Alpine tools or its C library (musl)"
        else:
            out.append(part.strip())
    if needs:
        first = next(k for k, x in enumerate(out) if x.startswith("wget "))
        out.insert(first, "apt-get update && apt-get install -y --no-install-recommends wget ca-certificates && "
                          "rm -rf /var/lib/apt/lists/*")
    return " && ".join(out), None


_BUSYBOX_USER_OPTS = {"-D": ("--disabled-password", False), "-S": ("--system", False),
                      "-H": ("--no-create-home", False),
                      "-u": ("--uid", True), "-G": ("--ingroup", True), "-h": ("--home", True), "-s": ("--shell", True),
                      "-g": (None, True)}


def _translate_busybox_user(words: list) -> str | None:
    """busybox ``adduser``/``addgroup`` -> Debian's (long options are shared); None when unknown."""
    out = [words[0]]
    k = 1
    system = False
    while k < len(words):
        w = words[k]
        if w.startswith("--"):
            out.append(w)
            system = system or w == "--system"
        elif w.startswith("-") and len(w) > 1:
            for pos, ch in enumerate(w[1:]):
                opt = "-" + ch
                if words[0] == "addgroup" and opt == "-g":
                    long_opt, takes = "--gid", True
                elif opt in _BUSYBOX_USER_OPTS:
                    long_opt, takes = _BUSYBOX_USER_OPTS[opt]
                else:
                    return None
                if takes:
                    if pos != len(w) - 2 or k + 1 >= len(words):
                        return None
                    k += 1
                    if long_opt:
                        out += [long_opt, words[k]]
                    elif words[0] == "adduser":
                        out += ["--gecos", shlex.quote(words[k])]
                else:
                    out.append(long_opt)
                    system = system or long_opt == "--system"
        else:
            out.append(w)
        k += 1
    if words[0] == "adduser" and "--gecos" not in out and not system:
        out[1:1] = ["--gecos", "''"]
    return " ".join(out)


def _alpine_translations(doc: _Doc, stage: Stage) -> tuple:
    """Edits moving the stages based on ``stage`` from Alpine to Debian tools: (list, None) or (None, reason)."""
    out = []
    for st in doc.stages:
        if stage.index not in [c.index for c in doc.chain(st)]:
            continue
        for ins in st.ins:
            text = " ".join(ins.get("value") or [])
            if ins["cmd"] == "RUN" and uses_alpine_tools(text):
                if ins.get("json") or ins.get("heredocs"):
                    return None, f"RUN at line {ins['start_line']} uses Alpine tools"
                new, reason = _translate_alpine_run(text)
                if new is None:
                    return None, f"RUN at line {ins['start_line']}: {reason}"
                flags = " ".join(ins.get("flags") or [])
                out.append((ins, [" ".join(x for x in (doc.raw_keyword(ins), flags, new) if x)] if new else []))
            elif ins["cmd"] in ("ENTRYPOINT", "CMD") and ins.get("json") and "/sbin/tini" in (ins.get("value") or []):
                argv = ["/usr/bin/tini" if v == "/sbin/tini" else v for v in ins["value"]]
                out.append((ins, [f"{doc.raw_keyword(ins)} {_dumps_argv(argv)}"]))
    return out, None


def _fix_replace_base_image(doc: _Doc, ctx: FixContext):
    edits = _Edits(doc)
    reasons = []
    arg_edits = {}
    for stage in doc.stages:
        if stage.from_stage is not None:
            continue
        raw = stage.base_raw
        line_no = stage.from_ins["start_line"]
        if stage.base_resolved is None:
            reasons.append(f"FROM at line {line_no} uses an unresolved variable")
            continue
        ref = stage.ref
        if ref is None:  # a variable left in its registry or repository: the rules cannot read it either
            reasons.append(f"FROM at line {line_no}: the base image {stage.resolved!r} cannot be read")
            continue
        if image_family(ref) == "scratch":
            continue
        new, notes, reason = _new_base(ref, ctx, _leave_alpine(doc, stage, ctx))
        reasons += [f"FROM at line {line_no}: {note}" for note in notes]
        if new is None:
            if reason and not notes:
                reasons.append(f"FROM at line {line_no}: {reason}")
            continue
        translations = []
        if image_family(ref) == "node-alpine" and "alpine" not in new:
            translations, reason = _alpine_translations(doc, stage)
            if translations is None:
                reasons.append(f"FROM at line {line_no}: moving from Alpine to Debian needs a manual change ({reason})")
                translations = []
                new = _keep_alpine(ref, new, ctx)
                if new is None:
                    continue
        from_edits = []
        if "$" not in raw:
            from_edits.append((line_no, raw, new))
        else:
            found = list(_VAR_RE.finditer(raw))
            if len(found) != 1 or found[0].group(2):
                reasons.append(f"FROM at line {line_no} combines variables in a way the fix cannot edit")
                continue
            m = found[0]
            name = m.group(1) or m.group(4)
            prefix, suffix = raw[:m.start()], raw[m.end():]
            value = doc.global_args.get(name)
            arg_ins = _global_arg_ins(doc, name)
            if value is None or arg_ins is None:
                reasons.append(f"FROM at line {line_no}: ARG {name} has no default to edit")
                continue
            if new.startswith(prefix) and new.endswith(suffix) and len(new) >= len(prefix) + len(suffix):
                arg_edits[arg_ins["start_line"]] = (arg_ins, name, value, new[len(prefix):len(new) - len(suffix)])
            else:
                nv, nvar = _node_tag_parts(ImageRef.parse(new).tag)
                ov, dummy = _node_tag_parts(ref["tag"])
                resolved = ImageRef.parse(stage.base_resolved).tagged
                if ov != value or nv is None or not resolved.endswith(":" + ref["tag"]):
                    reasons.append(f"FROM at line {line_no}: cannot tell which part of {raw!r} ARG {name} holds")
                    continue
                new_raw = resolved[:-len(ref["tag"])] + "${{{}}}{}".format(name, ("-" + nvar) if nvar else "")
                if expand(new_raw, {name: nv})[0] != ImageRef.parse(new).tagged or not prefix or prefix not in new_raw:
                    reasons.append(f"FROM at line {line_no}: cannot rewrite {raw!r}")
                    continue
                if nv != value:
                    arg_edits[arg_ins["start_line"]] = (arg_ins, name, value, nv)
                from_edits.append((line_no, raw, new_raw))
        for number, old, replacement in from_edits:
            line = doc.lines[number - 1]
            idx = line.find(old)
            if idx < 0:
                reasons.append(f"FROM at line {number} spans lines; edit it by hand")
                continue
            edits.replace(number, number, [line[:idx] + replacement + line[idx + len(old):]])
        for ins, new_lines in translations:
            edits.replace(ins["start_line"], ins["end_line"], [edits.line(x) for x in new_lines])
    for arg_ins, name, old, new_value in arg_edits.values():
        span = doc.span(arg_ins)
        pat = re.compile(rf"(\b{re.escape(name)}=[\"']?){re.escape(old)}(?=[\"']?(\s|\\|$))")
        out = [pat.sub(lambda mm, v=new_value: mm.group(1) + v, _body(x), count=1) + _ending(x) for x in span]
        if out == span:
            reasons.append(f"ARG {name} at line {arg_ins['start_line']} could not be edited")
            continue
        edits.replace(arg_ins["start_line"], arg_ins["end_line"], out)
    if not edits:
        if reasons:
            return Skip("; ".join(reasons))
        return NotNeeded("base images already follow the recommendations")
    return edits.noted("; ".join(reasons) or None)


def _leave_alpine(doc: _Doc, stage: Stage, ctx: FixContext) -> bool:
    """NRA012 asks to leave Alpine: the stage is where the runtime stage's chain starts (NRA012 judges that image
    only) and NRA012 is raised (or the findings are not known)."""
    final = doc.final
    if final is None or doc.chain(final)[0].index != stage.index:
        return False
    return ctx.rule_ids is None or "NRA012" in ctx.rule_ids


def _global_arg_ins(doc: _Doc, name: str) -> dict | None:
    found = None
    for ins in doc.instructions:
        if ins["cmd"] == "FROM":
            break
        if ins["cmd"] == "ARG" and any(n == name for n, dummy in _kv_pairs(ins)):
            found = ins
    return found
