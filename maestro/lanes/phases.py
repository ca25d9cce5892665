"""One function per lane phase (claim → prepare → agent → validate → handoff → review ⟲
repair → land → closeout → cleanup).

Each phase ends by writing its target file, and only after its side effect, which is itself
idempotent: a phase killed anywhere can simply run again. A phase that cannot or must not go
on raises :class:`Halt` with the lane's outcome; later phases then do nothing in this run.
"""

from __future__ import annotations

import os
import shutil
import socket
from typing import Any

from maestro import comments, faults
from maestro.classify import Decision, classify, lane_signals
from maestro.eligibility import ineligible_reason
from maestro.errors import LabelMissingError, MaestroError
from maestro.git import git, git_ok, rev_parse
from maestro.ids import iso_now, new_run_id
from maestro.lanes.agent_run import SessionResult, first_prompt, run_agent_session
from maestro.lanes.commands import run_commands
from maestro.lanes.context import LaneContext
from maestro.lanes.workspace import ensure_worktree, remove_worktree
from maestro.model import Classification, Issue, LaneOutcome, PullRequest

REPAIR_MARKER = "maestro:review-repair"


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


def require_human(ctx: LaneContext, error_class: str, reason: str,
                  next_action: str = "") -> None:
    """The attention path of SPEC-NOTES §3; always raises ``Halt(NEEDS_HUMAN)``."""
    policy = ctx.workflow.policy.tracker
    claim = ctx.state.read("lease.json") or {}
    run_id = str(claim.get("run_id", "no-run"))
    guarded = False
    try:
        ctx.tracker.add_label(ctx.identifier, policy.needs_attention_label)
    except LabelMissingError:
        guarded = True
    target = policy.in_progress_state if guarded else policy.failure_state
    ctx.tracker.transition(ctx.identifier, target)
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
        "next_action": next_action or "a person reviews the lane, then removes the label",
        "workspace_path": ctx.workspace_relpath,
    }, note, error_class=error_class)
    record = {"error_class": error_class, "reason": reason, "guarded": guarded,
              "at": iso_now(), "run_id": run_id, "attempt": claim.get("attempt")}
    ctx.state.write("attention.json", record)
    if guarded:
        ctx.state.write("terminal-guarded.json", record)
    raise Halt(LaneOutcome.NEEDS_HUMAN, f"{error_class}: {reason}", failed=True,
               error_class=error_class)


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


def still_active(ctx: LaneContext, issue: Issue) -> None:
    """Stop the lane if the issue was cancelled or moved away (SPEC-NOTES §4)."""
    policy = ctx.workflow.policy.tracker
    if policy.is_terminal(issue.state):
        raise Halt(LaneOutcome.TERMINATED, f"issue moved to {issue.state}")
    active = {policy.in_progress_state.casefold(), *(s.casefold() for s in
                                                      policy.startable_states)}
    if issue.state.casefold() not in active:
        raise Halt(LaneOutcome.INTERRUPTED, f"issue moved to {issue.state} during the run")


def check_eligible(ctx: LaneContext, issue: Issue, retry: bool) -> None:
    """SPEC-NOTES §1, for this one issue (the loop checks concurrency before dispatch)."""
    reason = ineligible_reason(issue, ctx.workflow.policy.tracker, resuming=retry)
    if reason is not None:
        raise Halt(LaneOutcome.SKIPPED, reason)


def reset_lane(ctx: LaneContext, why: str) -> None:
    """Archive the whole lane folder so the issue starts over as a fresh lane."""
    state = ctx.state
    archive = ctx.config.state_root / "archive" / f"{ctx.identifier}-{new_run_id()}"
    archive.mkdir(parents=True, exist_ok=True)
    for entry in list(state.dir.iterdir()):
        if entry.name in ("lane.lock", "holder.json"):
            continue
        shutil.move(str(entry), archive / entry.name)
    state.journal("lane_reset", reason=why, archived_to=str(archive))


# -- phases -----------------------------------------------------------------------------------


