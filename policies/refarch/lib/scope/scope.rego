# METADATA
# title: Node scope
# description: |
#   Which targets and rules a query judges. Each facts document carries its
#   node_scope (node / not_node / unknown, classified on the host); the metadata
#   of each rule says its scope (node or neutral; data.refarch.catalog). The setting
#   node_scope (config) picks the mode: node (default) judges node and unknown
#   targets only, neutral also judges not_node targets with the neutral rules,
#   all judges everything. unknown targets count as Node.js (a documented choice,
#   since an unchecked Node.js image is worse than a rule that may not apply), and
#   so do documents without a node_scope (facts 1.0); an unknown mode judges
#   everything, never less than before.
package refarch.lib.scope

classifications := {"node", "not_node", "unknown"}

modes := {"node", "neutral", "all"}

# The document's classification; "unknown" when it has none this bundle knows.
classification(doc) := c if {
	c := doc.node_scope.classification
	c in classifications
}

else := "unknown"

# The mode of the effective settings; "all" for a value this bundle does not know.
mode(config) := m if {
	m := config.node_scope
	m in modes
}

else := "all"

# The document is judged at all (only NRA000 reaches a document that is not).
judged(doc, _) if classification(doc) != "not_node"

judged(_, config) if mode(config) != "node"

# A rule of this scope ("node" or "neutral") applies to the document.
applies(rule_scope, doc, config) if applies_to_class(rule_scope, classification(doc), config)

# The same for a document of this classification (what refarch.main computes once per query).
applies_to_class(_, cls, _) if cls != "not_node"

applies_to_class(_, _, config) if mode(config) == "all"

applies_to_class("neutral", _, config) if mode(config) == "neutral"

# Whether messages may name Node.js: only for targets classified node.
is_node(doc) if classification(doc) == "node"

# What a message calls the program of a target ("node" only when it is Node.js).
program_word(doc) := "node" if is_node(doc)

else := "the application"
