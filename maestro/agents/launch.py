"""Which command starts the agent: maestro.toml's, or the workflow's shell string.

A Symphony-style ``WORKFLOW.md`` names the agent in ``codex.command`` (default
``codex app-server``), a shell string Symphony runs with ``bash -lc`` in the workspace
(its SPEC.md §5.3.6, §10.1); :mod:`maestro.config.symphony_front` keeps it as
``agent.command``. An operator's explicit ``[agent] command`` in maestro.toml is a choice
about this machine and wins; otherwise the workflow's string runs as Symphony runs it. The
lane starts the command with its worktree as the working directory either way.
"""

from __future__ import annotations

from maestro.config.service import AgentService
from maestro.config.workflow import AgentPolicy

__all__ = ["agent_argv"]


def agent_argv(service: AgentService, policy: AgentPolicy) -> list[str]:
    """The argv of the agent process (before any sandbox prefix)."""
    if policy.command and "command" not in service.model_fields_set:
        return ["bash", "-lc", policy.command]
    return service.argv()
