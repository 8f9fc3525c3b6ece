# METADATA
# title: Test fixtures with the host-side analysis
# description: |
#   data.refarch.testlib's documents plus the `analysis` section that
#   plugins/module_utils/_dockerfile_facts.py adds (what the rules read). Policy tests state
#   the analysis directly: how commands are classified is tested on the host side
#   (tests/unit/plugins/module_utils/test_facts_analysis.py).
package refarch.lib.testfx

import data.refarch.testlib as fx

# A RUN as the host classifies it.
run(line, stage, final_chain, patch) := object.union(
	{
		"line": line, "stage": stage, "final_chain": final_chain, "installs_dependencies": false,
		"dev_dependency_installs": [], "build_steps": [], "os_packages": [], "node_env": null,
		"fetches_dependencies": false, "manifest_mounts": [], "package_installs": [],
	},
	patch,
)

# doc.analysis.base for an official node image tag read as release line `line`.
base(line, node_line) := {
	"line": line, "official_node": true, "ubi_nodejs": false, "node_image": true,
	"node_line": node_line, "tag_word": null, "tag_missing": false, "alpine": false,
}

# The analysis of data.refarch.testlib.good.
good_analysis := {
	"base": base(8, "22"),
	"final_chain": [1],
	"runs": [
		run(4, 0, false, {"installs_dependencies": true, "dev_dependency_installs": ["npm ci"]}),
		run(6, 0, false, {"build_steps": ["npm run build"]}),
		run(9, 1, true, {"os_packages": ["apt-get", "install", "tini", "update"]}),
		run(13, 1, true, {"installs_dependencies": true}),
	],
	"context_copies": [{"stage": 0, "line": 5}],
	"labels": [],
	"process": good_process,
}

good := object.union(fx.good, {"analysis": good_analysis})

# doc with analysis keys replaced by patch (one level deep).
with_analysis(doc, patch) := object.union(doc, {"analysis": object.union(doc.analysis, patch)})

# A single-stage document (stage 0 is final) with the given runs and context copies.
single(runs, copies) := with_analysis(
	object.union(fx.single([], {}), {"analysis": good_analysis}),
	{"base": base(1, "22"), "final_chain": [0], "runs": runs, "context_copies": copies},
)

# doc.analysis.process: defaults (nothing found) overridden by patch.
process(line, patch) := object.union(
	{
		"line": line, "argv": [], "first": null, "tokens": [], "text": "", "through_shell": false,
		"heap_limit": false, "heap_limit_from_variable": false, "node_options": null,
		"package_manager_calls": [],
		"direct": {"command": [], "program": null, "script": null},
		"as_init": {"command": [], "program": null, "script": null},
	},
	patch,
)

# An exec-form argv with nothing to peel, as the host reads it (patch on top).
proc_of(argv, patch) := process(18, object.union(
	{
		"argv": argv, "first": _basename(argv[0]), "tokens": argv, "text": concat(" ", argv),
		"direct": {"command": argv, "program": _basename(argv[0]), "script": null},
	},
	patch,
))

_basename(w) := parts[count(parts) - 1] if parts := split(w, "/")

# A package.json script as the host reads it (heap flags patched in).
script(name, script_text, patch) := object.union(
	{
		"name": name, "text": script_text, "words": split(script_text, " "), "heap_limit": false,
		"heap_limit_from_variable": false, "node_options_from_variable": false,
	},
	patch,
)

# NODE_OPTIONS as the host reads it.
node_options(value, heap, heap_var) := {
	"value": value, "words": split(value, " "), "heap_limit": heap, "heap_limit_from_variable": heap_var,
}

# ax.good with analysis.process replaced by process(18, patch).
with_process(patch) := with_analysis(good, {"process": process(18, patch)})

# The process of data.refarch.testlib.good: tini -- node dist/server.js, NODE_OPTIONS with a fixed heap size.
good_process := process(18, {
	"argv": ["/usr/bin/tini", "--", "node", "dist/server.js"], "first": "tini",
	"tokens": ["/usr/bin/tini", "--", "node", "dist/server.js"], "text": "/usr/bin/tini -- node dist/server.js",
	"node_options": node_options("--max-old-space-size=384 --heapsnapshot-signal=SIGUSR2", true, false),
	"direct": {"command": ["/usr/bin/tini", "--", "node", "dist/server.js"], "program": "tini", "script": null},
	"as_init": {"command": ["node", "dist/server.js"], "program": "node", "script": null},
})
