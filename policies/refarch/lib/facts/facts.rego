# METADATA
# title: Facts document helpers
# description: |
#   Helpers over one normalized facts document (docs/contracts.md section 2):
#   decidability checks, the final stage and the chain of stages it inherits from.
package refarch.lib.facts

import data.refarch.lib.text

# Kinds this bundle knows how to evaluate (rules add bodies per kind).
supported_kinds := {"dockerfile", "image", "container"}

# Reasons why a document cannot be evaluated at all (empty set: it can).
# The common case is decided with plain comparisons first (builtins are costly in rego-cpp).
fatal_reasons(doc) := set() if _plainly_ok(doc)

else := _r_basic(doc) | (_r_no_from(doc) | _r_no_analysis(doc))

_r_basic(doc) := ((_r_not_object(doc) | _r_schema(doc)) | _r_kind(doc)) | _r_error(doc)

# One body after the other (else): rego-cpp evaluates every body of a function, and the builtin
# calls (in, !=) each cost it a copy of its frame; plain comparisons (==) first. The value is a
# word, not true: rego-cpp does not read `else if` (what opa fmt makes of `else := true if`).
_plainly_ok(doc) := "dockerfile" if {
	doc.kind == "dockerfile"
	doc.error == null
	doc.schema_version in {"1.0", "1.1"}
	final_stage := doc.final_stage
	not final_stage == null # != null without a builtin call
	analysis := doc.analysis
	not analysis == null
}

else := "image or container" if {
	doc.error == null
	doc.schema_version in {"1.0", "1.1"}
	doc.kind in {"image", "container"}
}

_r_not_object(doc) := {"the facts document is not a JSON object"} if not is_object(doc)

else := set()

_r_schema(doc) := {msg |
	is_object(doc)
	v := object.get(doc, "schema_version", null)
	not _schema_ok(v)
	msg := concat("", ["unsupported facts schema_version ", text.str(v), " (this bundle evaluates 1.x)"])
}

_schema_ok(v) if {
	is_string(v)
	startswith(v, "1.")
}

_r_kind(doc) := {msg |
	is_object(doc)
	k := object.get(doc, "kind", null)
	not k in supported_kinds
	msg := concat("", ["unsupported document kind ", text.str(k)])
}

_r_error(doc) := {msg |
	is_object(doc)
	e := object.get(doc, "error", null)
	e != null
	msg := concat("", ["facts could not be evaluated: ", text.str(_error_text(e))])
}

_error_text(e) := concat("", [
	text.str(object.get(e, "code", "error")), ": ", text.str(object.get(e, "message", "")),
]) if is_object(e)

else := concat("", [text.str(e)])

_no_from_msg := "facts could not be evaluated: the Dockerfile has no FROM instruction, so there is no image to check"

_r_no_from(doc) := {_no_from_msg |
	is_object(doc)
	object.get(doc, "kind", null) == "dockerfile"
	object.get(doc, "error", null) == null
	object.get(doc, "final_stage", null) == null
}

_no_analysis_msg := concat("", [
	"facts could not be evaluated: the document has no `analysis` section ",
	"(facts from an older version of the collection?); gather the facts again",
])

_r_no_analysis(doc) := {_no_analysis_msg |
	is_object(doc)
	object.get(doc, "kind", null) == "dockerfile"
	object.get(doc, "error", null) == null
	object.get(doc, "final_stage", null) != null
	not is_object(object.get(doc, "analysis", null))
}

# Parse problems that make the evaluation incomplete (the rules still run).
blocking_problems(doc, codes) := [p |
	some p in object.get(doc, "problems", [])
	is_object(p)
	object.get(p, "code", "") in codes
]

# Line of the final stage's FROM instruction (null when unknown).
final_from_line(doc) := object.get(doc.final_stage, ["instruction_lines", "from"], null)
