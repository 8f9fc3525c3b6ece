# Image and container bodies of NRA011 (package METADATA: nra011.rego): Node.js is
# started through `sh -c` (a shell-form ENTRYPOINT/CMD, or an explicit shell in the
# argv), so the shell is PID 1 or node's parent and SIGTERM does not reach node,
# unless the command is a single `exec ...`.
package refarch.rules.nra011

import data.refarch.lib.imagefacts
import data.refarch.lib.text

# image_findings(doc, ctx) for images and containers.
# regal ignore:argument-always-wildcard
image_findings(doc, _) := fs if {
	doc.kind in {"image", "container"}
	fs := {_img_f(msg) |
		imagefacts.runs_node(doc)
		p := imagefacts.process(doc)
		p.form == "shell"
		not _img_execs(p.shell_command)
		msg := concat("", [
			imagefacts.subject(doc), " runs `", text.str(p.shell_command), "` through a shell (",
			_img_how(doc), "): the shell does not pass SIGTERM to node; use the exec (JSON array) form",
		])
	}
}

_img_how(doc) := "a shell-form ENTRYPOINT or CMD" if doc.kind == "image"

else := "sh -c in its command"

_img_execs(cmd) if {
	is_string(cmd)
	regex.match(`^\s*exec\s`, cmd)
	not regex.match(`&&|;|\|`, cmd)
}

_img_f(msg) := {"rule_id": "NRA011", "line": null, "message": msg}
