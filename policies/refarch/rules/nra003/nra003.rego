# METADATA
# title: Use multi-stage builds
# description: |
#   Dependency installs that include development dependencies, build steps
#   (npm run build, tsc, webpack ...), compiler toolchains and build CLIs
#   (npm i -g typescript, @nestjs/cli) belong in a build stage; the runtime image
#   should only receive the results (COPY --from). This rule looks at the final
#   stage and the stages it is built FROM; an install is a development install
#   unless NODE_ENV=production is in force when that RUN executes or it asks for
#   production dependencies only, and `npm install <named packages>` installs
#   those packages, not the project's dependencies.
#
#   The fix (split_multi_stage) keeps the stage as `build`, prunes the
#   development dependencies in a `production-dependencies` stage and starts a
#   `runtime` stage from the same base, which takes the CMD, ENTRYPOINT, EXPOSE
#   and HEALTHCHECK (on a base that is not an official node or UBI Node.js
#   image, only when the Dockerfile's shell-form RUNs show a Linux image with
#   sh). The runtime stage copies package*.json (and the yarn/pnpm
#   lockfile), production node_modules and the build output that holds the entry
#   point (tsconfig.json's outDir, dist, build, out, .output), or the files
#   package.json lists, plus the run-time directories the context has (public,
#   views, static, templates, assets, locales, i18n, prisma, config,
#   migrations) and the files the process names, and says what stays in the
#   build stage. An application without a build step runs from its sources: the
#   runtime stage takes them from the build context again with the stage's own
#   COPY instructions (through the .dockerignore) and only production
#   node_modules from the pruned build (none without production dependencies),
#   when the install is shown to make nothing else (package.json has no install
#   scripts of its own, the RUNs install the project's dependencies only, the
#   .dockerignore keeps the context's node_modules out). When none of that can
#   be shown (an entry point outside the build output or started by a script,
#   workspaces or local-directory dependencies, a RUN that makes files in the
#   application directory, an unreadable build context) it copies the whole
#   application directory and reports the fix partly applied with the reason.
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
#   scope: node
package refarch.rules.nra003

import data.refarch.lib.text

import data.refarch.lib.shellcmd

# findings(doc, ctx) for Dockerfiles (ctx unused here; the signature is the rule interface).
# regal ignore:argument-always-wildcard
findings(doc, _) := {f |
	doc.final_stage != null
	some f in _runtime_build_steps(doc)
} if doc.kind == "dockerfile"

# RUN steps of the final stage and the stages it is built FROM (doc.analysis.runs, classified on the host).
_runtime_build_steps(doc) := {_f(r.line, msg) |
	single := count(doc.stages) == 1
	some r in doc.analysis.runs
	r.final_chain

	# the four sets of an array rather than their union: no builtin call (regopy pays for each)
	some found in [_dev_install(doc, r), _build_script(r), _toolchain(r), _build_cli(r)]
	some what in found
	msg := concat("", ["RUN at line ", text.str(r.line), " ", what, " in ", _where(single)])
}

_where(true) := "the only stage, so it ships in the runtime image; do it in a build stage"

_where(false) := "the final (runtime) stage; do it in a build stage and COPY --from the result"

# The host reads each install with the NODE_ENV in force when the RUN executes (r.node_env).
_dev_install(doc, r) := {concat("", ["installs development dependencies (", m, ")"]) |
	not _legacy_production(doc, r)
	some m in r.dev_dependency_installs
}

# Facts from collections before per-RUN NODE_ENV (a run without node_env) classified installs
# without it: for them the final stage's NODE_ENV stands for every RUN, as it did.
_legacy_production(doc, r) if {
	object.get(r, "node_env", 0) == 0
	doc.final_stage.env.NODE_ENV.value == "production"
}

_build_cli(r) := {concat("", ["installs build tooling (", concat(", ", m), ")"]) |
	m := sort({_cli_shown(p) | some p in object.get(r, "package_installs", []); p.name in shellcmd.build_clis})
	count(m) > 0
}

_cli_shown(p) := concat("", [p.name, " globally"]) if p.global == true

else := p.name

_build_script(r) := {concat("", ["runs a build step (", m, ")"]) | some m in r.build_steps}

_toolchain(r) := {concat("", ["installs build toolchain packages (", concat(", ", m), ")"]) |
	m := sort({w | some w in r.os_packages; w in shellcmd.toolchain})
	count(m) > 0
}

_f(line, msg) := {"rule_id": "NRA003", "line": line, "message": msg}
