"""One agent attempt: start the app-server child, run turns on one thread, judge the result.

The same code drives the real ``codex app-server`` and the scripted agent. After every turn
the signals the agent declared through the tools are judged (SPEC-NOTES §2); no terminal
signal means another turn while the budget and the issue allow it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maestro import __version__
from maestro.agents.appserver import AgentError, AppServerClient, HumanInputRequired
from maestro.agents.launch import agent_argv
from maestro.agents.server_errors import ServerErrors
from maestro.agents.threads import open_thread
from maestro.agents.tools import (
    TOOL_CONTRACT,
    SessionStopped,
    StopSession,
    ToolBridge,
    Verdict,
    dynamic_tools,
    judge,
)
from maestro.agents.turn_usage import capped_growth, figure, grown
from maestro.agents.usage import THREAD_USAGE, SessionUsage
from maestro.containment import reaper
from maestro.containment.childenv import child_env
from maestro.errors import LaneLostError
from maestro.fsutil import BoundedJournal
from maestro.ids import iso_now, utc_now
from maestro.lanes.budgets import tokens as token_ledger
from maestro.lanes.budgets.budget import BUDGET_EXCEEDED
from maestro.lanes.budgets.budget_watch import BudgetWatch, watch_for
from maestro.lanes.confinement.confine import sandbox_prefix
from maestro.lanes.confinement.tamper import ControlFiles, refuse_tampering
from maestro.lanes.context import LaneContext
from maestro.lanes.failures import real_cause
from maestro.lanes.guard import agent_asked_for_human
from maestro.lanes.sessions.host import LaneToolHost
from maestro.lanes.sessions.transcript import item_record
from maestro.lanes.worktree import hooks
from maestro.lanes.worktree.worktree_guard import recorded_session
from maestro.model import Issue
from maestro.observability import logs
from maestro.process import faults

ACTIVITY_MIN_INTERVAL_S = 0.25
#: Unattended policy: every approval request is declined, each in the shape its schema
#: (``codex app-server generate-json-schema``) defines, so the turn goes on without a person.
#: The v2 requests take ``decline`` (the agent continues the turn); the legacy ones take a
#: ``denied`` object with a reason; a permissions request is declined by granting nothing.
DECLINE_REASON = "unattended maestro run: approvals are declined; work within the sandbox"
APPROVAL_DECLINES: dict[str, dict[str, Any]] = {
    "item/commandExecution/requestApproval": {"decision": "decline"},
    "item/fileChange/requestApproval": {"decision": "decline"},
    "item/permissions/requestApproval": {"permissions": {}, "scope": "turn"},
    "execCommandApproval": {"decision": {"denied": {"rejection": DECLINE_REASON}}},
    "applyPatchApproval": {"decision": {"denied": {"rejection": DECLINE_REASON}}},
}
APPROVAL_METHODS = set(APPROVAL_DECLINES)
HUMAN_INPUT_METHODS = {"item/tool/requestUserInput", "mcpServer/elicitation/request"}


@dataclass
class SessionResult:
    verdict: Verdict
    error_class: str = ""
    retryable: bool = True
    message: str = ""
    turns: int = 0
    thread_id: str = ""
    tokens: dict[str, int] = field(default_factory=dict)
    signals: dict[str, Any] = field(default_factory=dict)


def agent_env(ctx: LaneContext, run_id: str, attempt: int) -> dict[str, str]:
    """The child's environment: an allow list (:mod:`maestro.containment.childenv`), never ours."""
    env = child_env(ctx.config.agent.env_passthrough, ctx.config.secret_env_vars())
    env["GIT_TERMINAL_PROMPT"] = "0"
    # A worktree removed mid-session has no .git: the agent's git must fail there, not walk
    # up and commit to the operator's repository (whose HEAD the session would then end at).
    env["GIT_CEILING_DIRECTORIES"] = str(ctx.config.workspace_root.resolve())
    # maestro pushes on the agent's behalf (lane_open_pr); a `git push` by the agent itself
    # fails, because the remote's push URL is replaced for the child's git commands only.
    remote = ctx.workflow.policy.forge.remote
    count = int(env.get("GIT_CONFIG_COUNT", "0") or 0)
    env.update({"GIT_CONFIG_COUNT": str(count + 1),
                f"GIT_CONFIG_KEY_{count}": f"remote.{remote}.pushurl",
                f"GIT_CONFIG_VALUE_{count}": "maestro-agents-do-not-push:"})
    from maestro.git import relative_remote_rewrites

    for key, value in relative_remote_rewrites(ctx.config.repo_root).items():
        count = int(env["GIT_CONFIG_COUNT"])
        env.update({"GIT_CONFIG_COUNT": str(count + 1), f"GIT_CONFIG_KEY_{count}": key,
                    f"GIT_CONFIG_VALUE_{count}": value})
    env.update({
        "MAESTRO_ISSUE": ctx.identifier,
        "MAESTRO_RUN_ID": run_id,
        "MAESTRO_ATTEMPT": str(attempt),
        "MAESTRO_NEEDS_ATTENTION_LABEL": ctx.workflow.policy.tracker.needs_attention_label,
    })
    return env


