"""The operator snapshot (SPEC-NOTES §8), read from the lane folders alone.

It needs no daemon: any process can build it while lanes run, because every lane keeps its
facts (lease, activity heartbeat, outcome, review classification) in its own folder.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from maestro.comments import checkpoints
from maestro.config.service import ServiceConfig
from maestro.fsutil import read_json, read_jsonl
from maestro.ids import utc_now
from maestro.lanes import tokens as token_ledger
from maestro.lanes.listing import list_lanes
from maestro.lanes.state import PHASE_TARGETS, LaneState
from maestro.model import Comment
from maestro.operator.budget_status import add_budgets
from maestro.orchestration.pause import read_pause
from maestro.orchestration.retries import RetryQueue

SCHEMA_VERSION = 1


def _phase(state: LaneState) -> str:
    """The first phase whose target is missing: where the lane stands."""
    for phase, target in PHASE_TARGETS.items():
        if not state.exists(target):
            return phase
    return "finished"


def latest_checkpoint(state: LaneState) -> dict[str, Any] | None:
    """The newest ``maestro-checkpoint`` block the agent posted (skill ``execution-state``).

    Read from the lane's own record of ``issue_comment`` calls (``tools.jsonl`` of the current
    attempt, of repair rounds and of archived attempts), so status needs no tracker access.
    """
    found: tuple[str, dict[str, Any]] | None = None
    for record in sorted(state.dir.glob("**/*tools.jsonl")):
        for entry in read_jsonl(record):
            if not (entry.get("ok") and entry.get("tool") == "issue_comment"):
                continue
            body = str((entry.get("args") or {}).get("body", ""))
            blocks = checkpoints([Comment(id="", body=body)])
            at = str(entry.get("at") or "")
            if blocks and (found is None or at >= found[0]):
                found = (at, {**blocks[-1], "posted_at": at or None})
    return found[1] if found else None


def lane_snapshot(state: LaneState, now: datetime) -> dict[str, Any]:
    claim = state.read("lease.json") or {}
    activity = state.read("activity.json") or {}
    outcome = state.read("outcome.json") or {}
    review = state.read("review.json") or {}
    pr = state.read("pr.json") or {}
    attention = state.read("attention.json")
    workspace = state.read("workspace.json") or {}
    result = state.read("result.json") or {}
    last_at = activity.get("last_event_at")
    idle = None
    if last_at:
        try:
            idle = round((now - datetime.fromisoformat(last_at)).total_seconds(), 1)
        except ValueError:
            idle = None
    leased = state.is_leased_elsewhere()
    phase = "finished" if state.read("cleanup.json") is not None else _phase(state)
    if phase != "finished" and outcome.get("phase") and str(outcome.get("at") or "") >= str(
            activity.get("last_event_at") or ""):
        # A lane that stopped (waiting for review, needing a human) stands where it halted;
        # the first missing target would name the phase after it.
        phase = str(outcome["phase"])
    return {
        "issue": state.identifier,
        "issue_id": claim.get("issue_id", state.identifier),
        "title": claim.get("title"),
        "issue_url": claim.get("url") or None,
        "run_id": claim.get("run_id"),
        "attempt": claim.get("attempt"),
        "phase": activity.get("phase") if leased else phase,
        "running": leased,
        "outcome": outcome.get("outcome"),
        "wait_reason": outcome.get("wait_reason") or (
            outcome.get("reason") if outcome.get("outcome") == "waiting" else None),
        "reason": outcome.get("reason"),
        "waiting_on": (activity.get("waiting_on") or None) if leased else None,
        "thread_id": activity.get("thread_id") or result.get("thread_id"),
        "branch": workspace.get("branch"),
        "workspace_path": workspace.get("path"),
        "last_activity_at": last_at,
        "last_event_type": activity.get("last_event_type"),
        "last_event_at": last_at,
        "event_count": activity.get("event_count", 0),
        "idle_seconds": idle if leased else None,
        # Every session of the lane (agent phase of each attempt, each repair round):
        # the total never goes down (maestro/lanes/tokens.py).
        "tokens": token_ledger.lane_total(state),
        "token_sessions": token_ledger.sessions(state),
        "refused_calls": [str(c) for c in (result.get("signals") or {}).get("refused") or []],
        "pr_url": pr.get("url"),
        "review": {"classification": review.get("classification"),
                   "reason": review.get("reason"),
                   "signals": review.get("signals")} if review else None,
        "needs_human": attention,
        "checkpoint": latest_checkpoint(state),
    }


def snapshot(config: ServiceConfig, limit: int = 20) -> dict[str, Any]:
    now = utc_now()
    root = config.lanes_root
    listing = list_lanes(root)
    warnings = listing.warnings()
    lanes = []
    for identifier in listing.identifiers:
        try:
            lanes.append(lane_snapshot(LaneState(root, identifier), now))
        except (OSError, ValueError, TypeError, AttributeError, KeyError) as exc:
            # A damaged lane file must not hide every other lane from the operator.
            warnings.append(f"{root / identifier}: lane state unreadable, not shown "
                            f"({type(exc).__name__}: {exc})")
    retries = [
        {"issue": r.identifier, "attempt": r.attempt, "kind": r.kind, "due_at": r.due_at,
         "error_class": r.error_class}
        for r in RetryQueue(config.state_root).load().values()
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
    last_tick = read_json(config.state_root / "last_tick.json")
    budget = add_budgets(config, lanes, now, warnings)
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
        "recent": sorted(done, key=lambda lane: lane.get("last_event_at") or "",
                         reverse=True)[:limit],
        "token_totals": totals,
        "budget": budget,
        "last_tick": last_tick,
        "paused": read_pause(config.state_root),
        "warnings": warnings,
    }
