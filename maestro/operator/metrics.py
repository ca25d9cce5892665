"""``GET /metrics``: maestro in the Prometheus text format, read at scrape time.

One custom collector (:class:`MaestroCollector`) builds every family when Prometheus
scrapes, from two sources: the lane folders and the retry queue on disk (the same facts
``maestro status`` reads, so any process can serve them) and this process's
:mod:`maestro.observability.telemetry` counters (requests, ticks, webhook deliveries,
dispatch latency: meaningful in the daemon, which records them). Each app gets its own
:class:`~prometheus_client.CollectorRegistry`; nothing is registered in the client's global
one, so two apps (or two tests) never see each other's series.

Families (names per the Prometheus conventions: ``maestro_`` prefix, ``_total`` for
counters, base units in the name)::

    maestro_info{project_id,version}                        1
    maestro_lanes{phase,outcome}                            lanes on disk (gauge)
    maestro_lanes_needs_human                               lanes waiting for a person
    maestro_retries_queued{kind}                            retry queue entries
    maestro_agent_tokens_total{kind}                        tokens over every lane's sessions
    maestro_last_tick_timestamp_seconds                     when the last tick ended
    maestro_ticks_total, maestro_tick_duration_seconds      ticks of this process
    maestro_dispatches_total                                lane processes started
    maestro_dispatch_latency_seconds                        eligible seen → agent started
    maestro_dispatch_waiting                                eligible, agent not started yet
    maestro_api_requests_total{service,code}                tracker/forge HTTP requests
    maestro_api_rate_limited_total{service}                 times a service said slow down
    maestro_api_rate_limit_remaining{service,resource}      headroom the service reported
    maestro_api_rate_limit_limit{service,resource}
    maestro_api_rate_limit_reset_timestamp_seconds{service,resource}
    maestro_webhook_deliveries_total{provider,result}       accepted / ignored / refused
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from maestro import __version__
from maestro.config.service import ServiceConfig
from maestro.fsutil import read_json
from maestro.ids import utc_now
from maestro.lanes.budgets import tokens as token_ledger
from maestro.lanes.record.listing import list_lanes
from maestro.lanes.record.state import LaneState
from maestro.observability import telemetry
from maestro.observability.telemetry import Histogram, Telemetry
from maestro.operator.status import lane_snapshot
from maestro.orchestration.dispatch_latency import settle
from maestro.orchestration.retries import RetryQueue

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _label(value: str) -> str:
    """``github forge`` → ``github_forge``: label values people type in PromQL."""
    return re.sub(r"\W+", "_", value.strip()).lower()


def _token_kind(key: str) -> str:
    """``inputTokens`` → ``input``, ``cachedInputTokens`` → ``cached_input``."""
    return _CAMEL.sub("_", key.removesuffix("Tokens")).lower() or "total"


def _histogram(name: str, doc: str, values: Histogram) -> HistogramMetricFamily:
    return HistogramMetricFamily(name, doc, buckets=values.cumulative(), sum_value=values.total)


class MaestroCollector(Collector):
    """Every ``maestro_*`` family, built at scrape time (see the module doc)."""

    def __init__(self, config: ServiceConfig, recorder: Telemetry) -> None:
        self.config = config
        self.recorder = recorder
        #: finished lane → (cleanup.json mtime_ns, outcome, token totals)
        self._finished: dict[str, tuple[int, str, dict[str, int]]] = {}

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily("maestro_info", "maestro's version and project",
                                 labels=["project_id", "version"])
        info.add_metric([self.config.id, __version__], 1)
        yield info
        yield from self._lanes()
        yield from self._loop()
        yield from self._services()

    # -- from disk -------------------------------------------------------------------------

    def _lanes(self) -> Iterator[Metric]:
        root = self.config.lanes_root
        by_phase: Counter[tuple[str, str]] = Counter()
        tokens: Counter[str] = Counter()
        human = 0
        now = utc_now()
        listed = list_lanes(root).identifiers
        for identifier in listed:
            try:
                phase, outcome, needs_human, totals = self._lane(root, identifier, now)
            except (OSError, ValueError, TypeError, AttributeError, KeyError):
                continue  # a damaged lane: status names it; metrics never fail a scrape
            by_phase[(phase, outcome)] += 1
            human += needs_human
            tokens.update({_token_kind(k): v for k, v in totals.items()})
        for gone in self._finished.keys() - set(listed):
            del self._finished[gone]
        lanes = GaugeMetricFamily("maestro_lanes", "lanes on disk by phase and outcome",
                                  labels=["phase", "outcome"])
        for (phase, outcome), count in sorted(by_phase.items()):
            lanes.add_metric([phase, outcome], count)
        yield lanes
        yield GaugeMetricFamily("maestro_lanes_needs_human",
                                "lanes stopped for a person's decision", value=human)
        spent = CounterMetricFamily("maestro_agent_tokens", "tokens used by agent sessions "
                                    "over every lane on disk", labels=["kind"])
        for kind, count in sorted(tokens.items()):
            spent.add_metric([kind], count)
        yield spent
        queued: Counter[str] = Counter(r.kind for r in RetryQueue(self.config.state_root)
                                       .load().values())
        retries = GaugeMetricFamily("maestro_retries_queued", "lanes waiting in the retry "
                                    "queue, by kind", labels=["kind"])
        for kind, count in sorted(queued.items()):
            retries.add_metric([kind], count)
        yield retries
        last = read_json(self.config.state_root / "last_tick.json")
        at = last.get("at") if isinstance(last, dict) else None
        try:
            stamp = datetime.fromisoformat(at).timestamp() if isinstance(at, str) else None
        except ValueError:
            stamp = None
        if stamp is not None:
            yield GaugeMetricFamily("maestro_last_tick_timestamp_seconds",
                                    "when the last tick ended (any process)", value=stamp)

    def _lane(self, root: Path, identifier: str,
              now: datetime) -> tuple[str, str, bool, dict[str, int]]:
        """``(phase, outcome, needs_human, tokens)`` as ``maestro status`` tells them.

        A finished lane (``cleanup.json``) never changes again: it is read once and then
        only ``stat``-ed, because finished lanes pile up over months and Prometheus
        scrapes every few seconds."""
        cleanup = root / identifier / "cleanup.json"
        try:
            stamp = cleanup.stat().st_mtime_ns
        except FileNotFoundError:
            stamp = None
        if stamp is not None:
            known = self._finished.get(identifier)
            if known is None or known[0] != stamp:
                state = LaneState(root, identifier)
                outcome = str((state.read("outcome.json") or {}).get("outcome") or "finished")
                known = (stamp, outcome, token_ledger.lane_total(state))
                self._finished[identifier] = known
            return "finished", known[1], False, known[2]
        state = LaneState(root, identifier)
        lane = lane_snapshot(state, now)
        outcome = "running" if lane["running"] else str(lane["outcome"] or "none")
        return (str(lane["phase"] or "none"), outcome, bool(lane["needs_human"]),
                dict(lane["tokens"] or {}))

    # -- from this process -----------------------------------------------------------------

    def _loop(self) -> Iterator[Metric]:
        settle(self.config.lanes_root, self.recorder)
        seen = self.recorder.snapshot()
        yield CounterMetricFamily("maestro_ticks", "poll ticks run by this process",
                                  value=seen.ticks)
        yield _histogram("maestro_tick_duration_seconds", "time one tick took",
                         seen.tick_seconds)
        yield CounterMetricFamily("maestro_dispatches", "lane processes this process "
                                  "started", value=seen.dispatches)
        yield _histogram("maestro_dispatch_latency_seconds", "from the tick that first saw "
                         "an issue eligible to its agent session starting",
                         seen.dispatch_latency)
        yield GaugeMetricFamily("maestro_dispatch_waiting", "issues seen eligible whose "
                                "agent has not started", value=seen.waiting_for_agent)
        hooks = CounterMetricFamily("maestro_webhook_deliveries", "webhook deliveries by "
                                    "result", labels=["provider", "result"])
        for (provider, result), count in sorted(seen.webhooks.items()):
            hooks.add_metric([provider, result], count)
        yield hooks

    def _services(self) -> Iterator[Metric]:
        seen = self.recorder.snapshot()
        requests = CounterMetricFamily("maestro_api_requests", "HTTP requests to trackers "
                                       "and forges by status code ('error': no answer)",
                                       labels=["service", "code"])
        for (service, code), count in sorted(seen.requests.items()):
            requests.add_metric([_label(service), code], count)
        yield requests
        limited = CounterMetricFamily("maestro_api_rate_limited", "times a service asked "
                                      "maestro to slow down", labels=["service"])
        for service, count in sorted(seen.rate_limited.items()):
            limited.add_metric([_label(service)], count)
        yield limited
        names = ["service", "resource"]
        remaining = GaugeMetricFamily("maestro_api_rate_limit_remaining", "requests (or "
                                      "points) left in the window, as last reported",
                                      labels=names)
        limit = GaugeMetricFamily("maestro_api_rate_limit_limit", "size of the rate-limit "
                                  "window, as last reported", labels=names)
        reset = GaugeMetricFamily("maestro_api_rate_limit_reset_timestamp_seconds",
                                  "when the rate-limit window resets", labels=names)
        for (service, resource), value in sorted(seen.rate_limits.items()):
            key = [_label(service), _label(resource)]
            remaining.add_metric(key, value.remaining)
            if value.limit is not None:
                limit.add_metric(key, value.limit)
            if value.reset_at is not None:
                reset.add_metric(key, value.reset_at)
        yield from (remaining, limit, reset)


def registry_for(config: ServiceConfig, recorder: Telemetry | None = None) -> CollectorRegistry:
    """A registry of its own holding only :class:`MaestroCollector`."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MaestroCollector(config, recorder or telemetry.current()))
    return registry


def metrics_routes(config: ServiceConfig, recorder: Telemetry | None = None) -> list[Route]:
    """``GET /metrics`` for an app to mount; ``recorder`` defaults to this process's
    :func:`maestro.observability.telemetry.current`."""
    registry = registry_for(config, recorder)

    async def scrape(request: Request) -> Response:
        body = await run_in_threadpool(generate_latest, registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST,
                        headers={"Cache-Control": "no-store"})

    return [Route("/metrics", scrape, methods=["GET"])]
