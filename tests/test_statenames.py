"""The one comparison of state names and labels (maestro/statenames.py) and the agent's
forbidden states (maestro/lanes/sessions/state_policy.py), as tables."""

from __future__ import annotations

import pytest

from maestro.config.workflow import TrackerPolicy
from maestro.lanes.sessions.state_policy import is_forbidden_state
from maestro.statenames import resolve_state, same_state, state_key

SAME = {
    "case": ("DONE", "Done"),
    "leading space": (" Done", "Done"),
    "trailing tab": ("Canceled\t", "Canceled"),
    "no-break space": ("Done\u00a0", "Done"),
    "inner whitespace run": ("In \t Review", "In Review"),
    "inner no-break space": ("In\u00a0Review", "In Review"),
    "zero-width space": ("Do\u200bne", "Done"),
    "byte order mark": ("\ufeffDone", "Done"),
    "full-width letters": ("\uff24\uff4f\uff4e\uff45", "Done"),
    "sharp s folds": ("Straße", "STRASSE"),
}

DIFFERENT = {
    "another word": ("Done", "Dune"),
    "space inside a word": ("Do ne", "Done"),
    "two words joined": ("InReview", "In Review"),
}


@pytest.mark.parametrize("case", sorted(SAME))
def test_spellings_of_one_state_compare_equal(case: str) -> None:
    a, b = SAME[case]
    assert same_state(a, b)


@pytest.mark.parametrize("case", sorted(DIFFERENT))
def test_different_states_compare_different(case: str) -> None:
    a, b = DIFFERENT[case]
    assert not same_state(a, b)


KNOWN = ["Todo", "In Progress", "In Review", "Done", "Canceled"]

RESOLVE = {
    "exact": ("Done", "Done"),
    "disguised": (" done\u00a0", "Done"),
    "two words": ("in   progress", "In Progress"),
    "unknown": ("Shipped", None),
    "empty": ("", None),
    "only whitespace": (" \t\u00a0", None),
}


@pytest.mark.parametrize("case", sorted(RESOLVE))
def test_a_requested_name_resolves_to_the_configured_spelling_or_none(case: str) -> None:
    requested, expected = RESOLVE[case]
    assert resolve_state(requested, KNOWN) == expected


def test_a_name_two_configured_spellings_share_resolves_to_none() -> None:
    assert resolve_state("done", ["Done", "DONE "]) is None


def test_the_key_is_trimmed_collapsed_and_folded() -> None:
    assert state_key("  In\u00a0\tREVIEW \n") == "in review"


POLICY = TrackerPolicy(terminal_states=["Done", "Canceled", "Duplicate"],
                       success_state="In Review")

FORBIDDEN = {
    "success state": ("In Review", True),
    "success state, trailing space": ("In Review ", True),
    "terminal state, leading space": (" Done", True),
    "terminal state, tab": ("Canceled\t", True),
    "terminal state, no-break space": ("Done\u00a0", True),
    "terminal state, upper case": ("DUPLICATE", True),
    "in progress": ("In Progress", False),
    "startable": ("Todo", False),
}


@pytest.mark.parametrize("case", sorted(FORBIDDEN))
def test_the_agent_may_not_reach_success_or_terminal_states_in_any_spelling(case: str) -> None:
    state, forbidden = FORBIDDEN[case]
    assert is_forbidden_state(POLICY, state) is forbidden


def test_the_policy_names_a_disguised_state_in_its_own_spelling() -> None:
    assert POLICY.named_state("done\u00a0") == "Done"
    assert POLICY.is_terminal(" Canceled\t")