def claim(ctx: LaneContext) -> None:
    state = ctx.state
    policy = ctx.workflow.policy
    attention = state.read("attention.json")
    if attention:
        issue = ctx.tracker.get(ctx.identifier)
        guarded = bool(attention.get("guarded")) and (
            issue.state.casefold() == policy.tracker.in_progress_state.casefold())
        if issue.has_label(policy.tracker.needs_attention_label) or guarded:
            raise Halt(LaneOutcome.NEEDS_HUMAN,
                       f"waiting for a human ({attention.get('error_class')}): "
                       f"{attention.get('reason')}", failed=True)
        # A person removed the label, or moved a guarded issue out of its guard state.
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
        "state_at_claim": issue.state,
        "acquired_at": iso_now(), "previous_failure": previous_failure,
    })
    state.journal("claimed", run_id=run_id, attempt=attempt)


def rebuild_from_tracker(ctx: LaneContext) -> bool:
    """A runner with no lane folder rebuilds the lane's targets from maestro's comment
    blocks and the forge, so the lane resumes instead of starting over (DESIGN: local state
    is a cache). Returns False when the issue carries no run of maestro's."""
    policy = ctx.workflow.policy.tracker
    issue = ctx.tracker.get(ctx.identifier)
    if policy.is_startable(issue.state) or policy.is_terminal(issue.state):
        return False
    found = comments.blocks(ctx.tracker.comments(ctx.identifier))
    starts = [b for b in found if b.get("kind") == "start"]
    if not starts:
        return False
    for label in (policy.opt_out_label, policy.needs_attention_label):
        if issue.has_label(label):
            raise Halt(LaneOutcome.SKIPPED, f"issue carries the label {label!r}")
    start = starts[-1]
    run_id, attempt = str(start["run_id"]), int(start.get("attempt", 1))
    state = ctx.state
    failure = comments.find_in(found, kind="failure", run_id=run_id)
    if failure is not None and issue.state.casefold() == policy.in_progress_state.casefold():
        # The terminal-guarded fallback (SPEC-NOTES §3): the run stopped for a human but the
        # label was missing, so only the comment and the guard state remain. Rebuilding
        # the lane from its start comment would dispatch the agent again.
        record = {"error_class": failure.get("error_class"),
                  "reason": "stopped for a human (the tracker's failure comment); the "
                            "needs-attention label could not be applied",
                  "guarded": True, "at": failure.get("failed_at") or iso_now(),
                  "run_id": run_id, "attempt": failure.get("attempt"), "rebuilt": True}
        state.write("attention.json", record)
        state.write("terminal-guarded.json", record)
        raise Halt(LaneOutcome.NEEDS_HUMAN, f"waiting for a human ({record['error_class']}): "
                   f"{record['reason']}", failed=True)
    ctx.take_snapshot()
    state.write("lease.json", {
        "run_id": run_id, "attempt": attempt, "issue_id": issue.id, "issue": ctx.identifier,
        "pid": os.getpid(), "host": socket.gethostname(), "state_at_claim": issue.state,
        "acquired_at": start.get("started_at") or iso_now(), "previous_failure": "",
        "rebuilt_from": "tracker comments"})
    completion = comments.find_in(found, kind="completion", run_id=run_id)
    if completion is not None:
        head = str(completion["validated_head"])
        state.write("result.json", {"disposition": "review_handoff", "run_id": run_id,
                                    "attempt": attempt, "rebuilt": True,
                                    "signals": {"handoff": {"summary": ""}}})
        state.write("validation.json", {"head": head, "passed": True, "rebuilt": True,
                                        "commands": []})
        pr = ctx.forge.find_pr(ctx.branch)
        if pr is not None and issue.state.casefold() != policy.in_progress_state.casefold():
            repairs = [b for b in found if b.get("kind") == "repair"
                       and str(b.get("run_id", "")).startswith(f"{run_id}.repair")]
            state.write("pr.json", {
                "forge": ctx.forge.name, "number": pr.number, "url": pr.url,
                "branch": pr.branch, "base": pr.base,
                "validated_head": str(repairs[-1]["validated_head"]) if repairs else head,
                "run_id": run_id, "repair_rounds": len(repairs),
                "repair_heads": [str(b["validated_head"]) for b in repairs],
                "handed_off_at": completion.get("finished_at"), "rebuilt": True})
    closeout_block = comments.find_in(found, kind="closeout", run_id=run_id)
    if closeout_block is not None:
        state.write("merge.json", {"commit": closeout_block.get("merge_commit"),
                                   "method": closeout_block.get("merge_method"),
                                   "rebuilt": True})
        state.write("closeout.json", {"state": closeout_block.get("state"), "rebuilt": True})
    state.journal("rebuilt_from_tracker", run_id=run_id, attempt=attempt)
    return True


