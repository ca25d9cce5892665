"""One function per lane phase (claim → prepare → agent → validate → handoff → review ⟲
repair → land → closeout → cleanup).

Each phase ends by writing its target file, and only after its side effect, which is itself
idempotent: a phase killed anywhere can simply run again. A phase that cannot or must not go
on raises :class:`Halt` with the lane's outcome; later phases then do nothing in this run.
"""

from __future__ import annotations

import os
import re
import socket

from maestro.agents.tools import SessionStopped
from maestro.git import head_of
from maestro.ids import iso_now, new_run_id
from maestro.lanes import preflight
from maestro.lanes.context import LaneContext
from maestro.lanes.guard import LaneGuard, after_stopped_session, agent_asked_for_human
from maestro.lanes.outcomes import (
    Halt,
    check_eligible,
    fail_attempt,
    lease,
    post_once,
    require_human,
    reset_lane,
)
from maestro.lanes.push.change import no_change_reason
from maestro.lanes.push.provenance import accept_on_release, refuse_unless_made_by_sessions
from maestro.lanes.push.push_guard import push_lane
from maestro.lanes.record.moves import move
from maestro.lanes.record.rebuild import handed_off_elsewhere, rebuild_from_tracker
from maestro.lanes.sessions.agent_run import SessionResult, first_prompt, run_agent_session
from maestro.lanes.sessions.prior_work import resume_note_for
from maestro.lanes.validation.gate import validate_head
from maestro.lanes.worktree import fresh_worktree, hooks
from maestro.lanes.worktree.start_point import start_point
from maestro.lanes.worktree.workspace import ensure_worktree
from maestro.lanes.worktree.worktree_guard import adopt_remote_branch, heal_lane_worktree
from maestro.model import LaneOutcome, PullRequest, PullState
from maestro.process import faults
from maestro.statenames import same_state


def claim(ctx: LaneContext) -> None:
    state = ctx.state
    policy = ctx.workflow.policy
    attention = state.read("attention.json")
    if attention:
        issue = ctx.tracker.get(ctx.identifier)
        guarded = bool(attention.get("guarded")) and (
            same_state(issue.state, policy.tracker.in_progress_state))
        if issue.has_label(policy.tracker.needs_attention_label) or guarded:
            raise Halt(LaneOutcome.NEEDS_HUMAN,
                       f"waiting for a human ({attention.get('error_class')}): "
                       f"{attention.get('reason')}", failed=True)
        # A person removed the label, or moved a guarded issue out of its guard state.
        accept_on_release(ctx)
        reset_lane(ctx, "a person released the lane")
    previous = state.read("lease.json")
    if previous is None and rebuild_from_tracker(ctx):
        return
    result = state.read("result.json") or {}
    attempt, previous_failure = 1, ""
    if previous and result.get("disposition") == "failed":
        if not result.get("retryable"):
            require_human(ctx, str(result.get("error_class", "failed")),
                          str(result.get("reason", "the attempt failed")))
        attempt = int(previous.get("attempt", 1)) + 1
        previous_failure = f"{result.get('error_class')}: {result.get('reason')}"
    issue = ctx.tracker.get(ctx.identifier)
    check_eligible(ctx, issue, retry=attempt > 1)
    if previous and result.get("disposition") == "failed":
        state.archive_attempt(int(previous.get("attempt", 1)))
    if attempt == 1:
        ctx.take_snapshot()
    faults.point("claim:before")
    run_id = new_run_id()
    state.remove("outcome.json")
    state.write("lease.json", {
        "run_id": run_id, "attempt": attempt, "issue_id": issue.id,
        "issue": ctx.identifier, "pid": os.getpid(), "host": socket.gethostname(),
        "title": issue.title, "url": issue.url,  # for status and the dashboard's lane page
        "state_at_claim": issue.state,
        "acquired_at": iso_now(), "previous_failure": previous_failure,
    })
    state.journal("claimed", run_id=run_id, attempt=attempt)
    if found := preflight.problems(ctx.config, ctx.workflow, issue, ctx.branch):
        require_human(ctx, "preflight_failed", "; ".join(found))


