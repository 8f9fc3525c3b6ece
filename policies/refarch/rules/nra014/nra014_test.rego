package refarch.rules.nra014_test

import data.refarch.rules.nra014
import data.refarch.testlib as fx

_stages(base0, base1) := [object.union(fx.stages[0], {"base": base0}), object.union(fx.stages[1], {"base": base1})]

test_good_pinned if {
	count(nra014.findings(fx.good, fx.ctx)) == 0
}

test_bad_latest_and_missing_tag if {
	doc := object.union(fx.good, {"stages": _stages(
		fx.ref("node:latest", "library/node", "latest"),
		fx.ref("node", "library/node", null),
	)})
	msgs := {f.message | some f in nra014.findings(doc, fx.ctx)}
	msgs == {
		"FROM node:latest at line 1 uses the floating tag latest (latest follows every new release), so the same FROM pulls a different image over time; pin a version tag or a digest",
		"FROM node at line 8 has no tag, so it pulls latest; pin a version tag or a digest",
	}
}

test_good_digest_scratch_and_stage_reference if {
	digest := object.union(fx.ref("node:latest@sha256:abc", "library/node", "latest"), {"digest": "sha256:abc"})
	scratch := object.union(fx.ref("scratch", "library/scratch", null), {"scratch": true})
	stage_ref := object.union(fx.stages[1], {"from_stage": 0, "base": fx.ref("build", null, null)})
	doc := object.union(fx.good, {"stages": [
		object.union(fx.stages[0], {"base": digest}),
		stage_ref,
		object.union(fx.stages[1], {"index": 2, "base": scratch}),
	]})
	count(nra014.findings(doc, fx.ctx)) == 0
}

test_bad_unresolved_arg if {
	doc := object.union(fx.good, {"stages": _stages(fx.node22, object.union(fx.ref("${BASE}", null, null), {"unresolved": true}))})
	some f in nra014.findings(doc, fx.ctx)
	f.line == 8
	contains(f.message, "could not be resolved")
}

test_bad_floating_tags if {
	every tag in ["lts", "current", "alpine", "slim", "lts-alpine", "lts-alpine3.20", "bookworm-slim", "latest-minimal"] {
		fx.lines(nra014.findings(_first_base(tag), fx.ctx)) == {1}
	}
}

_first_base(tag) := object.union(fx.good, {"stages": _stages(fx.ref(concat("", ["node:", tag]), "library/node", tag), fx.node22)})

test_floating_tag_messages if {
	doc := object.union(fx.good, {"stages": _stages(
		fx.ref("node:lts-alpine", "library/node", "lts-alpine"),
		fx.ref("debian:bookworm-slim", "library/debian", "bookworm-slim"),
	)})
	{f.message | some f in nra014.findings(doc, fx.ctx)} == {
		"FROM node:lts-alpine at line 1 uses the floating tag lts-alpine (lts moves to each new LTS release line), so the same FROM pulls a different image over time; pin a version tag or a digest",
		"FROM debian:bookworm-slim at line 8 uses the floating tag bookworm-slim (it names no version, only a variant or a distribution, so it follows every new release), so the same FROM pulls a different image over time; pin a version tag or a digest",
	}
}

test_good_version_and_node_codename_tags if {
	every tag in ["22", "22-alpine", "22.11.0-bookworm-slim", "jod", "iron-alpine", "v1.2", "1-80.1699550448"] {
		count(nra014.findings(_first_base(tag), fx.ctx)) == 0
	}
}

test_bad_codename_on_other_image if {
	# a Node.js codename names a release line only on node images
	doc := object.union(fx.good, {"stages": _stages(fx.ref("example/app:iron", "example/app", "iron"), fx.node22)})
	fx.lines(nra014.findings(doc, fx.ctx)) == {1}
}

test_bad_configured_unpinned_tag if {
	doc := object.union(fx.good, {"stages": _stages(fx.ref("node:22-edge", "library/node", "22-edge"), fx.node22)})
	count(nra014.findings(doc, fx.ctx)) == 0
	fx.lines(nra014.findings(doc, fx.ctx_with({"unpinned_tags": ["latest", "22-edge"]}))) == {1}
}
