# METADATA
# title: Process (argv) helpers
# description: |
#   Helpers over the final stage's process (ENTRYPOINT + CMD as docker runs it).
#   The words, the command behind wrappers and the package.json script it runs
#   are read on the host (doc.analysis.process); `view` picks the reading that
#   matches the policy's init programs.
package refarch.lib.process

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

# The basename of argv[0] when it is one of the init programs `inits`.
init_wrapper(doc, inits) := name if {
	a := argv(doc)
	count(a) > 0
	name := basename(a[0])
	name in inits
}

# The host's reading of the process (doc.analysis.process) under the policy's init programs:
# with an init wrapper as argv[0] the program is what follows its options.
view(a, inits) := a.as_init if a.first in inits

else := a.direct
