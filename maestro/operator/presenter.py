"""The JSON API's payloads: maestro's status snapshot shaped as Symphony's HTTP API too.

Symphony's SPEC §13.7.2 suggests baseline shapes for ``GET /api/v1/state`` (``counts``,
``running``, ``retrying``, ``codex_totals`` with ``seconds_running``, ``rate_limits``) and
``GET /api/v1/<issue_identifier>``. maestro serves its own snapshot
(:func:`maestro.operator.status.snapshot`, docs/spec/status.md) with those fields added, so a
Symphony client and a maestro client read the same document. The few files read here
(``activity.json``, ``sessions.json``, the journal's tail) are a lane's own records.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from maestro.config.service import ServiceConfig
from maestro.fsutil import read_jsonl
from maestro.ids import utc_now
from maestro.lanes.record.lane_read import LaneRead
from maestro.lanes.record.state import LaneState

#: Symphony names for the token counters maestro keeps in the agent's own (camelCase) names.
_TOKEN_NAMES = {"inputTokens": "input_tokens", "outputTokens": "output_tokens",
                "totalTokens": "total_tokens"}
RECENT_EVENTS = 20


def symphony_tokens(tokens: dict[str, Any] | None) -> dict[str, int]:
    """``{"inputTokens": 1}`` -> ``{"input_tokens": 1, "output_tokens": 0, ...}``."""
    tokens = tokens or {}
    return {snake: int(tokens.get(camel) or 0) for camel, snake in _TOKEN_NAMES.items()}


def _seconds(start: Any, end: Any) -> float:
    try:
        return max(0.0, (datetime.fromisoformat(str(end))
                         - datetime.fromisoformat(str(start))).total_seconds())
    except ValueError:
        return 0.0


def seconds_running(state: LaneState | LaneRead, now: datetime) -> float:
    """Agent session time of one lane (``sessions.json``), an open session counted to now."""
    if isinstance(state, LaneRead):
        sessions: list[Any] = state.sessions
    else:
        sessions = (state.read("sessions.json") or {}).get("sessions") or []
    total = 0.0
    for session in sessions:
        if session.get("started_at"):
            total += _seconds(session["started_at"], session.get("ended_at") or now.isoformat())
    return total


def running_row(config: ServiceConfig, lane: dict[str, Any],
                read: LaneRead | None = None) -> dict[str, Any]:
    """One running lane as Symphony's ``running`` row, maestro's names kept beside
    (``read``: the lane's files as the snapshot read them; read now when not given)."""
    state = LaneState(config.lanes_root, lane["issue"])
    activity = read.activity if read else state.read("activity.json") or {}
    claim = read.claim if read else state.read("lease.json") or {}
    turns = state.path("turns")
    thread, turn = activity.get("thread_id") or "", activity.get("turn_id") or ""
    return {
        "issue_id": lane["issue_id"],
        "issue_identifier": lane["issue"],
        "issue_url": lane.get("issue_url"),
        "title": lane.get("title"),
        # maestro's phase: while a lane runs, its tracker state is the in-progress state.
        "state": lane.get("phase"),
        "session_id": f"{thread}-{turn}" if thread and turn else (thread or None),
        "turn_count": len(list(turns.glob("*.json"))) if turns.is_dir() else 0,
        "last_event": lane.get("last_event_type"),
        "last_message": "",
        "started_at": claim.get("acquired_at"),
        "last_event_at": lane.get("last_event_at"),
        "tokens": symphony_tokens(lane.get("tokens")),
    }


def retry_row(item: dict[str, Any], lane: dict[str, Any] | None) -> dict[str, Any]:
    """A retry-queue row with Symphony's names added (``issue_identifier``, ``error``)."""
    return {**item, "issue_identifier": item["issue"],
            "issue_id": (lane or {}).get("issue_id", item["issue"]),
            "issue_url": (lane or {}).get("issue_url"),
            "error": item.get("reason") or item.get("error_class")}


def latest_rate_limits(config: ServiceConfig, lanes: list[dict[str, Any]],
                       reads: Mapping[str, LaneRead] | None = None) -> Any:
    """The newest ``account/rateLimits/updated`` payload any lane's agent reported."""
    newest: tuple[str, Any] | None = None
    for lane in lanes:
        read = reads.get(lane["issue"]) if reads is not None else None
        activity = (read.activity if read else
                    LaneState(config.lanes_root, lane["issue"]).read("activity.json") or {})
        at = str(activity.get("last_event_at") or "")
        if activity.get("rate_limits") is not None and (newest is None or at > newest[0]):
            newest = (at, activity["rate_limits"])
    return newest[1] if newest else None


def state_payload(config: ServiceConfig, snap: dict[str, Any],
                  reads: Mapping[str, LaneRead] | None = None,
                  now: datetime | None = None) -> dict[str, Any]:
    """``GET /api/v1/state``: the snapshot plus Symphony's baseline fields.

    ``reads``: the lanes' files as the snapshot read them (by issue), so nothing is read
    twice; without them each lane's files are read again now. ``now``: the moment open
    agent sessions are counted to (the clock when not given)."""
    now = now or utc_now()
    by_issue = {lane["issue"]: lane for lane in snap["lanes"]}
    totals = symphony_tokens(snap.get("token_totals"))

    def lane_of(lane: dict[str, Any]) -> LaneState | LaneRead:
        read = reads.get(lane["issue"]) if reads is not None else None
        return read or LaneState(config.lanes_root, lane["issue"])

    runtime = sum(seconds_running(lane_of(lane), now) for lane in snap["lanes"])
    return {
        **snap,
        "counts": {"running": len(snap["active"]), "retrying": len(snap["retrying"]),
                   "needs_human": len(snap["needs_human"]),
                   "in_review": len(snap["in_review"]), "lanes": len(snap["lanes"])},
        "running": [running_row(config, lane, (reads or {}).get(lane["issue"]))
                    for lane in snap["active"]],
        "retrying": [retry_row(item, by_issue.get(item["issue"])) for item in snap["retrying"]],
        "codex_totals": {**totals, "seconds_running": round(runtime, 1)},
        "rate_limits": latest_rate_limits(config, snap["active"] or snap["lanes"], reads),
    }


def lane_status(lane: dict[str, Any]) -> str:
    """One word for a lane: running, retrying, needs_human, in_review, finished or idle."""
    if lane["running"]:
        return "running"
    if lane.get("retry"):
        return "retrying"
    if lane.get("needs_human"):
        return "needs_human"
    if lane.get("phase") == "finished":
        return "finished"
    return "in_review" if lane.get("review") else str(lane.get("outcome") or "idle")


def issue_payload(config: ServiceConfig, snap: dict[str, Any], lane: dict[str, Any],
                  read: LaneRead | None = None) -> dict[str, Any]:
    """``GET /api/v1/<issue_identifier>``: Symphony's issue shape, maestro's lane inside
    (``read``: the lane's files as the snapshot read them)."""
    state = LaneState(config.lanes_root, lane["issue"])
    journal = state.path("journal.jsonl")
    recent = read_jsonl(journal)[-RECENT_EVENTS:] if journal.is_file() else []
    attention = lane.get("needs_human") or {}
    attempt = lane.get("attempt") or 1
    return {
        "schema_version": snap["schema_version"],
        "generated_at": snap["generated_at"],
        "project_id": snap["project_id"],
        "issue_identifier": lane["issue"],
        "issue_id": lane["issue_id"],
        "status": lane_status(lane),
        "workspace": {"path": lane.get("workspace_path")},
        "attempts": {"restart_count": max(0, int(attempt) - 1),
                     "current_retry_attempt": (lane.get("retry") or {}).get("attempt")},
        "running": running_row(config, lane, read) if lane["running"] else None,
        "retry": lane.get("retry"),
        "logs": {"codex_session_logs": [{"label": "journal", "path": str(journal),
                                         "url": f"/lanes/{lane['issue']}"}]},
        "recent_events": [{"at": entry.get("at"), "event": entry.get("event"),
                           "message": entry.get("reason") or entry.get("method")
                           or entry.get("tool") or entry.get("phase") or ""}
                          for entry in recent],
        "last_error": attention.get("reason") or (
            lane.get("reason") if lane.get("outcome") == "needs_human" else None),
        "tracked": {},
        "lane": lane,
    }
