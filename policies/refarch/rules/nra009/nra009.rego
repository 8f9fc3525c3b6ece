# METADATA
# title: Set the heap limit from an environment variable
# description: |
#   The Node.js heap default does not follow the container's memory limit. Set
#   --max-old-space-size from an environment variable so it can match the memory
#   given to the container: in NODE_OPTIONS, in a CMD/ENTRYPOINT that goes through
#   a shell ($VAR is not expanded in exec form), or in the package.json script
#   the process runs.
#
#   The fix (set_heap_limit) makes the limit follow the memory the container is
#   given when it starts, not a constant: one RUN writes a small POSIX sh script,
#   /usr/local/bin/node-heap-from-cgroup, which the ENTRYPOINT runs in front of the
#   command (behind tini or dumb-init when they are there). It reads the cgroup
#   limit (v2 memory.max, else v1 memory.limit_in_bytes), appends
#   --max-old-space-size=<HEAP_MEMORY_PERCENT, default 75, % of it in MiB> to
#   NODE_OPTIONS and execs the command, so node keeps its PID and the signals. 75 %
#   leaves a quarter of the limit for what is not the V8 heap (buffers, code, the
#   stack, native modules) and is the most the container rule accepts
#   (heap_memory_ratio). MAX_NODE_MEMORY (MiB) set at run time wins. Without a limit
#   NODE_OPTIONS keeps the image's --max-old-space-size=<max_node_memory, 1024>,
#   which is also what a process started beside it (docker exec) gets. Where the
#   script cannot be put in front of the command (a shell-form ENTRYPOINT or CMD, an
#   ENTRYPOINT inherited from another stage, a base image that may have no sh) the
#   fix sets that constant through NODE_OPTIONS and says it is partly applied. On a
#   base image that is not an official node or UBI Node.js one, sh is shown by the
#   Dockerfile's own shell-form RUNs on a Linux image (no SHELL of its own), and the
#   script is written as root after the stage's first USER (the base's default user
#   is not known).
# related_resources:
#   - ref: https://nodeshift.dev/nodejs-reference-architecture/development/building-good-containers/#setting-memory-limits
#     description: setting memory limits
# custom:
#   id: NRA009
#   severity: low
#   recommended_action: >-
#     Set ENV NODE_OPTIONS="--max-old-space-size=<MiB>" and override it at run time, or start node
#     with --max-old-space-size=$MAX_NODE_MEMORY from a shell.
#   fix: set_heap_limit
#   aliases: []
#   category: resources
#   advisory: false
#   scope: node
package refarch.rules.nra009

import data.refarch.lib.text

import data.refarch.lib.process

findings(doc, ctx) := {f |
	doc.final_stage != null
	a := doc.analysis.process
	s := _script(a, ctx)
	not _bound(a, s)
	f := {"rule_id": "NRA009", "line": a.line, "message": _message(a, s)}
} if doc.kind == "dockerfile"

# Images and containers: the bodies are in the _image.rego file of this package, under
# their own name (one function defined across two files trips up some Rego engines), as the
# else of the Dockerfile body (rego-cpp would test every body of every document).
else := image_findings(doc, ctx) if doc.kind != "dockerfile"

# The package.json script the process runs (heap flags read on the host), or no flags at all.
_script(a, ctx) := s if {
	s := process.view(a, ctx.config.init_processes).script
	s != null
}

else := {"heap_limit": false, "heap_limit_from_variable": false, "node_options_from_variable": false}

_bound(a, _) if a.node_options.heap_limit

_bound(a, _) if {
	a.through_shell
	a.heap_limit_from_variable
}

_bound(_, s) if s.heap_limit_from_variable

_bound(_, s) if s.node_options_from_variable

_message(a, s) := msg if {
	not a.through_shell
	a.heap_limit_from_variable
	msg := concat("", [
		"--max-old-space-size refers to an environment variable in the exec-form command (line ",
		text.str(a.line), "), where $VARIABLES are not expanded",
	])
}

else := msg if {
	a.heap_limit
	msg := concat("", [
		"--max-old-space-size is hard-coded in the command (line ", text.str(a.line),
		"); take it from an environment variable so it can match the container's memory limit",
	])
}

else := msg if {
	s.heap_limit
	msg := concat("", [
		"--max-old-space-size is hard-coded in the package.json script the process runs; ",
		"take it from an environment variable",
	])
}

else := concat("", [
	"no --max-old-space-size set from an environment variable ",
	"(NODE_OPTIONS, CMD/ENTRYPOINT or the package.json start script): ",
	"the heap limit will not follow the container's memory limit",
])
