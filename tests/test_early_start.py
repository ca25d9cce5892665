"""New work a tick starts before refreshing the PRs in review is exactly the new work its
full plan starts (maestro.orchestration.early_start)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from maestro.model import Classification
from maestro.orchestration.early_start import first_starts
from maestro.orchestration.planning import ReviewFact, TickFacts, plan_tick
from tests.test_planning import any_facts, facts, issue, lane

MOVES = ["", Classification.REVIEW_REPAIR.value, Classification.READY_TO_LAND.value]


@st.composite
def facts_with_reviews(draw: st.DrawFn) -> TickFacts:
    base = draw(any_facts())
    reviews = {identifier: ReviewFact(draw(st.sampled_from(MOVES)), "why")
               for identifier, view in base.lanes.items() if view.in_review}
    return replace(base, reviews=reviews)


@given(facts_with_reviews())
def test_the_early_starts_are_the_full_plans_new_work_without_a_lane(
        given_facts: TickFacts) -> None:
    full = [item.issue for item in plan_tick(given_facts).dispatches
            if item.reason == "new work" and item.issue not in given_facts.lanes]
    assert first_starts(given_facts) == full


def test_a_startable_issue_with_a_lane_folder_waits_for_the_whole_plan() -> None:
    again = issue("L-1")  # a person moved the issue back to Todo: its lane decides
    given_facts = facts(lanes=[lane("L-1", outcome="interrupted")], issues=[again],
                        candidates=[again, issue("NEW-1")])
    assert first_starts(given_facts) == ["NEW-1"]


def test_nothing_starts_early_while_dispatch_is_held() -> None:
    given_facts = replace(facts(candidates=[issue("NEW-1")]), paused="held by ada")
    assert first_starts(given_facts) == []
