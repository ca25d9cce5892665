"""One agent attempt with Claude Code (``[agent] transport = "claude-code"``).

The lane contract is :func:`maestro.lanes.sessions.mcp_session.drive`'s, shared with ACP; this
module starts one ``claude -p`` per turn on one session (:mod:`maestro.agents.claude_code`)
and reads the permission denials off each turn's ``result``. Tokens are counted as each
event arrives (:mod:`maestro.agents.turn_usage`), so the lane's heartbeat and ledger hold a
turn's spend even when the turn never ends, and the token ceilings are checked after every
model request: the first that is reached stops the turn at once (Claude Code has no
interrupt of its own).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from maestro.agents.claude_code import (
    DEFAULT_COMMAND,
    ClaudeCodeClient,
    TurnResult,
    child_env,
    claude_argv,
)
from maestro.agents.claude_resume import resume_unknown, session_to_resume
from maestro.agents.mcp_tools import SERVER_NAME, mcp_config
from maestro.agents.turn_usage import plus
from maestro.config.service import SCRIPTED_AGENT
from maestro.lanes.budgets.budget_watch import BudgetReached, BudgetWatch
from maestro.lanes.confinement.confine import sandbox_prefix
from maestro.lanes.confinement.tamper import ControlFiles
from maestro.lanes.context import LaneContext
from maestro.lanes.sessions.agent_run import SessionResult, _Activity, agent_env
from maestro.lanes.sessions.mcp_session import ToolSession, drive


def agent_command(ctx: LaneContext, default: list[str]) -> list[str]:
    """``default`` unless the operator named a command (e.g. with ``--model``)."""
    service = ctx.config.agent
    return list(default) if service.command == SCRIPTED_AGENT else service.argv()


async def run_claude(ctx: LaneContext, run_id: str, attempt: int, repair: bool,
                     first_input: str, activity: _Activity, tools_record: Path,
                     control: ControlFiles | None = None,
                     resume_thread: str = "",
                     budget: BudgetWatch | None = None) -> SessionResult:
    """One attempt; ``resume_thread`` (the lane's earlier session) is continued when Claude
    Code still has it (:mod:`maestro.agents.claude_resume`), else a new session starts;
    ``budget``: the token ceilings, checked after each model request."""
    service = ctx.config.agent
    session = ToolSession(ctx, run_id, attempt, repair, tools_record, activity, control,
                          budget)
    before_turn: dict[str, int] = {}  # the session's tokens before the running turn

    def count_tokens() -> None:
        """The session's tokens: the turns before, plus the running turn's so far."""
        now = plus(before_turn, client.usage.counts())
        session.tokens.clear()
        session.tokens.update(now)
        activity.record["tokens"] = dict(now)
        if budget is not None and budget.breach is None:
            budget.observe(now, running=False)
            if budget.breach is not None:
                budget.turn_stopped(str(activity.record.get("turn_id") or ""))
                client.stop(BudgetReached(budget.breach.describe()))

    def on_event(kind: str, event: dict[str, Any]) -> None:
        count_tokens()
        activity.event(kind, force=kind in ("system/init", "result"))
        session.log(event="claude", type=kind)
        if kind == "system/init":
            servers = {s.get("name"): s.get("status") for s in event.get("mcp_servers") or []
                       if isinstance(s, dict)}
            session.log(event="mcp_status", servers=servers)
            if servers.get(SERVER_NAME) != "connected":
                session.log(event="agent_error", error=f"maestro's MCP tools are "
                                                       f"{servers.get(SERVER_NAME) or 'absent'}")
        elif kind == "system/api_retry":
            session.log(event="agent_error", error=str(event.get("error", ""))[:500])

    def on_stderr(line: str) -> None:
        session.log(event="stderr", line=line[:2000])

    env = child_env(agent_env(ctx, run_id, attempt), service.startup_timeout_s)
    client = ClaudeCodeClient(ctx.worktree, env, on_event, on_stderr,
                              activity=lambda: session.relay.last_activity)
    session.stop_agent = client.stop
    session_id = session_to_resume(resume_thread) or str(uuid.uuid4())
    resuming = session_id == session_to_resume(resume_thread)
    state: dict[str, Any] = {}

    async def start() -> str:
        state["instructions"] = session.instructions(ctx.tracker.get(ctx.identifier), attempt)
        state["command"] = [*sandbox_prefix(ctx), *agent_command(ctx, DEFAULT_COMMAND)]
        return session_id

    async def one_turn(text: str, resume: bool) -> TurnResult:
        argv = claude_argv(state["command"], mcp_config(str(session.relay.path)),
                           state["instructions"], session_id, resume=resume)
        return await client.run_turn(argv, text, service.idle_timeout_s,
                                     service.turn_timeout_s)

    async def run_turn(turn: int, text: str) -> str:
        before_turn.clear()
        before_turn.update(session.tokens)
        try:
            result = await one_turn(text, resume=turn > 1 or resuming)
            if turn == 1 and resuming:
                if resume_unknown(result.event):
                    session.log(event="thread_resume_failed", thread_id=session_id,
                                error=str(result.event.get("errors"))[:500])
                    count_tokens()
                    before_turn.update(session.tokens)  # the failed resume's request too
                    result = await one_turn(text, resume=False)
                else:
                    session.log(event="thread_resumed", thread_id=session_id)
        finally:
            count_tokens()  # what the process printed after its result, or before it died
        for denied in result.denials:
            session.log(event="approval_declined", method=f"claude permission: {denied}")
        if result.is_error:
            return result.text or "the turn ended in error"
        return ""

    async def close() -> None:
        client.kill()

    return await drive(session, first_input, start, run_turn, client.terminate, close)
