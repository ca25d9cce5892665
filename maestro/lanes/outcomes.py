"""How a lane stops: the :class:`Halt` a phase raises, the attention path for a human,
failed attempts and their retry budget, and the eligibility checks a phase repeats.

Everything here writes to the tracker only through idempotent calls (``post_once`` finds
maestro's earlier comment before posting), so a phase may run any of it twice.
"""

from __future__ import annotations

import shutil
from typing import Any

from maestro.errors import LabelMissingError, MaestroError
from maestro.ids import iso_now
from maestro.lanes.context import LaneContext
from maestro.lanes.record import comments
from maestro.lanes.record.archive import new_folder
from maestro.lanes.record.moves import half_done, move, pending_move
from maestro.model import Issue, LaneOutcome
from maestro.process import faults
from maestro.statenames import state_key
from maestro.trackers.eligibility import ineligible_reason


class Halt(Exception):
    """Stop the lane for this run with ``outcome``; ``failed`` makes the run exit non-zero."""

    def __init__(self, outcome: LaneOutcome, reason: str, failed: bool = False,
                 **details: Any) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason
        self.failed = failed
        self.details = details


# -- shared helpers ---------------------------------------------------------------------------


def lease(ctx: LaneContext) -> dict[str, Any]:
    data = ctx.state.read("lease.json")
    if not isinstance(data, dict):
        raise MaestroError(f"lane {ctx.identifier} has no claim (lease.json); run claim first")
    return data


def post_once(ctx: LaneContext, kind: str, run_id: str, title: str, fields: dict[str, Any],
              text: str = "", **key: Any) -> bool:
    """Post maestro's comment unless one with the same kind, run id and key already exists."""
    existing = ctx.tracker.comments(ctx.identifier)
    if comments.find(existing, kind=kind, run_id=run_id, **key) is not None:
        return False
    block = {"kind": kind, "run_id": run_id, "issue": ctx.identifier, **key,
             **{k: v for k, v in fields.items() if k not in ("summary",)}}
    ctx.tracker.comment(ctx.identifier, comments.render(title, fields, block, text))
    return True


#: The attention path under way (its arguments), from before its first write to its
#: record: a path cut after the label (a kill, an outage before the failure comment) is
#: finished by the lane's next phase, and its label is never taken for a person's stop
#: (breaker 25 F5).
ATTENTION_PENDING = "attention-pending.json"


def require_human(ctx: LaneContext, error_class: str, reason: str,
                  next_action: str = "") -> None:
    """The attention path of SPEC-NOTES §3; always raises ``Halt(NEEDS_HUMAN)``."""
    policy = ctx.workflow.policy.tracker
    claim = ctx.state.read("lease.json") or {}
    run_id = str(claim.get("run_id", "no-run"))
    ctx.state.write(ATTENTION_PENDING, {"error_class": error_class, "reason": reason,
                                        "next_action": next_action, "at": iso_now()})
    guarded = False
    try:
        ctx.tracker.add_label(ctx.identifier, policy.needs_attention_label)
    except LabelMissingError:
        guarded = True
    faults.point("attention:labelled")
    target = policy.in_progress_state if guarded else policy.failure_state
    # A person's decision is never undone by maestro: a terminal state (Canceled, Duplicate,
    # Done), or any state outside the lane's own (a move to Backlog while the lane worked:
    # breaker 21) stays, and the issue still gets the label and the comment. Only an issue
    # in a state maestro's lane works in moves to the failure state; without the label
    # (guarded) the issue is held in progress, whatever state it is in but a terminal one.
    seen = ctx.tracker.get(ctx.identifier)
    current = seen.state
    ours = state_key(current) in policy.working_states() or half_done(
        policy, pending_move(ctx.state), seen)  # the lane's own move, cut half-way
    if not policy.is_terminal(current) and (guarded or ours):
        move(ctx, target)
    note = reason
    if guarded:
        note += (f"\n\nThe label {policy.needs_attention_label!r} does not exist in the tracker, "
                 f"so the issue stays in {target!r} (not startable) until a person acts.")
        # There is no label to remove: say what does release the issue (docs/guide/recovery.md).
        next_action = next_action or (f"a person reviews the lane, then creates the label "
                                      f"{policy.needs_attention_label!r} or moves the issue")
    post_once(ctx, "failure", run_id, "needs a human", {
        "run_id": run_id, "attempt": claim.get("attempt"), "failed_at": iso_now(),
        "error_class": error_class,
        "next_action": next_action or (
            "a person reviews the lane, then removes the label; the lane starts again "
            f"once the issue is in {policy.failure_state!r}"),
        "workspace_path": ctx.workspace_relpath,
    }, note, error_class=error_class)
    record = {"error_class": error_class, "reason": reason, "guarded": guarded,
              "at": iso_now(), "run_id": run_id, "attempt": claim.get("attempt")}
    ctx.state.write("attention.json", record)
    if guarded:
        ctx.state.write("terminal-guarded.json", record)
    ctx.state.remove(ATTENTION_PENDING)
    raise Halt(LaneOutcome.NEEDS_HUMAN, f"{error_class}: {reason}", failed=True,
               error_class=error_class)


