"""The tick's plan (orchestration/planning.py) as a table of cases over frozen facts, and
properties.

Each case starts from ``BASE`` (no lanes, no retries, nothing to do) and names only what
differs; the expected value is the plan's JSON view, exactly as ``maestro run --dry-run
--json`` prints it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maestro.config.workflow import ExecutionPolicy, TrackerPolicy, WorkflowPolicy
from maestro.lanes.budgets.budget import DailyBudget
from maestro.model import Issue
from maestro.orchestration.planning import (
    STEPS,
    LaneView,
    Plan,
    ReviewFact,
    Skip,
    TickFacts,
    as_moving,
    needs_recovery,
    plan_tick,
    several_status_labels,
)
from maestro.orchestration.retries import Retry
from maestro.orchestration.skip_backoff import SkipStreak

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
PAST = (NOW - timedelta(seconds=5)).isoformat()
LATER = (NOW + timedelta(seconds=60)).isoformat()
ATTENTION = "maestro:needs-attention"
HOLD = "dispatch paused by ada@host"


def issue(identifier: str, state: str = "Todo", **fields: Any) -> Issue:
    return Issue(id=identifier, identifier=identifier, title=identifier, state=state, **fields)


def lane(identifier: str, **fields: Any) -> LaneView:
    base: dict[str, Any] = {"leased": False, "claimed": True, "in_review": False,
                            "finished": False, "needs_human": False, "outcome": ""}
    return LaneView(identifier, **{**base, **fields})


def policy(limit: int = 10, **by_state: int) -> WorkflowPolicy:
    return WorkflowPolicy(execution=ExecutionPolicy(
        max_concurrent_agents=limit, max_concurrent_agents_by_state=by_state))


def facts(lanes: list[LaneView] = (), issues: list[Issue] = (),  # type: ignore[assignment]
          retries: list[Retry] = (), candidates: list[Issue] = (),  # type: ignore[assignment]
          reviews: dict[str, ReviewFact] | None = None, limit: int = 10,
          unseen: list[Issue] = (),  # type: ignore[assignment]
          **by_state: int) -> TickFacts:
    return TickFacts(
        lanes={view.identifier: view for view in lanes},
        issues={item.identifier: item for item in issues},
        retries={entry.identifier: entry for entry in retries},
        reviews={} if reviews is None else reviews, candidates=tuple(candidates), now=NOW,
        policy=policy(limit, **by_state), stall_timeout_s=3600.0, unseen=tuple(unseen))


def two_startable_states(result: TickFacts) -> TickFacts:
    """``result`` with both Todo and Ready startable."""
    tracker = TrackerPolicy(startable_states=["Todo", "Ready"])
    return replace(result, policy=result.policy.model_copy(update={"tracker": tracker}))


def due(identifier: str, attempt: int = 1) -> Retry:
    return Retry(identifier, attempt, "failure", PAST)


def dispatched(result: TickFacts) -> list[tuple[str, str]]:
    return [(item["issue"], item["reason"]) for item in plan_tick(result).dispatch]


CASES: list[tuple[str, TickFacts, dict[str, Any]]] = [
    ("nothing to do", facts(), {"dispatch": []}),
    ("new work within the global limit",
     facts(candidates=[issue("A-1"), issue("A-2"), issue("A-3")], limit=2),
     {"dispatch": [("A-1", "new work"), ("A-2", "new work")],
      "skipped": [("A-3", "no free agent slot (max_concurrent_agents=2)")]}),
    ("new work within the per-state limit",
     facts(candidates=[issue("A-1"), issue("A-2")], todo=1),
     {"dispatch": [("A-1", "new work")],
      "skipped": [("A-2", "no free slot for state Todo (1)")]}),
    ("a full state skips its issues while another state still starts",
     two_startable_states(facts(
         candidates=[issue("A-1", priority=1), issue("A-2", priority=2),
                     issue("B-3", "Ready", priority=3), issue("B-4", "Ready", priority=4)],
         limit=3, todo=1)),
     {"dispatch": [("A-1", "new work"), ("B-3", "new work"), ("B-4", "new work")],
      "skipped": [("A-2", "no free slot for state Todo (1)")]}),
    ("priority first, then identifier",
     facts(candidates=[issue("A-2", priority=2), issue("A-1"), issue("A-3", priority=1)],
           limit=2),
     {"dispatch": [("A-3", "new work"), ("A-2", "new work")]}),
    ("due retries count against the global limit",
     facts(lanes=[lane("R-1"), lane("R-2")],
           issues=[issue("R-1", "In Progress"), issue("R-2", "In Progress")],
           retries=[due("R-1"), due("R-2")], limit=1),
     {"dispatch": [("R-1", "retry failure (attempt 2)")],
      "retries_waiting": [{"issue": "R-2", "due_at": PAST, "kind": "failure",
                           "reason": "due; no free agent slot (max_concurrent_agents=1)"}]}),
    ("due retries count against the per-state limit",
     facts(lanes=[lane("R-1"), lane("R-2")],
           issues=[issue("R-1", "In Progress"), issue("R-2", "In Progress")],
           retries=[due("R-1"), due("R-2")], **{"In Progress": 1}),
     {"dispatch": [("R-1", "retry failure (attempt 2)")]}),
    ("a retry not yet due waits and takes no slot",
     facts(lanes=[lane("R-1")], issues=[issue("R-1", "In Progress")],
           retries=[Retry("R-1", 1, "failure", LATER)], candidates=[issue("A-1")], limit=1),
     {"dispatch": [("A-1", "new work")],
      "retries_waiting": [{"issue": "R-1", "due_at": LATER, "kind": "failure"}]}),
    ("a due retry goes before new work",
     facts(lanes=[lane("R-1")], issues=[issue("R-1", "In Progress")], retries=[due("R-1")],
           candidates=[issue("A-1")], limit=1),
     {"dispatch": [("R-1", "retry failure (attempt 2)")]}),
    ("a lane started by hand holds a slot",
     facts(lanes=[lane("H-1", leased=True)], issues=[issue("H-1", "In Progress")],
           candidates=[issue("A-1")], limit=1),
     {"dispatch": [], "skipped": [("A-1", "no free agent slot (max_concurrent_agents=1)")]}),
    ("a live lane holds a slot whatever its stale outcome says",
     facts(lanes=[lane("H-1", leased=True, outcome="interrupted")],
           issues=[issue("H-1", "In Progress")], candidates=[issue("A-1")], limit=1),
     {"dispatch": []}),
    ("a live lane holds a slot of its claim state",
     facts(lanes=[lane("H-1", leased=True, claim_state="Todo")],
           issues=[issue("H-1", "In Progress")], candidates=[issue("A-1")], todo=1),
     {"dispatch": []}),
    ("a crashed In Progress lane is recovered",
     facts(lanes=[lane("K-1")], issues=[issue("K-1", "In Progress")]),
     {"dispatch": [("K-1", "recover interrupted lane")]}),
    ("a lane killed after the move to In Review, before pr.json, is recovered",
     facts(lanes=[lane("K-1")], issues=[issue("K-1", "In Review")]),
     {"dispatch": [("K-1", "recover interrupted lane")]}),
    ("a lane that halted while its issue is In Review is not started again",
     facts(lanes=[lane("K-1", outcome="skipped")], issues=[issue("K-1", "In Review")]),
     {"dispatch": []}),
    ("an interrupted lane whose issue a person moved on to In Review is recovered",
     facts(lanes=[lane("K-1", outcome="interrupted")], issues=[issue("K-1", "In Review")]),
     {"dispatch": [("K-1", "recover interrupted lane")]}),
    ("a lane stopped by a signal mid-handoff, its issue In Review, is recovered",
     facts(lanes=[lane("K-1", outcome="interrupted", signalled=True)],
           issues=[issue("K-1", "In Review")]),
     {"dispatch": [("K-1", "recover interrupted lane")]}),
    ("a lane whose own attention path was cut is resumed to finish it",
     facts(lanes=[lane("K-1", outcome="retry", attention_pending=True)],
           issues=[issue("K-1", "Todo", labels=(ATTENTION,))]),
     {"dispatch": [("K-1", "recover interrupted lane")]}),
    ("a lane missing a required label is not recovered, and says why",
     replace(facts(lanes=[lane("K-1", outcome="interrupted")],
                   issues=[issue("K-1", "In Progress")]),
             policy=WorkflowPolicy(tracker=TrackerPolicy(required_labels=["agent"]))),
     {"dispatch": [], "waiting": [{"issue": "K-1", "reason": "not resumed: the issue lacks "
                                   "the required label(s) 'agent' (tracker.required_labels)"}]}),
    ("a lane reset while In Progress is recovered",
     facts(lanes=[lane("K-1", claimed=False)], issues=[issue("K-1", "In Progress")]),
     {"dispatch": [("K-1", "recover interrupted lane")]}),
    ("recovery counts against the limit and goes before new work",
     facts(lanes=[lane("K-1"), lane("K-2")],
           issues=[issue("K-1", "In Progress"), issue("K-2", "In Progress")],
           candidates=[issue("A-1")], limit=1),
     {"dispatch": [("K-1", "recover interrupted lane")],
      "waiting": [{"issue": "K-2", "reason": "recovery waits: no free agent slot "
                                             "(max_concurrent_agents=1)"}]}),
    ("a lane waiting on a person whose issue a person cancelled is finished as cancelled",
     facts(lanes=[lane("N-1", needs_human=True)], issues=[issue("N-1", "Canceled")]),
     {"dispatch": [], "reconcile": [{"issue": "N-1", "action": "terminate",
                                     "state": "Canceled"}]}),
    ("a lane waiting on a person whose issue a person moved to Done is theirs",
     facts(lanes=[lane("N-1", needs_human=True)], issues=[issue("N-1", "Done")]),
     {"dispatch": [], "reconcile": []}),
    ("a lane needing a human is never resumed by a restart",
     facts(lanes=[lane("N-1", needs_human=True)], issues=[issue("N-1", "In Progress")]),
     {"dispatch": []}),
    ("a lane whose issue got the attention label is not recovered",
     facts(lanes=[lane("N-1")], issues=[issue("N-1", "In Progress", labels=(ATTENTION,))]),
     {"dispatch": []}),
    ("a lane killed after its agent asked for a human resumes the attention path",
     facts(lanes=[lane("N-1", asked_for_human=True)],
           issues=[issue("N-1", "In Progress", labels=(ATTENTION,))]),
     {"dispatch": [("N-1", "recover interrupted lane")]}),
    ("a lane whose agent asked for a human and that ran the attention path stays put",
     facts(lanes=[lane("N-1", asked_for_human=True, needs_human=True)],
           issues=[issue("N-1", "In Progress", labels=(ATTENTION,))]),
     {"dispatch": []}),
    ("a skipped lane is not recovered",
     facts(lanes=[lane("S-1", outcome="skipped")], issues=[issue("S-1", "In Progress")]),
     {"dispatch": []}),
    ("a lane of maestro's In Review with no folder here is adopted without an agent slot",
     facts(unseen=[issue("U-1", "In Review")], candidates=[issue("A-1")], limit=1),
     {"dispatch": [("U-1", "adopt: the issue is In Review with no lane folder here"),
                   ("A-1", "new work")]}),
    ("a lane of maestro's In Progress with no folder here takes an agent slot",
     facts(unseen=[issue("U-1", "In Progress")], candidates=[issue("A-1")], limit=1),
     {"dispatch": [("U-1", "adopt: the issue is In Progress with no lane folder here")],
      "skipped": [("A-1", "no free agent slot (max_concurrent_agents=1)")]}),
    ("an adopted In Progress lane waits for a slot",
     facts(lanes=[lane("H-1", leased=True)], issues=[issue("H-1", "In Progress")],
           unseen=[issue("U-1", "In Progress")], limit=1),
     {"dispatch": [], "waiting": [{"issue": "U-1", "reason": (
         "adopt: the issue is In Progress with no lane folder here; waits: no free agent "
         "slot (max_concurrent_agents=1)")}]}),
    ("a cancelled lane of maestro's with its PR open and no folder here needs no agent slot",
     facts(unseen=[issue("U-1", "Canceled")], candidates=[issue("A-1")], limit=1),
     {"dispatch": [("U-1", "adopt: the issue is Canceled with no lane folder here, and its "
                           "PR is open"),
                   ("A-1", "new work")]}),
    ("a lane without a folder whose issue carries the attention label is left to a person",
     facts(unseen=[issue("U-1", "In Review", labels=(ATTENTION,))]),
     {"dispatch": [], "waiting": [{"issue": "U-1", "reason": (
         "no lane folder here, and the issue carries the label "
         f"{ATTENTION!r}: left to a person")}]}),
    ("an issue listed unseen whose lane folder exists is not adopted twice",
     facts(lanes=[lane("U-1", in_review=True, pr_number=1)], issues=[issue("U-1", "In Review")],
           unseen=[issue("U-1", "In Review")]),
     {"dispatch": []}),
    ("a terminal issue with a claimed lane is terminated",
     facts(lanes=[lane("C-1")], issues=[issue("C-1", "Canceled")]),
     {"dispatch": [], "reconcile": [{"issue": "C-1", "action": "terminate",
                                     "state": "Canceled"}]}),
    ("an issue moved to a non-active state interrupts its lane",
     facts(lanes=[lane("C-1", leased=True)], issues=[issue("C-1", "Backlog")]),
     {"reconcile": [{"issue": "C-1", "action": "interrupt", "state": "Backlog"}]}),
    ("a live lane is interrupted whatever its previous run's record says",
     facts(lanes=[lane("C-1", leased=True, outcome="interrupted")],
           issues=[issue("C-1", "Backlog")]),
     {"reconcile": [{"issue": "C-1", "action": "interrupt", "state": "Backlog"}]}),
    ("a lane that halted on the daemon's signal gets the move as its reason",
     facts(lanes=[lane("C-1", outcome="interrupted", signalled=True)],
           issues=[issue("C-1", "Backlog")]),
     {"reconcile": [{"issue": "C-1", "action": "interrupt", "state": "Backlog"}]}),
    ("a lane interrupted by the move itself is left alone",
     facts(lanes=[lane("C-1", outcome="interrupted")], issues=[issue("C-1", "Backlog")]),
     {"reconcile": [], "dispatch": []}),
    ("a silent lane process past the stall timeout is stalled",
     facts(lanes=[lane("T-1", leased=True, last_event_at=NOW - timedelta(hours=2))],
           issues=[issue("T-1", "In Progress")]),
     {"reconcile": [{"issue": "T-1", "action": "stalled", "state": "In Progress"}]}),
    ("a lane in review whose issue is cancelled takes the cancel path",
     facts(lanes=[lane("V-1", in_review=True, pr_number=1)], issues=[issue("V-1", "Canceled")],
           reviews={"V-1": ReviewFact("cancelled", "issue moved to Canceled")}),
     {"dispatch": [("V-1", "advance review (cancelled)")], "reconcile": []}),
    ("a live lane in review whose issue is cancelled is stopped",
     facts(lanes=[lane("V-1", in_review=True, leased=True)], issues=[issue("V-1", "Canceled")]),
     {"dispatch": [], "reconcile": [{"issue": "V-1", "action": "terminate",
                                     "state": "Canceled"}]}),
    ("a live lane in review whose issue gets the attention label is stopped",
     facts(lanes=[lane("V-1", in_review=True, leased=True)],
           issues=[issue("V-1", "In Review", labels=(ATTENTION,))]),
     {"reconcile": [{"issue": "V-1", "action": "interrupt", "state": "In Review"}]}),
    ("a lane in review with the attention label is held, never landed",
     facts(lanes=[lane("V-1", in_review=True, pr_number=1)],
           issues=[issue("V-1", "In Review", labels=(ATTENTION,))],
           reviews={"V-1": ReviewFact("ready_to_land", "approved")}),
     {"dispatch": [], "waiting": [{"issue": "V-1", "reason": "held: the issue carries the "
                                   f"label {ATTENTION!r}; never merged while it does"}]}),
    ("a lane in review that can move is advanced without taking an agent slot",
     facts(lanes=[lane("V-1", in_review=True, pr_number=1)], issues=[issue("V-1", "In Review")],
           reviews={"V-1": ReviewFact("ready_to_land", "approved")},
           candidates=[issue("A-1")], limit=1),
     {"dispatch": [("V-1", "advance review (ready_to_land)"), ("A-1", "new work")]}),
    ("a lane in review that only waits says why",
     facts(lanes=[lane("V-1", in_review=True, pr_number=1)], issues=[issue("V-1", "In Review")],
           reviews={"V-1": ReviewFact("", "waiting for review (0/1 approvals)")}),
     {"waiting": [{"issue": "V-1", "reason": "waiting for review (0/1 approvals)"}]}),
    ("a dry run does not refresh reviews",
     replace(facts(lanes=[lane("V-1", in_review=True)], issues=[issue("V-1", "In Review")]),
             reviews=None),
     {"waiting": [{"issue": "V-1", "reason": "review (not refreshed in a dry run)"}]}),
    ("a finished lane whose issue was moved back is not run again, and says how to",
     facts(lanes=[lane("F-1", finished=True)], candidates=[issue("F-1")]),
     {"dispatch": [], "skipped": [("F-1", "its lane finished before the issue was moved "
                                   "back to Todo; `maestro retry F-1` archives that lane "
                                   "and starts a new one")]}),
    ("a merged lane closing out is not stopped when its issue is Done",
     facts(lanes=[lane("M-1", leased=True, in_review=True, merged=True),
                  lane("M-2", leased=True, in_review=True)],
           issues=[issue("M-1", "Done"), issue("M-2", "Done")]),
     {"reconcile": [{"issue": "M-2", "action": "terminate", "state": "Done"}]}),
    ("retry entries no lane can use any more are dropped",
     facts(lanes=[lane("D-1", needs_human=True), lane("D-2", finished=True),
                  lane("D-3", outcome="terminated"), lane("D-4"), lane("D-5")],
           issues=[issue("D-1", "Todo"), issue("D-3", "Todo"), issue("D-5", "Done")],
           retries=[due("D-0"), due("D-1"), due("D-2"), due("D-3"), due("D-4"), due("D-5")]),
     {"dispatch": [], "retries_dropped": [
         {"issue": "D-0", "reason": "no lane folder"},
         {"issue": "D-1", "reason": "lane needs a human"},
         {"issue": "D-2", "reason": "lane finished"},
         {"issue": "D-3", "reason": "lane terminated"},
         {"issue": "D-4", "reason": "issue gone"},
         {"issue": "D-5", "reason": "issue is Done"}]}),
    ("retry entries of live, waiting or cancelling lanes are kept",
     facts(lanes=[lane("K-1", leased=True, needs_human=True), lane("K-2"),
                  lane("K-3", in_review=True)],
           issues=[issue("K-1", "Todo"), issue("K-2", "In Progress"),
                   issue("K-3", "Done")],
           retries=[due("K-1"), Retry("K-2", 1, "failure", LATER), due("K-3")]),
     {"retries_dropped": []}),
    ("a blocked issue is skipped with its blocker",
     facts(candidates=[issue("B-1", blocked_by=("B-0",), blocker_states={"B-0": "Todo"})]),
     {"skipped": [("B-1", "blocked by B-0")]}),
    ("paused: new work, due retries and recoveries wait with the hold's words",
     replace(facts(lanes=[lane("P-1"), lane("P-2")],
                   issues=[issue("P-1", "In Progress"), issue("P-2", "In Progress")],
                   retries=[due("P-1")], candidates=[issue("P-3")]), paused=HOLD),
     {"dispatch": [], "waiting": [{"issue": "P-1", "reason": f"held: {HOLD}"},
                                  {"issue": "P-2", "reason": f"held: {HOLD}"},
                                  {"issue": "P-3", "reason": f"held: {HOLD}"}]}),
    ("paused: a person's cancel still stops the running lane",
     replace(facts(lanes=[lane("P-4", leased=True)], issues=[issue("P-4", "Canceled")]),
             paused=HOLD),
     {"reconcile": [{"issue": "P-4", "action": "terminate", "state": "Canceled"}]}),
]


# -- the daily token ceiling -----------------------------------------------------------------

REACHED = DailyBudget(limit=1000, spent=1000)
HELD = REACHED.hold_reason()


def spent(base: TickFacts, day: DailyBudget = REACHED) -> TickFacts:
    return replace(base, budget=day)


CASES += [
    ("below the daily ceiling new work starts",
     spent(facts(candidates=[issue("D-1")]), DailyBudget(1000, 999)),
     {"dispatch": [("D-1", "new work")], "held": None}),
    ("the daily ceiling holds new work", spent(facts(candidates=[issue("D-1")])),
     {"dispatch": [], "skipped": [("D-1", HELD)], "held": HELD}),
    ("the daily ceiling holds a due retry",
     spent(facts(lanes=[lane("D-2", outcome="retry")], issues=[issue("D-2", "In Progress")],
                 retries=[due("D-2")])),
     {"dispatch": [], "retries_waiting": [{"issue": "D-2", "due_at": PAST, "kind": "failure",
                                           "reason": f"due; {HELD}"}]}),
    ("the daily ceiling holds a recovery",
     spent(facts(lanes=[lane("D-3", outcome="interrupted")],
                 issues=[issue("D-3", "In Progress")])),
     {"dispatch": [], "waiting": [{"issue": "D-3", "reason": f"recovery waits: {HELD}"}]}),
    ("the daily ceiling holds a review repair, not a landing",
     spent(facts(lanes=[lane("D-4", in_review=True), lane("D-5", in_review=True)],
                 issues=[issue("D-4", "In Review"), issue("D-5", "In Review")],
                 reviews={"D-4": ReviewFact("review_repair", "changes requested"),
                          "D-5": ReviewFact("ready_to_land", "approved")})),
     {"dispatch": [("D-5", "advance review (ready_to_land)")],
      "waiting": [{"issue": "D-4", "reason": f"review_repair: {HELD}"}]}),
    ("the daily ceiling leaves running lanes alone",
     spent(facts(lanes=[lane("D-6", leased=True)], issues=[issue("D-6", "In Progress")])),
     {"dispatch": [], "reconcile": []}),
]


# -- lanes whose processes end without a record ----------------------------------------------

SILENT = ("held: its last 3 lane processes ended without recording why (a full disk? see the "
          "service log and warnings.log); restart the daemon once it is fixed")


def silent(base: TickFacts, **counts: int) -> TickFacts:
    return replace(base, silent_ends={k.replace("_", "-"): v for k, v in counts.items()})


CASES += [
    ("a lane whose last three processes ended without a record is not recovered again",
     silent(facts(lanes=[lane("S-1", outcome="retry")], issues=[issue("S-1", "In Progress")]),
            S_1=3),
     {"dispatch": [], "waiting": [{"issue": "S-1", "reason": SILENT}]}),
    ("two silent ends still recover the lane",
     silent(facts(lanes=[lane("S-1", outcome="retry")], issues=[issue("S-1", "In Progress")]),
            S_1=2),
     {"dispatch": [("S-1", "recover interrupted lane")]}),
    ("new work whose earlier processes ended without a record waits too",
     silent(facts(candidates=[issue("S-2"), issue("A-1")]), S_2=3),
     {"dispatch": [("A-1", "new work")], "waiting": [{"issue": "S-2", "reason": SILENT}]}),
]


# -- lanes whose runs keep ending skipped ----------------------------------------------------

SKIP_REASON = "issue is Done (terminal)"


def skipped(identifier: str, count: int, ago_s: float, **fields: Any) -> LaneView:
    """A lane whose last ``count`` runs ended skipped, the last ``ago_s`` seconds ago."""
    return lane(identifier, outcome="skipped", skips=SkipStreak(
        count, SKIP_REASON, NOW - timedelta(seconds=ago_s)), **fields)


def delivered(view: LaneView) -> TickFacts:
    return facts(lanes=[view], issues=[issue(view.identifier, "Done")],
                 reviews={view.identifier: ReviewFact("delivered", "merged")})


def backs_off(count: int, due_in_s: float) -> str:
    due = (NOW + timedelta(seconds=due_in_s)).strftime("%Y-%m-%d %H:%M:%S")
    return (f"backing off: its last {count} runs ended skipped ({SKIP_REASON}); next try "
            f"after {due} UTC; a person should look at the lane (`maestro status`, "
            "`maestro logs ID`)")


CASES += [
    ("a lane skipped once is planned again",
     delivered(skipped("S-1", 1, 10, in_review=True)),
     {"dispatch": [("S-1", "advance review (delivered)")]}),
    ("a lane skipped twice in a row for the same reason backs off, saying why",
     delivered(skipped("S-1", 2, 10, in_review=True)),
     {"dispatch": [], "waiting": [{"issue": "S-1", "reason": backs_off(2, 50)}]}),
    ("a lane that backed off long enough is planned again",
     delivered(skipped("S-1", 2, 61, in_review=True)),
     {"dispatch": [("S-1", "advance review (delivered)")]}),
    ("new work whose lane keeps being skipped backs off and frees its slot",
     facts(lanes=[skipped("S-2", 3, 10)], candidates=[issue("S-2"), issue("S-3")], limit=1),
     {"dispatch": [("S-3", "new work")], "skipped": [("S-2", backs_off(3, 110))]}),
]


@pytest.mark.parametrize(("name", "given_facts", "expected"), CASES, ids=[c[0] for c in CASES])
def test_plan_case(name: str, given_facts: TickFacts, expected: dict[str, Any]) -> None:
    plan = plan_tick(given_facts).as_dict()
    for key, wanted in expected.items():
        got = plan[key]
        if key in ("dispatch", "skipped"):
            got = [(item["issue"], item["reason"]) for item in got]
        assert got == wanted, key


def test_steps_run_in_the_order_of_the_operating_guide() -> None:
    assert [step.__name__ for step in STEPS] == [
        "reconcile", "drop_retries", "due_retries", "advance_reviews", "recover",
        "adopt_unseen_lanes", "back_off_skips", "new_work", "hold_silent_lanes",
        "hold_dispatch", "several_status_labels"]


def test_plan_json_keeps_its_keys() -> None:
    assert set(plan_tick(facts()).as_dict()) == {
        "dispatch", "reconcile", "retries_waiting", "retries_dropped", "waiting", "skipped",
        "warnings", "rate_limit", "held"}


def test_recovery_needs_the_issue_owned_by_the_lane() -> None:
    rules = WorkflowPolicy()
    assert not needs_recovery(lane("K-1"), issue("K-1", "Backlog"), rules)
    assert not needs_recovery(lane("K-1", in_review=True), issue("K-1", "In Review"), rules)


# -- property: never more agent starts than free slots ---------------------------------------

STATES = ["Todo", "In Progress", "In Review", "Canceled", "Backlog"]
OUTCOMES = ["", "retry", "interrupted", "skipped", "waiting"]
#: Most lanes are parked and startable, so that slots are contested in most examples.
rarely = st.sampled_from([False, False, False, True])


@st.composite
def any_facts(draw: st.DrawFn) -> TickFacts:
    count = draw(st.integers(0, 8))
    lanes, issues, retries = [], [], []
    for n in range(count):
        identifier = f"L-{n}"
        lanes.append(lane(identifier, leased=draw(rarely), claimed=draw(st.booleans()),
                          in_review=draw(rarely), needs_human=draw(rarely),
                          outcome=draw(st.sampled_from(OUTCOMES)),
                          claim_state=draw(st.sampled_from(["", *STATES]))))
        issues.append(issue(identifier, draw(st.sampled_from(["In Progress", *STATES]))))
        if draw(st.booleans()):
            retries.append(Retry(identifier, 1, "failure", draw(st.sampled_from([PAST, LATER]))))
    candidates = [issue(f"C-{n}", draw(st.sampled_from(["Todo", "Todo", "Backlog"])))
                  for n in range(draw(st.integers(0, 8)))]
    by_state = draw(st.dictionaries(st.sampled_from(["Todo", "In Progress"]),
                                    st.integers(0, 3), max_size=2))
    return facts(lanes, issues, retries, candidates, limit=draw(st.integers(1, 5)), **by_state)


@given(any_facts())
def test_never_more_agent_starts_than_free_slots(given_facts: TickFacts) -> None:
    plan = plan_tick(given_facts)
    limits = given_facts.policy.execution
    running = [v for v in given_facts.lanes.values() if v.runs_agent]
    started = [item for item in plan.dispatches if item.agent]
    assert len(started) <= max(0, limits.max_concurrent_agents - len(running))
    for state, cap in limits.max_concurrent_agents_by_state.items():
        here = [item for item in started if item.state.casefold() == state.casefold()]
        live = [v for v in running if (v.claim_state or given_facts.issues[
            v.identifier].state).casefold() == state.casefold()]
        assert len(here) <= max(0, cap - len(live))


@given(any_facts())
def test_each_issue_is_decided_once(given_facts: TickFacts) -> None:
    plan = plan_tick(given_facts)
    started = plan.issues()
    assert len(started) == len(set(started))
    assert not set(started) & {item.issue for item in plan.reconciles}


@given(any_facts())
def test_lanes_needing_a_human_or_held_by_a_process_are_never_dispatched(
        given_facts: TickFacts) -> None:
    started = set(plan_tick(given_facts).issues())
    for view in given_facts.lanes.values():
        if view.leased or view.needs_human:
            assert view.identifier not in started


# -- the lane's own move, cut half-way (GitHub's two label writes) ---------------------------

GITHUB = TrackerPolicy(provider="github")
TODO, WORKING = "status:todo", "status:in-progress"


@pytest.mark.parametrize(("name", "policy_", "moving_to", "state", "labels", "judged"), [
    ("a GitHub issue with the lane's target label beside the old one is where it was going",
     GITHUB, "In Progress", "Todo", (TODO, WORKING), "In Progress"),
    ("a GitHub issue with no move pending is as its labels say",
     GITHUB, None, "Todo", (TODO, WORKING), "Todo"),
    ("an unlabelled GitHub issue is a person's Backlog even with a move pending",
     GITHUB, "In Progress", "Backlog", (), "Backlog"),
    ("a move refused before its first write leaves the issue as it was",
     GITHUB, "In Progress", "Todo", (TODO,), "Todo"),
    ("a closed issue is closed whatever move is pending",
     GITHUB, "In Progress", "Canceled", (WORKING,), "Canceled"),
    ("a tracker that moves in one write has no half-way state",
     TrackerPolicy(provider="linear"), "In Progress", "Todo", (TODO, WORKING), "Todo"),
], ids=lambda value: value if isinstance(value, str) and " " in value else "")
def test_as_moving(name: str, policy_: TrackerPolicy, moving_to: str | None, state: str,
                   labels: tuple[str, ...], judged: str) -> None:
    view = lane("M-1", moving_to=moving_to)
    seen = as_moving(view, issue("M-1", state, labels=labels), policy_)
    assert seen.state == judged


def test_a_half_moved_lane_is_recovered() -> None:
    view = lane("M-1", moving_to="In Progress", outcome="interrupted")
    seen = as_moving(view, issue("M-1", "Todo", labels=(TODO, WORKING)), GITHUB)
    result = replace(facts(lanes=[view], issues=[seen]),
                     policy=WorkflowPolicy(tracker=GITHUB))
    assert dispatched(result) == [("M-1", "recover interrupted lane")]


# -- several status labels (breaker 25 F6) --------------------------------------------------

REVIEWING = "status:in-review"


def on_github(result: TickFacts) -> TickFacts:
    return replace(result, policy=WorkflowPolicy(tracker=GITHUB))


def notes(result: TickFacts) -> list[tuple[str, str, str]]:
    """``(kind, issue, reason)`` of the plan's skips and waits that name status labels."""
    plan = plan_tick(result)
    return [(kind, item.issue, item.reason)
            for kind, items in (("skip", plan.skips), ("wait", plan.waits)) for item in items
            if "status labels" in item.reason]


