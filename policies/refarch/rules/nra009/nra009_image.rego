# Image and container bodies of NRA009 (package METADATA: nra009.rego).
# Image: Node.js runs with no --max-old-space-size (command or NODE_OPTIONS), or with
# one that names a variable nothing expands. A value fixed in the image is accepted
# here; the Dockerfile body asks for it to come from an environment variable.
# Container: the same, plus a heap limit above heap_memory_ratio (config, default
# 0.75) of the container's memory limit: V8 then grows past what the cgroup allows
# and the kernel kills the process instead of node reporting heap exhaustion.
package refarch.rules.nra009

import data.refarch.lib.imagefacts
import data.refarch.lib.text

# image_findings(doc, ctx) for images and containers.
image_findings(doc, ctx) := fs if {
	doc.kind in {"image", "container"}
	fs := {_img_f(msg) |
		imagefacts.runs_node(doc)
		some msg in _img_messages(doc, ctx)
	}
}

_img_messages(doc, ctx) := {concat("", [
	imagefacts.subject(doc), " runs node with no --max-old-space-size (in the command or NODE_OPTIONS): ",
	"the heap limit does not follow the container's memory limit",
])} if {
	doc.heap_limit.source == null
}

else := {concat("", [
	imagefacts.subject(doc), " sets --max-old-space-size from $", doc.heap_limit.from_env, " in ",
	_img_where(doc), ", where no shell expands it, so node does not get a number",
])} if {
	imagefacts.heap_unexpanded(doc)
}

else := {msg |
	doc.kind == "container"
	heap := imagefacts.heap_mb(doc)
	limit := doc.memory_limit
	is_number(limit)
	limit > 0
	ratio := object.get(ctx.config, "heap_memory_ratio", 0.75)
	heap * 1048576 > ratio * limit
	msg := concat("", [
		imagefacts.subject(doc), " sets --max-old-space-size=", text.str(heap), " MiB, ",
		text.str(round((heap * 104857600) / limit)), "% of its memory limit of ",
		text.str(round((limit / 1048576) * 100) / 100), " MiB (more than heap_memory_ratio ",
		text.str(ratio), "): leave room for the rest of the process or raise the limit",
	])
}

_img_where(doc) := "NODE_OPTIONS" if doc.heap_limit.source == "NODE_OPTIONS"

else := "an exec-form command"

_img_f(msg) := {"rule_id": "NRA009", "line": null, "message": msg}
