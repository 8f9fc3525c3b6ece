package refarch.rules.nra012_test

import data.refarch.lib.imagefacts_test as ifx
import data.refarch.rules.nra012

_img_with_base(doc, raw, registry, repository, tag) := object.union(doc, {"base": {"ref": ifx.ref(raw, registry, repository, tag, null)}})

test_img_good_image_and_container if {
	count(nra012.findings(ifx.image, ifx.ctx)) == 0
	count(nra012.findings(ifx.container, ifx.ctx)) == 0
}

test_img_bad_image_alpine_base if {
	doc := _img_with_base(ifx.image, "docker.io/library/node:20-alpine", "docker.io", "library/node", "20-alpine")
	{f.message | some f in nra012.findings(doc, ifx.ctx)} == {"image localhost/app:1 built from docker.io/library/node:20-alpine, an Alpine variant of the official node image; use a Debian-based (e.g. -bookworm-slim) or UBI Node.js image"}
}

test_img_bad_image_other_base if {
	doc := _img_with_base(ifx.image, "docker.io/library/debian:12", "docker.io", "library/debian", "12")
	{f.message | some f in nra012.findings(doc, ifx.ctx)} == {"image localhost/app:1 built from docker.io/library/debian:12, which is not a recommended Node.js image (official node without Alpine, or UBI/RHEL Node.js)"}
}

test_img_bad_registry_not_allowed if {
	ctx := ifx.ctx_with({"allowed_registries": ["registry.example.com"]})
	{f.message | some f in nra012.findings(ifx.image, ctx)} == {"image localhost/app:1 built from docker.io/library/node:22.11.0-bookworm-slim, from registry docker.io, which is not in allowed_registries"}
}

test_img_good_ubi_label if {
	doc := object.union(ifx.image, {"base": null, "labels": {"name": "ubi9/nodejs-20"}})
	count(nra012.findings(doc, ifx.ctx)) == 0
	ctx := ifx.ctx_with({"allowed_registries": ["quay.io"]})
	{f.message | some f in nra012.findings(doc, ctx)} == {"image localhost/app:1 is labelled as ubi9/nodejs-20, from registry registry.access.redhat.com, which is not in allowed_registries"}
}

test_img_good_unknown_base_is_silent if {
	count(nra012.findings(object.union(ifx.image, {"base": null}), ifx.ctx)) == 0
}

test_img_bad_container_started_from_alpine if {
	doc := object.union(ifx.container, {"image_facts": null, "image": "node:22-alpine"})
	{f.message | some f in nra012.findings(doc, ifx.ctx)} == {"container web (node:22-alpine) started from node:22-alpine, an Alpine variant of the official node image; use a Debian-based (e.g. -bookworm-slim) or UBI Node.js image"}
}

test_img_good_not_node if {
	doc := _img_with_base(object.union(ifx.image, {"process": null, "node": {"version": null}}), "nginx", "docker.io", "library/nginx", null)
	count(nra012.findings(doc, ifx.ctx)) == 0
}
