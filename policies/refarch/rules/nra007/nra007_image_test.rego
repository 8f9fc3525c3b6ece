package refarch.rules.nra007_test

import data.refarch.lib.imagefacts_test as ifx
import data.refarch.rules.nra007

_img_no_init := ifx.proc(["docker-entrypoint.sh", "node", "server.js"], "exec", null, null, ["docker-entrypoint.sh"], ["node", "server.js"])

test_img_good_image_tini if {
	count(nra007.findings(ifx.image, ifx.ctx)) == 0
}

test_img_bad_image_no_init if {
	doc := object.union(ifx.image, {"process": _img_no_init})
	{f.message | some f in nra007.findings(doc, ifx.ctx)} == {"image localhost/app:1 runs `docker-entrypoint.sh node server.js` with no init process as PID 1: add tini or dumb-init as ENTRYPOINT, or run its containers with --init and label the image refarch.init"}
}

test_img_good_image_init_label if {
	doc := object.union(ifx.image, {"process": _img_no_init, "labels": {"refarch.init": "docker --init"}})
	count(nra007.findings(doc, ifx.ctx)) == 0
}

test_img_good_image_not_node if {
	doc := object.union(ifx.image, {"process": ifx.proc(["/bin/bash"], "exec", null, null, [], ["/bin/bash"])})
	count(nra007.findings(doc, ifx.ctx)) == 0
}

test_img_good_container_init_flag if {
	count(nra007.findings(ifx.container, ifx.ctx)) == 0
}

test_img_bad_container_no_init if {
	doc := object.union(ifx.container, {"init": {"flag": false, "process": null, "effective": false}})
	{f.message | some f in nra007.findings(doc, ifx.ctx)} == {"container web (localhost/app:1) runs `node --max-old-space-size=384 server.js` as PID 1 without --init or an init process (tini, dumb-init) in front of node"}
}

test_img_bad_container_label_does_not_count if {
	doc := object.union(ifx.container, {"init": {"flag": false, "process": null, "effective": false}, "labels": {"refarch.init": "yes"}})
	count(nra007.findings(doc, ifx.ctx)) == 1
}
