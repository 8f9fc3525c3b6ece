# METADATA
# title: Facts could not be evaluated
# description: |
#   A document that could not be read or parsed, that has no FROM, that is not a
#   facts document this bundle understands, or whose parse problems hide
#   instructions, is never reported as compliant: it gets this finding instead.
# related_resources:
#   - ref: https://nodeshift.dev/nodejs-reference-architecture/development/building-good-containers/
#     description: Node.js reference architecture, Building Good Containers
# custom:
#   id: NRA000
#   severity: high
#   recommended_action: Fix the file so that it can be read and parsed (see the message), then scan it again.
#   fix: manual
#   aliases: []
#   category: evaluation
#   advisory: false
#   scope: neutral
package refarch.rules.nra000

import data.refarch.lib.text

import data.refarch.lib.facts

# findings(doc, ctx): any kind of document.
findings(doc, ctx) := _fatal(doc) | _problems(doc, ctx)

_fatal(doc) := {_f(null, msg) | some msg in facts.fatal_reasons(doc)}

# Problems first: most documents have none, so the fatal check is rarely reached.
_problems(doc, ctx) := {_f(p.line, msg) |
	some p in facts.blocking_problems(doc, ctx.config.undecidable_problems)
	count(facts.fatal_reasons(doc)) == 0
	msg := concat("", [
		"parse problem ", text.str(p.code), " at line ", text.str(p.line), " (",
		text.str(object.get(p, "message", "")),
		"): instructions may be missing, so the other rules could not be fully evaluated",
	])
}

_f(line, msg) := {"rule_id": "NRA000", "line": line, "message": msg}
