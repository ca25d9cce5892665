"""The Claude Code transport: one headless ``claude -p`` process per turn, on one session.

``[agent] transport = "claude-code"`` drives ``claude`` (the ``[agent] command``, ``claude``
when left at the scripted default) with streamed JSON in and out::

    claude -p --input-format stream-json --output-format stream-json --verbose
        --mcp-config '{"mcpServers": {"maestro": …}}' --strict-mcp-config
        --permission-mode acceptEdits --allowedTools Bash,Edit,…,mcp__maestro__issue_comment,…
        --append-system-prompt <workflow instructions + tool contract>
        (--session-id <uuid> | --resume <uuid>)

- **Tools**: maestro's issue tools come from the MCP server of
  :mod:`maestro.agents.mcp_tools`, which the agent starts as its command line says
  (``--mcp-config`` given the JSON itself: a file would be read again by every turn's
  process, and any process of the same user could rewrite it in between); no other MCP
  server is loaded (``--strict-mcp-config``).
- **Unattended permissions**: ``acceptEdits`` lets the agent edit files under its working
  folder (the worktree) only; the shell and maestro's tools are pre-approved by
  ``--allowedTools``; anything else is denied without asking (``-p`` never prompts) and
  listed in the turn's ``permission_denials``. No ``bypassPermissions``: it is refused as
  root and would lift the worktree limit.
- **Continuation**: maestro picks the session id for the first turn (``--session-id``) and
  resumes it for every further turn (``--resume``): the history is Claude Code's own,
  stored under ``$CLAUDE_CONFIG_DIR`` (or ``$HOME/.claude``) for the worktree.
- **Stall detection**: a turn with no event on stdout and no tool call through the relay
  for ``idle_timeout_s`` is :class:`~maestro.agents.appserver.Stalled`.
- **Token usage**: counted while the turn runs, from each model request's usage in the
  ``assistant`` events, and raised, never lowered, by the ``result`` event's ``usage`` for
  the turn (:class:`~maestro.agents.turn_usage.TurnUsage`, ``usage`` of the client: a
  killed turn counts what it spent, a forged ``result`` cannot lower the count); what
  the process prints after its ``result`` until it exits counts too. The session's totals
  are the sum over its turns.

The process of a turn gets one user message on stdin, then stdin closes; the turn ends
with the ``result`` event and the process exits. Events are one JSON object per line:
``system`` (``init`` with ``session_id``, ``mcp_servers``, ``tools``; ``api_retry``),
``assistant``, ``user`` (tool results), ``result``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maestro.agents.appserver import (
    MalformedLine,
    ProcessExited,
    StartupError,
    turn_wait,
)
from maestro.agents.child import AgentChild
from maestro.agents.mcp_tools import mcp_tool_names
from maestro.agents.spawn import LINE_LIMIT, pump_stderr, spawn
from maestro.agents.turn_usage import TurnUsage
from maestro.fsutil import parse_json

DEFAULT_COMMAND = ["claude"]
PERMISSION_MODE = "acceptEdits"
#: Claude Code's own tools an unattended lane pre-approves; web access is not among them.
ALLOWED_BUILTINS = ("Bash", "Edit", "MultiEdit", "Write", "Read", "Glob", "Grep", "LS",
                    "NotebookEdit", "TodoWrite")
#: Always set for the child: no telemetry, no update checks, no network but the model's;
#: and the MCP servers connected before the first model request, so maestro's tools are
#: offered from the first step (by default Claude Code connects them in the background and
#: then waits 5 s at most; see :func:`child_env` for the wait).
CHILD_ENV = {"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1",
             "MCP_CONNECTION_NONBLOCKING": "0"}
EXIT_GRACE_S = 5.0

EventHandler = Callable[[str, dict[str, Any]], None]


def child_env(env: dict[str, str], startup_timeout: float) -> dict[str, str]:
    """The agent's environment plus :data:`CHILD_ENV`; ``startup_timeout`` (seconds) bounds
    the wait for the MCP tools to connect (``MCP_CONNECT_TIMEOUT_MS``, ``MCP_TIMEOUT``)."""
    millis = str(int(startup_timeout * 1000))
    return {**env, **CHILD_ENV, "MCP_CONNECT_TIMEOUT_MS": millis, "MCP_TIMEOUT": millis}


def claude_argv(command: list[str], mcp_config: dict[str, Any], instructions: str,
                session_id: str, resume: bool) -> list[str]:
    """The argv of one turn; ``mcp_config`` (:func:`~maestro.agents.mcp_tools.mcp_config`)
    goes on the command line as JSON; ``resume`` continues ``session_id`` instead of
    starting it."""
    allowed = ",".join([*ALLOWED_BUILTINS, *mcp_tool_names()])
    return [*command, "-p", "--input-format", "stream-json", "--output-format", "stream-json",
            "--verbose", "--mcp-config", json.dumps(mcp_config), "--strict-mcp-config",
            "--permission-mode", PERMISSION_MODE, "--allowedTools", allowed,
            "--append-system-prompt", instructions,
            "--resume" if resume else "--session-id", session_id]


def user_message(text: str) -> bytes:
    """One turn's input line for ``--input-format stream-json``."""
    return (json.dumps({"type": "user", "message": {
        "role": "user", "content": [{"type": "text", "text": text}]}}) + "\n").encode()