def first_prompt(issue: Issue, previous_failure: str = "", prior_work: str = "") -> str:
    """The issue as the first turn's input; ``prior_work``: the note of
    :mod:`maestro.lanes.sessions.prior_work` when the worktree holds an earlier session's work."""
    lines = [f"Issue: {issue.identifier}", f"Title: {issue.title}", f"State: {issue.state}"]
    if issue.labels:
        lines.append("Labels: " + ", ".join(issue.labels))
    if issue.url:
        lines.append(f"URL: {issue.url}")
    lines += ["", issue.description or "(no description)"]
    if previous_failure:
        lines += ["", f"Note: the previous attempt failed: {previous_failure}"]
    if prior_work:
        lines += ["", prior_work]
    return "\n".join(lines)


def next_turn_input(host: LaneToolHost, bridge: ToolBridge, result: SessionResult, turn: int,
                    max_turns: int) -> str | None:
    """The input of turn ``turn + 1`` (:func:`continuation_prompt`) after a look at the
    issue, since a person may have stopped the lane meanwhile; None when they did, with
    ``result`` saying so (not retryable), for every transport alike."""
    try:
        issue = host.look_again()
    except StopSession as exc:
        bridge.signals.stop = f"another turn: {exc}"
        result.verdict = Verdict("invalid", str(exc))
        result.error_class, result.retryable = SessionStopped.error_class, False
        return None
    return continuation_prompt(issue, turn + 1, max_turns)


def continuation_prompt(issue: Issue, turn: int, max_turns: int) -> str:
    return (
        f"Continue working on {issue.identifier} (turn {turn} of {max_turns}). The issue is "
        f"still {issue.state}. Do not start over: build on what is already in the worktree. "
        "When the work is done, finish with exactly one terminal path from the tool contract."
    )


class _Activity:
    """Liveness marker for this lane; other processes read it for status and stalls."""

    def __init__(self, ctx: LaneContext, run_id: str, attempt: int, phase: str) -> None:
        self.ctx = ctx
        self.record: dict[str, Any] = {
            "run_id": run_id, "attempt": attempt, "phase": phase, "thread_id": "",
            "turn_id": "", "event_count": 0, "last_event_type": "", "last_event_at": "",
            "tokens": {}, "waiting_on": "", "pid": os.getpid(),
            # the dispatch-latency clock stops here (microseconds: a start can be quick)
            "session_started_at": utc_now().isoformat(),
        }
        self._written = 0.0

    def event(self, method: str, force: bool = False) -> None:
        self.record["event_count"] += 1
        self.record["last_event_type"] = method
        self.record["last_event_at"] = iso_now()
        self.flush(force)

    def flush(self, force: bool = True) -> None:
        now = time.monotonic()
        if force or now - self._written >= ACTIVITY_MIN_INTERVAL_S:
            with contextlib.suppress(LaneLostError):  # the session's next tool call stops it
                self.ctx.state.write("activity.json", self.record)
            self._written = now


