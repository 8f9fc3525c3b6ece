package refarch.lib_test

import data.refarch.lib.dockerignore
import data.refarch.lib.num
import data.refarch.lib.process
import data.refarch.lib.settings
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

test_settings_largest_is_max_of if {
	settings._largest({4000, 26000, 12, 8000, 20000}) == 26000
	settings._largest([-5, 3]) == 3

	# keys that do not order them (the same text key; out of the key's width): num.max_of decides
	settings._largest({20000.25, 20000.5}) == 20000.5
	settings._largest({99999999999, 5}) == 99999999999
	not settings._largest(set())
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
