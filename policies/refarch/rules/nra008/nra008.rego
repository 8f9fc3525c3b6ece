# METADATA
# title: Manage scaling outside of the container
# description: |
#   Scale with more containers, not inside one: the process must not be a process
#   manager (pm2, pm2-runtime, forever ...) or a cluster-mode entry point, either
#   directly or through the package.json script that npm/yarn start runs.
# related_resources:
#   - ref: https://nodeshift.dev/nodejs-reference-architecture/development/building-good-containers/#manage-scaling-outside-of-the-container
#     description: Manage scaling outside of the container
# custom:
#   id: NRA008
#   severity: medium
#   recommended_action: >-
#     Run a single node process (CMD ["node", "server.js"]) and scale with replicas in the
#     orchestrator.
#   fix: manual
#   aliases: []
#   category: reliability
#   advisory: false
#   scope: node
package refarch.rules.nra008

import data.refarch.lib.text

import data.refarch.lib.process

# findings(doc, ctx) for Dockerfiles.
findings(doc, ctx) := {f |
	p := process.entry(doc)
	a := doc.analysis.process
	some f in (_direct(a, ctx, p) | _script(a, ctx, p))
} if doc.kind == "dockerfile"

# Images and containers: the bodies are in the _image.rego file of this package, under
# their own name (one function defined across two files trips up some Rego engines), as the
# else of the Dockerfile body (rego-cpp would test every body of every document).
else := image_findings(doc, ctx) if doc.kind != "dockerfile"

# A cheap first look at the whole text before examining it word by word: it names one of _hints
# (substring tests rather than a pattern, which the engines would compile for every document).
_hints := ["pm2", "forever", "strong-pm", "slc", "cluster", "ecosystem"]

_mentions_manager(t) if {
	some h in _hints
	contains(t, h)
}

# a: the process as the host read it (doc.analysis.process): its words, and the script it starts.
_direct(a, ctx, p) := {_f(p.line, msg) |
	_mentions_manager(a.text)
	some w in a.tokens
	what := _manager(w, ctx)
	msg := concat("", [
		"the process (line ", text.str(p.line), ") runs ", text.str(what),
		" inside the container; scale with more containers instead",
	])
}

_script(a, ctx, p) := {_f(p.line, msg) |
	s := process.view(a, ctx.config.init_processes).script
	s != null
	_mentions_manager(s.text)
	some w in s.words
	what := _manager(w, ctx)
	msg := concat("", [
		"the process (line ", text.str(p.line), ") runs the package.json script ", text.str(s.name),
		", which starts ", text.str(what), " inside the container; scale with more containers instead",
	])
}

_manager(w, ctx) := concat("", [
	"the process manager ", text.str(process.basename(w)),
]) if process.basename(w) in ctx.config.process_managers

else := concat("", [
	"the cluster-mode entry point ", text.str(w),
]) if {
	regex.match(`^(\./)?([^\s]*/)?(cluster|ecosystem\.config)\.(c|m)?js$`, w)
}

_f(line, msg) := {"rule_id": "NRA008", "line": line, "message": msg}
