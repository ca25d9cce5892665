"""The post-review phases (SPEC-NOTES §5): review ⟲ repair → land → closeout → cleanup.

The PR and the issue are the authority; each run classifies them afresh, repairs in the
same lane and worktree when the feedback is actionable, and lands only the validated head.
"""

from __future__ import annotations

from maestro.config.workflow import TrackerPolicy
from maestro.errors import ForgeError, IssueStateChanged, MaestroError
from maestro.git import head_of
from maestro.ids import iso_now
from maestro.lanes.context import LaneContext
from maestro.lanes.guard import Go, LaneGuard, enforce
from maestro.lanes.outcomes import Halt, lease, post_once, require_human
from maestro.lanes.push.provenance import refuse_unless_made_by_sessions
from maestro.lanes.push.push_guard import push_lane
from maestro.lanes.record.moves import move
from maestro.lanes.repair.classify import Decision, classify, lane_signals, merged
from maestro.lanes.worktree import hooks
from maestro.lanes.worktree.workspace import remove_worktree
from maestro.lanes.worktree.worktree_guard import heal_lane_worktree
from maestro.model import Classification, LaneOutcome, PullRequest
from maestro.process import faults
from maestro.statenames import same_state

REPAIR_MARKER = "maestro:review-repair"


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
    if (ctx.state.read("pr.json") or {}).get("pending_repair") and isinstance(
            LaneGuard(ctx, "review").check(), Go):
        finish_repair(ctx)
    # A pending repair of an issue a person moved away is not pushed: the classifier says
    # what the lane does instead, as for a lane waiting in review (breaker 20: finishing
    # it only met the guard's stop again, and the loop started the lane every tick).
    decision, pr = assess(ctx)
    C = Classification
    if decision.classification in (C.READY_TO_LAND, C.DELIVERED):
        return
    if decision.classification == C.REVIEW_WAIT:
        raise Halt(LaneOutcome.WAITING, decision.reason, wait_reason=decision.reason)
    if decision.classification == C.CANCELLED:
        cancel(ctx, decision.reason)
    if decision.classification == C.MANUAL_INTERVENTION_REQUIRED or pr is None:
        require_human(ctx, "manual_intervention_required", with_open_requests(decision, pr))
        return
    repair(ctx, pr, decision)


#: A repair round the tracker or the forge failed (``round``, ``from_head``, ``why``): the
#: round's next run tells the agent its work is already there.
UNCONFIRMED_ROUND = "repair-unconfirmed.json"


def unconfirmed_round_note(ctx: LaneContext, round_no: int) -> str:
    """For a round run again after a service failure: what failed and the work the last
    run made, so the agent confirms it instead of doing it again ("" otherwise)."""
    from maestro.lanes.sessions.prior_work import prior_work, resume_note

    record = ctx.state.read(UNCONFIRMED_ROUND)
    if not isinstance(record, dict) or record.get("round") != round_no:
        return ""
    start = str(record.get("from_head") or "")
    work = resume_note(prior_work(ctx.worktree, start)) if start and ctx.worktree.is_dir() \
        else ""
    return (f"Note: the last run of this round could not be confirmed because the tracker or "
            f"the forge failed ({record.get('why')}). If its work below addresses the "
            "feedback, confirm it with issue_review_repair_complete and "
            "issue_terminal_finalize(path=\"review_repair\") without changing it.\n" + work)


def feedback_text(pr: PullRequest, decision: Decision) -> str:
    from maestro.lanes.repair.feedback import collect, render

    return render(collect(pr, decision))


def with_open_requests(decision: Decision, pr: PullRequest | None) -> str:
    """The decision's reason, plus the reviewer's open requests when there are any: the
    attention comment must say what a person has to settle."""
    if pr is None or not decision.feedback_kinds:
        return decision.reason
    return f"{decision.reason}\n\nOpen review requests:\n{feedback_text(pr, decision)}"


