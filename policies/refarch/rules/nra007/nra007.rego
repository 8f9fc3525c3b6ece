# METADATA
# title: Run an init process as PID 1
# description: |
#   Node.js and npm do not expect to run as PID 1 (zombie reaping, signal
#   defaults). The process should start under tini, dumb-init or a similar init,
#   or the image should document that it must be run with `--init` (a LABEL
#   refarch.init=docker-init, or a waiver pragma).
# related_resources:
#   - ref: https://nodeshift.dev/nodejs-reference-architecture/development/building-good-containers/#use-a-process-manager
#     description: Use a process manager
# custom:
#   id: NRA007
#   severity: medium
#   recommended_action: >-
#     Install tini (or dumb-init) and use ENTRYPOINT ["tini", "--"], or document that the container
#     is run with --init (LABEL refarch.init="docker-init").
#   fix: add_init_process
#   aliases: []
#   category: reliability
#   advisory: false
#   scope: neutral
package refarch.rules.nra007

import data.refarch.lib.text

import data.refarch.lib.facts
import data.refarch.lib.process

# findings(doc, ctx) for Dockerfiles.
findings(doc, ctx) := {f |
	doc.final_stage != null
	not process.init_wrapper(doc, ctx.config.init_processes)
	not _documented(doc, ctx)
	some f in _finding(doc)
} if doc.kind == "dockerfile"

# Images and containers: the bodies are in the _image.rego file of this package, under
# their own name (one function defined across two files trips up some Rego engines), as the
# else of the Dockerfile body (rego-cpp would test every body of every document).
else := image_findings(doc, ctx) if doc.kind != "dockerfile"

_finding(doc) := {_f(line, msg)} if {
	p := process.entry(doc)
	line := _pid1_line(doc, p)
	msg := concat("", [
		"PID 1 is ", text.str(_first(p)), " (line ", text.str(line),
		"), not an init process: run it under tini or dumb-init, or document that the container runs with --init",
	])
}

else := {_f(facts.final_from_line(doc), msg)} if {
	msg := "the final stage has no ENTRYPOINT or CMD: the base image's command runs as PID 1 without an init process"
}

# The instruction that sets PID 1: the ENTRYPOINT when there is one, else the CMD (the host's reading;
# facts without it give the process line).
_pid1_line(doc, p) := object.get(doc, ["analysis", "process", "pid1_line"], p.line)

_first(p) := concat("", ["`", text.str(p.argv[0]), "`"]) if count(p.argv) > 0

else := "an empty command"

# LABEL <one of init_labels>=... in the final stage or a stage it is built FROM.
_documented(doc, ctx) if {
	some key in doc.analysis.labels
	key in ctx.config.init_labels
}

_f(line, msg) := {"rule_id": "NRA007", "line": line, "message": msg}
