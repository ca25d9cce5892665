"""``[budget]`` in ``WORKFLOW.md``: how many tokens the agents may spend.

Three ceilings, each unlimited unless set (a positive whole number of tokens, the agent's
``totalTokens``):

- ``max_tokens_per_issue``: every session of one issue — the agent phase of each attempt
  and every review-repair round — summed from the lane's token ledger
  (:mod:`maestro.lanes.budgets.tokens`);
- ``max_tokens_per_run``: one agent or repair session;
- ``max_tokens_per_day``: the whole service in one UTC day, summed over every lane.

``[budget.labels."<label>"]`` overrides the per-issue and per-run ceilings for issues that
carry that label (e.g. ``maestro:budget-large``); the daily ceiling is the service's alone.
The decisions that use these figures are pure functions in :mod:`maestro.lanes.budgets.budget`.

Example (TOML front matter; the YAML form has the same keys)::

    [budget]
    max_tokens_per_issue = 2_000_000
    max_tokens_per_run = 500_000
    max_tokens_per_day = 20_000_000

    [budget.labels."maestro:budget-large"]
    max_tokens_per_issue = 10_000_000
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["BudgetLimits", "BudgetPolicy", "Tokens"]

#: A token ceiling: a whole number above zero; ``bool`` and ``"1000"`` are refused (strict).
Tokens = Annotated[int, Field(strict=True, gt=0)]


class BudgetLimits(BaseModel):
    """The ceilings a label may override (``None``: the workflow's default applies)."""

    model_config = ConfigDict(extra="forbid")

    max_tokens_per_issue: Tokens | None = None
    max_tokens_per_run: Tokens | None = None


class BudgetPolicy(BudgetLimits):
    """``[budget]``: the defaults for every issue, the daily ceiling, the label overrides."""

    max_tokens_per_day: Tokens | None = None
    labels: dict[str, BudgetLimits] = Field(default_factory=dict)
