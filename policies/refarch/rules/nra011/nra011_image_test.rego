package refarch.rules.nra011_test

import data.refarch.lib.imagefacts_test as ifx
import data.refarch.rules.nra011

_img_shell := ifx.proc(
	["docker-entrypoint.sh", "/bin/sh", "-c", "node server.js"], "shell", "node server.js", null,
	["docker-entrypoint.sh", "/bin/sh -c"], ["node", "server.js"],
)

test_img_good_image_and_container if {
	count(nra011.findings(ifx.image, ifx.ctx)) == 0
	count(nra011.findings(ifx.container, ifx.ctx)) == 0
}

test_img_bad_image_shell_form if {
	doc := object.union(ifx.image, {"process": _img_shell})
	{f.message | some f in nra011.findings(doc, ifx.ctx)} == {"image localhost/app:1 runs `node server.js` through a shell (a shell-form ENTRYPOINT or CMD): the shell does not pass SIGTERM to node; use the exec (JSON array) form"}
}

test_img_bad_container_sh_c if {
	doc := object.union(ifx.container, {"process": _img_shell})
	{f.message | some f in nra011.findings(doc, ifx.ctx)} == {"container web (localhost/app:1) runs `node server.js` through a shell (sh -c in its command): the shell does not pass SIGTERM to node; use the exec (JSON array) form"}
}

test_img_good_shell_exec if {
	p := object.union(_img_shell, {"shell_command": "exec node server.js"})
	count(nra011.findings(object.union(ifx.image, {"process": p}), ifx.ctx)) == 0
}

test_img_good_shell_not_node if {
	p := ifx.proc(["/bin/sh", "-c", "nginx -g daemon"], "shell", "nginx -g daemon", null, ["/bin/sh -c"], ["nginx", "-g", "daemon"])
	count(nra011.findings(object.union(ifx.image, {"process": p}), ifx.ctx)) == 0
}
