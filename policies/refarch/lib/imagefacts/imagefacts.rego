# METADATA
# title: Image and container facts helpers
# description: |
#   Helpers over kind image / kind container facts documents (docs/contracts.md
#   section 7, policies/schema/image.schema.json): the reference shown in
#   messages, the program that runs, whether it is Node.js, ports, the base image
#   and the Node.js release line. Self-contained on purpose: the Dockerfile
#   helpers in refarch.lib read a different document shape.
package refarch.lib.imagefacts

import data.refarch.lib.text

# Programs that mean "Node.js runs here" when they start the process.
node_programs := {"node", "nodejs", "npm", "npx", "yarn", "pnpm", "corepack", "ts-node", "nodemon"}

pm_programs := {"npm", "yarn", "pnpm"}

# Subcommands of a package manager that start the application.
start_words := {"start", "run", "run-script", "restart", "exec"}

# Last path segment (the index goes through a variable: rego-cpp 1.5 cannot do arithmetic inside a ref).
prog_name(s) := parts[last] if {
	parts := split(s, "/")
	last := count(parts) - 1
}

# "image localhost/app:1" or "container web (localhost/app:1)", for messages.
subject(doc) := concat("", ["image ", reference(doc)]) if doc.kind == "image"

subject(doc) := concat("", ["container ", text.str(_container_name(doc)), " (", reference(doc), ")"]) if {
	doc.kind == "container"
}

_container_name(doc) := doc.name if is_string(doc.name)

else := doc.short_id

# The image reference (tag, digest reference or id) the document is about.
reference(doc) := doc.image if is_string(doc.image)

else := text.str(object.get(doc, "id", null))

# The process object, or undefined.
process(doc) := p if {
	p := doc.process
	is_object(p)
}

# The program argv behind init, docker-entrypoint.sh and sh -c ([] when nothing runs).
program_argv(doc) := [w | some w in process(doc).command; is_string(w)]

# Every word of the program argv (exec-form elements may hold several words).
program_words(doc) := [w | some a in program_argv(doc); some w in regex.split(`\s+`, a); w != ""]

# The whole argv as one string for messages.
argv_text(doc) := concat(" ", [w | some w in process(doc).argv; is_string(w)])

# The process starts Node.js (directly, through a package manager, or in a shell command).
runs_node(doc) if {
	some w in program_words(doc)
	prog_name(w) in node_programs
}

# The document is about Node.js: it runs it, or it carries a Node.js version.
is_node(doc) if runs_node(doc)

is_node(doc) if is_string(doc.node.version)

is_node(doc) if doc.node.is_node == true

# Exposed ports (resolved) below the floor.
low_ports(doc, port_floor) := [p |
	some p in doc.exposed_ports
	p.resolved == true
	is_number(p.port)
	p.port < port_floor
]

# [port entry, forbidden port] for entries whose range covers a forbidden port.
forbidden_ports(doc, ports) := [[p, n] |
	some p in doc.exposed_ports
	p.resolved == true
	is_number(p.port)
	some n in ports
	p.port <= n
	n <= _end(p)
]

_end(p) := p.end_port if is_number(p.end_port)

else := p.port

# Exposed port entries that could not be read as a port number.
unresolved_ports(doc) := [p | some p in doc.exposed_ports; p.resolved != true]

# "80/tcp" or "8000-8010/udp"
port_label(p) := concat("", [text.str(p.port), "/", text.str(p.protocol)]) if _end(p) == p.port

else := concat("", [text.str(p.port), "-", text.str(p.end_port), "/", text.str(p.protocol)])

# Port-like environment variables with a plain number: [[name, number], ...]
env_port_numbers(doc, names) := [[name, to_number(e.value)] |
	some name in names
	e := doc.env[name]
	e.redacted != true
	is_string(e.value)
	regex.match(`^[0-9]{1,5}$`, e.value)
]

# An image reference string split with docker's defaults, in the ImageRef shape.
# Undefined for an image id (sha256:... or bare hex), which pins the image already.
parse_ref(s) := {
	"raw": s, "resolved": s, "registry": parts.registry, "repository": parts.repository,
	"tag": parts.tag, "digest": parts.digest, "unresolved": false, "scratch": false,
} if {
	is_string(s)
	s != ""
	not is_image_id(s)
	parts := _split_ref(s)
}

is_image_id(s) if regex.match(`^(sha256:)?[0-9a-f]{12,64}$`, s)

_split_ref(s) := {"registry": reg, "repository": repo, "tag": tag, "digest": digest} if {
	at := split(s, "@")
	digest := _second(at)
	name := at[0]
	segs := split(name, "/")
	last := count(segs) - 1
	tag := _tag(segs[last])
	bare := _untagged(name, tag)
	reg := _registry(split(bare, "/"))
	repo := _repository(split(bare, "/"), reg)
}

_untagged(name, null) := name

_untagged(name, tag) := trim_suffix(name, concat("", [":", tag])) if is_string(tag)

_second(xs) := xs[1] if count(xs) > 1

else := null

_tag(last) := t if {
	p := split(last, ":")
	count(p) == 2
	t := p[1]
}

