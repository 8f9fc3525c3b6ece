package refarch.rules.nra002_test

import data.refarch.rules.nra002
import data.refarch.testlib as fx

_port(port, end, proto, line) := {
	"port": port, "end_port": end, "protocol": proto, "raw": "x", "line": line, "resolved": true,
}

test_good_8080 if {
	count(nra002.findings(fx.good, fx.ctx)) == 0
}

test_bad_expose_80 if {
	doc := fx.with_final({"exposed_ports": [_port(80, 80, "tcp", 16)]})
	some f in nra002.findings(doc, fx.ctx)
	f.line == 16
	contains(f.message, "EXPOSE 80/tcp at line 16")
}

test_bad_range_starting_below_floor_udp if {
	doc := fx.with_final({"exposed_ports": [_port(1000, 1100, "udp", 16)]})
	some f in nra002.findings(doc, fx.ctx)
	contains(f.message, "EXPOSE 1000-1100/udp")
}

test_bad_ssh_port if {
	doc := fx.with_final({"exposed_ports": [_port(22, 22, "tcp", 16)]})
	some f in nra002.findings(doc, fx.ctx)
	contains(f.message, "port 22 is SSH")
}

test_bad_ssh_port_with_lowered_floor if {
	doc := fx.with_final({"exposed_ports": [_port(20, 30, "tcp", 16)]})
	fs := nra002.findings(doc, fx.ctx_with({"port_floor": 0}))
	count(fs) == 1
	some f in fs
	contains(f.message, "port 22 (SSH)")
}

test_good_lowered_floor if {
	doc := fx.with_final({"exposed_ports": [_port(80, 80, "tcp", 16)]})
	count(nra002.findings(doc, fx.ctx_with({"port_floor": 80}))) == 0
}

test_bad_unresolved_expose if {
	p := object.union(_port(0, 0, "tcp", 16), {"resolved": false, "raw": "${PORT}"})
	doc := fx.with_final({"exposed_ports": [p]})
	some f in nra002.findings(doc, fx.ctx)
	contains(f.message, "EXPOSE ${PORT} at line 16 could not be resolved")
}

test_bad_env_port if {
	doc := fx.with_final({"env": {"PORT": {"value": "443", "line": 5, "redacted": false}}})
	some f in nra002.findings(doc, fx.ctx)
	f.line == 5
	contains(f.message, "ENV PORT=443")
}

test_good_env_port_high if {
	doc := fx.with_final({"env": {"PORT": {"value": "3000", "line": 5, "redacted": false}}})
	count(nra002.findings(doc, fx.ctx)) == 0
}
