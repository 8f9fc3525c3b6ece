package refarch.rules.nra004_test

import data.refarch.lib.testfx as ax
import data.refarch.rules.nra004
import data.refarch.testlib as fx

_with(patterns) := object.union(fx.good, {"dockerignore": {"exists": true, "patterns": patterns}})

test_good_plain if {
	count(nra004.findings(fx.good, fx.ctx)) == 0
}

test_good_equivalent_spellings if {
	doc := _with(["# deps", "**/node_modules", "/.git/", "./.cache", ""])
	count(nra004.findings(doc, fx.ctx)) == 0
}

test_good_wildcards if {
	doc := _with(["node_modules/", ".git*", ".cache/**"])
	count(nra004.findings(doc, fx.ctx)) == 0
}

test_good_everything_excluded if {
	doc := _with(["*", "!src", "!package.json"])
	count(nra004.findings(doc, fx.ctx)) == 0
}

test_bad_missing_file if {
	doc := object.union(fx.good, {"dockerignore": {"exists": false, "patterns": []}})
	some f in nra004.findings(doc, fx.ctx)
	f.line == null
	contains(f.message, "no .dockerignore in the build context /srv/app")
}

test_bad_unreadable if {
	doc := object.union(fx.good, {"dockerignore": {"exists": true, "error": {"code": "EACCES", "message": "permission denied"}}})
	some f in nra004.findings(doc, fx.ctx)
	contains(f.message, "could not be read (permission denied)")
}

test_bad_missing_entries if {
	doc := _with(["node_modules", "*.log"])
	msgs := {f.message | some f in nra004.findings(doc, fx.ctx)}
	msgs == {
		"/srv/app/.dockerignore does not exclude .git",
		"/srv/app/.dockerignore does not exclude .cache",
	}
}

test_bad_reinclude_undoes if {
	doc := _with(["node_modules", ".git", ".cache", "!node_modules/keep-me"])
	msgs := {f.message | some f in nra004.findings(doc, fx.ctx)}
	msgs == {"/srv/app/.dockerignore excludes node_modules but re-includes it with !node_modules/keep-me"}
}

test_good_exclude_after_reinclude if {
	doc := _with(["!node_modules", "node_modules", ".git", ".cache"])
	count(nra004.findings(doc, fx.ctx)) == 0
}

test_bad_nested_only if {
	doc := _with(["*/node_modules", ".git", ".cache"])
	count(nra004.findings(doc, fx.ctx)) == 1
}

test_good_odd_characters_compared_literally if {
	doc := _with(["[", "node_modules", ".git", ".cache"])
	count(nra004.findings(doc, fx.ctx)) == 0
}

_cov(excluded, again) := {"excluded": excluded, "reincluded_by": again}

_analysed(patterns, coverage) := object.union(
	ax.with_analysis(ax.good, {"dockerignore": coverage}),
	{"dockerignore": {"exists": true, "patterns": patterns}},
)

test_good_host_coverage_is_used if {
	# the patterns alone would not exclude anything: the host's coverage decides
	doc := _analysed([], {"node_modules": _cov(true, []), ".git": _cov(true, []), ".cache": _cov(true, [])})
	count(nra004.findings(doc, fx.ctx)) == 0
}

test_bad_host_coverage_reincluded if {
	doc := _analysed(["node_modules", "!node_modules/x"], {
		"node_modules": _cov(false, ["node_modules/x"]), ".git": _cov(true, []), ".cache": _cov(true, []),
	})
	{f.message | some f in nra004.findings(doc, fx.ctx)} == {"/srv/app/.dockerignore excludes node_modules but re-includes it with !node_modules/x"}
}

test_other_required_path_matched_by_the_policy if {
	cov := {"node_modules": _cov(true, []), ".git": _cov(true, []), ".cache": _cov(true, [])}
	ctx := fx.ctx_with({"dockerignore_required": ["node_modules", "dist"]})
	count(nra004.findings(_analysed(["dist/"], cov), ctx)) == 0
	{f.message | some f in nra004.findings(_analysed(["build"], cov), ctx)} == {"/srv/app/.dockerignore does not exclude dist"}
}
