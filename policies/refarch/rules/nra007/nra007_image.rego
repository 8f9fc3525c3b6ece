# Image and container bodies of NRA007 (package METADATA: nra007.rego).
# Image: Node.js runs with no init (tini, dumb-init, ...) in front of it, and no label
# (config init_labels) documents that its containers run with --init.
# Container: Node.js runs and neither --init (HostConfig.Init) nor an init in the command
# stands in front of it: what the engine really started decides, labels do not.
package refarch.rules.nra007

import data.refarch.lib.imagefacts
import data.refarch.lib.text

# image_findings(doc, ctx) for images.
image_findings(doc, ctx) := fs if {
	doc.kind == "image"
	fs := {_img_f(msg) |
		imagefacts.runs_node(doc)
		imagefacts.process(doc).init == null
		not imagefacts.init_documented(doc, ctx.config.init_labels)
		msg := concat("", [
			imagefacts.subject(doc), " runs `", imagefacts.argv_text(doc), "` with no init process as PID 1: ",
			"add tini or dumb-init as ENTRYPOINT, or run its containers with --init and label the image ",
			text.str(ctx.config.init_labels[0]),
		])
	}
}

# image_findings(doc, ctx) for containers.
# regal ignore:argument-always-wildcard
image_findings(doc, _) := fs if {
	doc.kind == "container"
	fs := {_img_f(msg) |
		imagefacts.runs_node(doc)
		doc.init.effective != true
		msg := concat("", [
			imagefacts.subject(doc), " runs `", imagefacts.argv_text(doc), "` as PID 1 without --init ",
			"or an init process (tini, dumb-init) in front of node",
		])
	}
}

_img_f(msg) := {"rule_id": "NRA007", "line": null, "message": msg}
