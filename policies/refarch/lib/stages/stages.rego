# METADATA
# title: Stage helpers
# description: Helpers over the stages of a Dockerfile facts document.
package refarch.lib.stages

# Stages built FROM an external image (not FROM an earlier stage).
external(doc) := [s |
	some s in doc.stages
	s.from_stage == null
]
