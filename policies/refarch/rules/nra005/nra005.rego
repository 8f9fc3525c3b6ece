# METADATA
# title: Install dependencies before copying the source
# description: |
#   In any stage that installs dependencies, package.json and the lockfile should
#   be copied and the dependencies installed before the rest of the source is
#   copied (COPY . .), so the dependency layer is reused when only the source
#   changes. An install after the copy is accepted when the dependencies were
#   prepared before it from the manifests alone (pnpm fetch after copying the
#   lockfile, or an install whose manifests come in through
#   RUN --mount=type=bind,source=package.json), in that stage or one it is built
#   FROM.
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
#   scope: node
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
	not _cached_before(c)
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

# The documented cached-dependency patterns: before the copy, in this stage or one it is built FROM,
# the dependencies were fetched from the lockfile alone (pnpm fetch) or installed from bind-mounted
# manifests (RUN --mount=type=bind,source=package.json ...): that layer is reused when only the source
# changes, and the install after the copy works from it (c.cached_dependencies, read on the host).
_cached_before(c) if count(object.get(c, "cached_dependencies", [])) > 0
