package refarch.rules.nra008_test

import data.refarch.lib.imagefacts_test as ifx
import data.refarch.rules.nra008

test_img_good_image_and_container if {
	count(nra008.findings(ifx.image, ifx.ctx)) == 0
	count(nra008.findings(ifx.container, ifx.ctx)) == 0
}

test_img_bad_pm2_runtime if {
	p := ifx.proc(["pm2-runtime", "ecosystem.config.js"], "exec", null, null, [], ["pm2-runtime", "ecosystem.config.js"])
	doc := object.union(ifx.container, {"process": p})
	{f.message | some f in nra008.findings(doc, ifx.ctx)} == {"container web (localhost/app:1) runs the process manager pm2-runtime: run one node process per container and scale with the orchestrator"}
}
