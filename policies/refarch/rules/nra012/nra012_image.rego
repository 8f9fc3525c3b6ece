# Image and container bodies of NRA012 (package METADATA: nra012.rego).
# The base image comes from the OCI base annotation or label
# (org.opencontainers.image.base.name, which podman and buildah write), from the
# image's own reference when it is itself a Node.js base image, from the Red Hat
# `name` label of UBI/RHEL Node.js images, or for a container from the image it
# was started from. When none of these tells the base, the rule stays silent for
# the image: the Dockerfile it was built from (when scanned) carries the check.
# Only documents about Node.js (it runs, or a Node.js version is known) are checked.
package refarch.rules.nra012

import data.refarch.lib.imagefacts
import data.refarch.lib.text

# image_findings(doc, ctx) for images and containers.
image_findings(doc, ctx) := fs if {
	doc.kind in {"image", "container"}
	fs := {_img_f(msg) |
		imagefacts.is_node(doc)
		b := imagefacts.base(doc)
		msg := _img_check(doc, b, ctx.config)
	}
}

_img_check(doc, b, settings) := concat("", [
	_img_what(doc, b), ", from registry ", text.str(b.ref.registry), ", which is not in allowed_registries",
]) if {
	count(settings.allowed_registries) > 0
	not b.ref.registry in settings.allowed_registries
}

else := concat("", [
	_img_what(doc, b), ", an Alpine variant of the official node image; ",
	"use a Debian-based (e.g. -bookworm-slim) or UBI Node.js image",
]) if {
	count(imagefacts.families(b.ref, settings.recommended_families)) == 0
	imagefacts.official_node_ref(b.ref)
	contains(text.str(b.ref.tag), "alpine")
}

else := concat("", [
	_img_what(doc, b), ", which is not a recommended Node.js image (official node without Alpine, ",
	"or UBI/RHEL Node.js)",
]) if {
	count(imagefacts.families(b.ref, settings.recommended_families)) == 0
}

_img_what(doc, b) := concat("", [imagefacts.subject(doc), " ", b.how, " ", imagefacts.ref_display(b.ref)]) if {
	b.how != "labelled"
}

else := concat("", [imagefacts.subject(doc), " is labelled as ", imagefacts.ref_display(b.ref)])

_img_f(msg) := {"rule_id": "NRA012", "line": null, "message": msg}
