"""What the agents spent (maestro/lanes/budgets/spend.py): per issue across resets, per UTC day."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from maestro.fsutil import write_json
from maestro.lanes.budgets.spend import archived_spent, issue_spent, spent_on

DAY = date(2026, 11, 30)
TODAY = "2026-11-30T09:00:00+00:00"
YESTERDAY = "2026-11-29T23:59:00+00:00"


def session(total: int, ended_at: str, run: str = "run-1") -> dict[str, Any]:
    return {"n": 1, "phase": "agent", "run_id": run, "attempt": 1, "thread_id": f"thr-{run}",
            "tokens": {"totalTokens": total}, "ended_at": ended_at}


def ledger(folder: Path, *sessions: dict[str, Any]) -> None:
    write_json(folder / "tokens.json",
               {"sessions": {f"{s['run_id']}/{s['thread_id']}": s for s in sessions}})


def live(folder: Path, total: int, at: str) -> None:
    write_json(folder / "activity.json", {"run_id": "run-live", "phase": "agent",
                                          "thread_id": "thr-live", "last_event_at": at,
                                          "tokens": {"totalTokens": total}})


def test_a_day_sums_sessions_ended_that_day_and_running_ones(tmp_path: Path) -> None:
    lanes = tmp_path / "lanes"
    ledger(lanes / "A-1", session(100, TODAY), session(900, YESTERDAY, "run-0"))
    ledger(lanes / "A-2", session(50, TODAY))
    live(lanes / "A-2", 7, TODAY)
    assert spent_on(tmp_path, DAY) == 157


def test_one_lane_counts_toward_the_day_at_most_the_cap(tmp_path: Path) -> None:
    """A forged report of 10^15 tokens holds no day when issues have a ceiling."""
    lanes = tmp_path / "lanes"
    ledger(lanes / "A-1", session(10**15, TODAY))
    ledger(lanes / "A-2", session(50, TODAY))
    assert spent_on(tmp_path, DAY, lane_cap=1000) == 1050


def test_a_lane_folder_unmodified_since_the_day_began_is_not_read(tmp_path: Path) -> None:
    folder = tmp_path / "lanes" / "A-3"
    ledger(folder, session(100, TODAY))  # claims today, but the folder says otherwise
    old = datetime(2026, 11, 29, 12, tzinfo=UTC).timestamp()
    os.utime(folder, (old, old))
    assert spent_on(tmp_path, DAY) == 0


def test_a_new_session_counts_on_the_next_sum(tmp_path: Path) -> None:
    folder = tmp_path / "lanes" / "A-6"
    ledger(folder, session(100, TODAY))
    assert spent_on(tmp_path, DAY) == 100
    ledger(folder, session(100, TODAY), session(30, TODAY, "run-2"))
    assert spent_on(tmp_path, DAY) == 130


def test_archived_lanes_count_for_their_issue_and_their_day(tmp_path: Path) -> None:
    ledger(tmp_path / "lanes" / "A-1", session(100, TODAY, "run-2"))
    ledger(tmp_path / "archive" / "A-1-run-20261130T010000Z-abc123", session(40, TODAY))
    ledger(tmp_path / "archive" / "A-12-run-20261130T010000Z-def456", session(5, TODAY))
    assert issue_spent(tmp_path, "A-1") == 140
    assert issue_spent(tmp_path, "A-12") == 5
    assert archived_spent(tmp_path) == {"A-1": 40, "A-12": 5}
    assert spent_on(tmp_path, DAY) == 145


def test_a_damaged_ledger_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "lanes" / "A-4").mkdir(parents=True)
    (tmp_path / "lanes" / "A-4" / "tokens.json").write_text("{not json")
    ledger(tmp_path / "lanes" / "A-5", session(10, TODAY))
    (tmp_path / "lanes" / "not a lane").mkdir()
    assert spent_on(tmp_path, DAY) == 10
