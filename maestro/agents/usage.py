"""A session's own token counts, read off an agent's thread totals.

``thread/tokenUsage/updated`` carries ``total`` (the thread's running total) and ``last``
(the request just made). On a new thread the total is the session's. On a resumed thread
(:mod:`maestro.agents.threads`) codex reports the total of the whole thread, earlier
sessions included, and the lane's ledger sums sessions: counted as is, every resumed round
would count the rounds before it again. So the thread's total before this session is the
baseline taken off every report: the total codex replays while it resumes the thread
(observed with codex 0.169: one report before the ``thread/resume`` answer), else the
first report's ``total`` minus its ``last``. An agent that reports per-session totals
gives a baseline of zero, and the figures stay as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["KEYS", "SessionUsage"]

KEYS = ("inputTokens", "outputTokens", "totalTokens")


class SessionUsage:
    """Feed each ``tokenUsage`` payload to :meth:`update`; it returns the session's counts."""

    def __init__(self) -> None:
        self.baseline: dict[str, int] | None = None
        #: set once the thread is open: reports before that replay the thread's history
        self.open = False

    def update(self, usage: Mapping[str, Any]) -> dict[str, int]:
        total = usage.get("total") or {}
        last = usage.get("last") or {}
        if not self.open:
            self.baseline = {key: total[key] for key in KEYS if isinstance(total.get(key), int)}
            return {}
        if self.baseline is None:
            self.baseline = {
                key: max(0, total[key] - int(last.get(key) or 0)) if isinstance(last, dict)
                else 0 for key in KEYS if isinstance(total.get(key), int)}
        return {key: max(0, total[key] - self.baseline.get(key, 0)) for key in KEYS
                if isinstance(total.get(key), int)}
