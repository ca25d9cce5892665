"""What an operator does to lanes: retry, cancel, pause and resume dispatch.

``maestro retry|cancel|pause|resume`` and the dashboard's buttons call these four functions
and show the line each returns. Each is idempotent (doing it twice is doing it once; the
second call says there was nothing left to do), is journaled in the lane's
``journal.jsonl`` (``operator_<action>``) and in the service log (``logs/maestro.jsonl``),
and raises :class:`~maestro.errors.InputError` (exit 2) for an identifier that is neither a
lane nor an issue of the tracker.

They act the way a person would and respect a person's decisions (DESIGN.md, trust rules):

* **retry** releases a lane that waits for a human exactly as the recovery runbook says a
  person does (remove the needs-attention label; a *guarded* issue, left In Progress,
  goes back to the failure state), or makes a queued retry due now. An issue a person
  closed or opted out of maestro is refused, never reopened.
* **cancel** records its intent in the lane folder first (:mod:`maestro.lanes.cancel`:
  killed at any later point, the next tick, the lane's next start or the command run again
  finishes it), stops the lane's live process (SIGTERM, as the loop's reconcile does),
  then, holding the lane, moves the issue to the tracker's cancelled state, closes the
  lane's open PR with a comment, and removes the worktree unless it holds work found
  nowhere else (:func:`~maestro.lanes.worktree.unpushed.unpushed_work`), which is kept and named.
* **pause/resume** write or remove the hold marker
  (:mod:`~maestro.orchestration.pause`): the tick dispatches nothing while it exists;
  running lanes go on.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from maestro.config.service import ServiceConfig
from maestro.config.workflow import TrackerPolicy, Workflow
from maestro.errors import InputError, MaestroError, UnknownIssueError
from maestro.ids import check_identifier
from maestro.lanes.cancel import (
    BY_OPERATOR,
    acquire_waiting,
    cancelled_state,
    finish,
    finish_unleased,
    record_intent,
    withdraw,
)
from maestro.lanes.record.state import LaneState
from maestro.model import Issue, LaneOutcome
from maestro.observability import logs
from maestro.orchestration.pause import clear_pause, read_pause, write_pause
from maestro.orchestration.retries import RetryQueue
from maestro.statenames import same_state, state_key, state_keys
from maestro.trackers import Tracker
from maestro.trackers.eligibility import ineligible_reason

__all__ = ["cancel", "cancelled_state", "pause", "resume", "retry"]

#: How long cancel waits for a lane process to end after SIGTERM, then after SIGKILL.
STOP_WAIT_S = 20.0
REFRESH_FLAG = "refresh.request"


# -- the actions -------------------------------------------------------------------------------


def retry(config: ServiceConfig, identifier: str) -> str:
    """Queue a failed or needs-human lane again; returns what was done, in one line."""
    with _lane(config, identifier) as found:
        policy, issue, state = found.policy, found.issue, found.state
        refused = _person_decided(issue, policy)
        if refused:
            raise InputError(f"{identifier}: not retried: {refused}")
        if state.is_leased_elsewhere():
            return f"{identifier}: already running ({_holder(state)}); nothing to retry"
        if state.exists("cleanup.json"):
            if not policy.is_startable(issue.state):
                return f"{identifier}: the lane is finished; nothing to retry"
            return _start_afresh(config, found)
        attention = state.read("attention.json")
        labelled = issue.has_label(policy.needs_attention_label)
        if attention is not None or labelled:
            return _release(config, found, attention or {}, labelled)
        outcome = (state.read("outcome.json") or {}).get("outcome")
        if outcome == LaneOutcome.RETRY.value:
            claim = state.read("lease.json") or {}
            entry = RetryQueue(config.state_root).expedite(
                identifier, int(claim.get("attempt") or 1), "failure",
                str((state.read("result.json") or {}).get("error_class") or ""))
            message = (f"{identifier}: retry of attempt {entry.attempt} made due now; "
                       f"{_when_it_starts(config, 'it')}")
            _journal(config, state, "retry", message)
            _request_tick(config)
            return message
        if state.exists("pr.json"):
            return f"{identifier}: the lane is in review; nothing to retry"
        why = ineligible_reason(issue, policy)
        if why:
            return f"{identifier}: nothing to retry; it does not start: {why}"
        return f"{identifier}: nothing to retry; it is {issue.state} and starts at a tick"


def cancel(config: ServiceConfig, identifier: str) -> str:
    """Stop the lane, move its issue to the cancelled state, clean up what is safe. The
    intent is recorded first (:mod:`maestro.lanes.cancel`): killed at any point after that,
    the cancel is finished by the next tick, the lane's next start, or this command again.
    A lane's intent is recorded before the tracker is even asked (a slow tracker must not
    widen the window in which a kill loses the cancel)."""
    from maestro.lanes.context import LaneContext

    early = LaneState(config.lanes_root, check_identifier(identifier))
    if early.dir.is_dir() and not (early.exists("merge.json") or early.exists("cleanup.json")):
        record_intent(early, "maestro cancel")
    try:
        with _lane(config, identifier) as found:
            state = found.state
            if state.exists("merge.json"):
                message = f"{identifier}: the lane's PR is merged; nothing to cancel"
                _journal(config, state, "cancel", message)  # every cancel asked is on record
                return message
            # No early return for a terminal issue without a lane folder: its lane's PR
            # may still be open (the folder lost), and a cancel closes it.
            record_intent(state, "maestro cancel")  # from here on the cancel is never lost
            stopped = _stop_process(state)  # a lane the loop started meanwhile too
            acquire_waiting(state, role="operator")
            try:
                ctx = LaneContext(config, identifier)
                try:
                    if not state.exists("lease.json"):  # no lane record here
                        message = finish_unleased(ctx, BY_OPERATOR)
                    else:
                        message = finish(ctx, stopped=stopped, by=BY_OPERATOR)
                finally:
                    ctx.close()
            finally:
                state.release()
    except InputError:  # the tracker does not know the issue: there is nothing to cancel
        withdraw(early, "the tracker does not have the issue")
        raise
    RetryQueue(config.state_root).release(identifier)
    return message


def pause(config: ServiceConfig) -> str:
    """Hold new dispatch; running lanes go on."""
    held = read_pause(config.state_root)
    if held is not None:
        since = (f"(its marker is damaged: {held['damaged']})" if held.get("damaged")
                 else f"since {held.get('at') or '?'}")
        return f"dispatch already paused {since}; `maestro resume` releases it"
    write_pause(config.state_root)
    message = "dispatch paused: no lane starts until `maestro resume`; running lanes go on"
    _journal(config, None, "pause", message)
    return message


def resume(config: ServiceConfig) -> str:
    """Release the dispatch hold; the next tick starts lanes again."""
    if not clear_pause(config.state_root):
        return "dispatch is not paused; nothing to resume"
    message = "dispatch resumed: the next tick starts lanes again"
    _journal(config, None, "resume", message)
    _request_tick(config)
    return message


# -- rules ---------------------------------------------------------------------------------------


def _person_decided(issue: Issue, policy: TrackerPolicy) -> str:
    """Why a person's decision forbids a retry ("" when none does)."""
    if policy.is_terminal(issue.state):
        return (f"the issue is {issue.state}, a person's decision; move it back to "
                f"{policy.failure_state} to work it again")
    if issue.has_label(policy.opt_out_label):
        return (f"the issue carries {policy.opt_out_label!r} (a person opted it out of "
                "maestro); remove that label first")
    return ""


