# METADATA
# title: Install dependencies before copying the source
# description: |
#   In any stage that installs dependencies, package.json and the lockfile should
#   be copied and the dependencies installed before the rest of the source is
#   copied (COPY . .), so the dependency layer is reused when only the source
#   changes.
# related_resources:
#   - ref: https://nodeshift.dev/nodejs-reference-architecture/development/building-good-containers/#dependency-image
#     description: dependency image
# custom:
#   id: NRA005
#   severity: low
#   recommended_action: >-
#     COPY package.json and the lockfile first, RUN the install, then COPY the remaining source.
#   fix: reorder_dependency_layers
#   aliases: []
#   category: build
#   advisory: false
package refarch.rules.nra005

import data.refarch.lib.num

import data.refarch.lib.text

import data.refarch.lib.facts
import data.refarch.lib.shellcmd

# findings(doc, ctx) for Dockerfiles (ctx unused here; the signature is the rule interface).
# regal ignore:argument-always-wildcard
findings(doc, _) := {f |
	some s in doc.stages
	some f in _stage(doc, s.index)
} if doc.kind == "dockerfile"

_broad_sources := {".", "./", "*", "./*", "./.", "/"}

_stage(doc, index) := {_f(copy_line, msg) |
	ins := facts.stage_instructions(doc, index)
	copies := {i.start_line |
		some i in ins
		_broad_copy(i)
	}
	count(copies) > 0
	copy_line := num.min_of(copies)
	installs := {i.start_line |
		some i in ins
		i.cmd == "RUN"
		i.start_line > copy_line
		cmdline := shellcmd.run_text(i)
		shellcmd.relevant(cmdline)
		count(shellcmd.install_segments(shellcmd.segments(cmdline))) > 0
	}
	count(installs) > 0
	install_line := num.min_of(installs)
	msg := concat("", [
		"COPY of the whole build context at line ", text.str(copy_line),
		" comes before the dependency install at line ", text.str(install_line),
		", so every source change reinstalls the dependencies",
	])
}

_broad_copy(i) if {
	i.cmd in {"COPY", "ADD"}
	not _has_from(i)
	count(i.value) >= 2
	some src in array.slice(i.value, 0, count(i.value) - 1)
	src in _broad_sources
}

_has_from(i) if {
	some f in i.flags
	startswith(f, "--from")
}

_f(line, msg) := {"rule_id": "NRA005", "line": line, "message": msg}
