"""What the agents spent: one issue across its whole life, and the service in one UTC day.

Both are sums over the lanes' token ledgers (:mod:`maestro.lanes.budgets.tokens`: one entry per
finished session with its ``ended_at``, the running session in ``activity.json``), so no
second record of spend exists to drift from the first, and no lock is taken.

- :func:`issue_spent`: the lane's total plus the totals of its archived folders
  (``<state_root>/archive/<ID>-run-…``, left by ``reset_lane`` when a person releases a
  lane): a budget per issue is not renewed by releasing the issue.
- :func:`spent_on`: every lane's (and archived lane's) tokens reported on one UTC day. A
  finished session counts on the day it ended; the running session counts on the day of
  its last event. A folder not modified since that day began is skipped after one
  ``stat``, and one unchanged since the last sum is not read again: a state root of
  thousands of finished lanes costs little (``bench/bench_daily_spend.py``; the figures are
  in docs/guide/budgets.md).
"""

from __future__ import annotations

import os
import time as _time
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from maestro.config.budget import BudgetPolicy
from maestro.errors import InputError
from maestro.lanes.budgets import tokens as token_ledger
from maestro.lanes.budgets.budget import DailyBudget, day_share_cap, spent_of
from maestro.lanes.record.archive import ARCHIVE, issue_of
from maestro.lanes.record.state import LaneState

__all__ = ["archived_spent", "daily_budget", "issue_spent", "spent_on", "spent_today"]

#: Seconds within which a folder's modification time is not trusted to be final.
RACY_S = 2.0
#: Per state root: ``{folder: (mtime_ns, day, tokens spent that day)}`` of the last sum.
_SEEN: dict[str, dict[str, tuple[int, date, int]]] = {}


def _folders(state_root: Path) -> Iterator[tuple[Path, str]]:
    """``(parent, name)`` of every lane folder and archived lane folder (plain strings and
    ``scandir`` only: building a :class:`LaneState` costs a lock object, too much for a
    folder that is then skipped)."""
    for parent in (state_root / "lanes", state_root / ARCHIVE):
        try:
            entries = list(os.scandir(parent))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    yield parent, entry.name
            except OSError:
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
        issue = issue_of(entry.name)
        if issue is None or (identifier and issue != identifier):
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


def spent_on(state_root: Path, day: date, lane_cap: int | None = None) -> int:
    """Tokens the whole service's agents reported on the UTC ``day``; each lane folder
    counts at most ``lane_cap`` (:func:`~maestro.lanes.budgets.budget.day_share_cap`).

    Every ledger write is an atomic rename, which moves the folder's own modification time:
    a folder last modified before ``day`` began spent nothing that day and is not read
    (one ``stat``), and a folder unchanged since this process last read it for ``day`` is
    taken from :data:`_SEEN` (a daemon's ticks read only the lanes that moved). A folder
    modified within :data:`RACY_S` of now is always read again: a file system's clock
    ticks coarsely, so two writes may share one modification time."""
    since_ns = int(datetime.combine(day, time(), UTC).timestamp() * 1e9)
    racy_ns = _time.time_ns() - int(RACY_S * 1e9)
    seen = _SEEN.setdefault(str(state_root), {})
    kept: dict[str, tuple[int, date, int]] = {}
    total = 0
    for parent, name in _folders(state_root):
        folder = os.path.join(parent, name)
        try:
            mtime = os.stat(folder).st_mtime_ns
        except OSError:
            continue
        if mtime < since_ns:
            continue
        cached = seen.get(folder)
        if cached is not None and cached[:2] == (mtime, day) and mtime < racy_ns:
            spent = cached[2]
        else:
            try:
                spent = _spent_that_day(LaneState(parent, name), day)
            except (OSError, ValueError, TypeError, AttributeError, InputError):
                continue  # one damaged lane never stops the tick (trust rule 6)
        kept[folder] = (mtime, day, spent)
        total += spent if lane_cap is None else min(spent, lane_cap)
    _SEEN[str(state_root)] = kept
    return total


def spent_today(state_root: Path, now: datetime, lane_cap: int | None = None) -> int:
    return spent_on(state_root, now.astimezone(UTC).date(), lane_cap)


def daily_budget(state_root: Path, policy: BudgetPolicy, now: datetime) -> DailyBudget:
    """Today's ceiling and spend, the fact the tick planner and ``maestro status`` use."""
    return DailyBudget(policy.max_tokens_per_day,
                       spent_today(state_root, now, day_share_cap(policy)))
