package refarch.lib.scope_test

import data.refarch.lib.scope

_doc(c) := {"kind": "dockerfile", "node_scope": {"classification": c, "evidence": []}}

test_classification_read_and_defaulted if {
	scope.classification(_doc("node")) == "node"
	scope.classification(_doc("not_node")) == "not_node"
	scope.classification(_doc("bogus")) == "unknown"
	scope.classification({"kind": "dockerfile"}) == "unknown"
}

test_mode_read_and_unknown_is_all if {
	scope.mode({"node_scope": "neutral"}) == "neutral"
	scope.mode({"node_scope": "sideways"}) == "all"
	scope.mode({}) == "all"
}

test_judged_per_mode if {
	not scope.judged(_doc("not_node"), {"node_scope": "node"})
	scope.judged(_doc("not_node"), {"node_scope": "neutral"})
	scope.judged(_doc("not_node"), {"node_scope": "all"})
	scope.judged(_doc("unknown"), {"node_scope": "node"})
	scope.judged(_doc("node"), {"node_scope": "node"})
}

test_applies_per_rule_scope_and_mode if {
	not scope.applies("node", _doc("not_node"), {"node_scope": "neutral"})
	scope.applies("neutral", _doc("not_node"), {"node_scope": "neutral"})
	scope.applies("node", _doc("not_node"), {"node_scope": "all"})
	not scope.applies("neutral", _doc("not_node"), {"node_scope": "node"})
	scope.applies("node", _doc("unknown"), {"node_scope": "node"})
}

test_program_word_names_node_only_for_node if {
	scope.program_word(_doc("node")) == "node"
	scope.program_word(_doc("unknown")) == "the application"
	scope.program_word(_doc("not_node")) == "the application"
}