def prepare(ctx: LaneContext) -> None:
    faults.point("prepare:before")
    forge = ctx.workflow.policy.forge
    repo = ctx.config.repo_root
    git_ok(repo, "fetch", "--quiet", forge.remote, forge.base_branch)
    remote_ref = f"refs/remotes/{forge.remote}/{forge.base_branch}"
    base_ref = remote_ref if rev_parse(repo, remote_ref) else forge.base_branch
    # A lane branch already on the remote (another runner pushed it) is where work resumes.
    lane_ref = f"refs/remotes/{forge.remote}/{ctx.branch}"
    if rev_parse(repo, f"refs/heads/{ctx.branch}") is None and git_ok(
            repo, "fetch", "--quiet", forge.remote, f"+refs/heads/{ctx.branch}:{lane_ref}"):
        base_ref = lane_ref
    workspace, base_commit = ensure_worktree(
        repo, ctx.config.workspace_root, ctx.identifier, ctx.branch, base_ref)
    faults.point("prepare:after")
    ctx.state.write("workspace.json", {
        "path": workspace.relative_path, "branch": ctx.branch, "base_commit": base_commit,
        "base_ref": base_ref, "prepared_at": iso_now()})


def agent(ctx: LaneContext) -> None:
    claim_record = lease(ctx)
    run_id, attempt = str(claim_record["run_id"]), int(claim_record["attempt"])
    policy = ctx.workflow.policy.tracker
    issue = ctx.tracker.get(ctx.identifier)
    still_active(ctx, issue)
    faults.point("agent:before")
    ctx.tracker.transition(ctx.identifier, policy.in_progress_state)
    post_once(ctx, "start", run_id, "run started", {
        "run_id": run_id, "attempt": attempt, "started_at": claim_record.get("acquired_at"),
        "workspace_path": ctx.workspace_relpath, "branch": ctx.branch,
        "transport": ctx.config.agent.transport})
    faults.point("agent:started")
    outcome = run_agent_session(ctx, run_id, attempt,
                                first_prompt(issue, str(claim_record.get("previous_failure"))))
    if outcome.error_class == "terminated":
        raise Halt(LaneOutcome.INTERRUPTED, "stopped by SIGTERM; the lane resumes on the next "
                   "run", terminated=True)
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
    execution = ctx.workflow.policy.execution
    worktree = ctx.worktree
    head = git(worktree, "rev-parse", "HEAD")
    dirty = git(worktree, "status", "--porcelain", "--untracked-files=no")
    passed, records = run_commands(execution.validation_commands, worktree,
                                   execution.validation_timeout_s,
                                   ctx.config.secret_env_vars())
    faults.point("validate:after")
    ctx.state.write("validation.json", {"head": head, "passed": passed and not dirty,
                                        "dirty": bool(dirty), "commands": records,
                                        "ran_at": iso_now()})
    if dirty:
        fail_attempt(ctx, "uncommitted_changes",
                     "the agent left uncommitted changes to tracked files")
    if not passed:
        failed = records[-1]
        fail_attempt(ctx, "validation_failed",
                     f"`{failed['command']}` exited {failed['exit_code']}: "
                     f"{failed['output_tail'][-500:]}")


