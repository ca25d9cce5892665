"""Which states the agent may not move its issue to (docs/spec/tools.md, issue_transition).

A pure decision on the workflow's tracker policy: the success state and the completed state
are reached only through maestro (review handoff, delivery), terminal states never by the
agent. Names are compared by :func:`maestro.statenames.state_key`, so a disguised spelling
(``" Done"``, ``"DONE\\t"``, ``"Done\\u00a0"``) is the state it imitates.
"""

from __future__ import annotations

from maestro.config.workflow import TrackerPolicy
from maestro.statenames import state_key, state_keys


def forbidden_state_keys(policy: TrackerPolicy) -> frozenset[str]:
    """The keys of the states no agent transition may reach."""
    completed = policy.resolved_completed_state()
    return state_keys([policy.success_state, *policy.terminal_states,
                       *([completed] if completed else [])])


def is_forbidden_state(policy: TrackerPolicy, state: str) -> bool:
    """True when ``state`` (any spelling) is one the agent may not move its issue to."""
    return state_key(state) in forbidden_state_keys(policy)
