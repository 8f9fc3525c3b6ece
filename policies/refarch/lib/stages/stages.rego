# METADATA
# title: Stage helpers
# description: Helpers over the stages of a Dockerfile facts document.
package refarch.lib.stages

import data.refarch.lib.facts

# The FROM line of the stage the final stage's chain starts from (its external base).
root_line(doc) := s.line if {
	chain := facts.chain_indices(doc)
	some s in doc.stages
	s.index in chain
	s.from_stage == null
}

else := facts.final_from_line(doc)

# Stages that start from an external image (not FROM an earlier stage).
external(doc) := [s |
	some s in doc.stages
	s.from_stage == null
]
