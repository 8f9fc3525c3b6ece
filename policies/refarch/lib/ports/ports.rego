# METADATA
# title: Port helpers
# description: Helpers over the final stage's exposed ports and port-carrying environment variables.
package refarch.lib.ports

import data.refarch.lib.text

# "80/tcp" or "8000-8010/udp"
label(p) := concat("", [text.str(p.port), "/", text.str(p.protocol)]) if p.port == p.end_port

else := concat("", [text.str(p.port), "-", text.str(p.end_port), "/", text.str(p.protocol)])

# Exposed port entries with at least one port below the floor.
below_floor(fs, port_floor) := [p |
	some p in fs.exposed_ports
	p.resolved == true
	is_number(p.port)
	p.port < port_floor
]

# Exposed port entries whose range covers one of the given ports.
covering(fs, ports) := [[p, n] |
	some p in fs.exposed_ports
	p.resolved == true
	some n in ports
	p.port <= n
	n <= object.get(p, "end_port", p.port)
]

# Exposed port entries that could not be resolved (EXPOSE ${PORT} without a value).
unresolved(fs) := [p |
	some p in fs.exposed_ports
	p.resolved != true
]

# Port-like environment variables: [[name, number, line], ...]
env_ports(fs, names) := [[name, to_number(e.value), e.line] |
	some name in names
	e := fs.env[name]
	e.redacted != true
	is_string(e.value)
	regex.match(`^[0-9]{1,5}$`, e.value)
]
