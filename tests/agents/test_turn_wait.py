"""``turn_wait``: when a turn has stalled or run out of time, and how long it may wait."""

from __future__ import annotations

import pytest

from maestro.agents.appserver import AgentError, Stalled, TurnTimeout, turn_wait

# (now, started, last_activity, idle_timeout, turn_timeout) -> seconds, or the error class
CASES: list[tuple[str, tuple[float, float, float, float, float], float | type[AgentError]]] = [
    ("fresh turn waits for the idle deadline", (100, 100, 100, 10, 60), 10),
    ("the turn deadline is nearer", (155, 100, 154, 10, 60), 5),
    ("activity pushes the idle deadline", (130, 100, 128, 10, 60), 8),
    ("quiet for the idle timeout is a stall", (110, 100, 100, 10, 60), Stalled),
    ("the whole turn timeout spent", (160, 100, 159, 10, 60), TurnTimeout),
    ("both due: the stall wins", (160, 100, 100, 10, 60), Stalled),
]


@pytest.mark.parametrize(("name", "args", "expected"), CASES, ids=[c[0] for c in CASES])
def test_turn_wait(name: str, args: tuple[float, float, float, float, float],
                   expected: float | type[AgentError]) -> None:
    if isinstance(expected, type):
        with pytest.raises(expected):
            turn_wait(*args, quiet="agent event")
    else:
        assert turn_wait(*args, quiet="agent event") == pytest.approx(expected)


def test_a_stall_names_what_went_quiet() -> None:
    with pytest.raises(Stalled, match="no agent update for 10s during the turn"):
        turn_wait(110, 100, 100, 10, 60, quiet="agent update")
