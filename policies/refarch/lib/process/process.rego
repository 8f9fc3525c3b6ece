# METADATA
# title: Process (argv) helpers
# description: |
#   Helpers over the final stage's process (ENTRYPOINT + CMD as docker runs it):
#   the command behind init wrappers, shells and env, tokens, and the
#   package.json script an npm/yarn/pnpm invocation runs.
package refarch.lib.process

import data.refarch.lib.num

shells := {"sh", "bash", "ash", "dash", "zsh"}

package_managers := {"npm", "yarn", "pnpm"}

# (The index goes through a variable: rego-cpp 1.5 does not evaluate arithmetic inside a ref.)
basename(s) := parts[last] if {
	parts := split(s, "/")
	last := count(parts) - 1
}

# The process object of the final stage or undefined.
entry(doc) := p if {
	p := doc.final_stage.process
	is_object(p)
}

# argv of the process (shell form: the best-effort split of the command).
argv(doc) := [a | some a in entry(doc).argv; is_string(a)]

# The argv that actually runs the application, with init wrappers
# (tini, dumb-init ...), `sh -c`, `exec` and `env K=V` peeled off.
command(doc, inits) := _strip_env(_strip_exec(_strip_shell(_strip_init(argv(doc), inits))))

# Whether the process starts with an init wrapper.
init_wrapper(doc, inits) := name if {
	a := argv(doc)
	count(a) > 0
	name := basename(a[0])
	name in inits
}

_strip_init(a, inits) := _after_flags(array.slice(a, 1, count(a))) if {
	count(a) > 0
	basename(a[0]) in inits
}

else := a

_after_flags(t) := array.slice(t, i + 1, count(t)) if {
	dashes := {j | some j; t[j] == "--"}
	count(dashes) > 0
	i := num.min_of(dashes)
}

else := array.slice(t, i, count(t)) if {
	plain := {j | some j; x := t[j]; not startswith(x, "-")}
	count(plain) > 0
	i := num.min_of(plain)
}

else := []

_strip_shell(a) := words(a[2]) if {
	count(a) >= 3
	basename(a[0]) in shells
	regex.match(`^-[a-z]*c$`, a[1])
}

else := a

_strip_exec(a) := array.slice(a, 1, count(a)) if {
	count(a) > 0
	a[0] == "exec"
}

else := a

_strip_env(a) := array.slice(a, i, count(a)) if {
	count(a) > 0
	basename(a[0]) == "env"

	# `some j, x in` is not used inside comprehensions: rego-cpp 1.5 cannot parse it there
	plain := {j |
		some j
		x := a[j] # regal ignore:prefer-some-in-iteration
		j > 0
		not contains(x, "=")
		not startswith(x, "-")
	}
	count(plain) > 0
	i := num.min_of(plain)
}

else := a

# Whitespace-separated words of a command string.
words(s) := [w | some w in regex.split(`\s+`, replace(replace(s, "\n", " "), "\t", " ")); w != ""]

# Every word that appears in the process (argv elements split on whitespace).
tokens(doc) := [w | some a in argv(doc); some w in words(a)]

# Whether the process goes through a shell (shell form, or exec form `sh -c`),
# so that $VARIABLES are expanded at run time.
through_shell(doc) if entry(doc).form == "shell"

through_shell(doc) if {
	a := argv(doc)
	count(a) >= 3
	some i, x in a
	basename(x) in shells
	j := i + 1
	regex.match(`^-[a-z]*c$`, a[j])
}

# The package.json script a package-manager command runs: [name, text], or undefined.
script(doc, cmd) := [name, text] if {
	count(cmd) >= 2
	basename(cmd[0]) in package_managers
	name := _script_name(cmd)
	text := doc.package_json.scripts[name]
	is_string(text)
}

_script_name(cmd) := cmd[1] if cmd[1] in {"start", "test", "restart", "stop"}

else := cmd[2] if {
	cmd[1] in {"run", "run-script", "rum", "urn"}
	count(cmd) >= 3
}

else := cmd[1] if basename(cmd[0]) in {"pnpm", "yarn"}
