# METADATA
# title: .dockerignore evaluation
# description: |
#   Decides whether a path at the root of the build context is excluded by a
#   list of .dockerignore patterns, with Docker's rules: patterns are relative to
#   the context root (a leading / or ./ is ignored), a trailing / is ignored,
#   `**` matches any number of directories, and the last matching pattern wins, so
#   a later `!pattern` re-includes what an earlier one excluded.
package refarch.lib.dockerignore

import data.refarch.lib.text

import data.refarch.lib.num

# Patterns as [{"negated", "pattern", "index"}] with comments and blanks removed.
normalized(patterns) := [entry |
	# `some i, raw in` is not used inside comprehensions: rego-cpp 1.5 cannot parse it there
	some i
	raw := patterns[i] # regal ignore:prefer-some-in-iteration
	is_string(raw)
	t := text.strip(raw)
	t != ""
	not startswith(t, "#")
	neg := startswith(t, "!")
	pat := _clean(trim_prefix(t, "!"))
	pat != ""
	entry := {"negated": neg, "pattern": pat, "index": i}
]

_clean(p) := trim_suffix(trim_prefix(trim_prefix(text.strip(p), "/"), "./"), "/")

# Whether a pattern matches the path itself (a directory pattern covers its contents).
matches(pat, path) if _glob(pat, path)

# `**/x` also matches `x` at the root.
matches(pat, path) if {
	startswith(pat, "**/")
	_glob(trim_prefix(pat, "**/"), path)
}

# `x/*` and `x/**` exclude everything inside x, which is what matters for a COPY.
matches(pat, path) if {
	some suffix in ["/**", "/*"]
	endswith(pat, suffix)
	_glob(trim_suffix(pat, suffix), path)
}

# Only glob characters Docker and both engines agree on; anything else is compared literally.
_glob(pat, path) := glob.match(pat, ["/"], path) if regex.match(`^[A-Za-z0-9_.*?/@+=,~ -]+$`, pat)

else := pat == path

# A re-include that touches the path or something below it (`!node_modules/keep`).
touches(pat, path) if matches(pat, path)

touches(pat, path) if {
	contains(pat, "/")
	first := split(pat, "/")[0]
	first != "**"
	_glob(first, path)
}

# excluded(patterns, path) is true when, after all patterns, the path is not sent to the builder.
excluded(patterns, path) if excluded_normalized(normalized(patterns), path)

# excluded over already normalized patterns (normalize once, test several paths).
excluded_normalized(norm, path) if {
	hits := {p.index | some p in norm; not p.negated; matches(p.pattern, path)}
	count(hits) > 0
	last_exclude := num.max_of(hits)
	not _reincluded_after(norm, path, last_exclude)
}

_reincluded_after(norm, path, after) if {
	some p in norm
	p.negated
	p.index > after
	touches(p.pattern, path)
}

# The re-include pattern (as written) that undoes an exclusion, if any.
reincluding(patterns, path) := [p.pattern |
	norm := normalized(patterns)
	some p in norm
	p.negated
	touches(p.pattern, path)
]
