"""What the agents spent: one issue across its whole life, and the service in one UTC day.

Both are sums over the lanes' token ledgers (:mod:`maestro.lanes.tokens`: one entry per
finished session with its ``ended_at``, the running session in ``activity.json``), so no
second record of spend exists to drift from the first, and no lock is taken.

- :func:`issue_spent`: the lane's total plus the totals of its archived folders
  (``<state_root>/archive/<ID>-run-…``, left by ``reset_lane`` when a person releases a
  lane): a budget per issue is not renewed by releasing the issue.
- :func:`spent_on`: every lane's (and archived lane's) tokens reported on one UTC day. A
  finished session counts on the day it ended; the running session counts on the day of
  its last event. A folder whose ``tokens.json`` and ``activity.json`` were both last
  written before that day began spent nothing that day, and is skipped after two ``stat``
  calls without being read: a state root of thousands of finished lanes costs little
  (docs/guide/budgets.md gives the measurement).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from maestro.config.budget import BudgetPolicy
from maestro.errors import InputError
from maestro.lanes import tokens as token_ledger
from maestro.lanes.budget import DailyBudget, spent_of
from maestro.lanes.state import LaneState

__all__ = ["archived_spent", "daily_budget", "issue_spent", "spent_on", "spent_today"]

ARCHIVE = "archive"
#: The files whose modification time says a folder spent tokens lately.
_TOUCHED_BY = (token_ledger.LEDGER, "activity.json")


def _folders(state_root: Path) -> Iterator[LaneState]:
    """Every lane folder and every archived lane folder; unusable names are skipped."""
    for parent in (state_root / "lanes", state_root / ARCHIVE):
        try:
            entries = list(os.scandir(parent))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    yield LaneState(parent, entry.name)
            except (OSError, InputError):
                continue


def _lane_spent(state: LaneState) -> int:
    return spent_of(token_ledger.lane_total(state))


def _archived(state_root: Path, identifier: str = "") -> Iterator[tuple[str, LaneState]]:
    """``(issue, folder)`` of every archived lane folder (of ``identifier`` alone if given);
    ``reset_lane`` names them ``<ID>-run-<run id>``."""
    archive = state_root / ARCHIVE
    try:
        entries = list(os.scandir(archive))
    except OSError:
        return
    for entry in entries:
        issue, marker, _ = entry.name.rpartition("-run-")
        if not marker or (identifier and issue != identifier):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                yield issue, LaneState(archive, entry.name)
        except (OSError, InputError):
            continue


def issue_spent(state_root: Path, identifier: str) -> int:
    """Tokens every session of ``identifier`` reported: its lane and its archived lanes."""
    total = _lane_spent(LaneState(state_root / "lanes", identifier))
    return total + sum(_lane_spent(state) for _, state in _archived(state_root, identifier))


def archived_spent(state_root: Path) -> dict[str, int]:
    """Tokens of archived lane folders per issue (``maestro status`` reads them once)."""
    totals: dict[str, int] = {}
    for issue, state in _archived(state_root):
        totals[issue] = totals.get(issue, 0) + _lane_spent(state)
    return totals


def _touched_since(state: LaneState, since: float) -> bool:
    for name in _TOUCHED_BY:
        try:
            if os.stat(state.path(name)).st_mtime >= since:
                return True
        except OSError:
            continue
    return False


def _day_of(stamp: Any) -> date | None:
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).date()


def _spent_that_day(state: LaneState, day: date) -> int:
    total = 0
    live_at = None
    for entry in token_ledger.sessions(state):
        if entry.get("live"):
            if live_at is None:
                live_at = _day_of((state.read("activity.json") or {}).get("last_event_at"))
            counted = live_at
        else:
            counted = _day_of(entry.get("ended_at"))
        if counted == day:
            total += spent_of(entry.get("tokens") or {})
    return total


def spent_on(state_root: Path, day: date) -> int:
    """Tokens the whole service's agents reported on the UTC ``day``."""
    since = datetime.combine(day, time(), UTC).timestamp()
    total = 0
    for state in _folders(state_root):
        if _touched_since(state, since):
            try:
                total += _spent_that_day(state, day)
            except (OSError, ValueError, TypeError, AttributeError):
                continue  # one damaged lane never stops the tick (trust rule 6)
    return total


def spent_today(state_root: Path, now: datetime) -> int:
    return spent_on(state_root, now.astimezone(UTC).date())


def daily_budget(state_root: Path, policy: BudgetPolicy, now: datetime) -> DailyBudget:
    """Today's ceiling and spend, the fact the tick planner and ``maestro status`` use."""
    return DailyBudget(policy.max_tokens_per_day, spent_today(state_root, now))
