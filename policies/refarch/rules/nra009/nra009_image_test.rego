package refarch.rules.nra009_test

import data.refarch.lib.imagefacts_test as ifx
import data.refarch.rules.nra009

_img_msgs(doc, ctx) := {f.message | some f in nra009.findings(doc, ctx)}

test_img_good_image_and_container if {
	count(nra009.findings(ifx.image, ifx.ctx)) == 0
	count(nra009.findings(ifx.container, ifx.ctx)) == 0
}

test_img_bad_image_no_heap_limit if {
	doc := object.union(ifx.image, {"heap_limit": ifx.no_heap})
	_img_msgs(doc, ifx.ctx) == {"image localhost/app:1 runs node with no --max-old-space-size (in the command or NODE_OPTIONS): the heap limit does not follow the container's memory limit"}
}

test_img_good_image_not_node if {
	doc := object.union(ifx.image, {"heap_limit": ifx.no_heap, "process": null})
	count(nra009.findings(doc, ifx.ctx)) == 0
}

test_img_bad_image_unexpanded_in_node_options if {
	doc := object.union(ifx.image, {"heap_limit": {"raw": "${HEAP}", "mb": null, "source": "NODE_OPTIONS", "from_env": "HEAP"}})
	_img_msgs(doc, ifx.ctx) == {"image localhost/app:1 sets --max-old-space-size from $HEAP in NODE_OPTIONS, where no shell expands it, so node does not get a number"}
}

test_img_bad_container_unexpanded_in_exec_form if {
	doc := object.union(ifx.container, {"heap_limit": {"raw": "$HEAP", "mb": null, "source": "command", "from_env": "HEAP"}})
	_img_msgs(doc, ifx.ctx) == {"container web (localhost/app:1) sets --max-old-space-size from $HEAP in an exec-form command, where no shell expands it, so node does not get a number"}
}

test_img_bad_container_heap_above_memory_ratio if {
	doc := object.union(ifx.container, {"heap_limit": {"raw": "1024", "mb": 1024, "source": "command", "from_env": null}})
	_img_msgs(doc, ifx.ctx) == {"container web (localhost/app:1) sets --max-old-space-size=1024 MiB, 200% of its memory limit of 512 MiB (more than heap_memory_ratio 0.75): leave room for the rest of the process or raise the limit"}
}

test_img_good_container_heap_at_ratio if {
	# 384 MiB is exactly 75% of 512 MiB: not more than the ratio
	count(nra009.findings(ifx.container, ifx.ctx_with({"heap_memory_ratio": 0.75}))) == 0
	count(nra009.findings(ifx.container, ifx.ctx_with({"heap_memory_ratio": 0.7}))) == 1
}

test_img_bad_container_heap_from_shell_variable if {
	doc := object.union(ifx.container, {
		"process": {"form": "shell"},
		"heap_limit": {"raw": "$HEAP", "mb": null, "source": "command", "from_env": "HEAP"},
		"env": {"HEAP": {"value": "500", "line": null, "redacted": false}},
	})
	count(nra009.findings(doc, ifx.ctx)) == 1
	count(nra009.findings(object.union(doc, {"memory_limit": null}), ifx.ctx)) == 0
}
