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
package refarch.rules.nra010

import data.refarch.lib.text

import data.refarch.lib.process

# findings(doc, ctx) for Dockerfiles.
findings(doc, ctx) := {f |
	p := process.entry(doc)
	some f in _either(doc, ctx, p)
} if doc.kind == "dockerfile"

_either(doc, ctx, p) := d if {
	d := _direct(doc, ctx, p)
	count(d) > 0
}

else := _in_shell(doc, p)

_direct(doc, ctx, p) := {_f(p.line, msg) |
	cmd := process.command(doc, ctx.config.init_processes)
	count(cmd) > 0
	process.basename(cmd[0]) in process.package_managers
	msg := concat("", [
		"the process (line ", text.str(p.line), ") is started with `",
		text.str(concat(" ", array.slice(cmd, 0, 3))), "`", text.str(_script_note(doc, cmd)), "; run node directly",
	])
}

# `cd /app && npm start` and similar shell commands.
_in_shell(doc, p) := {_f(p.line, msg) |
	t := process.tokens(doc)

	# `some i, w in` is not used inside comprehensions: rego-cpp 1.5 cannot parse it there
	some i
	w := t[i] # regal ignore:prefer-some-in-iteration
	i > 0
	process.basename(w) in process.package_managers
	j := i + 1
	t[j] in {"start", "run", "run-script", "restart"}
	msg := concat("", [
		"the process (line ", text.str(p.line), ") runs `", text.str(w), " ", text.str(t[j]),
		"` in a shell command; run node directly",
	])
}

_script_note(doc, cmd) := concat("", [
	" (package.json script ", s[0], " runs `", s[1], "`)",
]) if s := process.script(doc, cmd)

else := ""

_f(line, msg) := {"rule_id": "NRA010", "line": line, "message": msg}
