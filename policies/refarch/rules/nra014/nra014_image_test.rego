package refarch.rules.nra014_test

import data.refarch.lib.imagefacts_test as ifx
import data.refarch.rules.nra014

test_img_good_image_and_container if {
	count(nra014.findings(ifx.image, ifx.ctx)) == 0
	count(nra014.findings(ifx.container, ifx.ctx)) == 0
}

test_img_bad_image_latest_base if {
	r := ifx.ref("registry.access.redhat.com/ubi9/nodejs-20:latest", "registry.access.redhat.com", "ubi9/nodejs-20", "latest", null)
	doc := object.union(ifx.image, {"base": {"ref": r}})
	{f.message | some f in nra014.findings(doc, ifx.ctx)} == {"image localhost/app:1 was built from registry.access.redhat.com/ubi9/nodejs-20:latest (the floating tag latest: latest follows every new release); pin the base image to a version tag or a digest"}
}

test_img_good_image_base_by_digest_or_unknown if {
	r := ifx.ref("node@sha256:abc", "docker.io", "library/node", null, "sha256:abc")
	count(nra014.findings(object.union(ifx.image, {"base": {"ref": r}}), ifx.ctx)) == 0
	count(nra014.findings(object.union(ifx.image, {"base": null}), ifx.ctx)) == 0
}

test_img_bad_container_untagged if {
	doc := object.union(ifx.container, {"image": "myorg/app"})
	{f.message | some f in nra014.findings(doc, ifx.ctx)} == {"container web (myorg/app) was started from myorg/app (no tag: latest); run a version tag or a digest"}
}

test_img_good_container_by_id if {
	doc := object.union(ifx.container, {"image": "sha256:1111111111111111111111111111111111111111111111111111111111111111"})
	count(nra014.findings(doc, ifx.ctx)) == 0
}

test_img_bad_container_floating_tag if {
	doc := object.union(ifx.container, {"image": "node:lts-alpine"})
	{f.message | some f in nra014.findings(doc, ifx.ctx)} == {"container web (node:lts-alpine) was started from node:lts-alpine (the floating tag lts-alpine: lts moves to each new LTS release line); run a version tag or a digest"}
}

test_img_good_container_version_tag if {
	doc := object.union(ifx.container, {"image": "node:22-alpine"})
	count(nra014.findings(doc, ifx.ctx)) == 0
}
