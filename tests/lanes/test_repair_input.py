"""The feedback a repair round is given, and its memory of the round before: pure functions
tested by tables (``collect``: PR → items; ``repair_input``: items + previous round → text)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from maestro.lanes.repair.classify import Decision
from maestro.lanes.repair.feedback import FeedbackItem, collect, render
from maestro.lanes.repair.repair_input import PreviousRound, repair_input
from maestro.model import (
    Check,
    CheckState,
    Classification,
    Comment,
    PullRequest,
    Review,
    ReviewThread,
    ReviewVerdict,
)

REPAIR = Decision(Classification.REVIEW_REPAIR, "actionable feedback", ("unresolved_threads",))
PUSHED = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
BEFORE, AFTER = datetime(2026, 11, 30, 2, 0, tzinfo=UTC), datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
BASE = PullRequest(number=1, url="u", branch="b", base="main", head="h2")


def pr(**changes: object) -> PullRequest:
    return BASE.model_copy(update=changes)


def texts(items: list[FeedbackItem]) -> list[str]:
    return [item.text for item in items]


@pytest.mark.parametrize(("name", "changes", "expected"), [
    ("changes requested on the head", {"reviews": [
        Review(author="alice", verdict=ReviewVerdict.CHANGES_REQUESTED, body="fix it",
               commit="h2")]}, ["review by alice (changes requested): fix it"]),
    ("changes requested on an older head are not repeated", {"reviews": [
        Review(author="alice", verdict=ReviewVerdict.CHANGES_REQUESTED, body="fix it",
               commit="h1")]}, []),
    ("a COMMENTED review written after the push", {"reviews": [
        Review(author="dave", verdict=ReviewVerdict.COMMENTED, body="nit: naming",
               commit="h1", submitted_at=AFTER)]}, ["review by dave (comment): nit: naming"]),
    ("a COMMENTED review from before the push", {"reviews": [
        Review(author="dave", verdict=ReviewVerdict.COMMENTED, body="nit: naming",
               commit="h1", submitted_at=BEFORE)]}, []),
    ("a conversation comment after the push", {"comments": [
        Comment(id="c1", author="carol", body="update the changelog", created_at=AFTER)]},
     ["PR comment by carol: update the changelog"]),
    ("a conversation comment before the push", {"comments": [
        Comment(id="c1", author="carol", body="update the changelog", created_at=BEFORE)]}, []),
    ("the same inline comment as review and thread is one item (local forge)", {
        "reviews": [Review(author="alice", verdict=ReviewVerdict.CHANGES_REQUESTED,
                           body="line 2 must say Hello", commit="h2")],
        "threads": [ReviewThread(path="hello.py", line=2, body="line 2 must say Hello")]},
     ["unresolved thread at hello.py:2: line 2 must say Hello"]),
    ("the same inline comment as review and thread is one item (GitHub)", {
        "reviews": [Review(author="alice", verdict=ReviewVerdict.COMMENTED,
                           body="rename x", commit="h2")],
        "threads": [ReviewThread(path="a.py", line=3, body="alice: rename x")]},
     ["unresolved thread at a.py:3: alice: rename x"]),
    ("resolved and outdated threads are settled", {"threads": [
        ReviewThread(path="a.py", line=1, body="x", resolved=True),
        ReviewThread(path="b.py", line=1, body="y", outdated=True)]}, []),
    ("a failing optional check says it does not block", {"checks": [
        Check(name="lint", state=CheckState.FAILURE, required=False),
        Check(name="ci", state=CheckState.SUCCESS)]},
     ["failing check lint (optional: it does not block the merge)"]),
])
def test_collect_names_the_open_feedback(name: str, changes: dict[str, object],
                                         expected: list[str]) -> None:
    assert texts(collect(pr(**changes), REPAIR, since=PUSHED)) == expected


def test_a_failing_check_carries_its_log_tail() -> None:
    [item] = collect(pr(checks=[Check(name="ci", state=CheckState.FAILURE, summary="1 failed")]),
                     REPAIR, logs={"ci": "FAIL test_x\nassert 1 == 2"})
    assert item.text == "failing check ci (required)"
    assert "1 failed" in item.detail and "FAIL test_x\nassert 1 == 2" in item.detail
    assert "  assert 1 == 2" in render([item])


THREAD = FeedbackItem("thread", "thread:hello.py:2", "unresolved thread at hello.py:2: say Hello",
                      path="hello.py")
CHECK = FeedbackItem("check", "check:ci", "failing check ci (required)", detail="FAIL x")
OTHER = FeedbackItem("thread", "thread:b.py:9", "unresolved thread at b.py:9: typo", path="b.py")
ROUND = PreviousRound(1, commits=("abc1234 unrelated",), files=("unrelated.txt",),
                      given=(("thread:hello.py:2", "hello.py"), ("check:ci", ""),
                             ("review:alice", "")))


@pytest.mark.parametrize(("name", "items", "previous", "present", "absent"), [
    ("the first round has no memory", [THREAD], None,
     ["- unresolved thread at hello.py:2"], ["last repair round", "still open"]),
    ("an untouched thread is repeated with a note", [THREAD], ROUND,
     ["The last repair round (round 1) pushed:\n- abc1234 unrelated",
      "Files it changed: unrelated.txt",
      "- unresolved thread at hello.py:2: say Hello\n"
      "  still open: the last round did not touch hello.py"], ["Settled since: thread"]),
    ("a round that changed nothing the feedback named is told so", [THREAD], ROUND,
     ["It changed none of the files the feedback named (hello.py)"], []),
    ("a round that touched the named file is not scolded",
     [THREAD], dataclasses.replace(ROUND, files=("hello.py",)),
     ["still open although the last round changed hello.py"],
     ["changed none of the files", "did not touch"]),
    ("a check that failed again says so", [CHECK], ROUND,
     ["- failing check ci (required)\n  failed again after the last round's fix\n  FAIL x",
      "Settled since: thread hello.py:2."], ["review alice"]),
    ("new feedback is marked new", [THREAD, OTHER], ROUND,
     ["- unresolved thread at b.py:9: typo\n  new since the last round"], []),
])
def test_repair_input_remembers_the_last_round(name: str, items: list[FeedbackItem],
                                               previous: PreviousRound | None,
                                               present: list[str], absent: list[str]) -> None:
    text = repair_input(items, previous)
    for part in present:
        assert part in text
    for part in absent:
        assert part not in text
