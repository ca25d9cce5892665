"""One session's budget (maestro/lanes/budgets/budget_watch.py): when it interrupts, what it sends,
what it refuses and what the attention comment says."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from maestro.lanes.budgets.budget import Limits
from maestro.lanes.budgets.budget_watch import BUDGET_FILE, BudgetWatch
from maestro.lanes.record.state import LaneState


class FakeClient:
    """Records requests; ``kill`` is counted (the grace timer's fallback)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.killed = 0

    async def request(self, method: str, params: dict[str, Any],
                      timeout: float | None = None) -> dict[str, Any]:
        self.sent.append((method, params))
        return {}

    def kill(self) -> None:
        self.killed += 1


def watch(tmp_path: Path, limits: Limits, spent_before: int = 0) -> BudgetWatch:
    ctx = SimpleNamespace(state=LaneState(tmp_path, "BW-1"))
    return BudgetWatch(ctx, limits, spent_before, grace_s=60)  # type: ignore[arg-type]


def test_a_running_turn_over_budget_is_interrupted_once(tmp_path: Path) -> None:
    budget, client = watch(tmp_path, Limits(max_tokens_per_issue=1000), 400), FakeClient()

    async def session() -> None:
        budget.attach(client, {"thread_id": "thr-1", "turn_id": "turn-1"})  # type: ignore[arg-type]
        budget.observe({"totalTokens": 500})
        budget.observe({"totalTokens": 700})
        budget.observe({"totalTokens": 900})
        await asyncio.sleep(0)
        budget.close()

    asyncio.run(session())
    assert client.sent == [("turn/interrupt", {"threadId": "thr-1", "turnId": "turn-1"})]
    assert client.killed == 0
    assert budget.reason().startswith(
        "token budget max_tokens_per_issue reached: this issue spent 1,100 tokens of 1,000 "
        "(earlier sessions 400 + this session 700); the agent's turn was interrupted.")
    assert LaneState(tmp_path, "BW-1").read(BUDGET_FILE)["breach"] == {
        "budget": "max_tokens_per_issue", "limit": 1000, "spent": 1100}


def test_tool_calls_are_refused_once_the_budget_is_spent(tmp_path: Path) -> None:
    budget = watch(tmp_path, Limits(max_tokens_per_run=100))
    assert budget.refusal() is None
    budget.observe({"totalTokens": 100}, running=False)
    refused = budget.refusal()
    assert refused is not None and refused["success"] is False
    assert "max_tokens_per_run reached" in refused["contentItems"][0]["text"]


def test_figures_read_off_a_finished_turn_end_the_session_without_an_interrupt(
        tmp_path: Path) -> None:
    budget = watch(tmp_path, Limits(max_tokens_per_run=100))
    budget.observe({"inputTokens": 80, "outputTokens": 40}, running=False)
    assert budget.breach is not None and budget.breach.spent == 120
    assert "; no further turn was started." in budget.reason()


def test_an_issue_already_at_its_ceiling_starts_no_session(tmp_path: Path) -> None:
    budget = watch(tmp_path, Limits(max_tokens_per_issue=1000, labels=("big",)), 1000)
    found = budget.exhausted()
    assert found is not None and found.spent == 1000
    assert budget.reason().startswith(
        "token budget max_tokens_per_issue reached: this issue spent 1,000 tokens of 1,000; "
        "label override from big; no new session was started.")


def test_below_every_ceiling_nothing_happens(tmp_path: Path) -> None:
    budget = watch(tmp_path, Limits(max_tokens_per_issue=1000, max_tokens_per_run=500), 100)
    assert budget.exhausted() is None
    budget.observe({"totalTokens": 499}, running=False)
    assert budget.breach is None and budget.reason() == "" and budget.refusal() is None