def handoff(ctx: LaneContext) -> None:
    claim_record = lease(ctx)
    run_id = str(claim_record["run_id"])
    policy = ctx.workflow.policy
    validation = ctx.state.read("validation.json") or {}
    head = str(validation.get("head", ""))
    if git(ctx.worktree, "rev-parse", "HEAD") != head:
        fail_attempt(ctx, "head_moved", "the lane HEAD moved after validation")
    faults.point("handoff:before")
    ctx.forge.push(ctx.worktree, ctx.branch)
    faults.point("handoff:pushed")
    found = ctx.forge.find_pr(ctx.branch)
    if found is None or found.state.value != "open":
        fail_attempt(ctx, "pr_missing", "the agent handed off but the lane has no open PR")
        return
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
    post_once(ctx, "completion", run_id, "ready for review", {
        "run_id": run_id, "attempt": claim_record.get("attempt"),
        "finished_at": iso_now(), "branch": ctx.branch, "pr_url": pr.url,
        "workspace_path": ctx.workspace_relpath, "validation_result": "passed",
        "validated_head": head, "summary": summary}, summary)
    faults.point("handoff:commented")
    ctx.tracker.transition(ctx.identifier, policy.tracker.success_state)
    faults.point("handoff:transitioned")
    faults.point("handoff:after")
    ctx.state.write("pr.json", {
        "forge": ctx.forge.name, "number": pr.number, "url": pr.url, "branch": pr.branch,
        "base": pr.base, "validated_head": head, "run_id": run_id,
        "repair_rounds": 0, "repair_heads": [], "handed_off_at": iso_now()})


# -- post-review ------------------------------------------------------------------------------


def assess(ctx: LaneContext) -> tuple[Decision, PullRequest | None]:
    """Refresh the PR and the issue, classify, and record the result in ``review.json``."""
    policy = ctx.workflow.policy
    record = ctx.state.read("pr.json")
    pr = None
    if record:
        pr = ctx.forge.refresh([int(record["number"])]).get(int(record["number"]))
    issue = ctx.tracker.get(ctx.identifier)
    signals = lane_signals(pr, record, issue.state, ctx.branch, policy)
    decision = classify(signals)
    ctx.fresh_review = True
    ctx.state.write("review.json", {
        "classification": decision.classification.value, "reason": decision.reason,
        "feedback": list(decision.feedback_kinds), "signals": signals.as_dict(),
        "checked_at": iso_now()})
    return decision, pr


def review(ctx: LaneContext) -> None:
    if (ctx.state.read("pr.json") or {}).get("pending_repair"):
        finish_repair(ctx)
    decision, pr = assess(ctx)
    C = Classification
    if decision.classification in (C.READY_TO_LAND, C.DELIVERED):
        return
    if decision.classification == C.REVIEW_WAIT:
        raise Halt(LaneOutcome.WAITING, decision.reason, wait_reason=decision.reason)
    if decision.classification == C.CANCELLED:
        cancel(ctx, decision.reason)
    if decision.classification == C.MANUAL_INTERVENTION_REQUIRED or pr is None:
        require_human(ctx, "manual_intervention_required", decision.reason)
        return
    repair(ctx, pr, decision)


def feedback_text(pr: PullRequest, decision: Decision) -> str:
    lines = []
    for review_item in pr.reviews:
        if review_item.verdict.value == "CHANGES_REQUESTED" and review_item.commit == pr.head:
            lines.append(f"- review by {review_item.author} (changes requested): "
                         f"{review_item.body or '(no text)'}")
    for thread in pr.threads:
        if not thread.resolved:
            where = f"{thread.path}:{thread.line}" if thread.path else "general"
            lines.append(f"- unresolved thread at {where}: {thread.body}")
    for check in pr.checks:
        if check.state.value == "failure":
            lines.append(f"- failing check {check.name}:\n{check.summary[-1500:]}")
    if "conflict" in decision.feedback_kinds:
        lines.append(f"- {pr.conflict}: merge or rebase the base branch into the lane branch "
                     "and resolve the conflicts")
    return "\n".join(lines) or "- (no details given)"


