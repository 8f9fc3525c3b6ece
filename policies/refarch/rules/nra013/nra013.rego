# METADATA
# title: Use an LTS Node.js line that is not end-of-life
# description: |
#   Production images should run an LTS release line of Node.js that is still
#   supported on the evaluation date. The line is read from the runtime base image
#   (tags such as 22, 22.11.0-bookworm-slim, lts, jod, or UBI nodejs-22) and checked
#   against the release schedule in data (node_releases: release, LTS start and
#   end-of-life dates). Images that do not carry Node.js are left to NRA012.
#
#   The release table is data, dated node_releases_date, with each line's newest
#   release (latest_version); the base-image fix reads the same table (generated
#   into module_utils by tools/gen_node_releases.py). The fix keeps the pin's
#   precision and variant, moves to the newest LTS line (or refarch_node_line) and
#   crosses at most one LTS line or changes the C library (Alpine to Debian) only
#   when refarch_base_image_allow says so; otherwise it is partly applied with the
#   reason.
# related_resources:
#   - ref: https://nodeshift.dev/nodejs-reference-architecture/functional-components/nodejs-versions-images/
#     description: Node.js Versions and Container Images
#   - ref: https://github.com/nodejs/Release#release-schedule
#     description: Node.js release schedule
# custom:
#   id: NRA013
#   severity: high
#   recommended_action: Move to a supported LTS line (check the release schedule) and pin the image tag to it.
#   fix: replace_base_image
#   aliases: []
#   category: supply-chain
#   advisory: false
#   scope: node
package refarch.rules.nra013

import data.refarch.lib.image

# findings(doc, ctx) for Dockerfiles.
findings(doc, ctx) := {f |
	doc.final_stage != null
	ref := doc.final_stage.root_base
	ref.unresolved != true
	b := doc.analysis.base
	b.node_image
	msg := _check(b, ref, ctx)
	f := {"rule_id": "NRA013", "line": b.line, "message": msg}
} if doc.kind == "dockerfile"

# Images and containers: the bodies are in the _image.rego file of this package, under
# their own name (one function defined across two files trips up some Rego engines), as the
# else of the Dockerfile body (rego-cpp would test every body of every document).
else := image_findings(doc, ctx) if doc.kind != "dockerfile"

_check(b, ref, _) := concat("", [
	"the Node.js version of the runtime base image ", image.display(ref),
	" cannot be determined from its tag",
]) if {
	not image.node_line(b)
}

_check(b, ref, ctx) := msg if {
	line := image.node_line(b)
	msg := _check_known(line, object.get(ctx.config.node_releases, line, null), ref, ctx)
}

_check_known(line, null, ref, ctx) := concat("", [
	"Node.js ", line, " (", image.display(ref), ") is not a known release line", table_dated(ctx),
])

_check_known(line, r, ref, ctx) := _check_line(line, r, ref, ctx.date) if r != null

_check_line(line, r, ref, date) := concat("", [
	"Node.js ", line, " (", image.display(ref), ") reached end-of-life on ", r.eol,
	" (evaluated on ", date, ")",
]) if {
	r.eol < date
}

else := concat("", ["Node.js ", line, " (", image.display(ref), ") is not an LTS release line"]) if {
	r.lts_start == null
}

else := concat("", [
	"Node.js ", line, " (", image.display(ref), ") is not LTS yet on ", date,
	" (LTS from ", r.lts_start, ")",
]) if {
	date < r.lts_start
}
