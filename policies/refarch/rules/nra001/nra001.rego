# METADATA
# title: Build non-root containers
# description: |
#   The final image must not run as root. The effective user is the last USER of
#   the final stage, else the USER inherited from the stage it is built FROM, else
#   the base image's default user (official node images run as root, UBI Node.js
#   images as 1001). USER 0, USER root:root and a USER that cannot be resolved
#   (an ARG without a value) are reported. A root user in a build stage is fine.
# related_resources:
#   - ref: https://nodeshift.dev/nodejs-reference-architecture/development/building-good-containers/#build-non-root-containers
#     description: Build non-root containers
# custom:
#   id: NRA001
#   severity: high
#   recommended_action: >-
#     Add a non-root USER (for example `USER node` on official node images, or `USER 1001`) in the
#     final stage, after the steps that need root.
#   fix: add_non_root_user
#   aliases: [DS-0002, DL3002]
#   category: security
#   advisory: false
#   scope: neutral
package refarch.rules.nra001

import data.refarch.lib.text

import data.refarch.lib.image
import data.refarch.lib.user

# findings(doc, ctx) for Dockerfiles.
findings(doc, ctx) := _dockerfile(doc, ctx) if doc.kind == "dockerfile"

# Images and containers: the bodies are in the _image.rego file of this package, under
# their own name (one function defined across two files trips up some Rego engines), as the
# else of the Dockerfile body (rego-cpp would test every body of every document).
else := image_findings(doc, ctx) if doc.kind != "dockerfile"

_dockerfile(doc, ctx) := {f |
	doc.final_stage != null
	u := user.effective(doc, ctx.config)
	some f in _check(doc, ctx, u)
}

_check(doc, _, u) := {_f(u.line, msg)} if {
	u.origin != "base"
	not u.resolved
	msg := concat("", [
		"USER ", text.str(_raw(doc)), " (line ", text.str(u.line),
		") could not be resolved to a user name or id, so the final image cannot be shown to run as a non-root user",
	])
}

_check(doc, _, u) := {_f(u.line, msg)} if {
	u.origin == "instruction"
	u.resolved
	user.is_root(u)
	msg := concat("", ["the final stage runs as root: USER ", text.str(_raw(doc)), " at line ", text.str(u.line)])
}

_check(doc, _, u) := {_f(u.line, msg)} if {
	u.origin == "stage"
	u.resolved
	user.is_root(u)
	msg := concat("", [
		"the final stage runs as root: it inherits USER ", text.str(_raw(doc)), " (line ", text.str(u.line),
		") from the stage it is built FROM",
	])
}

_check(doc, ctx, u) := {_f(u.line, msg)} if {
	u.origin == "base"
	user.is_root(u)
	base := doc.final_stage.root_base
	user.known_base(base, ctx.config)
	msg := concat("", [
		"the final stage sets no USER, so it runs as the base image's default user ", text.str(u.name), " (",
		text.str(image.display(base)), ")",
	])
}

_check(doc, ctx, u) := {_f(u.line, msg)} if {
	u.origin == "base"
	user.is_root(u)
	base := doc.final_stage.root_base
	not user.known_base(base, ctx.config)
	msg := concat("", [
		"the final stage sets no USER and the default user of base image ", text.str(image.display(base)),
		" is not known, so it is assumed to be root",
	])
}

_raw(doc) := object.get(doc.final_stage.user, "raw", null)

_f(line, msg) := {"rule_id": "NRA001", "line": line, "message": msg}
