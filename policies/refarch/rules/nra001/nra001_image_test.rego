package refarch.rules.nra001_test

import data.refarch.lib.imagefacts_test as ifx
import data.refarch.rules.nra001

test_img_good_image_non_root if {
	count(nra001.findings(ifx.image, ifx.ctx)) == 0
}

test_img_good_ubi_uid_1001 if {
	count(nra001.findings(object.union(ifx.image, {"user": ifx.user("1001", "1001", 1001, "config", false)}), ifx.ctx)) == 0
}

test_img_bad_image_default_user if {
	doc := object.union(ifx.image, {"user": ifx.user("", null, 0, "default", true)})
	nra001.findings(doc, ifx.ctx) == {{"rule_id": "NRA001", "line": null, "message": "image localhost/app:1 sets no user, so it runs as root (the engine default); set a non-root USER in the image"}}
}

test_img_bad_image_uid_0 if {
	doc := object.union(ifx.image, {"user": ifx.user("0:0", "0", 0, "config", true)})
	{f.message | some f in nra001.findings(doc, ifx.ctx)} == {"image localhost/app:1 runs as root (user `0:0`)"}
}

test_img_good_container if {
	count(nra001.findings(ifx.container, ifx.ctx)) == 0
}

test_img_bad_container_root_and_privileged if {
	doc := object.union(ifx.container, {"user": ifx.user("root", "root", 0, "config", true), "privileged": true})
	{f.message | some f in nra001.findings(doc, ifx.ctx)} == {
		"container web (localhost/app:1) runs as root (user `root`)",
		"container web (localhost/app:1) runs privileged (--privileged): the process has every capability and the host's devices, whatever user it runs as",
	}
}

test_img_bad_container_privileged_non_root if {
	doc := object.union(ifx.container, {"privileged": true})
	count(nra001.findings(doc, ifx.ctx)) == 1
}
