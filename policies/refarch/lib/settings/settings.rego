# METADATA
# title: Per-query settings
# description: |
#   The effective settings and evaluation date of the current query, and the
#   release-schedule lookups derived from them. Computed once per query as
#   package rules (not per document as function bodies), which matters for
#   rego-cpp: it evaluates every body of a function on every call.
package refarch.lib.settings

import data.refarch.lib.config
import data.refarch.lib.num

# input.config over data.refarch.config (batch input; a single facts document has no `config`).
# Without overrides (the common case) the data is used as it is: no merge at all.
effective := data.refarch.config if not _has_overrides

else := config.merged(_input.config)

_has_overrides if {
	is_object(_input.config)
	count(_input.config) > 0
}

# input, or {} when there is none (opa eval without input, tests).
default _input := {}

_input := input if is_object(input)

# input.evaluation_date, else the configured evaluation_date, else today (UTC).
# Plain guards instead of an else chain: rego-cpp evaluates every body, so `today` is only
# reached when neither the input nor the settings name a date.
date := _input.evaluation_date if is_string(_input.evaluation_date)

else := config.evaluation_date(null, effective)

# codename -> release line ("iron" -> "20").
codenames[r.codename] := line if {
	some line, r in effective.node_releases
	is_string(r.codename)
}

# Integer order key of a release line ("0.12" -> 12, "20" -> 20000).
line_number(line) := to_number(minor) if {
	startswith(line, "0.")
	minor := split(line, ".")[1]
}

else := to_number(line) * 1000

_released contains line_number(line) if {
	some line, r in effective.node_releases
	is_string(r.release)
	r.release <= date
}

_lts contains line_number(line) if {
	some line, r in effective.node_releases
	is_string(r.lts_start)
	r.lts_start <= date
}

# The newest line released on the date (what latest/current point at).
newest_release := line if {
	newest := num.max_of(_released)
	some line, _ in effective.node_releases
	line_number(line) == newest
}

# The newest line whose LTS started on or before the date (what lts points at).
newest_lts := line if {
	newest := num.max_of(_lts)
	some line, _ in effective.node_releases
	line_number(line) == newest
}
