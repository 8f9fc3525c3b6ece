package refarch.rules.nra003_test

import data.refarch.lib.testfx as ax
import data.refarch.rules.nra003
import data.refarch.testlib as fx

test_good_multi_stage if {
	count(nra003.findings(ax.good, fx.ctx)) == 0
}

test_bad_single_stage_install_and_build if {
	doc := ax.single(
		[ax.run(3, 0, true, {
			"installs_dependencies": true, "dev_dependency_installs": ["npm install"],
			"build_steps": ["npm run build"],
		})],
		[],
	)
	fs := nra003.findings(doc, fx.ctx)
	count(fs) == 2
	msgs := {f.message | some f in fs}
	"RUN at line 3 installs development dependencies (npm install) in the only stage, so it ships in the runtime image; do it in a build stage" in msgs
	"RUN at line 3 runs a build step (npm run build) in the only stage, so it ships in the runtime image; do it in a build stage" in msgs
}

test_bad_toolchain_in_final_stage if {
	doc := ax.with_analysis(ax.good, {"runs": array.concat(
		ax.good_analysis.runs,
		[ax.run(19, 1, true, {"os_packages": ["apt-get", "g++", "install", "make", "python3"]})],
	)})
	fs := nra003.findings(doc, fx.ctx)
	count(fs) == 1
	some f in fs
	f.line == 19
	contains(f.message, "installs build toolchain packages (g++, make, python3) in the final (runtime) stage")
}

test_good_build_stage_only if {
	# the build stage (not in the final chain) installs and builds: fine
	doc := ax.with_analysis(ax.good, {"runs": [ax.run(4, 0, false, {
		"installs_dependencies": true, "dev_dependency_installs": ["npm ci"], "build_steps": ["tsc"],
		"os_packages": ["gcc"],
	})]})
	count(nra003.findings(doc, fx.ctx)) == 0
}

test_good_production_install_single_stage if {
	doc := ax.single([ax.run(3, 0, true, {"installs_dependencies": true, "os_packages": ["apk", "add", "tini"]})], [])
	count(nra003.findings(doc, fx.ctx)) == 0
}

test_good_node_env_production if {
	doc := fx.set_final(
		ax.single([ax.run(3, 0, true, {"installs_dependencies": true, "dev_dependency_installs": ["npm ci"]})], []),
		"env", {"NODE_ENV": {"value": "production", "line": 2, "redacted": false}},
	)
	count(nra003.findings(doc, fx.ctx)) == 0
}
