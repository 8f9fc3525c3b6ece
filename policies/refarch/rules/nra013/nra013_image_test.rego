package refarch.rules.nra013_test

import data.refarch.lib.imagefacts_test as ifx
import data.refarch.rules.nra013

_img_version(doc, v) := object.union(doc, {"node": {"version": v}})

_img_msgs(doc, ctx) := {f.message | some f in nra013.findings(doc, ctx)}

test_img_good_image_and_container if {
	count(nra013.findings(ifx.image, ifx.ctx)) == 0
	count(nra013.findings(ifx.container, ifx.ctx)) == 0
}

test_img_bad_image_eol if {
	_img_msgs(_img_version(ifx.image, "20.20.2"), ifx.ctx) == {"image localhost/app:1: Node.js 20.20.2 from env NODE_VERSION reached end-of-life on 2026-04-30 (evaluated on 2026-11-28)"}
	count(nra013.findings(_img_version(ifx.image, "20.20.2"), ifx.ctx_on("2026-01-15"))) == 0
}

test_img_bad_container_odd_line if {
	_img_msgs(_img_version(ifx.container, "25.1.0"), ifx.ctx_on("2026-01-15")) == {"container web (localhost/app:1): Node.js 25.1.0 from env is not an LTS release line"}
}

test_img_bad_not_lts_yet if {
	_img_msgs(_img_version(ifx.image, "26.0.0"), ifx.ctx_on("2026-06-01")) == {"image localhost/app:1: Node.js 26.0.0 from env NODE_VERSION is not LTS yet on 2026-06-01 (LTS from 2026-10-20)"}
}

test_img_bad_unknown_line if {
	_img_msgs(_img_version(ifx.image, "99.0.0"), ifx.ctx) == {"image localhost/app:1: Node.js 99.0.0 from env NODE_VERSION is not a known release line (99) (the release table is dated 2026-12-07)"}
}

test_img_bad_version_unknown if {
	_img_msgs(_img_version(ifx.image, null), ifx.ctx) == {"image localhost/app:1 runs node, but its Node.js version is not known (no NODE_VERSION env, no version label, no probe result): run image_info with node_version_probe"}
	count(nra013.findings(object.union(_img_version(ifx.image, null), {"process": null}), ifx.ctx)) == 0
}
