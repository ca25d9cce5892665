"""A lane's push never drops commits on its remote branch that maestro did not push.

maestro force-pushed the lane branch (it owns it), so whatever a person had pushed there,
a reviewer's fix-up commit, say, was silently replaced: a breaker pushed a commit to a
lane's branch, maestro stopped for a human ("not the validated head"), and the person's
``maestro retry`` started the lane afresh, which pushed its old head over the commit and
merged. Now every push of a lane (the PR tool, handoff, a repair round) goes through
:func:`push_lane`: the forge replaces the remote head only when the push contains it or
it is a head maestro pushed for this lane before (an amend or a rebase of the lane's own
work), and atomically so (``--force-with-lease``). A foreign head stops the lane for a
person, who merges the commit into the lane branch or removes it on purpose.

The heads maestro pushed are written down before each push (``pushed.json``; a push that
then fails leaves a head that is the lane's own commit anyway), besides those ``pr.json``
already names (the validated head, each repair's head, a pending repair's head), in the
lane folder and in the issue's archived lane folders.
"""

from __future__ import annotations

from pathlib import Path

from maestro.errors import ForeignHeadError
from maestro.git import head_of
from maestro.lanes.context import LaneContext
from maestro.lanes.outcomes import require_human
from maestro.lanes.record import archive
from maestro.lanes.record.state import PUSHED


def own_heads(ctx: LaneContext) -> set[str]:
    """Every head this lane's pushes may replace on the remote: those the lane folder
    names, and those of the issue's archived lane folders (``maestro retry`` of a lane that
    had pushed archives it; its new run may amend what the old one pushed), as provenance
    counts their sessions."""
    heads: set[str] = set()
    for folder in [*archive.lane_folders(ctx.config.state_root, ctx.identifier),
                   ctx.state.dir]:
        heads |= archive.heads_in(folder)
    return heads


def push_lane(ctx: LaneContext, worktree: Path, where: str, head: str | None = None) -> str:
    """Push ``head`` (HEAD of ``worktree`` when None) to the lane branch (see the module);
    returns the pushed commit. A remote head maestro did not push stops the lane for a
    person (raises ``Halt``); ``where`` names the step for that message."""
    head = head or head_of(worktree)
    _note(ctx, head)
    try:
        return ctx.forge.push(worktree, ctx.branch, head, replaceable=own_heads(ctx))
    except ForeignHeadError as exc:
        require_human(ctx, "foreign_remote_head", f"{where} refused: {exc}",
                      next_action="a person looks at that commit: merge it into the lane "
                                  "branch (or remove it from the remote branch on purpose), "
                                  "then remove the label")
        raise  # require_human always raises; this keeps the type checker honest


def _note(ctx: LaneContext, head: str) -> None:
    """Write ``head`` down as maestro's before it is pushed."""
    known = list((ctx.state.read(PUSHED) or {}).get("heads") or [])
    if head not in known:
        ctx.state.write(PUSHED, {"heads": [*known, head][-50:]})
