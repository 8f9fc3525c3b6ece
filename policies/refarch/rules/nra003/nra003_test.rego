package refarch.rules.nra003_test

import data.refarch.rules.nra003
import data.refarch.testlib as fx

test_good_multi_stage if {
	count(nra003.findings(fx.good, fx.ctx)) == 0
}

test_bad_single_stage_install_and_build if {
	doc := fx.single(
		[
			fx.ins("FROM", 1, 0, ["node:22"]),
			fx.ins("COPY", 2, 0, [".", "."]),
			fx.ins("RUN", 3, 0, ["npm install && npm run build"]),
		],
		{},
	)
	fs := nra003.findings(doc, fx.ctx)
	count(fs) == 2
	msgs := {f.message | some f in fs}
	"RUN at line 3 installs development dependencies (npm install) in the only stage, so it ships in the runtime image; do it in a build stage" in msgs
	"RUN at line 3 runs a build step (npm run build) in the only stage, so it ships in the runtime image; do it in a build stage" in msgs
}

test_bad_toolchain_in_final_stage if {
	doc := object.union(fx.good, {"instructions": array.concat(
		fx.instructions,
		[fx.ins("RUN", 19, 1, ["apt-get install -y python3 make g++"])],
	)})
	some f in nra003.findings(doc, fx.ctx)
	f.line == 19
	contains(f.message, "installs build toolchain packages (g++, make, python3) in the final (runtime) stage")
}

test_bad_yarn_heredoc if {
	run := object.union(fx.ins("RUN", 3, 0, ["<<EOF"]), {"heredocs": [{"name": "EOF", "file_descriptor": 0, "content": "yarn\nyarn build\n"}]})
	doc := fx.single([fx.ins("FROM", 1, 0, ["node:22"]), run], {})
	lines := {f.message | some f in nra003.findings(doc, fx.ctx)}
	count(lines) == 2
}

test_good_production_install_single_stage if {
	doc := fx.single(
		[
			fx.ins("FROM", 1, 0, ["node:22"]),
			fx.ins("RUN", 3, 0, ["npm ci --omit=dev && npm install -g pm2"]),
			fx.ins("RUN", 4, 0, ["yarn install --production"]),
		],
		{},
	)
	count(nra003.findings(doc, fx.ctx)) == 0
}

test_good_node_env_production if {
	doc := fx.single(
		[fx.ins("FROM", 1, 0, ["node:22"]), fx.ins("RUN", 3, 0, ["npm ci"])],
		{"env": {"NODE_ENV": {"value": "production", "line": 2, "redacted": false}}},
	)
	count(nra003.findings(doc, fx.ctx)) == 0
}