# -- helpers -------------------------------------------------------------------------------------


@dataclass
class _Found:
    identifier: str
    workflow: Workflow
    tracker: Tracker
    issue: Issue
    state: LaneState

    @property
    def policy(self) -> TrackerPolicy:
        return self.workflow.policy.tracker


@contextlib.contextmanager
def _lane(config: ServiceConfig, identifier: str) -> Iterator[_Found]:
    """The lane and its issue, fresh from the tracker; an unknown one is bad input."""
    from maestro.config.workflow import load_workflow, parse_workflow
    from maestro.lanes.context import SNAPSHOT
    from maestro.trackers import make_tracker

    state = LaneState(config.lanes_root, check_identifier(identifier))
    snapshot = state.path(SNAPSHOT)  # a lane keeps the policy it started with
    workflow = (parse_workflow(snapshot.read_text(), config.workflow_path)
                if snapshot.is_file() else load_workflow(config.workflow_path))
    tracker = make_tracker(config, workflow)
    try:
        try:
            issue = tracker.get(identifier)
        except UnknownIssueError:
            lane = "its lane folder exists but " if state.dir.is_dir() else ""
            raise InputError(f"{identifier}: unknown issue ({lane}the tracker does not have "
                             "it)") from None
        yield _Found(identifier, workflow, tracker, issue, state)
    finally:
        tracker.close()


def _when_it_starts(config: ServiceConfig, what: str) -> str:
    """Which tick starts ``what``: the next, or the first after ``maestro resume`` while
    dispatch is paused (a person's pause outranks a person's retry)."""
    if read_pause(config.state_root) is not None:
        return f"dispatch is paused: the first tick after `maestro resume` starts {what}"
    return f"the next tick starts {what}"


