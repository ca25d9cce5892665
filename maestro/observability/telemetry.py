"""What this process has counted since it started: the figures ``GET /metrics`` reports
that no file on disk holds (requests sent, rate-limit headroom, ticks, webhook deliveries,
dispatch latency).

The counters are plain Python kept in one :class:`Telemetry` per process
(:func:`current`), guarded by one lock: the daemon's tick runs in the main thread while the
operator's HTTP server scrapes from another. Nothing here imports the Prometheus client:
the HTTP clients that record (``maestro.trackers.http``, ``maestro.orchestration``) sit
below the operator surface, and :mod:`maestro.operator.metrics` turns a :meth:`snapshot`
into metric families on scrape. A restart starts every counter from zero, which Prometheus
reads as a counter reset.

The module sits at the bottom of the import graph (standard library only) so any layer may
record into it.
"""

from __future__ import annotations

import bisect
import heapq
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

#: Upper bounds (seconds) of the tick-duration histogram: a tick is a few requests.
TICK_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
#: Upper bounds (seconds) of the dispatch-latency histogram: from a tick that sees an
#: eligible issue to its agent session starting (a poll interval, a worktree, a queue).
DISPATCH_BUCKETS_S = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
#: Issues seen eligible whose agent has not started are forgotten after this long (their
#: lane runs elsewhere, e.g. in CI, or never started): the table stays bounded.
PENDING_LIMIT_S = 24 * 3600.0
PENDING_MAX = 1000

#: Rate-limit header families: (resource label, remaining, limit, reset) header names.
#: GitHub sends ``x-ratelimit-*`` with ``x-ratelimit-resource`` naming the bucket
#: (``graphql``, ``core``); Linear sends a requests and a complexity bucket.
_RATE_HEADERS = (
    ("", "x-ratelimit-remaining", "x-ratelimit-limit", "x-ratelimit-reset"),
    ("requests", "x-ratelimit-requests-remaining", "x-ratelimit-requests-limit",
     "x-ratelimit-requests-reset"),
    ("complexity", "x-ratelimit-complexity-remaining", "x-ratelimit-complexity-limit",
     "x-ratelimit-complexity-reset"),
)


@dataclass
class Histogram:
    """Bucket counts (not cumulative), their sum and count; ``bounds`` are upper bounds."""

    bounds: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * (len(self.bounds) + 1)  # the last bucket is +Inf

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value
        self.count += 1

    def cumulative(self) -> list[tuple[str, int]]:
        """``[(le, count ≤ le), …, ("+Inf", count)]`` as the exposition format wants."""
        running, out = 0, []
        for bound, count in zip((*map(str, self.bounds), "+Inf"), self.counts, strict=True):
            running += count
            out.append((bound, running))
        return out

    def copy(self) -> Histogram:
        twin = Histogram(self.bounds)
        twin.counts, twin.total, twin.count = list(self.counts), self.total, self.count
        return twin


