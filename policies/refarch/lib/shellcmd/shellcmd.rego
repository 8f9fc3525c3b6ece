# METADATA
# title: Shell command helpers
# description: |
#   Helpers over RUN commands: the command text (shell form, exec form and
#   heredoc bodies), its simple commands (split on &&, ||, ; and newlines), and
#   recognisers for dependency installs, build steps and toolchain packages.
package refarch.lib.shellcmd

import data.refarch.lib.text

# The text a RUN executes (value words plus heredoc bodies).
run_text(i) := concat(" ", array.concat(
	[v | some v in i.value; is_string(v)],
	[h.content | some h in object.get(i, "heredocs", []); is_string(h.content)],
))

# Simple commands of a command string.
segments(cmdline) := [s |
	# newlines are replaced first: rego-cpp's regex does not match a newline with \n or \s
	some raw in regex.split(`&&|\|\||;|\|`, replace(cmdline, "\n", ";"))
	s := text.strip(raw)
	s != ""
]

_npm_install := `(^|[\s/])(npm|pnpm)\s+(install|i|ci|add|isntall)(\s|$)`

_yarn_install := `(^|[\s/])yarn(\s+(install|add))?(\s+-{1,2}[A-Za-z-]+(=\S*)?)*\s*$`

_global := `(^|\s)(-g|--global|--location[= ]global)(\s|$)`

_production := `--omit[= ]dev|--production|--only[= ]prod|(^|\s)--prod(\s|$)|NODE_ENV=production`

# The functions below take the simple commands (segments(cmdline)), computed once per RUN.

# Whether a RUN text can matter to the recognisers below (one regex instead of many).
relevant(cmdline) if regex.match(`npm|yarn|pnpm|tsc|webpack|vite|next|ng|nest|babel|esbuild|rollup|parcel|gyp|apt|apk|yum|dnf|zypper`, cmdline)

# Dependency-install simple commands ("npm ci", "yarn install" ...), global tool installs excluded.
install_segments(segs) := [s |
	some s in segs
	_is_install(s)
	not regex.match(_global, s)
]

_is_install(s) if regex.match(_npm_install, s)

_is_install(s) if regex.match(_yarn_install, s)

# Short names of the install commands that also install development dependencies.
installs(segs) := {_short(s) |
	some s in install_segments(segs)
	not regex.match(_production, s)
}

# true when every install in the text is production-only.
production_install(segs) if {
	found := install_segments(segs)
	count(found) > 0
	every s in found {
		regex.match(_production, s)
	}
}

_short(s) := m[0] if {
	m := regex.find_n(`(npm|pnpm|yarn)(\s+[a-z]+)?`, s, 1)
	count(m) == 1
}

else := s

_build := concat("", [
	`(^|[\s/])(`,
	`(npm|pnpm)\s+run(-script)?\s+build[A-Za-z:_-]*|yarn\s+(run\s+)?build[A-Za-z:_-]*|`,
	`(npx\s+)?(tsc|webpack|vite\s+build|next\s+build|ng\s+build|nest\s+build|babel|esbuild|rollup|`,
	`parcel\s+build|node-gyp\s+rebuild)`,
	`)(\s|$)`,
])

# Build steps found in the text ("npm run build", "tsc" ...).
build_steps(segs) := {text.strip(m) |
	some s in segs
	some m in regex.find_n(_build, s, 1)
}

_pkg_install := `(^|[\s/])(apt-get|apt|apk|yum|dnf|microdnf|zypper)\s+(.*\s)?(install|add)(\s|$)`

toolchain := {
	"build-essential", "build-base", "gcc", "g++", "gcc-c++", "make", "clang",
	"python", "python2", "python3", "musl-dev", "libc6-dev",
}

# Toolchain packages installed by OS package managers in the text, sorted.
toolchain_packages(segs) := sort({w |
	some s in segs
	regex.match(_pkg_install, s)
	some w in regex.split(`\s+`, s)
	w in toolchain
})
