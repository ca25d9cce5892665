"""``maestro protocol probe`` for ``[agent] transport = "acp"``.

Checks, in order, each naming what it verifies:

1. the command resolves to an executable;
2. ``initialize`` succeeds with protocol version 1 and maestro's client capabilities;
3. ``session/new`` in a temporary folder with maestro's MCP tool server succeeds and
   returns a session id (the agent accepts a stdio MCP server).

No prompt is sent: a prompt needs a model, and the probe must work offline and cost
nothing. The environment is empty but for ``PATH`` and a temporary ``HOME`` /
``CLAUDE_CONFIG_DIR``: neither the operator's configuration nor their credentials take part.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from maestro.agents.acp import PROTOCOL_VERSION, AcpAgent
from maestro.agents.appserver import AgentError
from maestro.agents.probes.common import agent_failed, isolated_env, resolve_command
from maestro.agents.tool_relay import ToolRelay
from maestro.agents.tools import ToolAnswer

TIMEOUT_S = 60.0


async def _open_session(argv: list[str], work: Path) -> str:
    relay = ToolRelay(lambda name, args: ToolAnswer(False, "refused: the probe runs no tool"))
    await relay.start()
    stderr: list[str] = []
    cwd = work / "worktree"
    cwd.mkdir()
    env = isolated_env(work / "home")
    env["CLAUDE_CONFIG_DIR"] = str(work / "home" / ".claude")
    agent = AcpAgent(argv, cwd, env, lambda kind, fields: None,
                     lambda title, kind, why: None, stderr.append)
    step = "initialize"
    try:
        await agent.start(TIMEOUT_S)
        step = "session/new with maestro's MCP tools"
        return await agent.new_session(str(relay.path), TIMEOUT_S)
    except AgentError as exc:
        raise agent_failed(step, exc, stderr) from None
    finally:
        await agent.close()
        await relay.close()


def run_checks(command: str, say: Any = print) -> None:
    argv = resolve_command(command, what="ACP agent",
                           hint="install an ACP agent, e.g. @agentclientprotocol/"
                                "claude-agent-acp, or pass --acp CMD")
    say(f"ok   ACP agent on PATH: {argv[0]}")
    with tempfile.TemporaryDirectory(prefix="maestro-probe-") as tmp:
        session = asyncio.run(_open_session(argv, Path(tmp)))
    say(f"ok   initialize: protocol version {PROTOCOL_VERSION}")
    say(f"ok   session/new with maestro's MCP tools (session {session})")
