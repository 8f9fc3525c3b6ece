package refarch.lib_test

import data.refarch.lib.dockerignore
import data.refarch.lib.num
import data.refarch.lib.process
import data.refarch.lib.text

test_text_str if {
	text.str("a") == "a"
	text.str(12) == "12"
	text.str(1.5) == "1.50"
	text.str(null) == "null"
	text.str(true) == "true"
	text.str(false) == "false"
	text.str([1]) == "[1]"
}

test_num if {
	num.min_of({9, 26, 100}) == 9
	num.max_of([9, 26, 100]) == 100
	not num.max_of([])
	num.sort_key(9) < num.sort_key(12)
	num.sort_key(null) < num.sort_key(0)
}

test_process_view if {
	a := {"first": "tini", "direct": "d", "as_init": "i"}
	process.view(a, {"tini"}) == "i"
	process.view(a, {"dumb-init"}) == "d"
}

test_dockerignore_reincluding if {
	dockerignore.reincluding(["node_modules", "!**/node_modules"], "node_modules") == ["**/node_modules"]
	not dockerignore.excluded(["node_modules", "!node_modules"], "node_modules")
}
