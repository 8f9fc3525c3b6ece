package refarch.rules.nra010_test

import data.refarch.lib.testfx as ax
import data.refarch.rules.nra010
import data.refarch.testlib as fx

_findings(patch) := nra010.findings(ax.with_process(patch), fx.ctx)

test_good_node if {
	count(nra010.findings(ax.good, fx.ctx)) == 0
}

test_bad_npm_start if {
	fs := nra010.findings(
		ax.with_analysis(ax.good, {"process": ax.proc_of(["npm", "start"], {"direct": {
			"command": ["npm", "start"], "program": "npm",
			"script": ax.script("start", "node dist/server.js", {}),
		}})}),
		fx.ctx,
	)
	count(fs) == 1
	some f in fs
	f.line == 18
	f.message == "the process (line 18) is started with `npm start` (package.json script start runs `node dist/server.js`); run node directly"
}

test_bad_entrypoint_npm_with_cmd_run if {
	fs := _findings({"first": "tini", "as_init": {"command": ["npm", "run", "serve", "--x"], "program": "npm", "script": null}})
	some f in fs
	f.message == "the process (line 18) is started with `npm run serve`; run node directly"
}

test_good_npm_behind_unknown_wrapper_is_not_read_as_init if {
	count(_findings({"first": "mywrapper", "as_init": {"command": ["npm", "start"], "program": "npm", "script": null}})) == 0
}

test_bad_yarn_shell_form_reported_once if {
	fs := _findings({
		"direct": {"command": ["yarn", "start"], "program": "yarn", "script": null},
		"package_manager_calls": [{"word": "yarn", "next": "start"}],
	})
	count(fs) == 1
	some f in fs
	contains(f.message, "started with `yarn start`")
}

test_bad_pnpm_after_cd if {
	fs := _findings({
		"direct": {"command": ["cd", "/app"], "program": "cd", "script": null},
		"package_manager_calls": [{"word": "pnpm", "next": "start"}],
	})
	some f in fs
	contains(f.message, "runs `pnpm start` in a shell command")
}

test_good_other_package_manager_call if {
	count(_findings({"package_manager_calls": [{"word": "npm", "next": "--version"}]})) == 0
}

test_good_no_process if {
	doc := object.union(fx.with_final({"process": null}), {"analysis": ax.good_analysis})
	count(nra010.findings(doc, fx.ctx)) == 0
}
