# METADATA
# title: Install dependencies before copying the source
# description: |
#   In any stage that installs dependencies, package.json and the lockfile should
#   be copied and the dependencies installed before the rest of the source is
#   copied (COPY . .), so the dependency layer is reused when only the source
#   changes.
# related_resources:
#   - ref: https://nodeshift.dev/nodejs-reference-architecture/development/building-good-containers/#dependency-image
#     description: dependency image
# custom:
#   id: NRA005
#   severity: low
#   recommended_action: >-
#     COPY package.json and the lockfile first, RUN the install, then COPY the remaining source.
#   fix: reorder_dependency_layers
#   aliases: []
#   category: build
#   advisory: false
package refarch.rules.nra005

import data.refarch.lib.num

import data.refarch.lib.text

# findings(doc, ctx) for Dockerfiles (ctx unused here; the signature is the rule interface).
# regal ignore:argument-always-wildcard
findings(doc, _) := {f |
	some c in doc.analysis.context_copies
	some f in _stage(doc, c)
} if doc.kind == "dockerfile"

# c: the first COPY of the whole build context in a stage (doc.analysis.context_copies).
_stage(doc, c) := {_f(c.line, msg) |
	installs := {r.line |
		some r in doc.analysis.runs
		r.stage == c.stage
		r.installs_dependencies
		r.line > c.line
	}
	count(installs) > 0
	msg := concat("", [
		"COPY of the whole build context at line ", text.str(c.line),
		" comes before the dependency install at line ", text.str(num.min_of(installs)),
		", so every source change reinstalls the dependencies",
	])
}

_f(line, msg) := {"rule_id": "NRA005", "line": line, "message": msg}