def prepare(ctx: LaneContext) -> None:
    faults.point("prepare:before")
    start = start_point(ctx)  # fetches what must be fetched
    base_ref = start.ref
    new = not ctx.worktree.is_dir()
    hooks.expect_new_worktree(ctx)
    workspace, base_commit = ensure_worktree(
        ctx.config.repo_root, ctx.config.workspace_root, ctx.identifier, ctx.branch,
        base_ref, lambda step: hooks.worktree_healed(ctx, step), start.commit,
        start.lane_branch_exists)
    if start.from_remote_lane:
        adopt_remote_branch(ctx, base_commit)
    elif new:
        fresh_worktree.created(workspace.path, ctx.branch, base_commit)
    hooks.after_create(ctx)
    faults.point("prepare:after")
    ctx.state.write("workspace.json", {
        "path": workspace.relative_path, "branch": ctx.branch, "base_commit": base_commit,
        "base_ref": base_ref, "prepared_at": iso_now()})


def agent(ctx: LaneContext) -> None:
    claim_record = lease(ctx)
    run_id, attempt = str(claim_record["run_id"]), int(claim_record["attempt"])
    policy = ctx.workflow.policy.tracker
    guard = LaneGuard(ctx, "work")
    # A run killed after the agent asked for a human resumes that request (the recorded
    # tool calls decide the outcome): its own label is not a person's stop.
    guard.enforce(f"moving the issue to {policy.in_progress_state}", own_attention=
                  agent_asked_for_human(ctx.state.path("tools.jsonl"),
                                        policy.needs_attention_label))
    issue = guard.issue()
    assert issue is not None  # enforce stops the lane when the issue is gone
    if handed_off_elsewhere(ctx, run_id, issue.state):
        # The folder is older than the tracker: what the tracker and the forge say wins,
        # as on a runner with no folder at all; the stale folder is archived, not lost.
        reset_lane(ctx, f"the tracker shows run {run_id} handed off; the lane folder is "
                        "older (restored from a backup?)")
        rebuild_from_tracker(ctx)
        raise Halt(LaneOutcome.WAITING, f"run {run_id} already handed off (the tracker's "
                   "completion block): the lane was rebuilt from the tracker and the forge "
                   "and waits for review")
    faults.point("agent:before")
    move(ctx, policy.in_progress_state)
    post_once(ctx, "start", run_id, "run started", {
        "run_id": run_id, "attempt": attempt, "started_at": claim_record.get("acquired_at"),
        "workspace_path": ctx.workspace_relpath, "branch": ctx.branch,
        "transport": ctx.config.agent.transport})
    faults.point("agent:started")
    outcome = run_agent_session(ctx, run_id, attempt, first_prompt(
        issue, str(claim_record.get("previous_failure")), resume_note_for(ctx)))
    if outcome.error_class == "terminated":
        raise Halt(LaneOutcome.INTERRUPTED, "stopped by SIGTERM; the lane resumes on the next "
                   "run", signalled=True)
    if outcome.error_class == SessionStopped.error_class:
        if outcome.signals.get("violations"):
            _record_result(ctx, outcome, run_id, attempt)
        after_stopped_session(ctx, outcome.signals, "work")
    faults.point("agent:after")
    _record_result(ctx, outcome, run_id, attempt)
    kind = outcome.verdict.kind
    if kind == "review_handoff":
        return
    if kind == "manual_attention":
        require_human(ctx, "manual_attention", "the agent asked for a human; see its comment")
    if outcome.error_class == "interrupted":
        raise Halt(LaneOutcome.INTERRUPTED, outcome.verdict.reason)
    retry_kind = "continuation" if outcome.error_class == "turns_exhausted" else "failure"
    fail_attempt(ctx, outcome.error_class, outcome.message or outcome.verdict.reason,
                 retryable=outcome.retryable, kind=retry_kind)


def _record_result(ctx: LaneContext, outcome: SessionResult, run_id: str, attempt: int) -> None:
    disposition = outcome.verdict.kind if outcome.verdict.kind in (
        "review_handoff", "manual_attention", "review_repair") else "failed"
    ctx.state.write("result.json", {
        "disposition": disposition, "reason": outcome.message or outcome.verdict.reason,
        "error_class": outcome.error_class, "retryable": outcome.retryable,
        "run_id": run_id, "attempt": attempt, "turns": outcome.turns,
        "thread_id": outcome.thread_id, "tokens": outcome.tokens,
        "signals": outcome.signals, "finished_at": iso_now()})


def validate(ctx: LaneContext) -> None:
    heal_lane_worktree(ctx)
    checked = validate_head(ctx)
    faults.point("validate:after")
    ctx.state.write("validation.json", {"head": checked.head, "passed": checked.passed and
                                        not checked.dirty, "dirty": checked.dirty,
                                        "commands": checked.records, "cached": checked.cached,
                                        "ran_at": iso_now()})
    if checked.dirty:
        fail_attempt(ctx, checked.error_class, f"the agent left {checked.unfaithful()}")
    if not checked.passed:
        failed = checked.records[-1]
        fail_attempt(ctx, "validation_failed",
                     f"`{failed['command']}` exited {failed['exit_code']}: "
                     f"{failed['output_tail'][-500:]}")


