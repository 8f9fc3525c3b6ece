# METADATA
# title: Pin the base image
# description: |
#   Every FROM that pulls an external image must name a version tag or a digest,
#   after ARG resolution. Floating tags do not pin: latest, current, lts, and tags
#   that name only a variant or a distribution (alpine, slim, lts-alpine,
#   bookworm-slim); a tag pins when one of its dash-separated words starts with a
#   version number, or, on node images, is a Node.js release codename (iron,
#   jod). FROM scratch and FROM an earlier stage are not pulls and are not
#   checked; a FROM whose ARG cannot be resolved is reported because its tag
#   cannot be verified.
# related_resources:
#   - ref: https://nodeshift.dev/nodejs-reference-architecture/functional-components/nodejs-versions-images/#container-images
#     description: Node.js Versions and Container Images, Container images
# custom:
#   id: NRA014
#   severity: medium
#   recommended_action: >-
#     Pin each FROM to a version tag (for example node:22.11.0-bookworm-slim) or a digest
#     (@sha256:...).
#   fix: replace_base_image
#   aliases: [DS-0001, DL3006, DL3007]
#   category: supply-chain
#   advisory: false
#   scope: neutral
package refarch.rules.nra014

import data.refarch.lib.text

import data.refarch.lib.image
import data.refarch.lib.stages

# findings(doc, ctx) for Dockerfiles.
findings(doc, ctx) := {f |
	some s in stages.external(doc)
	msg := _check(s.base, s.line, ctx.config)
	f := {"rule_id": "NRA014", "line": s.line, "message": msg}
} if doc.kind == "dockerfile"

# Images and containers: the bodies are in the _image.rego file of this package, under
# their own name (one function defined across two files trips up some Rego engines), as the
# else of the Dockerfile body (rego-cpp would test every body of every document).
else := image_findings(doc, ctx) if doc.kind != "dockerfile"

_check(ref, line, settings) := msg if {
	ref.unresolved == true
	msg := concat("", [
		"FROM ", text.str(ref.raw), " at line ", text.str(line),
		" could not be resolved (an ARG without a value), so its tag cannot be verified",
	])
}

else := msg if {
	ref.scratch != true
	ref.digest == null
	ref.tag == null
	msg := concat("", [
		"FROM ", text.str(image.display(ref)), " at line ", text.str(line),
		" has no tag, so it pulls latest; pin a version tag or a digest",
	])
}

else := msg if {
	ref.scratch != true
	ref.digest == null
	why := image.floating_tag_reason(ref.repository, ref.tag, settings.unpinned_tags)
	msg := concat("", [
		"FROM ", text.str(image.display(ref)), " at line ", text.str(line), " uses the floating tag ",
		text.str(ref.tag), " (", why, "), so the same FROM pulls a different image over time; ",
		"pin a version tag or a digest",
	])
}
