"""Look again before every outward side effect (DESIGN.md, trust rule 2).

A person may cancel, relabel or delete the issue at any moment while a lane works on it, and
nothing else tells the lane: a ``maestro lane`` run, ``doit lane:ID`` or a CI runner has no
daemon reconciling it. So right before a push, a PR, a transition, a progress comment or a
merge, the lane reads the issue once more and asks :func:`decide` whether it may go on.

:func:`decide` is the rule, a pure function of the issue, the policy and the stage; it is
tested by a table. :class:`LaneGuard` is the cheap reader around it: one guard per phase or
per tool call, which reuses its read for ``max_age_s`` so a phase that does several side
effects in a row costs one tracker request. :func:`stop_lane` is what a stop does: a
terminating stop closes the lane's open PR with a comment saying why and retires a
cancelled lane's worktree (kept when it holds work found nowhere else,
:mod:`maestro.lanes.worktree.retire`), an interrupting one keeps both, and the run ends
with :class:`~maestro.lanes.outcomes.Halt`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from maestro.config.workflow import TrackerPolicy
from maestro.errors import UnknownIssueError
from maestro.fsutil import read_jsonl
from maestro.lanes import cancel
from maestro.lanes.context import LaneContext
from maestro.lanes.outcomes import ATTENTION_PENDING, Halt, fail_attempt, require_human
from maestro.lanes.record.moves import finish_pending
from maestro.lanes.worktree.retire import retire_cancelled
from maestro.model import Issue, LaneOutcome, PullState
from maestro.statenames import same_state, state_key, state_keys

#: ``work``: claim to handoff (the agent and its tools); ``review``: review, repair, land.
Stage = Literal["work", "review"]

#: How long one guard trusts its read of the issue (seconds, monotonic clock).
MAX_AGE_S = 1.0


@dataclass(frozen=True)
class Go:
    """Nothing changed that matters: the side effect may happen."""


@dataclass(frozen=True)
class Stop:
    """A person decided otherwise: stop the lane with ``outcome`` (``terminated``, or
    ``interrupted`` for an issue moved to a state that is neither active nor terminal).

    ``cleanup`` is true for an explicit terminal cancellation (SPEC-NOTES §4: terminal ⇒
    clean the workspace); every other stop keeps the worktree for a person to look at."""

    outcome: LaneOutcome
    reason: str
    cleanup: bool = False


GO = Go()
Decision = Go | Stop


def active_states(policy: TrackerPolicy, stage: Stage) -> frozenset[str]:
    """States (casefolded) in which the lane may act at ``stage``.

    While working, the issue is startable (not yet claimed by the agent), in progress, or
    already in the success state (a handoff resumed after its transition). In review it is
    the success state only."""
    if stage == "review":
        return state_keys([policy.success_state])
    return policy.working_states()


def decide(issue: Issue | None, policy: TrackerPolicy, stage: Stage,
           own_attention: bool = False) -> Decision:
    """May the lane act on ``issue`` now? ``None`` means the issue is gone.

    ``own_attention`` says the needs-attention label was added by this very session (the
    agent asking for a human the right way), so it is not a person's stop."""
    if issue is None:
        return Stop(LaneOutcome.TERMINATED, "the issue no longer exists in the tracker")
    if policy.is_terminal(issue.state):
        return Stop(LaneOutcome.TERMINATED, f"issue moved to {issue.state}", cleanup=True)
    if issue.has_label(policy.opt_out_label):
        return Stop(LaneOutcome.TERMINATED, f"issue carries the label {policy.opt_out_label!r}")
    if issue.has_label(policy.needs_attention_label) and not own_attention:
        return Stop(LaneOutcome.TERMINATED,
                    f"issue carries the label {policy.needs_attention_label!r}")
    if state_key(issue.state) not in active_states(policy, stage):
        # SPEC-NOTES §4 and the daemon's reconcile: non-terminal but inactive is
        # ``interrupted`` (a person moving it back to In Progress resumes the lane).
        return Stop(LaneOutcome.INTERRUPTED, f"issue moved to {issue.state} during the run")
    return GO


