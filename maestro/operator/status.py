"""The operator snapshot (SPEC-NOTES §8), read from the lane folders alone.

It needs no daemon: any process can build it while lanes run, because every lane keeps its
facts (lease, activity heartbeat, outcome, review classification) in its own folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from maestro.config.service import ServiceConfig
from maestro.fsutil import read_json
from maestro.ids import utc_now
from maestro.lanes.record.lane_read import (
    LaneRead,
    lane_entry,
    latest_checkpoint,
    read_lane,
    resting_phase,
)
from maestro.lanes.record.listing import list_lanes
from maestro.lanes.record.state import LaneState
from maestro.operator.budget_status import BudgetInputs, add_budgets
from maestro.operator.kept_work import folder_names, kept_work
from maestro.orchestration.pause import read_pause
from maestro.orchestration.retries import Retry, RetryQueue

__all__ = ["SCHEMA_VERSION", "StateFacts", "assemble", "lane_snapshot", "latest_checkpoint",
           "read_lanes", "read_state_facts", "resting_phase", "snapshot"]

SCHEMA_VERSION = 1


def lane_snapshot(state: LaneState, now: datetime) -> dict[str, Any]:
    """One lane's snapshot entry, read from its folder now."""
    return lane_entry(read_lane(state), state.is_leased_elsewhere(), now)


@dataclass(frozen=True)
class StateFacts:
    """What the state root says beside the lanes: the retry queue (as snapshot rows),
    ``last_tick.json`` and the pause record. Equal facts compare equal."""

    retries: tuple[Retry, ...] = ()
    last_tick: Any = None
    paused: dict[str, Any] | None = None


def read_state_facts(config: ServiceConfig) -> StateFacts:
    return StateFacts(retries=tuple(RetryQueue(config.state_root).load().values()),
                      last_tick=read_json(config.state_root / "last_tick.json"),
                      paused=read_pause(config.state_root))


def read_lanes(config: ServiceConfig, identifiers: Sequence[str],
               warnings: list[str]) -> list[tuple[LaneRead, bool]]:
    """``(read, leased)`` of every lane that can be read; a damaged one becomes a warning."""
    root = config.lanes_root
    found = []
    for identifier in identifiers:
        try:
            state = LaneState(root, identifier)
            found.append((read_lane(state), state.is_leased_elsewhere()))
        except LANE_ERRORS as exc:
            warnings.append(unreadable(root, identifier, exc))
    return found


#: What a damaged lane file raises while it is read; the lane is then skipped with a warning.
LANE_ERRORS = (OSError, ValueError, TypeError, AttributeError, KeyError)


def unreadable(root: Path, identifier: str, exc: Exception) -> str:
    # A damaged lane file must not hide every other lane from the operator.
    return (f"{root / identifier}: lane state unreadable, not shown "
            f"({type(exc).__name__}: {exc})")


def snapshot(config: ServiceConfig, limit: int = 20) -> dict[str, Any]:
    """The snapshot, every file read now (``maestro status``; the server keeps a cache of
    the same document: :mod:`maestro.operator.snapshot_cache`)."""
    now = utc_now()
    listing = list_lanes(config.lanes_root)
    warnings = listing.warnings()
    reads = read_lanes(config, listing.identifiers, warnings)
    return assemble(config, reads, read_state_facts(config), now, limit, warnings)


def _shown(path: Path, repo: Path) -> Path:
    """``path`` relative to the repository when it is inside it (as ``workspace_path``)."""
    return path.relative_to(repo) if path.is_relative_to(repo) else path


def assemble(config: ServiceConfig, reads: Sequence[tuple[LaneRead, bool]],
             facts: StateFacts, now: datetime, limit: int, warnings: list[str],
             budgets: BudgetInputs | None = None,
             workspace: Sequence[str] | None = None) -> dict[str, Any]:
    """The snapshot document from lane reads and state facts; reads nothing itself but the
    budget inputs when ``budgets`` is not given (see :func:`budget_inputs`) and the
    workspace root's folder names when ``workspace`` is not given
    (:func:`~maestro.operator.kept_work.folder_names`)."""
    lanes = [lane_entry(read, leased, now) for read, leased in reads]
    retries = [
        {"issue": r.identifier, "attempt": r.attempt, "kind": r.kind, "due_at": r.due_at,
         "error_class": r.error_class}
        for r in facts.retries
    ]
    queued = {item["issue"]: item for item in retries}
    for lane in lanes:
        lane["retry"] = queued.get(lane["issue"])
        if lane["retry"] is not None:  # the real cause, not only its class
            lane["retry"]["reason"] = lane["reason"]
    done = [lane for lane in lanes if lane["phase"] == "finished"]
    active = [lane for lane in lanes if lane["running"]]
    review = [lane for lane in lanes if lane["review"] and lane["phase"] != "finished"
              and not lane["needs_human"]]
    human = [lane for lane in lanes if lane["needs_human"]]
    # Kept worktrees that no process works on now: where a person or the next tick resumes.
    retained = [lane for lane in lanes if not lane["running"] and lane["phase"] != "finished"
                and lane["workspace_path"]]
    totals: dict[str, int] = {}
    for lane in lanes:
        for key, value in (lane["tokens"] or {}).items():
            if isinstance(value, int):
                totals[key] = totals.get(key, 0) + value
    budget = add_budgets(config, lanes, now, warnings,
                         records={read.identifier: read.budget for read, _ in reads},
                         inputs=budgets)
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": now.isoformat(timespec="seconds"),
        "project_id": config.id,
        "active": active,
        "retrying": retries,
        "in_review": review,
        "needs_human": human,
        "retained": retained,
        "lanes": lanes,
        "kept_work": kept_work(_shown(config.workspace_root, config.repo_root),
                               folder_names(config.workspace_root)
                               if workspace is None else workspace, lanes),
        "recent": sorted(done, key=lambda lane: lane.get("last_event_at") or "",
                         reverse=True)[:limit],
        "token_totals": totals,
        "budget": budget,
        "last_tick": facts.last_tick,
        "paused": facts.paused,
        "warnings": warnings,
    }