def finish_pending_attention(ctx: LaneContext) -> None:
    """Before a phase: an attention path a run started and did not finish is finished
    (every step is idempotent); raises ``Halt(NEEDS_HUMAN)`` then."""
    record = ctx.state.read(ATTENTION_PENDING)
    if not isinstance(record, dict) or ctx.state.exists("attention.json"):
        return
    require_human(ctx, str(record.get("error_class") or "manual_intervention_required"),
                  str(record.get("reason") or "an earlier run stopped for a human"),
                  str(record.get("next_action") or ""))


def fail_attempt(ctx: LaneContext, error_class: str, reason: str, retryable: bool = True,
                 kind: str = "failure") -> None:
    """Record a failed attempt; retry while budget remains, else go the attention way."""
    claim = lease(ctx)
    attempt = int(claim.get("attempt", 1))
    budget = ctx.workflow.policy.execution.max_attempts
    result = ctx.state.read("result.json") or {}
    will_retry = retryable and attempt < budget
    result.update({"disposition": "failed", "error_class": error_class, "reason": reason,
                   "retryable": will_retry, "run_id": claim.get("run_id"),
                   "attempt": attempt, "failed_at": iso_now()})
    ctx.state.write("result.json", result)
    ctx.state.journal("attempt_failed", error_class=error_class, reason=reason,
                      attempt=attempt, retry=will_retry)
    if will_retry:
        raise Halt(LaneOutcome.RETRY, f"{error_class}: {reason}", failed=True,
                   error_class=error_class, attempt=attempt, retry_kind=kind)
    if retryable:
        reason = f"{reason} (attempt {attempt} of {budget}: retries exhausted)"
    require_human(ctx, error_class, reason)


def check_eligible(ctx: LaneContext, issue: Issue, retry: bool) -> None:
    """SPEC-NOTES §1, for this one issue (the loop checks concurrency before dispatch)."""
    reason = ineligible_reason(issue, ctx.workflow.policy.tracker, resuming=retry)
    if reason is not None:
        raise Halt(LaneOutcome.SKIPPED, reason)


def reset_lane(ctx: LaneContext, why: str) -> str | None:
    """Archive the whole lane folder so the issue starts over as a fresh lane; work a
    stop kept for a person is moved aside first, under names of its own. Returns where
    that work now is, in words, or None."""
    from maestro.lanes.worktree.retire import set_aside_kept

    state = ctx.state
    if (aside := set_aside_kept(ctx)) is not None:
        state.journal("kept_work_set_aside", at=aside)
        why += f"; the work kept by the earlier stop is now {aside}"
    archive = new_folder(ctx.config.state_root, ctx.identifier)
    archive.mkdir(parents=True, exist_ok=True)
    for entry in list(state.dir.iterdir()):
        if entry.name in ("lane.lock", "holder.json"):
            continue
        shutil.move(str(entry), archive / entry.name)
    state.journal("lane_reset", reason=why, archived_to=str(archive))
    return aside


# -- phases -----------------------------------------------------------------------------------
