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

test_bad_install_before_node_env_production if {
	# the host reads each RUN with the NODE_ENV in force when it runs: an install before
	# ENV NODE_ENV=production gets devDependencies although the final stage says production
	doc := fx.set_final(
		ax.single([ax.run(3, 0, true, {"installs_dependencies": true, "dev_dependency_installs": ["npm ci"]})], []),
		"env", {"NODE_ENV": {"value": "production", "line": 5, "redacted": false}},
	)
	fx.lines(nra003.findings(doc, fx.ctx)) == {3}
}

test_good_legacy_facts_node_env_production if {
	# facts without per-RUN node_env: the final stage's NODE_ENV stands for every RUN, as before
	legacy := object.remove(ax.run(3, 0, true, {"installs_dependencies": true, "dev_dependency_installs": ["npm ci"]}), ["node_env"])
	doc := fx.set_final(ax.single([legacy], []), "env", {"NODE_ENV": {"value": "production", "line": 2, "redacted": false}})
	count(nra003.findings(doc, fx.ctx)) == 0
}

test_bad_legacy_facts_without_node_env if {
	legacy := object.remove(ax.run(3, 0, true, {"installs_dependencies": true, "dev_dependency_installs": ["npm ci"]}), ["node_env"])
	fx.lines(nra003.findings(ax.single([legacy], []), fx.ctx)) == {3}
}

test_bad_global_build_cli_single_stage if {
	doc := ax.single(
		[ax.run(5, 0, true, {"package_installs": [
			{"name": "@nestjs/cli", "global": true}, {"name": "typescript", "global": false},
			{"name": "pm2", "global": true},
		]})],
		[],
	)
	fs := nra003.findings(doc, fx.ctx)
	count(fs) == 1
	some f in fs
	f.message == "RUN at line 5 installs build tooling (@nestjs/cli globally, typescript) in the only stage, so it ships in the runtime image; do it in a build stage"
}

test_good_named_packages_are_not_dev_installs if {
	# npm install undici@6 (patching npm's own modules): the host reports a package install, not a dependency install
	doc := ax.single([ax.run(5, 0, true, {"package_installs": [{"name": "undici", "global": false}]})], [])
	count(nra003.findings(doc, fx.ctx)) == 0
}

test_good_build_cli_in_build_stage if {
	doc := ax.with_analysis(ax.good, {"runs": [ax.run(4, 0, false, {"package_installs": [{"name": "typescript", "global": true}]})]})
	count(nra003.findings(doc, fx.ctx)) == 0
}
