"""Token budget decisions (maestro/lanes/budgets/budget.py) as tables, and the policy's errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from maestro.config.budget import BudgetLimits, BudgetPolicy
from maestro.config.workflow import parse_workflow
from maestro.errors import ConfigError
from maestro.lanes.budgets.budget import (
    Breach,
    DailyBudget,
    Limits,
    breach,
    day_share_cap,
    lane_budget,
    limits_for,
)

LARGE = "maestro:budget-large"
POLICY = BudgetPolicy(max_tokens_per_issue=1000, max_tokens_per_run=400, labels={
    LARGE: BudgetLimits(max_tokens_per_issue=10_000),
    "huge": BudgetLimits(max_tokens_per_issue=50_000, max_tokens_per_run=20_000),
    "tight": BudgetLimits(max_tokens_per_run=100)})

LIMITS = [
    ("no labels: the defaults", [], Limits(1000, 400)),
    ("an unrelated label changes nothing", ["bug"], Limits(1000, 400)),
    ("a label override raises the issue ceiling", [LARGE], Limits(10_000, 400, (LARGE,))),
    ("labels match case-insensitively", ["Maestro:Budget-Large"], Limits(10_000, 400, (LARGE,))),
    ("the largest of two overrides wins", [LARGE, "huge"],
     Limits(50_000, 20_000, ("huge", LARGE))),
    ("an override may also lower a ceiling", ["tight"], Limits(1000, 100, ("tight",))),
]


@pytest.mark.parametrize(("name", "labels", "expected"), LIMITS, ids=[c[0] for c in LIMITS])
def test_limits_for(name: str, labels: list[str], expected: Limits) -> None:
    assert limits_for(POLICY, labels) == expected


def test_no_budget_means_no_limits() -> None:
    assert limits_for(BudgetPolicy(), [LARGE]) == Limits(None, None)
    assert not Limits().any


BREACHES = [
    ("unlimited never breaches", Limits(), 10**12, 10**12, None),
    ("below both ceilings", Limits(1000, 400), 999, 399, None),
    ("the issue ceiling reached", Limits(1000, 400), 1000, 10,
     Breach("max_tokens_per_issue", 1000, 1000)),
    ("the run ceiling reached", Limits(1000, 400), 500, 400,
     Breach("max_tokens_per_run", 400, 400)),
    ("both reached: the issue is named", Limits(1000, 400), 5000, 5000,
     Breach("max_tokens_per_issue", 1000, 5000)),
    ("only a run ceiling", Limits(None, 400), 10**9, 401, Breach("max_tokens_per_run", 400, 401)),
]


@pytest.mark.parametrize(("name", "limits", "issue", "run", "expected"), BREACHES,
                         ids=[c[0] for c in BREACHES])
def test_breach(name: str, limits: Limits, issue: int, run: int,
                expected: Breach | None) -> None:
    assert breach(limits, issue, run) == expected


def test_a_breach_describes_the_budget_and_the_figures() -> None:
    text = Breach("max_tokens_per_issue", 1000, 5150).describe()
    assert text == ("token budget max_tokens_per_issue reached: this issue spent 5,150 tokens "
                    "of 1,000")


DAYS = [
    ("unlimited", DailyBudget(None, 10**9),
     {"max_tokens_per_day": None, "spent_today": 10**9, "remaining_today": None,
      "holding_dispatch": False}),
    ("below the ceiling", DailyBudget(1000, 400),
     {"max_tokens_per_day": 1000, "spent_today": 400, "remaining_today": 600,
      "holding_dispatch": False}),
    ("the ceiling reached holds dispatch", DailyBudget(1000, 1000),
     {"max_tokens_per_day": 1000, "spent_today": 1000, "remaining_today": 0,
      "holding_dispatch": True}),
    ("over the ceiling: nothing remains", DailyBudget(1000, 1500),
     {"max_tokens_per_day": 1000, "spent_today": 1500, "remaining_today": 0,
      "holding_dispatch": True}),
]


@pytest.mark.parametrize(("name", "day", "expected"), DAYS, ids=[c[0] for c in DAYS])
def test_daily_budget(name: str, day: DailyBudget, expected: dict[str, object]) -> None:
    assert day.as_dict() == expected
    assert bool(day.hold_reason()) == expected["holding_dispatch"]


def test_lane_budget_shape() -> None:
    assert lane_budget(None, 700) == {"max_tokens_per_issue": None, "spent": 700,
                                      "remaining": None}
    assert lane_budget(1000, 1200) == {"max_tokens_per_issue": 1000, "spent": 1200,
                                       "remaining": 0}


# -- the policy ---------------------------------------------------------------------------------

BAD = {
    "negative": ("max_tokens_per_issue = -5", "budget.max_tokens_per_issue: Input should be "
                                              "greater than 0 (got -5)"),
    "text": ('max_tokens_per_run = "lots"', "budget.max_tokens_per_run"),
    "boolean": ("max_tokens_per_day = true", "budget.max_tokens_per_day"),
    "fraction": ("max_tokens_per_day = 1.5", "budget.max_tokens_per_day"),
    "misspelled": ("max_token_per_issue = 5", "budget.max_token_per_issue: unknown key"),
    "daily ceiling per label": (f'labels."{LARGE}".max_tokens_per_day = 5',
                                f"budget.labels.{LARGE}.max_tokens_per_day: unknown key"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_budget_names_the_key(name: str) -> None:
    line, expected = BAD[name]
    with pytest.raises(ConfigError) as caught:
        parse_workflow(f"+++\n[budget]\n{line}\n+++\nbody", Path("WORKFLOW.md"))
    message = str(caught.value)
    assert message.startswith(f"WORKFLOW.md: {expected}")
    assert "\n" not in message


def test_yaml_front_matter_takes_the_same_budget() -> None:
    toml = parse_workflow(f'+++\n[budget]\nmax_tokens_per_issue = 1000\n[budget.labels."{LARGE}"]'
                          "\nmax_tokens_per_issue = 5000\n+++\n", Path("W.md"))
    yaml = parse_workflow(f"---\nbudget:\n  max_tokens_per_issue: 1000\n  labels:\n"
                          f"    {LARGE}:\n      max_tokens_per_issue: 5000\n---\n", Path("W.md"))
    assert toml.policy.budget == yaml.policy.budget
    assert limits_for(yaml.policy.budget, [LARGE]).max_tokens_per_issue == 5000


def test_budgets_are_unlimited_by_default() -> None:
    budget = parse_workflow("+++\nversion = 1\n+++\n", Path("W.md")).policy.budget
    assert budget == BudgetPolicy()
    assert budget.max_tokens_per_day is None and budget.max_tokens_per_issue is None


def test_the_cli_refuses_a_bad_budget_with_exit_2(tmp_path: Path) -> None:
    (tmp_path / "maestro.toml").write_text('id = "t"\n')
    (tmp_path / "WORKFLOW.md").write_text("+++\n[budget]\nmax_tokens_per_day = 0\n+++\n")
    proc = subprocess.run([sys.executable, "-m", "maestro", "run", "--once", "--dry-run"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith(
        "WORKFLOW.md: budget.max_tokens_per_day: Input should be greater than 0 (got 0)")
    assert "Traceback" not in proc.stderr


DAY_SHARE = [
    ("the largest per-issue ceiling any issue may have", POLICY, 50_000),
    ("the default alone", BudgetPolicy(max_tokens_per_issue=1000), 1000),
    ("no default ceiling: an issue may spend without one", BudgetPolicy(
        labels={LARGE: BudgetLimits(max_tokens_per_issue=10)}), None),
    ("no budget at all", BudgetPolicy(), None),
]


@pytest.mark.parametrize(("name", "policy", "expected"), DAY_SHARE,
                         ids=[c[0] for c in DAY_SHARE])
def test_day_share_cap(name: str, policy: BudgetPolicy, expected: int | None) -> None:
    assert day_share_cap(policy) == expected
