"""The token budget of one running agent session, enforced from the agent's own figures.

:func:`watch_for` resolves the issue's ceilings (:func:`maestro.lanes.budgets.budget.limits_for`)
once, before the agent starts, records them in the lane's ``budget.json`` (what ``maestro
status`` shows), and adds up what the issue spent in earlier sessions. A session that would
start with the issue's budget already reached never starts (:meth:`BudgetWatch.exhausted`).

While the session runs, every ``thread/tokenUsage/updated`` goes through
:meth:`BudgetWatch.observe`. The first figure that reaches a ceiling interrupts the turn
(Codex ``turn/interrupt`` with the thread and turn ids) and, should the agent not end the
turn within ``grace_s``, kills it; from then on the session's tool calls are refused (no
side effect after the budget is spent), no further turn starts, and the session ends with
``error_class`` ``budget_exceeded`` — not retryable, so the lane takes the attention path
with :meth:`BudgetWatch.reason` (the figures) in its comment. Claude Code has no interrupt:
its session stops the turn's process at once with :class:`BudgetReached`.

``budget.json``::

    {"max_tokens_per_issue": int | null, "max_tokens_per_run": int | null,
     "labels": [str], "spent_before": int, "resolved_at": iso8601,
     "breach": {"budget": str, "limit": int, "spent": int} | absent}
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from maestro.agents.appserver import AgentError, AppServerClient
from maestro.ids import iso_now
from maestro.lanes.budgets.budget import (
    BUDGET_EXCEEDED,
    BUDGET_FILE,
    Breach,
    Limits,
    breach,
    limits_for,
    spent_of,
)
from maestro.lanes.budgets.spend import issue_spent
from maestro.lanes.context import LaneContext

__all__ = ["BUDGET_FILE", "BudgetWatch", "watch_for"]

#: Seconds the agent gets to end an interrupted turn before it is killed.
INTERRUPT_GRACE_S = 10.0


class BudgetReached(AgentError):
    """A token ceiling was reached while a turn ran and the turn was stopped for it (a
    transport without ``turn/interrupt``); the session ends with :meth:`BudgetWatch.reason`
    as its cause, as every budget stop does."""

    error_class = BUDGET_EXCEEDED
    retryable = False
NEXT_STEP = ("To go on, give the issue a label with a larger budget ([budget.labels] in "
             "WORKFLOW.md) or raise the ceiling, then remove the needs-attention label.")


class BudgetWatch:
    """The ceilings of one session and what was spent before it (tokens)."""

    def __init__(self, ctx: LaneContext, limits: Limits, spent_before: int,
                 grace_s: float = INTERRUPT_GRACE_S) -> None:
        self.ctx = ctx
        self.limits = limits
        self.spent_before = spent_before
        self.grace_s = grace_s
        self.breach: Breach | None = None
        self._client: AppServerClient | None = None
        self._record: Mapping[str, Any] = {}
        self._interrupted = False
        self._stopped = "no new session was started"
        self._tasks: set[asyncio.Task[None]] = set()
        self._kill: asyncio.TimerHandle | None = None

    # -- before the session ----------------------------------------------------------------

    def exhausted(self) -> Breach | None:
        """The issue's ceiling is already reached: no session may start."""
        found = breach(self.limits, self.spent_before)
        if found is not None:
            self._note(found)
        return found

    # -- during the session ----------------------------------------------------------------

    def attach(self, client: AppServerClient, record: Mapping[str, Any]) -> None:
        """The session's client, and its activity record (``thread_id``, ``turn_id``)."""
        self._client, self._record = client, record

    def observe(self, session_tokens: Mapping[str, Any], running: bool = True) -> None:
        """The agent's latest absolute figures for this session; the first that reaches a
        ceiling interrupts the turn (``running``), or, for figures read off a finished
        turn, only ends the session before the next one."""
        if self.breach is not None or not self.limits.any:
            return
        spent = spent_of(session_tokens)
        found = breach(self.limits, self.spent_before + spent, spent)
        if found is not None:
            self._note(found)
            self._stopped = "no further turn was started"
            if running:
                self.turn_started()

    def turn_started(self) -> None:
        """Interrupt the running turn once its id is known (a breach may come first)."""
        turn_id = str(self._record.get("turn_id") or "")
        if self.breach is None or self._interrupted or self._client is None or not turn_id:
            return
        self._interrupted = True
        self._stopped = "the agent's turn was interrupted"
        loop = asyncio.get_running_loop()
        task = loop.create_task(self._interrupt(self._client, turn_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._kill = loop.call_later(self.grace_s, self._client.kill)

    def turn_stopped(self, turn_id: str) -> None:
        """The transport stopped the running turn ``turn_id`` for the breach itself (it has
        no interrupt)."""
        if self.breach is not None and not self._interrupted:
            self._interrupted = True
            self._stopped = "the agent's turn was stopped"
            self.ctx.state.journal("budget_interrupt", turn_id=turn_id, **asdict(self.breach))

    async def _interrupt(self, client: AppServerClient, turn_id: str) -> None:
        self.ctx.state.journal("budget_interrupt", turn_id=turn_id,
                               **asdict(self.breach) if self.breach else {})
        with contextlib.suppress(AgentError):  # an agent without turn/interrupt is killed
            await client.request("turn/interrupt", {
                "threadId": str(self._record.get("thread_id") or ""), "turnId": turn_id},
                timeout=self.grace_s)

    def refusal(self) -> dict[str, Any] | None:
        """The answer to a tool call once the budget is spent, else ``None``."""
        if self.breach is None:
            return None
        text = f"refused: {self.breach.describe()}; the turn is being interrupted"
        return {"success": False, "contentItems": [{"type": "inputText", "text": text}]}

    def close(self) -> None:
        if self._kill is not None:
            self._kill.cancel()

    # -- after -----------------------------------------------------------------------------

    def reason(self) -> str:
        """The attention comment's text: which budget, spent against it, what to do."""
        found = self.breach
        if found is None:
            return ""
        where = (f" (earlier sessions {self.spent_before:,} + this session "
                 f"{found.spent - self.spent_before:,})"
                 if found.budget == "max_tokens_per_issue" and self.spent_before
                 and found.spent > self.spent_before else "")
        labels = (f"; label override from {', '.join(self.limits.labels)}"
                  if self.limits.labels else "")
        return f"{found.describe()}{where}{labels}; {self._stopped}.\n\n{NEXT_STEP}"

    def _note(self, found: Breach) -> None:
        self.breach = found
        record = self.ctx.state.read(BUDGET_FILE) or {}
        record["breach"] = asdict(found)
        self.ctx.state.write(BUDGET_FILE, record)


def watch_for(ctx: LaneContext) -> BudgetWatch | None:
    """The session's watch, or ``None`` when no ceiling applies to any issue (then the
    tracker is not even asked for the issue's labels)."""
    policy = ctx.workflow.policy.budget
    if not (policy.max_tokens_per_issue or policy.max_tokens_per_run or policy.labels):
        return None
    limits = limits_for(policy, ctx.tracker.get(ctx.identifier).labels)
    spent = issue_spent(ctx.config.state_root, ctx.identifier)
    ctx.state.write(BUDGET_FILE, {**limits.as_dict(), "spent_before": spent,
                                  "resolved_at": iso_now()})
    return BudgetWatch(ctx, limits, spent)
