package refarch.rules.nra008_test

import data.refarch.rules.nra008
import data.refarch.testlib as fx

test_good_node if {
	count(nra008.findings(fx.good, fx.ctx)) == 0
}

test_bad_pm2_runtime if {
	doc := fx.with_process(["pm2-runtime", "start", "ecosystem.config.js"], "exec", 18)
	msgs := {f.message | some f in nra008.findings(doc, fx.ctx)}
	"the process (line 18) runs the process manager pm2-runtime inside the container; scale with more containers instead" in msgs
	"the process (line 18) runs the cluster-mode entry point ecosystem.config.js inside the container; scale with more containers instead" in msgs
}

test_bad_forever_in_shell if {
	doc := fx.with_process(["/bin/sh", "-c", "cd /app && /usr/local/bin/forever start app.js"], "shell", 18)
	some f in nra008.findings(doc, fx.ctx)
	contains(f.message, "process manager forever")
}

test_bad_cluster_entry if {
	doc := fx.with_process(["node", "./cluster.js"], "exec", 18)
	some f in nra008.findings(doc, fx.ctx)
	contains(f.message, "cluster-mode entry point ./cluster.js")
}

test_bad_start_script_uses_pm2 if {
	doc := object.union(fx.with_process(["npm", "start"], "exec", 18), {"package_json": {"scripts": {"start": "pm2 start app.js -i max"}}})
	some f in nra008.findings(doc, fx.ctx)
	contains(f.message, "package.json script start, which starts the process manager pm2")
}

test_good_no_process if {
	doc := fx.with_final({"process": null})
	count(nra008.findings(doc, fx.ctx)) == 0
}
