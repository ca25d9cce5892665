"""Required labels and per-state limits, as Symphony's scheduler applies them (its SPEC.md
§5.3.1, §5.3.5, §8.2, §8.5): pure decisions over frozen facts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from maestro.config.workflow import ExecutionPolicy, TrackerPolicy, WorkflowPolicy
from maestro.model import Issue
from maestro.orchestration.planning import LaneView, TickFacts, plan_tick
from maestro.trackers.eligibility import ineligible_reason, missing_required_labels

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def issue(state: str = "Todo", labels: tuple[str, ...] = (), name: str = "A-1") -> Issue:
    return Issue(id=name, identifier=name, title=name, state=state, labels=labels)


@pytest.mark.parametrize(("required", "labels", "missing"), [
    (["backend"], ("Backend",), []),
    ([" Backend "], ("backend ",), []),
    (["backend", "ready"], ("backend",), ["ready"]),
    (["  "], ("backend",), ["  "]),
    ([], (), []),
])
def test_required_labels_match_ignoring_case_and_whitespace(
        required: list[str], labels: tuple[str, ...], missing: list[str]) -> None:
    assert missing_required_labels(issue(labels=labels), required) == missing


def test_an_issue_without_a_required_label_is_not_dispatched() -> None:
    policy = TrackerPolicy(required_labels=["symphony"])
    assert ineligible_reason(issue(), policy) == (
        "issue lacks the required label(s) 'symphony'")


def facts(lanes: list[LaneView], issues: list[Issue], candidates: list[Issue] = (),  # type: ignore[assignment]
          **policy: Any) -> TickFacts:
    return TickFacts(lanes={v.identifier: v for v in lanes},
                     issues={i.identifier: i for i in issues}, retries={}, reviews={},
                     candidates=tuple(candidates), now=NOW, policy=WorkflowPolicy(**policy))


def running(name: str = "A-1") -> LaneView:
    return LaneView(name, leased=True, claimed=True, in_review=False, finished=False,
                    needs_human=False, outcome="")


def test_a_running_lane_whose_issue_loses_a_required_label_is_interrupted() -> None:
    plan = plan_tick(facts([running()], [issue("In Progress")],
                           tracker=TrackerPolicy(required_labels=["symphony"])))
    assert plan.reconcile == [{"issue": "A-1", "action": "interrupt", "state": "In Progress"}]


def test_a_running_lane_keeping_its_required_label_is_left_alone() -> None:
    plan = plan_tick(facts([running()], [issue("In Progress", ("Symphony",))],
                           tracker=TrackerPolicy(required_labels=["symphony"])))
    assert plan.reconcile == []


def test_a_per_state_limit_key_is_trimmed_and_casefolded() -> None:
    limits = ExecutionPolicy(max_concurrent_agents_by_state={" TODO ": 1})
    plan = plan_tick(facts([], [], [issue(name="A-1"), issue(name="A-2")], execution=limits))
    assert [d.issue for d in plan.dispatches] == ["A-1"]
