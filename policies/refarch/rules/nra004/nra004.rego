# METADATA
# title: Use a .dockerignore file
# description: |
#   A .dockerignore beside the build context keeps node_modules, .git and .cache
#   out of the context that COPY sends to the builder. Patterns are evaluated the
#   way Docker does: `**/node_modules`, `node_modules/`, `/node_modules` and
#   `.git*` all count, and a later `!` re-include undoes an exclusion.
# related_resources:
#   - ref: https://nodeshift.dev/nodejs-reference-architecture/development/building-good-containers/#using-dockerignore
#     description: using .dockerignore
# custom:
#   id: NRA004
#   severity: low
#   recommended_action: >-
#     Add a .dockerignore next to the Dockerfile that excludes at least node_modules, .git and
#     .cache.
#   fix: write_dockerignore
#   aliases: []
#   category: build
#   advisory: false
#   scope: node
package refarch.rules.nra004

import data.refarch.lib.text

import data.refarch.lib.dockerignore

# findings(doc, ctx) for Dockerfiles.
findings(doc, ctx) := _check(doc, ctx) if doc.kind == "dockerfile"

_di(doc) := object.get(doc, "dockerignore", {})

_check(doc, _) := {_f(null, msg)} if {
	_di(doc).exists != true
	object.get(_di(doc), "error", null) == null
	msg := concat("", [
		"no .dockerignore in the build context ", text.str(doc.context),
		": node_modules, .git and .cache are sent to the builder",
	])
}

_check(doc, _) := {_f(null, msg)} if {
	e := object.get(_di(doc), "error", null)
	e != null
	msg := concat("", [
		".dockerignore ", text.str(object.get(_di(doc), "path", "?")), " could not be read (",
		text.str(object.get(e, "message", e)), "), so it cannot be shown to exclude node_modules, .git and .cache",
	])
}

_check(doc, ctx) := _missing(doc, _di(doc), ctx) if {
	_di(doc).exists == true
	object.get(_di(doc), "error", null) == null
}

# Coverage comes from the host (doc.analysis.dockerignore) for the paths it reports;
# other required paths are matched here.
_missing(doc, di, ctx) := {_f(null, msg) |
	some path in ctx.config.dockerignore_required
	not _excluded(doc, di, path)
	msg := _missing_msg(di, _reincluding(doc, di, path), path)
}

_excluded(doc, _, path) if doc.analysis.dockerignore[path].excluded

_excluded(doc, di, path) if {
	not doc.analysis.dockerignore[path]
	dockerignore.excluded(object.get(di, "patterns", []), path)
}

_reincluding(doc, di, path) := r if r := doc.analysis.dockerignore[path].reincluded_by

else := dockerignore.reincluding(object.get(di, "patterns", []), path)

_missing_msg(di, again, path) := concat("", [di.path, " excludes ", path, " but re-includes it with !", again[0]]) if {
	count(again) > 0
}

else := concat("", [di.path, " does not exclude ", path])

_f(line, msg) := {"rule_id": "NRA004", "line": line, "message": msg}
