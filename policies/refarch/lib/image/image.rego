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

# The Node.js release line of the runtime base image, from the host's reading of its tag
# (doc.analysis.base): a number from the tag or UBI repository name, else what a floating
# tag word (lts, latest, a codename) points at on the evaluation date. Undefined when unknown.
# Floating tags read the per-query settings rules directly (regal ignore below): passed as
# arguments, they would be computed for every document, not only for the few with such tags.
node_line(b) := b.node_line if b.node_line != null

else := settings.newest_release if b.tag_missing # regal ignore:external-reference

else := _named_line(b.tag_word) if is_string(b.tag_word)

_named_line(word) := settings.newest_lts if word == "lts" # regal ignore:external-reference

else := settings.newest_release if word in _floating_words # regal ignore:external-reference

else := settings.codenames[word] # regal ignore:external-reference

_floating_words := {
	"latest", "current", "slim", "alpine", "bookworm", "bullseye", "buster", "stretch", "trixie", "jessie",
	"alpine3.18", "alpine3.19", "alpine3.20", "alpine3.21", "alpine3.22",
}

# Why a tag does not pin a version of the image (undefined when it does): the configured unpinned
# tags (`unpinned_tags`), and every tag none of whose dash-separated words starts with a version
# number: `lts`, `current`, `alpine`, `slim`, `lts-alpine3.20`, `bookworm-slim`. A Node.js release
# codename (`iron`, `jod-slim`) names a release line as a major version does, on node images.
floating_tag_reason(repository, tag, unpinned) := _floating_why(lower(tag)) if {
	is_string(tag)
	_floating(repository, tag, unpinned)
}

_floating(_, tag, unpinned) if tag in unpinned

_floating(repository, tag, _) if {
	words := split(lower(tag), "-")
	not _versioned(words)
	not _node_codename(repository, words)
}

_versioned(words) if {
	some w in words
	regex.match(`^v?[0-9]`, w)
}

_node_codename(repository, words) if {
	is_string(repository)
	_node_repository(repository)
	some w in words
	settings.codenames[w] # regal ignore:external-reference
}

_node_repository("library/node") := true

_node_repository(repository) if endswith(repository, "/node")

_node_repository(repository) if endswith(repository, "/nodejs")

_floating_why(tag) := why if {
	word := split(tag, "-")[0]
	why := _moving[word]
}

else := "it names no version, only a variant or a distribution, so it follows every new release"

_moving := {
	"latest": "latest follows every new release",
	"current": "current follows every new release",
	"lts": "lts moves to each new LTS release line",
}