def repair(ctx: LaneContext, pr: PullRequest, decision: Decision) -> None:
    record = dict(ctx.state.read("pr.json") or {})
    claim_record = lease(ctx)
    round_no = int(record.get("repair_rounds", 0)) + 1
    run_id = f"{claim_record['run_id']}.repair{round_no}"
    issue = ctx.tracker.get(ctx.identifier)
    text = "\n".join([
        REPAIR_MARKER, f"Issue: {issue.identifier}", f"PR: {pr.url}",
        f"Review repair round {round_no}: address this feedback on the lane branch, commit, "
        "then call issue_review_repair_complete and "
        "issue_terminal_finalize(path=\"review_repair\").",
        "", feedback_text(pr, decision), "", "Original issue:", issue.description])
    ctx.state.journal("repair_started", round=round_no, feedback=list(decision.feedback_kinds))
    if "conflict" in decision.feedback_kinds:
        git_ok(ctx.worktree, "fetch", "--quiet", ctx.workflow.policy.forge.remote,
               ctx.workflow.policy.forge.base_branch)
    tools_record = ctx.state.path(f"repairs/{round_no:02d}-tools.jsonl")
    outcome = run_agent_session(ctx, run_id, int(claim_record["attempt"]), text, repair=True,
                                phase="repair", tools_record=tools_record)
    kind = outcome.verdict.kind
    if kind == "manual_attention":
        require_human(ctx, "manual_attention", "the agent asked for a human during repair")
    if kind != "review_repair":
        require_human(ctx, outcome.error_class or "repair_failed",
                      f"repair round {round_no} failed: "
                      f"{outcome.message or outcome.verdict.reason}")
    faults.point("repair:agent-done")
    execution = ctx.workflow.policy.execution
    passed, records = run_commands(execution.validation_commands, ctx.worktree,
                                   execution.validation_timeout_s, ctx.config.secret_env_vars())
    if not passed:
        require_human(ctx, "validation_failed",
                      f"repair round {round_no} does not pass `{records[-1]['command']}`")
    summary = str((outcome.signals.get("repair_complete") or {}).get("summary", ""))
    record["pending_repair"] = {"round": round_no, "run_id": run_id, "summary": summary,
                                "head": git(ctx.worktree, "rev-parse", "HEAD")}
    ctx.state.write("pr.json", record)
    finish_repair(ctx)
    decision, _ = assess(ctx)
    if decision.classification in (Classification.READY_TO_LAND, Classification.DELIVERED):
        return
    raise Halt(LaneOutcome.WAITING, decision.reason, wait_reason=decision.reason)


def finish_repair(ctx: LaneContext) -> None:
    """Publish a validated repair: push, move the PR and the record to the new head.

    The pending round is written before the push, so a run killed anywhere in here finishes
    the same round next time instead of running the agent again."""
    record = dict(ctx.state.read("pr.json") or {})
    pending = record["pending_repair"]
    head = ctx.forge.push(ctx.worktree, ctx.branch)
    if head != pending["head"]:
        require_human(ctx, "head_moved", "the lane HEAD moved after the repair was validated")
    found = ctx.forge.find_pr(ctx.branch)
    if found is not None and found.state.value == "open":
        # Only an open PR moves to the new head; a PR closed during the round is never
        # replaced by a new one — the classifier stops the lane for a human instead.
        ctx.forge.open_pr(ctx.branch, ctx.workflow.policy.forge.base_branch, "", "")
    faults.point("repair:pushed")
    ctx.forge.resolve_threads(int(record["number"]))
    record.update({"validated_head": head, "repair_rounds": pending["round"],
                   "repair_heads": [*record.get("repair_heads", []), head]})
    record.pop("pending_repair")
    ctx.state.write("pr.json", record)
    faults.point("repair:recorded")
    post_once(ctx, "repair", pending["run_id"], f"review repair round {pending['round']} pushed",
              {"run_id": pending["run_id"], "round": pending["round"],
               "pr_url": record.get("url"), "validated_head": head,
               "summary": pending["summary"]}, pending["summary"])


def cancel(ctx: LaneContext, reason: str) -> None:
    """Explicit terminal cancellation before merge: close the PR, clean up, stop."""
    record = ctx.state.read("pr.json")
    if record:
        ctx.forge.close_pr(int(record["number"]))
    _remove_lane_branch(ctx)
    ctx.state.write("cleanup.json", {"reason": "cancelled", "detail": reason,
                                     "cleaned_at": iso_now()})
    raise Halt(LaneOutcome.TERMINATED, reason)


