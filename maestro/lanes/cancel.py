"""A person's cancel: recorded before it acts, finished by whoever comes next.

``maestro cancel`` (and the dashboard's button) stops the lane's process, then moves the
issue, closes the PR and removes the worktree. Killed half-way (after the SIGTERM, before
the tracker moved the issue), it used to leave an In Progress issue whose lane the next tick
resumed, and a PR was opened for work a person had cancelled. So the cancel first writes its
*intent*, ``cancel.json`` in the lane's folder (atomically: the intent is whole or absent),
and only then acts. Whoever meets a recorded intent finishes it, idempotently:

* the person's command itself, re-run (it records again and finishes what is left);
* the poll loop, before it plans a tick (:func:`finish_recorded_cancels`): it stops a lane
  process still holding the lane (SIGTERM, as its reconcile does) and finishes once the
  lane is free;
* the lane process, before each phase (:func:`honour`), whether started by the loop, by
  ``maestro lane`` or by ``doit lane:ID``: it finishes the cancel and halts terminated.

An intent is pending while ``cancel.json`` exists and ``cleanup.json`` does not (the cancel
writes that last). A cancel found moot (the PR merged meanwhile) withdraws it. A lane reset
archives it with the rest of the folder. An issue that had no lane gets a folder for the
intent alone, removed again once the issue moved.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from maestro.config.workflow import TrackerPolicy
from maestro.errors import MaestroError
from maestro.fsutil import write_json
from maestro.ids import iso_now
from maestro.lanes.record.listing import list_lanes
from maestro.lanes.record.state import LaneState
from maestro.model import LaneOutcome
from maestro.observability import logs
from maestro.statenames import state_key

if TYPE_CHECKING:
    from maestro.config.service import ServiceConfig
    from maestro.lanes.context import LaneContext
    from maestro.trackers import Tracker

__all__ = ["INTENT", "by_tracker", "cancelled_state", "finish", "finish_recorded_cancels",
           "finish_unleased", "honour", "log_tracker_cancel",
           "pending", "record_intent", "withdraw"]

INTENT = "cancel.json"
#: Seconds a finisher waits for the lane lock another short-lived holder has.
LOCK_WAIT_S = 20.0
#: Who finished a cancel, for the journal and the message.
BY_OPERATOR = "an operator (maestro cancel)"
BY_LOOP = "the poll loop, finishing an operator's recorded cancel"
BY_LANE = "the lane, finishing an operator's recorded cancel"


_IN_THE_TRACKER = " in the tracker"


def by_tracker(state: str) -> str:
    """Who cancelled a lane whose issue a person moved to ``state`` in the tracker."""
    return f"a person moving the issue to {state}{_IN_THE_TRACKER}"


def log_tracker_cancel(config: ServiceConfig, identifier: str, reason: str) -> None:
    """A lane stopping because a person moved its issue to a terminal state in the
    tracker, in the service log (``tracker_cancel``; the lane's journal has its halt)."""
    logs.event(config, "tracker_cancel", f"{identifier}: {reason}", issue=identifier,
               action="cancel")


def _in_the_tracker(by: str) -> bool:
    """Whether ``by`` (who cancelled) is :func:`by_tracker`'s: no operator acted."""
    return by.endswith(_IN_THE_TRACKER)


def cancelled_state(policy: TrackerPolicy) -> str:
    """The terminal state a cancel moves the issue to: the first terminal state named like
    "Canceled"/"Cancelled", else the first terminal state that is not the completed one."""
    for state in policy.terminal_states:
        if state_key(state).startswith("cancel"):
            return state
    done = state_key(policy.resolved_completed_state() or "")
    return next((s for s in policy.terminal_states if state_key(s) != done),
                policy.terminal_states[0])


def record_intent(state: LaneState, via: str) -> None:
    """Write the intent (before anything else the cancel does) and journal it."""
    write_json(state.path(INTENT), {"requested_at": iso_now(), "via": via, "pid": os.getpid()})
    state.journal("operator_cancel_requested", via=via)


def pending(state: LaneState) -> bool:
    """Whether a recorded cancel is not finished yet (an unreadable intent counts: a
    person's cancel is never dropped for a damaged file)."""
    return state.exists(INTENT) and not state.exists("cleanup.json")


def withdraw(state: LaneState, why: str) -> None:
    """Drop a recorded intent that turned out moot (journaled when there was one)."""
    if state.exists(INTENT):
        state.remove(INTENT)
        state.journal("operator_cancel_withdrawn", reason=why)


def _said(config: ServiceConfig, state: LaneState, message: str, by: str) -> str:
    """``message``, journaled: a cancel that finds nothing to do is on record too."""
    _journal(config, state, message, by)
    return message


def _journal(config: ServiceConfig, state: LaneState, message: str, by: str) -> None:
    """The cancel in the lane's journal and the service log: ``operator_cancel`` for a
    person's ``maestro cancel`` (however it was finished), ``tracker_cancel`` for an issue
    a person cancelled in the tracker (:func:`by_tracker`; no operator acted)."""
    event = "tracker_cancel" if _in_the_tracker(by) else "operator_cancel"
    if state.dir.is_dir():
        state.journal(event, message=message, finished_by=by)
    logs.event(config, event, message, issue=state.identifier, action="cancel",
               finished_by=by)


def finish_unstarted(config: ServiceConfig, state: LaneState, tracker: Tracker,
                     policy: TrackerPolicy, by: str) -> str:
    """The cancel of an issue with no lane: the tracker move alone, then the intent and its
    folder go again (the issue never had a lane, and gets none)."""
    identifier = state.identifier
    issue = tracker.get(identifier)
    target = cancelled_state(policy)
    moved = not policy.is_terminal(issue.state) and tracker.transition(identifier, target)
    message = (f"{identifier}: moved to {target}" if moved
               else f"{identifier}: already {issue.state}; nothing to cancel")
    _journal(config, state, message, by)  # a cancel with nothing to do is on record too
    state.remove(INTENT)
    _forget_folder(state)
    return message


def _forget_folder(state: LaneState) -> None:
    """Remove the folder a cancel made for its intent alone (only if nothing else arrived
    meanwhile): an issue without a lane here gets no lane record from a cancel."""
    for name in ("journal.jsonl", "holder.json", "lane.lock"):
        state.remove(name)
    with contextlib.suppress(OSError):
        state.dir.rmdir()


def finish_unleased(ctx: LaneContext, by: str) -> str:
    """The cancel of an issue with no lane record here (no ``lease.json``). Its lane may
    still be out there: the folder deleted, restored from an older backup, or never on this
    machine, while its PR is open on the forge or its worktree is here. Such a lane is
    cancelled like any other (the PR closed, the worktree removed); an issue that never had
    one gets the tracker move alone. A PR found merged leaves the issue to close out."""
    if ctx.forge.find_pr(ctx.branch) is None and not ctx.worktree.exists():
        return finish_unstarted(ctx.config, ctx.state, ctx.tracker,
                                ctx.workflow.policy.tracker, by)
    message = finish(ctx, by=by)
    if not ctx.state.exists(INTENT):  # withdrawn (merged): no record of a lane is made
        _forget_folder(ctx.state)
    return message


def finish(ctx: LaneContext, *, stopped: str = "", by: str = BY_OPERATOR) -> str:
    """The cancel itself, with the lane held by the caller; every step is skipped when done
    already, so running it again after a kill finishes what is left. The caller drops a
    queued retry of the lane (the retry queue is the loop's)."""
    from maestro.lanes.worktree.retire import lane_work, record_stop, retire
    from maestro.model import PullState

    config, identifier, state = ctx.config, ctx.identifier, ctx.state
    policy, tracker = ctx.workflow.policy.tracker, ctx.tracker
    if state.exists("merge.json"):  # the lane process landed before it stopped
        withdraw(state, "the lane's PR is merged")
        return _said(config, state, f"{identifier}: the lane's PR is merged; nothing to "
                     "cancel", by)
    done = [stopped] if stopped else []
    pr = ctx.forge.find_pr(ctx.branch)
    if pr is not None and pr.state == PullState.MERGED:
        # Landed, but stopped before its record was written: the lane's next run closes
        # it out; a cancel now would mark delivered work as cancelled.
        withdraw(state, f"the lane's PR #{pr.number} is merged")
        return _said(config, state, f"{identifier}: the lane's PR #{pr.number} is merged; "
                     "nothing to cancel" + (f" ({stopped})" if stopped else ""), by)
    issue = tracker.get(identifier)
    target = cancelled_state(policy)
    if not policy.is_terminal(issue.state) and tracker.transition(identifier, target):
        done.append(f"moved to {target}")
    if pr is not None and pr.state == PullState.OPEN:
        comment = (f"maestro: {identifier} was cancelled by {by}. This PR is closed "
                   "without merge." if _in_the_tracker(by) else
                   f"maestro cancel: an operator cancelled {identifier}. This PR is closed "
                   "without merge.")
        ctx.forge.close_pr(pr.number, comment=comment)
        done.append(f"closed PR #{pr.number}")
    work = lane_work(ctx)
    kept = work.kept(ctx.branch)
    if kept and not done and state.exists("cleanup.json"):
        what = (f"the worktree {ctx.workspace_relpath} is kept ({work.worktree})"
                if work.worktree else f"the branch {ctx.branch} is kept ({work.branch})")
        return _said(config, state, f"{identifier}: already cancelled ({issue.state}); "
                     f"{what}; nothing to do", by)
    if (retired := retire(ctx, work)) is not None:
        done.append(retired)
    if not done and state.exists("cleanup.json"):
        return _said(config, state, f"{identifier}: already cancelled ({issue.state}); "
                     "nothing to do", by)
    done = done or [f"the issue is {issue.state}"]
    reason = f"cancelled by {by}: {', '.join(done)}"
    state.write("outcome.json", {"outcome": LaneOutcome.TERMINATED.value, "phase": "cancel",
                                 "reason": reason, "at": iso_now()})
    record_stop(state, "cancelled", reason, kept)
    message = f"{identifier}: {reason}"
    _journal(config, state, message, by)
    return message


def honour(ctx: LaneContext) -> None:
    """Before a phase: finish a recorded cancel and halt the lane terminated (a moot one,
    the PR merged, is withdrawn and the lane goes on to close out)."""
    from maestro.lanes.outcomes import Halt

    if not pending(ctx.state):
        return
    message = finish(ctx, by=BY_LANE)
    if ctx.state.exists(INTENT):  # not withdrawn: the lane stops here
        raise Halt(LaneOutcome.TERMINATED, message.partition(": ")[2] or message)


def _stop_holder(state: LaneState) -> None:
    """SIGTERM the lane process holding a lane with a pending cancel, as the loop's
    reconcile does; never a person's command holding it (``role`` operator)."""
    holder = state.read("holder.json") or {}
    pid = int(holder.get("pid") or 0)
    if holder.get("role") == "operator" or pid <= 0 or holder.get("host") not in (
            None, socket.gethostname()):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGTERM)