else := null

# docker: the first segment is a registry when there are several and it has a dot, a colon or is localhost.
_registry(segs) := segs[0] if {
	count(segs) > 1
	regex.match(`[.:]|^localhost$`, segs[0])
}

else := "docker.io"

_repository(segs, "docker.io") := concat("/", ["library", segs[0]]) if count(segs) == 1

_repository(segs, reg) := concat("/", array.slice(segs, 1, count(segs))) if {
	count(segs) > 1
	segs[0] == reg
}

_repository(segs, reg) := concat("/", segs) if {
	count(segs) > 1
	segs[0] != reg
}

# registry/repository:tag@digest of a reference, for messages.
ref_display(ref) := ref.resolved if is_string(ref.resolved)

else := text.str(ref.raw)

official_node_ref(ref) if {
	ref.registry in {"docker.io", "index.docker.io", "registry-1.docker.io"}
	ref.repository == "library/node"
}

ubi_nodejs_ref(ref) if regex.match(`^(.*/)?(ubi[0-9]+|rhel[0-9]+)/nodejs-[0-9]+(-minimal)?$`, ref.repository)

# Names of the configured recommended families (config recommended_families) the reference is in.
families(ref, fams) := [f.name |
	some f in fams
	_fam_registry_ok(ref, f)
	regex.match(f.repository_regex, ref.repository)
	not _fam_tag_excluded(ref, f)
]

_fam_registry_ok(_, f) if count(f.registries) == 0

_fam_registry_ok(ref, f) if ref.registry in f.registries

_fam_tag_excluded(ref, f) if {
	f.exclude_tag_regex != ""
	is_string(ref.tag)
	regex.match(f.exclude_tag_regex, ref.tag)
}

# The base image the document can be tied to: {"ref", "how"} or undefined when unknown.
# how: "built from" (OCI base annotation/label), "is" (the image is itself a Node.js
# base image), "labelled" (Red Hat `name` label of a UBI/RHEL Node.js image),
# "started from" (a container's own image reference, when that is a Node.js base image).
base(doc) := cands[0] if {
	cands := array.concat(array.concat(_annotated(doc), _itself(doc)), _ubi_label(doc))
	count(cands) > 0
}

_annotated(doc) := [{"ref": doc.base.ref, "how": "built from"}] if {
	doc.kind == "image"
	is_object(doc.base)
	is_object(doc.base.ref)
}

else := [{"ref": doc.image_facts.base.ref, "how": "built from"}] if {
	doc.kind == "container"
	is_object(doc.image_facts.base.ref)
}

else := []

_itself(doc) := [{"ref": r, "how": "is"} |
	some r in doc.refs
	_node_base(r)
] if doc.kind == "image"

_itself(doc) := [{"ref": r, "how": "started from"} |
	r := parse_ref(doc.image)
	_node_base(r)
] if doc.kind == "container"

_node_base(r) if official_node_ref(r)

_node_base(r) if ubi_nodejs_ref(r)

_ubi_label(doc) := [{"ref": r, "how": "labelled"} |
	name := doc.labels.name
	is_string(name)
	regex.match(`^(ubi[0-9]+|rhel[0-9]+)/nodejs-[0-9]+(-minimal)?$`, name)
	r := {
		"raw": name, "resolved": name, "registry": "registry.access.redhat.com", "repository": name,
		"tag": null, "digest": null, "unresolved": false, "scratch": false,
	}
]

# The Node.js release line (a key of node_releases: "20", "0.12") of the version the facts carry.
release_line(doc) := m[0][1] if {
	v := doc.node.version
	is_string(v)
	m := regex.find_all_string_submatch_n(`^v?(0\.[0-9]+|[1-9][0-9]*)`, v, 1)
	count(m) == 1
}

# Where the version came from, for messages.
node_source(doc) := concat("", [" from ", text.str(doc.node.source), " ", doc.node.source_key]) if {
	is_string(doc.node.source_key)
}

else := concat("", [" from ", doc.node.source]) if is_string(doc.node.source)

else := ""

# Init processes a document's labels document (the containers run with --init).
init_documented(doc, labels) if {
	some k, _ in doc.labels
	k in labels
}

# The heap limit in MiB the process gets: the literal value, or for a shell command
# the value of the variable it names from the environment.
heap_mb(doc) := doc.heap_limit.mb if is_number(doc.heap_limit.mb)

else := to_number(v) if {
	var := doc.heap_limit.from_env
	is_string(var)
	process(doc).form == "shell"
	doc.heap_limit.source == "command"
	v := doc.env[var].value
	is_string(v)
	regex.match(`^[0-9]+$`, v)
}

# The heap limit names a variable that nothing expands (exec form, or NODE_OPTIONS, which node reads as is).
heap_unexpanded(doc) if {
	is_string(doc.heap_limit.from_env)
	doc.heap_limit.source == "NODE_OPTIONS"
}

heap_unexpanded(doc) if {
	is_string(doc.heap_limit.from_env)
	doc.heap_limit.source == "command"
	process(doc).form != "shell"
}
