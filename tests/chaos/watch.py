"""What the chaos driver sees of a running sandbox between kills.

Everything here only reads: lane folders, ``/proc/locks``, git's administrative files and
the daemon's ``last_tick.json``. It feeds the kill records (which lanes a kill hit, in what
phase, what it left behind) and the settle loop (is everything finished, did anything
move).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from pathlib import Path
from typing import Any

from maestro.lanes.record.state import PHASE_TARGETS
from tests.chaos import invariants
from tests.chaos.scenario import Chaos


def _read(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def lane_phase(lane: Path) -> str:
    """The phase a live lane is in: the one its holder's heartbeat names, else the first
    phase whose target is missing, marked ``starting`` (the holder has not begun a phase)."""
    activity, holder = _read(lane / "activity.json"), _read(lane / "holder.json")
    if activity.get("phase") and activity.get("pid") == holder.get("pid"):
        return str(activity["phase"])
    for name, target in PHASE_TARGETS.items():
        if not (lane / target).exists():
            return f"{name} (starting)"
    return "finished (starting)"


def lanes_hit(repo: Path) -> dict[str, str]:
    root = repo / ".maestro" / "lanes"
    if not root.is_dir():
        return {}
    locks = invariants.held_locks()
    return {lane.name: lane_phase(lane) for lane in sorted(root.iterdir())
            if lane.is_dir() and invariants.lock_held(lane / "lane.lock", locks)}


def left_behind(repo: Path, origin: Path) -> list[str]:
    """What a kill may leave that nothing should: a lane worktree still locked by its
    ``git worktree add``, a check worktree of the local forge still registered in origin."""
    notes = []
    admin = repo / ".git" / "worktrees"
    for entry in sorted(admin.iterdir()) if admin.is_dir() else []:
        locked = entry / "locked"
        if locked.exists():
            notes.append(f"worktree {entry.name} locked: {locked.read_text().strip()!r}")
    admin = origin / "worktrees"
    for entry in sorted(admin.iterdir()) if admin.is_dir() else []:
        with contextlib.suppress(OSError):
            path = Path((entry / "gitdir").read_text().strip()).parent
            notes.append(f"origin check worktree {path}")
    return notes


def plan_summary(repo: Path) -> str:
    """The daemon's last tick in one line: what it dispatched, what waits and why."""
    plan = _read(repo / ".maestro" / "last_tick.json").get("plan") or {}
    parts = [f"{key} " + ", ".join(f"{item.get('issue')} ({item.get(why)})"
                                   for item in plan.get(key) or [])
             for key, why in (("dispatch", "reason"), ("reconcile", "action"),
                              ("retries_waiting", "kind"), ("waiting", "reason"))
             if plan.get(key)]
    return "; ".join(parts) or "nothing to do"


def fingerprint(repo: Path, origin: Path) -> tuple[Any, ...]:
    """Cheap summary of everything that moves when maestro makes progress."""
    stats = []
    for folder in (repo / "issues", repo / ".maestro" / "lanes", origin / "maestro-forge"):
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    with_stat = path.stat()
                    stats.append((str(path), with_stat.st_size, with_stat.st_mtime_ns))
    refs = subprocess.run(["git", "for-each-ref"], cwd=origin, capture_output=True,
                          text=True, check=False).stdout
    return tuple(stats), refs


def finished(repo: Path, issues: tuple[Chaos, ...]) -> bool:
    """Every issue in its end state and every lane finished."""
    return not list(invariants.end_state_of(issues, *invariants.progress(repo)))
