package refarch.rules.nra009_test

import data.refarch.rules.nra009
import data.refarch.testlib as fx

_no_env(doc) := fx.set_final(doc, "env", {})

test_good_node_options if {
	count(nra009.findings(fx.good, fx.ctx)) == 0
}

test_good_shell_expanded if {
	doc := _no_env(fx.with_process(["/bin/sh", "-c", "exec node --max-old-space-size=$HEAP_MB server.js"], "shell", 18))
	count(nra009.findings(doc, fx.ctx)) == 0
}

test_good_start_script if {
	doc := object.union(_no_env(fx.with_process(["npm", "start"], "exec", 18)), {"package_json": {"scripts": {"start": "node --max-old-space-size=${MAX_NODE_MEMORY} bin/app.js"}}})
	count(nra009.findings(doc, fx.ctx)) == 0
}

test_good_start_script_node_options if {
	doc := object.union(_no_env(fx.with_process(["yarn", "start"], "exec", 18)), {"package_json": {"scripts": {"start": "NODE_OPTIONS=--max-old-space-size=$MEM node app.js"}}})
	count(nra009.findings(doc, fx.ctx)) == 0
}

test_bad_missing if {
	doc := _no_env(fx.good)
	some f in nra009.findings(doc, fx.ctx)
	f.line == 18
	startswith(f.message, "no --max-old-space-size")
}

test_bad_exec_form_variable if {
	doc := _no_env(fx.with_process(["node", "--max-old-space-size=$HEAP", "server.js"], "exec", 18))
	some f in nra009.findings(doc, fx.ctx)
	contains(f.message, "exec-form command (line 18), where $VARIABLES are not expanded")
}

test_bad_hard_coded if {
	doc := _no_env(fx.with_process(["node", "--max-old-space-size=512", "server.js"], "exec", 18))
	some f in nra009.findings(doc, fx.ctx)
	contains(f.message, "hard-coded in the command (line 18)")
}

test_bad_hard_coded_script if {
	doc := object.union(_no_env(fx.with_process(["npm", "run", "serve"], "exec", 18)), {"package_json": {"scripts": {"serve": "node --max-old-space-size=512 app.js"}}})
	some f in nra009.findings(doc, fx.ctx)
	contains(f.message, "hard-coded in the package.json script")
}

test_bad_no_process_uses_from_line if {
	doc := _no_env(fx.with_final({"process": null}))
	some f in nra009.findings(doc, fx.ctx)
	f.line == 8
}
