"""One agent attempt with an ACP agent (``[agent] transport = "acp"``).

The lane contract is :func:`maestro.lanes.sessions.mcp_session.drive`'s, shared with Claude Code;
this module starts the agent once, opens one ACP session in the worktree with maestro's MCP
tools, and sends one ``session/prompt`` per turn (:mod:`maestro.agents.acp`). A repair
round loads the lane's earlier session when the agent serves ``session/load``, as a Codex
repair round resumes its thread.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from maestro.agents.acp import AcpAgent, context_used, turn_counts
from maestro.agents.appserver import RpcError
from maestro.agents.claude_code import child_env
from maestro.agents.turn_usage import plus
from maestro.errors import ConfigError
from maestro.lanes.budgets.budget_watch import BudgetWatch
from maestro.lanes.confinement.confine import sandbox_prefix
from maestro.lanes.confinement.tamper import ControlFiles
from maestro.lanes.context import LaneContext
from maestro.lanes.sessions.agent_run import SessionResult, _Activity, agent_env
from maestro.lanes.sessions.claude_session import agent_command
from maestro.lanes.sessions.mcp_session import ToolSession, drive

#: Stop reasons of a turn that ended as the agent meant it to (ACP ``StopReason``).
FINISHED = {"end_turn", "max_turn_requests"}
#: Updates that come a token at a time: liveness only, not journaled.
QUIET_UPDATES = {"agent_message_chunk", "agent_thought_chunk", "user_message_chunk",
                 "usage_update"}


async def run_acp(ctx: LaneContext, run_id: str, attempt: int, repair: bool,
                  first_input: str, activity: _Activity, tools_record: Path,
                  control: ControlFiles | None = None,
                  resume_thread: str = "",
                  budget: BudgetWatch | None = None) -> SessionResult:
    """One attempt; ``resume_thread`` (the lane's earlier session) is loaded when the agent
    serves ``session/load`` and still knows it, else a new session starts; ``budget``: the
    token ceilings, checked after each turn. A turn counts its ``PromptResponse.usage``, and
    never less than the largest context a ``usage_update`` reported in it (as prompt
    tokens): a turn that ends without a response (the agent killed, the turn timed out),
    or with one forged into the adapter's stdout, keeps that lower bound."""
    service = ctx.config.agent
    session = ToolSession(ctx, run_id, attempt, repair, tools_record, activity, control,
                          budget)

    turn_context = {"used": 0}  # the most tokens a usage_update put in the running turn

    def on_update(kind: str, fields: dict[str, Any]) -> None:
        if kind == "usage_update":
            turn_context["used"] = max(turn_context["used"], context_used(fields))
        activity.event(f"session/update {kind}")
        if kind not in QUIET_UPDATES:
            session.log(event="acp", update=kind, **fields)

    def on_permission(title: str, kind: str, why: str) -> None:
        activity.record["waiting_on"] = ""
        session.log(event="permission", title=title[:300], kind=kind, decision=why)

    def on_stderr(line: str) -> None:
        session.log(event="stderr", line=line[:2000])

    # The Claude Code variables of :func:`child_env` are harmless to other agents.
    env = child_env(agent_env(ctx, run_id, attempt), service.startup_timeout_s)
    command = agent_command(ctx, [])
    if not command:
        raise ConfigError('[agent] transport = "acp" needs [agent] command: the ACP agent '
                          "to start (e.g. claude-agent-acp)")
    agent = AcpAgent([*sandbox_prefix(ctx), *command], ctx.worktree, env, on_update,
                     on_permission, on_stderr, activity=lambda: session.relay.last_activity)
    session.stop_agent = agent.stop
    state: dict[str, str] = {}

    async def start() -> str:
        await agent.start(service.startup_timeout_s)
        state["session"] = await open_session(agent, resume_thread, str(session.relay.path),
                                              service.startup_timeout_s, session.log)
        state["instructions"] = session.instructions(ctx.tracker.get(ctx.identifier), attempt)
        return state["session"]

    async def run_turn(turn: int, text: str) -> str:
        if turn == 1:  # ACP has no system prompt: the instructions open the first turn
            text = f"{state['instructions']}\n\n{text}"
        turn_context["used"] = 0
        response = None
        try:
            response = await agent.prompt(state["session"], text, service.idle_timeout_s,
                                          service.turn_timeout_s)
        finally:  # never less than the context the turn reported (killed, or forged low)
            counts = turn_counts(response.usage if response is not None else None,
                                 turn_context["used"])
            session.tokens.update(plus(session.tokens, counts))
            activity.record["tokens"] = dict(session.tokens)
        reason = str(response.stop_reason)
        return "" if reason in FINISHED else f"the agent stopped the turn: {reason}"

    return await drive(session, first_input, start, run_turn, agent.terminate, agent.close)


async def open_session(agent: AcpAgent, resume: str, socket_path: str, timeout: float,
                       log: Callable[..., None]) -> str:
    """The session to prompt: ``resume`` loaded when given and the agent can (journaled
    ``thread_resumed``), else a new one (``thread_resume_failed`` when loading failed)."""
    if resume and agent.can_load:
        try:
            loaded = await agent.load_session(resume, socket_path, timeout)
        except RpcError as exc:
            log(event="thread_resume_failed", thread_id=resume, error=str(exc)[:500])
        else:
            log(event="thread_resumed", thread_id=loaded)
            return loaded
    return await agent.new_session(socket_path, timeout)
