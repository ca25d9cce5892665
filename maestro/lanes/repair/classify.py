"""The post-review classifier: a pure function from authoritative signals to a lane class.

It never looks at anything but :class:`ReviewSignals`, so the same facts always give the
same answer, and the signals it used are recorded beside the answer (``review.json``) and
shown to operators. The rules are those of SPEC-NOTES §5.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from maestro.model import (
    SETUP_CHECK_NAME,
    CheckState,
    Classification,
    PullRequest,
    PullState,
    ReviewVerdict,
)
from maestro.statenames import same_state

if TYPE_CHECKING:
    from maestro.config.workflow import WorkflowPolicy


@dataclass(frozen=True)
class ReviewSignals:
    has_pr_record: bool
    pr_found: bool = True
    pr_state: str = "open"
    draft: bool = False
    branch_matches: bool = True
    issue_state: str = ""
    issue_is_success_state: bool = True
    issue_is_terminal: bool = False
    issue_is_completed_state: bool = False
    head: str = ""
    validated_head: str = ""
    changes_requested_on_head: bool = False
    changes_requested_stale: bool = False
    unresolved_threads: int = 0
    approvals: int = 0
    required_approvals: int = 1
    checks_failed: tuple[str, ...] = ()
    checks_pending: tuple[str, ...] = ()
    #: Failing checks that never ran the PR's code: the forge could not set up its
    #: checkout (the workflow's hook), so no repair round of the agent can fix them.
    checks_setup_failed: tuple[str, ...] = ()
    mergeable: bool | None = True
    conflict: str = ""
    repair_rounds: int = 0
    max_repair_rounds: int = 3

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Decision:
    classification: Classification
    reason: str
    feedback_kinds: tuple[str, ...] = field(default=())


def merged(issue_state: str, is_terminal: bool, is_completed_state: bool) -> Decision:
    """Rules 4 and 5 (docs/spec/review-lifecycle.md): a merged PR is delivered unless a
    person moved its issue to a terminal state other than the completed one (``Canceled``,
    ``Duplicate``), a contradiction only a person can settle. The review phase asks it of
    the PR it finds merged; closeout asks it again of the issue as it is right before the
    move to the completed state, since a person's cancel can land between the last look
    and the merge."""
    if is_terminal and not is_completed_state:
        return Decision(Classification.MANUAL_INTERVENTION_REQUIRED,
                        f"PR merged but the issue was moved to {issue_state}")
    return Decision(Classification.DELIVERED, "the PR is merged")


def classify(s: ReviewSignals) -> Decision:
    C = Classification
    if not s.has_pr_record:
        return Decision(C.MANUAL_INTERVENTION_REQUIRED, "no PR record for a post-review lane; "
                        "maestro does not guess from branch names")
    if not s.pr_found:
        return Decision(C.MANUAL_INTERVENTION_REQUIRED, "the recorded PR no longer exists")
    if not s.branch_matches:
        return Decision(C.MANUAL_INTERVENTION_REQUIRED, "the PR's head branch is not the lane's")
    if s.pr_state == PullState.MERGED.value:
        return merged(s.issue_state, s.issue_is_terminal, s.issue_is_completed_state)
    if s.issue_is_terminal:
        if s.issue_is_completed_state:
            return Decision(C.MANUAL_INTERVENTION_REQUIRED,
                            f"issue is {s.issue_state} but the PR is not merged")
        return Decision(C.CANCELLED, f"issue moved to {s.issue_state} before merge")
    if s.pr_state == PullState.CLOSED.value:
        return Decision(C.MANUAL_INTERVENTION_REQUIRED,
                        "the PR was closed without merge while the issue is still active")
    if not s.issue_is_success_state:
        return Decision(C.MANUAL_INTERVENTION_REQUIRED,
                        f"issue left the review state (now {s.issue_state}) while its PR is open")
    if s.draft:
        return Decision(C.MANUAL_INTERVENTION_REQUIRED, "the PR was turned into a draft")
    if s.head != s.validated_head:
        return Decision(C.MANUAL_INTERVENTION_REQUIRED,
                        f"PR head {s.head[:12]} is not the validated head "
                        f"{s.validated_head[:12]} and no repair round recorded it")
    if s.checks_setup_failed:
        return Decision(C.MANUAL_INTERVENTION_REQUIRED,
                        "the forge's check could not set up its checkout ("
                        + ", ".join(s.checks_setup_failed) + "): the workflow's hook is a "
                        "person's to fix, not the agent's; the check runs again at the next "
                        "refresh")
    kinds = []
    if s.changes_requested_on_head:
        kinds.append("changes_requested")
    if s.unresolved_threads:
        kinds.append("unresolved_threads")
    if s.checks_failed:
        kinds.append("failing_checks")
    if s.mergeable is False and s.conflict:
        kinds.append("conflict")
    if kinds:
        if s.repair_rounds >= s.max_repair_rounds:
            return Decision(C.MANUAL_INTERVENTION_REQUIRED,
                            f"review feedback remains after {s.repair_rounds} repair rounds "
                            f"(budget {s.max_repair_rounds})", tuple(kinds))
        return Decision(C.REVIEW_REPAIR, "actionable feedback: " + ", ".join(kinds), tuple(kinds))
    if s.checks_pending:
        return Decision(C.REVIEW_WAIT, "checks pending: " + ", ".join(s.checks_pending))
    if s.changes_requested_stale:
        return Decision(C.REVIEW_WAIT, "changes were addressed; waiting for a new review")
    if s.approvals < s.required_approvals:
        return Decision(C.REVIEW_WAIT, f"waiting for review ({s.approvals}/"
                        f"{s.required_approvals} approvals)")
    if s.mergeable is not True:
        return Decision(C.REVIEW_WAIT, "mergeability not known yet")
    return Decision(C.READY_TO_LAND, "approved, checks green, mergeable")


def signals_from(
    pr: PullRequest | None,
    *,
    has_pr_record: bool,
    branch: str,
    validated_head: str,
    issue_state: str,
    success_state: str,
    is_terminal: bool,
    completed_state: str | None,
    required_approvals: int,
    repair_rounds: int,
    max_repair_rounds: int,
    dismiss_stale_approvals: bool = False,
) -> ReviewSignals:
    """Read the classifier's inputs off a refreshed PR and the issue's state."""
    common = {
        "has_pr_record": has_pr_record,
        "issue_state": issue_state,
        "issue_is_success_state": same_state(issue_state, success_state),
        "issue_is_terminal": is_terminal,
        "issue_is_completed_state": bool(completed_state)
        and same_state(issue_state, completed_state or ""),
        "validated_head": validated_head,
        "required_approvals": required_approvals,
        "repair_rounds": repair_rounds,
        "max_repair_rounds": max_repair_rounds,
    }
    if pr is None:
        return ReviewSignals(pr_found=False, **common)  # type: ignore[arg-type]
    latest: dict[str, tuple[str, str]] = {}
    for review in pr.reviews:
        if review.verdict in (ReviewVerdict.APPROVED, ReviewVerdict.CHANGES_REQUESTED):
            latest[review.author] = (review.verdict.value, review.commit)
    approvals = sum(1 for verdict, commit in latest.values() if verdict == "APPROVED"
                    and (commit == pr.head or not dismiss_stale_approvals))
    on_head = any(v == "CHANGES_REQUESTED" and c == pr.head for v, c in latest.values())
    stale = any(v == "CHANGES_REQUESTED" and c != pr.head for v, c in latest.values())
    required = [c for c in pr.checks if c.required]
    return ReviewSignals(
        pr_found=True,
        pr_state=pr.state.value,
        draft=pr.draft,
        branch_matches=pr.branch == branch,
        head=pr.head,
        changes_requested_on_head=on_head,
        changes_requested_stale=stale,
        unresolved_threads=sum(1 for t in pr.threads if t.is_open),
        approvals=approvals,
        checks_failed=tuple(c.name for c in required if c.state == CheckState.FAILURE),
        checks_setup_failed=tuple(c.name for c in required if c.state == CheckState.FAILURE
                                  and c.name == SETUP_CHECK_NAME),
        checks_pending=tuple(c.name for c in required if c.state == CheckState.PENDING),
        mergeable=pr.mergeable,
        conflict=pr.conflict,
        **common,  # type: ignore[arg-type]
    )


def lane_signals(pr: PullRequest | None, record: dict[str, Any] | None, issue_state: str,
                 branch: str, policy: WorkflowPolicy) -> ReviewSignals:
    """The signals of one lane from its PR record (``pr.json``) and the workflow policy;
    the review phase and the loop's batched check read a lane the same way."""
    record = record or {}
    return signals_from(
        pr, has_pr_record=bool(record), branch=branch,
        validated_head=str(record.get("validated_head", "")),
        issue_state=issue_state, success_state=policy.tracker.success_state,
        is_terminal=policy.tracker.is_terminal(issue_state),
        completed_state=policy.tracker.resolved_completed_state(),
        required_approvals=policy.forge.required_approvals,
        dismiss_stale_approvals=policy.forge.dismiss_stale_approvals,
        repair_rounds=int(record.get("repair_rounds", 0)),
        max_repair_rounds=policy.execution.max_repair_rounds)

