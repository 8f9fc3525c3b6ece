package refarch.main_test

import data.refarch.lib.testfx as ax
import data.refarch.main
import data.refarch.testlib as fx

_bad := object.union(
	fx.set_final(fx.with_process(["npm", "start"], "exec", 18), "env", {}),
	{"analysis": object.union(ax.good_analysis, {"process": _npm_start})},
)

# The host's reading of CMD ["npm", "start"] (package.json start: node dist/server.js), no NODE_OPTIONS.
_npm_start := ax.process(18, {
	"argv": ["npm", "start"], "first": "npm", "tokens": ["npm", "start"], "text": "npm start",
	"direct": {"command": ["npm", "start"], "program": "npm", "script": ax.script("start", "node dist/server.js", {})},
	"as_init": {"command": ["start"], "program": "start", "script": null},
})

# A testlib document with the host-side analysis of testlib.good.
_a(doc) := object.union(doc, {"analysis": ax.good_analysis})

test_batch_is_aligned_and_sorted if {
	out := main.batch with input as {"documents": [ax.good, _bad, {"kind": "dockerfile", "schema_version": "1.0", "error": {"code": "binary", "message": "binary file"}}], "evaluation_date": "2026-11-28"}
	count(out) == 3
	out[0] == []
	ids := [f.rule_id | some f in out[1]]
	ids == ["NRA006", "NRA007", "NRA009", "NRA010"]
	[f.rule_id | some f in out[2]] == ["NRA000"]
}

test_finding_shape if {
	out := main.batch with input as {"documents": [_bad], "evaluation_date": "2026-11-28"}
	some f in out[0]
	f.rule_id == "NRA010"
	f == {
		"rule_id": "NRA010", "severity": "medium", "title": "Do not start the application with npm",
		"message": "the process (line 18) is started with `npm start` (package.json script start runs `node dist/server.js`); run node directly",
		"line": 18, "fix": "replace_npm_start", "related": [], "category": "reliability", "advisory": false,
	}
}

test_sorted_by_line_numerically if {
	ports := [
		{"port": 80, "end_port": 80, "protocol": "tcp", "raw": "80", "line": 12, "resolved": true},
		{"port": 81, "end_port": 81, "protocol": "tcp", "raw": "81", "line": 9, "resolved": true},
	]
	out := main.batch with input as {"documents": [_a(fx.with_final({"exposed_ports": ports}))]}
	[f.line | some f in out[0]] == [9, 12]
}

test_config_overrides_disable_and_severity if {
	inp := {
		"documents": [_bad], "evaluation_date": "2026-11-28",
		"config": {"disabled_rules": ["NRA006", "NRA000"], "severity_overrides": {"NRA010": "high"}},
	}
	out := main.batch with input as inp
	[f.rule_id | some f in out[0]] == ["NRA007", "NRA009", "NRA010"]
	some f in out[0]
	f.rule_id == "NRA010"
	f.severity == "high"
}

test_nra000_cannot_be_disabled if {
	inp := {"documents": [{"kind": "nope"}], "config": {"disabled_rules": ["NRA000"]}}
	out := main.batch with input as inp
	[f.rule_id | some f in out[0]] == ["NRA000", "NRA000"]
}

test_config_merge_keeps_other_entries if {
	s := main.ctx.config with input as {"documents": [], "config": {"node_releases": {"27": {"codename": null, "release": "2027-04-20", "lts_start": null, "eol": "2028-06-01"}}}}
	s.node_releases["22"].codename == "jod"
	s.node_releases["27"].eol == "2028-06-01"
	s.port_floor == 1024
}

test_batch_undefined_without_documents if {
	not main.batch with input as {"docs": []}
}

test_single_document_entry_points if {
	fs := main.findings with input as _bad
	count(fs) == 4
	deny := main.deny with input as _bad
	count(deny) == 0
	warn := main.warn with input as _bad
	"NRA010: the process (line 18) is started with `npm start` (package.json script start runs `node dist/server.js`); run node directly (line 18)" in warn
}

