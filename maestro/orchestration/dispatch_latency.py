"""Dispatch latency: from the tick that first sees an issue startable to its agent starting.

Two moments in two processes. The loop knows when a tick found an issue eligible
(:func:`eligible_new_work`, recorded with
:meth:`~maestro.observability.telemetry.Telemetry.saw_eligible`);
the lane process knows when its agent session began and writes it as
``session_started_at`` in the lane's ``activity.json``. :func:`settle` joins the two by
reading that file for each issue still waiting, so the daemon observes the whole wait —
free slots, the lane process starting, the claim, the worktree — in one histogram
(``maestro_dispatch_latency_seconds``). Only new work is measured: a retry's wait is its
backoff, which the retry queue already shows.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from maestro.fsutil import read_json
from maestro.observability.telemetry import Telemetry
from maestro.orchestration.planning import TickFacts
from maestro.trackers.eligibility import eligibility


def eligible_new_work(facts: TickFacts) -> list[str]:
    """Candidates a tick could start as new work if a slot were free: eligible by the
    workflow's rules and without a lane folder yet."""
    why_not = eligibility(facts.policy.tracker)
    return [issue.identifier for issue in facts.candidates
            if issue.identifier not in facts.lanes and not why_not(issue)]


def agent_started_at(lanes_root: Path, issue: str) -> datetime | None:
    """When the lane's latest agent session began, from its ``activity.json``; ``None``
    when no session started (or the file is damaged: the lane reports that itself)."""
    try:
        record = read_json(lanes_root / issue / "activity.json")
    except (OSError, ValueError):
        return None
    stamp = record.get("session_started_at") if isinstance(record, dict) else None
    try:
        started = datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
    except ValueError:
        return None
    return started if started is not None and started.tzinfo is not None else None


def settle(lanes_root: Path, telemetry: Telemetry) -> int:
    """Observe the latency of every waiting issue whose agent has started; returns how
    many were observed. Reads one small file per waiting issue."""
    observed = 0
    for issue in telemetry.waiting_for_agent():
        started = agent_started_at(lanes_root, issue)
        if started is not None and telemetry.agent_started(issue, started):
            observed += 1
    return observed
