"""Which states ``maestro issue list`` shows when no ``--state`` is given.

Why: the files tracker lists its whole folder, but Linear and GitHub are asked by state,
and asking for no state returned nothing (exit 0, no request): a user saw an empty board.
Without ``--state`` a service tracker is asked for every state the workflow names except
the terminal ones (whose history can be long); the CLI says so on stderr.
"""

from __future__ import annotations

from maestro.config.workflow import TrackerPolicy
from maestro.statenames import state_key, state_keys

__all__ = ["default_list_states"]


def default_list_states(policy: TrackerPolicy) -> list[str]:
    """The workflow's named states, in lane order, without the terminal ones."""
    terminal = state_keys(policy.terminal_states)
    return [name for name in policy.named_states() if state_key(name) not in terminal]
