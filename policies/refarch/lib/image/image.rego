# METADATA
# title: Image reference helpers
# description: |
#   Helpers over ImageRef objects (FROM after ARG resolution): display names,
#   pinning, recommended families and the Node.js release line an image carries.
package refarch.lib.image

import data.refarch.lib.settings

import data.refarch.lib.text

# Human-readable name of a reference for messages.
display(ref) := ref.resolved if is_string(ref.resolved)

else := ref.raw

# registry/repository, e.g. docker.io/library/node
full_repository(ref) := concat("", [text.str(ref.registry), "/", text.str(ref.repository)])

# Last path segment of the repository (node, nodejs-20, ...).
short_name(ref) := name if {
	parts := split(ref.repository, "/")
	last := count(parts) - 1
	name := parts[last]
}

is_official_node(ref) if {
	ref.registry in {"docker.io", "index.docker.io", "registry-1.docker.io"}
	ref.repository == "library/node"
}

# A Red Hat UBI / RHEL Node.js image (nodejs-20, nodejs-22-minimal, ...).
is_ubi_nodejs(ref) if regex.match(`^(.*/)?(ubi[0-9]+|rhel[0-9]+)/nodejs-[0-9]+(-minimal)?$`, ref.repository)

# Any image that clearly carries Node.js (used to decide whether a version must be known).
is_node_image(ref) if is_official_node(ref)

is_node_image(ref) if is_ubi_nodejs(ref)

is_node_image(ref) if short_name(ref) in {"node", "nodejs"}

# The family of `families` (config recommended_families) the reference belongs to, if any.
family(ref, families) := [f.name |
	some f in families
	_registry_ok(ref, f)
	regex.match(f.repository_regex, ref.repository)
	not _tag_excluded(ref, f)
]

_registry_ok(_, f) if count(f.registries) == 0

_registry_ok(ref, f) if ref.registry in f.registries

_tag_excluded(ref, f) if {
	f.exclude_tag_regex != ""
	is_string(ref.tag)
	regex.match(f.exclude_tag_regex, ref.tag)
}

# Node.js release line carried by an image: a key of node_releases ("20", "0.12"), or undefined.
# Named tags (lts, latest, codenames) are resolved with the per-query tables of refarch.lib.settings.
node_line(ref) := line if {
	is_ubi_nodejs(ref)
	m := regex.find_all_string_submatch_n(`nodejs-([0-9]+)`, short_name(ref), 1)
	line := m[0][1]
}

node_line(ref) := _tag_line(ref.tag) if not is_ubi_nodejs(ref)

# Numeric tags: "20", "20.11.1", "20-bookworm-slim", "0.12.18-slim".
# (Separate bodies, not an else-chain: rego-cpp evaluates every else body.)
_tag_line(tag) := _numeric_line(tag)

# Named tags: codenames ("iron-bookworm"), "lts", "latest", "current", variant-only tags.
_tag_line(tag) := _named_line(word) if {
	is_string(tag)
	not _numeric_line(tag)
	word := split(tag, "-")[0]
}

# No tag: latest, the newest release.
_tag_line(null) := settings.newest_release

_numeric_line(tag) := m[0][1] if {
	is_string(tag)
	m := regex.find_all_string_submatch_n(`^(0\.[0-9]+|[1-9][0-9]*)(\.[0-9]+)*(-.*)?$`, tag, 1)
	count(m) == 1
}

_named_line("lts") := settings.newest_lts

_named_line(word) := settings.newest_release if word in _floating_words

_named_line(word) := settings.codenames[word]

_floating_words := {
	"latest", "current", "slim", "alpine", "bookworm", "bullseye", "buster", "stretch", "trixie", "jessie",
	"alpine3.18", "alpine3.19", "alpine3.20", "alpine3.21", "alpine3.22",
}