def handed_pr(ctx: LaneContext, found: PullRequest | None, head: str) -> PullRequest | None:
    """The PR the agent handed off (``result.json``'s ``signals.handoff.pr_url``, which the
    tool checked was the lane's open PR), read by its number, when the branch's PR list
    does not show it open: a list can lag the create it follows by more than the tool's
    read (breaker 26 M2). Only an open PR of the lane branch at ``head`` (the validated
    HEAD just pushed) whose URL is exactly the one handed off counts: ``result.json`` is in
    a folder the agent's code can reach without the sandbox, and a fork's PR of the same
    branch name is never at the lane's head unless it is the lane's commit (breaker 26 N5).
    None otherwise, and when the list shows an open PR."""
    if found is not None and found.state == PullState.OPEN:
        return None
    result = ctx.state.read("result.json") or {}
    url = str(((result.get("signals") or {}).get("handoff") or {}).get("pr_url") or "")
    number = re.search(r"(\d+)/?$", url)
    if number is None:
        return None
    pr = ctx.forge.refresh([int(number.group(1))]).get(int(number.group(1)))
    if (pr is None or pr.url != url or pr.branch != ctx.branch or pr.head != head
            or pr.state != PullState.OPEN):
        return None
    return pr


def handoff(ctx: LaneContext) -> None:
    claim_record = lease(ctx)
    run_id = str(claim_record["run_id"])
    policy = ctx.workflow.policy
    validation = ctx.state.read("validation.json") or {}
    head = str(validation.get("head", ""))
    if head_of(heal_lane_worktree(ctx)) != head:
        fail_attempt(ctx, "head_moved", "the lane HEAD moved after validation")
    refuse_unless_made_by_sessions(ctx, head, "handoff")
    faults.point("handoff:before")
    guard = LaneGuard(ctx, "work")
    guard.enforce("pushing the lane branch")
    empty = no_change_reason(ctx)
    if empty:
        fail_attempt(ctx, "no_change", empty)
    # HEAD as read above: only maestro's reads (provenance, the guard's issue) ran since.
    push_lane(ctx, ctx.worktree, "handoff", head)
    faults.point("handoff:pushed")
    found = ctx.forge.find_pr(ctx.branch)
    handed = handed_pr(ctx, found, head)
    if handed is not None:
        pr = handed  # read by its number: the PR list lags it (see handed_pr)
    elif found is None or found.state.value != "open":
        fail_attempt(ctx, "pr_missing", "the agent handed off but the lane has no open PR")
        return
    else:
        pr = ctx.forge.open_pr(ctx.branch, policy.forge.base_branch, found.title, found.body)
    problems = []
    if pr.branch != ctx.branch:
        problems.append(f"PR head branch {pr.branch!r} is not the lane branch")
    if pr.head != head:
        problems.append(f"PR head {pr.head[:12]} is not the validated HEAD {head[:12]}")
    if pr.draft:
        problems.append("PR is a draft")
    if problems:
        require_human(ctx, "handoff_mismatch", "; ".join(problems))
    result = ctx.state.read("result.json") or {}
    summary = str(((result.get("signals") or {}).get("handoff") or {}).get("summary", ""))
    # The completion comment (with its machine-readable block) goes first: a runner that
    # dies between the two leaves a block from which any runner can finish the handoff,
    # and the issue never sits in the success state without its completion comment.
    guard.enforce("posting the completion comment")
    post_once(ctx, "completion", run_id, "ready for review", {
        "run_id": run_id, "attempt": claim_record.get("attempt"),
        "finished_at": iso_now(), "branch": ctx.branch, "pr_url": pr.url,
        "workspace_path": ctx.workspace_relpath, "validation_result": "passed",
        "validated_head": head, "summary": summary}, summary,
        validated_head=head)  # a new head of the same run is said again, never folded
    faults.point("handoff:commented")
    guard.enforce(f"moving the issue to {policy.tracker.success_state}")
    move(ctx, policy.tracker.success_state)
    faults.point("handoff:transitioned")
    faults.point("handoff:after")
    ctx.state.write("pr.json", {
        "forge": ctx.forge.name, "number": pr.number, "url": pr.url, "branch": pr.branch,
        "base": pr.base, "validated_head": head, "run_id": run_id,
        "repair_rounds": 0, "repair_heads": [], "handed_off_at": iso_now()})


# -- post-review ------------------------------------------------------------------------------
