package refarch.rules.nra000_test

import data.refarch.lib.testfx as ax
import data.refarch.rules.nra000
import data.refarch.testlib as fx

test_good_document_has_no_finding if {
	count(nra000.findings(ax.good, fx.ctx)) == 0
}

test_bad_error_document if {
	doc := object.union(fx.good, {"error": {"code": "decode_error", "message": "not UTF-8"}, "final_stage": null})
	some f in nra000.findings(doc, fx.ctx)
	f.line == null
	contains(f.message, "decode_error: not UTF-8")
}

test_bad_error_as_string if {
	doc := object.union(fx.good, {"error": "unreadable"})
	some f in nra000.findings(doc, fx.ctx)
	contains(f.message, "unreadable")
}

test_bad_no_from if {
	doc := object.union(fx.good, {"final_stage": null})
	some f in nra000.findings(doc, fx.ctx)
	contains(f.message, "no FROM")
}

test_bad_not_an_object if {
	some f in nra000.findings(["x"], fx.ctx)
	contains(f.message, "not a JSON object")
}

test_bad_kind_and_schema if {
	fs := nra000.findings({"kind": "helm", "schema_version": "2.0"}, fx.ctx)
	msgs := {f.message | some f in fs}
	"unsupported document kind helm" in msgs
	"unsupported facts schema_version 2.0 (this bundle evaluates 1.x)" in msgs
}

test_bad_blocking_problem if {
	doc := object.union(ax.good, {"problems": [{"line": 7, "code": "unterminated_heredoc", "message": "EOF missing"}]})
	some f in nra000.findings(doc, fx.ctx)
	f.line == 7
	contains(f.message, "unterminated_heredoc")
}

test_good_harmless_problem if {
	doc := object.union(ax.good, {"problems": [{"line": 3, "code": "malformed_json", "message": "fell back"}]})
	count(nra000.findings(doc, fx.ctx)) == 0
}

test_bad_missing_analysis if {
	fs := nra000.findings(fx.good, fx.ctx)
	count(fs) == 1
	some f in fs
	f.line == null
	contains(f.message, "has no `analysis` section")
}
