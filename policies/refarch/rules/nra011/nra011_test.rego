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
	f.message == "CMD in shell form at line 18: the ENTRYPOINT (line 17) receives it as /bin/sh -c, and the shell between PID 1 and node does not pass SIGTERM on; the ENTRYPOINT can stay; use the exec (JSON array) form"
}

test_bad_shell_cmd_under_node_entrypoint if {
	# the ENTRYPOINT is node itself: no shell runs, node gets `/bin/sh -c ...` as its arguments; the CMD is the line to change
	doc := fx.with_final({
		"entrypoint": {"form": "exec", "argv": ["/usr/local/bin/node"], "raw": "[...]", "line": 17},
		"cmd": {"form": "shell", "argv": ["dist/server.js"], "raw": "dist/server.js", "line": 18},
	})
	fs := nra011.findings(doc, fx.ctx)
	fx.lines(fs) == {18}
	some f in fs
	f.message == "CMD in shell form at line 18: the ENTRYPOINT (line 17) runs node, which gets /bin/sh -c and the command as its arguments instead of a command to run; use the exec (JSON array) form"
}

test_bad_shell_cmd_under_init_and_package_manager if {
	# past the init and its options: npm gets the shell command as arguments
	doc := fx.with_final({
		"entrypoint": {"form": "exec", "argv": ["/sbin/tini", "-s", "-g", "--", "npm"], "raw": "[...]", "line": 17},
		"cmd": {"form": "shell", "argv": ["start"], "raw": "start", "line": 18},
	})
	some f in nra011.findings(doc, fx.ctx)
	f.line == 18
	contains(f.message, "the ENTRYPOINT (line 17) runs npm, which gets /bin/sh -c")
}

test_bad_shell_cmd_under_init_options_without_separator if {
	doc := fx.with_final({
		"entrypoint": {"form": "exec", "argv": ["dumb-init", "--single-child", "node"], "raw": "[...]", "line": 17},
		"cmd": {"form": "shell", "argv": ["a.js"], "raw": "a.js", "line": 18},
	})
	some f in nra011.findings(doc, fx.ctx)
	contains(f.message, "runs node, which gets")
}

test_bad_shell_cmd_under_a_bare_init if {
	# tini alone runs the CMD: the shell sits between tini and node
	doc := fx.with_final({
		"entrypoint": {"form": "exec", "argv": ["tini", "--"], "raw": "[...]", "line": 17},
		"cmd": {"form": "shell", "argv": ["node", "a.js"], "raw": "node a.js", "line": 18},
	})
	some f in nra011.findings(doc, fx.ctx)
	f.line == 18
	contains(f.message, "receives it as /bin/sh -c, and the shell between PID 1 and node")
}

test_good_exec_cmd_under_node_entrypoint if {
	doc := fx.with_final({
		"entrypoint": {"form": "exec", "argv": ["node"], "raw": "[...]", "line": 17},
		"cmd": {"form": "exec", "argv": ["dist/server.js"], "raw": "[...]", "line": 18},
	})
	count(nra011.findings(doc, fx.ctx)) == 0
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

test_bad_shell_cmd_under_an_init_with_options_only if {
	doc := fx.with_final({
		"entrypoint": {"form": "exec", "argv": ["/sbin/tini", "-s"], "raw": "[...]", "line": 17},
		"cmd": {"form": "shell", "argv": ["node", "a.js"], "raw": "node a.js", "line": 18},
	})
	some f in nra011.findings(doc, fx.ctx)
	f.line == 18
	contains(f.message, "receives it as /bin/sh -c")
}
