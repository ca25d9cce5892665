"""What every agent transport does with its child process: stop it and kill its group, the
same way for Claude Code and ACP (it is started, and its stderr read, by :mod:`.spawn`).

An agent runs in its own process group (``start_new_session``), so killing the group ends
the shell commands it started too. A stop records the first reason (a refused call, a
SIGTERM to maestro) and wakes whoever waits on the agent; later stops keep it.
"""

from __future__ import annotations

import asyncio

from maestro.agents.appserver import AgentError, Terminated
from maestro.containment import reaper

__all__ = ["AgentChild"]


class AgentChild:
    """The stopping half of a transport client: ``process`` is its running child."""

    def __init__(self) -> None:
        self.process: asyncio.subprocess.Process | None = None
        self._fatal: AgentError | None = None
        self._fatal_event = asyncio.Event()

    def stop(self, error: AgentError) -> None:
        """End the running work with ``error`` (a refused call, a SIGTERM) and kill it."""
        if self._fatal is None:
            self._fatal = error
            self._fatal_event.set()
        self.kill()

    def terminate(self, reason: str) -> None:
        self.stop(Terminated(reason))

    def kill(self) -> None:
        """Kill the child's process group and whatever left it (the shell commands it
        started included; :mod:`maestro.containment.reaper`)."""
        process = self.process
        if process is None or process.returncode is not None:
            return
        reaper.kill_tree(process.pid)
