# METADATA
# title: Use a recommended Node.js base image
# description: |
#   The runtime image should start from a maintained Node.js image: the official
#   node images excluding the Alpine (musl, experimental-support) variants, or
#   Red Hat UBI / RHEL Node.js images. The families and the allowed registries
#   are settings (recommended_families, allowed_registries). A final stage built
#   FROM an earlier stage is judged by the external image that chain starts from.
# related_resources:
#   - ref: https://nodeshift.dev/nodejs-reference-architecture/functional-components/nodejs-versions-images/#container-images
#     description: Node.js Versions and Container Images, Container images
# custom:
#   id: NRA012
#   severity: medium
#   recommended_action: >-
#     Build the runtime stage FROM an official non-Alpine node image (for example node:22-bookworm-
#     slim) or a UBI Node.js image (registry.access.redhat.com/ubi9/nodejs-22).
#   fix: replace_base_image
#   aliases: []
#   category: supply-chain
#   advisory: false
#   scope: node
package refarch.rules.nra012

import data.refarch.lib.text

import data.refarch.lib.image

# findings(doc, ctx) for Dockerfiles.
findings(doc, ctx) := {f |
	doc.final_stage != null
	ref := doc.final_stage.root_base
	b := doc.analysis.base
	some f in _check(ref, b, ctx.config)
} if doc.kind == "dockerfile"

# Images and containers: the bodies are in the _image.rego file of this package, under
# their own name (one function defined across two files trips up some Rego engines), as the
# else of the Dockerfile body (rego-cpp would test every body of every document).
else := image_findings(doc, ctx) if doc.kind != "dockerfile"

_f(line, msg) := {"rule_id": "NRA012", "line": line, "message": msg}

_check(ref, b, settings) := {_f(b.line, msg)} if {
	ref.unresolved == true
	msg := concat("", [
		"the runtime base image ", text.str(ref.raw), " (line ", text.str(b.line),
		") could not be resolved, so it cannot be shown to be a recommended Node.js image",
	])
}

else := {_f(b.line, msg)} if {
	ref.scratch == true
	msg := concat("", [
		"the runtime image is built FROM scratch (line ", text.str(b.line), "), not from a recommended Node.js image",
	])
}

else := {_f(b.line, msg)} if {
	count(settings.allowed_registries) > 0
	not ref.registry in settings.allowed_registries
	msg := concat("", [
		"the runtime base image ", text.str(image.display(ref)), " (line ", text.str(b.line),
		") comes from registry ", text.str(ref.registry), ", which is not in allowed_registries",
	])
}

else := {_f(b.line, msg)} if {
	count(image.family(ref, settings.recommended_families)) == 0
	msg := _why(ref, b)
}

else := set()

_why(ref, b) := concat("", [
	"the runtime base image ", text.str(image.display(ref)), " (line ", text.str(b.line),
	") is an Alpine variant of the official node image; use a Debian-based (e.g. -bookworm-slim) or UBI Node.js image",
]) if {
	b.official_node
	b.alpine
}

else := concat("", [
	"the runtime base image ", text.str(image.display(ref)), " (line ", text.str(b.line),
	") is not a recommended Node.js image (official node without Alpine, or UBI/RHEL Node.js)",
])
