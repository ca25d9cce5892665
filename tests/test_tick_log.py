"""Log volume per tick is independent of the backlog: standing reasons are logged on change."""

from __future__ import annotations

from typing import Any

from maestro.orchestration.tick_log import (
    LOGGED_PER_KEY,
    OTHER_REASONS,
    REASONS_PER_SUMMARY,
    only_changed,
)


def plan(**items: Any) -> dict[str, Any]:
    return {"dispatch": [], "reconcile": [], "retries_waiting": [], "waiting": [],
            "skipped": [], "warnings": [], **items}


BLOCKED = {"issue": "A-1", "reason": "blocked by A-0"}


def test_a_skip_is_logged_the_first_time() -> None:
    quiet, _ = only_changed(plan(skipped=[BLOCKED]), {})
    assert quiet["skipped"] == [BLOCKED]


def test_the_same_skip_is_not_logged_again() -> None:
    _, memory = only_changed(plan(skipped=[BLOCKED]), {})
    quiet, _ = only_changed(plan(skipped=[BLOCKED]), memory)
    assert quiet["skipped"] == []


def test_a_changed_reason_is_logged() -> None:
    _, memory = only_changed(plan(skipped=[BLOCKED]), {})
    slot = {"issue": "A-1", "reason": "no free agent slot (max_concurrent_agents=1)"}
    quiet, _ = only_changed(plan(skipped=[slot]), memory)
    assert quiet["skipped"] == [slot]


def test_a_skip_that_went_away_and_came_back_is_logged() -> None:
    _, memory = only_changed(plan(skipped=[BLOCKED]), {})
    _, memory = only_changed(plan(), memory)
    quiet, _ = only_changed(plan(skipped=[BLOCKED]), memory)
    assert quiet["skipped"] == [BLOCKED]


def test_dispatches_are_always_logged() -> None:
    item = {"issue": "A-1", "reason": "new work", "state": "Todo"}
    _, memory = only_changed(plan(dispatch=[item]), {})
    quiet, _ = only_changed(plan(dispatch=[item]), memory)
    assert quiet["dispatch"] == [item]


HELD = "held: the daily token ceiling max_tokens_per_day=1000 is reached (UTC day)"


def test_the_daily_hold_is_logged_once_while_it_lasts() -> None:
    quiet, memory = only_changed(plan(held=HELD), {})
    assert quiet["held"] == HELD
    for _ in range(3):
        quiet, memory = only_changed(plan(held=HELD), memory)
        assert quiet["held"] is None


def test_the_end_of_the_daily_hold_is_logged_once() -> None:
    _, memory = only_changed(plan(held=HELD), {})
    quiet, memory = only_changed(plan(held=None), memory)
    assert quiet["held"] == ""
    quiet, _ = only_changed(plan(held=None), memory)
    assert quiet["held"] is None


def blocked(n: int, reason: str = "blocked by A-0") -> list[dict[str, Any]]:
    return [{"issue": f"A-{i}", "reason": reason} for i in range(1, n + 1)]


def test_a_first_tick_over_a_large_backlog_logs_a_bounded_number_of_skips() -> None:
    quiet, _ = only_changed(plan(skipped=blocked(5000)), {})
    assert len(quiet["skipped"]) == LOGGED_PER_KEY


def test_the_skips_left_out_are_counted_by_reason() -> None:
    items = blocked(30) + [{"issue": f"B-{i}", "reason": "not in an active state"}
                           for i in range(15)]
    quiet, _ = only_changed(plan(skipped=items), {})
    assert quiet["skipped_more"] == {"blocked by A-0": 10, "not in an active state": 15}


def test_the_skips_left_out_are_not_logged_on_the_next_tick() -> None:
    _, memory = only_changed(plan(skipped=blocked(50)), {})
    quiet, _ = only_changed(plan(skipped=blocked(50)), memory)
    assert quiet["skipped"] == [] and "skipped_more" not in quiet


def test_a_summary_names_only_the_most_common_reasons() -> None:
    items = [{"issue": f"A-{i}", "reason": f"blocked by B-{i}"} for i in range(200)]
    quiet, _ = only_changed(plan(skipped=items), {})
    summary = quiet["skipped_more"]
    assert len(summary) == REASONS_PER_SUMMARY + 1
    assert sum(summary.values()) == 200 - LOGGED_PER_KEY
    assert summary[OTHER_REASONS] == 200 - LOGGED_PER_KEY - REASONS_PER_SUMMARY
