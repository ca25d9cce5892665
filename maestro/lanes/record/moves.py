"""A lane's own move of its issue, recorded while it is under way.

On GitHub Issues a move takes two writes (the old status label off, then the new one on, or
the issue closed), so a move cut between them (a lost answer, a few seconds of 503s, a
``kill -9``) leaves an open issue with no status label: ``unlabeled_state``, ``Backlog``.
The lane then took its own half-done move for a person's, stopped ``interrupted`` and never
went on, its PR open (breaker 23 F3). So on such a tracker the lane writes where it is going
(``move.json``) before it moves and removes the record once the move is done. Whoever meets
the record with the issue in that half-way state knows the move is maestro's: the lane's
guard finishes it (:func:`finish_pending`) and the poll loop plans with the state the issue
is going to (:func:`~maestro.orchestration.planning.as_moving`). Trackers that move in one
write (Linear, files) need no record and write none.
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


def half_done(policy: TrackerPolicy, target: str | None, issue_state: str) -> bool:
    """Whether an issue in ``issue_state`` is where the lane's own move to ``target`` stops
    when cut half-way (pure)."""
    half = policy.half_moved_state()
    return (target is not None and half is not None and same_state(issue_state, half)
            and not same_state(target, half))


def move(ctx: LaneContext, state: str, unless: Callable[[str], bool] | None = None) -> bool:
    """``ctx.tracker.transition`` with the record around it (on trackers that need one).
    The record stays when the move fails: the next look finishes it."""
    policy = ctx.workflow.policy.tracker
    if policy.half_moved_state() is None:
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
    if half_done(ctx.workflow.policy.tracker, target, issue.state):
        move(ctx, target)
        ctx.state.journal("move_finished", to=target, found=issue.state)
        return True
    ctx.state.remove(PENDING)
    return False