def _release(config: ServiceConfig, found: _Found, attention: dict[str, Any],
             labelled: bool) -> str:
    """Release a lane waiting for a human, as the recovery runbook has a person do it."""
    policy, identifier = found.policy, found.identifier
    done = []
    if labelled and found.tracker.remove_label(identifier, policy.needs_attention_label):
        done.append(f"removed {policy.needs_attention_label!r}")
    guarded = same_state(found.issue.state, policy.in_progress_state) and (
        attention.get("guarded") or found.state.exists("terminal-guarded.json"))
    state_now = found.issue.state
    if guarded and found.tracker.transition(identifier, policy.failure_state):
        done.append(f"moved from {state_now} to {policy.failure_state}")
        state_now = policy.failure_state
    startable = state_key(state_now) in state_keys(policy.startable_states)
    after = (_when_it_starts(config, "the lane afresh (its folder is archived)") if startable
             else f"the issue is {state_now}: move it to {policy.startable_states[0]} for "
                  "the lane to start again")
    message = f"{identifier}: released for a retry ({', '.join(done) or 'no change'}); {after}"
    _journal(config, found.state, "retry", message)
    _request_tick(config)
    return message


def _start_afresh(config: ServiceConfig, found: _Found) -> str:
    """A finished lane whose issue a person moved back to a startable state: archive its
    folder (as ``maestro lane ID --reset`` does; its tokens still count for the issue's
    budget) so the next tick starts a new lane."""
    from maestro.lanes.context import LaneContext
    from maestro.lanes.outcomes import ATTENTION_PENDING, reset_lane

    ctx = LaneContext(config, found.identifier)
    ctx.state.acquire()
    try:
        # maestro's own needs-attention label (its record says so, or its pending record
        # when a kill came right after the label went on: breaker 31 F4) goes with the lane
        # it was put for: the retry is the person's release (breaker 28 F5). A person's own
        # label stays, and so does one created after a guarded stop, which found no label
        # to put (breaker 29).
        record = ctx.state.read("attention.json") or ctx.state.read(ATTENTION_PENDING)
        ours = isinstance(record, dict) and not record.get("guarded")
        aside = reset_lane(ctx, f"a person's retry: the issue is {found.issue.state} again")
    finally:
        ctx.state.release()
    issue, label = found.issue, found.policy.needs_attention_label
    removed = ""
    if ours and issue.has_label(label) and found.tracker.remove_label(found.identifier, label):
        removed = f"; removed {label!r}"
        issue = issue.model_copy(update={"labels": tuple(
            name for name in issue.labels if state_key(name) != state_key(label))})
    why = ineligible_reason(issue, found.policy)
    after = (f"it does not start yet: {why}" if why
             else _when_it_starts(config, "a new lane"))
    kept = f"; the work its stop kept is now {aside}" if aside else ""
    message = (f"{found.identifier}: its finished lane is archived (the issue is "
               f"{found.issue.state} again){kept}{removed}; {after}")
    _journal(config, found.state, "retry", message)
    _request_tick(config)
    return message


def _holder(state: LaneState) -> str:
    holder = state.read("holder.json") or {}
    return f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}"


def _stop_process(state: LaneState) -> str:
    """End the live process holding the lane ("" when none did): SIGTERM, as the loop's
    reconcile does, so the lane unwinds and saves its state; SIGKILL if it does not end.
    Never a holder finishing a cancel itself (``role`` operator: another ``maestro
    cancel``, the poll loop, this very process): the caller waits for it instead."""
    if not state.is_leased_elsewhere():
        return ""
    holder = state.read("holder.json") or {}
    pid = int(holder.get("pid") or 0)
    if holder.get("role") == "operator" or pid == os.getpid():
        return ""
    if pid <= 0 or holder.get("host") not in (None, socket.gethostname()):
        raise MaestroError(f"{state.identifier}: leased by {_holder(state)}, which this "
                           "machine cannot stop; stop that process, then cancel again")
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
        deadline = time.monotonic() + STOP_WAIT_S
        while time.monotonic() < deadline:
            if not state.is_leased_elsewhere():
                return f"stopped the lane process (pid {pid})"
            time.sleep(0.1)
    raise MaestroError(f"{state.identifier}: the lane process (pid {pid}) did not end")


def _journal(config: ServiceConfig, state: LaneState | None, action: str, message: str,
             identifier: str | None = None) -> None:
    """Record the action in the lane's journal (when it has a folder) and the service log."""
    if state is not None and state.dir.is_dir():
        state.journal(f"operator_{action}", message=message)
    issue = state.identifier if state is not None else identifier
    logs.event(config, f"operator_{action}", message, issue=issue, action=action)


def _request_tick(config: ServiceConfig) -> None:
    """Ask a running daemon to tick now instead of at its next poll (the flag it reads)."""
    config.state_root.mkdir(parents=True, exist_ok=True)
    (config.state_root / REFRESH_FLAG).touch()
