"""A session's own token counts, read off an agent's thread totals.

``thread/tokenUsage/updated`` carries ``total`` (the thread's running total) and ``last``
(the request just made). On a new thread the total is the session's. On a resumed thread
(:mod:`maestro.agents.threads`) codex reports the total of the whole thread, earlier
sessions included, and the lane's ledger sums sessions: counted as is, every resumed round
would count the rounds before it again. So the thread's total before this session is the
baseline taken off every report: the last total the lane saw on that thread (kept by the
caller, :data:`THREAD_USAGE`), else the total codex replays while it resumes the thread
(codex 0.169 sends one report around the ``thread/resume`` answer; which comes first is a
race), else the first report's ``total`` minus its ``last``. An agent that reports
per-session totals gives a baseline of zero, and the figures stay as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from maestro.agents.turn_usage import figure

__all__ = ["KEYS", "THREAD_USAGE", "SessionUsage"]

#: The lane file holding the last ``total`` seen per thread: ``{"thread_id", "total"}``.
THREAD_USAGE = "thread-usage.json"

KEYS = ("inputTokens", "outputTokens", "totalTokens")


class SessionUsage:
    """Feed each ``tokenUsage`` payload to :meth:`update`; it returns the session's counts."""

    def __init__(self, known_baseline: Mapping[str, int] | None = None) -> None:
        #: the thread's total before this session, when the lane saw it end (fixed then)
        self.known = dict(known_baseline) if known_baseline else None
        self.baseline: dict[str, int] | None = self.known
        #: set once the thread is open: reports before that replay the thread's history
        self.open = False
        #: the thread's latest running total (to keep for the next session on it)
        self.last_total: dict[str, int] = {}

    def new_thread(self) -> None:
        """The resume failed and a new thread started: its totals are this session's."""
        self.known = self.baseline = None

    def update(self, usage: Mapping[str, Any]) -> dict[str, int]:
        total = usage.get("total") or {}
        last = usage.get("last") or {}
        self.last_total = ({key: figure(total[key], None) for key in KEYS if key in total}
                           if isinstance(total, dict) else {})
        if self.known is not None:
            return {key: max(0, value - self.known.get(key, 0))
                    for key, value in self.last_total.items()}
        if not self.open:
            self.baseline = dict(self.last_total)
            return {}
        if self.baseline is None:
            self.baseline = {
                key: max(0, value - figure(last.get(key), None)) if isinstance(last, dict) else 0
                for key, value in self.last_total.items()}
        return {key: max(0, value - self.baseline.get(key, 0))
                for key, value in self.last_total.items()}
