# METADATA
# title: Image and container fixtures and helper tests
# description: |
#   A compliant kind image and kind container facts document (docs/contracts.md
#   section 7, every key of policies/schema/image.schema.json present) that the
#   image/container rule tests derive bad variants from, and tests of the helpers.
#   Tests only (OPA): object.union merges recursively here.
package refarch.lib.imagefacts_test

import data.refarch.lib.imagefacts

ctx := {"date": "2026-11-28", "config": data.refarch.config}

ctx_on(date) := {"date": date, "config": data.refarch.config}

ctx_with(patch) := {"date": "2026-11-28", "config": object.union(data.refarch.config, patch)}

ref(raw, registry, repository, tag, digest) := {
	"raw": raw, "resolved": raw, "registry": registry, "repository": repository, "tag": tag,
	"digest": digest, "unresolved": false, "scratch": false,
}

base_ref := ref("docker.io/library/node:22.11.0-bookworm-slim", "docker.io", "library/node", "22.11.0-bookworm-slim", null)

app_ref := ref("localhost/app:1", "localhost", "app", "1", null)

no_heap := {"raw": null, "mb": null, "source": null, "from_env": null}

user(raw, name, uid, source, is_root) := {
	"raw": raw, "name": name, "group": null, "uid": uid, "line": null, "source": source, "is_root": is_root,
}

port(n, protocol) := {
	"port": n, "end_port": n, "protocol": protocol, "raw": concat("/", [format_int(n, 10), protocol]),
	"line": null, "resolved": true,
}

proc(argv, form, shell_command, init, wrappers, command) := {
	"argv": argv, "form": form, "shell_command": shell_command, "line": null, "init": init,
	"wrappers": wrappers, "command": command,
}

good_process := proc(
	["/usr/bin/tini", "--", "node", "--max-old-space-size=384", "server.js"], "exec", null, "tini", [],
	["node", "--max-old-space-size=384", "server.js"],
)

# A compliant image: non-root user, unprivileged port, tini, heap limit, pinned official
# Debian-based Node.js 22 base, 200 MiB.
image := {
	"schema_version": "1.0", "kind": "image", "engine": "podman",
	"id": "sha256:1111111111111111111111111111111111111111111111111111111111111111",
	"short_id": "111111111111", "image": "localhost/app:1", "tags": ["localhost/app:1"], "refs": [app_ref],
	"digests": [], "digest": null, "dangling": false, "size": 209715200, "size_mb": 200.0,
	"created": "2026-11-27T10:00:00Z", "created_epoch": 1795780800.0, "age_days": null,
	"architecture": "amd64", "os": "linux", "variant": null, "author": null,
	"user": user("node", "node", null, "config", false),
	"exposed_ports": [port(8080, "tcp")],
	"env": {
		"NODE_VERSION": {"value": "22.11.0", "line": null, "redacted": false},
		"PORT": {"value": "8080", "line": null, "redacted": false},
	},
	"entrypoint": {"form": "exec", "argv": ["/usr/bin/tini", "--"], "raw": "/usr/bin/tini --", "line": null},
	"cmd": {
		"form": "exec", "argv": ["node", "--max-old-space-size=384", "server.js"],
		"raw": "node --max-old-space-size=384 server.js", "line": null,
	},
	"process": good_process,
	"workdir": "/app", "stop_signal": null, "shell": null, "labels": {},
	"annotations": {"org.opencontainers.image.base.name": "docker.io/library/node:22.11.0-bookworm-slim"},
	"healthcheck": null, "layer_count": 3, "layers": [], "history_count": 6, "history": [],
	"history_truncated": false,
	"node": {"version": "22.11.0", "major": 22, "source": "env", "source_key": "NODE_VERSION", "probe": null},
	"heap_limit": {"raw": "384", "mb": 384, "source": "command", "from_env": null},
	"base": {
		"name": "docker.io/library/node:22.11.0-bookworm-slim", "digest": null, "source": "annotation",
		"ref": base_ref,
	},
	"dockerfile": null, "problems": [], "error": null,
}

