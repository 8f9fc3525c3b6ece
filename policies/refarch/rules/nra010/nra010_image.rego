# Image and container bodies of NRA010 (package METADATA: nra010.rego): the program
# the image or container runs (behind init, docker-entrypoint.sh and sh -c) is npm,
# yarn or pnpm, or a shell command starts the app through one of them.
package refarch.rules.nra010

import data.refarch.lib.imagefacts

# image_findings(doc, ctx) for images and containers.
# regal ignore:argument-always-wildcard
image_findings(doc, _) := fs if {
	doc.kind in {"image", "container"}
	fs := _img_direct(doc) | _img_in_shell(doc)
}

_img_direct(doc) := {_img_f(msg) |
	cmd := imagefacts.program_argv(doc)
	count(cmd) > 0
	imagefacts.prog_name(cmd[0]) in imagefacts.pm_programs
	msg := concat("", [
		imagefacts.subject(doc), " starts the application with `", concat(" ", array.slice(cmd, 0, 3)),
		"`: the package manager stays PID 1 (or its parent) and does not pass SIGTERM on; run node directly",
	])
}

# `cd /app && npm start` and similar shell commands.
_img_in_shell(doc) := {_img_f(msg) |
	t := imagefacts.program_words(doc)

	# `some i, w in` is not used inside comprehensions: rego-cpp 1.5 cannot parse it there
	some i
	w := t[i] # regal ignore:prefer-some-in-iteration
	i > 0
	imagefacts.prog_name(w) in imagefacts.pm_programs
	j := i + 1
	t[j] in imagefacts.start_words
	msg := concat("", [
		imagefacts.subject(doc), " runs `", w, " ", t[j], "` in a shell command; run node directly",
	])
}

_img_f(msg) := {"rule_id": "NRA010", "line": null, "message": msg}
