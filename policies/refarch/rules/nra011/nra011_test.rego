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

	# a shell-form ENTRYPOINT ignores CMD: only the ENTRYPOINT decides PID 1
	fs := nra011.findings(doc, fx.ctx)
	fx.lines(fs) == {17}
	some f in fs
	startswith(f.message, "ENTRYPOINT in shell form at line 17: /bin/sh -c runs as PID 1")
}

test_bad_shell_cmd_under_exec_entrypoint if {
	doc := fx.with_final({
		"entrypoint": {"form": "exec", "argv": ["docker-entrypoint.sh"], "raw": "[...]", "line": 17},
		"cmd": {"form": "shell", "argv": ["node", "server.js"], "raw": "node server.js", "line": 18},
	})
	fs := nra011.findings(doc, fx.ctx)
	count(fs) == 1
	some f in fs
	f.line == 18
	f.message == "CMD in shell form at line 18: the ENTRYPOINT (line 17) runs it as /bin/sh -c, and the shell between PID 1 and node does not pass SIGTERM on; use the exec (JSON array) form"
}

test_bad_sh_wrapper_ignored_cmd if {
	# exec-form sh -c wrapper in a CMD that a shell-form ENTRYPOINT ignores: not judged
	doc := fx.with_final({
		"entrypoint": {"form": "shell", "argv": ["exec", "node", "a.js"], "raw": "exec node a.js", "line": 17},
		"cmd": {"form": "exec", "argv": ["sh", "-c", "node server.js"], "raw": "[...]", "line": 18},
	})
	count(nra011.findings(doc, fx.ctx)) == 0
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
