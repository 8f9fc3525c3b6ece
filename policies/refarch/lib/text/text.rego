# METADATA
# title: Text helpers
# description: |
#   str(x) renders a value for a message the same way in every engine. Engines
#   disagree on sprintf (rego-cpp quotes some strings under %s and %v), so messages are
#   built with concat over str(...) only.
package refarch.lib.text

str(x) := x if is_string(x)

else := format_int(x, 10) if {
	is_number(x)
	x == floor(x)
}

else := concat(".", [format_int(x, 10), _fraction(x)]) if is_number(x)

else := "null" if x == null

else := "true" if x == true

else := "false" if x == false

else := json.marshal(x)

# Two decimals of a positive non-integer number.
_fraction(x) := substring(format_int(100 + round((x - floor(x)) * 100), 10), 1, 2)

# Leading and trailing blanks removed. Not trim_space/trim/substring: rego-cpp 1.5
# applies those to the escaped form of strings that contain quotes or backslashes.
strip(s) := regex.replace(s, `^[ \t\r\n]+|[ \t\r\n]+$`, "")
