package refarch.rules.nra010_test

import data.refarch.lib.imagefacts_test as ifx
import data.refarch.rules.nra010

test_img_good_image_and_container if {
	count(nra010.findings(ifx.image, ifx.ctx)) == 0
	count(nra010.findings(ifx.container, ifx.ctx)) == 0
}

test_img_bad_image_npm_start if {
	p := ifx.proc(["docker-entrypoint.sh", "npm", "start"], "exec", null, null, ["docker-entrypoint.sh"], ["npm", "start"])
	doc := object.union(ifx.image, {"process": p})
	{f.message | some f in nra010.findings(doc, ifx.ctx)} == {"image localhost/app:1 starts the application with `npm start`: the package manager stays PID 1 (or its parent) and does not pass SIGTERM on; run node directly"}
}

test_img_bad_container_yarn_in_shell if {
	p := ifx.proc(["/bin/sh", "-c", "cd /app && yarn start"], "shell", "cd /app && yarn start", null, ["/bin/sh -c"], ["cd", "/app", "&&", "yarn", "start"])
	doc := object.union(ifx.container, {"process": p})
	{f.message | some f in nra010.findings(doc, ifx.ctx)} == {"container web (localhost/app:1) runs `yarn start` in a shell command; run node directly"}
}
