# METADATA
# title: Effective settings
# description: |
#   Merges caller overrides (input.config) over data.refarch.config. Object-valued
#   settings are merged one level deep (an override entry replaces the whole
#   entry), everything else is replaced. Written without object.union on nested
#   objects because engines differ on recursive merges.
package refarch.lib.config

# merged(overrides) -> the effective settings object.
merged(overrides) := data.refarch.config if not is_object(overrides)

merged(overrides) := {k: v |
	some k in (object.keys(data.refarch.config) | object.keys(overrides))
	v := _pick(object.get(data.refarch.config, k, null), object.get(overrides, k, null), k in object.keys(overrides))
} if is_object(overrides)

_pick(base, _, false) := base

_pick(base, over, true) := {k: v |
	some k in (object.keys(base) | object.keys(over))
	v := _entry(base, over, k)
} if _both_objects(base, over)

_pick(base, over, true) := over if not _both_objects(base, over)

_entry(base, over, k) := over[k] if k in object.keys(over)

else := base[k]

_both_objects(a, b) if {
	is_object(a)
	is_object(b)
}

# today as YYYY-MM-DD (UTC), used only when neither the input nor the data gives a date.
today := sprintf("%04d-%02d-%02d", time.date(time.now_ns()))

# The evaluation date: explicit input first, then configuration, then today.
evaluation_date(explicit, settings) := explicit if is_string(explicit)

else := settings.evaluation_date if is_string(settings.evaluation_date)

else := today
