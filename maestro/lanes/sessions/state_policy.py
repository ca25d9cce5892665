"""Which states the agent may not move its issue to (docs/spec/tools.md, issue_transition),
and which labels it may not give it (issue_label_add).

A pure decision on the workflow's policy: the success state and the completed state are
reached only through maestro (review handoff, delivery), terminal states never by the
agent; a label the workflow gives a meaning only a person may decide (a
``[budget.labels]`` override, the opt-out label) is never added by the agent. Names are
compared by :func:`maestro.statenames.state_key`, so a disguised spelling (``" Done"``,
``"DONE\\t"``, ``"Done\\u00a0"``) is the state or label it imitates.
"""

from __future__ import annotations

from maestro.config.workflow import TrackerPolicy, WorkflowPolicy
from maestro.statenames import state_key, state_keys


def forbidden_state_keys(policy: TrackerPolicy) -> frozenset[str]:
    """The keys of the states no agent transition may reach."""
    completed = policy.resolved_completed_state()
    return state_keys([policy.success_state, *policy.terminal_states,
                       *([completed] if completed else [])])


def is_forbidden_state(policy: TrackerPolicy, state: str) -> bool:
    """True when ``state`` (any spelling) is one the agent may not move its issue to."""
    return state_key(state) in forbidden_state_keys(policy)


def reserved_label(policy: WorkflowPolicy, label: str) -> str | None:
    """Why the agent may not add ``label`` (any spelling) to its issue, or None: a
    ``[budget.labels]`` override would raise its own token ceiling, and the opt-out label
    is a person's way to keep maestro off an issue."""
    wanted = state_key(label)
    if wanted in state_keys(policy.budget.labels):
        return "it overrides the token budget ([budget.labels]); only a person sets it"
    if wanted == state_key(policy.tracker.opt_out_label):
        return "it is the opt-out label; only a person sets it"
    return None
