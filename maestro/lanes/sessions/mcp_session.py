"""What every lane session with the issue tools over MCP shares (Claude Code, ACP).

The transport gives two things: ``start()`` (start the agent or its session, return the
thread/session id) and ``run_turn(turn, text)`` (one turn, returning the failure reason or
``""``). :func:`drive` does the rest exactly as the app-server session does: the tools
relayed to this lane's :class:`~maestro.agents.tools.ToolBridge` (a decisive refusal stops
the agent at once), the turns judged one after another with a look at the issue before each
further turn, the turn records, SIGTERM, the journal and the token ledger.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from maestro.agents.appserver import AgentError
from maestro.agents.mcp_tools import SERVER_NAME
from maestro.agents.tool_relay import ToolRelay
from maestro.agents.tools import (
    TOOL_CONTRACT,
    SessionStopped,
    ToolAnswer,
    ToolBridge,
    Verdict,
    judge,
)
from maestro.fsutil import BoundedJournal
from maestro.ids import iso_now
from maestro.lanes.budgets.budget_watch import BudgetWatch
from maestro.lanes.confinement.tamper import ControlFiles
from maestro.lanes.context import LaneContext
from maestro.lanes.guard import agent_asked_for_human
from maestro.lanes.sessions.agent_run import (
    SessionResult,
    _Activity,
    next_turn_input,
    record_end,
    settle,
)
from maestro.lanes.sessions.host import LaneToolHost
from maestro.model import Issue

MCP_NOTE = (f"\nIn this session the tools above are MCP tools of the server "
            f"{SERVER_NAME!r}: issue_comment is mcp__{SERVER_NAME}__issue_comment, and so on.\n")


class ToolSession:
    """The lane side of one session: host, bridge, relay, journal, tokens."""

    def __init__(self, ctx: LaneContext, run_id: str, attempt: int, repair: bool,
                 tools_record: Path, activity: _Activity,
                 control: ControlFiles | None = None,
                 budget: BudgetWatch | None = None) -> None:
        self.ctx = ctx
        #: Token ceilings: these transports report usage when a turn ends, so a ceiling
        #: reached ends the session before its next turn (no mid-turn interrupt).
        self.budget = budget
        self.repair = repair
        self.activity = activity
        self.host = LaneToolHost(ctx, run_id, attempt, repair=repair, control=control)
        self.host.attention_added = agent_asked_for_human(tools_record,
                                                          self.host.needs_attention_label)
        self.turns_dir = tools_record.parent / (
            tools_record.name.removesuffix("tools.jsonl") + "turns")
        self.journal = BoundedJournal(ctx.state.path("journal.jsonl"))
        self.failed_calls: list[str] = []
        self.bridge = ToolBridge(self.host, tools_record, repair=repair, on_call=self._on_call,
                                 lost=ctx.state.lost)
        self.relay = ToolRelay(self._answer)
        self.tokens: dict[str, int] = {}
        #: Set by the transport: stops the agent at once with the given error.
        self.stop_agent: Callable[[AgentError], None] = lambda error: None

    def log(self, **fields: Any) -> None:
        if not self.ctx.state.lost_lately():  # a replaced folder's journal is its successor's
            self.journal.write({"at": iso_now(), **fields})

    def _on_call(self, name: str, ok: bool, text: str) -> None:
        if not ok:
            self.failed_calls.append(f"{name}: {text[:500]}")
        self.log(event="tool", tool=name, ok=ok, result=text[:500])

    def _answer(self, name: str, arguments: Any) -> ToolAnswer:
        answer = self.bridge.answer(name, arguments)
        if self.bridge.signals.stop:  # refused, and decisive: the session ends here
            self.stop_agent(SessionStopped(self.bridge.signals.stop))
        return answer

    def instructions(self, issue: Issue, attempt: int) -> str:
        policy = self.ctx.workflow.policy
        contract = TOOL_CONTRACT.format(attention=policy.tracker.needs_attention_label)
        return self.ctx.workflow.developer_instructions(self.ctx.config.repo_root, issue,
                                                       contract + MCP_NOTE, attempt)


Start = Callable[[], Awaitable[str]]
RunTurn = Callable[[int, str], Awaitable[str]]


async def drive(session: ToolSession, first_input: str, start: Start, run_turn: RunTurn,
                terminate: Callable[[str], None],
                close: Callable[[], Awaitable[None]]) -> SessionResult:
    """Run the session's turns; ``run_turn`` returns ``""`` or why the turn failed."""
    ctx, bridge, activity = session.ctx, session.bridge, session.activity
    result = SessionResult(verdict=Verdict("invalid", "no turn ran"))
    loop = asyncio.get_running_loop()
    previous_term = signal.getsignal(signal.SIGTERM)
    loop.add_signal_handler(signal.SIGTERM, terminate, "maestro received SIGTERM")
    try:
        await session.relay.start()
        thread_id = await start()
        activity.record["thread_id"] = result.thread_id = thread_id
        max_turns = ctx.workflow.policy.execution.max_turns
        text = first_input
        for turn in range(1, max_turns + 1):
            before = dict(session.tokens)
            activity.record["turn_id"] = f"{thread_id}/{turn}"
            failed = await run_turn(turn, text)
            activity.record["tokens"] = dict(session.tokens)
            result.turns = turn
            session.ctx.state.write_record(session.turns_dir / f"{turn:04d}.json", {
                "turn": turn, "thread_id": thread_id, "turn_id": f"{thread_id}/{turn}",
                "status": "failed" if failed else "completed",
                "tokens": dict(session.tokens),
                "turn_tokens": {k: v - before.get(k, 0) for k, v in session.tokens.items()},
                "finished_at": iso_now(), "signals": bridge.signals.as_dict()})
            if session.budget is not None:
                session.budget.observe(session.tokens, running=False)
            if failed:
                session.log(event="turn_failed", status="failed", reason=failed)
                result.verdict = Verdict("invalid", f"turn failed: {failed}")
                result.error_class = "turn_failed"
                break
            verdict = judge(bridge.signals, repair=session.repair)
            result.verdict = verdict
            if verdict.kind != "continue" or (session.budget is not None
                                               and session.budget.breach is not None):
                break
            next_text = next_turn_input(session.host, bridge, result, turn, max_turns)
            if next_text is None:
                break
            text = next_text
        else:
            result.verdict = Verdict("invalid", f"no terminal signal after {max_turns} turns")
            result.error_class = "turns_exhausted"
    except AgentError as exc:
        result.verdict = Verdict("invalid", str(exc))
        result.error_class = exc.error_class
        result.retryable = exc.retryable
    finally:
        await close()
        await session.relay.close()
        loop.remove_signal_handler(signal.SIGTERM)
        signal.signal(signal.SIGTERM, previous_term)
        record_end(ctx, session.journal, activity, session.tokens)
    return settle(result, bridge, session.failed_calls, session.tokens, session.budget)
