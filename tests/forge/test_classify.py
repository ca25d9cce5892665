"""The post-review classifier (SPEC-NOTES §5) as a table of cases, plus a property test."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maestro.lanes.repair.classify import ReviewSignals, classify, signals_from
from maestro.model import (
    Check,
    CheckState,
    Classification,
    PullRequest,
    PullState,
    Review,
    ReviewThread,
    ReviewVerdict,
)

C = Classification
HEAD = "a" * 40
OLD = "b" * 40

#: Every landing condition holds: the one state that is ready to land.
READY = ReviewSignals(has_pr_record=True, pr_found=True, pr_state="open", issue_state="In Review",
                      issue_is_success_state=True, head=HEAD, validated_head=HEAD, approvals=1,
                      required_approvals=1, mergeable=True)

CASES: list[tuple[str, dict[str, Any], Classification, tuple[str, ...]]] = [
    ("approved, green, mergeable", {}, C.READY_TO_LAND, ()),
    ("no approval required and none given", {"approvals": 0, "required_approvals": 0},
     C.READY_TO_LAND, ()),
    ("changes requested on the head", {"changes_requested_on_head": True}, C.REVIEW_REPAIR,
     ("changes_requested",)),
    ("unresolved review threads", {"unresolved_threads": 2}, C.REVIEW_REPAIR,
     ("unresolved_threads",)),
    ("a required check failed", {"checks_failed": ("ci",)}, C.REVIEW_REPAIR,
     ("failing_checks",)),
    ("conflict with the base", {"mergeable": False, "conflict": "conflict in a.py"},
     C.REVIEW_REPAIR, ("conflict",)),
    ("all feedback at once", {"changes_requested_on_head": True, "unresolved_threads": 1,
                              "checks_failed": ("ci",), "mergeable": False, "conflict": "c"},
     C.REVIEW_REPAIR, ("changes_requested", "unresolved_threads", "failing_checks",
                       "conflict")),
    ("feedback after the repair budget", {"unresolved_threads": 1, "repair_rounds": 3,
                                          "max_repair_rounds": 3},
     C.MANUAL_INTERVENTION_REQUIRED, ("unresolved_threads",)),
    ("a zero repair budget", {"changes_requested_on_head": True, "max_repair_rounds": 0},
     C.MANUAL_INTERVENTION_REQUIRED, ("changes_requested",)),
    ("the forge could not set up its check (the operator's hook)",
     {"checks_failed": ("setup",), "checks_setup_failed": ("setup",)},
     C.MANUAL_INTERVENTION_REQUIRED, ()),
    ("checks pending", {"checks_pending": ("ci",)}, C.REVIEW_WAIT, ()),
    ("waiting for approvals", {"approvals": 1, "required_approvals": 2}, C.REVIEW_WAIT, ()),
    ("no review yet", {"approvals": 0}, C.REVIEW_WAIT, ()),
    ("mergeability unknown", {"mergeable": None}, C.REVIEW_WAIT, ()),
    ("changes addressed, awaiting a new review", {"changes_requested_stale": True},
     C.REVIEW_WAIT, ()),
    ("PR closed unmerged, issue active", {"pr_state": "closed"},
     C.MANUAL_INTERVENTION_REQUIRED, ()),
    ("head differs from the validated head", {"head": OLD}, C.MANUAL_INTERVENTION_REQUIRED, ()),
    ("no PR record", {"has_pr_record": False}, C.MANUAL_INTERVENTION_REQUIRED, ()),
    ("the recorded PR is gone", {"pr_found": False}, C.MANUAL_INTERVENTION_REQUIRED, ()),
    ("the PR's branch is not the lane's", {"branch_matches": False},
     C.MANUAL_INTERVENTION_REQUIRED, ()),
    ("the PR became a draft", {"draft": True}, C.MANUAL_INTERVENTION_REQUIRED, ()),
    ("issue left the review state", {"issue_state": "Todo", "issue_is_success_state": False},
     C.MANUAL_INTERVENTION_REQUIRED, ()),
    ("issue cancelled before merge", {"issue_state": "Canceled", "issue_is_success_state": False,
                                      "issue_is_terminal": True}, C.CANCELLED, ()),
    ("issue cancelled and PR closed", {"issue_state": "Canceled", "issue_is_success_state": False,
                                       "issue_is_terminal": True, "pr_state": "closed"},
     C.CANCELLED, ()),
    ("issue Done but PR not merged", {"issue_state": "Done", "issue_is_success_state": False,
                                      "issue_is_terminal": True,
                                      "issue_is_completed_state": True},
     C.MANUAL_INTERVENTION_REQUIRED, ()),
    ("PR merged", {"pr_state": "merged"}, C.DELIVERED, ()),
    ("PR merged, issue already Done", {"pr_state": "merged", "issue_state": "Done",
                                       "issue_is_terminal": True,
                                       "issue_is_completed_state": True}, C.DELIVERED, ()),
    ("PR merged but issue cancelled", {"pr_state": "merged", "issue_state": "Canceled",
                                       "issue_is_terminal": True},
     C.MANUAL_INTERVENTION_REQUIRED, ()),
]


@pytest.mark.parametrize(("changes", "expected", "kinds"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_classification_table(changes: dict[str, Any], expected: Classification,
                              kinds: tuple[str, ...]) -> None:
    decision = classify(replace(READY, **changes))
    assert decision.classification == expected, decision.reason
    assert decision.feedback_kinds == kinds
    assert decision.reason


# -- signals read off a PR -------------------------------------------------------------------


def pr_with(**fields: Any) -> PullRequest:
    base: dict[str, Any] = {"number": 1, "url": "u", "branch": "maestro/x", "base": "main",
                            "head": HEAD, "mergeable": True}
    return PullRequest(**{**base, **fields})


def signals(pr: PullRequest | None, **overrides: Any) -> ReviewSignals:
    args: dict[str, Any] = {
        "has_pr_record": True, "branch": "maestro/x", "validated_head": HEAD,
        "issue_state": "In Review", "success_state": "In Review", "is_terminal": False,
        "completed_state": "Done", "required_approvals": 1, "repair_rounds": 0,
        "max_repair_rounds": 3}
    return signals_from(pr, **{**args, **overrides})


def review(author: str, verdict: ReviewVerdict, commit: str = HEAD) -> Review:
    return Review(author=author, verdict=verdict, commit=commit)


def test_signals_count_the_latest_verdict_per_reviewer() -> None:
    pr = pr_with(reviews=[review("ana", ReviewVerdict.CHANGES_REQUESTED),
                          review("ana", ReviewVerdict.APPROVED)])
    s = signals(pr)
    assert (s.approvals, s.changes_requested_on_head) == (1, False)
    assert classify(s).classification == C.READY_TO_LAND


def test_signals_treat_changes_requested_on_an_older_head_as_addressed() -> None:
    pr = pr_with(reviews=[review("ana", ReviewVerdict.CHANGES_REQUESTED, commit=OLD)])
    s = signals(pr)
    assert (s.changes_requested_on_head, s.changes_requested_stale) == (False, True)
    assert classify(s).classification == C.REVIEW_WAIT


def test_signals_ignore_checks_that_are_not_required() -> None:
    pr = pr_with(reviews=[review("ana", ReviewVerdict.APPROVED)],
                 checks=[Check(name="optional", state=CheckState.FAILURE, required=False)])
    assert classify(signals(pr)).classification == C.READY_TO_LAND


def test_signals_without_a_refreshed_pr_need_a_human() -> None:
    assert classify(signals(None)).classification == C.MANUAL_INTERVENTION_REQUIRED


def test_signals_without_a_pr_record_need_a_human() -> None:
    s = signals(pr_with(), has_pr_record=False)
    assert classify(s).classification == C.MANUAL_INTERVENTION_REQUIRED


# -- property ---------------------------------------------------------------------------------

heads = st.sampled_from([HEAD, OLD, ""])
names = st.lists(st.sampled_from(["ci", "lint", "e2e"]), max_size=2, unique=True).map(tuple)
any_signals = st.builds(
    ReviewSignals,
    has_pr_record=st.booleans(), pr_found=st.booleans(),
    pr_state=st.sampled_from(["open", "closed", "merged"]), draft=st.booleans(),
    branch_matches=st.booleans(),
    issue_state=st.sampled_from(["In Review", "Todo", "Done", "Canceled"]),
    issue_is_success_state=st.booleans(), issue_is_terminal=st.booleans(),
    issue_is_completed_state=st.booleans(), head=heads, validated_head=heads,
    changes_requested_on_head=st.booleans(), changes_requested_stale=st.booleans(),
    unresolved_threads=st.integers(0, 3), approvals=st.integers(0, 3),
    required_approvals=st.integers(0, 3), checks_failed=names, checks_pending=names,
    mergeable=st.sampled_from([True, False, None]), conflict=st.sampled_from(["", "conflict"]),
    repair_rounds=st.integers(0, 4), max_repair_rounds=st.integers(0, 4),
)


def landing_conditions_hold(s: ReviewSignals) -> bool:
    return (s.has_pr_record and s.pr_found and s.branch_matches and s.pr_state == "open"
            and not s.draft and s.issue_is_success_state and not s.issue_is_terminal
            and s.head == s.validated_head and not s.changes_requested_on_head
            and not s.changes_requested_stale and s.unresolved_threads == 0
            and not s.checks_failed and not s.checks_pending
            and s.approvals >= s.required_approvals and s.mergeable is True)


@given(any_signals)
def test_ready_to_land_only_when_every_landing_condition_holds(s: ReviewSignals) -> None:
    if classify(s).classification == C.READY_TO_LAND:
        assert landing_conditions_hold(s)


@given(any_signals)
def test_repair_only_within_the_repair_budget(s: ReviewSignals) -> None:
    if classify(s).classification == C.REVIEW_REPAIR:
        assert s.repair_rounds < s.max_repair_rounds


@given(st.lists(st.tuples(st.sampled_from(["ana", "bo"]),
                          st.sampled_from(list(ReviewVerdict)), heads), max_size=4),
       st.lists(st.booleans(), max_size=3),
       st.lists(st.tuples(st.sampled_from(list(CheckState)), st.booleans()), max_size=3),
       st.sampled_from([True, False, None]))
def test_ready_to_land_from_a_pr_means_the_pr_is_landable(
        reviews: list[tuple[str, ReviewVerdict, str]], threads: list[bool],
        checks: list[tuple[CheckState, bool]], mergeable: bool | None) -> None:
    pr = pr_with(reviews=[review(a, v, c) for a, v, c in reviews],
                 threads=[ReviewThread(path="a.py", resolved=r) for r in threads],
                 checks=[Check(name=f"c{i}", state=s, required=req)
                         for i, (s, req) in enumerate(checks)],
                 mergeable=mergeable, conflict="" if mergeable is not False else "conflict")
    if classify(signals(pr)).classification == C.READY_TO_LAND:
        assert pr.state == PullState.OPEN and pr.mergeable is True
        assert not any(t.is_open for t in pr.threads)
        assert all(c.state == CheckState.SUCCESS for c in pr.checks if c.required)
        latest = {r.author: r for r in pr.reviews if r.verdict != ReviewVerdict.COMMENTED}
        assert any(r.verdict == ReviewVerdict.APPROVED for r in latest.values())
        assert not any(r.verdict == ReviewVerdict.CHANGES_REQUESTED for r in latest.values())


def test_an_approval_of_an_older_head_does_not_count_when_stale_approvals_are_dismissed() -> None:
    pr = PullRequest(number=1, url="u", branch="maestro/x", base="main", head="new",
                     mergeable=True, reviews=[Review(author="r", verdict=ReviewVerdict.APPROVED,
                                                     commit="old")])
    common = {"has_pr_record": True, "branch": "maestro/x", "validated_head": "new",
              "issue_state": "In Review", "success_state": "In Review", "is_terminal": False,
              "completed_state": "Done", "required_approvals": 1, "repair_rounds": 1,
              "max_repair_rounds": 3}
    kept = classify(signals_from(pr, **common))  # type: ignore[arg-type]
    dismissed = classify(signals_from(pr, dismiss_stale_approvals=True,
                                      **common))  # type: ignore[arg-type]
    assert kept.classification.value == "ready_to_land"
    assert dismissed.classification.value == "review_wait"
