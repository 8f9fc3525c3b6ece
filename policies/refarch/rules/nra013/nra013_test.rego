package refarch.rules.nra013_test

import data.refarch.lib.testfx as ax
import data.refarch.rules.nra013
import data.refarch.testlib as fx

# node:<tag> with the host's reading of the tag (doc.analysis.base): a release line or a tag word.
_tag(tag, node_line, word) := object.union(
	fx.with_final({"root_base": fx.ref(concat(":", ["node", tag]), "library/node", tag)}),
	{"analysis": {"base": object.union(ax.base(8, node_line), {"tag_word": word})}},
)

_num(tag, node_line) := _tag(tag, node_line, null)

_word(tag, word) := _tag(tag, null, word)

_msgs(doc) := {f.message | some f in nra013.findings(doc, fx.ctx)}

test_good_22 if {
	count(nra013.findings(ax.good, fx.ctx)) == 0
}

test_bad_20_eol if {
	_msgs(_num("20-bookworm-slim", "20")) == {"Node.js 20 (node:20-bookworm-slim) reached end-of-life on 2026-04-30 (evaluated on 2026-11-28)"}
}

test_good_20_before_eol if {
	count(nra013.findings(_num("20-bookworm-slim", "20"), fx.ctx_on("2026-01-15"))) == 0
}

test_bad_odd_line if {
	some f in nra013.findings(_num("25", "25"), fx.ctx_on("2026-01-01"))
	f.message == "Node.js 25 (node:25) is not an LTS release line"
}

test_bad_not_lts_yet if {
	some f in nra013.findings(_num("24.1.0", "24"), fx.ctx_on("2025-06-01"))
	contains(f.message, "is not LTS yet on 2025-06-01 (LTS from 2025-10-28)")
}

test_bad_codename_and_zero_line if {
	_msgs(_word("hydrogen-slim", "hydrogen")) == {"Node.js 18 (node:hydrogen-slim) reached end-of-life on 2025-04-30 (evaluated on 2026-11-28)"}
	_msgs(_num("0.12.18", "0.12")) == {"Node.js 0.12 (node:0.12.18) reached end-of-life on 2016-12-31 (evaluated on 2026-11-28)"}
}

test_good_lts_tag if {
	count(nra013.findings(_word("lts-slim", "lts"), fx.ctx)) == 0
	count(nra013.findings(_word("krypton", "krypton"), fx.ctx)) == 0
}

test_bad_latest_resolves_to_newest_release if {
	# on 2026-11-28 the newest release is 26, which is LTS; on 2025-11-01 it is 25 (not LTS)
	count(nra013.findings(_word("latest", "latest"), fx.ctx)) == 0

	# named tags resolve with the per-query date (refarch.lib.settings), i.e. the input's
	some f in nra013.findings(_word("current-slim", "current"), fx.ctx_on("2025-11-01")) with input as {"evaluation_date": "2025-11-01"}
	contains(f.message, "Node.js 25")
}

test_bad_unknown_line if {
	_msgs(_num("99", "99")) == {"Node.js 99 (node:99) is not a known release line (the release table is dated 2026-12-07)"}
}

# a table without its date (a caller's config that replaces node_releases_date with null) names no date
test_bad_unknown_line_undated_table if {
	msgs := {f.message | some f in nra013.findings(_num("99", "99"), fx.ctx_with({"node_releases_date": null}))}
	msgs == {"Node.js 99 (node:99) is not a known release line"}
}

test_bad_undeterminable if {
	_msgs(_word("foo", "foo")) == {"the Node.js version of the runtime base image node:foo cannot be determined from its tag"}
}

test_bad_ubi_eol if {
	ref := object.union(fx.ref("registry.access.redhat.com/ubi8/nodejs-16", "ubi8/nodejs-16", "1"), {"registry": "registry.access.redhat.com"})
	b := object.union(ax.base(8, "16"), {"official_node": false, "ubi_nodejs": true})
	some f in nra013.findings(object.union(fx.with_final({"root_base": ref}), {"analysis": {"base": b}}), fx.ctx)
	contains(f.message, "Node.js 16")
}

test_bad_no_tag_is_newest_release if {
	b := object.union(ax.base(8, null), {"tag_missing": true})
	doc := object.union(fx.with_final({"root_base": fx.ref("node", "library/node", null)}), {"analysis": {"base": b}})
	some f in nra013.findings(doc, fx.ctx_on("2025-11-01")) with input as {"evaluation_date": "2025-11-01"}
	f.message == "Node.js 25 (node) is not an LTS release line"
}

test_good_non_node_image_left_to_nra012 if {
	b := object.union(ax.base(8, "12"), {"official_node": false, "node_image": false})
	doc := object.union(fx.with_final({"root_base": fx.ref("debian:12", "library/debian", "12")}), {"analysis": {"base": b}})
	count(nra013.findings(doc, fx.ctx)) == 0
}
