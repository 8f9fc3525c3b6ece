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
		"FROM node:latest at line 1 uses the latest tag; pin a version tag or a digest",
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