@pytest.mark.parametrize(("name", "situation", "expected"), [
    ("an issue a person labelled todo beside in-progress, with no lane, is skipped and named",
     replace(on_github(facts()), claimed=(
         issue("S-1", "In Progress", labels=(TODO, WORKING)),)),
     [("skip", "S-1", "carries 2 status labels (status:todo, status:in-progress) and reads "
       "as In Progress, a state a lane holds, so it is not new work; take off the status "
       "label that is not meant")]),
    ("a running lane's issue says nothing: its own move holds two labels for a moment",
     replace(on_github(facts(lanes=[lane("S-2", leased=True, claimed=True)],
                             issues=[issue("S-2", "In Review", labels=(WORKING, REVIEWING))])),
             claimed=(issue("S-2", "In Review", labels=(WORKING, REVIEWING)),)),
     []),
    ("an issue the plan adopts as an unseen lane is not also skipped",
     replace(on_github(facts()), claimed=(issue("S-3", "In Progress", labels=(TODO, WORKING)),),
             unseen=(issue("S-3", "In Progress", labels=(TODO, WORKING)),)),
     []),
    ("one status label says nothing",
     replace(on_github(facts()), claimed=(issue("S-4", "In Progress", labels=(WORKING,)),)),
     []),
    ("a closed issue's leftover labels say nothing",
     replace(on_github(facts()), claimed=(issue("S-5", "Done", labels=(TODO, WORKING)),)),
     []),
    ("labels on a tracker with a state field are only labels",
     replace(facts(), claimed=(issue("S-6", "In Progress", labels=(TODO, WORKING)),)),
     []),
], ids=lambda value: value if isinstance(value, str) and " " in value else "")
def test_several_status_labels(name: str, situation: TickFacts,
                               expected: list[tuple[str, str, str]]) -> None:
    assert notes(situation) == expected


def test_an_issue_already_skipped_keeps_its_one_skip() -> None:
    """The tick log remembers one reason per issue and kind: two would flap every tick."""
    situation = replace(on_github(facts()), claimed=(
        issue("S-7", "In Progress", labels=(TODO, WORKING)),))
    plan = several_status_labels(situation, Plan(skips=(Skip("S-7", "another reason"),)))
    assert [item.reason for item in plan.skips] == ["another reason"]
