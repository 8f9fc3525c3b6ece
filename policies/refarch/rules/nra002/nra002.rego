# METADATA
# title: Avoid privileged ports
# description: |
#   Ports below 1024 need privileges that a non-root process does not have. Every
#   EXPOSE of the final image (ranges and protocols included) and the PORT
#   environment variable must be at or above the port port_floor. Port 22 (SSH, Trivy
#   DS-0004) is always reported: an SSH daemon does not belong in an application
#   container, whatever the port_floor.
# related_resources:
#   - ref: https://nodeshift.dev/nodejs-reference-architecture/development/building-good-containers/#avoid-using-trusted-ports
#     description: Avoid using trusted ports
# custom:
#   id: NRA002
#   severity: medium
#   recommended_action: >-
#     Listen on a port of 1024 or above (for example 8080) and map it to 80/443 outside the
#     container.
#   fix: remap_privileged_ports
#   aliases: [DS-0004]
#   category: security
#   advisory: false
#   scope: neutral
package refarch.rules.nra002

import data.refarch.lib.text

import data.refarch.lib.ports

# findings(doc, ctx) for Dockerfiles.
findings(doc, ctx) := (_exposed(doc, ctx) | _unresolved(doc)) | (_env(doc, ctx) | _forbidden(doc, ctx)) if {
	doc.kind == "dockerfile"
}

# Images and containers: the bodies are in the _image.rego file of this package, under
# their own name (one function defined across two files trips up some Rego engines), as the
# else of the Dockerfile body (rego-cpp would test every body of every document).
else := image_findings(doc, ctx) if doc.kind != "dockerfile"

_exposed(doc, ctx) := {_f(p.line, msg) |
	port_floor := ctx.config.port_floor
	some p in ports.below_floor(doc.final_stage, port_floor)
	msg := concat("", [
		"EXPOSE ", text.str(ports.label(p)), " at line ", text.str(p.line), ": port ", text.str(p.port),
		" is below ", text.str(port_floor), ", which a non-root process cannot bind", text.str(_ssh_note(p, ctx)),
	])
}

_ssh_note(p, ctx) := "; port 22 is SSH, which does not belong in an application container" if {
	some n in ctx.config.forbidden_ports
	p.port <= n
	n <= p.end_port
}

else := ""

# Forbidden ports (22) that are at or above a lowered port_floor.
_forbidden(doc, ctx) := {_f(p.line, msg) |
	port_floor := ctx.config.port_floor
	some pair in ports.covering(doc.final_stage, ctx.config.forbidden_ports)
	p := pair[0]
	p.port >= port_floor
	msg := concat("", [
		"EXPOSE ", text.str(ports.label(p)), " at line ", text.str(p.line), ": port ", text.str(pair[1]),
		" (SSH) should not be exposed by an application container",
	])
}

_unresolved(doc) := {_f(p.line, msg) |
	some p in ports.unresolved(doc.final_stage)
	msg := concat("", [
		"EXPOSE ", text.str(object.get(p, "raw", "?")), " at line ", text.str(p.line),
		" could not be resolved to a port number, so it cannot be shown to be unprivileged",
	])
}

_env(doc, ctx) := {_f(e[2], msg) |
	port_floor := ctx.config.port_floor
	some e in ports.env_ports(doc.final_stage, ctx.config.port_env_vars)
	e[1] < port_floor
	msg := concat("", [
		"ENV ", text.str(e[0]), "=", text.str(e[1]), " (line ", text.str(e[2]),
		"): the application is told to listen on a port below ", text.str(port_floor),
		", which a non-root process cannot bind",
	])
}

_f(line, msg) := {"rule_id": "NRA002", "line": line, "message": msg}