# A compliant running container of that image: --init, 512 MiB limit for a 384 MiB heap.
container := {
	"schema_version": "1.0", "kind": "container", "engine": "docker",
	"id": "2222222222222222222222222222222222222222222222222222222222222222", "short_id": "222222222222",
	"name": "web", "image": "localhost/app:1",
	"image_id": "sha256:1111111111111111111111111111111111111111111111111111111111111111",
	"state": "running", "running": true, "exit_code": 0, "health": null,
	"created": "2026-11-28T09:00:00Z", "started_at": "2026-11-28T09:00:01Z",
	"user": user("node", "node", null, "config", false),
	"env": {"NODE_VERSION": {"value": "22.11.0", "line": null, "redacted": false}},
	"labels": {},
	"process": proc(
		["node", "--max-old-space-size=384", "server.js"], "exec", null, null, [],
		["node", "--max-old-space-size=384", "server.js"],
	),
	"pid1": "node",
	"init": {"flag": true, "process": null, "effective": true},
	"memory_limit": 536870912, "memory_limit_mb": 512.0, "memory_swap_limit": null,
	"node": {"is_node": true, "version": "22.11.0", "major": 22, "source": "env"},
	"heap_limit": {"raw": "384", "mb": 384, "source": "command", "from_env": null},
	"heap_exceeds_memory": false,
	"exposed_ports": [port(8080, "tcp")],
	"published_ports": [{"container_port": 8080, "protocol": "tcp", "host_ip": null, "host_port": 80}],
	"privileged": false, "readonly_rootfs": false, "cap_add": [], "cap_drop": [], "network_mode": "bridge",
	"pids_limit": null, "restart_policy": {"name": "always", "maximum_retry_count": 0},
	"image_facts": {
		"id": "sha256:1111111111111111111111111111111111111111111111111111111111111111",
		"image": "localhost/app:1", "dockerfile": null,
		"base": {
			"name": "docker.io/library/node:22.11.0-bookworm-slim", "digest": null, "source": "annotation",
			"ref": base_ref,
		},
	},
	"problems": [], "error": null,
}

# Rule ids a findings set holds.
ids(fs) := {f.rule_id | some f in fs}

# Rule ids of the first document of a main.batch result.
first_ids(out) := {f.rule_id | some f in out[0]}

batch_input(doc) := {"documents": [doc], "evaluation_date": "2026-11-28", "config": {}}

test_subject_and_reference if {
	imagefacts.subject(image) == "image localhost/app:1"
	imagefacts.subject(container) == "container web (localhost/app:1)"
	imagefacts.subject(object.union(container, {"name": null})) == "container 222222222222 (localhost/app:1)"
	imagefacts.reference(object.union(image, {"image": null})) == image.id
}

test_program_words_and_node if {
	imagefacts.program_argv(image) == ["node", "--max-old-space-size=384", "server.js"]
	imagefacts.program_words(object.union(image, {"process": {"command": ["node server.js"]}})) == ["node", "server.js"]
	imagefacts.runs_node(image)
	not imagefacts.runs_node(object.union(image, {"process": {"command": ["/bin/bash"]}}))
	imagefacts.program_argv(object.union(image, {"process": null})) == []
	imagefacts.is_node(object.union(image, {"process": null}))
	imagefacts.is_node(object.union(container, {"process": null, "node": {"version": null}}))
	not imagefacts.is_node(object.union(image, {"process": null, "node": {"version": null}}))
}

test_parse_ref_docker_defaults if {
	r := imagefacts.parse_ref("node")
	[r.registry, r.repository, r.tag, r.digest] == ["docker.io", "library/node", null, null]
	s := imagefacts.parse_ref("node:20-alpine")
	[s.repository, s.tag] == ["library/node", "20-alpine"]
	t := imagefacts.parse_ref("localhost:5000/team/app:2@sha256:abc")
	[t.registry, t.repository, t.tag, t.digest] == ["localhost:5000", "team/app", "2", "sha256:abc"]
	u := imagefacts.parse_ref("myorg/app")
	[u.registry, u.repository] == ["docker.io", "myorg/app"]
	v := imagefacts.parse_ref("docker.io/library/node:22")
	[v.registry, v.repository, v.tag] == ["docker.io", "library/node", "22"]
	not imagefacts.parse_ref("sha256:1111111111111111111111111111111111111111111111111111111111111111")
	not imagefacts.parse_ref("")
}