def acquire_waiting(state: LaneState, role: str = "lane", wait_s: float = LOCK_WAIT_S) -> None:
    """Take the lane lock, waiting up to ``wait_s`` for a short-lived holder (the loop
    finishing the same cancel); raises :class:`MaestroError` when it stays held."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            state.acquire(role=role)
            return
        except MaestroError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def finish_recorded_cancels(config: ServiceConfig, warn: Callable[[str], None],
                            release: Callable[[str], None]) -> list[str]:
    """The poll loop's part, before it plans: every pending cancel whose lane is free is
    finished now (and ``release(identifier)`` drops its queued retry); a lane process still
    holding one is sent SIGTERM and finished at a later tick (or finishes it itself).
    Returns the messages; a failure is a warning and the intent stays for the next tick."""
    from maestro.lanes.context import LaneContext

    messages = []
    for identifier in list_lanes(config.lanes_root).identifiers:
        state = LaneState(config.lanes_root, identifier)
        if not pending(state):
            continue
        if state.is_leased_elsewhere():
            _stop_holder(state)
            continue
        ctx = LaneContext(config, identifier)
        try:
            state.acquire(role="operator")  # finishing a person's cancel: never to be stopped
            try:
                if not state.exists("lease.json"):
                    messages.append(finish_unleased(ctx, BY_LOOP))
                else:
                    messages.append(finish(ctx, by=BY_LOOP))
                release(identifier)
            finally:
                state.release()
        except Exception as exc:  # one lane's failure never stops the tick
            warn(f"{identifier}: the recorded cancel is not finished yet: {exc}")
        finally:
            ctx.close()
    return messages