class LaneGuard:
    """Reads the issue at most once per ``max_age_s`` and decides with :func:`decide`."""

    def __init__(self, ctx: LaneContext, stage: Stage, max_age_s: float = MAX_AGE_S) -> None:
        self.ctx = ctx
        self.stage = stage
        self.max_age_s = max_age_s
        self._read: tuple[float, Issue | None] | None = None

    def issue(self) -> Issue | None:
        now = time.monotonic()
        if self._read is None or now - self._read[0] > self.max_age_s:
            issue = self._get()
            # The lane's own move cut half-way (GitHub's two label writes) is no person's
            # move: finished first, then the issue is read again (breaker 23 F3).
            if finish_pending(self.ctx, issue):
                issue = self._get()
            self._read = (now, issue)
        return self._read[1]

    def _get(self) -> Issue | None:
        try:
            return self.ctx.tracker.get(self.ctx.identifier)
        except UnknownIssueError:
            return None

    def check(self, own_attention: bool = False) -> Decision:
        if cancel.pending(self.ctx.state):  # a person's cancel, recorded before it acted
            return Stop(LaneOutcome.TERMINATED, "an operator cancelled the issue",
                        cleanup=True)
        # The lane's own attention path under way put the label there, not a person.
        own = own_attention or self.ctx.state.exists(ATTENTION_PENDING)
        return decide(self.issue(), self.ctx.workflow.policy.tracker, self.stage, own)

    def enforce(self, before: str, own_attention: bool = False) -> None:
        """Go on, or stop the lane (closing its PR) before ``before`` happens."""
        decision = self.check(own_attention)
        if isinstance(decision, Stop):
            stop_lane(self.ctx, decision, before)


def agent_asked_for_human(tools_record: Path, label: str) -> bool:
    """The attempt's tool record shows the agent itself adding ``label`` (the first half of
    the manual-attention path): the label on the issue is then the agent's request, not a
    person's stop, and a run killed before the attention path finished must resume it."""
    return any(entry.get("ok") and entry.get("tool") == "issue_label_add"
               and same_state(str((entry.get("args") or {}).get("label", "")), label)
               for entry in read_jsonl(tools_record))


def stop_lane(ctx: LaneContext, stop: Stop, before: str = "") -> None:
    """End the run; always raises :class:`Halt`. A terminating stop (cancelled, labelled,
    deleted) closes the lane's open PR with a comment saying why and cleans up a cancelled
    lane; an interrupting one (the issue moved to a state the lane does not work in)
    keeps the PR open with its reviews, as the worktree is kept, so that the lane goes on
    when the issue comes back (breaker 21: a repair round's stop closed the PR, and the
    lane then told the person the PR had been closed). Every step is idempotent. A
    recorded cancel is finished instead (:func:`maestro.lanes.cancel.honour`)."""
    cancel.honour(ctx)
    why = f"maestro stopped the lane for {ctx.identifier}: {stop.reason}"
    found = (ctx.forge.find_pr(ctx.branch) if stop.outcome == LaneOutcome.TERMINATED
             else None)
    closed = None
    if found is not None and found.state == PullState.OPEN:
        ctx.forge.close_pr(found.number, comment=f"{why}. This PR is closed without merge.")
        closed = found.url
    ctx.state.journal("guard_stop", reason=stop.reason, before=before, closed_pr=closed)
    kept = ""
    if stop.cleanup:  # a terminal state a person set in the tracker (honour() took ours)
        cancel.log_tracker_cancel(ctx.config, ctx.identifier, stop.reason)
        # The agent's unpushed commits and files are kept, as ``maestro cancel`` keeps
        # them; the remote branch stays with the closed PR.
        kept = retire_cancelled(ctx, stop.reason)
    detail = f" before {before}" if before else ""
    raise Halt(stop.outcome, f"{stop.reason}; stopped{detail}{kept}", closed_pr=closed)


def enforce(ctx: LaneContext, stage: Stage, before: str) -> None:
    """One fresh look before ``before``; the common case of a guard used once."""
    LaneGuard(ctx, stage).enforce(before)


def after_stopped_session(ctx: LaneContext, signals: dict[str, Any], stage: Stage) -> None:
    """A tool call ended the agent's session (``session_stopped``); always raises.

    A policy violation (another issue, a forbidden transition) takes the attention path
    with the refused call named. A guard stop is confirmed by a fresh look and stops the
    lane; if the issue is active again by now, the attempt failed and may be retried."""
    if signals.get("halted"):  # the host already took the attention path in that call
        record = ctx.state.read("attention.json") or {}
        error_class = str(record.get("error_class") or "halted")
        raise Halt(LaneOutcome.NEEDS_HUMAN, f"{error_class}: {record.get('reason') or ''}",
                   failed=True, error_class=error_class)
    violations = [str(v) for v in signals.get("violations") or []]
    if violations:
        require_human(ctx, "policy_violation",
                      "the agent's tool call was refused as a policy violation: "
                      + "; ".join(violations),
                      next_action="a person reviews the refused call and the lane, then "
                                  "removes the label")
    decision = LaneGuard(ctx, stage, max_age_s=0.0).check()
    if isinstance(decision, Stop):
        stop_lane(ctx, decision, "the agent's next side effect")
    if stage == "review":
        raise Halt(LaneOutcome.WAITING, "the repair session was stopped but the issue is "
                   "active again; the next run repairs once more")
    fail_attempt(ctx, "session_stopped",
                 f"the session was stopped ({signals.get('stop')}) but the issue is active "
                 "again")