def land(ctx: LaneContext) -> None:
    review_record = ctx.state.read("review.json") or {}
    if not ctx.fresh_review:
        decision, _ = assess(ctx)
        if decision.classification not in (Classification.READY_TO_LAND,
                                           Classification.DELIVERED):
            raise Halt(LaneOutcome.WAITING, f"no longer ready to land: {decision.reason}")
        review_record = ctx.state.read("review.json") or {}
    record = ctx.state.read("pr.json") or {}
    number = int(record["number"])
    method = ctx.workflow.policy.forge.merge_method
    pr = ctx.forge.refresh([number]).get(number)
    faults.point("land:before")
    if pr is not None and pr.state.value == "merged":
        commit = pr.merge_commit
    else:
        commit = _merge_once_more_if_still_ready(ctx, number, str(record["validated_head"]),
                                                 method)
    faults.point("land:after")
    ctx.state.write("merge.json", {"commit": commit, "method": method, "number": number,
                                   "merged_at": iso_now(),
                                   "classification": review_record.get("classification")})


def _merge_once_more_if_still_ready(ctx: LaneContext, number: int, head: str,
                                    method: str) -> str:
    """Merge; a refused merge is classified again before anyone is asked to look.

    The forge may refuse because something changed since the PR was classified (a new
    review, a new head, a check, the base moved: GitHub's "Base branch was modified").
    That is a regression, not a failure (SPEC-NOTES §5): the lane goes back to waiting and
    the next run's review phase decides. If the PR still looks ready, the merge is tried
    once more; a second refusal is not self-healing and stops for a human."""
    try:
        return ctx.forge.merge(number, head, method)
    except MaestroError as exc:
        first = str(exc)
    decision, _ = assess(ctx)
    if decision.classification not in (Classification.READY_TO_LAND, Classification.DELIVERED):
        raise Halt(LaneOutcome.WAITING, f"merge refused ({first}); {decision.reason}",
                   wait_reason=decision.reason)
    try:
        return ctx.forge.merge(number, head, method)
    except MaestroError as exc:
        require_human(ctx, "merge_failed", f"{exc} (first attempt: {first})")
        raise  # require_human always raises; this keeps the type checker honest


def closeout(ctx: LaneContext) -> None:
    policy = ctx.workflow.policy.tracker
    completed = policy.resolved_completed_state()
    if completed is None:
        require_human(ctx, "completed_state_unresolved",
                      "the PR is merged but tracker.completed_state is not set and 'Done' is "
                      "not a terminal state")
        return
    merge = ctx.state.read("merge.json") or {}
    record = ctx.state.read("pr.json") or {}
    claim_record = lease(ctx)
    faults.point("closeout:before")
    ctx.tracker.transition(ctx.identifier, completed)
    faults.point("closeout:transitioned")
    post_once(ctx, "closeout", str(claim_record["run_id"]), "delivered", {
        "run_id": claim_record["run_id"], "pr_url": record.get("url"),
        "merge_commit": merge.get("commit"), "merge_method": merge.get("method"),
        "state": completed})
    faults.point("closeout:after")
    ctx.state.write("closeout.json", {"state": completed, "closed_at": iso_now()})


def _remove_lane_branch(ctx: LaneContext) -> None:
    remove_worktree(ctx.config.repo_root, ctx.worktree, ctx.branch)
    faults.point("cleanup:worktree-removed")
    if ctx.workflow.policy.forge.delete_branch_on_merge:
        ctx.forge.delete_branch(ctx.branch)


def cleanup(ctx: LaneContext) -> None:
    faults.point("cleanup:before")
    _remove_lane_branch(ctx)
    faults.point("cleanup:after")
    ctx.state.write("cleanup.json", {"reason": "delivered", "cleaned_at": iso_now()})
    raise Halt(LaneOutcome.FINISHED, "merged, closed out and cleaned up")


PHASES = {
    "claim": claim, "prepare": prepare, "agent": agent, "validate": validate,
    "handoff": handoff, "review": review, "land": land, "closeout": closeout,
    "cleanup": cleanup,
}
