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

# Release line -> line_number, once per query (the lookups below use it instead of computing it again).
_numbers[line] := line_number(line) if some line, _ in effective.node_releases

_released contains n if {
	some line, r in effective.node_releases
	is_string(r.release)
	r.release <= date
	n := _numbers[line]
}

_lts contains n if {
	some line, r in effective.node_releases
	is_string(r.lts_start)
	r.lts_start <= date
	n := _numbers[line]
}

# The newest line released on the date (what latest/current point at).
newest_release := line if {
	newest := _largest(_released)
	some line, n in _numbers
	n == newest
}

# The newest line whose LTS started on or before the date (what lts points at).
newest_lts := line if {
	newest := _largest(_lts)
	some line, n in _numbers
	n == newest
}

# num.max_of(xs) in about 3n builtin calls instead of n * n (rego-cpp copies its whole frame on every
# builtin call, and there are some 25 release lines): the candidate is the number with the largest
# fixed-width text key (rego-cpp orders numbers as text in max), taken only when it is at least every
# number; otherwise (numbers the key does not order) num.max_of decides.
_largest(xs) := m if {
	m := max({[format_int(x + 10000000000, 10), x] | some x in xs})[1]
	every x in xs {
		m >= x
	}
} else := num.max_of(xs)
