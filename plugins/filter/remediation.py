# Copyright: refarch.containers contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the remediate and rebuild roles: the remediation plan, the claims of a rewrite, the image probe and
the rebuild verdict.

All are pure functions over the documents the modules and ``policy_check`` return. Their documentation
lives beside this file (``remediation_plan.yml``, ``rebuild_probe.yml``, ``rebuild_verdict.yml``).
"""

from __future__ import annotations

import json
import posixpath
import re
from typing import Any, Optional

from ansible.errors import AnsibleFilterError
from ansible_collections.refarch.containers.plugins.module_utils._image_ref import image_ref_facts
from ansible_collections.refarch.containers.plugins.module_utils._node_scope import image_node_scope
from ansible_collections.refarch.containers.plugins.module_utils._printable import printable
from ansible_collections.refarch.containers.plugins.module_utils._redact import REDACTED
from ansible_collections.refarch.containers.plugins.module_utils._rewrite import claims as _claims
from ansible_collections.refarch.containers.plugins.module_utils._rewriter import (
    parse_fix_selection,
    unknown_fixes_message,
)

#: Names that are backups or temporary files, never Dockerfiles to remediate: Ansible's backup_local
#: (``name.PID.DATE@TIME~``), editor backups (``~``, ``.orig``, ``.bak``, ``.rej``, ``.swp``) and the
#: remediation module's own temporary and lock files.
_BACKUP_NAME_RE = re.compile(r"(~|\.orig|\.bak|\.rej|\.swp|\.refarch\.tmp|\.refarch-remediate\.lock)$")

#: Reference and ids of the probe documents the rebuild role evaluates beside the candidate image. Two probes,
#: because one base image reference cannot be both an Alpine variant (NRA012) and an unpinned tag (NRA014).
PROBE_IMAGE = "refarch.invalid/verification-probe:violates-everything"
PROBE_ID = "sha256:" + "0" * 64
PROBE_IDS = (PROBE_ID, "sha256:" + "0" * 63 + "1")
_PROBE_BASES = ("docker.io/library/node:8-alpine", "docker.io/library/node:latest")


def _wanted(selection: Any) -> Optional[set]:
    """The rule and fix ids ``selection`` names (None: all), read as the remediation module reads them."""
    if selection is None:
        return None
    if not isinstance(selection, (str, list, tuple)):
        raise AnsibleFilterError("remediation_plan: fixes must be 'all' or a list of rule or fix IDs")
    sel = parse_fix_selection(selection)
    if sel["unknown"]:
        raise AnsibleFilterError("remediation_plan: " + unknown_fixes_message(sel["unknown"], "refarch_fixes"))
    return None if sel["all"] else sel["fixes"] | sel["rules"]


def is_backup_name(path: str) -> bool:
    """True for backup, temporary and lock files that must never be remediated."""
    return bool(_BACKUP_NAME_RE.search(posixpath.basename(path or "")))


def _where_scanned(dockerfiles: Any) -> dict:
    """path -> (scan_root, dir_identity) from the discovery documents (a list, or their JSON text)."""
    if isinstance(dockerfiles, str):
        try:
            dockerfiles = json.loads(dockerfiles or "[]")
        except ValueError as exc:
            raise AnsibleFilterError(f"remediation_plan: dockerfiles is not JSON: {exc}") from exc
    out: dict = {}
    for doc in dockerfiles or []:
        if isinstance(doc, dict) and doc.get("path") and doc.get("scan_root"):
            ident = doc.get("dir_identity")
            if isinstance(ident, dict) and isinstance(ident.get("dev"), int) and isinstance(ident.get("ino"), int):
                ident = {"dev": ident["dev"], "ino": ident["ino"]}
            else:
                ident = None
            out[doc["path"]] = (doc["scan_root"], ident)
    return out


def _other_build(target: dict, builds: dict) -> bool:
    """Whether a Dockerfile target is a declared build of its file other than the one the plan rewrites."""
    build = target.get("build")
    chosen = builds.get(target.get("path"))
    return isinstance(build, dict) and isinstance(chosen, dict) and build.get("id") != chosen.get("id")


def _build_label(build: dict) -> str:
    """A declared build as a person names it: its stage and what declares it (``target worker: worker in
    compose.yaml``)."""
    stage = f"target {build['target']}" if build.get("target") else "the last stage"
    where = []
    for decl in (build.get("declared_by") or [])[:2]:
        if isinstance(decl, dict):
            file = posixpath.basename(str(decl.get("path") or "")) or "a descriptor"
            where.append(f"{decl['name']} in {file}" if decl.get("name") else file)
    return f"{stage}: {', '.join(where)}" if where else stage


def remediation_plan(result: Any, fixes: Any = "all", images: Any = None, dockerfiles: Any = None) -> list:
    """One entry per Dockerfile with open, automatically fixable findings among ``fixes``.

    ``dockerfiles`` (the discovery documents) give each entry the scan root and directory identity the
    remediation module checks before it touches anything.
    """
    if not isinstance(result, dict):
        raise AnsibleFilterError("remediation_plan: expected the evaluation result (a dict with findings)")
    wanted = _wanted(fixes)
    scanned = _where_scanned(dockerfiles)
    links: dict = {}
    for doc in images or []:
        if not isinstance(doc, dict):
            continue
        link = doc.get("dockerfile") or {}
        ref = doc.get("image") or ""
        if isinstance(link, dict) and link.get("path") and ref and not ref.startswith("sha256:"):
            links.setdefault(link["path"], ref)
    builds: dict = {}
    for target in result.get("targets") or []:
        if target.get("kind") == "dockerfile" and target.get("path") and target.get("image"):
            links[target["path"]] = target["image"]
        build = target.get("build") if target.get("kind") == "dockerfile" else None
        if isinstance(build, dict) and target.get("path"):
            # how a descriptor builds it (the first build that names an image, else the first): the rebuild
            # uses the same context, target and arguments
            known = builds.get(target["path"])
            if known is None or (not known.get("image") and build.get("image")):
                builds[target["path"]] = build
    # One declared build per Dockerfile is rewritten and rebuilt (the one above): the findings of its other
    # builds are not this rewrite's to fix or claim; they are named in the plan (other_builds) and stay open.
    others: dict = {}
    open_rules: dict = {}
    for finding in result.get("findings") or []:
        target = finding.get("target") or {}
        if target.get("kind") != "dockerfile" or finding.get("waived"):
            continue
        if _other_build(target, builds):
            label = _build_label(target["build"])
            others.setdefault(target.get("path"), {}).setdefault(label, set()).add(str(finding.get("rule_id")))
            continue
        open_rules.setdefault(target.get("path"), set()).add(finding.get("rule_id"))
    plan: dict = {}
    for finding in result.get("findings") or []:
        target = finding.get("target") or {}
        fix = finding.get("fix") or "manual"
        if target.get("kind") != "dockerfile" or finding.get("waived") or fix == "manual":
            continue
        if _other_build(target, builds):
            continue
        if wanted is not None and finding.get("rule_id") not in wanted and fix not in wanted:
            continue
        path = target.get("path")
        if not path or is_backup_name(path):
            continue
        root, ident = scanned.get(path, ("", None))
        build = builds.get(path) or {}
        entry = plan.setdefault(path, {"path": path, "sha256": target.get("sha256", ""),
                                       "context": build.get("context") or posixpath.dirname(path), "fixes": [],
                                       "rules": [], "findings": [], "open_rules": sorted(open_rules.get(path, ())),
                                       "image": links.get(path, ""), "scan_root": root, "dir_identity": ident,
                                       "build_target": build.get("target") or "",
                                       "build_args": {k: v for k, v in (build.get("args") or {}).items()
                                                      if isinstance(v, str) and REDACTED not in v},
                                       "other_builds": [{"build": label, "rules": sorted(rules)} for label, rules
                                                        in sorted((others.get(path) or {}).items())]})
        if fix not in entry["fixes"]:
            entry["fixes"].append(fix)
        if finding.get("rule_id") not in entry["rules"]:
            entry["rules"].append(finding.get("rule_id"))
        entry["findings"].append(finding)
    return [plan[p] for p in sorted(plan)]


def remediation_claims(rewrite: Any, evaluation: Any, rules: Any) -> dict:
    """Which of ``rules`` a rewrite fixed: claimed by its fix (the module's ``fix_status``) and no longer raised when
    the rewritten facts (``rewritten_facts``) were evaluated (``evaluation``, a ``policy_check`` result over them).

    An evaluation that failed, was skipped (nothing was rewritten) or errored on the document (NRA000) fixes
    nothing. Returns ``_rewrite.claims.decide``'s result plus ``evaluated`` and ``declined`` (the module's declined
    fixes, with those a still-firing rule made partly applied added as ``partial``).
    """
    if not isinstance(rewrite, dict):
        raise AnsibleFilterError("remediation_claims: expected the dockerfile_remediate result")
    evaluation = evaluation if isinstance(evaluation, dict) else {}
    findings = evaluation.get("findings")
    facts = rewrite.get("rewritten_facts") or {}
    path = facts.get("path")
    evaluated = (isinstance(findings, list) and not evaluation.get("failed") and not evaluation.get("skipped")
                 and bool(path))
    after = set()
    for f in findings if isinstance(findings, list) else []:
        target = f.get("target") or {}
        if target.get("kind", "dockerfile") != "dockerfile" or (target.get("path") and target.get("path") != path):
            continue
        if f.get("rule_id") == "NRA000":
            evaluated = False
        if not f.get("waived"):
            after.add(str(f.get("rule_id")))
    out = _claims.decide(rewrite.get("fix_status") or [], list(rules or []), after, evaluated)
    declined = [dict(d) for d in rewrite.get("declined") or []]
    have = {d.get("fix") for d in declined if d.get("partial")}
    for entry in out["fix_status"]:
        if entry["status"] == _claims.PARTLY_APPLIED and entry["fix"] not in have:
            declined.append({"fix": entry["fix"], "reason": "partly applied: " + entry["reason"], "partial": True})
    out["declined"] = declined
    out["evaluated"] = evaluated
    return out


def _probe_base(ref: str) -> dict:
    return {"name": ref, "digest": None, "source": "annotation", "ref": image_ref_facts(ref, ref, False)}


def rebuild_probe(candidate: Any, variant: int = 0) -> dict:
    """A copy of the candidate image's facts that violates every image-checkable rule the rebuild verifies.

    Evaluated beside the candidate, it tells which rules the policy bundle really checks on images: a rule
    that does not fire on the probe has no image check, so a clean candidate proves nothing for it.
    ``variant`` 0 is built from ``node:8-alpine`` (Alpine, end of life), 1 from ``node:latest`` (unpinned);
    the rest is the same: root user, port 80, shell-form ``npm start``, no init, no heap limit.
    """
    if not isinstance(candidate, dict) or candidate.get("kind") != "image":
        raise AnsibleFilterError("rebuild_probe: expected an image facts document (kind: image)")
    if variant not in (0, 1):
        raise AnsibleFilterError("rebuild_probe: variant must be 0 or 1")
    probe_id = PROBE_IDS[variant]
    probe = dict(candidate)
    major = 8 if variant == 0 else None
    probe.update({
        "base": _probe_base(_PROBE_BASES[variant]),
        "node": {"version": "8.17.0" if major else None, "major": major, "source": "env" if major else None,
                 "source_key": "NODE_VERSION" if major else None, "probe": None},
        "id": probe_id, "short_id": probe_id[7:19], "image": PROBE_IMAGE, "tags": [PROBE_IMAGE],
        "digests": [], "digest": None, "dangling": False, "dockerfile": None, "problems": [], "error": None,
        "user": {"raw": "", "name": None, "group": None, "uid": 0, "line": None, "source": "default",
                 "is_root": True},
        "exposed_ports": [{"port": 80, "end_port": 80, "protocol": "tcp", "raw": "80/tcp", "line": None,
                           "resolved": True}],
        "entrypoint": None,
        "cmd": {"form": "shell", "argv": ["npm", "start"], "raw": "npm start", "line": None},
        "process": {"argv": ["/bin/sh", "-c", "npm start"], "form": "shell", "shell_command": "npm start",
                    "line": None, "init": None, "wrappers": ["/bin/sh -c"], "command": ["npm", "start"]},
        "heap_limit": {"raw": None, "mb": None, "source": None, "from_env": None},
    })
    env = dict(candidate.get("env") or {})
    env["PORT"] = {"value": "80", "line": None, "redacted": False}
    env.pop("NODE_OPTIONS", None)
    if major:
        env["NODE_VERSION"] = {"value": "8.17.0", "line": None, "redacted": False}
    probe["env"] = env
    probe["node_scope"] = image_node_scope(probe)  # Node.js (npm start on a node base), judged in every mode
    return probe


def _rules_on(findings: list, match) -> set:
    return {f.get("rule_id") for f in findings if not f.get("waived") and match(f.get("target") or {})}


def rebuild_verdict(evaluation: Any, rules: Any, dockerfile: str, candidate_id: str, before: Any = None) -> dict:
    """Decide whether a rebuild did what the remediation meant to do.

    ``evaluation`` is the ``policy_check`` result over the re-scanned Dockerfile, the candidate image and the
    :func:`rebuild_probe` document; ``rules`` the rule IDs the remediation fixed; ``before`` the rules that were
    open on the Dockerfile before remediation. The rebuild passes when none of ``rules`` fires on the rewritten
    Dockerfile, none fires on the candidate image among the rules the bundle checks on images, no rule appears on
    the Dockerfile that was not open before, and neither document fails evaluation (NRA000).
    """
    if not isinstance(evaluation, dict) or not isinstance(evaluation.get("findings"), list):
        raise AnsibleFilterError("rebuild_verdict: expected a policy_check result with findings")
    findings = evaluation["findings"]
    wanted = sorted({str(r) for r in (rules or [])})
    before_set = {str(r) for r in (before or [])}
    on_dockerfile = _rules_on(findings, lambda t: t.get("kind") == "dockerfile" and t.get("path") == dockerfile)
    on_candidate = _rules_on(findings, lambda t: t.get("kind") == "image" and t.get("id") == candidate_id)
    on_probe = _rules_on(findings, lambda t: t.get("kind") == "image" and t.get("id") in PROBE_IDS)
    image_checked = sorted(r for r in wanted if r in on_probe)
    verdict = {
        "passed": False,
        "rules": wanted,
        "still_failing_dockerfile": sorted(r for r in wanted if r in on_dockerfile),
        "still_failing_image": sorted(r for r in image_checked if r in on_candidate),
        "introduced": sorted(r for r in on_dockerfile if r not in before_set and r not in wanted and r != "NRA000"),
        "verified_by_image": sorted(r for r in image_checked if r not in on_candidate),
        "not_verified_by_image": sorted(r for r in wanted if r not in on_probe),
        "verified_by_dockerfile": sorted(r for r in wanted if r not in on_dockerfile),
        "image_rules_evaluated": sorted(r for r in on_probe if r != "NRA000"),
        "evaluation_errors": sorted(({"dockerfile"} if "NRA000" in on_dockerfile else set())
                                    | ({"image"} if "NRA000" in on_candidate else set())),
        "reason": "",
        "note": "",
    }
    problems = []
    if verdict["evaluation_errors"]:
        problems.append("could not evaluate the rewritten " + " and the ".join(verdict["evaluation_errors"])
                        + " (NRA000)")
    if verdict["still_failing_dockerfile"]:
        problems.append("the rewritten Dockerfile still violates " + ", ".join(verdict["still_failing_dockerfile"]))
    if verdict["still_failing_image"]:
        problems.append("the rebuilt image still violates " + ", ".join(verdict["still_failing_image"]))
    if verdict["introduced"]:
        problems.append("the rewritten Dockerfile now violates " + ", ".join(verdict["introduced"])
                        + ", which it did not before")
    verdict["passed"] = not problems
    verdict["reason"] = "; ".join(problems)
    notes = []
    if verdict["verified_by_image"]:
        # "verified" is kept for an image built from the current context and started (the rebuild role's
        # outcome field): inspecting the image's configuration is a check, said as such
        notes.append("checked on the rebuilt image's configuration: " + ", ".join(verdict["verified_by_image"]))
    if verdict["not_verified_by_image"]:
        notes.append("not checked by image (the policy bundle has no image check for "
                     + ", ".join(verdict["not_verified_by_image"])
                     + "): checked by re-scanning the rewritten Dockerfile only")
    verdict["note"] = "; ".join(notes)
    return verdict


def remediation_outcome_line(outcome: Any) -> str:
    """One line per Dockerfile outcome for the play output: path, status, reason and note."""
    if not isinstance(outcome, dict):
        raise AnsibleFilterError("remediation_outcome_line: expected an outcome dict")
    line = "{}: {}".format(outcome.get("path"), outcome.get("status"))
    fixed = outcome.get("rules_fixed") or []
    if fixed and outcome.get("status") not in ("refused", "failed", "unchanged", "would_fail"):
        line += " [" + ", ".join(str(r) for r in fixed) + "]"
    not_fixed = [str(n.get("rule_id")) for n in outcome.get("not_fixed") or [] if isinstance(n, dict)]
    if not_fixed and outcome.get("status") not in ("refused", "failed", "unchanged"):
        line += " not fixed: " + ", ".join(not_fixed)   # why: the outcome's not_fixed and fix_status
    for key in ("reason", "note"):
        if outcome.get(key):
            line += " - " + str(outcome[key])
    for other in outcome.get("other_builds") or []:
        if isinstance(other, dict):
            line += " - declared build {} not remediated (open: {})".format(
                other.get("build"), ", ".join(str(r) for r in other.get("rules") or []))
    return printable(line)  # a host's path or message never acts on the terminal


class FilterModule:
    """remediation_plan, remediation_claims, rebuild_probe, rebuild_verdict and remediation_outcome_line."""

    def filters(self) -> dict:
        return {"remediation_plan": remediation_plan, "remediation_claims": remediation_claims,
                "rebuild_probe": rebuild_probe,
                "rebuild_verdict": rebuild_verdict, "remediation_outcome_line": remediation_outcome_line}
