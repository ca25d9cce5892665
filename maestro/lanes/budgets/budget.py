"""Token budget decisions, as pure functions of the policy and the figures spent.

The policy is ``[budget]`` in ``WORKFLOW.md`` (:mod:`maestro.config.budget`); the figures
come from the lanes' token ledgers (:mod:`maestro.lanes.budgets.tokens`,
:mod:`maestro.lanes.budgets.spend`).
Every figure is a count of tokens as the agent reports them (``totalTokens``). A ceiling is
*reached* when the spend is at or above it: nothing is left, so nothing more may start.

- :func:`limits_for`: the ceilings of one issue, after its label overrides;
- :func:`breach`: which ceiling (per issue, per run) a spend reaches, if any;
- :class:`DailyBudget`: the service's day, and whether it holds new dispatch;
- :func:`lane_budget`: the per-lane figures ``maestro status`` shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from maestro.config.budget import BudgetPolicy
from maestro.statenames import state_key, state_keys

__all__ = ["BUDGET_EXCEEDED", "BUDGET_FILE", "Breach", "DailyBudget", "Limits", "breach",
           "lane_budget", "limits_for", "spent_of"]

#: The ``error_class`` of a session stopped (or refused) for its budget.
BUDGET_EXCEEDED = "budget_exceeded"

#: The lane file holding the lane's limits, spend before the run and any breach.
BUDGET_FILE = "budget.json"


@dataclass(frozen=True)
class Limits:
    """One issue's ceilings (``None``: unlimited); ``labels``: the overrides that applied."""

    max_tokens_per_issue: int | None = None
    max_tokens_per_run: int | None = None
    labels: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        return self.max_tokens_per_issue is not None or self.max_tokens_per_run is not None

    def as_dict(self) -> dict[str, Any]:
        return {"max_tokens_per_issue": self.max_tokens_per_issue,
                "max_tokens_per_run": self.max_tokens_per_run, "labels": list(self.labels)}


def limits_for(policy: BudgetPolicy, labels: Iterable[str]) -> Limits:
    """The defaults of ``[budget]``, with each key an issue's labels override replaced.

    Labels match case-insensitively. When several labels set the same key, the largest
    value wins (a label exists to grant more; two of them never grant less than either)."""
    carried = state_keys(labels)
    matched = sorted(name for name in policy.labels if state_key(name) in carried)
    found: dict[str, int | None] = {}
    for key in ("max_tokens_per_issue", "max_tokens_per_run"):
        overrides = [value for name in matched
                     if (value := getattr(policy.labels[name], key)) is not None]
        found[key] = max(overrides) if overrides else getattr(policy, key)
    return Limits(found["max_tokens_per_issue"], found["max_tokens_per_run"], tuple(matched))


def day_share_cap(policy: BudgetPolicy) -> int | None:
    """The most one lane folder counts toward ``max_tokens_per_day``: the largest
    ``max_tokens_per_issue`` the workflow gives any issue (the default and every label's),
    since a lane is stopped at its own; None when an issue may spend without a ceiling.
    The figures are the agent's own reports, and a hostile agent can forge them (breaker
    11: two forged lines held the whole service's dispatch for the day); with a per-issue
    ceiling, one lane can no longer count more than it could ever spend. Pure."""
    ceilings = [policy.max_tokens_per_issue,
                *(limits.max_tokens_per_issue for limits in policy.labels.values())]
    if policy.max_tokens_per_issue is None:
        return None
    return max(c for c in ceilings if c is not None)


def spent_of(tokens: Mapping[str, Any]) -> int:
    """The tokens a figure counts: ``totalTokens``, else input plus output, else 0."""
    total = tokens.get("totalTokens")
    if isinstance(total, int) and not isinstance(total, bool):
        return total
    parts = [tokens.get(key) for key in ("inputTokens", "outputTokens")]
    return sum(p for p in parts if isinstance(p, int) and not isinstance(p, bool))


@dataclass(frozen=True)
class Breach:
    """A ceiling reached: ``budget`` names the key, ``limit`` and ``spent`` are tokens."""

    budget: str
    limit: int
    spent: int

    def describe(self) -> str:
        scope = "this issue" if self.budget == "max_tokens_per_issue" else "this session"
        return (f"token budget {self.budget} reached: {scope} spent {self.spent:,} tokens "
                f"of {self.limit:,}")


def breach(limits: Limits, spent_issue: int, spent_run: int = 0) -> Breach | None:
    """The ceiling ``spent_issue`` (every session of the issue, this one included) or
    ``spent_run`` (this session alone) reaches; the per-issue ceiling is named first."""
    if limits.max_tokens_per_issue is not None and spent_issue >= limits.max_tokens_per_issue:
        return Breach("max_tokens_per_issue", limits.max_tokens_per_issue, spent_issue)
    if limits.max_tokens_per_run is not None and spent_run >= limits.max_tokens_per_run:
        return Breach("max_tokens_per_run", limits.max_tokens_per_run, spent_run)
    return None


@dataclass(frozen=True)
class DailyBudget:
    """The service's UTC day: ``limit`` (``max_tokens_per_day``, ``None``: unlimited) and
    ``spent`` (every lane's tokens reported that day)."""

    limit: int | None = None
    spent: int = 0

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.spent, 0)

    @property
    def holding(self) -> bool:
        """The ceiling is reached: no new agent session is dispatched until the next day."""
        return self.limit is not None and self.spent >= self.limit

    def hold_reason(self) -> str:
        """Why dispatch is held ("" when it is not); the same words every tick, so the log
        says it once (:mod:`maestro.orchestration.tick_log`)."""
        if not self.holding:
            return ""
        return (f"held: the daily token ceiling max_tokens_per_day={self.limit} is reached "
                "(UTC day); running lanes finish")

    def as_dict(self) -> dict[str, Any]:
        """The top-level ``budget`` of the status JSON (docs/spec/status.md)."""
        return {"max_tokens_per_day": self.limit, "spent_today": self.spent,
                "remaining_today": self.remaining, "holding_dispatch": self.holding}


def lane_budget(max_tokens_per_issue: int | None, spent: int) -> dict[str, Any]:
    """One lane's ``budget`` in the status JSON: its ceiling, spend and what is left."""
    remaining = (None if max_tokens_per_issue is None
                 else max(max_tokens_per_issue - spent, 0))
    return {"max_tokens_per_issue": max_tokens_per_issue, "spent": spent,
            "remaining": remaining}
