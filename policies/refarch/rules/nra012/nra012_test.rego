package refarch.rules.nra012_test

import data.refarch.lib.testfx as ax
import data.refarch.rules.nra012
import data.refarch.testlib as fx

_base(ref) := _based(ref, {})

# root_base ref with the host's analysis of it (patch over an official node image at line 8).
_based(ref, patch) := object.union(fx.with_final({"root_base": ref}), {"analysis": {"base": object.union(ax.base(8, "22"), patch)}})

test_good_official_debian if {
	count(nra012.findings(ax.good, fx.ctx)) == 0
}

test_good_ubi if {
	ref := object.union(fx.ref("registry.access.redhat.com/ubi9/nodejs-22-minimal", "ubi9/nodejs-22-minimal", "1"), {"registry": "registry.access.redhat.com"})
	count(nra012.findings(_base(ref), fx.ctx)) == 0
}

test_bad_alpine if {
	some f in nra012.findings(_based(fx.ref("node:22-alpine", "library/node", "22-alpine"), {"alpine": true}), fx.ctx)
	f.line == 8
	contains(f.message, "Alpine variant")
}

test_bad_other_image if {
	some f in nra012.findings(_based(fx.ref("bitnami/node:22", "bitnami/node", "22"), {"official_node": false}), fx.ctx)
	contains(f.message, "is not a recommended Node.js image")
}

test_bad_scratch if {
	ref := object.union(fx.ref("scratch", "library/scratch", null), {"scratch": true})
	some f in nra012.findings(_base(ref), fx.ctx)
	contains(f.message, "FROM scratch (line 8)")
}

test_bad_unresolved if {
	ref := object.union(fx.ref("${BASE}", null, null), {"unresolved": true})
	some f in nra012.findings(_base(ref), fx.ctx)
	contains(f.message, "${BASE} (line 8) could not be resolved")
}

test_bad_registry_not_allowed if {
	some f in nra012.findings(ax.good, fx.ctx_with({"allowed_registries": ["registry.example.com"]}))
	contains(f.message, "comes from registry docker.io")
}

test_good_final_from_earlier_stage_uses_root_line if {
	stages := [fx.stages[0], object.union(fx.stages[1], {"from_stage": 0})]

	# the host reports the root line: the FROM of the stage the final stage's chain starts from
	doc := object.union(_based(fx.ref("node:22-alpine", "library/node", "22-alpine"), {"alpine": true, "line": 1}), {"stages": stages})
	some f in nra012.findings(doc, fx.ctx)
	f.line == 1
}
