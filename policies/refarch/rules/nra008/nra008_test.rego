package refarch.rules.nra008_test

import data.refarch.lib.testfx as ax
import data.refarch.rules.nra008
import data.refarch.testlib as fx

_findings(argv, patch) := nra008.findings(ax.with_analysis(ax.good, {"process": ax.proc_of(argv, patch)}), fx.ctx)

test_good_node if {
	count(nra008.findings(ax.good, fx.ctx)) == 0
}

test_bad_pm2_runtime if {
	msgs := {f.message | some f in _findings(["pm2-runtime", "start", "ecosystem.config.js"], {})}
	"the process (line 18) runs the process manager pm2-runtime inside the container; scale with more containers instead" in msgs
	"the process (line 18) runs the cluster-mode entry point ecosystem.config.js inside the container; scale with more containers instead" in msgs
}

test_bad_forever_in_shell if {
	some f in _findings(["/bin/sh", "-c", "cd", "/app", "&&", "/usr/local/bin/forever", "start", "app.js"], {})
	contains(f.message, "process manager forever")
}

test_bad_cluster_entry if {
	some f in _findings(["node", "./cluster.js"], {})
	contains(f.message, "cluster-mode entry point ./cluster.js")
}

test_good_hint_without_manager if {
	count(_findings(["node", "pm2-notes.txt"], {})) == 0
}

test_bad_start_script_uses_pm2 if {
	s := ax.script("start", "pm2 start app.js -i max", {})
	some f in _findings(["npm", "start"], {"direct": {"command": ["npm", "start"], "program": "npm", "script": s}})
	contains(f.message, "package.json script start, which starts the process manager pm2")
}

test_good_no_process if {
	doc := object.union(fx.with_final({"process": null}), {"analysis": ax.good_analysis})
	count(nra008.findings(doc, fx.ctx)) == 0
}
