# Image and container bodies of NRA014 (package METADATA: nra014.rego).
# Image: the base it was built from (OCI base annotation or label, as podman and
# buildah record it) was named by the latest tag or no tag, and not by digest: a
# rebuild from the same Dockerfile may get another base. (podman records an
# untagged FROM as :latest.)
# Container: it was started from an image reference with the latest tag or no tag
# and no digest, so a restart on another host may run another image. A container
# started by image id is pinned.
package refarch.rules.nra014

import data.refarch.lib.image
import data.refarch.lib.imagefacts

# image_findings(doc, ctx) for images.
image_findings(doc, ctx) := fs if {
	doc.kind == "image"
	fs := {_img_f(msg) |
		is_object(doc.base)
		ref := doc.base.ref
		_img_floating(ref, ctx.config)
		msg := concat("", [
			imagefacts.subject(doc), " was built from ", imagefacts.ref_display(ref), _img_tag_note(ref, ctx.config),
			"; pin the base image to a version tag or a digest",
		])
	}
}

# image_findings(doc, ctx) for containers.
image_findings(doc, ctx) := fs if {
	doc.kind == "container"
	fs := {_img_f(msg) |
		ref := imagefacts.parse_ref(doc.image)
		_img_floating(ref, ctx.config)
		msg := concat("", [
			imagefacts.subject(doc), " was started from ", imagefacts.ref_display(ref), _img_tag_note(ref, ctx.config),
			"; run a version tag or a digest",
		])
	}
}

_img_floating(ref, _) if {
	ref.digest == null
	ref.tag == null
}

_img_floating(ref, settings) if {
	ref.digest == null
	image.floating_tag_reason(ref.repository, ref.tag, settings.unpinned_tags)
}

_img_tag_note(ref, settings) := " (no tag: latest)" if ref.tag == null

else := concat("", [" (the floating tag ", ref.tag, ": ", why, ")"]) if {
	why := image.floating_tag_reason(ref.repository, ref.tag, settings.unpinned_tags)
}

else := concat("", [" (the ", ref.tag, " tag)"])

_img_f(msg) := {"rule_id": "NRA014", "line": null, "message": msg}