async def _run(ctx: LaneContext, run_id: str, attempt: int, repair: bool,
               first_input: str, activity: _Activity, tools_record: Path,
               control: ControlFiles | None = None, resume_thread: str = "",
               budget: BudgetWatch | None = None) -> SessionResult:
    service = ctx.config.agent
    policy = ctx.workflow.policy
    host = LaneToolHost(ctx, run_id, attempt, repair=repair, control=control)
    # A session resumed after a kill keeps the agent's own request for a human.
    host.attention_added = agent_asked_for_human(tools_record, host.needs_attention_label)
    journal = ctx.state.path("journal.jsonl")
    # Each session keeps its own turn records beside its tool record: ``turns/`` for the
    # agent phase, ``repairs/NN-turns/`` for a repair round (never over the agent's).
    turns_dir = tools_record.parent / (tools_record.name.removesuffix("tools.jsonl") + "turns")
    journal_handle = BoundedJournal(journal)

    def log(**fields: Any) -> None:
        if not ctx.state.lost_lately():  # a replaced folder's journal is its successor's
            journal_handle.write({"at": iso_now(), **fields})

    failed_calls: list[str] = []

    def on_call(name: str, ok: bool, text: str) -> None:
        if not ok:
            failed_calls.append(f"{name}: {text[:500]}")
        log(event="tool", tool=name, ok=ok, result=text[:500])

    bridge = ToolBridge(host, tools_record, repair=repair, on_call=on_call,
                        lost=ctx.state.lost)
    tokens: dict[str, int] = {}
    # A resumed thread reports the whole thread's totals: the baseline is what the lane saw.
    session_usage = SessionUsage(_thread_total(ctx, resume_thread))
    human_request: list[str] = []
    server_errors = ServerErrors()

    def on_event(method: str, params: dict[str, Any]) -> None:
        activity.event(method, force=method in ("turn/completed", "turn/started"))
        log(event="rpc", method=method)
        if method == "item/completed" and (item := item_record(params)):
            log(**item)
        if method == "thread/tokenUsage/updated":
            # a session's count only grows: a lower report (forged into codex's stdout by
            # a process of the agent) never lowers it (maestro.agents.turn_usage)
            tokens.update(grown(tokens, capped_growth(
                tokens, session_usage.update(params.get("tokenUsage") or {}))))
            activity.record["tokens"] = dict(tokens)
            if budget is not None:  # over budget: the turn is interrupted (budget_watch)
                budget.observe(tokens)
        elif method == "account/rateLimits/updated":
            activity.record["rate_limits"] = params.get("rateLimits", params)
        elif method == "error":
            log(event="agent_error", error=server_errors.note(params))

    async def on_request(method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "item/tool/call":
            if budget is not None and (refused := budget.refusal()) is not None:
                return refused
            answer = bridge.call(str(params.get("tool", "")), params.get("arguments"))
            if bridge.signals.stop:  # refused, and decisive: the session ends here
                raise SessionStopped(bridge.signals.stop)
            return answer
        if method in APPROVAL_METHODS:
            # Unattended policy: approvals are declined, the turn goes on (docs/spec).
            activity.record["waiting_on"] = f"declined {method}"
            log(event="approval_declined", method=method)
            return dict(APPROVAL_DECLINES[method])
        if method in HUMAN_INPUT_METHODS:
            human_request.append(method)
            activity.record["waiting_on"] = "human"
            activity.flush()
            raise HumanInputRequired(f"the agent asked for human input ({method})")
        # Anything else (auth refresh, attestation, ...) is not ours to answer: an error
        # reply lets the agent go on instead of misreading an empty result.
        raise LookupError(f"maestro does not serve {method}")

    def on_stderr(line: str) -> None:
        log(event="stderr", line=line[:2000])

    argv = [*sandbox_prefix(ctx), *agent_argv(service, policy.agent)]
    client = AppServerClient(argv, ctx.worktree, agent_env(ctx, run_id, attempt),
                             on_event, on_request, on_stderr, service.response_timeout_s)
    result = SessionResult(verdict=Verdict("invalid", "no turn ran"))
    if budget is not None:
        budget.attach(client, activity.record)
    loop = asyncio.get_running_loop()
    previous_term = signal.getsignal(signal.SIGTERM)
    loop.add_signal_handler(signal.SIGTERM, client.terminate, "maestro received SIGTERM")
    try:
        await client.start()
        await client.request("initialize", {
            "clientInfo": {"name": "maestro", "title": "maestro", "version": __version__},
            "capabilities": {"experimentalApi": True},
        }, timeout=service.startup_timeout_s)
        await client.notify("initialized", {})
        issue = ctx.tracker.get(ctx.identifier)
        thread_params: dict[str, Any] = {
            "cwd": str(ctx.worktree),
            "dynamicTools": dynamic_tools(),
            "developerInstructions": ctx.workflow.developer_instructions(
                ctx.config.repo_root, issue,
                TOOL_CONTRACT.format(attention=policy.tracker.needs_attention_label),
                attempt),
        }
        if policy.agent.personality:
            thread_params["personality"] = policy.agent.personality
        if policy.agent.service_tier:
            thread_params["serviceTier"] = policy.agent.service_tier
        thread_id = await open_thread(client, thread_params, resume_thread, log)
        if thread_id != resume_thread:
            session_usage.new_thread()
        session_usage.open = True
        activity.record["thread_id"] = thread_id
        result.thread_id = thread_id
        max_turns = policy.execution.max_turns
        text = first_input
        for turn in range(1, max_turns + 1):
            before = dict(tokens)  # before turn/start: its events may beat the response
            turn_started = await client.request("turn/start", {
                "threadId": thread_id, "input": [{"type": "text", "text": text}]})
            turn_id = str((turn_started.get("turn") or {}).get("id", ""))
            activity.record["turn_id"] = turn_id
            logs.session_event(ctx.config, "session_started" if turn == 1 else "turn_started",
                               f"turn {turn} started", ctx.identifier, activity.record,
                               turn=turn)
            if budget is not None:
                budget.turn_started()
            completed = await client.wait_turn(turn_id, service.idle_timeout_s,
                                               service.turn_timeout_s)
            if tokens == before:
                _tokens_from_completed(completed, tokens)
                if budget is not None:
                    budget.observe(tokens, running=False)
            status = str((completed.get("turn") or {}).get("status", "completed"))
            result.turns = turn
            logs.session_event(ctx.config, "turn_completed", f"turn {turn} {status}",
                               ctx.identifier, activity.record, turn=turn, status=status)
            ctx.state.write_record(turns_dir / f"{turn:04d}.json", {
                "turn": turn, "thread_id": thread_id, "turn_id": turn_id, "status": status,
                "tokens": dict(tokens),
                "turn_tokens": {k: v - before.get(k, 0) for k, v in tokens.items()},
                "finished_at": iso_now(), "signals": bridge.signals.as_dict()})
            if status in ("failed", "interrupted"):
                said = server_errors.reason((completed.get("turn") or {}).get("error"))
                log(event="turn_failed", status=status, reason=said)
                result.verdict = Verdict("invalid", f"turn {status}: {said}")
                result.error_class = f"turn_{status}"
                break
            verdict = judge(bridge.signals, repair=repair)
            result.verdict = verdict
            if verdict.kind != "continue" or (budget is not None and budget.breach):
                break
            next_text = next_turn_input(host, bridge, result, turn, max_turns)
            if next_text is None:
                break
            text = next_text
        else:
            result.verdict = Verdict("invalid", f"no terminal signal after {max_turns} turns")
            result.error_class = "turns_exhausted"
    except AgentError as exc:
        said = server_errors.reason(None)
        result.verdict = Verdict("invalid", f"{exc}; server error: {said}" if said else str(exc))
        result.error_class = exc.error_class
        result.retryable = exc.retryable
    finally:
        if result.error_class in ("stalled", "turn_timeout", "human_input_required",
                                  SessionStopped.error_class):
            client.kill()
        await client.close()
        loop.remove_signal_handler(signal.SIGTERM)
        signal.signal(signal.SIGTERM, previous_term)
        record_end(ctx, journal_handle, activity, tokens)
        with contextlib.suppress(OSError):
            if result.thread_id and session_usage.last_total:
                ctx.state.write(THREAD_USAGE, {"thread_id": result.thread_id,
                                               "total": session_usage.last_total})
    return settle(result, bridge, failed_calls, tokens, budget)


def _thread_total(ctx: LaneContext, thread_id: str) -> dict[str, int] | None:
    """The last running total the lane saw on ``thread_id`` (None when it saw none)."""
    if not thread_id:
        return None
    kept = ctx.state.read(THREAD_USAGE)
    if not isinstance(kept, dict) or kept.get("thread_id") != thread_id:
        return None
    total = kept.get("total")
    if not isinstance(total, dict):
        return None
    return {k: v for k, v in total.items() if isinstance(v, int)}


def record_end(ctx: LaneContext, journal: BoundedJournal, activity: _Activity,
               tokens: dict[str, int]) -> None:
    """A session's last records, whatever the transport: the journal closed, the final
    token figures in the activity record (also those read off a finished turn), and the
    session in the lane's token ledger. A full disk is already the session's error."""
    reaper.sweep_orphans()  # what a killed supervisor left behind (reaper.py)
    with contextlib.suppress(OSError):
        journal.close()
        activity.record["tokens"] = dict(tokens)
        activity.flush()
    with contextlib.suppress(OSError):
        token_ledger.record_session(ctx.state, activity.record)


def settle(result: SessionResult, bridge: ToolBridge, failed_calls: list[str],
           tokens: dict[str, int], budget: BudgetWatch | None = None) -> SessionResult:
    """The session's last word, whatever the transport: the error class of an invalid
    disposition, and its message naming the policy violation or the real cause; a token
    ceiling the session reached (``budget``) is the cause when the session did not end."""
    if result.verdict.kind == "invalid" and not result.error_class:
        result.error_class = "invalid_disposition"
    if bridge.signals.violations and result.verdict.kind == "invalid":
        result.message = "; ".join(bridge.signals.violations)
    elif (bridge.signals.refused or failed_calls) and result.verdict.kind == "invalid":
        # The real cause first (a tool call that failed, in git's or the forge's words),
        # then the calls the bridge refused because of it.
        result.message = real_cause(result.verdict.reason, failed_calls)
        if bridge.signals.refused:
            refused = "; ".join(bridge.signals.refused[-3:])
            result.message += f" (refused: {refused})"
    if budget is not None:
        budget.close()
        if budget.breach is not None and result.error_class != "terminated" and (
                result.verdict.kind in ("continue", "invalid")):
            result.verdict = Verdict("invalid", budget.breach.describe())
            result.error_class, result.retryable = BUDGET_EXCEEDED, False
            result.message = budget.reason()
    result.tokens = tokens
    result.signals = bridge.signals.as_dict()
    return result


def _tokens_from_completed(completed: dict[str, Any], tokens: dict[str, int]) -> None:
    """Fallback when no ``thread/tokenUsage/updated`` came: absolute totals carried by
    ``turn/completed`` itself (older app-servers put ``usage`` there)."""
    usage = completed.get("usage") or (completed.get("turn") or {}).get("usage") or {}
    if not isinstance(usage, dict):
        return
    nested = usage.get("total")
    total: dict[str, Any] = nested if isinstance(nested, dict) else usage
    names = {"inputTokens": "input_tokens", "outputTokens": "output_tokens",
             "totalTokens": "total_tokens"}
    for key, snake in names.items():
        value = figure(total.get(key, total.get(snake)), None)
        if value:
            tokens[key] = max(tokens.get(key, 0), value)


def _session_key(run_id: str, record: Path) -> str:
    """One agent or repair session: its run and its tool record (each round has its own)."""
    return f"{run_id}:{record.name}"


def _recorded_outcome(ctx: LaneContext, run_id: str, attempt: int, record: Path,
                      repair: bool) -> SessionResult | None:
    """A run killed after the agent declared its terminal path must not redo the agent's
    work: the recorded tool calls already decide the outcome."""
    if not record.exists():
        return None
    bridge = ToolBridge(LaneToolHost(ctx, run_id, attempt), record, repair=repair)
    verdict = judge(bridge.signals, repair=repair)
    if verdict.kind in ("continue", "invalid"):
        return None
    ctx.state.journal("agent_resumed_from_record", verdict=verdict.kind, run_id=run_id)
    kept = ControlFiles.kept(ctx, _session_key(run_id, record))
    if kept is None:
        ctx.state.journal("control_files_unverified", run_id=run_id,
                          reason="no before-image kept for the recorded session")
    else:
        refuse_tampering(ctx, kept)
    return SessionResult(verdict=verdict, message="resumed from the recorded tool calls",
                         signals=bridge.signals.as_dict())


def run_agent_session(ctx: LaneContext, run_id: str, attempt: int, first_input: str,
                      repair: bool = False, phase: str = "agent",
                      tools_record: Path | None = None, resume_thread: str = "") -> SessionResult:
    """One session; ``resume_thread``: the lane's earlier thread, continued when the agent
    can (:mod:`maestro.agents.threads`), else a new thread."""
    token_ledger.keep_unrecorded(ctx.state)
    activity = _Activity(ctx, run_id, attempt, phase)
    activity.flush()
    record = tools_record or ctx.state.path("tools.jsonl")
    # A whole worktree in, a provenance record out; the workflow's hooks around the session.
    with recorded_session(ctx, phase, run_id), hooks.around_session(ctx, repair):
        recorded = _recorded_outcome(ctx, run_id, attempt, record, repair)
        if recorded is not None:
            return recorded
        budget = watch_for(ctx)
        if budget is not None and (spent := budget.exhausted()) is not None:
            return SessionResult(verdict=Verdict("invalid", spent.describe()),
                                 error_class=BUDGET_EXCEEDED, retryable=False,
                                 message=budget.reason())
        session = _session_key(run_id, record)
        control = ControlFiles.kept(ctx, session)
        if control is None:  # a session run again after a kill keeps the first image
            control = ControlFiles(ctx.worktree, ctx.config.repo_root)
            control.keep(ctx, session)
        transport = ctx.config.agent.transport
        if transport == "claude-code":
            from maestro.lanes.sessions.claude_session import run_claude

            session_run = run_claude(ctx, run_id, attempt, repair, first_input, activity,
                                     record, control, resume_thread, budget)
        elif transport == "acp":
            from maestro.lanes.sessions.acp_session import run_acp

            session_run = run_acp(ctx, run_id, attempt, repair, first_input, activity, record,
                                  control, resume_thread, budget)
        else:
            session_run = _run(ctx, run_id, attempt, repair, first_input, activity, record,
                               control, resume_thread, budget)
        result = asyncio.run(session_run)
        faults.point("agent:session-ended")  # the tool calls are recorded, not yet checked
        refuse_tampering(ctx, control)
        return result
