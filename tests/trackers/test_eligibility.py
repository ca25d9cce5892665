"""Which issues may start a lane: one ready baseline, each rule as a named delta."""

from __future__ import annotations

from typing import Any

import pytest

from maestro.config.workflow import TrackerPolicy
from maestro.model import Issue
from maestro.trackers.eligibility import eligibility, ineligible_reason

READY = Issue(id="A-1", identifier="A-1", title="t", state="Todo", labels=("bug",),
              blocked_by=("A-0",), blocker_states={"A-0": "Done"})
POLICY = TrackerPolicy()


@pytest.mark.parametrize(("change", "policy", "resuming", "expected"), [
    ({}, {}, False, None),
    ({"state": "TODO"}, {}, False, None),
    ({"state": "done"}, {}, False, "issue is done (terminal)"),
    ({"labels": ("Maestro:Manual-Only",)}, {}, False,
     "issue carries the label 'maestro:manual-only'"),
    ({"labels": ("maestro:needs-attention",)}, {}, False,
     "issue carries the label 'maestro:needs-attention'"),
    ({}, {"required_labels": [" BUG "]}, False, None),
    ({}, {"required_labels": ["ui", ""]}, False,
     "issue lacks the required label(s) 'ui', ''"),
    ({"blocker_states": {"A-0": "In Progress"}}, {}, False, "blocked by A-0"),
    ({"blocker_states": {"A-0": "DONE"}}, {}, False, None),
    ({"blocker_states": {}}, {}, False, "blocked by A-0"),
    ({"state": "In Progress"}, {}, False,
     "issue is In Progress; only Todo is picked up as new work"),
    ({"state": "in progress"}, {}, True, None),
    ({"state": "Backlog"}, {}, True, "issue is Backlog; only Todo is picked up as new work"),
    ({"state": "Ready"}, {"startable_states": ["Ready", "Todo"]}, False, None),
    ({"state": "Done", "blocked_by": ()}, {"terminal_states": ["Closed"]}, False,
     "issue is Done; only Todo is picked up as new work"),
], ids=repr)
def test_ineligible_reason(change: dict[str, Any], policy: dict[str, Any], resuming: bool,
                           expected: str | None) -> None:
    issue = READY.model_copy(update=change)
    assert ineligible_reason(issue, TrackerPolicy(**policy), resuming) == expected
    if not resuming:  # the tick's form, names folded once, answers the same
        assert eligibility(TrackerPolicy(**policy))(issue) == expected


def test_the_policy_of_each_call_decides_even_after_another_policy() -> None:
    closed = TrackerPolicy(terminal_states=["Closed"])
    assert ineligible_reason(READY.model_copy(update={"state": "Closed"}), POLICY) == (
        "issue is Closed; only Todo is picked up as new work")
    assert ineligible_reason(READY.model_copy(update={"state": "Closed"}), closed) == (
        "issue is Closed (terminal)")
