# Image and container bodies of NRA001 (package METADATA: nra001.rego).
# A container that runs privileged is reported here too: --privileged gives the process
# every capability and the host's devices, which defeats running as a non-root user.
package refarch.rules.nra001

import data.refarch.lib.imagefacts
import data.refarch.lib.text

# image_findings(doc, ctx) for images: the config user (the schema makes `user` always present;
# a document without it is not evaluated here).
# regal ignore:argument-always-wildcard
image_findings(doc, _) := fs if {
	doc.kind == "image"
	is_object(doc.user)
	fs := _img_user(doc)
}

# image_findings(doc, ctx) for containers: the user it runs as, and privileged mode.
# regal ignore:argument-always-wildcard
image_findings(doc, _) := fs if {
	doc.kind == "container"
	is_object(doc.user)
	fs := _img_user(doc) | _img_privileged(doc)
}

_img_user(doc) := {_img_f(msg) |
	doc.user.is_root == true
	msg := _img_root_msg(doc)
}

_img_root_msg(doc) := concat("", [
	imagefacts.subject(doc), " sets no user, so it runs as root (the engine default); ",
	"set a non-root USER in the image",
]) if doc.user.source == "default"

else := concat("", [imagefacts.subject(doc), " runs as root (user `", text.str(doc.user.raw), "`)"])

_img_privileged(doc) := {_img_f(msg) |
	doc.privileged == true
	msg := concat("", [
		imagefacts.subject(doc), " runs privileged (--privileged): the process has every capability and ",
		"the host's devices, whatever user it runs as",
	])
}

_img_f(msg) := {"rule_id": "NRA001", "line": null, "message": msg}