@dataclass(frozen=True)
class RateLimit:
    """The last headroom a service reported for one bucket; ``reset_at``: epoch seconds."""

    remaining: float
    limit: float | None
    reset_at: float | None


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy of every figure, taken under the lock for one scrape."""

    requests: Mapping[tuple[str, str], int]
    rate_limited: Mapping[str, int]
    rate_limits: Mapping[tuple[str, str], RateLimit]
    ticks: int
    tick_seconds: Histogram
    dispatches: int
    dispatch_latency: Histogram
    waiting_for_agent: int
    webhooks: Mapping[tuple[str, str], int]


def rate_limits_from_headers(headers: Mapping[str, str]) -> dict[str, RateLimit]:
    """Every rate-limit bucket a response reports, by resource name.

    ``headers`` must be case-insensitive or lower-case (httpx's are). A reset in epoch
    milliseconds (Linear) is turned into seconds, like :func:`maestro.trackers.http.
    wait_from_headers` does. Unparsable values are skipped, never raised.
    """
    found: dict[str, RateLimit] = {}
    for resource, remaining_h, limit_h, reset_h in _RATE_HEADERS:
        remaining = _number(headers.get(remaining_h))
        if remaining is None:
            continue
        reset = _number(headers.get(reset_h))
        if reset is not None and reset > 1e11:
            reset /= 1000.0
        name = resource or headers.get("x-ratelimit-resource", "") or "default"
        found[name] = RateLimit(remaining, _number(headers.get(limit_h)), reset)
    return found


def _number(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        return None


class Telemetry:
    """The process's counters; every method is thread-safe and cheap (no I/O)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str], int] = {}
        self._rate_limited: dict[str, int] = {}
        self._rate_limits: dict[tuple[str, str], RateLimit] = {}
        self._ticks = 0
        self._tick_seconds = Histogram(TICK_BUCKETS_S)
        self._dispatches = 0
        self._latency = Histogram(DISPATCH_BUCKETS_S)
        #: issue → when a tick first saw it eligible (wall clock: lane files are too)
        self._eligible_since: dict[str, datetime] = {}
        self._webhooks: dict[tuple[str, str], int] = {}

    # -- services --------------------------------------------------------------------------

    def record_response(self, service: str, status: int | None,
                        headers: Mapping[str, str] | None = None) -> None:
        """One HTTP request to ``service`` answered with ``status`` (``None``: no answer,
        a timeout or a dropped connection); its rate-limit headers, if any, are kept."""
        code = "error" if status is None else str(status)
        limits = rate_limits_from_headers(headers or {})
        with self._lock:
            key = (service, code)
            self._requests[key] = self._requests.get(key, 0) + 1
            for resource, limit in limits.items():
                self._rate_limits[(service, resource)] = limit

    def record_rate_limited(self, service: str) -> None:
        """The service asked maestro to slow down (a 429, a rate-limit error)."""
        with self._lock:
            self._rate_limited[service] = self._rate_limited.get(service, 0) + 1

    # -- the loop --------------------------------------------------------------------------

    def record_tick(self, seconds: float, dispatched: int = 0) -> None:
        """One tick took ``seconds`` (monotonic clock) and started ``dispatched`` lanes."""
        with self._lock:
            self._ticks += 1
            self._tick_seconds.observe(max(0.0, seconds))
            self._dispatches += dispatched

    def saw_eligible(self, issues: Iterable[str], now: datetime) -> None:
        """A tick found ``issues`` startable; the first sighting of each starts its clock.

        Entries older than :data:`PENDING_LIMIT_S` are dropped, and the table never holds
        more than :data:`PENDING_MAX` (the oldest go first)."""
        with self._lock:
            for issue in issues:
                self._eligible_since.setdefault(issue, now)
            oldest = now - timedelta(seconds=PENDING_LIMIT_S)  # one subtraction, not one each
            stale = [i for i, at in self._eligible_since.items() if at < oldest]
            for issue in stale:
                del self._eligible_since[issue]
            excess = len(self._eligible_since) - PENDING_MAX
            # the oldest first, ties in sighting order (nsmallest is a stable sort): one
            # pass, where a min() per excess entry was quadratic in a large backlog
            for issue in heapq.nsmallest(excess, self._eligible_since,
                                         key=self._eligible_since.__getitem__):
                del self._eligible_since[issue]

    def waiting_for_agent(self) -> dict[str, datetime]:
        """Issues seen eligible whose agent start has not been observed yet."""
        with self._lock:
            return dict(self._eligible_since)

    def agent_started(self, issue: str, started_at: datetime) -> bool:
        """The agent of ``issue`` started at ``started_at``: observe the latency once.

        A start older than the sighting belongs to an earlier session and is ignored (the
        clock keeps running); returns whether an observation was made."""
        with self._lock:
            seen = self._eligible_since.get(issue)
            if seen is None or started_at < seen:
                return False
            del self._eligible_since[issue]
            self._latency.observe((started_at - seen).total_seconds())
            return True

    # -- webhooks --------------------------------------------------------------------------

    def record_webhook(self, provider: str, result: str) -> None:
        """One delivery: ``accepted``, ``ignored``, ``refused`` or ``too_large``…"""
        with self._lock:
            key = (provider, result)
            self._webhooks[key] = self._webhooks.get(key, 0) + 1

    # -- reading ---------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        with self._lock:
            return Snapshot(
                requests=dict(self._requests), rate_limited=dict(self._rate_limited),
                rate_limits=dict(self._rate_limits), ticks=self._ticks,
                tick_seconds=self._tick_seconds.copy(), dispatches=self._dispatches,
                dispatch_latency=self._latency.copy(),
                waiting_for_agent=len(self._eligible_since), webhooks=dict(self._webhooks))


_CURRENT = Telemetry()


def current() -> Telemetry:
    """This process's telemetry (tests build their own :class:`Telemetry` instead)."""
    return _CURRENT
