"""The issue tools over MCP: a stdio MCP server that an agent starts for one lane session.

Agents that take tools over MCP (Claude Code, ACP agents) get maestro's issue tools from
this server, started by the agent itself from the config maestro writes for the session
(:func:`mcp_config`). It lists the same :data:`~maestro.agents.tools.TOOL_SPECS` as the
app-server's dynamic tools and relays every call to the lane process over the socket of
:mod:`maestro.agents.tool_relay`; the lane answers through the same
:meth:`~maestro.agents.tools.ToolBridge.answer`, so the contract (the issue binding, the
refusals, the journal, idempotency) is one implementation for every transport. This process
holds no tracker or forge token: its environment is the agent's (an allow list, see
:mod:`maestro.containment.childenv`) plus the socket path.

A refused or failed call is a tool result with ``isError: true`` and the same text the
app-server path gives (``refused: …``), so the model can read it and go on.

Run as ``python -I -m maestro.agents.mcp_tools SOCKET``: ``-I`` keeps the worktree (the
agent's files, maybe a copy of maestro itself) out of ``sys.path``.
"""

from __future__ import annotations

import sys
from typing import Any

#: The server's key in the agent's MCP config: tools appear as ``mcp__maestro__<tool>``.
SERVER_NAME = "maestro"


def mcp_tool_names(server: str = SERVER_NAME) -> list[str]:
    """The tool names as Claude Code shows them to the model (and ``--allowedTools`` takes)."""
    from maestro.agents.tools import TOOL_NAMES

    return [f"mcp__{server}__{name}" for name in TOOL_NAMES]


def server_argv(socket_path: str) -> list[str]:
    """How the agent starts this server: maestro's own interpreter, isolated mode."""
    return [sys.executable, "-I", "-m", "maestro.agents.mcp_tools", socket_path]


def mcp_config(socket_path: str, server: str = SERVER_NAME) -> dict[str, Any]:
    """The ``--mcp-config`` document (Claude Code's ``mcpServers`` shape)."""
    argv = server_argv(socket_path)
    return {"mcpServers": {server: {"type": "stdio", "command": argv[0], "args": argv[1:],
                                    "env": {}}}}


def _serve(socket_path: str) -> None:
    import anyio
    import mcp_types as types
    from mcp.server.lowlevel import Server
    from mcp.server.stdio import stdio_server

    from maestro import __version__
    from maestro.agents.tool_relay import RelayClient
    from maestro.agents.tools import TOOL_SPECS

    relay = RelayClient(socket_path)
    tools = [types.Tool(name=spec["name"], description=spec["description"],
                        input_schema=spec["inputSchema"]) for spec in TOOL_SPECS]

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools)

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        # The lane answers one call at a time; a blocking call in a worker thread keeps
        # this server's own protocol (pings, cancellations) alive meanwhile.
        answer = await anyio.to_thread.run_sync(relay.call, params.name, params.arguments)
        return types.CallToolResult(content=[types.TextContent(text=answer.text)],
                                    is_error=not answer.ok)

    server: Server[Any] = Server(SERVER_NAME, version=__version__,
                                 instructions="maestro's issue tools, bound to this lane's "
                                              "issue.",
                                 on_list_tools=list_tools, on_call_tool=call_tool)

    async def main() -> None:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    try:
        anyio.run(main)
    finally:
        relay.close()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -I -m maestro.agents.mcp_tools SOCKET", file=sys.stderr)
        return 2
    _serve(args[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
