"""One agent attempt with Claude Code (``[agent] transport = "claude-code"``).

The same lane contract as the app-server session of :mod:`maestro.lanes.agent_run`: the
issue tools bound to this lane (served over MCP and relayed to this process's
:class:`~maestro.agents.tools.ToolBridge`, so refusals, journal and idempotency are the
same), turns judged after each other until exactly one terminal signal, a look at the issue
again before every further turn, stall detection, the token ledger, and a stop at once on
a decisive refusal or SIGTERM. The transport itself is :mod:`maestro.agents.claude_code`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import uuid
from pathlib import Path
from typing import Any

from maestro.agents.appserver import AgentError
from maestro.agents.claude_code import (
    DEFAULT_COMMAND,
    ClaudeCodeClient,
    add_usage,
    child_env,
    claude_argv,
)
from maestro.agents.mcp_tools import SERVER_NAME, mcp_config
from maestro.agents.tool_relay import ToolRelay
from maestro.agents.tools import (
    TOOL_CONTRACT,
    SessionStopped,
    StopSession,
    ToolAnswer,
    ToolBridge,
    Verdict,
    judge,
)
from maestro.config.service import SCRIPTED_AGENT
from maestro.fsutil import BoundedJournal, write_json
from maestro.ids import iso_now
from maestro.lanes import tokens as token_ledger
from maestro.lanes.agent_run import (
    SessionResult,
    _Activity,
    agent_env,
    continuation_prompt,
    settle,
)
from maestro.lanes.confine import sandbox_prefix
from maestro.lanes.context import LaneContext
from maestro.lanes.guard import agent_asked_for_human
from maestro.lanes.host import LaneToolHost
from maestro.lanes.tamper import ControlFiles

MCP_NOTE = (f"\nIn this session the tools above are MCP tools of the server "
            f"{SERVER_NAME!r}: issue_comment is mcp__{SERVER_NAME}__issue_comment, and so on.\n")


def _command(ctx: LaneContext) -> list[str]:
    """``claude`` unless the operator named another command (e.g. with ``--model``)."""
    service = ctx.config.agent
    return list(DEFAULT_COMMAND) if service.command == SCRIPTED_AGENT else service.argv()


async def run_claude(ctx: LaneContext, run_id: str, attempt: int, repair: bool,
                     first_input: str, activity: _Activity, tools_record: Path,
                     control: ControlFiles | None = None) -> SessionResult:
    service = ctx.config.agent
    policy = ctx.workflow.policy
    host = LaneToolHost(ctx, run_id, attempt, repair=repair, control=control)
    host.attention_added = agent_asked_for_human(tools_record, host.needs_attention_label)
    turns_dir = tools_record.parent / (tools_record.name.removesuffix("tools.jsonl") + "turns")
    journal_handle = BoundedJournal(ctx.state.path("journal.jsonl"))

    def log(**fields: Any) -> None:
        journal_handle.write({"at": iso_now(), **fields})

    failed_calls: list[str] = []

    def on_call(name: str, ok: bool, text: str) -> None:
        if not ok:
            failed_calls.append(f"{name}: {text[:500]}")
        log(event="tool", tool=name, ok=ok, result=text[:500])

    bridge = ToolBridge(host, tools_record, repair=repair, on_call=on_call)
    tokens: dict[str, int] = {}

    def on_event(kind: str, event: dict[str, Any]) -> None:
        activity.event(kind, force=kind in ("system/init", "result"))
        log(event="claude", type=kind)
        if kind == "system/init":
            servers = {s.get("name"): s.get("status") for s in event.get("mcp_servers") or []
                       if isinstance(s, dict)}
            if servers.get(SERVER_NAME) != "connected":
                log(event="agent_error", error=f"maestro's MCP tools are "
                                               f"{servers.get(SERVER_NAME) or 'absent'}")
            log(event="mcp_status", servers=servers)
        elif kind == "system/api_retry":
            log(event="agent_error", error=str(event.get("error", ""))[:500])

    def on_stderr(line: str) -> None:
        log(event="stderr", line=line[:2000])

    env = child_env(agent_env(ctx, run_id, attempt), service.startup_timeout_s)
    client = ClaudeCodeClient(ctx.worktree, env, on_event, on_stderr)

    def answer(name: str, arguments: Any) -> ToolAnswer:
        given = bridge.answer(name, arguments)
        if bridge.signals.stop:  # refused, and decisive: the session ends here
            client.stop(SessionStopped(bridge.signals.stop))
        return given

    relay = ToolRelay(answer)
    client.activity = lambda: relay.last_activity
    result = SessionResult(verdict=Verdict("invalid", "no turn ran"))
    loop = asyncio.get_running_loop()
    previous_term = signal.getsignal(signal.SIGTERM)
    loop.add_signal_handler(signal.SIGTERM, client.terminate, "maestro received SIGTERM")
    session_id = str(uuid.uuid4())
    activity.record["thread_id"] = result.thread_id = session_id
    try:
        await relay.start()
        config_path = relay.folder / "mcp.json"
        config_path.write_text(json.dumps(mcp_config(str(relay.path))))
        issue = ctx.tracker.get(ctx.identifier)
        instructions = ctx.workflow.developer_instructions(
            ctx.config.repo_root, issue,
            TOOL_CONTRACT.format(attention=policy.tracker.needs_attention_label) + MCP_NOTE,
            attempt)
        command = [*sandbox_prefix(ctx), *_command(ctx)]
        max_turns = policy.execution.max_turns
        text = first_input
        for turn in range(1, max_turns + 1):
            before = dict(tokens)
            argv = claude_argv(command, config_path, instructions, session_id, resume=turn > 1)
            activity.record["turn_id"] = f"{session_id}/{turn}"
            turn_result = await client.run_turn(argv, text, service.idle_timeout_s,
                                                service.turn_timeout_s)
            add_usage(tokens, turn_result.event.get("usage"))
            activity.record["tokens"] = dict(tokens)
            for denied in turn_result.denials:
                log(event="approval_declined", method=f"claude permission: {denied}")
            result.turns = turn
            status = "failed" if turn_result.is_error else "completed"
            write_json(turns_dir / f"{turn:04d}.json", {
                "turn": turn, "thread_id": session_id, "turn_id": f"{session_id}/{turn}",
                "status": status, "tokens": dict(tokens),
                "turn_tokens": {k: v - before.get(k, 0) for k, v in tokens.items()},
                "finished_at": iso_now(), "signals": bridge.signals.as_dict()})
            if turn_result.is_error:
                log(event="turn_failed", status=status, reason=turn_result.text)
                result.verdict = Verdict("invalid", f"turn failed: {turn_result.text}")
                result.error_class = "turn_failed"
                break
            verdict = judge(bridge.signals, repair=repair)
            result.verdict = verdict
            if verdict.kind != "continue":
                break
            try:
                issue = host.look_again()  # a person may have stopped the lane meanwhile
            except StopSession as exc:
                bridge.signals.stop = f"another turn: {exc}"
                result.verdict = Verdict("invalid", str(exc))
                result.error_class, result.retryable = SessionStopped.error_class, False
                break
            text = continuation_prompt(issue, turn + 1, max_turns)
        else:
            result.verdict = Verdict("invalid", f"no terminal signal after {max_turns} turns")
            result.error_class = "turns_exhausted"
    except AgentError as exc:
        result.verdict = Verdict("invalid", str(exc))
        result.error_class = exc.error_class
        result.retryable = exc.retryable
    finally:
        client.kill()
        await relay.close()
        loop.remove_signal_handler(signal.SIGTERM)
        signal.signal(signal.SIGTERM, previous_term)
        with contextlib.suppress(OSError):
            journal_handle.close()
            activity.record["tokens"] = dict(tokens)
            activity.flush()
        with contextlib.suppress(OSError):
            token_ledger.record_session(ctx.state, activity.record)
    return settle(result, bridge, failed_calls, tokens)
