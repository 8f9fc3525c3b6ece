# METADATA
# title: Do not start the application with npm
# description: |
#   npm, yarn and pnpm add a process, a component with its own vulnerabilities,
#   and signal-forwarding problems. The process (after any init wrapper) must not
#   be `npm start`, `npm run ...`, `yarn start`, `pnpm start` and the like, also
#   not when split as ENTRYPOINT ["npm"] CMD ["start"] or inside a shell command.
# related_resources:
#   - ref: https://nodeshift.dev/nodejs-reference-architecture/development/building-good-containers/#avoiding-using-npm-to-start-application
#     description: avoiding using npm to start application
# custom:
#   id: NRA010
#   severity: medium
#   recommended_action: >-
#     Start node directly, for example CMD ["node", "server.js"] (the command the start script
#     runs).
#   fix: replace_npm_start
#   aliases: []
#   category: reliability
#   advisory: false
#   scope: node
package refarch.rules.nra010

import data.refarch.lib.text

import data.refarch.lib.process

# findings(doc, ctx) for Dockerfiles.
findings(doc, ctx) := {f |
	p := process.entry(doc)
	a := doc.analysis.process
	some f in _either(process.view(a, ctx.config.init_processes), a, p)
} if doc.kind == "dockerfile"

# Images and containers: the bodies are in the _image.rego file of this package, under
# their own name (one function defined across two files trips up some Rego engines), as the
# else of the Dockerfile body (rego-cpp would test every body of every document).
else := image_findings(doc, ctx) if doc.kind != "dockerfile"

_either(v, a, p) := d if {
	d := _direct(v, p)
	count(d) > 0
}

else := _in_shell(a, p)

# v: the program as the host read it (doc.analysis.process, the view for the policy's init programs).
_direct(v, p) := {_f(p.line, msg) |
	v.program in process.package_managers
	msg := concat("", [
		"the process (line ", text.str(p.line), ") is started with `",
		concat(" ", array.slice(v.command, 0, 3)), "`", _script_note(v.script), "; run node directly",
	])
}

_in_shell(a, p) := {_f(p.line, msg) |
	some c in a.package_manager_calls
	c.next in {"start", "run", "run-script", "restart"}
	msg := concat("", [
		"the process (line ", text.str(p.line), ") runs `", c.word, " ", c.next,
		"` in a shell command; run node directly",
	])
}

_script_note(null) := ""

_script_note(s) := concat("", [" (package.json script ", s.name, " runs `", s.text, "`)"]) if s != null

_f(line, msg) := {"rule_id": "NRA010", "line": line, "message": msg}