test_base_sources if {
	imagefacts.base(image).how == "built from"
	imagefacts.base(container).how == "built from"
	own := object.union(image, {"base": null, "refs": [base_ref]})
	imagefacts.base(own) == {"ref": base_ref, "how": "is"}
	ubi := object.union(image, {"base": null, "labels": {"name": "ubi9/nodejs-20"}})
	imagefacts.base(ubi).how == "labelled"
	imagefacts.base(ubi).ref.repository == "ubi9/nodejs-20"
	started := object.union(container, {"image_facts": null, "image": "node:22-bookworm-slim"})
	imagefacts.base(started).how == "started from"
	not imagefacts.base(object.union(image, {"base": null}))
	not imagefacts.base(object.union(container, {"image_facts": null}))
}

test_release_line_and_source if {
	imagefacts.release_line(image) == "22"
	imagefacts.release_line(object.union(image, {"node": {"version": "v0.12.18"}})) == "0.12"
	not imagefacts.release_line(object.union(image, {"node": {"version": null}}))
	imagefacts.node_source(image) == " from env NODE_VERSION"
	imagefacts.node_source(container) == " from env"
	imagefacts.node_source(object.union(container, {"node": {"source": null}})) == ""
}

test_ports if {
	doc := object.union(image, {"exposed_ports": [
		port(80, "tcp"),
		{"port": 20, "end_port": 25, "protocol": "tcp", "raw": "20-25/tcp", "line": null, "resolved": true},
		{"port": null, "end_port": null, "protocol": "tcp", "raw": "http", "line": null, "resolved": false},
	]})
	[imagefacts.port_label(p) | some p in imagefacts.low_ports(doc, 1024)] == ["80/tcp", "20-25/tcp"]
	count(imagefacts.forbidden_ports(doc, [22])) == 1
	count(imagefacts.unresolved_ports(doc)) == 1
	imagefacts.env_port_numbers(image, ["PORT"]) == [["PORT", 8080]]
}

test_heap if {
	imagefacts.heap_mb(image) == 384
	shell := object.union(container, {
		"process": {"form": "shell"},
		"heap_limit": {"raw": "$HEAP", "mb": null, "source": "command", "from_env": "HEAP"},
		"env": {"HEAP": {"value": "1024", "line": null, "redacted": false}},
	})
	imagefacts.heap_mb(shell) == 1024
	not imagefacts.heap_unexpanded(shell)
	imagefacts.heap_unexpanded(object.union(shell, {"process": {"form": "exec"}}))
	imagefacts.heap_unexpanded(object.union(shell, {"heap_limit": {"source": "NODE_OPTIONS"}}))
}

test_init_documented if {
	imagefacts.init_documented(object.union(image, {"labels": {"refarch.init": "true"}}), ["refarch.init"])
	not imagefacts.init_documented(image, ["refarch.init"])
}

# The whole bundle: compliant documents get no finding, image and container are not fatal kinds.
test_main_good_documents_are_compliant if {
	out := data.refarch.main.batch with input as {"documents": [image, container], "evaluation_date": "2026-11-28"}
	out == [[], []]
}

test_main_bad_image_gets_image_rules if {
	bad := object.union(image, {
		"user": user("", null, 0, "default", true),
		"exposed_ports": [port(80, "tcp")],
		"process": proc(["npm", "start"], "exec", null, null, [], ["npm", "start"]),
		"heap_limit": no_heap,
	})
	out := data.refarch.main.batch with input as batch_input(bad)
	first_ids(out) == {"NRA001", "NRA002", "NRA007", "NRA009", "NRA010"}
}

test_main_image_error_is_nra000_only if {
	bad := object.union(image, {"error": {"code": "inspect_failed", "message": "gone"}})
	out := data.refarch.main.batch with input as batch_input(bad)
	first_ids(out) == {"NRA000"}
}
