"""A lane's token total sums every session (maestro/lanes/budgets/tokens.py) and never goes down."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from maestro.fsutil import write_json
from maestro.lanes.budgets import tokens
from maestro.lanes.record.state import LaneState


def activity(run_id: str, phase: str, thread: str, total: int) -> dict[str, Any]:
    return {"run_id": run_id, "attempt": 1, "phase": phase, "thread_id": thread,
            "tokens": {"totalTokens": total, "inputTokens": total - 10}}


def test_each_session_counts_once_in_the_total(tmp_path: Path) -> None:
    state = LaneState(tmp_path, "TOK-1")
    tokens.record_session(state, activity("run-1", "agent", "thr-a", 150))
    tokens.record_session(state, activity("run-1.repair1", "repair", "thr-b", 100))
    tokens.record_session(state, activity("run-1.repair1", "repair", "thr-b", 120))  # again
    assert tokens.lane_total(state) == {"totalTokens": 270, "inputTokens": 250}
    assert [s["phase"] for s in tokens.sessions(state)] == ["agent", "repair"]


def test_the_running_session_is_added_live_and_the_total_never_drops(tmp_path: Path) -> None:
    state = LaneState(tmp_path, "TOK-2")
    tokens.record_session(state, activity("run-1", "agent", "thr-a", 150))
    running = activity("run-1.repair1", "repair", "thr-b", 40)
    state.write("activity.json", running)
    during = tokens.lane_total(state)["totalTokens"]
    assert during == 190
    assert tokens.sessions(state)[-1]["live"] is True
    tokens.record_session(state, running)  # the session ends with the same figures
    assert tokens.lane_total(state)["totalTokens"] == during


def test_a_killed_session_is_kept_when_the_next_one_starts(tmp_path: Path) -> None:
    state = LaneState(tmp_path, "TOK-3")
    state.write("activity.json", activity("run-1", "agent", "thr-a", 80))  # never recorded
    tokens.keep_unrecorded(state)
    state.write("activity.json", activity("run-2", "agent", "thr-c", 5))
    assert tokens.lane_total(state)["totalTokens"] == 85


def test_a_lane_without_a_ledger_counts_its_archived_attempts(tmp_path: Path) -> None:
    state = LaneState(tmp_path, "TOK-4")
    write_json(state.dir / "attempts" / "0001" / "result.json",
               {"tokens": {"totalTokens": 300}})
    write_json(state.dir / "result.json", {"tokens": {"totalTokens": 150}})
    assert tokens.lane_total(state) == {"totalTokens": 450}


def test_a_negative_figure_in_a_session_is_never_counted(tmp_path: Path) -> None:
    state = LaneState(tmp_path, "TOK-9")
    tokens.record_session(state, activity("run-1", "agent", "thr-a", 150))
    forged = {**activity("run-2", "agent", "thr-b", 0),
              "tokens": {"totalTokens": -5_000_000, "inputTokens": -5_000_000}}
    tokens.record_session(state, forged)
    assert tokens.lane_total(state) == {"totalTokens": 150, "inputTokens": 140}
