# METADATA
# title: Use multi-stage builds
# description: |
#   Dependency installs that include development dependencies, build steps
#   (npm run build, tsc, webpack ...) and compiler toolchains belong in a build
#   stage; the runtime image should only receive the results (COPY --from). This
#   rule looks at the final stage and the stages it is built FROM.
# related_resources:
#   - ref: https://nodeshift.dev/nodejs-reference-architecture/development/building-good-containers/#use-multi-stage-builds
#     description: Use multi-stage builds
# custom:
#   id: NRA003
#   severity: medium
#   recommended_action: >-
#     Move the install/build into a build stage and COPY --from=build only the built application and
#     production node_modules into the runtime stage.
#   fix: split_multi_stage
#   aliases: []
#   category: size
#   advisory: false
package refarch.rules.nra003

import data.refarch.lib.text

import data.refarch.lib.facts
import data.refarch.lib.shellcmd

# findings(doc, ctx) for Dockerfiles (ctx unused here; the signature is the rule interface).
# regal ignore:argument-always-wildcard
findings(doc, _) := {f |
	doc.final_stage != null
	some f in _runtime_build_steps(doc)
} if doc.kind == "dockerfile"

_runtime_build_steps(doc) := {_f(i.start_line, msg) |
	single := count(doc.stages) == 1
	some i in facts.chain_instructions(doc)
	i.cmd == "RUN"
	some what in _build_kinds(doc, i)
	msg := concat("", ["RUN at line ", text.str(i.start_line), " ", text.str(what), " in ", text.str(_where(single))])
}

_where(true) := "the only stage, so it ships in the runtime image; do it in a build stage"

_where(false) := "the final (runtime) stage; do it in a build stage and COPY --from the result"

_build_kinds(doc, i) := {w |
	cmdline := shellcmd.run_text(i)
	shellcmd.relevant(cmdline)
	segs := shellcmd.segments(cmdline)
	some w in ((_dev_install(doc, segs) | _build_script(segs)) | _toolchain(segs))
}

_dev_install(doc, segs) := {concat("", ["installs development dependencies (", text.str(m), ")"]) |
	not _node_env_production(doc)
	not shellcmd.production_install(segs)
	some m in shellcmd.installs(segs)
}

_node_env_production(doc) if doc.final_stage.env.NODE_ENV.value == "production"

_build_script(segs) := {concat("", [
	"runs a build step (", text.str(m), ")",
]) |
	some m in shellcmd.build_steps(segs)
}

_toolchain(segs) := {concat("", ["installs build toolchain packages (", text.str(concat(", ", m)), ")"]) |
	m := shellcmd.toolchain_packages(segs)
	count(m) > 0
}

_f(line, msg) := {"rule_id": "NRA003", "line": line, "message": msg}