def repair(ctx: LaneContext, pr: PullRequest, decision: Decision) -> None:
    # What only a repair round needs is imported here: the review wait and the land half
    # never run one, and each lane process paid for these imports.
    from maestro.agents.tools import SessionStopped
    from maestro.lanes.guard import after_stopped_session
    from maestro.lanes.repair.feedback import collect
    from maestro.lanes.repair.repair_input import repair_input
    from maestro.lanes.repair.repair_memory import (
        lane_thread,
        last_push,
        previous_round,
        remember_given,
        remember_thread,
    )
    from maestro.lanes.sessions.prior_work import killed_session_note
    from maestro.lanes.validation.gate import validate_head

    enforce(ctx, "review", "the repair round")
    record = dict(ctx.state.read("pr.json") or {})
    claim_record = lease(ctx)
    round_no = int(record.get("repair_rounds", 0)) + 1
    run_id = f"{claim_record['run_id']}.repair{round_no}"
    issue = ctx.tracker.get(ctx.identifier)
    head = str(record.get("validated_head", ""))
    items = collect(pr, decision, last_push(record), ctx.forge.failing_check_logs(pr))
    text = "\n".join([
        REPAIR_MARKER, f"Issue: {issue.identifier}", f"PR: {pr.url}",
        f"Review repair round {round_no}: address this feedback on the lane branch, commit, "
        "then call issue_review_repair_complete and "
        "issue_terminal_finalize(path=\"review_repair\").",
        "", repair_input(items, previous_round(ctx, round_no, head)), "", "Original issue:",
        issue.description])
    remember_given(ctx, round_no, head, items)
    text += "\n\n" + note if (note := killed_session_note(ctx)) else ""
    unconfirmed = unconfirmed_round_note(ctx, round_no)
    text += "\n\n" + unconfirmed if unconfirmed else ""
    ctx.state.journal("repair_started", round=round_no, feedback=list(decision.feedback_kinds),
                      unconfirmed_before=bool(unconfirmed))
    if "conflict" in decision.feedback_kinds:
        ctx.forge.fetch(ctx.workflow.policy.forge.base_branch)
    from maestro.lanes.sessions.agent_run import (
        run_agent_session,  # asyncio: only a repair needs it
    )

    tools_record = ctx.state.path(f"repairs/{round_no:02d}-tools.jsonl")
    outcome = run_agent_session(ctx, run_id, int(claim_record["attempt"]), text, repair=True,
                                phase="repair", tools_record=tools_record,
                                resume_thread=lane_thread(ctx))
    remember_thread(ctx, outcome.thread_id, "repair")
    kind = outcome.verdict.kind
    if outcome.error_class == "terminated":
        # maestro was asked to stop (a daemon stopping, a person's cancel, a CI job
        # cancelled): the round is not the agent's failure, and it runs again next time,
        # as after a kill (breaker 20).
        raise Halt(LaneOutcome.INTERRUPTED, f"stopped by SIGTERM during repair round "
                   f"{round_no}; the round runs again on the next run", signalled=True)
    if outcome.error_class == SessionStopped.error_class:
        after_stopped_session(ctx, outcome.signals, "review")
    if kind == "manual_attention":
        require_human(ctx, "manual_attention", "the agent asked for a human during repair")
    if kind != "review_repair" and outcome.signals.get("service_failures"):
        # The round failed because the tracker or the forge did (an outage inside the
        # agent's confirming call), not the agent: a counted retry of the phase, which
        # runs the round again, told that its work is there (breaker 25 F2).
        why = "; ".join(outcome.signals["service_failures"][-3:])
        ctx.state.write(UNCONFIRMED_ROUND, {"round": round_no, "from_head": head,
                                            "why": why})
        raise ForgeError(f"repair round {round_no}: {why}")
    ctx.state.remove(UNCONFIRMED_ROUND)
    if kind != "review_repair":
        require_human(ctx, outcome.error_class or "repair_failed",
                      f"repair round {round_no} failed: "
                      f"{outcome.message or outcome.verdict.reason}")
    faults.point("repair:agent-done")
    if head_of(ctx.worktree) == record.get("validated_head"):
        # Nothing to push: the round is not reported as pushed, and another round on the
        # same feedback would end the same way, so a person decides now (SPEC-NOTES §5).
        require_human(ctx, "repair_without_change",
                      f"review repair round {round_no} ended without a new commit "
                      f"(the agent said: {_repair_summary(outcome.signals)})"
                      f"\n\nOpen review requests:\n{feedback_text(pr, decision)}")
    checked = validate_head(ctx)
    if checked.dirty:
        require_human(ctx, checked.error_class,
                      f"repair round {round_no} left {checked.unfaithful()}")
    if not checked.passed:
        require_human(ctx, "validation_failed",
                      f"repair round {round_no} does not pass `{checked.records[-1]['command']}`")
    summary = str((outcome.signals.get("repair_complete") or {}).get("summary", ""))
    # The commit validated, not HEAD as it is now: finish_repair pushes it only if HEAD
    # still is it (a process the agent left running may commit meanwhile).
    record["pending_repair"] = {"round": round_no, "run_id": run_id, "summary": summary,
                                "head": checked.head}
    ctx.state.write("pr.json", record)
    finish_repair(ctx)
    decision, after = assess(ctx)
    if decision.classification in (Classification.READY_TO_LAND, Classification.DELIVERED):
        return
    if decision.classification == Classification.MANUAL_INTERVENTION_REQUIRED:
        # The budget is spent (or something else needs a person): say so in this run.
        require_human(ctx, "manual_intervention_required", with_open_requests(decision, after))
    raise Halt(LaneOutcome.WAITING, decision.reason, wait_reason=decision.reason)


def _repair_summary(signals: dict[str, object]) -> str:
    done = signals.get("repair_complete")
    return str(done.get("summary", "")) if isinstance(done, dict) else "(no summary)"


