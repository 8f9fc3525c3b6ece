package refarch.rules.nra001_test

import data.refarch.rules.nra001
import data.refarch.testlib as fx

_user(raw, name, uid, line, source) := {"raw": raw, "name": name, "group": null, "line": line, "source": source, "uid": uid}

test_good_user_node if {
	count(nra001.findings(fx.good, fx.ctx)) == 0
}

test_bad_no_user_official_node if {
	doc := fx.with_final({"user": _user(null, null, null, null, "base")})
	some f in nra001.findings(doc, fx.ctx)
	f.line == 8
	contains(f.message, "default user root")
}

test_good_no_user_ubi_1001 if {
	ubi := object.union(
		fx.ref("registry.access.redhat.com/ubi9/nodejs-22", "ubi9/nodejs-22", "latest"),
		{"registry": "registry.access.redhat.com"},
	)
	doc := fx.with_final({"user": _user(null, null, null, null, "base"), "root_base": ubi})
	count(nra001.findings(doc, fx.ctx)) == 0
}

test_bad_unknown_base_assumed_root if {
	doc := fx.with_final({
		"user": _user(null, null, null, null, "base"),
		"root_base": fx.ref("debian:12", "library/debian", "12"),
	})
	some f in nra001.findings(doc, fx.ctx)
	contains(f.message, "assumed to be root")
}

test_bad_scratch_defaults_to_root if {
	doc := fx.with_final({
		"user": _user(null, null, null, null, "base"),
		"root_base": object.union(fx.ref("scratch", "library/scratch", null), {"scratch": true}),
	})
	some f in nra001.findings(doc, fx.ctx)
	contains(f.message, "default user root")
}

test_bad_user_0 if {
	doc := fx.with_final({"user": _user("0", "0", 0, 15, "instruction")})
	some f in nra001.findings(doc, fx.ctx)
	f.line == 15
	contains(f.message, "USER 0 at line 15")
}

test_bad_user_root_root if {
	doc := fx.with_final({"user": _user("root:root", "root", null, 15, "instruction")})
	some f in nra001.findings(doc, fx.ctx)
	contains(f.message, "runs as root")
}

test_bad_inherited_from_stage if {
	doc := fx.with_final({"user": _user("root", "root", 0, 4, "stage")})
	some f in nra001.findings(doc, fx.ctx)
	f.line == 4
	contains(f.message, "inherits USER root")
}

test_good_inherited_non_root if {
	doc := fx.with_final({"user": _user("app", "app", null, 4, "stage")})
	count(nra001.findings(doc, fx.ctx)) == 0
}

test_bad_unresolved_arg if {
	doc := fx.with_final({"user": _user("${APP_USER}", "${APP_USER}", null, 15, "instruction")})
	some f in nra001.findings(doc, fx.ctx)
	contains(f.message, "could not be resolved")
}

test_good_image_kind_is_not_a_dockerfile if {
	not nra001.findings({"kind": "image"}, fx.ctx)
}
