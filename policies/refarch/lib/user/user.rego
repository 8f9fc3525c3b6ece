# METADATA
# title: Effective user resolution
# description: |
#   Resolves the user the final image runs as: a USER in the final stage, one
#   inherited from the stage it is built FROM, or the base image's default user
#   (data.refarch.config.base_image_users; unknown bases default to
#   unknown_base_user).
package refarch.lib.user

import data.refarch.lib.text

# effective(doc, settings) -> {"name", "uid", "line", "origin", "resolved"}
effective(doc, _) := {
	"name": u.name,
	"uid": object.get(u, "uid", null),
	"line": u.line,
	"origin": u.source,
	"resolved": _resolved_name(u.name),
} if {
	u := doc.final_stage.user
	u.source in {"instruction", "stage"}
}

effective(doc, settings) := {
	"name": name,
	"uid": _uid_of(name),
	"line": object.get(doc.final_stage, ["instruction_lines", "from"], null),
	"origin": "base",
	"resolved": true,
} if {
	not doc.final_stage.user.source in {"instruction", "stage"}
	name := base_default(doc.final_stage.root_base, settings)
}

_resolved_name(name) if {
	is_string(name)
	name != ""
	not contains(name, "$")
}

else := false

_uid_of(name) := 0 if name == "root"

else := to_number(name) if regex.match("^[0-9]+$", name)

else := null

# Default user of an external base image.
base_default(ref, settings) := "root" if ref.scratch == true

else := _pattern_user(ref, settings) if not ref.unresolved

else := settings.unknown_base_user

_pattern_user(ref, settings) := users[0] if {
	repo := concat("", [text.str(ref.registry), "/", text.str(ref.repository)])
	users := [e.user | some e in settings.base_image_users; glob.match(e.pattern, ["/"], repo)]
	count(users) > 0
}

else := settings.unknown_base_user

# Whether the base default came from the configured table (vs. an assumption).
known_base(ref, settings) if {
	not ref.unresolved
	repo := concat("", [text.str(ref.registry), "/", text.str(ref.repository)])
	some e in settings.base_image_users
	glob.match(e.pattern, ["/"], repo)
}

known_base(ref, _) if ref.scratch == true

# root by name or uid 0.
is_root(u) if u.name == "root"

is_root(u) if u.uid == 0

is_root(u) if u.name == "0"
