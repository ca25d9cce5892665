"""Which ACP session a repair round prompts: the lane's earlier one when the agent can load it."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from maestro.agents.acp import AcpAgent
from maestro.agents.appserver import RpcError
from maestro.lanes.sessions.acp_session import open_session


class StandIn:
    """The two session calls of :class:`AcpAgent`, answering as told."""

    def __init__(self, can_load: bool, knows: bool) -> None:
        self.can_load = can_load
        self.knows = knows

    async def load_session(self, session_id: str, socket_path: str, timeout: float) -> str:
        if not self.knows:
            raise RpcError("session/load failed: Resource not found")
        return session_id

    async def new_session(self, socket_path: str, timeout: float) -> str:
        return "new-session"


@pytest.mark.parametrize(("resume", "can_load", "knows", "session", "events"), [
    ("old", True, True, "old", ["thread_resumed"]),
    ("old", True, False, "new-session", ["thread_resume_failed"]),
    ("old", False, True, "new-session", []),  # the agent does not serve session/load
    ("", True, True, "new-session", []),  # nothing recorded: the agent phase
])
def test_the_session_is_loaded_only_when_recorded_and_known(
        resume: str, can_load: bool, knows: bool, session: str, events: list[str]) -> None:
    logged: list[dict[str, Any]] = []
    agent = cast(AcpAgent, StandIn(can_load, knows))
    opened = asyncio.run(open_session(agent, resume, "/sock", 1.0,
                                      lambda **kw: logged.append(kw)))
    assert opened == session
    assert [entry["event"] for entry in logged] == events
