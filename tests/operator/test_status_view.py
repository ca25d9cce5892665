"""`maestro status` as text: one section per operator question, from a separate process."""

from __future__ import annotations

import os
import subprocess
import sys

from rich.console import Console

from maestro.config.service import ServiceConfig
from maestro.ids import utc_now
from maestro.operator.status import snapshot
from maestro.operator.status_view import (
    render_budgets,
    render_kept_work,
    render_status,
    signals_summary,
)
from tests.operator.conftest import kept_folder


def rendered(config: ServiceConfig, limit: int = 20) -> str:
    console = Console(record=True, width=200)
    render_status(snapshot(config, limit), console)
    return console.export_text()


def test_status_command_prints_the_sections(finished_demo: ServiceConfig) -> None:
    proc = subprocess.run([sys.executable, "-m", "maestro", "--config", str(finished_demo.source),
                           "status"], capture_output=True, text=True, timeout=60, check=True,
                          env={**os.environ, "COLUMNS": "200"})
    for title in ("active lanes: none running", "needs a human", "recent runs", "tokens:"):
        assert title in proc.stdout


def test_needs_human_section_says_why(finished_demo: ServiceConfig) -> None:
    text = rendered(finished_demo)
    assert "manual_attention" in text
    assert "the agent asked for a human" in text


def test_recent_runs_follow_the_limit(finished_demo: ServiceConfig) -> None:
    text = rendered(finished_demo, limit=1)
    assert "recent runs (newest 1)" in text


def test_signals_summary_names_what_blocks_landing() -> None:
    summary = signals_summary({"approvals": 0, "required_approvals": 1,
                               "changes_requested_on_head": True, "unresolved_threads": 2,
                               "checks_failed": ["unit"], "repair_rounds": 1,
                               "max_repair_rounds": 3, "pr_state": "open"})
    assert summary == ("approvals 0/1, changes requested, 2 open threads, checks failed: unit, "
                       "repair 1/3")


def test_at_80_columns_each_recent_run_keeps_its_row_on_one_line(
        finished_demo: ServiceConfig) -> None:
    console = Console(record=True, width=80)
    render_status(snapshot(finished_demo), console)
    lines = console.export_text().splitlines()
    for lane in snapshot(finished_demo)["recent"]:
        number = lane["pr_url"].rsplit("/", 1)[-1]
        assert any(lane["issue"] in line and f"#{number}" in line
                   and (" ago" in line or "just now" in line) for line in lines), lane["issue"]


def test_budgets_show_the_day_and_each_limited_lane() -> None:
    console = Console(record=True, width=200)
    lanes = [{"issue": "B-1", "phase": "agent",
              "budget": {"max_tokens_per_issue": 1000, "spent": 1200, "remaining": 0}},
             {"issue": "B-2", "phase": "agent",
              "budget": {"max_tokens_per_issue": None, "spent": 50, "remaining": None}}]
    render_budgets({"lanes": lanes, "budget": {"max_tokens_per_day": 5000, "spent_today": 5000,
                                               "remaining_today": 0,
                                               "holding_dispatch": True}}, console)
    text = console.export_text()
    assert ("budget today (UTC): 5,000 of 5,000 tokens, 0 left · ceiling reached: no new agent "
            "session starts") in text
    assert "B-1" in text and "1,200" in text and "B-2" not in text


def test_budgets_say_nothing_when_unlimited() -> None:
    console = Console(record=True, width=200)
    render_budgets({"lanes": [], "budget": {"max_tokens_per_day": None, "spent_today": 10,
                                            "remaining_today": None,
                                            "holding_dispatch": False}}, console)
    assert console.export_text() == ""


def test_a_lane_the_daemon_holds_is_named_with_its_reason(finished_demo: ServiceConfig) -> None:
    snap = snapshot(finished_demo, 20)
    reason = ("held: its last 3 lane processes ended without recording why (a full disk? "
              "see the service log and warnings.log); restart the daemon once it is fixed")
    snap["last_tick"] = {"at": snap["generated_at"], "plan": {"waiting": [
        {"issue": "FULL-1", "reason": reason},
        {"issue": "P-1", "reason": "held: dispatch paused by ada@host"}]}}
    console = Console(record=True, width=400)
    render_status(snap, console)
    text = console.export_text()
    assert "held by the daemon: FULL-1: its last 3 lane processes ended without" in text
    assert "P-1" not in text  # maestro pause says so once, in its own line


def test_kept_work_is_listed_with_how_to_let_go_of_each_kind(finished_demo: ServiceConfig,
                                                              ) -> None:
    with kept_folder(finished_demo, "DEMO-9.set-aside-20261201T000000Z"):
        text = rendered(finished_demo)
    assert "kept for a person (1): maestro never removes these" in text
    assert "DEMO-9.set-aside-20261201T000000Z" in text
    assert "set aside: `rm -rf PATH` deletes it" in text


def test_nothing_kept_shows_no_kept_section(finished_demo: ServiceConfig) -> None:
    assert "kept for a person" not in rendered(finished_demo)


def test_a_kept_folders_name_is_shown_as_it_is_never_obeyed(finished_demo: ServiceConfig) -> None:
    """Breaker 27 F9: rich markup in the name became a hyperlink and hid the name."""
    with kept_folder(finished_demo, "[red]X.kept-20261201T000000Z"):
        text = rendered(finished_demo)
    assert "[red]X" in text


def test_a_stopped_lanes_advice_says_to_move_the_issue_back_first() -> None:
    """Breaker 27 F11: ``maestro retry`` refuses a Canceled issue."""
    console = Console(record=True, width=200)
    render_kept_work({"kept_work": [{"issue": "A-1", "kind": "stopped", "path": ".worktrees/A-1",
                                     "since": None, "detail": "1 uncommitted file"}]},
                     console, utc_now())
    assert "move the issue back to Todo, then `maestro retry ID`" in console.export_text()
