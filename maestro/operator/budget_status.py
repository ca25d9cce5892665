"""Token budgets in the operator snapshot: per lane and for the service's UTC day.

Shapes (``docs/spec/status.md``; the dashboard reads them as they are)::

    lane["budget"] = {"max_tokens_per_issue": int | null, "spent": int,
                      "remaining": int | null}
    snapshot["budget"] = {"max_tokens_per_day": int | null, "spent_today": int,
                          "remaining_today": int | null, "holding_dispatch": bool}

A lane's ceiling is the one its last session resolved (``budget.json``, label overrides
included: :mod:`maestro.lanes.budgets.budget_watch`); a lane that has not run a session since
budgets were set shows the workflow's default. ``spent`` is the issue's whole spend, the
figure the ceiling is enforced against (archived lane folders of the issue included).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from maestro.config.budget import BudgetPolicy
from maestro.config.service import ServiceConfig
from maestro.config.workflow import parse_workflow
from maestro.errors import ConfigError
from maestro.lanes.budgets.budget import BUDGET_FILE, lane_budget, spent_of
from maestro.lanes.budgets.spend import archived_spent, daily_budget
from maestro.lanes.context import current_workflow_text
from maestro.lanes.record.state import LaneState

__all__ = ["BudgetInputs", "add_budgets", "budget_inputs", "budget_policy"]


def budget_policy(config: ServiceConfig, warnings: list[str]) -> BudgetPolicy:
    """``[budget]`` of the current WORKFLOW.md (or its last good copy); unlimited, with a
    warning, when neither can be read: status never fails for want of a policy."""
    try:
        text = current_workflow_text(config)
        return parse_workflow(text, config.workflow_path).policy.budget
    except (ConfigError, OSError) as exc:
        warnings.append(f"budgets not shown: {exc}")
        return BudgetPolicy()


@dataclass(frozen=True)
class BudgetInputs:
    """What budgets read beside the lanes: the policy (and the warning when it could not be
    read) and the spend of archived lane folders per issue. A cache keeps one while
    WORKFLOW.md and the archive folder are unchanged."""

    policy: BudgetPolicy
    warnings: tuple[str, ...] = ()
    archived: dict[str, int] = field(default_factory=dict)


def budget_inputs(config: ServiceConfig) -> BudgetInputs:
    warnings: list[str] = []
    policy = budget_policy(config, warnings)
    return BudgetInputs(policy, tuple(warnings), archived_spent(config.state_root))


def add_budgets(config: ServiceConfig, lanes: list[dict[str, Any]], now: datetime,
                warnings: list[str], records: Mapping[str, dict[str, Any]] | None = None,
                inputs: BudgetInputs | None = None) -> dict[str, Any]:
    """Set ``budget`` on every lane of the snapshot; return the snapshot's own ``budget``.

    ``records``: each lane's ``budget.json`` already read (by issue; read here otherwise);
    ``inputs``: the policy and archived spend already read (read here otherwise)."""
    inputs = inputs or budget_inputs(config)
    warnings.extend(inputs.warnings)
    policy = inputs.policy
    for lane in lanes:
        record = (records.get(lane["issue"]) if records is not None else
                  LaneState(config.lanes_root, lane["issue"]).read(BUDGET_FILE)) or {}
        limit = (record.get("max_tokens_per_issue") if record
                 else policy.max_tokens_per_issue)
        spent = spent_of(lane.get("tokens") or {}) + inputs.archived.get(lane["issue"], 0)
        lane["budget"] = lane_budget(limit if isinstance(limit, int) else None, spent)
    return daily_budget(config.state_root, policy, now).as_dict()
