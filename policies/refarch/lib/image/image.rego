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
