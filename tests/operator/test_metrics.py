"""``GET /metrics`` on a real uvicorn, parsed by the Prometheus client's own parser: lanes
by phase and outcome, ticks, dispatch latency, tracker requests with rate-limit headroom,
tokens, retries and webhook deliveries."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fakes.loopback import LoopbackServer, Reply
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from maestro.config.service import ServiceConfig
from maestro.observability import telemetry
from maestro.observability.telemetry import Telemetry
from maestro.operator.metrics import metrics_routes
from maestro.operator.status import snapshot
from maestro.orchestration.orchestrator import Orchestrator
from maestro.orchestration.retries import RetryQueue
from maestro.trackers.http import GraphQLClient, RetryPolicy
from tests.conftest import Sandbox
from tests.operator.uvicorn_server import serving

Samples = dict[str, list[Sample]]


def scrape(config: ServiceConfig, recorder: Telemetry) -> Samples:
    """Every sample of one scrape by family name (counters without ``_total``)."""
    with serving(metrics_routes(config, recorder)) as url:
        response = httpx.get(url + "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {family.name: family.samples
            for family in text_string_to_metric_families(response.text)}


def value(samples: Samples, family: str, sample: str | None = None, **labels: str) -> float:
    found = [s.value for s in samples[family] if s.name == (sample or family)
             and all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (family, labels, samples[family])
    return found[0]


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[Telemetry]:
    """A fresh process recorder, so what this test counts is all there is."""
    fresh = Telemetry()
    monkeypatch.setattr(telemetry, "_CURRENT", fresh)
    yield fresh


def test_lanes_are_counted_by_phase_and_outcome_as_status_tells_them(
        finished_demo: ServiceConfig) -> None:
    samples = scrape(finished_demo, Telemetry())
    snap = snapshot(finished_demo)
    expected = Counter((lane["phase"], lane["outcome"] or "none") for lane in snap["lanes"])
    scraped = {(s.labels["phase"], s.labels["outcome"]): s.value
               for s in samples["maestro_lanes"]}
    assert scraped == {key: float(count) for key, count in expected.items()}
    assert value(samples, "maestro_lanes_needs_human") == len(snap["needs_human"]) > 0
    assert value(samples, "maestro_agent_tokens", "maestro_agent_tokens_total",
                 kind="total") == snap["token_totals"]["totalTokens"] > 0
    assert value(samples, "maestro_info", project_id=finished_demo.id) == 1


def test_the_retry_queue_is_counted_by_kind(tmp_path: Path) -> None:
    config = ServiceConfig().resolved(tmp_path)
    queue = RetryQueue(config.state_root)
    queue.schedule("A-1", 1, "failure", "agent_failed", 60_000)
    queue.schedule("B-2", 1, "failure", "agent_failed", 60_000)
    samples = scrape(config, Telemetry())
    assert value(samples, "maestro_retries_queued", kind="failure") == 2


def test_tracker_requests_and_rate_limit_headroom_are_counted(
        tmp_path: Path, recorder: Telemetry) -> None:
    headers = {"X-RateLimit-Requests-Remaining": "1499", "X-RateLimit-Requests-Limit": "1500",
               "X-RateLimit-Requests-Reset": "1800000000000"}
    server = LoopbackServer(lambda request: Reply(200, {"data": {"ok": True}}, headers))
    with server.running():
        client = GraphQLClient("linear", server.url, dict, retry=RetryPolicy(time_scale=0.001))
        server.fail(429, {"errors": []}, {"Retry-After": "1"})
        client.execute("Probe", "query Probe { ok }")
        client.close()
    samples = scrape(ServiceConfig().resolved(tmp_path), recorder)
    requests = "maestro_api_requests"
    assert value(samples, requests, requests + "_total", service="linear", code="200") == 1
    assert value(samples, requests, requests + "_total", service="linear", code="429") == 1
    assert value(samples, "maestro_api_rate_limited", "maestro_api_rate_limited_total",
                 service="linear") == 1
    assert value(samples, "maestro_api_rate_limit_remaining", service="linear",
                 resource="requests") == 1499
    assert value(samples, "maestro_api_rate_limit_reset_timestamp_seconds",
                 service="linear", resource="requests") == 1_800_000_000


def test_a_tick_counts_its_duration_its_dispatch_and_the_wait_for_the_agent(
        sandbox: Sandbox, recorder: Telemetry) -> None:
    sandbox.add_issue("DEMO-1", script="steps:\n  - attention: 'needs a decision'")
    Orchestrator(sandbox.config).tick(wait=True)
    samples = scrape(sandbox.config, recorder)
    assert value(samples, "maestro_ticks", "maestro_ticks_total") == 1
    assert value(samples, "maestro_tick_duration_seconds",
                 "maestro_tick_duration_seconds_count") == 1
    assert value(samples, "maestro_dispatches", "maestro_dispatches_total") == 1
    latency = "maestro_dispatch_latency_seconds"
    assert value(samples, latency, latency + "_count") == 1
    assert value(samples, latency, latency + "_bucket", le="+Inf") == 1
    assert value(samples, "maestro_dispatch_waiting") == 0
    assert value(samples, "maestro_last_tick_timestamp_seconds") > 0


def test_webhook_deliveries_are_counted_by_provider_and_result(tmp_path: Path) -> None:
    recorder = Telemetry()
    recorder.record_webhook("github", "accepted")
    recorder.record_webhook("github", "refused")
    recorder.record_webhook("github", "refused")
    samples = scrape(ServiceConfig().resolved(tmp_path), recorder)
    family = "maestro_webhook_deliveries"
    assert value(samples, family, family + "_total", provider="github", result="refused") == 2


def test_two_apps_keep_their_own_series(tmp_path: Path) -> None:
    first, second = Telemetry(), Telemetry()
    first.record_tick(0.2)
    config = ServiceConfig().resolved(tmp_path)
    assert value(scrape(config, first), "maestro_ticks", "maestro_ticks_total") == 1
    assert value(scrape(config, second), "maestro_ticks", "maestro_ticks_total") == 0
