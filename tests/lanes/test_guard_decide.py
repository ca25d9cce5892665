"""The look-again rule (maestro/lanes/guard.py:decide) as a table: issue × stage → go or stop.

One baseline per stage that goes; each named case changes one thing a person might change.
"""

from __future__ import annotations

import pytest

from maestro.config.workflow import TrackerPolicy
from maestro.lanes.guard import GO, Stage, Stop, decide
from maestro.model import Issue, LaneOutcome

POLICY = TrackerPolicy()
ATTENTION = POLICY.needs_attention_label
OPT_OUT = POLICY.opt_out_label


def issue(state: str, *labels: str) -> Issue:
    return Issue(id="1", identifier="ABC-1", title="t", state=state, labels=labels)


TERMINATED, INTERRUPTED = LaneOutcome.TERMINATED, LaneOutcome.INTERRUPTED

#: case: (issue or None when gone, stage, own_attention) → GO or (outcome, reason part)
CASES: dict[str, tuple[Issue | None, Stage, bool, object]] = {
    "todo while working": (issue("Todo"), "work", False, GO),
    "in progress while working": (issue("In Progress"), "work", False, GO),
    "in review at a resumed handoff": (issue("In Review"), "work", False, GO),
    "in review while reviewing": (issue("In Review"), "review", False, GO),
    "state names are compared without case": (issue("in progress"), "work", False, GO),
    "a label of no concern": (issue("In Progress", "bug"), "work", False, GO),
    "the agent's own attention label": (issue("In Progress", ATTENTION), "work", True, GO),
    "gone": (None, "work", False, (TERMINATED, "no longer exists")),
    "cancelled while working": (issue("Canceled"), "work", False, (TERMINATED, "Canceled")),
    "duplicate while reviewing": (issue("Duplicate"), "review", False,
                                  (TERMINATED, "Duplicate")),
    "done before the merge": (issue("Done"), "review", False, (TERMINATED, "Done")),
    "attention added by a person": (issue("In Progress", ATTENTION), "work", False,
                                    (TERMINATED, ATTENTION)),
    "attention added by a person in review": (issue("In Review", ATTENTION), "review", False,
                                              (TERMINATED, ATTENTION)),
    "opted out": (issue("In Progress", OPT_OUT), "work", False, (TERMINATED, OPT_OUT)),
    "opted out even with own attention": (issue("In Review", OPT_OUT), "review", True,
                                          (TERMINATED, OPT_OUT)),
    "moved to backlog": (issue("Backlog"), "work", False, (INTERRUPTED, "Backlog")),
    "moved back to todo in review": (issue("Todo"), "review", False, (INTERRUPTED, "Todo")),
    "in progress in review": (issue("In Progress"), "review", False,
                              (INTERRUPTED, "In Progress")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_decide(case: str) -> None:
    subject, stage, own, expected = CASES[case]
    decision = decide(subject, POLICY, stage, own_attention=own)
    if expected is GO:
        assert decision == GO
        return
    assert isinstance(expected, tuple)
    outcome, reason = expected
    assert isinstance(decision, Stop)
    assert decision.outcome == outcome
    assert reason in decision.reason


def test_only_a_terminal_state_cleans_the_workspace() -> None:
    cleaned = {case for case, (subject, stage, own, _) in CASES.items()
               if isinstance(d := decide(subject, POLICY, stage, own), Stop) and d.cleanup}
    assert cleaned == {"cancelled while working", "duplicate while reviewing",
                       "done before the merge"}
