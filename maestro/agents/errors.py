"""The base of every agent failure, apart from the JSON-RPC client (:mod:`.appserver`), so
that modules needing only the exception (the tool host, which the land half of a lane
imports through the review phase) do not import asyncio with it."""

from __future__ import annotations


class AgentError(Exception):
    """A failure of the agent child or its protocol; ``error_class`` names it in state."""

    error_class = "agent_error"
    retryable = True
