package refarch.rules.nra011_test

import data.refarch.rules.nra011
import data.refarch.testlib as fx

test_good_exec_form if {
	count(nra011.findings(fx.good, fx.ctx)) == 0
}

test_bad_shell_cmd if {
	doc := fx.with_final({"cmd": {"form": "shell", "argv": ["node", "server.js"], "raw": "node server.js", "line": 18}})
	some f in nra011.findings(doc, fx.ctx)
	f.line == 18
	startswith(f.message, "CMD in shell form at line 18")
}

test_bad_shell_entrypoint_and_cmd if {
	doc := fx.with_final({
		"entrypoint": {"form": "shell", "argv": ["./start.sh"], "raw": "./start.sh", "line": 17},
		"cmd": {"form": "shell", "argv": ["node"], "raw": "node", "line": 18},
	})
	fx.lines(nra011.findings(doc, fx.ctx)) == {17, 18}
}

test_good_shell_form_with_exec if {
	doc := fx.with_final({"cmd": {"form": "shell", "argv": ["exec", "node", "server.js"], "raw": "exec node server.js", "line": 18}})
	count(nra011.findings(doc, fx.ctx)) == 0
}

test_bad_exec_sh_c_wrapper if {
	doc := fx.with_final({"cmd": {"form": "exec", "argv": ["sh", "-c", "node server.js"], "raw": "[...]", "line": 18}})
	some f in nra011.findings(doc, fx.ctx)
	contains(f.message, "through sh -c without exec")
}

test_good_exec_sh_c_exec if {
	doc := fx.with_final({"cmd": {"form": "exec", "argv": ["sh", "-c", "exec node server.js"], "raw": "[...]", "line": 18}})
	count(nra011.findings(doc, fx.ctx)) == 0
}

test_bad_exec_chain_is_not_exec if {
	doc := fx.with_final({"cmd": {"form": "shell", "argv": [], "raw": "exec migrate && node server.js", "line": 18}})
	count(nra011.findings(doc, fx.ctx)) == 1
}
