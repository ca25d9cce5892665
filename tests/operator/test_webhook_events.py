"""Which lanes a webhook delivery is about, read from its payload alone."""

from __future__ import annotations

from typing import Any

import pytest

from maestro.operator.webhooks.events import Naming, github_affected, linear_affected

NAMING = Naming(branch_prefix="maestro/", github_issue_prefix="MAE",
                lanes=frozenset({"MAE-3", "MAE-9"}), lane_by_pr={41: "MAE-9"})


@pytest.mark.parametrize(("event", "payload", "issues"), [
    ("issues", {"action": "labeled", "issue": {"number": 12}}, ("MAE-12",)),
    ("issue_comment", {"action": "created", "issue": {"number": 12}}, ("MAE-12",)),
    ("issue_comment", {"action": "created",
                       "issue": {"number": 41, "pull_request": {"url": "…"}}}, ("MAE-9",)),
    ("pull_request", {"action": "closed",
                      "pull_request": {"number": 41, "head": {"ref": "maestro/mae-9"}}},
     ("MAE-9",)),
    ("pull_request_review", {"action": "submitted",
                             "pull_request": {"number": 77, "head": {"ref": "maestro/mae-3"}}},
     ("MAE-3",)),
    ("check_suite", {"action": "completed",
                     "check_suite": {"head_branch": "maestro/mae-3", "pull_requests": []}},
     ("MAE-3",)),
    ("check_run", {"action": "completed", "check_run": {
        "check_suite": {"head_branch": "feature/x"}, "pull_requests": [{"number": 41}]}},
     ("MAE-9",)),
    ("status", {"state": "failure", "branches": [{"name": "maestro/mae-3"}]}, ("MAE-3",)),
    ("pull_request", {"action": "opened",
                      "pull_request": {"number": 5, "head": {"ref": "someone/else"}}}, ()),
    ("issues", {"action": "opened", "issue": {"number": "12"}}, ()),
    ("issues", {"action": "opened"}, ()),
    ("issues", ["not", "an", "object"], ()),
])
def test_a_github_delivery_names_the_lanes_it_touches(event: str, payload: Any,
                                                      issues: tuple[str, ...]) -> None:
    affected = github_affected(event, payload, NAMING)
    assert affected.relevant
    assert affected.issues == issues


def test_github_issue_numbers_name_no_lane_when_the_tracker_is_not_github() -> None:
    naming = Naming(github_issue_prefix=None)
    affected = github_affected("issues", {"action": "opened", "issue": {"number": 1}}, naming)
    assert (affected.relevant, affected.issues) == (True, ())


@pytest.mark.parametrize("event", ["ping", "star", "push", "workflow_run", ""])
def test_github_events_that_change_no_decision_are_ignored(event: str) -> None:
    affected = github_affected(event, {"action": "created"}, NAMING)
    assert not affected.relevant


@pytest.mark.parametrize(("payload", "relevant", "issues"), [
    ({"type": "Issue", "action": "update", "data": {"identifier": "ENG-12"}}, True,
     ("ENG-12",)),
    ({"type": "Comment", "action": "create",
      "data": {"issue": {"identifier": "ENG-7"}}}, True, ("ENG-7",)),
    ({"type": "Issue", "action": "create", "data": {}}, True, ()),
    ({"type": "Issue", "action": "update", "data": {"identifier": "../../etc"}}, True, ()),
    ({"type": "Project", "action": "update", "data": {}}, False, ()),
    ({"type": "Cycle"}, False, ()),
    ({}, False, ()),
])
def test_a_linear_delivery_names_its_issue(payload: Any, relevant: bool,
                                           issues: tuple[str, ...]) -> None:
    affected = linear_affected(payload)
    assert (affected.relevant, affected.issues) == (relevant, issues)
