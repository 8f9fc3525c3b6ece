# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stage a declared build builds (compose ``build.target``, bake ``target``, a workflow's ``target``).

A build that names a target builds that stage, not the last one: the rewriter's ``_Doc`` then reads
``final`` as the target stage (and builds its facts for it), so the fixes that act on the built stage
and on the stages it is built ``FROM`` fix that stage. A fix that could only restructure the file
around its last stage is skipped, with the reason, for a target that is not the last stage; with a
target that names no stage, every fix is skipped (BuildKit fails such a build; the scan reports
``unknown_target``). Pure, standard library only.
"""
from __future__ import annotations

from ansible_collections.refarch.containers.plugins.module_utils._rewrite.model import Skip, _Doc

#: Fixes that act on the built stage (``_Doc.final``) and its chain, or on every stage alike
#: (``replace_base_image``, ``reorder_dependency_layers``): a target stage is fixed as the last stage is.
TARGET_STAGE_FIXES = frozenset({
    "replace_base_image", "exec_form_cmd", "replace_npm_start", "reorder_dependency_layers",
    "remap_privileged_ports", "add_non_root_user", "add_init_process", "set_heap_limit",
})

#: Why a fix that is not in TARGET_STAGE_FIXES is not applied to a target that is not the last stage.
_WHY = {
    "split_multi_stage": "it adds a runtime stage after the last one, which a build of that target does not build; "
                         "split the target stage by hand, or build the last stage",
}


def target_skip(doc: _Doc, fix: str) -> Skip | None:
    """A Skip when ``fix`` cannot be applied to the declared target of ``doc``, else None (no target, the target is
    the last stage, or the fix acts on the target stage)."""
    if doc.target is None or not doc.stages:
        return None
    stage = doc.final
    if stage is None:
        return Skip(f"the declared build target {doc.target!r} is not a stage of this Dockerfile (the build fails)")
    if stage is doc.stages[-1] or fix in TARGET_STAGE_FIXES:
        return None
    why = _WHY.get(fix, "it only knows how to change the last stage")
    return Skip(f"the declared build builds stage {doc.target!r} (line {stage.from_ins['start_line']}), not the "
                f"last stage: {fix} is not applied ({why})")
