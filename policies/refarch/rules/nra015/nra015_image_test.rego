package refarch.rules.nra015_test

import data.refarch.lib.imagefacts_test as ifx
import data.refarch.rules.nra015

test_img_good_image_within_budget if {
	count(nra015.findings(ifx.image, ifx.ctx)) == 0
}

test_img_bad_image_over_configured_budget if {
	{f.message | some f in nra015.findings(ifx.image, ifx.ctx_with({"size_budget_mb": 150}))} == {"the image is 200 MiB, above the size budget of 150 MiB"}
}

test_img_good_container_has_no_size_rule if {
	not nra015.findings(ifx.container, ifx.ctx)
}
