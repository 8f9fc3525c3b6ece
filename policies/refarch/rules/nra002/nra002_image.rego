# Image and container bodies of NRA002 (package METADATA: nra002.rego): exposed ports
# below port_floor, port 22, exposed ports that are not port numbers, and PORT-like
# environment variables below the port_floor. A container's exposed ports are what its
# process binds inside the container, whatever host port they are published on.
package refarch.rules.nra002

import data.refarch.lib.imagefacts
import data.refarch.lib.text

# image_findings(doc, ctx) for images and containers.
image_findings(doc, ctx) := fs if {
	doc.kind in {"image", "container"}
	fs := (_img_low(doc, ctx) | _img_ssh(doc, ctx)) | (_img_unreadable(doc) | _img_env(doc, ctx))
}

_img_low(doc, ctx) := {_img_f(msg) |
	port_floor := ctx.config.port_floor
	some p in imagefacts.low_ports(doc, port_floor)
	msg := concat("", [
		imagefacts.subject(doc), " exposes ", imagefacts.port_label(p), ": port ", text.str(p.port),
		" is below ", text.str(port_floor), ", which a non-root process cannot bind", _img_ssh_note(p, ctx),
	])
}

_img_ssh_note(p, ctx) := "; port 22 is SSH, which does not belong in an application container" if {
	some n in ctx.config.forbidden_ports
	p.port <= n
	n <= object.get(p, "end_port", p.port)
}

else := ""

_img_ssh(doc, ctx) := {_img_f(msg) |
	some pair in imagefacts.forbidden_ports(doc, ctx.config.forbidden_ports)
	pair[0].port >= ctx.config.port_floor
	msg := concat("", [
		imagefacts.subject(doc), " exposes ", imagefacts.port_label(pair[0]), ": port ", text.str(pair[1]),
		" (SSH) should not be exposed by an application container",
	])
}

_img_unreadable(doc) := {_img_f(msg) |
	some p in imagefacts.unresolved_ports(doc)
	msg := concat("", [
		imagefacts.subject(doc), " exposes ", text.str(object.get(p, "raw", "?")),
		", which is not a port number, so it cannot be shown to be unprivileged",
	])
}

_img_env(doc, ctx) := {_img_f(msg) |
	port_floor := ctx.config.port_floor
	some e in imagefacts.env_port_numbers(doc, ctx.config.port_env_vars)
	e[1] < port_floor
	msg := concat("", [
		imagefacts.subject(doc), " sets ", e[0], "=", text.str(e[1]),
		": the application is told to listen on a port below ", text.str(port_floor),
		", which a non-root process cannot bind",
	])
}

_img_f(msg) := {"rule_id": "NRA002", "line": null, "message": msg}
