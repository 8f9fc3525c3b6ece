# METADATA
# title: Add key tools for problem determination
# description: |
#   Advisory. Plan how production problems will be investigated: Node.js can
#   write diagnostic reports and heap snapshots on a signal or on fatal errors
#   (--report-on-signal, --heapsnapshot-signal, --diagnostic-dir ...). This rule
#   notes when none of these settings appear in the process, NODE_OPTIONS or the
#   package.json script that starts the application.
# related_resources:
#   - ref: https://nodeshift.dev/nodejs-reference-architecture/development/building-good-containers/#add-key-tools-for-problem-determination
#     description: Add key tools for problem determination
# custom:
#   id: NRA006
#   severity: info
#   recommended_action: >-
#     Consider setting NODE_OPTIONS with --report-on-signal / --heapsnapshot-signal=SIGUSR2 and
#     --diagnostic-dir pointing at a mounted volume.
#   fix: manual
#   aliases: []
#   category: operations
#   advisory: true
#   scope: node
package refarch.rules.nra006

import data.refarch.lib.text

import data.refarch.lib.process

# findings(doc, ctx) for Dockerfiles.
findings(doc, ctx) := {f |
	doc.final_stage != null
	a := doc.analysis.process
	not _has_diagnostics(a, ctx)
	f := {"rule_id": "NRA006", "line": a.line, "message": _msg(ctx)}
} if doc.kind == "dockerfile"

_msg(ctx) := concat("", [
	"no problem-determination settings (", text.str(concat(", ", array.slice(ctx.config.diagnostic_flags, 0, 3))),
	") in the process, NODE_OPTIONS or the package.json start script",
])

# The process words, NODE_OPTIONS and the start script (doc.analysis.process) searched once.
_has_diagnostics(a, ctx) if {
	joined := concat(" ", [a.text, _node_options(a), _script_words(a, ctx)])
	_may_name_a_flag(joined, ctx.config.diagnostic_flags)
	regex.match(concat("", ["(^|\\s)(", concat("|", ctx.config.diagnostic_flags), ")"]), joined)
}

_node_options(a) := concat(" ", a.node_options.words) if a.node_options != null

else := ""

_script_words(a, ctx) := concat(" ", s.words) if {
	s := process.view(a, ctx.config.init_processes).script
	s != null
}

else := ""

# Compiling the flags' pattern costs more than the rest of the rule (the engines compile it for
# every document), so it is only matched when it can match: when a flag is in the text. Without
# the pattern that is known for the bundle's own flags, which are plain text (letters, digits, -
# and =) starting with -- (tested in nra006_test): configured flags of one's own always go through
# it. One `contains` for -- first: a text without any -- option skips the loop over the flags
# (two builtin calls a flag; regopy pays for each call). Words, not true: rego-cpp does not read
# `else if` (what opa fmt makes of `else := true if`).
# regal ignore:external-reference
_may_name_a_flag(joined, flags) := "configured flags" if flags != data.refarch.config.diagnostic_flags

else := "a flag in the text" if {
	contains(joined, "--")
	some f in flags
	is_string(f)
	contains(joined, f)
}
