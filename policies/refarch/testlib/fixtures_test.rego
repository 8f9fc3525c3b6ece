# METADATA
# title: Test fixtures
# description: |
#   A compliant two-stage Dockerfile facts document (docs/contracts.md section 2)
#   and helpers that derive bad variants from it. Tests only (OPA): object.union
#   merges recursively here.
package refarch.testlib

_ref(raw, repo, tag) := {
	"raw": raw, "resolved": raw, "registry": "docker.io", "repository": repo,
	"tag": tag, "digest": null, "unresolved": false, "scratch": false,
}

node22 := _ref("node:22.11.0-bookworm-slim", "library/node", "22.11.0-bookworm-slim")

ref(raw, repo, tag) := _ref(raw, repo, tag)

ins(cmd, line, stage, value) := {
	"cmd": cmd, "sub_cmd": null, "json": false, "original": concat(" ", array.concat([cmd], value)),
	"start_line": line, "end_line": line, "flags": [], "value": value, "heredocs": [], "stage": stage,
}

exec_ins(cmd, line, stage, value) := object.union(ins(cmd, line, stage, value), {"json": true})

flag_ins(cmd, line, stage, flags, value) := object.union(ins(cmd, line, stage, value), {"flags": flags})

instructions := [
	ins("FROM", 1, 0, ["node:22.11.0-bookworm-slim", "AS", "build"]),
	ins("WORKDIR", 2, 0, ["/app"]),
	ins("COPY", 3, 0, ["package.json", "package-lock.json", "./"]),
	ins("RUN", 4, 0, ["npm ci"]),
	ins("COPY", 5, 0, [".", "."]),
	ins("RUN", 6, 0, ["npm run build"]),
	ins("FROM", 8, 1, ["node:22.11.0-bookworm-slim"]),
	ins("RUN", 9, 1, ["apt-get update && apt-get install -y --no-install-recommends tini"]),
	ins("WORKDIR", 10, 1, ["/app"]),
	ins("ENV", 11, 1, ["NODE_OPTIONS", "--max-old-space-size=384 --heapsnapshot-signal=SIGUSR2"]),
	ins("COPY", 12, 1, ["package.json", "package-lock.json", "./"]),
	ins("RUN", 13, 1, ["npm ci --omit=dev"]),
	flag_ins("COPY", 14, 1, ["--from=build"], ["/app/dist", "./dist"]),
	ins("USER", 15, 1, ["node"]),
	ins("EXPOSE", 16, 1, ["8080"]),
	exec_ins("ENTRYPOINT", 17, 1, ["/usr/bin/tini", "--"]),
	exec_ins("CMD", 18, 1, ["node", "dist/server.js"]),
]

stages := [
	{
		"index": 0, "name": "build", "line": 1, "platform": null, "base": node22, "from_stage": null,
		"user": null, "workdir": "/app", "env": {}, "args": {}, "instruction_count": 6,
	},
	{
		"index": 1, "name": null, "line": 8, "platform": null, "base": node22, "from_stage": null,
		"user": {"raw": "node", "name": "node", "group": null, "line": 15}, "workdir": "/app",
		"env": {"NODE_OPTIONS": {"value": "--max-old-space-size=384 --heapsnapshot-signal=SIGUSR2", "line": 11, "redacted": false}},
		"args": {}, "instruction_count": 11,
	},
]

final_stage := {
	"index": 1, "name": null, "base": node22, "root_base": node22,
	"user": {"raw": "node", "name": "node", "group": null, "line": 15, "source": "instruction", "uid": null},
	"exposed_ports": [{"port": 8080, "end_port": 8080, "protocol": "tcp", "raw": "8080", "line": 16, "resolved": true}],
	"env": {"NODE_OPTIONS": {"value": "--max-old-space-size=384 --heapsnapshot-signal=SIGUSR2", "line": 11, "redacted": false}},
	"args": {}, "workdir": "/app",
	"entrypoint": {"form": "exec", "argv": ["/usr/bin/tini", "--"], "raw": "[\"/usr/bin/tini\", \"--\"]", "line": 17},
	"cmd": {"form": "exec", "argv": ["node", "dist/server.js"], "raw": "[\"node\", \"dist/server.js\"]", "line": 18},
	"process": {"argv": ["/usr/bin/tini", "--", "node", "dist/server.js"], "form": "exec", "shell_command": null, "line": 18},
	"healthcheck": null, "copies": [], "runs": [],
	"instruction_lines": {"from": 8, "user": [15], "expose": [16], "cmd": [18], "entrypoint": [17], "healthcheck": [], "env": [11]},
}

# A compliant document: no rule fires on it.
good := {
	"schema_version": "1.0", "kind": "dockerfile", "path": "/srv/app/Dockerfile", "name": "Dockerfile",
	"sha256": "0", "size": 1, "mtime": null, "context": "/srv/app", "error": null,
	"directives": {"syntax": null, "escape": "\\", "check": null},
	"instructions": instructions, "global_args": {}, "stages": stages, "final_stage": final_stage,
	"dockerignore": {"path": "/srv/app/.dockerignore", "exists": true, "patterns": ["node_modules", ".git", ".cache"], "error": null},
	"package_json": {
		"path": "/srv/app/package.json", "exists": true, "error": null, "name": "app", "main": "dist/server.js",
		"scripts": {"start": "node dist/server.js", "build": "tsc"}, "engines": {}, "dependencies": 1,
		"dev_dependencies": 1, "type": null,
	},
	"pragmas": [], "problems": [],
	"node_scope": {"classification": "node", "evidence": []},
}

# good with final_stage fields replaced (recursive merge).
with_final(patch) := object.union(good, {"final_stage": patch})

# good with a replaced process (entrypoint/cmd cleared unless given).
with_process(argv, form, line) := with_final({
	"entrypoint": null,
	"cmd": {"form": form, "argv": argv, "raw": concat(" ", argv), "line": line},
	"process": {"argv": argv, "form": form, "shell_command": null, "line": line},
})

# A single-stage document built from the given instructions (stage 0) and final-stage patch.
single(instrs, patch) := object.union(
	object.union(good, {"instructions": instrs, "stages": [object.union(stages[1], {"index": 0, "line": 1})]}),
	{"final_stage": object.union({"index": 0, "instruction_lines": {"from": 1}}, patch)},
)

ctx := {"date": "2026-11-28", "config": data.refarch.config}

ctx_on(date) := {"date": date, "config": data.refarch.config}

ctx_with(patch) := {"date": "2026-11-28", "config": object.union(data.refarch.config, patch)}

# Lines of the findings a rule returned.
lines(fs) := {f.line | some f in fs}

# doc with final_stage[key] replaced (not merged) by value.
set_final(doc, key, value) := object.union(
	object.remove(doc, ["final_stage"]),
	{"final_stage": object.union(object.remove(doc.final_stage, [key]), {key: value})},
)
