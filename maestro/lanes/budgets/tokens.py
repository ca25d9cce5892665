"""The lane's token ledger: one entry per agent session, summed for the lane's total.

A lane runs many sessions — the agent phase of each attempt and every review-repair round —
and each session's token counts are absolute totals for that session only. The total of a
lane is therefore the sum over its sessions, which never goes down: a session's figure only
grows, and a finished session's figure is kept in ``tokens.json`` (lane level, never
archived with an attempt) under a key of its own.

``tokens.json``::

    {"sessions": {"<run_id>/<thread_id or phase>": {"n": int (order of first record),
        "phase": "agent" | "repair", "run_id": str, "attempt": int, "thread_id": str,
        "tokens": {"inputTokens": int, "outputTokens": int, "totalTokens": int},
        "ended_at": iso8601}}}

The running session is not in the ledger yet: its figures come from ``activity.json`` (the
heartbeat the session writes), and are folded in when it ends — or, for a session whose
process was killed, when the next session of the lane starts.
"""

from __future__ import annotations

from typing import Any

from maestro.fsutil import read_json
from maestro.ids import iso_now
from maestro.lanes.record.state import LaneState

LEDGER = "tokens.json"


def session_key(record: dict[str, Any]) -> str:
    """``run_id/thread_id`` (the phase when no thread started): unique per session."""
    return f"{record.get('run_id', '')}/{record.get('thread_id') or record.get('phase', '')}"


def _counts(tokens: Any) -> dict[str, int]:
    if not isinstance(tokens, dict):
        return {}
    return {k: v for k, v in tokens.items()  # never a negative count (a forged report)
            if isinstance(v, int) and not isinstance(v, bool) and v >= 0}


def ledger(state: LaneState) -> dict[str, dict[str, Any]]:
    data = state.read(LEDGER) or {}
    sessions = data.get("sessions") if isinstance(data, dict) else None
    return {k: v for k, v in (sessions or {}).items() if isinstance(v, dict)}


def record_session(state: LaneState, activity: dict[str, Any]) -> None:
    """Keep one session's figures (an ``activity.json`` record) in the ledger."""
    tokens = _counts(activity.get("tokens"))
    if not tokens:
        return
    sessions = ledger(state)
    key = session_key(activity)
    order = sessions.get(key, {}).get("n") or len(sessions) + 1
    sessions[key] = {
        "n": order, "phase": activity.get("phase", ""), "run_id": activity.get("run_id", ""),
        "attempt": activity.get("attempt"), "thread_id": activity.get("thread_id", ""),
        "tokens": tokens, "ended_at": iso_now()}
    state.write(LEDGER, {"sessions": sessions})


def keep_unrecorded(state: LaneState) -> None:
    """Before a new session overwrites ``activity.json``: a session killed before it could
    record itself is recorded now, so its tokens are not lost."""
    activity = state.read("activity.json") or {}
    if _counts(activity.get("tokens")) and session_key(activity) not in ledger(state):
        record_session(state, activity)


def sessions(state: LaneState) -> list[dict[str, Any]]:
    """Every session of the lane, oldest first; the running one last with ``live: true``."""
    recorded = ledger(state)
    found = [{**entry, "live": False} for entry in
             sorted(recorded.values(), key=lambda e: int(e.get("n") or 0))]
    activity = state.read("activity.json") or {}
    live = _counts(activity.get("tokens"))
    if live and session_key(activity) not in recorded:
        found.append({"phase": activity.get("phase", ""), "run_id": activity.get("run_id", ""),
                      "attempt": activity.get("attempt"),
                      "thread_id": activity.get("thread_id", ""), "tokens": live,
                      "live": True})
    return found


def _legacy_total(state: LaneState) -> dict[str, int]:
    """Lanes from before the ledger: the last attempt's figures plus archived attempts'."""
    activity = state.read("activity.json") or {}
    result = state.read("result.json") or {}
    totals = _counts(activity.get("tokens") or result.get("tokens"))
    archive = state.dir / "attempts"
    if archive.is_dir():
        for folder in sorted(archive.iterdir()):
            spent = (read_json(folder / "result.json") or {}).get("tokens")
            for key, value in _counts(spent).items():
                totals[key] = totals.get(key, 0) + value
    return totals


def lane_total(state: LaneState) -> dict[str, int]:
    """The sum over every session of the lane (``inputTokens``, ``outputTokens``, …)."""
    found = sessions(state)
    if not ledger(state):
        return _legacy_total(state)
    totals: dict[str, int] = {}
    for entry in found:
        for key, value in _counts(entry.get("tokens")).items():
            totals[key] = totals.get(key, 0) + value
    return totals
