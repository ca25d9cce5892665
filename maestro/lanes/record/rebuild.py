"""Rebuild a lane on a machine that has no lane folder (a fresh CI runner).

Local state is a cache: maestro's comment blocks on the issue and the forge's PR for the
lane branch say how far the lane got, and the targets are rewritten from them.

A lane whose issue is terminal is rebuilt only when maestro itself delivered it: its run's
``closeout`` comment block is on the issue and the forge says the lane's PR is merged (a
merged lane whose state files were damaged then closes out and cleans up as ``finished``,
instead of being skipped as "issue is Done" on every tick). Any other terminal issue was a
person's decision and is never rebuilt.
"""

from __future__ import annotations

import os
import re
import socket
from typing import Any

from maestro.ids import iso_now
from maestro.lanes.context import LaneContext
from maestro.lanes.outcomes import Halt
from maestro.lanes.push.provenance import trust_published_head
from maestro.lanes.record import comments
from maestro.model import LaneOutcome, PullRequest, PullState
from maestro.statenames import same_state


def rebuild_from_tracker(ctx: LaneContext) -> bool:
    """A runner with no lane folder rebuilds the lane's targets from maestro's comment
    blocks and the forge, so the lane resumes instead of starting over (DESIGN: local state
    is a cache). Returns False when the issue carries no run of maestro's."""
    policy = ctx.workflow.policy.tracker
    issue = ctx.tracker.get(ctx.identifier)
    if policy.is_startable(issue.state):
        return False
    found = comments.blocks(ctx.tracker.comments(ctx.identifier))
    starts = [b for b in found if well_formed_start(b)]
    if not starts:
        return False
    if policy.is_terminal(issue.state) and not _delivered(ctx, found, str(starts[-1]["run_id"])):
        _close_if_cancelled(ctx, issue.state, found, str(starts[-1]["run_id"]))
        return False
    for label in (policy.opt_out_label, policy.needs_attention_label):
        if issue.has_label(label):
            raise Halt(LaneOutcome.SKIPPED, f"issue carries the label {label!r}")
    start = starts[-1]
    run_id, attempt = str(start["run_id"]), int(start.get("attempt", 1))
    state = ctx.state
    failure = comments.find_in(found, kind="failure", run_id=run_id)
    if failure is not None and same_state(issue.state, policy.in_progress_state):
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
        "title": issue.title, "url": issue.url,
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
        trust_published_head(ctx, found, run_id, head)
        pr = _named_pr(ctx, completion)
        if pr is not None and not same_state(issue.state, policy.in_progress_state):
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


def handed_off_elsewhere(ctx: LaneContext, run_id: str, issue_state: str) -> bool:
    """Whether the tracker shows that this lane's run ``run_id`` already handed off, while
    the lane folder (at the agent phase, without ``pr.json``) does not know it: the folder
    is older than the tracker (restored from a backup taken mid-agent, say). The issue is in
    the success state and carries the run's completion block. Running the agent again would
    push a new head over the PR a reviewer may have approved (breaker 13, F5). Asks the
    tracker's comments only when the issue is in the success state."""
    policy = ctx.workflow.policy.tracker
    if not same_state(issue_state, policy.success_state) or ctx.state.exists("pr.json"):
        return False
    found = comments.blocks(ctx.tracker.comments(ctx.identifier))
    return comments.find_in(found, kind="completion", run_id=run_id) is not None


#: A run id as :func:`maestro.ids.new_run_id` makes them.
_RUN_ID = re.compile(r"run-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}")
#: More attempts than any workflow allows (``max_attempts`` is at most 100).
_MAX_ATTEMPT = 1000


def well_formed_start(block: dict[str, Any]) -> bool:
    """A ``start`` block a lane can be rebuilt from: a run id as maestro makes them and an
    attempt between 1 and :data:`_MAX_ATTEMPT`. Anything else (a hand-written or damaged
    block: breaker 13 had ``"attempt": "abc"`` fail every claim at once, retried every 10 s
    for ever) is not maestro's and is passed over. Pure."""
    attempt = block.get("attempt", 1)
    return (block.get("kind") == "start" and isinstance(block.get("run_id"), str)
            and _RUN_ID.fullmatch(block["run_id"]) is not None
            and isinstance(attempt, int) and not isinstance(attempt, bool)
            and 1 <= attempt <= _MAX_ATTEMPT)


def _close_if_cancelled(ctx: LaneContext, issue_state: str, found: list[dict[str, Any]],
                        run_id: str) -> None:
    """A lane of maestro's with no record here whose issue a person moved to a terminal
    state other than the completed one (Canceled) while its PR was open: the PR is closed
    and the lane ends ``terminated``, as the review phase does for a lane whose folder is
    here (:func:`maestro.lanes.review.cancel`); without this, no runner that lacks the
    folder (a fresh CI runner, a deleted or restored state root) ever closed it, because
    no tick lists terminal issues. An issue in the completed state with an open PR is a
    person's to settle (the review classifier says the same), a merged or closed PR
    leaves nothing to do, and only the lane's own PR is closed: the one its completion
    block names when there is one (a person may open another from the same branch after
    a merge: breaker 21), and nothing once a closeout block says the run was delivered.
    Raises :class:`Halt` when it closed the PR."""
    from maestro.lanes.cancel import by_tracker, finish

    if not ctx.workflow.policy.tracker.is_cancelled(issue_state):
        return
    if comments.find_in(found, kind="closeout", run_id=run_id) is not None:
        return
    pr = ctx.forge.find_pr(ctx.branch)
    if pr is None or pr.state != PullState.OPEN:
        return
    completion = comments.find_in(found, kind="completion", run_id=run_id)
    if completion is not None and completion.get("pr_url") not in (None, pr.url):
        return
    message = finish(ctx, by=by_tracker(issue_state))
    raise Halt(LaneOutcome.TERMINATED, message.partition(": ")[2] or message)


def _delivered(ctx: LaneContext, found: list[dict[str, Any]], run_id: str) -> bool:
    """Whether maestro delivered run ``run_id``: its closeout block is on the issue and
    the forge says that PR is merged (both, so neither alone is trusted). The PR is the
    one the block names; the lane branch's newest PR may be a later one a person opened
    from the same branch (breaker 21)."""
    closeout = comments.find_in(found, kind="closeout", run_id=run_id)
    if closeout is None:
        return False
    pr = _named_pr(ctx, closeout)
    return pr is not None and pr.state == PullState.MERGED


def _named_pr(ctx: LaneContext, block: dict[str, Any]) -> PullRequest | None:
    """The lane's PR as maestro's block names it (``pr_url``), when the forge still has it
    from the lane branch; else the lane branch's newest PR. After a merge, a person may
    open another PR from the same branch: that one is not the run's (breaker 21)."""
    newest = ctx.forge.find_pr(ctx.branch)
    url = str(block.get("pr_url") or "")
    number = _pr_number(url)
    if newest is None or newest.url == url or number is None:
        return newest
    named = ctx.forge.refresh([number]).get(number)
    return named if named is not None and named.branch == ctx.branch else newest


#: The number at the end of a PR's URL (``.../pull/12``, ``local://origin/pulls/12``).
_PR_NUMBER = re.compile(r"/pulls?/([0-9]{1,9})$")


def _pr_number(url: str) -> int | None:
    """Pure: the PR number a forge's PR URL ends with, or None."""
    match = _PR_NUMBER.search(url)
    return int(match.group(1)) if match else None
