package refarch.rules.nra006_test

import data.refarch.rules.nra006
import data.refarch.testlib as fx

test_good_node_options if {
	count(nra006.findings(fx.good, fx.ctx)) == 0
}

test_good_flag_in_cmd if {
	doc := fx.set_final(fx.with_process(["node", "--report-on-signal", "server.js"], "exec", 18), "env", {})
	count(nra006.findings(doc, fx.ctx)) == 0
}

test_good_flag_in_start_script if {
	doc := object.union(
		fx.set_final(fx.with_process(["npm", "start"], "exec", 18), "env", {}),
		{"package_json": {"scripts": {"start": "node --diagnostic-dir=/tmp server.js"}}},
	)
	count(nra006.findings(doc, fx.ctx)) == 0
}

test_bad_no_diagnostics if {
	doc := fx.set_final(fx.good, "env", {})
	some f in nra006.findings(doc, fx.ctx)
	f.line == 18
	contains(f.message, "no problem-determination settings")
}

test_bad_no_process_reports_from_line if {
	doc := fx.set_final(fx.with_final({"process": null, "cmd": null, "entrypoint": null}), "env", {})
	some f in nra006.findings(doc, fx.ctx)
	f.line == 8
}
