"""The issue tools over MCP: the server an agent starts from maestro's config relays every
call to the lane's :class:`ToolBridge`, so a call is answered, refused and journaled exactly
as through the app-server, and the server itself needs and holds no secret.

Each test starts the real server process the way an agent does (the command, arguments
and environment of :func:`mcp_config`) and talks to it with the official MCP client.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import mcp_types as types
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from maestro.agents.mcp_tools import SERVER_NAME, mcp_config
from maestro.agents.tool_relay import ToolRelay
from maestro.agents.tools import TOOL_SPECS, ToolBridge
from maestro.containment.childenv import child_env
from maestro.errors import ForgeError

ISSUE = "MCP-1"
SECRETS = {"GITHUB_TOKEN": "ghp_mcp_1", "LINEAR_API_KEY": "lin_mcp_2",
           "AWS_SECRET_ACCESS_KEY": "aws_mcp_3"}


class Host:
    """A ``ToolHost`` bound to :data:`ISSUE` that records the side effects asked of it."""

    identifier = ISSUE
    success_state = "In Review"
    needs_attention_label = "maestro:needs-attention"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def resolve_state(self, state: str) -> str | None:
        return {"todo": "Todo", "in progress": "In Progress", "in review": "In Review",
                "done": "Done"}.get(" ".join(state.split()).casefold())

    def is_forbidden_state(self, state: str) -> bool:
        return state in {"In Review", "Done"}

    def reserved_label(self, label: str) -> str | None:
        return "only a person sets it" if label == "maestro:budget-large" else None

    def post_comment(self, body: str) -> str:
        self.calls.append(f"comment {body}")
        return "c1"

    def transition(self, state: str) -> bool:
        self.calls.append(f"transition {state}")
        return True

    def add_label(self, label: str) -> bool:
        self.calls.append(f"label {label}")
        return True

    def open_pr(self, title: str, body: str) -> str:
        return "local://origin/pulls/1"

    def pr_url(self) -> str | None:
        return None

    def forbidden_paths(self) -> list[str]:
        return []


def _server_params(relay: ToolRelay, env: dict[str, str]) -> StdioServerParameters:
    entry = mcp_config(str(relay.path))["mcpServers"][SERVER_NAME]
    return StdioServerParameters(command=entry["command"], args=entry["args"],
                                 env={**env, **entry["env"]})


async def _through_mcp(bridge: ToolBridge, calls: list[tuple[str, dict[str, Any]]],
                       env: dict[str, str] | None = None,
                       ) -> tuple[list[types.Tool], list[types.CallToolResult], str]:
    """Start the server as an agent would, list the tools, make ``calls``; also return the
    server's environment as ``/proc`` shows it."""
    relay = ToolRelay(bridge.answer)
    await relay.start()
    try:
        params = _server_params(relay, env if env is not None else child_env())
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            listed = (await session.list_tools()).tools
            results = [await session.call_tool(name, args) for name, args in calls]
            environ = _server_environ(str(relay.path))
    finally:
        await relay.close()
    return listed, results, environ


def _server_environ(socket_path: str) -> str:
    """The environment of the running server process (found by its socket argument)."""
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
            if b"maestro.agents.mcp_tools" in cmdline and socket_path.encode() in cmdline:
                return (proc / "environ").read_bytes().decode(errors="replace")
        except OSError:
            continue
    raise AssertionError("the MCP server process was not found")


def _journal(path: Path) -> list[dict[str, Any]]:
    return [{k: v for k, v in json.loads(line).items() if k != "at"}
            for line in path.read_text().splitlines()]


def test_the_server_lists_the_app_server_tools_with_their_schemas(tmp_path: Path) -> None:
    bridge = ToolBridge(Host(), tmp_path / "tools.jsonl")
    listed, _, _ = asyncio.run(_through_mcp(bridge, []))
    assert [(t.name, t.input_schema) for t in listed] == [
        (spec["name"], spec["inputSchema"]) for spec in TOOL_SPECS]


def test_a_call_naming_another_issue_is_refused_through_mcp_as_through_the_app_server(
        tmp_path: Path) -> None:
    args = {"body": "hello", "issue": "OTHER-9"}
    direct = ToolBridge(Host(), tmp_path / "direct.jsonl")
    expected = direct.call("issue_comment", args)
    host = Host()
    relayed = ToolBridge(host, tmp_path / "relayed.jsonl")
    _, [result], _ = asyncio.run(_through_mcp(relayed, [("issue_comment", args)]))
    assert result.is_error is True
    assert [c.text for c in result.content if isinstance(c, types.TextContent)] == [
        expected["contentItems"][0]["text"]]
    assert expected["success"] is False
    assert relayed.signals.violations == direct.signals.violations != []
    assert relayed.signals.stop == direct.signals.stop != ""
    assert _journal(tmp_path / "relayed.jsonl") == _journal(tmp_path / "direct.jsonl")
    assert host.calls == []


def test_an_allowed_call_acts_once_and_is_recorded(tmp_path: Path) -> None:
    host = Host()
    bridge = ToolBridge(host, tmp_path / "tools.jsonl")
    call = ("issue_comment", {"body": "progress"})
    _, results, _ = asyncio.run(_through_mcp(bridge, [call, call]))
    assert [r.is_error for r in results] == [False, False]
    assert host.calls == ["comment progress"]  # the second is the recorded answer
    assert bridge.signals.comments == 1


def test_the_server_environment_holds_no_secret(tmp_path: Path, monkeypatch: Any) -> None:
    """The agent's environment (the allow list) plus the config's: no tracker or forge
    token, named or not, and the tools still work, since the lane holds the tokens."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    agent_env = child_env(secrets={"GITHUB_TOKEN", "LINEAR_API_KEY"})
    assert mcp_config("/x.sock")["mcpServers"][SERVER_NAME]["env"] == {}
    bridge = ToolBridge(Host(), tmp_path / "tools.jsonl")
    _, [result], environ = asyncio.run(
        _through_mcp(bridge, [("issue_comment", {"body": "hi"})], env=agent_env))
    assert result.is_error is False
    assert os.environ["GITHUB_TOKEN"] == "ghp_mcp_1"
    leaked = {k for k, v in SECRETS.items() if k in environ or v in environ}
    assert leaked == set()


class DownHost(Host):
    """The forge is down: the PR lookup behind the confirming calls fails."""

    def pr_url(self) -> str | None:
        raise ForgeError("github forge: MaestroForgeFind: HTTP 503; gave up after 4 attempt(s)")


def test_a_tool_call_the_forge_failed_is_named_a_service_failure(tmp_path: Path) -> None:
    """Breaker 25 F2: the repair round then retries instead of blaming the agent."""
    bridge = ToolBridge(DownHost(), tmp_path / "tools.jsonl")
    answer = bridge.answer("issue_review_repair_complete",
                           {"pr_url": "local://origin/pulls/1", "summary": "fixed"})
    assert not answer.ok and "HTTP 503" in answer.text
    assert bridge.signals.service_failures == [
        "issue_review_repair_complete: github forge: MaestroForgeFind: HTTP 503; gave up "
        "after 4 attempt(s)"]
    assert bridge.signals.repair_complete is None
