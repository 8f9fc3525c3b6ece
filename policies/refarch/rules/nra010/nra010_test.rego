package refarch.rules.nra010_test

import data.refarch.rules.nra010
import data.refarch.testlib as fx

test_good_node if {
	count(nra010.findings(fx.good, fx.ctx)) == 0
}

test_bad_npm_start if {
	doc := fx.with_process(["npm", "start"], "exec", 18)
	some f in nra010.findings(doc, fx.ctx)
	f.line == 18
	f.message == "the process (line 18) is started with `npm start` (package.json script start runs `node dist/server.js`); run node directly"
}

test_bad_entrypoint_npm_with_cmd_run if {
	doc := fx.with_process(["tini", "--", "npm", "run", "serve"], "exec", 18)
	some f in nra010.findings(doc, fx.ctx)
	contains(f.message, "started with `npm run serve`")
}

test_bad_yarn_shell_form if {
	doc := fx.with_process(["/bin/sh", "-c", "yarn start"], "shell", 18)
	fs := nra010.findings(doc, fx.ctx)
	count(fs) == 1
	some f in fs
	contains(f.message, "started with `yarn start`")
}

test_bad_pnpm_after_cd if {
	doc := fx.with_process(["/bin/sh", "-c", "cd /app && pnpm start"], "shell", 18)
	some f in nra010.findings(doc, fx.ctx)
	contains(f.message, "runs `pnpm start` in a shell command")
}

test_good_env_wrapper_node if {
	doc := fx.with_process(["env", "NODE_ENV=production", "node", "server.js"], "exec", 18)
	count(nra010.findings(doc, fx.ctx)) == 0
}

test_bad_env_wrapper_npm if {
	doc := fx.with_process(["/usr/bin/env", "-i", "A=1", "npm", "start"], "exec", 18)
	count(nra010.findings(doc, fx.ctx)) == 1
}
