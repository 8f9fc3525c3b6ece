"""The base-image fix keeps a pin's precision and variant, moves to the newest LTS line (or ``node_line``) one LTS
line at a time unless allowed, and says why when it does less (issue 16 item 3). The release table is the bundle's
(``policies/refarch/config/data.json``, through its generated copy), so the expected versions are read from it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from ansible_collections.refarch.containers.plugins.module_utils import _rewriter as R
from ansible_collections.refarch.containers.plugins.plugin_utils import _settings

REPO = Path(__file__).resolve().parents[4]
DATA = json.loads((REPO / "policies" / "refarch" / "config" / "data.json").read_text(encoding="utf-8"))
LATEST = {line: info["latest_version"] for line, info in DATA["node_releases"].items()}
DATE = "2026-11-28"  # lines in LTS: 22, 24, 26 (the newest)
CMD = '\nCMD ["node", "a.js"]\n'


def fix(text: str, **ctx) -> tuple:
    """(FROM/ARG lines after the fix, its status entry); a second pass changes nothing."""
    ctx.setdefault("evaluation_date", DATE)
    res = R.rewrite(text + CMD, ["replace_base_image"], ctx)
    again = R.rewrite(res["text"], ["replace_base_image"], ctx)
    assert again["text"] == res["text"]
    lines = [x for x in res["text"].splitlines() if x.startswith(("FROM", "ARG"))]
    return lines, res["fix_status"][0]


@pytest.mark.parametrize("before, after", [
    # exact -> the target line's newest release in the table; minor -> its minor; major -> major
    ("FROM node:20.11.1-bookworm-slim", "FROM node:22.23.3-bookworm-slim"),
    ("FROM node:20.11-slim", "FROM node:22.23-slim"),
    ("FROM node:20", "FROM node:22"),
    ("FROM node:21-bullseye", "FROM node:22-bookworm"),  # a Debian release the new line is not published for
    ("FROM node:21-trixie-slim", "FROM node:22-trixie-slim"),
    ("FROM node:iron", "FROM node:jod"),  # codename -> codename
    ("FROM node:25.1.0", "FROM node:26.10.0"),  # a non-LTS line: the next LTS line is the newest
])
def test_pin_precision_is_kept(before, after):
    lines, status = fix(before)
    assert lines == [after]
    assert status["status"] in ("applied", "partly_applied")
    assert LATEST["22"] == "22.23.3" and LATEST["26"] == "26.10.0"  # the table these cases were written for


@pytest.mark.parametrize("before", ["FROM node", "FROM node:latest", "FROM node:lts", "FROM node:current-slim"])
def test_floating_tags_are_pinned_to_an_exact_version_as_nra014_advises(before):
    lines, status = fix(before)
    variant = "-slim" if before.endswith("-slim") else ""
    assert lines == [f"FROM node:{LATEST['26']}{variant}"]
    assert status["status"] == "applied", status


def test_node_line_is_the_target():
    lines, status = fix("FROM node:latest", node_line="24")
    assert lines == [f"FROM node:{LATEST['24']}"] and status["status"] == "applied"
    lines, status = fix("FROM node:20.1.0", node_line="24", base_image_allow=["line_jump"])
    assert lines == [f"FROM node:{LATEST['24']}"] and status["status"] == "applied"


@pytest.mark.parametrize("line, why", [("20", "not in LTS on 2026-11-28"), ("25", "not an LTS line"),
                                       ("27", "not in the release table (dated 2026-12-07)"),
                                       ("lts", "not a Node.js major version")])
def test_a_bad_node_line_changes_nothing_and_names_the_option(line, why):
    lines, status = fix("FROM node:latest", node_line=line)
    assert lines == ["FROM node:latest"] and status["status"] == "skipped"
    assert "node_line: " in status["reason"] and why in status["reason"], status


def test_more_than_one_lts_line_is_partly_applied_one_line_up_unless_allowed():
    lines, status = fix("FROM node:20.11.1")
    assert lines == [f"FROM node:{LATEST['22']}"]
    assert status["status"] == "partly_applied"
    assert "one LTS line up, not to 26" in status["reason"] and "line_jump" in status["reason"]
    assert status["claims"] == ["NRA012", "NRA013", "NRA014"]  # the controller's re-evaluation decides
    lines, status = fix("FROM node:20.11.1", base_image_allow=["line_jump"])
    assert lines == [f"FROM node:{LATEST['26']}"] and status["status"] == "applied"


def test_an_old_line_whose_next_lts_line_is_over_is_not_moved_and_says_why():
    lines, status = fix("FROM node:8.9.4")  # the node 8 app: 10 is end-of-life too
    assert lines == ["FROM node:8.9.4"] and status["status"] == "skipped"
    assert "the Node.js line was not changed: Node.js 8 -> 26 crosses 9 LTS lines" in status["reason"]


def test_alpine_is_kept_unless_a_c_library_change_is_allowed():
    # the case: node:18.20.2-alpine became node:22-bookworm-slim (precision and C library lost)
    lines, status = fix("FROM node:18.20.2-alpine", base_image_allow=["line_jump"])
    assert lines == [f"FROM node:{LATEST['26']}-alpine"] and status["status"] == "partly_applied"
    assert "musl" in status["reason"] and "libc_change" in status["reason"]
    lines, status = fix("FROM node:18.20.2-alpine", base_image_allow=["line_jump", "libc_change"])
    assert lines == [f"FROM node:{LATEST['26']}-bookworm-slim"] and status["status"] == "applied"
    lines, status = fix("FROM node:22-alpine3.20")  # NRA012 alone: nothing to do without the opt-in
    assert lines == ["FROM node:22-alpine3.20"] and status["status"] == "skipped" and "musl" in status["reason"]


def test_alpine_stays_where_nra012_does_not_ask_to_leave_it():
    # a build stage is not judged by NRA012; the findings (rule_ids) may not raise NRA012 at all
    text = "FROM node:20-alpine AS build\nRUN npm ci\nFROM node:20-bookworm-slim\nCOPY --from=build /a /a"
    lines, dummy = fix(text)
    assert lines == ["FROM node:22-alpine AS build", "FROM node:22-bookworm-slim"]
    lines, status = fix("FROM node:22-alpine", rule_ids=["NRA014"], base_image_allow=["libc_change"])
    assert lines == ["FROM node:22-alpine"] and status["status"] == "not_needed"


def test_digest_pins_are_not_claimed_current():
    digest = "@sha256:" + "a" * 64
    lines, status = fix("FROM node:20.11.1-bookworm-slim" + digest)
    assert lines == [f"FROM node:{LATEST['22']}-bookworm-slim"]  # the old digest would pull the old image
    assert status["status"] == "partly_applied" and "pin the digest of" in status["reason"]
    lines, status = fix("FROM node" + digest)  # digest only: line and variant unknown
    assert lines == ["FROM node" + digest] and status["status"] == "skipped"
    assert "pinned by digest only" in status["reason"]
    lines, status = fix("FROM node:22.1.0" + digest)  # a supported line: nothing to refresh
    assert lines == ["FROM node:22.1.0" + digest] and status["status"] == "not_needed"


@pytest.mark.parametrize("before, why", [
    ("FROM python:3.12", "not an official node or UBI Node.js image"),
    ("FROM mhart/alpine-node:12", "not an official node or UBI Node.js image"),
    ("FROM node:27", "the release table (dated 2026-12-07) does not know Node.js 27"),
    ("FROM node:0.12.7", "does not know Node.js 0.12.7"),
    ("FROM node:argonaut", "unrecognised node tag"),
    ("ARG NODE_VERSION\nFROM node:${NODE_VERSION}", "unresolved variable"),
])
def test_bad_input_is_skipped_with_the_reason(before, why):
    lines, status = fix(before)
    assert [x for x in lines if x.startswith("FROM")] == [before.splitlines()[-1]]
    assert status["status"] == "skipped" and why in status["reason"], status


def test_arg_based_from_edits_the_arg_default_with_the_same_precision():
    lines, dummy = fix("ARG NODE_VERSION=20.11.1\nFROM node:${NODE_VERSION}")
    assert lines == [f"ARG NODE_VERSION={LATEST['22']}", "FROM node:${NODE_VERSION}"]
    lines, dummy = fix("ARG NODE_VERSION=20\nFROM node:${NODE_VERSION}-alpine")
    assert lines == ["ARG NODE_VERSION=22", "FROM node:${NODE_VERSION}-alpine"]


def test_ubi_build_tags_are_not_carried_to_another_line():
    lines, status = fix("FROM registry.access.redhat.com/ubi9/nodejs-20:1-123")
    assert lines == ["FROM registry.access.redhat.com/ubi9/nodejs-22:1"]
    assert status["status"] == "partly_applied" and "1-123" in status["reason"]


def test_the_table_of_the_run_overrides_lines_and_its_date():
    table = {"node_releases": {"26": dict(DATA["node_releases"]["26"], latest_version="26.11.0")},
             "node_releases_date": "2026-12-24"}
    lines, dummy = fix("FROM node:lts", base_image_table=table)
    assert lines == ["FROM node:26.11.0"]
    lines, status = fix("FROM node:27", base_image_table=table)
    assert "dated 2026-12-24" in status["reason"]


def test_a_line_without_a_release_in_the_table_is_pinned_to_the_line_and_says_so():
    table = {"node_releases": {"26": dict(DATA["node_releases"]["26"], latest_version=None)}}
    lines, status = fix("FROM node:lts", base_image_table=table)
    assert lines == ["FROM node:26"] and status["status"] == "partly_applied"
    assert "no release of Node.js 26" in status["reason"]


def test_the_playbook_checks_refarch_node_line_before_any_host_is_touched():
    ok = {"refarch_evaluation_date": {"": DATE}}
    assert _settings.validate({**ok, "refarch_node_line": {"": "24"}}, "remediate") == ([], [])
    errors, dummy = _settings.validate({**ok, "refarch_node_line": {"": "20", "web1": "27"}}, "remediate")
    assert errors == ["refarch_node_line: Node.js 20 is not in LTS on 2026-11-28 (LTS 2023-10-24 to 2026-04-30)",
                      "refarch_node_line: Node.js 27 is not in the release table (dated 2026-12-07) (set for web1)"]
    errors, dummy = _settings.validate({"refarch_base_image_allow": {"": ["everything"]}}, "remediate")
    assert errors and errors[0].startswith("refarch_base_image_allow")
