# METADATA
# title: Keep the image a reasonable size
# description: |
#   Image only: the size of a built image must stay within size_budget_mb. A
#   Dockerfile alone does not tell the size, so Dockerfile documents get no
#   finding from this rule (NRA003 covers the multi-stage advice).
# related_resources:
#   - ref: https://nodeshift.dev/nodejs-reference-architecture/development/building-good-containers/#use-multi-stage-builds
#     description: Use multi-stage builds
# custom:
#   id: NRA015
#   severity: low
#   recommended_action: >-
#     Use a multi-stage build, a slim base image and production-only dependencies; raise
#     size_budget_mb if the size is expected.
#   fix: manual
#   aliases: []
#   category: size
#   advisory: false
#   scope: neutral
package refarch.rules.nra015

import data.refarch.lib.text

# findings(doc, ctx): Dockerfiles carry no size, so there is nothing to report.
findings(doc, _) := set() if doc.kind == "dockerfile"

# findings(doc, ctx) for images: `size` in bytes against size_budget_mb.
findings(doc, ctx) := {f |
	is_number(doc.size)
	budget := ctx.config.size_budget_mb
	doc.size > (budget * 1024) * 1024
	msg := concat("", [
		"the image is ", text.str(round(doc.size / 10485.76) / 100), " MiB, above the size budget of ",
		text.str(budget), " MiB",
	])
	f := {"rule_id": "NRA015", "line": null, "message": msg}
} if doc.kind == "image"
