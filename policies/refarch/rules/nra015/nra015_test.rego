package refarch.rules.nra015_test

import data.refarch.rules.nra015
import data.refarch.testlib as fx

test_good_dockerfile_has_no_size_finding if {
	count(nra015.findings(fx.good, fx.ctx)) == 0
}

test_good_image_within_budget if {
	count(nra015.findings({"kind": "image", "size": 100 * 1048576}, fx.ctx)) == 0
}

test_bad_image_over_budget if {
	some f in nra015.findings({"kind": "image", "size": 1181116006}, fx.ctx)
	f.line == null
	f.message == "the image is 1126.40 MiB, above the size budget of 400 MiB"
}
