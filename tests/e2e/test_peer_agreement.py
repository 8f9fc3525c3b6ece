"""Agreement with Trivy's and hadolint's own test cases (issue 3).

``../shared/peer-cases`` holds the peers' test cases as Dockerfile text with each
peer's verdict. For the concepts where our rules and the peer mean the same
thing, our verdict must match; every disagreement is listed below with the
reason, and a listed case that no longer disagrees fails the test too (so the
list stays true).
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from pipeline import evaluate, facts_for_text

REPO = Path(__file__).resolve().parents[2]
CONCEPT_RULE = {"root_user": "NRA001", "latest_tag": "NRA014", "untagged_base": "NRA014", "cmd_json_form": "NRA011"}
# every rule compared is a neutral one (checked below against the catalogue), so the neutral mode judges all cases

# Every case where we read a Dockerfile differently from the peer, with the
# semantic difference behind it (measured, then explained case by case).
UNRESOLVED = ("an ARG without a default leaves the base image unknown until build time; we report the reference as "
              "unverifiable (NRA014) instead of assuming it is pinned, the peer skips it")
ARG_SCOPE = ("an ARG declared after the first FROM is stage-scoped in BuildKit, so a later FROM cannot see it; we "
             "resolve FROM with global ARGs only, the peer merges stage ARGs into FROM")
EVERY_STAGE_USER = ("hadolint judges the last USER of every stage; we judge the user the final image runs as (a root "
                    "build stage does not reach the image)")
BASE_DEFAULT_ROOT = ("the final stage sets no USER, so it runs as its base image's default user (root for scratch "
                     "and official node images); the peer only flags an explicit USER root")
NO_FROM_HEALTHCHECK = ("a fragment without FROM builds no image (we report no_from), and HEALTHCHECK CMD is a probe, "
                       "not the process that must receive signals, so NRA011 does not cover it")
FLOATING_CODENAME = ("a tag that names only a codename or a variant (debian:jessie) pins no version, so NRA014 "
                     "reports it as floating (issue 15); DL3007 only flags :latest")

KNOWN: dict[str, str] = {
    "trivy-DS001-test_with_variables_allowed": ARG_SCOPE,
    "trivy-DS001-test_allow_tag_ref_to_global_arg_without_default_value": UNRESOLVED,
    "trivy-DS001-test_allow_from_with_only_arg_without_default_value": UNRESOLVED,
    "hadolint-DL3006-L20": UNRESOLVED,
    "hadolint-DL3002-L68": EVERY_STAGE_USER,
    "hadolint-DL3002-L79": BASE_DEFAULT_ROOT,
    "hadolint-DL3025-L44": NO_FROM_HEALTHCHECK,
    "hadolint-DL3007-L17": FLOATING_CODENAME,
    "hadolint-DL3007-L28": FLOATING_CODENAME,
}


def _cases(shared_dir):
    out = []
    for name in ("trivy.json", "hadolint.json"):
        path = shared_dir / "peer-cases" / name
        if not path.exists():
            pytest.skip(f"peer cases not found at {path}")
        for case in json.loads(path.read_text()):
            if case["concept"] in CONCEPT_RULE:
                out.append(case)
    return out


def _verdicts(cases):
    docs = []
    for case in cases:
        text = case.get("repaired_dockerfile") or case["dockerfile"]
        docs.append(facts_for_text(text))
    # The peers lint every Dockerfile whatever runs in it, and the concepts compared are container hygiene
    # (neutral rules): judge every target with the neutral rules, as refarch_node_scope: neutral does. In the
    # default mode a Dockerfile that is not Node.js (most peer cases: FROM debian, ubuntu...) is not judged.
    results = evaluate(docs, config={"node_scope": "neutral"})
    verdicts = {}
    for case, findings in zip(cases, results, strict=True):
        rule = CONCEPT_RULE[case["concept"]]
        verdicts[case["id"]] = "violation" if any(f["rule_id"] == rule for f in findings) else "ok"
    return verdicts


def test_the_compared_rules_are_neutral():
    """The neutral mode judges every peer case with exactly the rules compared: they must all be neutral."""
    catalog = json.loads((REPO / "policies" / "refarch" / "catalog" / "data.json").read_text(encoding="utf-8"))
    assert {rule: catalog["rules"][rule]["scope"] for rule in set(CONCEPT_RULE.values())} == \
        dict.fromkeys(set(CONCEPT_RULE.values()), "neutral")


def test_peer_agreement(shared_dir, capsys):
    cases = _cases(shared_dir)
    verdicts = _verdicts(cases)
    agree: Counter = Counter()
    seen: Counter = Counter()
    disagreements = {}
    for case in cases:
        ours = verdicts[case["id"]]
        key = f"{case['id'].split('-')[0]} {case['concept']}"
        seen[key] += 1
        if ours == case["expected"]:
            agree[key] += 1
        else:
            disagreements[case["id"]] = (case, ours)
    unexplained = {}
    for case_id, (case, ours) in disagreements.items():
        if case_id not in KNOWN:
            unexplained[case_id] = f"peer={case['expected']} ours={ours}: {case['dockerfile']!r}"
    stale = sorted(set(KNOWN) - set(disagreements))
    total = len(cases)
    with capsys.disabled():
        print(f"\npeer agreement: {total - len(disagreements)}/{total} cases agree "
              f"({100 * (total - len(disagreements)) / total:.1f}%); {len(disagreements)} explained disagreements")
        for key in sorted(seen):
            print(f"  {key}: {agree[key]}/{seen[key]}")
        by_reason = Counter(KNOWN.get(i, 'UNEXPLAINED') for i in disagreements)
        for reason, n in by_reason.most_common():
            print(f"  {n:3d} x {str(reason)[:100]}")
    assert not unexplained, "disagreements without a reason:\n" + "\n".join(f"{k}: {v}" for k, v in unexplained.items())
    assert not stale, f"listed disagreements that now agree: {stale}"
    # The reasons are semantic differences, not a licence to disagree wholesale.
    assert total - len(disagreements) >= 0.75 * total
