# METADATA
# title: refarch entry points
# description: |
#   batch: input {"documents": [facts...], "evaluation_date", "config"} -> one
#   sorted array of findings per document, aligned with input.documents.
#   findings / deny / warn: input is one facts document (conftest style).
#   Catalog metadata (title, severity, fix, aliases) comes from
#   data.refarch.catalog, generated from the rule packages' METADATA.
package refarch.main

import data.refarch.lib.text

import data.refarch.lib.facts
import data.refarch.lib.scope
import data.refarch.lib.settings

# rule packages: written by tools/gen_rule_catalog.py from the catalog (do not edit the list by hand)
import data.refarch.rules.nra000
import data.refarch.rules.nra001
import data.refarch.rules.nra002
import data.refarch.rules.nra003
import data.refarch.rules.nra004
import data.refarch.rules.nra005
import data.refarch.rules.nra006
import data.refarch.rules.nra007
import data.refarch.rules.nra008
import data.refarch.rules.nra009
import data.refarch.rules.nra010
import data.refarch.rules.nra011
import data.refarch.rules.nra012
import data.refarch.rules.nra013
import data.refarch.rules.nra014
import data.refarch.rules.nra015

# Context handed to every rule: effective settings (input.config over data.refarch.config) and date.
ctx := {"date": settings.date, "config": settings.effective}

# METADATA
# entrypoint: true
# description: One array of findings per document of input.documents (undefined when there is no such array).
batch := [evaluate(d, ctx) | some d in input.documents] if is_array(input.documents)

# METADATA
# entrypoint: true
# description: Findings for input as a single facts document.
findings := evaluate(input, ctx)

# conftest-style messages: high and critical severities deny, the rest warn.
deny contains _conftest_msg(f) if {
	some f in findings
	f.severity in {"critical", "high"}
}

warn contains _conftest_msg(f) if {
	some f in findings
	not f.severity in {"critical", "high"}
}

_conftest_msg(f) := concat("", [
	text.str(f.rule_id), ": ", text.str(f.message), " (line ", text.str(f.line), ")",
]) if f.line != null

else := concat("", [text.str(f.rule_id), ": ", text.str(f.message)])

# evaluate(doc, ctx) -> sorted array of complete findings. What a complete finding takes from the catalog
# and the settings (its meta) depends on the rule and the document's node scope only: a query of several
# documents computes it once per rule and classification (_meta_by_class); a query of one document (the
# regopy backend's, the findings entry point) looks up only the rules that raised a finding.
evaluate(doc, c) := _sorted({_sort_key(f): _complete(f, m) |
	some f in _raw(doc, c)
	m := meta[f.rule_id]
}) if {
	_per_query
	meta := _meta_by_class[scope.classification(doc)]
}

else := _sorted({_sort_key(f): _complete(f, m) |
	some f in _raw(doc, c)
	m := _meta_of(f.rule_id, cls)
}) if {
	cls := scope.classification(doc)
}

_per_query if count(input.documents) > 1

_sorted(by_key) := [by_key[k] | some k in sort(object.keys(by_key))]

# (rule_id, line, message) as one string: engines agree on sorting strings, not numbers.
# Lines are padded by adding 10^10 (one builtin; null sorts first as "0").
_sort_key(f) := concat("|", [f.rule_id, format_int(f.line + 10000000000, 10), f.message]) if is_number(f.line)

else := concat("|", [f.rule_id, "0", f.message])

# A document that cannot be evaluated gets NRA000 only, and so does one the node scope does not judge
# (a not_node target in the default mode: facts it cannot evaluate are still reported); otherwise every
# rule runs and _in_scope keeps the findings of the rules whose scope applies to the document.
_raw(doc, c) := {f | some f in nra000.findings(doc, c)} if count(facts.fatal_reasons(doc)) > 0

else := {f | some f in nra000.findings(doc, c)} if not scope.judged(doc, c.config)

# Each package's set is wrapped: a package without a body for this kind is undefined, not empty.
# The list is written by tools/gen_rule_catalog.py from the catalog (one member per rule package).
else := union({
	{f | some f in nra000.findings(doc, c)},
	{f | some f in nra001.findings(doc, c)},
	{f | some f in nra002.findings(doc, c)},
	{f | some f in nra003.findings(doc, c)},
	{f | some f in nra004.findings(doc, c)},
	{f | some f in nra005.findings(doc, c)},
	{f | some f in nra006.findings(doc, c)},
	{f | some f in nra007.findings(doc, c)},
	{f | some f in nra008.findings(doc, c)},
	{f | some f in nra009.findings(doc, c)},
	{f | some f in nra010.findings(doc, c)},
	{f | some f in nra011.findings(doc, c)},
	{f | some f in nra012.findings(doc, c)},
	{f | some f in nra013.findings(doc, c)},
	{f | some f in nra014.findings(doc, c)},
	{f | some f in nra015.findings(doc, c)},
})

# NRA000 cannot be disabled: an unevaluated document is never silently compliant.
_enabled("NRA000", _) := true

_enabled(id, c) if not id in c.config.disabled_rules

# Rule id -> the catalog's and the settings' part of its complete findings, for the enabled rules of the
# catalog (the findings of other rules are dropped).
_meta[id] := _meta_entry(id, m) if {
	some id, m in data.refarch.catalog.rules
	_enabled(id, ctx)
}

_meta_entry(id, m) := {
	"severity": object.get(ctx.config.severity_overrides, id, m.severity),
	"title": m.title,
	"fix": m.fix,
	"related": m.aliases,
	"category": m.category,
	"advisory": m.advisory,
}

# One rule's meta for a document of classification cls: defined only when the rule is enabled and its
# scope applies (what _meta_by_class[cls][id] holds).
_meta_of(id, cls) := _meta_entry(id, data.refarch.catalog.rules[id]) if {
	_enabled(id, ctx)
	_in_scope(id, cls)
}

# The rules whose scope (METADATA custom.scope, in the catalog) applies to a document of each
# classification in the mode of the query (refarch.lib.scope). NRA000 applies everywhere; a rule
# without a scope in the catalog is judged as neutral (everywhere).
_meta_by_class[cls] := {id: m |
	some id, m in _meta
	_in_scope(id, cls)
} if some cls in scope.classifications

# The cases one after the other (else), the common one (a document the mode judges with every
# rule) by plain comparison: rego-cpp evaluates every body of a function and pays for each builtin
# call. A class other than not_node is judged by every rule in every mode (scope.applies_to_class).
# Words, not true: rego-cpp does not read `else if` (what opa fmt makes of `else := true if`).
_in_scope(id, cls) := "always" if id == "NRA000"

else := "judged class" if not cls == "not_node"

else := "rule scope" if {
	rule_scope := object.get(data.refarch.catalog.rules[id], "scope", "neutral")
	scope.applies_to_class(rule_scope, cls, ctx.config)
}

_complete(f, m) := {
	"rule_id": f.rule_id,
	"severity": m.severity,
	"title": m.title,
	"message": f.message,
	"line": f.line,
	"fix": m.fix,
	"related": m.related,
	"category": m.category,
	"advisory": m.advisory,
}
