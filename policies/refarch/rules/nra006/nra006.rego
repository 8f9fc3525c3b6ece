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
package refarch.rules.nra006

import data.refarch.lib.text

import data.refarch.lib.facts
import data.refarch.lib.process

# findings(doc, ctx) for Dockerfiles.
findings(doc, ctx) := {f |
	doc.final_stage != null
	not _has_diagnostics(doc, ctx)
	f := {"rule_id": "NRA006", "line": _line(doc), "message": _msg(ctx)}
} if doc.kind == "dockerfile"

_msg(ctx) := concat("", [
	"no problem-determination settings (", text.str(concat(", ", array.slice(ctx.config.diagnostic_flags, 0, 3))),
	") in the process, NODE_OPTIONS or the package.json start script",
])

_line(doc) := doc.final_stage.process.line if is_number(doc.final_stage.process.line)

else := facts.final_from_line(doc)

# One regex over the process, NODE_OPTIONS and start-script text (builtin calls are costly in rego-cpp).
_has_diagnostics(doc, ctx) if {
	joined := concat(" ", array.concat(array.concat(process.tokens(doc), _node_options(doc)), _script_words(doc, ctx)))
	regex.match(concat("", ["(^|\\s)(", concat("|", ctx.config.diagnostic_flags), ")"]), joined)
}

_node_options(doc) := process.words(value) if {
	value := doc.final_stage.env.NODE_OPTIONS.value
	is_string(value)
}

else := []

_script_words(doc, ctx) := process.words(s[1]) if {
	s := process.script(doc, process.command(doc, ctx.config.init_processes))
}

else := []
