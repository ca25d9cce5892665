"""The ACP transport: any Agent Client Protocol agent, driven with ``agent-client-protocol``.

``[agent] transport = "acp"`` starts ``[agent] command`` (an ACP agent or adapter, e.g.
``claude-agent-acp``) and speaks ACP on its stdio as the client:

- ``initialize`` with no file-system or terminal capability (the agent uses its own tools
  in the worktree; maestro serves no files);
- ``session/new`` in the worktree with maestro's MCP tool server (:mod:`mcp_tools`) as
  the one MCP server, relayed to the lane like every transport's tools;
- ``session/prompt`` per turn on that session (continuation turns included), each ended
  by a ``stopReason`` and, where the agent reports it, ``usage``;
- ``session/request_permission`` answered by :func:`permission_choice` (the unattended
  policy), every answer journaled;
- ``session/update`` notifications (plans, tool calls, messages, usage) journaled and
  counted as liveness for stall detection.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from maestro.agents.appserver import (
    AgentError,
    ProcessExited,
    RpcError,
    StartupError,
    turn_wait,
)
from maestro.agents.child import AgentChild
from maestro.agents.mcp_tools import SERVER_NAME, server_argv
from maestro.agents.spawn import pump_stderr, spawn
from maestro.agents.turn_usage import figure, grown

PROTOCOL_VERSION = 1
#: Tool kinds (ACP ``ToolKind``) the unattended policy allows: work inside the worktree.
#: ``fetch`` (network) and ``switch_mode`` (leaving the policy) are refused.
ALLOWED_KINDS = frozenset({"read", "edit", "delete", "move", "search", "execute", "think"})

UpdateHandler = Callable[[str, dict[str, Any]], None]
PermissionHandler = Callable[[str, str, str], None]


def permission_choice(title: str, kind: str, options: list[tuple[str, str]]
                      ) -> tuple[str | None, str]:
    """The unattended answer to a permission request: ``(option_id or None, why)``.

    ``options`` are ``(option_id, option kind)`` pairs as offered (``allow_once``,
    ``allow_always``, ``reject_once``, ``reject_always``). maestro's own MCP tools and
    tool kinds in :data:`ALLOWED_KINDS` are allowed once; anything else is rejected once.
    ``None`` (no fitting option) means the request is answered ``cancelled``."""
    ours = title.startswith(f"mcp__{SERVER_NAME}__")
    allow = ours or kind in ALLOWED_KINDS
    wanted = ("allow_once", "allow_always") if allow else ("reject_once", "reject_always")
    why = ("maestro's tool" if ours else f"kind {kind or 'unknown'}") + (
        " allowed" if allow else " refused by the unattended policy")
    for preference in wanted:
        for option_id, option_kind in options:
            if option_kind == preference:
                return option_id, why
    return None, why + " (no fitting option: cancelled)"


def error_text(exc: BaseException) -> str:
    """An agent's JSON-RPC error in words: its message and, where the agent gave them, its
    ``data`` (the ACP adapter puts the real cause there: ``{"details": "Claude Code
    process exited with code 1"}`` behind ``Internal error``), cut to 500 characters."""
    data = getattr(exc, "data", None)
    if isinstance(data, dict) and len(data) == 1 and "details" in data:
        data = data["details"]
    detail = f" ({data})" if data not in (None, "", {}, []) else ""
    return f"{exc}{detail}"[:500]


def turn_counts(usage: Any, context: int = 0) -> dict[str, int]:
    """One turn's tokens in the ledger's names: its ``PromptResponse.usage`` (None when the
    turn ended without a response), never less than ``context``, the largest context a
    ``usage_update`` reported in the turn, as prompt tokens (a forged response, or none,
    keeps that lower bound); a figure that is not a non-negative integer counts 0
    (:func:`~maestro.agents.turn_usage.figure`)."""
    reported = {} if usage is None else {
        key: figure(getattr(usage, attr, None), None) for key, attr in (
            ("inputTokens", "input_tokens"), ("outputTokens", "output_tokens"),
            ("totalTokens", "total_tokens"))}
    return grown(reported, {"inputTokens": context, "totalTokens": context} if context else {})


def context_used(fields: dict[str, Any]) -> int:
    """The tokens in the agent's context a ``usage_update`` reports (``used``; its fields as
    :class:`_PolicyClient` hands them on), 0 when absent or not a count. A model request
    sent at least that many prompt tokens: the lower bound of a turn that ends without its
    own usage."""
    text = str(fields.get("used", ""))
    return figure(int(text)) if text.isdigit() else 0


class _PolicyClient:
    """The client side the agent calls into: permissions by policy, updates journaled."""

    def __init__(self, owner: AcpAgent) -> None:
        self.owner = owner

    async def request_permission(self, session_id: str, tool_call: Any, options: list[Any],
                                 **kwargs: Any) -> Any:
        from acp.schema import AllowedOutcome, DeniedOutcome, RequestPermissionResponse

        self.owner.touch()
        title = str(getattr(tool_call, "title", "") or "")
        kind = str(getattr(tool_call, "kind", "") or "")
        choice, why = permission_choice(title, kind, [
            (str(o.option_id), str(o.kind)) for o in options])
        self.owner.on_permission(title, kind, why)
        if choice is None:
            return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))
        return RequestPermissionResponse(
            outcome=AllowedOutcome(outcome="selected", option_id=choice))

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        self.owner.touch()
        kind = str(getattr(update, "session_update", type(update).__name__))
        fields: dict[str, Any] = {}
        for name in ("title", "kind", "status", "tool_call_id", "used", "size"):
            value = getattr(update, name, None)
            if value is not None:
                fields[name] = str(value)[:300]
        entries = getattr(update, "entries", None)
        if entries:
            fields["plan"] = [f"{getattr(e, 'status', '')}: {getattr(e, 'content', '')}"[:200]
                              for e in entries]
        self.owner.on_update(kind, fields)

    async def ext_method(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        from acp import RequestError

        raise RequestError.method_not_found(method)

    async def ext_notification(self, method: str, params: dict[str, Any]) -> None:
        return None

    def on_connect(self, conn: Any) -> None:
        return None


class AcpAgent(AgentChild):
    """One ACP agent process and its connection; one prompt at a time."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str],
                 on_update: UpdateHandler, on_permission: PermissionHandler,
                 on_stderr: Callable[[str], None],
                 activity: Callable[[], float] = lambda: 0.0) -> None:
        super().__init__()
        self.argv = argv
        self.cwd = cwd
        self.env = env
        self.on_update = on_update
        self.on_permission = on_permission
        self.on_stderr = on_stderr
        self.activity = activity
        self.conn: Any = None
        self.can_load = False  # the agent serves session/load (from initialize)
        self.last_update = time.monotonic()
        self._stderr_task: asyncio.Task[None] | None = None

    def touch(self) -> None:
        self.last_update = time.monotonic()

    async def start(self, timeout: float) -> None:
        from acp import ClientSideConnection
        from acp.schema import ClientCapabilities, Implementation

        from maestro import __version__

        try:
            self.process = await spawn(self.argv, self.cwd, self.env)
        except (OSError, ValueError) as exc:
            raise StartupError(f"cannot start agent {self.argv[0]!r}: {exc}") from None
        assert self.process.stdin is not None and self.process.stdout is not None
        self._stderr_task = asyncio.create_task(self._read_stderr())
        self.conn = ClientSideConnection(_PolicyClient(self), self.process.stdin,
                                         self.process.stdout)
        response = await self._call(self.conn.initialize(
            protocol_version=PROTOCOL_VERSION, client_capabilities=ClientCapabilities(),
            client_info=Implementation(name="maestro", title="maestro", version=__version__)),
            timeout, "initialize")
        capabilities = getattr(response, "agent_capabilities", None)
        self.can_load = bool(getattr(capabilities, "load_session", False))

    @staticmethod
    def _server(socket_path: str) -> Any:
        from acp.schema import McpServerStdio

        argv = server_argv(socket_path)
        return McpServerStdio(name=SERVER_NAME, command=argv[0], args=argv[1:], env=[])

    async def new_session(self, socket_path: str, timeout: float) -> str:
        response = await self._call(self.conn.new_session(
            cwd=str(self.cwd), mcp_servers=[self._server(socket_path)]), timeout, "session/new")
        return str(response.session_id)

    async def load_session(self, session_id: str, socket_path: str, timeout: float) -> str:
        """Continue an earlier session (``session/load``, for agents with ``loadSession``);
        :class:`RpcError` when the agent does not know it. The agent replays its history
        as ``session/update`` notifications first."""
        await self._call(self.conn.load_session(
            cwd=str(self.cwd), session_id=session_id,
            mcp_servers=[self._server(socket_path)]), timeout, "session/load")
        return session_id

    async def prompt(self, session_id: str, text: str, idle_timeout: float,
                     turn_timeout: float) -> Any:
        """One turn; stalls when neither an update nor a relayed tool call comes."""
        from acp import text_block

        self.touch()
        started = time.monotonic()
        task = asyncio.ensure_future(self.conn.prompt(session_id=session_id,
                                                      prompt=[text_block(text)]))
        ends = self._ends()
        try:
            while True:
                wait = turn_wait(time.monotonic(), started,
                                 max(self.last_update, self.activity()), idle_timeout,
                                 turn_timeout, "agent update")
                done, _ = await asyncio.wait({task, *ends}, timeout=wait,
                                             return_when=asyncio.FIRST_COMPLETED)
                if task in done:
                    return self._result(task, "session/prompt")
                self._raise_if_ended()
        finally:
            for end in ends:
                end.cancel()
            if not task.done():
                task.cancel()

    async def _call(self, awaitable: Any, timeout: float, what: str) -> Any:
        task = asyncio.ensure_future(awaitable)
        ends = self._ends()
        try:
            done, _ = await asyncio.wait({task, *ends}, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            for end in ends:
                end.cancel()
        if task in done:
            return self._result(task, what)
        task.cancel()
        self._raise_if_ended()
        raise StartupError(f"no answer to {what} within {timeout:g}s")

    def _ends(self) -> list[asyncio.Future[Any]]:
        """Waiters that end any wait early: a stop (SIGTERM, a decisive refusal) or the
        agent's exit (the connection alone may never notice it)."""
        assert self.process is not None
        return [asyncio.ensure_future(self._fatal_event.wait()),
                asyncio.ensure_future(self.process.wait())]

    def _raise_if_ended(self) -> None:
        if self._fatal is not None:
            raise self._fatal
        if self.process is not None and self.process.returncode is not None:
            raise ProcessExited(f"agent exited with code {self.process.returncode}")

    def _result(self, task: asyncio.Future[Any], what: str) -> Any:
        try:
            return task.result()
        except AgentError:
            raise
        except Exception as exc:
            if self.process is not None and self.process.returncode is not None:
                raise ProcessExited(f"agent exited with code {self.process.returncode} "
                                    f"during {what}") from None
            raise RpcError(f"{what} failed: {error_text(exc)}") from None

    async def close(self) -> None:
        self.kill()
        if self.conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.conn.close(), 2.0)
        if self.process is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.process.wait(), 5.0)
        if self._stderr_task is not None:
            self._stderr_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._stderr_task

    async def _read_stderr(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        await pump_stderr(self.process.stderr, self.on_stderr)
