# Image and container bodies of NRA013 (package METADATA: nra013.rego): the Node.js
# version the facts carry (probe, NODE_VERSION/NODEJS_VERSION env, or a version
# label) against the same release table as the Dockerfile body (config
# node_releases) on the evaluation date. A document that runs node but whose
# version is not known is reported too: it cannot be shown to be on an LTS line.
package refarch.rules.nra013

import data.refarch.lib.imagefacts
import data.refarch.lib.text

# image_findings(doc, ctx) for images and containers.
image_findings(doc, ctx) := fs if {
	doc.kind in {"image", "container"}
	fs := _img_unknown(doc) | _img_known(doc, ctx)
}

_img_unknown(doc) := {_img_f(msg) |
	imagefacts.runs_node(doc)
	not imagefacts.release_line(doc)
	msg := concat("", [
		imagefacts.subject(doc), " runs node, but its Node.js version is not known ",
		"(no NODE_VERSION env, no version label, no probe result): run image_info with node_version_probe",
	])
}

_img_known(doc, ctx) := {_img_f(msg) |
	line := imagefacts.release_line(doc)
	msg := _img_line(doc, line, object.get(ctx.config.node_releases, line, null), ctx)
}

_img_line(doc, line, null, ctx) := concat("", [
	_img_what(doc), " is not a known release line (", line, ")", table_dated(ctx),
])

_img_line(doc, _, r, ctx) := concat("", [
	_img_what(doc), " reached end-of-life on ", r.eol, " (evaluated on ", ctx.date, ")",
]) if {
	r != null
	r.eol < ctx.date
}

_img_line(doc, _, r, ctx) := concat("", [_img_what(doc), " is not an LTS release line"]) if {
	r != null
	r.eol >= ctx.date
	r.lts_start == null
}

_img_line(doc, _, r, ctx) := concat("", [
	_img_what(doc), " is not LTS yet on ", ctx.date, " (LTS from ", r.lts_start, ")",
]) if {
	r != null
	r.eol >= ctx.date
	is_string(r.lts_start)
	ctx.date < r.lts_start
}

_img_what(doc) := concat("", [
	imagefacts.subject(doc), ": Node.js ", text.str(doc.node.version), imagefacts.node_source(doc),
])

_img_f(msg) := {"rule_id": "NRA013", "line": null, "message": msg}

# The date of the release table (node_releases_date), for the messages of a line it does not know (also used by
# the Dockerfile body in nra013.rego; defined here so that the two files depend one way, as OPA's push mode
# loads them one at a time).
table_dated(ctx) := concat("", [" (the release table is dated ", ctx.config.node_releases_date, ")"]) if {
	is_string(ctx.config.node_releases_date)
}

else := ""
