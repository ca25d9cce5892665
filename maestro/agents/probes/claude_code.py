"""``maestro protocol probe`` for ``[agent] transport = "claude-code"``.

Checks, in order, each naming what it verifies:

1. the command resolves to an executable (``claude`` on PATH by default);
2. a headless turn started exactly as a lane starts one (the argv of
   :func:`~maestro.agents.claude_code.claude_argv`, the MCP config maestro writes, the
   stream-JSON input) reports ``system/init`` with maestro's MCP server ``connected``, all
   its tools offered as ``mcp__maestro__…``, and the unattended permission mode;
3. the turn ends with a ``result`` event, as every lane turn must.

No model is reached: ``ANTHROPIC_BASE_URL`` points at a closed loopback port, so the turn
fails at once (``CLAUDE_CODE_MAX_RETRIES=0``) after the start-up the probe checks. The
environment is empty but for ``PATH`` and a temporary ``HOME``/``CLAUDE_CONFIG_DIR``:
neither the operator's configuration nor their credentials take part.
"""

from __future__ import annotations

import asyncio
import socket
import tempfile
from pathlib import Path
from typing import Any

from maestro.agents.appserver import AgentError
from maestro.agents.claude_code import (
    PERMISSION_MODE,
    ClaudeCodeClient,
    child_env,
    claude_argv,
)
from maestro.agents.mcp_tools import SERVER_NAME, mcp_config, mcp_tool_names
from maestro.agents.probes.common import (
    ProbeFailed,
    agent_failed,
    agent_version,
    isolated_env,
    resolve_command,
)
from maestro.agents.tool_relay import ToolRelay
from maestro.agents.tools import ToolAnswer

TURN_TIMEOUT_S = 90.0


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _start_turn(argv: list[str], work: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run one turn against no model; return its ``system/init`` and ``result`` events."""
    relay = ToolRelay(lambda name, args: ToolAnswer(False, "refused: the probe runs no tool"))
    await relay.start()
    events: dict[str, dict[str, Any]] = {}
    stderr: list[str] = []
    cwd = work / "worktree"
    cwd.mkdir()
    env = isolated_env(work / "home")
    env.update({"CLAUDE_CONFIG_DIR": str(work / "home" / ".claude"),
                "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{_closed_port()}",
                "ANTHROPIC_API_KEY": "maestro-probe-no-key", "CLAUDE_CODE_MAX_RETRIES": "0"})

    def on_event(kind: str, event: dict[str, Any]) -> None:
        events.setdefault(kind, event)

    client = ClaudeCodeClient(cwd, child_env(env, 60.0), on_event, stderr.append)
    try:
        turn = claude_argv(argv, mcp_config(str(relay.path)), "maestro protocol probe",
                           "00000000-0000-4000-8000-000000000001", resume=False)
        try:
            result = await client.run_turn(turn, "maestro protocol probe: say nothing.",
                                           TURN_TIMEOUT_S, TURN_TIMEOUT_S)
        except AgentError as exc:
            if "system/init" not in events:
                raise agent_failed("headless start", exc, stderr) from None
            raise ProbeFailed("result event", f"{exc.error_class}: {exc}") from None
    finally:
        client.kill()
        await relay.close()
    if "system/init" not in events:
        raise ProbeFailed("headless start", "no system/init event before the result")
    return events["system/init"], result.event


def check_init(init: dict[str, Any]) -> None:
    """The start-up report carries maestro's tools, connected, and the permission mode."""
    servers = {s.get("name"): s.get("status") for s in init.get("mcp_servers") or []
               if isinstance(s, dict)}
    if servers.get(SERVER_NAME) != "connected":
        raise ProbeFailed("MCP tools connected",
                          f"server {SERVER_NAME!r} is {servers.get(SERVER_NAME) or 'absent'}")
    offered = set(init.get("tools") or [])
    missing = [name for name in mcp_tool_names() if name not in offered]
    if missing:
        raise ProbeFailed("MCP tools offered", f"missing {missing}")
    mode = init.get("permissionMode")
    if mode != PERMISSION_MODE:
        raise ProbeFailed("permission mode", f"expected {PERMISSION_MODE!r}, got {mode!r}")


def run_checks(command: str, say: Any = print) -> None:
    argv = resolve_command(command, what="claude",
                           hint="install @anthropic-ai/claude-code or pass --claude CMD")
    say(f"ok   claude on PATH: {argv[0]} ({agent_version(argv)})")
    with tempfile.TemporaryDirectory(prefix="maestro-probe-") as tmp:
        init, result = asyncio.run(_start_turn(argv, Path(tmp)))
    check_init(init)
    say(f"ok   headless start: stream-json, {SERVER_NAME} MCP server connected with "
        f"{len(mcp_tool_names())} tools, permission mode {PERMISSION_MODE} "
        f"(claude {init.get('claude_code_version', '?')})")
    say(f"ok   result event: subtype {result.get('subtype')!r} (no model was reached)")
