package refarch.rules.nra009_test

import data.refarch.lib.testfx as ax
import data.refarch.rules.nra009
import data.refarch.testlib as fx

_msg(patch) := [f.message | some f in nra009.findings(ax.with_process(patch), fx.ctx)]

_npm_start(s) := {"first": "npm", "direct": {"command": ["npm", "start"], "script": s}}

test_good_node_options if {
	count(nra009.findings(ax.good, fx.ctx)) == 0
}

test_good_shell_expanded if {
	_msg({"through_shell": true, "heap_limit": true, "heap_limit_from_variable": true}) == []
}

test_good_start_script if {
	_msg(_npm_start(ax.script("start", "node --max-old-space-size=${MAX_NODE_MEMORY} bin/app.js", {
		"heap_limit": true, "heap_limit_from_variable": true,
	}))) == []
}

test_good_start_script_node_options if {
	_msg(_npm_start(ax.script("start", "NODE_OPTIONS=--max-old-space-size=$MEM node app.js", {"node_options_from_variable": true}))) == []
}

test_bad_missing if {
	fs := nra009.findings(ax.with_process({}), fx.ctx)
	count(fs) == 1
	some f in fs
	f.line == 18
	startswith(f.message, "no --max-old-space-size")
}

test_bad_exec_form_variable if {
	[m] := _msg({"heap_limit": true, "heap_limit_from_variable": true})
	contains(m, "exec-form command (line 18), where $VARIABLES are not expanded")
}

test_bad_hard_coded if {
	[m] := _msg({"heap_limit": true})
	contains(m, "hard-coded in the command (line 18)")
}

test_bad_hard_coded_script if {
	[m] := _msg(_npm_start(ax.script("serve", "node --max-old-space-size=512 app.js", {"heap_limit": true})))
	contains(m, "hard-coded in the package.json script")
}

test_bad_node_options_without_heap_flag if {
	[m] := _msg({"node_options": ax.node_options("--enable-source-maps", false, false)})
	startswith(m, "no --max-old-space-size")
}

test_bad_no_process_uses_from_line if {
	fs := nra009.findings(ax.with_analysis(ax.good, {"process": ax.process(8, {})}), fx.ctx)
	some f in fs
	f.line == 8
}
