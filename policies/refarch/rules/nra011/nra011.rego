# METADATA
# title: Use the exec form for CMD and ENTRYPOINT
# description: |
#   In shell form, /bin/sh -c is PID 1 and does not forward SIGTERM to node, so
#   the application is killed instead of shutting down cleanly. CMD and
#   ENTRYPOINT of the final image must use the exec (JSON array) form; a shell
#   command that starts with `exec` hands PID 1 to the program and is accepted,
#   and an exec-form `sh -c` wrapper without `exec` is reported. A finding points
#   at the line to change: a shell-form ENTRYPOINT (it ignores CMD), else the
#   shell-form CMD, also under an exec-form ENTRYPOINT, which receives the CMD as
#   `/bin/sh -c <command>`: the ENTRYPOINT (an init, a script that runs its
#   arguments) is right and stays; written as a JSON array, the CMD reaches it as
#   the program and its arguments. When the ENTRYPOINT is node or a package
#   manager itself, no shell runs: it gets `/bin/sh -c ...` as its arguments.
# related_resources:
#   - ref: https://nodeshift.dev/nodejs-reference-architecture/development/building-good-containers/#avoiding-using-npm-to-start-application
#     description: avoiding using npm to start application (signals and child processes)
#   - ref: https://github.com/nodejs/docker-node/blob/main/docs/BestPractices.md#cmd
#     description: Docker and Node.js best practices, CMD
# custom:
#   id: NRA011
#   severity: medium
#   recommended_action: Write CMD/ENTRYPOINT as a JSON array, for example CMD ["node", "server.js"].
#   fix: exec_form_cmd
#   aliases: [DL3025]
#   category: reliability
#   advisory: false
#   scope: neutral
package refarch.rules.nra011

import data.refarch.lib.text

import data.refarch.lib.process
import data.refarch.lib.scope

# findings(doc, ctx) for Dockerfiles.
findings(doc, ctx) := {f |
	doc.final_stage != null
	some f in (_shell_form(doc, ctx) | _sh_wrapper(doc))
} if doc.kind == "dockerfile"

# Images and containers: the bodies are in the _image.rego file of this package, under
# their own name (one function defined across two files trips up some Rego engines), as the
# else of the Dockerfile body (rego-cpp would test every body of every document).
else := image_findings(doc, ctx) if doc.kind != "dockerfile"

_shell_form(doc, ctx) := {_f(x.line, msg) |
	some name in _judged(doc)
	x := doc.final_stage[name]
	is_object(x)
	x.form == "shell"
	not _execs(x.raw)
	msg := concat("", [
		text.str(upper(name)), " in shell form at line ", text.str(x.line), _shell_effect(doc, name, ctx),
		"; use the exec (JSON array) form",
	])
}

# What decides the process: a shell-form ENTRYPOINT ignores CMD, so only the ENTRYPOINT is judged.
_judged(doc) := ["entrypoint"] if doc.final_stage.entrypoint.form == "shell"

else := ["entrypoint", "cmd"]

# A CMD under an exec-form ENTRYPOINT is its arguments: the ENTRYPOINT's program is PID 1, and the CMD
# (this line) is the one to change. An ENTRYPOINT that is node or a package manager does not run its
# arguments: it gets `/bin/sh -c ...` as arguments (no shell runs, the command does not either).
_shell_effect(doc, name, ctx) := msg if {
	name == "cmd"
	ep := doc.final_stage.entrypoint
	is_object(ep)
	program := _program(ep.argv, ctx.config.init_processes)
	program in ({"node", "nodejs"} | process.package_managers)
	msg := concat("", [
		": the ENTRYPOINT (line ", text.str(ep.line), ") runs ", program,
		", which gets /bin/sh -c and the command as its arguments instead of a command to run",
	])
} else := msg if {
	name == "cmd"
	ep := doc.final_stage.entrypoint
	is_object(ep)
	msg := concat("", [
		": the ENTRYPOINT (line ", text.str(ep.line), ") receives it as /bin/sh -c, ",
		"and the shell between PID 1 and ", scope.program_word(doc), " does not pass SIGTERM on; ",
		"the ENTRYPOINT can stay",
	])
} else := concat("", [": /bin/sh -c runs as PID 1 and does not pass SIGTERM to ", scope.program_word(doc)])

# The program an exec-form ENTRYPOINT runs: its first word, or past an init and the init's options.
_program(argv, inits) := process.basename(rest[0]) if {
	count(argv) > 0
	process.basename(argv[0]) in inits
	rest := _after_options(array.slice(argv, 1, count(argv)))
	count(rest) > 0
} else := process.basename(argv[0]) if count(argv) > 0

_after_options(words) := array.slice(words, seps[0] + 1, count(words)) if {
	seps := [j | some j; words[j] == "--"]
	count(seps) > 0
} else := array.slice(words, plain[0], count(words)) if {
	plain := [j | some j; w := words[j]; not startswith(w, "-")]
	count(plain) > 0
} else := []

_sh_wrapper(doc) := {_f(x.line, msg) |
	some name in _judged(doc)
	x := doc.final_stage[name]
	is_object(x)
	x.form == "exec"
	count(x.argv) >= 3
	process.basename(x.argv[0]) in process.shells
	regex.match(`^-[a-z]*c$`, x.argv[1])
	not _execs(x.argv[2])
	msg := concat("", [
		text.str(upper(name)), " at line ", text.str(x.line), " runs the command through ", text.str(x.argv[0]),
		" -c without exec, so the shell stays PID 1 and does not pass SIGTERM on",
	])
}

_execs(cmd) if {
	is_string(cmd)
	regex.match(`^\s*exec\s`, cmd)
	not regex.match(`&&|;|\|`, cmd)
}

_f(line, msg) := {"rule_id": "NRA011", "line": line, "message": msg}
