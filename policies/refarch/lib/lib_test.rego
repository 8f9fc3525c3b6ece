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

test_process_command_peels_wrappers if {
	doc := {"final_stage": {"process": {"argv": ["tini", "-s", "-g", "node", "a.js"], "form": "exec"}}}
	process.command(doc, {"tini"}) == ["node", "a.js"]
	doc2 := {"final_stage": {"process": {"argv": ["dumb-init", "--", "sh", "-c", "exec env A=1 npm start"], "form": "exec"}}}
	process.command(doc2, {"dumb-init"}) == ["npm", "start"]
	doc3 := {"final_stage": {"process": {"argv": ["tini", "-v"], "form": "exec"}}}
	process.command(doc3, {"tini"}) == []
	process.through_shell(doc2)
}

test_dockerignore_reincluding if {
	dockerignore.reincluding(["node_modules", "!**/node_modules"], "node_modules") == ["**/node_modules"]
	not dockerignore.excluded(["node_modules", "!node_modules"], "node_modules")
}