@dataclass
class TurnResult:
    """The ``result`` event of a turn, with what maestro reads from it."""

    event: dict[str, Any]
    session_id: str = ""
    is_error: bool = False
    text: str = ""
    denials: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, event: dict[str, Any]) -> TurnResult:
        denials = [str(d.get("tool_name", d)) if isinstance(d, dict) else str(d)
                   for d in event.get("permission_denials") or []]
        return cls(event=event, session_id=str(event.get("session_id", "")),
                   is_error=bool(event.get("is_error")) or event.get("subtype") != "success",
                   text=str(event.get("result", ""))[:2000], denials=denials)


class ClaudeCodeClient(AgentChild):
    """Runs turns as ``claude -p`` processes; one process at a time.

    ``activity()`` returns the monotonic time of the last tool call seen elsewhere (the
    relay), which also counts as liveness."""

    def __init__(self, cwd: Path, env: dict[str, str], on_event: EventHandler,
                 on_stderr: Callable[[str], None],
                 activity: Callable[[], float] = lambda: 0.0) -> None:
        super().__init__()
        self.cwd = cwd
        self.env = env
        self.on_event = on_event
        self.on_stderr = on_stderr
        self.activity = activity
        self.last_line = time.monotonic()
        #: the running turn's tokens, read by ``on_event`` as each event arrives
        self.usage = TurnUsage()

    # -- stopping --------------------------------------------------------------------------


    # -- one turn --------------------------------------------------------------------------

    async def run_turn(self, argv: list[str], text: str, idle_timeout: float,
                       turn_timeout: float) -> TurnResult:
        if self._fatal is not None:
            raise self._fatal
        try:
            self.process = await spawn(argv, self.cwd, self.env)
        except (OSError, ValueError) as exc:
            raise StartupError(f"cannot start agent {argv[0]!r}: {exc}") from None
        process = self.process
        self.usage = TurnUsage()
        assert process.stdin is not None and process.stdout is not None
        stderr_task = asyncio.create_task(self._read_stderr())
        try:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                process.stdin.write(user_message(text))
                await process.stdin.drain()
                process.stdin.close()
            result = await self._read_until_result(process.stdout, idle_timeout, turn_timeout)
            try:
                await asyncio.wait_for(self._drain(process.stdout), EXIT_GRACE_S)
                await asyncio.wait_for(process.wait(), EXIT_GRACE_S)
            except TimeoutError:
                self.kill()
            return result
        except BaseException:
            self.kill()
            raise
        finally:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), EXIT_GRACE_S)
            stderr_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await stderr_task

    async def _read_until_result(self, stream: asyncio.StreamReader, idle_timeout: float,
                                 turn_timeout: float) -> TurnResult:
        started = self.last_line = time.monotonic()
        fatal = asyncio.ensure_future(self._fatal_event.wait())
        pending: asyncio.Task[bytes] | None = None
        try:
            while True:
                wait = turn_wait(time.monotonic(), started,
                                 max(self.last_line, self.activity()), idle_timeout,
                                 turn_timeout, "agent event")
                if pending is None:
                    pending = asyncio.ensure_future(stream.readline())
                done, _ = await asyncio.wait({pending, fatal}, timeout=wait,
                                             return_when=asyncio.FIRST_COMPLETED)
                if self._fatal is not None:
                    raise self._fatal
                if pending not in done:
                    continue
                try:
                    raw = pending.result()
                except ValueError:
                    raise MalformedLine(f"agent sent a line longer than {LINE_LIMIT} bytes"
                                        ) from None
                pending = None
                if not raw:
                    code = await self._exit_code()
                    raise ProcessExited(f"claude exited with code {code} before the turn's "
                                        "result")
                event = self._parse(raw)
                if event is None:
                    continue
                self.last_line = time.monotonic()
                self.usage.see(event)
                kind = str(event.get("type", ""))
                subtype = event.get("subtype")
                self.on_event(f"{kind}/{subtype}" if subtype else kind, event)
                if kind == "result":
                    return TurnResult.of(event)
        finally:
            fatal.cancel()
            if pending is not None:
                pending.cancel()

    async def _drain(self, stream: asyncio.StreamReader) -> None:
        """Read what the process prints after its ``result`` until it closes stdout: a
        ``result`` line from another process of the agent may have come first, while the
        real turn goes on (the caller bounds the wait), so its events are still counted and
        handed on (``on_event``: the token ceilings are still checked)."""
        while True:
            try:
                raw = await stream.readline()
            except ValueError:  # an over-long line: skipped
                continue
            if not raw:
                return
            with contextlib.suppress(MalformedLine):
                event = self._parse(raw)
                if event is not None:
                    self.usage.see(event)
                    kind, subtype = str(event.get("type", "")), event.get("subtype")
                    self.on_event(f"{kind}/{subtype}" if subtype else kind, event)

    async def _exit_code(self) -> int | None:
        assert self.process is not None
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(self.process.wait(), EXIT_GRACE_S)
        return None

    @staticmethod
    def _parse(raw: bytes) -> dict[str, Any] | None:
        line = raw.strip()
        if not line:
            return None
        try:
            event = parse_json(line)
        except ValueError:
            preview = line[:120].decode(errors="replace")
            raise MalformedLine(f"claude sent a line that is not JSON: {preview!r}") from None
        if not isinstance(event, dict):
            raise MalformedLine("claude sent a JSON line that is not an object")
        return event

    async def _read_stderr(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        await pump_stderr(self.process.stderr, self.on_stderr)
