# METADATA
# title: Number helpers
# description: |
#   min/max over collections of numbers with comparisons only: rego-cpp 1.5
#   orders numbers as text in min, max and sort, so those builtins are never
#   used on numbers in this bundle (collections here are small).
package refarch.lib.num

# Smallest number of a non-empty collection (undefined when empty).
min_of(xs) := m if {
	some m in xs
	every x in xs {
		m <= x
	}
}

# Largest number of a non-empty collection (undefined when empty).
max_of(xs) := m if {
	some m in xs
	every x in xs {
		m >= x
	}
}

# Fixed-width text for a line number (null and negatives sort first), for string sort keys.
sort_key(n) := concat("", [substring("0000000000", 0, 10 - count(s)), s]) if {
	is_number(n)
	n >= 0
	s := format_int(n + 1, 10)
}

else := "0000000000"