test_deny_for_high_and_file_level_message if {
	doc := _a(fx.with_final({"user": {"raw": null, "name": null, "group": null, "line": null, "source": "base", "uid": null}}))
	deny := main.deny with input as object.union(doc, {"dockerignore": {"exists": false}})
	"NRA001: the final stage sets no USER, so it runs as the base image's default user root (node:22.11.0-bookworm-slim) (line 8)" in deny
	warn := main.warn with input as object.union(doc, {"dockerignore": {"exists": false}})
	"NRA004: no .dockerignore in the build context /srv/app: node_modules, .git and .cache are sent to the builder" in warn
}

test_evaluation_date_from_config if {
	d := main.ctx.date with input as {"documents": [], "config": {"evaluation_date": "2030-01-01"}}
	d == "2030-01-01"
}

test_catalog_covers_every_rule if {
	every id in {"NRA000", "NRA001", "NRA002", "NRA003", "NRA004", "NRA005", "NRA006", "NRA007", "NRA008", "NRA009", "NRA010", "NRA011", "NRA012", "NRA013", "NRA014", "NRA015"} {
		data.refarch.catalog.rules[id].fix != ""
	}
}

# _bad (npm start, no heap limit, no init) as a target the host classified.
_scoped(c) := object.union(_bad, {"node_scope": {"classification": c, "evidence": []}})

# The same with a shell-form CMD (NRA011, a neutral rule) and a root user (NRA001, neutral).
_scoped_shell(c) := object.union(_scoped(c), {"final_stage": {
	"cmd": {"form": "shell", "argv": ["./server"], "raw": "./server", "line": 18},
	"user": {"raw": null, "name": null, "group": null, "line": null, "source": "base", "uid": null},
}})

_inp(doc, mode) := {"documents": [doc], "evaluation_date": "2026-11-28", "config": {"node_scope": mode}}

_ids(out) := [f.rule_id | some f in out[0]]

test_node_mode_judges_node_and_unknown_not_not_node if {
	out1 := main.batch with input as _inp(_scoped("node"), "node")
	_ids(out1) == ["NRA006", "NRA007", "NRA009", "NRA010"]
	out2 := main.batch with input as _inp(_scoped("unknown"), "node")
	_ids(out2) == ["NRA006", "NRA007", "NRA009", "NRA010"]
	out3 := main.batch with input as _inp(_scoped("not_node"), "node")
	_ids(out3) == []
}

test_default_mode_is_node if {
	out := main.batch with input as {"documents": [_scoped("not_node")], "evaluation_date": "2026-11-28"}
	out == [[]]
}

test_neutral_mode_keeps_neutral_rules_on_not_node if {
	out4 := main.batch with input as _inp(_scoped_shell("not_node"), "neutral")
	_ids(out4) == ["NRA001", "NRA007", "NRA011"]
	out5 := main.batch with input as _inp(_scoped_shell("node"), "neutral")
	_ids(out5) == ["NRA001", "NRA006", "NRA007", "NRA009", "NRA010", "NRA011"]
}

test_all_mode_judges_everything if {
	out6 := main.batch with input as _inp(_scoped("not_node"), "all")
	_ids(out6) == ["NRA006", "NRA007", "NRA009", "NRA010"]
}

test_neutral_messages_do_not_name_node_on_not_node if {
	out := main.batch with input as {"documents": [_scoped_shell("not_node")], "config": {"node_scope": "neutral"}}
	some f in out[0]
	f.rule_id == "NRA011"
	contains(f.message, "SIGTERM to the application")
	not contains(f.message, "node")
}

test_not_judged_document_still_gets_nra000 if {
	doc := object.union(_scoped("not_node"), {"problems": [{"line": 3, "code": "unterminated_heredoc", "message": "x"}]})
	out7 := main.batch with input as _inp(doc, "node")
	_ids(out7) == ["NRA000"]
}
