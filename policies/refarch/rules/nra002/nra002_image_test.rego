package refarch.rules.nra002_test

import data.refarch.lib.imagefacts_test as ifx
import data.refarch.rules.nra002

test_img_good_image_and_container if {
	count(nra002.findings(ifx.image, ifx.ctx)) == 0
	count(nra002.findings(ifx.container, ifx.ctx)) == 0
}

test_img_bad_image_low_ports_and_env if {
	doc := object.union(ifx.image, {
		"exposed_ports": [ifx.port(80, "tcp"), ifx.port(22, "tcp"), ifx.port(8080, "tcp")],
		"env": {"PORT": {"value": "80", "line": null, "redacted": false}},
	})
	{f.message | some f in nra002.findings(doc, ifx.ctx)} == {
		"image localhost/app:1 exposes 80/tcp: port 80 is below 1024, which a non-root process cannot bind",
		"image localhost/app:1 exposes 22/tcp: port 22 is below 1024, which a non-root process cannot bind; port 22 is SSH, which does not belong in an application container",
		"image localhost/app:1 sets PORT=80: the application is told to listen on a port below 1024, which a non-root process cannot bind",
	}
}

test_img_bad_container_ssh_above_lowered_floor if {
	doc := object.union(ifx.container, {"exposed_ports": [ifx.port(22, "tcp")]})
	{f.message | some f in nra002.findings(doc, ifx.ctx_with({"port_floor": 20}))} == {"container web (localhost/app:1) exposes 22/tcp: port 22 (SSH) should not be exposed by an application container"}
}

test_img_bad_unreadable_port if {
	bad := {"port": null, "end_port": null, "protocol": "tcp", "raw": "http", "line": null, "resolved": false}
	doc := object.union(ifx.image, {"exposed_ports": [bad]})
	{f.line | some f in nra002.findings(doc, ifx.ctx)} == {null}
	count(nra002.findings(doc, ifx.ctx)) == 1
}

test_img_good_redacted_env_port_ignored if {
	doc := object.union(ifx.image, {"env": {"PORT": {"value": "80", "line": null, "redacted": true}}})
	count(nra002.findings(doc, ifx.ctx)) == 0
}
