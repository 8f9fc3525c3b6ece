package refarch.rules.nra005_test

import data.refarch.rules.nra005
import data.refarch.testlib as fx

test_good_manifests_first if {
	count(nra005.findings(fx.good, fx.ctx)) == 0
}

test_bad_copy_all_before_install if {
	doc := fx.single(
		[
			fx.ins("FROM", 1, 0, ["node:22"]),
			fx.ins("COPY", 9, 0, [".", "."]),
			fx.ins("RUN", 12, 0, ["npm ci --omit=dev"]),
		],
		{},
	)
	fs := nra005.findings(doc, fx.ctx)
	count(fs) == 1
	some f in fs
	f.line == 9
	contains(f.message, "at line 9 comes before the dependency install at line 12")
}

test_bad_manifest_copied_but_install_after_source if {
	doc := fx.single(
		[
			fx.ins("FROM", 1, 0, ["node:22"]),
			fx.ins("COPY", 2, 0, ["package.json", "./"]),
			fx.ins("ADD", 3, 0, ["./", "/app"]),
			fx.ins("RUN", 4, 0, ["yarn install --frozen-lockfile"]),
		],
		{},
	)
	some f in nra005.findings(doc, fx.ctx)
	f.line == 3
}

test_good_copy_from_stage_is_not_context if {
	doc := fx.single(
		[
			fx.ins("FROM", 1, 0, ["node:22"]),
			fx.flag_ins("COPY", 2, 0, ["--from=build"], [".", "."]),
			fx.ins("RUN", 3, 0, ["npm ci"]),
		],
		{},
	)
	count(nra005.findings(doc, fx.ctx)) == 0
}
