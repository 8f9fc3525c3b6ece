# METADATA
# title: Set the heap limit from an environment variable
# description: |
#   The Node.js heap default does not follow the container's memory limit. Set
#   --max-old-space-size from an environment variable so it can match the memory
#   given to the container: in NODE_OPTIONS, in a CMD/ENTRYPOINT that goes through
#   a shell ($VAR is not expanded in exec form), or in the package.json script
#   the process runs.
# related_resources:
#   - ref: https://nodeshift.dev/nodejs-reference-architecture/development/building-good-containers/#setting-memory-limits
#     description: setting memory limits
# custom:
#   id: NRA009
#   severity: low
#   recommended_action: >-
#     Set ENV NODE_OPTIONS="--max-old-space-size=<MiB>" and override it at run time, or start node
#     with --max-old-space-size=$MAX_NODE_MEMORY from a shell.
#   fix: set_heap_limit
#   aliases: []
#   category: resources
#   advisory: false
package refarch.rules.nra009

import data.refarch.lib.text

import data.refarch.lib.facts
import data.refarch.lib.process

_flag := `--max[-_]old[-_]space[-_]size`

_from_var := `--max[-_]old[-_]space[-_]size[= ]?\$\{?[A-Za-z_]`

# findings(doc, ctx) for Dockerfiles.
findings(doc, ctx) := {f |
	doc.final_stage != null
	v := _view(doc, ctx)
	not _bound(v)
	f := {"rule_id": "NRA009", "line": v.line, "message": _message(v)}
} if doc.kind == "dockerfile"

# Everything the rule looks at, computed once (rego-cpp does not memoize function calls).
_view(doc, ctx) := {
	"line": _line(doc),
	"options": _node_options(doc),
	"process": concat(" ", process.tokens(doc)),
	"script": _script_text(doc, ctx),
	"shell": _through_shell(doc),
}

_line(doc) := doc.final_stage.process.line if is_number(doc.final_stage.process.line)

else := facts.final_from_line(doc)

_node_options(doc) := doc.final_stage.env.NODE_OPTIONS.value if is_string(doc.final_stage.env.NODE_OPTIONS.value)

else := ""

_script_text(doc, ctx) := s[1] if s := process.script(doc, process.command(doc, ctx.config.init_processes))

else := ""

_through_shell(doc) if process.through_shell(doc)

else := false

# Bound to an environment variable: NODE_OPTIONS, a shell-expanded CMD/ENTRYPOINT, or the start script.
_bound(v) if regex.match(_flag, v.options)

_bound(v) if {
	v.shell
	regex.match(_from_var, v.process)
}

_bound(v) if regex.match(_from_var, v.script)

_bound(v) if regex.match(`NODE_OPTIONS=\S*\$`, v.script)

_message(v) := msg if {
	not v.shell
	regex.match(_from_var, v.process)
	msg := concat("", [
		"--max-old-space-size refers to an environment variable in the exec-form command (line ",
		text.str(v.line), "), where $VARIABLES are not expanded",
	])
}

else := msg if {
	regex.match(_flag, v.process)
	msg := concat("", [
		"--max-old-space-size is hard-coded in the command (line ", text.str(v.line),
		"); take it from an environment variable so it can match the container's memory limit",
	])
}

else := msg if {
	regex.match(_flag, v.script)
	msg := concat("", [
		"--max-old-space-size is hard-coded in the package.json script the process runs; ",
		"take it from an environment variable",
	])
}

else := concat("", [
	"no --max-old-space-size set from an environment variable ",
	"(NODE_OPTIONS, CMD/ENTRYPOINT or the package.json start script): ",
	"the heap limit will not follow the container's memory limit",
])
