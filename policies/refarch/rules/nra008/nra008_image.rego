# Image and container bodies of NRA008 (package METADATA: nra008.rego): a process
# manager (config process_managers: pm2, forever, ...) is the program the image or
# container runs, so scaling and restarts happen inside the container.
package refarch.rules.nra008

import data.refarch.lib.imagefacts

# image_findings(doc, ctx) for images and containers.
image_findings(doc, ctx) := fs if {
	doc.kind in {"image", "container"}
	fs := {_img_f(msg) |
		some w in imagefacts.program_words(doc)
		name := imagefacts.prog_name(w)
		name in ctx.config.process_managers
		msg := concat("", [
			imagefacts.subject(doc), " runs the process manager ", name,
			": run one node process per container and scale with the orchestrator",
		])
	}
}

_img_f(msg) := {"rule_id": "NRA008", "line": null, "message": msg}
