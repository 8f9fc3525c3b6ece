package refarch.rules.nra005_test

import data.refarch.lib.testfx as ax
import data.refarch.rules.nra005
import data.refarch.testlib as fx

test_good_manifests_first if {
	count(nra005.findings(ax.good, fx.ctx)) == 0
}

test_bad_copy_all_before_install if {
	doc := ax.single(
		[
			ax.run(12, 0, true, {"installs_dependencies": true}),
			ax.run(14, 0, true, {"installs_dependencies": true}),
		],
		[{"stage": 0, "line": 9}],
	)
	fs := nra005.findings(doc, fx.ctx)
	count(fs) == 1
	some f in fs
	f.line == 9
	contains(f.message, "at line 9 comes before the dependency install at line 12")
}

test_good_install_in_another_stage if {
	# the context copy is in stage 0, the install after it in stage 1
	doc := ax.with_analysis(ax.good, {"context_copies": [{"stage": 0, "line": 5}, {"stage": 1, "line": 14}]})
	count(nra005.findings(doc, fx.ctx)) == 0
}

test_good_no_install_after_copy if {
	doc := ax.single([ax.run(3, 0, true, {"installs_dependencies": true}), ax.run(6, 0, true, {})], [{"stage": 0, "line": 4}])
	count(nra005.findings(doc, fx.ctx)) == 0
}

test_good_cached_dependencies_before_the_copy if {
	# pnpm fetch after copying the lockfile, or an install from bind-mounted manifests, before COPY . .
	doc := ax.single(
		[ax.run(3, 0, true, {"fetches_dependencies": true}), ax.run(5, 0, true, {"installs_dependencies": true})],
		[{"stage": 0, "line": 4, "cached_dependencies": [3]}],
	)
	count(nra005.findings(doc, fx.ctx)) == 0
}

test_bad_no_cached_dependencies if {
	doc := ax.single(
		[ax.run(3, 0, true, {"installs_dependencies": true}), ax.run(5, 0, true, {"installs_dependencies": true})],
		[{"stage": 0, "line": 4, "cached_dependencies": []}],
	)
	fx.lines(nra005.findings(doc, fx.ctx)) == {4}
}
