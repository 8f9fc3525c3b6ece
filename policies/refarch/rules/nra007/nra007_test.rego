package refarch.rules.nra007_test

import data.refarch.rules.nra007
import data.refarch.testlib as fx

test_good_tini if {
	count(nra007.findings(fx.good, fx.ctx)) == 0
}

test_good_dumb_init if {
	doc := fx.with_process(["dumb-init", "node", "server.js"], "exec", 18)
	count(nra007.findings(doc, fx.ctx)) == 0
}

test_bad_node_as_pid1 if {
	doc := fx.with_process(["node", "server.js"], "exec", 18)
	some f in nra007.findings(doc, fx.ctx)
	f.line == 18
	contains(f.message, "PID 1 is `node` (line 18)")
}

test_bad_empty_argv if {
	doc := fx.with_process([], "exec", 18)
	some f in nra007.findings(doc, fx.ctx)
	contains(f.message, "an empty command")
}

test_good_documented_by_label if {
	# doc.analysis.labels: label keys set in the final stage's chain (quotes removed on the host)
	doc := object.union(fx.with_process(["node", "server.js"], "exec", 18), {"analysis": {"labels": ["refarch.init", "maintainer"]}})
	count(nra007.findings(doc, fx.ctx)) == 0
}

test_bad_other_labels if {
	doc := object.union(fx.with_process(["node", "server.js"], "exec", 18), {"analysis": {"labels": ["note"]}})
	count(nra007.findings(doc, fx.ctx)) == 1
}

test_bad_no_process if {
	doc := fx.with_final({"process": null, "cmd": null, "entrypoint": null})
	some f in nra007.findings(doc, fx.ctx)
	f.line == 8
	contains(f.message, "no ENTRYPOINT or CMD")
}

test_bad_points_at_the_entrypoint if {
	# ENTRYPOINT ["docker-entrypoint.sh"] at line 12, CMD at 18: PID 1 is set by the ENTRYPOINT
	doc := object.union(
		fx.with_process(["docker-entrypoint.sh", "node", "server.js"], "exec", 18),
		{"analysis": {"process": {"pid1_line": 12}}},
	)
	some f in nra007.findings(doc, fx.ctx)
	f.line == 12
	contains(f.message, "PID 1 is `docker-entrypoint.sh` (line 12)")
}
