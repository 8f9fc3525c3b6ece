package refarch.rules.nra006_test

import data.refarch.lib.testfx as ax
import data.refarch.rules.nra006
import data.refarch.testlib as fx

test_good_node_options if {
	count(nra006.findings(ax.good, fx.ctx)) == 0
}

test_good_flag_in_cmd if {
	doc := ax.with_process({"text": "node --report-on-signal server.js"})
	count(nra006.findings(doc, fx.ctx)) == 0
}

test_good_flag_in_start_script if {
	s := ax.script("start", "node --diagnostic-dir=/tmp server.js", {})
	doc := ax.with_process({"first": "npm", "direct": {"command": ["npm", "start"], "script": s}})
	count(nra006.findings(doc, fx.ctx)) == 0
}

test_good_flag_in_script_under_init if {
	s := ax.script("start", "node --cpu-prof a.js", {})
	doc := ax.with_process({"first": "tini", "as_init": {"command": ["npm", "start"], "script": s}})
	count(nra006.findings(doc, fx.ctx)) == 0
}

test_bad_no_diagnostics if {
	doc := ax.with_process({"text": "node server.js", "node_options": ax.node_options("--max-old-space-size=384", true, false)})
	fs := nra006.findings(doc, fx.ctx)
	count(fs) == 1
	some f in fs
	f.line == 18
	contains(f.message, "no problem-determination settings (--diagnostic-dir, --heapsnapshot-signal, --heapsnapshot-near-heap-limit)")
}

test_bad_flag_name_inside_a_word if {
	doc := ax.with_process({"text": "node x--report-on-signal.js"})
	count(nra006.findings(doc, fx.ctx)) == 1
}

test_bad_script_of_other_view_ignored if {
	# argv[0] is not an init program, so the as_init view (and its script) does not apply
	s := ax.script("start", "node --cpu-prof a.js", {})
	doc := ax.with_process({"first": "node", "as_init": {"command": ["npm", "start"], "script": s}})
	count(nra006.findings(doc, fx.ctx)) == 1
}

# The pattern is only skipped for the bundle's own flags when none is in the text: configured flags
# (patterns, no flag at all, flags that are not a list) still go through it, with the same results.
test_pattern_flags_still_match if {
	doc := ax.with_process({"text": "node --report-on-signal server.js"})
	count(nra006.findings(doc, fx.ctx_with({"diagnostic_flags": ["--rep[o]rt-on"]}))) == 0
	count(nra006.findings(doc, fx.ctx_with({"diagnostic_flags": []}))) == 0
	count(nra006.findings(doc, fx.ctx_with({"diagnostic_flags": ["--cpu-prof"]}))) == 1
	count(nra006.findings(doc, fx.ctx_with({"diagnostic_flags": "--report-on-signal"}))) == 0
}

# The shortcut (a flag absent from the text cannot match) holds for plain flags only, and the
# first look (-- in the text) for flags that start with it.
test_bundle_flags_are_plain_text if {
	count(data.refarch.config.diagnostic_flags) > 0
	every f in data.refarch.config.diagnostic_flags {
		regex.match(`^[-A-Za-z0-9=]+$`, f)
		startswith(f, "--")
	}
}
