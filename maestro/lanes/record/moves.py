"""A lane's own move of its issue, recorded while it is under way.

On GitHub Issues a move takes two writes. It removed the old status label, then added the
new one, so a move cut between them (a lost answer, a few seconds of 503s, a ``kill -9``)
left an open issue with no status label: ``unlabeled_state``, ``Backlog``. The lane then
took its own half-done move for a person's, stopped ``interrupted`` and never went on, its
PR open (breaker 23 F3). The adapter now adds the new label first, so a cut leaves both
labels, and the lane writes where it is going (``move.json``) before it moves, removing the
record once the move is done. The record and the target's label together say the move is
maestro's own (:func:`half_done`): the lane's guard finishes it (:func:`finish_pending`)
and the poll loop plans with the state the issue is going to
(:func:`~maestro.orchestration.planning.as_moving`). A record alone proves nothing: a move
refused before its first write leaves one, and a person's later ``Backlog`` must stand
(breaker 24). Trackers that move in one write (Linear, files) need no record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from maestro.errors import IssueStateChanged
from maestro.ids import iso_now
from maestro.lanes.record.state import LaneState
from maestro.model import Issue
from maestro.statenames import same_state

if TYPE_CHECKING:
    from maestro.config.workflow import TrackerPolicy
    from maestro.lanes.context import LaneContext

__all__ = ["PENDING", "finish_pending", "half_done", "move", "pending_move"]

PENDING = "move.json"


def pending_move(state: LaneState) -> str | None:
    """The state the lane's unfinished move goes to, or None."""
    record: Any = state.read(PENDING)
    target = record.get("to") if isinstance(record, dict) else None
    return target if isinstance(target, str) and target else None


def half_done(policy: TrackerPolicy, target: str | None, issue: Issue) -> bool:
    """Whether ``issue`` shows the lane's own move to ``target`` cut half-way (pure): on
    GitHub Issues the target's status label is on the open issue beside an old one that
    still decides its state (the move adds the new label before it removes the old).
    Only maestro's move puts that label there; a person who takes every status label
    off (``Backlog``) or never saw the move is left alone (breaker 24 F1)."""
    if target is None or not policy.moves_in_steps() or same_state(issue.state, target):
        return False
    label = next((name for state, name in policy.state_labels.items()
                  if same_state(state, target)), None)
    return label is not None and issue.has_label(label) and not policy.is_terminal(
        issue.state)


def move(ctx: LaneContext, state: str, unless: Callable[[str], bool] | None = None) -> bool:
    """``ctx.tracker.transition`` with the record around it (on trackers that need one).
    The record stays when the move fails: the next look finishes it."""
    policy = ctx.workflow.policy.tracker
    if not policy.moves_in_steps():
        return ctx.tracker.transition(ctx.identifier, state, unless=unless)
    ctx.state.write(PENDING, {"to": state, "at": iso_now()})
    try:
        changed = ctx.tracker.transition(ctx.identifier, state, unless=unless)
    except IssueStateChanged:
        ctx.state.remove(PENDING)  # refused before any write
        raise
    ctx.state.remove(PENDING)
    return changed


def finish_pending(ctx: LaneContext, issue: Issue | None) -> bool:
    """Finish the lane's own move when ``issue`` shows it cut half-way; returns whether
    it did (the caller reads the issue again). A move the issue no longer needs (it
    reached the target, or a person took it elsewhere) drops the record."""
    target = pending_move(ctx.state)
    if target is None or issue is None:
        return False
    if half_done(ctx.workflow.policy.tracker, target, issue):
        move(ctx, target)
        ctx.state.journal("move_finished", to=target, found=issue.state)
        return True
    ctx.state.remove(PENDING)
    return False