def finish_repair(ctx: LaneContext) -> None:
    """Publish a validated repair: push, move the PR and the record to the new head.

    The pending round is written before the push, so a run killed anywhere in here finishes
    the same round next time instead of running the agent again."""
    record = dict(ctx.state.read("pr.json") or {})
    pending = record["pending_repair"]
    validated = str(pending["head"])
    faults.point("repair:validated")
    refuse_unless_made_by_sessions(ctx, validated, "repair push")
    enforce(ctx, "review", "pushing the repair")
    worktree = heal_lane_worktree(ctx)
    if head_of(worktree) != validated:  # looked at before anything leaves
        require_human(ctx, "head_moved", "the lane HEAD moved after the repair was validated")
    head = push_lane(ctx, worktree, "repair push", validated)
    found = ctx.forge.find_pr(ctx.branch)
    if found is not None and found.state.value == "open":
        # Only an open PR moves to the new head; a PR closed during the round is never
        # replaced by a new one — the classifier stops the lane for a human instead.
        ctx.forge.open_pr(ctx.branch, ctx.workflow.policy.forge.base_branch, "", "")
    faults.point("repair:pushed")
    # The tracker's record of the round comes before the lane's: a comment that fails
    # leaves the round pending, so the next run posts it (post_once: never twice). The
    # other order dropped the pending round first, and a failed comment was never posted:
    # a rebuild from the tracker then took maestro's own repair head for a foreign push
    # (breaker 25 F1).
    post_once(ctx, "repair", pending["run_id"], f"review repair round {pending['round']} pushed",
              {"run_id": pending["run_id"], "round": pending["round"],
               "pr_url": record.get("url"), "validated_head": head,
               "summary": pending["summary"]}, pending["summary"])
    # The reviewer's threads stay as they are: a thread is settled by its reviewer, or by
    # the forge when the repair changed its lines (outdated) — never because a round ended.
    record.update({"validated_head": head, "repair_rounds": pending["round"],
                   "pushed_at": iso_now(),
                   "repair_heads": [*record.get("repair_heads", []), head]})
    record.pop("pending_repair")
    ctx.state.write("pr.json", record)
    faults.point("repair:recorded")


def cancel(ctx: LaneContext, reason: str) -> None:
    """Explicit terminal cancellation before merge (a person moved the issue to a terminal
    state in the tracker): close the PR, clean up, stop; logged ``tracker_cancel``."""
    from maestro.lanes.cancel import log_tracker_cancel
    from maestro.lanes.worktree.retire import retire_cancelled

    log_tracker_cancel(ctx.config, ctx.identifier, reason)
    record = ctx.state.read("pr.json")
    if record:
        ctx.forge.close_pr(int(record["number"]),
                           comment=f"maestro closed this PR without merge: {reason}.")
    # As every stop: work found nowhere else (uncommitted files a person or a late commit
    # left in the parked worktree) is kept, and the remote branch stays with the closed PR
    # (breaker 26 M1: this path alone deleted both).
    raise Halt(LaneOutcome.TERMINATED, reason + retire_cancelled(ctx, reason))


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
        refuse_unless_made_by_sessions(ctx, str(record["validated_head"]), "land")
        enforce(ctx, "review", "merging")
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
    # A person may have decided meanwhile: judged on the read the tracker makes right
    # before its write (the files tracker: within its locked edit).
    def decided(state: str) -> bool:
        return bool(_person_decided_after_merge(policy, state, completed))

    try:
        move(ctx, completed, unless=decided)
    except IssueStateChanged as moved:
        require_human(ctx, "manual_intervention_required",
                      f"{_person_decided_after_merge(policy, moved.state, completed)}; "
                      f"maestro leaves the issue in {moved.state!r} and does not move it to "
                      f"{completed!r}")
    faults.point("closeout:transitioned")
    post_once(ctx, "closeout", str(claim_record["run_id"]), "delivered", {
        "run_id": claim_record["run_id"], "pr_url": record.get("url"),
        "merge_commit": merge.get("commit"), "merge_method": merge.get("method"),
        "state": completed})
    faults.point("closeout:after")
    ctx.state.write("closeout.json", {"state": completed, "closed_at": iso_now()})


def _person_decided_after_merge(policy: TrackerPolicy, state: str, completed: str) -> str:
    """Why an issue in ``state`` after its PR merged is a person's decision closeout must
    keep ("" when it may move to ``completed``): rule 4 (another terminal state) or a move
    back to a startable state (a reopen only a person can explain)."""
    if policy.is_startable(state):
        return f"PR merged but the issue was moved back to {state}"
    decision = merged(state, policy.is_terminal(state), same_state(state, completed))
    if decision.classification == Classification.MANUAL_INTERVENTION_REQUIRED:
        return decision.reason
    return ""


def _remove_lane_branch(ctx: LaneContext) -> None:
    hooks.before_remove(ctx)
    remove_worktree(ctx.config.repo_root, ctx.worktree, ctx.branch)
    faults.point("cleanup:worktree-removed")
    if ctx.workflow.policy.forge.delete_branch_on_merge:
        ctx.forge.delete_branch(ctx.branch)


def cleanup(ctx: LaneContext) -> None:
    from maestro.containment.agent_homes import forget_lane_state

    faults.point("cleanup:before")
    _remove_lane_branch(ctx)
    forget_lane_state(ctx.state.dir, ctx.identifier)
    faults.point("cleanup:after")
    ctx.state.write("cleanup.json", {"reason": "delivered", "cleaned_at": iso_now()})
    raise Halt(LaneOutcome.FINISHED, "merged, closed out and cleaned up")
